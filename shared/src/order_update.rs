//! The order-updates queue message (contract v2): a change of an order, with the event that
//! reported it and the fetched order, for downstream systems. It is the only place hookline puts
//! voucher codes, PINs, claim URLs and eSIM activation codes.
//!
//! **The consumer's contract.** `update_id` identifies the change, not the event: the same
//! provider, order and change key give the same id ([`change_update_id`]), whichever attempt
//! publishes it; a change first seen on a redelivery (the API answered CAPTURED where the first
//! attempt saw AUTHORIZED) has an id of its own, and so does a change a reprocess corrects. A
//! consumer keeps what it has processed by `update_id` (and `part.index`) and drops a second copy.
//! A second copy says the same about the change (`event_id`, `event_type`, `status`,
//! `event_data`, `occurred_at`, `part`); it may differ only in `current` (as of its send), in
//! `order` (the provider's order fetched again for that send, the same split) and, for a polled
//! change, in `occurred_at` (when a poll saw it). `event_id` says which event reported the change
//! (provenance). Contract v1 updates carried no `update_id` and were deduplicated by `event_id`.
//!
//! An update larger than one SQS message (an order of thousands of vouchers) is split, never
//! dropped: the largest array of `order` (its `vouchers`) is cut into slices of equal count, each
//! sent as its own message with `part` saying which slice of how many. How many is decided once,
//! when the change is recorded, and kept with it ([`crate::order_state::Publication`]).
//! Splitting rather than parking the update in S3 keeps codes out of any store at rest.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::message::{ATTR_EVENT_TYPE, ATTR_PROVIDER, SQS_MAX_MESSAGE_BYTES};
use crate::queue::{OutgoingMessage, fifo_group_id, sqs_safe_json};

pub const ORDER_UPDATE_VERSION: u8 = 2;

/// The `update_id` of an order's change: provider and order (its state key) and change key.
pub fn change_update_id(state_key: &str, change_key: &str) -> String {
    crate::idempotency::body_sha256(format!("change#{state_key}#{change_key}").as_bytes())
}

/// The `update_id` of an update that records no change (no state: passed on once per event, or
/// per reprocess of it: `interpretation` names what the reprocess made of it).
pub fn event_update_id(provider: &str, event_id: &str, interpretation: Option<&str>) -> String {
    let key = match interpretation {
        None => format!("event#{provider}#{event_id}"),
        Some(interpretation) => format!("event#{provider}#{event_id}#reprocess#{interpretation}"),
    };
    crate::idempotency::body_sha256(key.as_bytes())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdate {
    pub v: u8,
    /// What identifies this update: the change it publishes (see the module docs).
    #[serde(default)]
    pub update_id: String,
    pub provider: String,
    /// The event that reported the change (provenance, not identity).
    pub event_id: String,
    pub event_type: String,
    /// When the provider says the change happened (RFC 3339).
    pub occurred_at: String,
    /// `voucher` or `esim`, with `order_id`; absent for wallet events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The status the event reports, normalised (e.g. `DELIVERED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// False for a late report of an earlier change: the order's recorded state is already past
    /// it (a partial delivery reported after the delivery). Every change is published once,
    /// whatever order the events arrive in; this says which one is the order's state.
    #[serde(default = "is_current_by_default")]
    pub current: bool,
    /// The event's own `data`, as the provider sent it.
    pub event_data: Value,
    /// The full order from the provider's API, when the event called for a fetch. Holds codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Value>,
    /// Set only on an update split across messages: which slice of `order.{field}` this is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub part: Option<Part>,
    /// The providers' environment the stack talks to: `sandbox` or `production`.
    #[serde(default = "unspecified_environment")]
    pub environment: String,
    /// The provider marked the event as a test (OwlPay's `is_test`), or it is a
    /// `hookline.test` event: nothing real happened. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub is_test: bool,
}

/// Updates published before the field existed said nothing.
fn unspecified_environment() -> String {
    "unspecified".into()
}

fn is_current_by_default() -> bool {
    true
}

/// One slice of a split update. Downstream joins `order.{field}` of parts `0..count` of one
/// `update_id`; every other field is the same in each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub index: u32,
    pub count: u32,
    pub field: String,
}

/// The update cannot be sent even split: no array to split, or one element alone is too big.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "order update of {size} bytes does not fit in SQS messages of {limit} bytes and cannot be split"
)]
pub struct UpdateTooLarge {
    pub size: usize,
    pub limit: usize,
}

/// Room kept below SQS's limit for what a slice's size estimate leaves out.
const SPLIT_MARGIN: usize = 1024;

impl OrderUpdate {
    /// The messages to send, in order: one, or the parts of a split update.
    pub fn encode(&self) -> Result<Vec<OutgoingMessage>, UpdateTooLarge> {
        self.encode_within(SQS_MAX_MESSAGE_BYTES)
    }

    /// [`OrderUpdate::encode`] with another size limit (tests): the fewest parts of equal count
    /// that each fit.
    pub fn encode_within(&self, limit: usize) -> Result<Vec<OutgoingMessage>, UpdateTooLarge> {
        let whole = self.message();
        if whole.sqs_size() <= limit {
            return Ok(vec![whole]);
        }
        let too_large = UpdateTooLarge {
            size: whole.sqs_size(),
            limit,
        };
        let Some((_, items)) = self.largest_array() else {
            return Err(too_large);
        };
        let sizes: Vec<usize> = items
            .iter()
            .map(|item| serde_json::to_string(item).map_or(usize::MAX, |t| t.len() + 1))
            .collect();
        let room = limit.saturating_sub(self.skeleton_size() + SPLIT_MARGIN);
        if sizes.iter().any(|size| *size > room) {
            return Err(too_large);
        }
        // The count by total size is a lower bound; equal counts may need a few more.
        let total = sizes
            .iter()
            .fold(0usize, |sum, size| sum.saturating_add(*size));
        let first = u32::try_from(total.div_ceil(room.max(1)).max(2)).unwrap_or(u32::MAX);
        let most = u32::try_from(items.len()).unwrap_or(u32::MAX);
        (first..=most.max(first))
            .find_map(|parts| self.encode_in_within(parts, limit).ok())
            .ok_or(too_large)
    }

    /// The messages of this update split into exactly `parts` (as decided when its change was
    /// recorded): a re-send is cut the same way as the first send.
    pub fn encode_in(&self, parts: u32) -> Result<Vec<OutgoingMessage>, UpdateTooLarge> {
        self.encode_in_within(parts, SQS_MAX_MESSAGE_BYTES)
    }

    fn encode_in_within(
        &self,
        parts: u32,
        limit: usize,
    ) -> Result<Vec<OutgoingMessage>, UpdateTooLarge> {
        let whole = self.message();
        let too_large = UpdateTooLarge {
            size: whole.sqs_size(),
            limit,
        };
        if parts <= 1 {
            return if whole.sqs_size() <= limit {
                Ok(vec![whole])
            } else {
                Err(too_large)
            };
        }
        let Some((field, items)) = self.largest_array().or_else(|| self.any_array()) else {
            return Err(too_large);
        };
        let count = parts as usize;
        let mut messages = Vec::with_capacity(count);
        for index in 0..count {
            let slice =
                items[index * items.len() / count..(index + 1) * items.len() / count].to_vec();
            let mut part = self.clone();
            if let Some(Value::Object(order)) = &mut part.order {
                order.insert(field.clone(), Value::Array(slice));
            }
            part.part = Some(Part {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                count: parts,
                field: field.clone(),
            });
            let message = part.message();
            if message.sqs_size() > limit {
                return Err(too_large);
            }
            messages.push(message);
        }
        Ok(messages)
    }

    /// The size of one part without its slice.
    fn skeleton_size(&self) -> usize {
        let mut skeleton = self.clone();
        if let (Some((field, _)), Some(Value::Object(order))) =
            (self.largest_array(), &mut skeleton.order)
        {
            order.insert(field, Value::Array(Vec::new()));
        }
        skeleton.part = Some(Part {
            index: u32::MAX,
            count: u32::MAX,
            field: "vouchers".into(),
        });
        skeleton.message().sqs_size()
    }

    /// The order's first array field, for a re-send whose order no longer has more than one
    /// element where its first send split.
    fn any_array(&self) -> Option<(String, Vec<Value>)> {
        let order = self.order.as_ref()?.as_object()?;
        order
            .iter()
            .find_map(|(name, value)| Some((name.clone(), value.as_array()?.clone())))
    }

    /// The biggest array field of `order`, by element count.
    fn largest_array(&self) -> Option<(String, Vec<Value>)> {
        let order = self.order.as_ref()?.as_object()?;
        order
            .iter()
            .filter_map(|(name, value)| Some((name, value.as_array()?)))
            .max_by_key(|(_, items)| items.len())
            .filter(|(_, items)| items.len() > 1)
            .map(|(name, items)| (name.clone(), items.clone()))
    }

    /// The message as sent: FIFO-grouped by order (or provider, for wallet events) so one
    /// order's updates stay in order, and deduplicated by `update_id` (and part) so a copy sent
    /// within five minutes of the first is dropped by SQS, and by downstream after that.
    fn message(&self) -> OutgoingMessage {
        let group = match (&self.order_kind, &self.order_id) {
            (Some(kind), Some(id)) => fifo_group_id(&format!("{}#{kind}#", self.provider), id),
            _ => fifo_group_id(&self.provider, "#wallet"),
        };
        OutgoingMessage {
            body: sqs_safe_json(serde_json::to_string(self).unwrap_or_default()),
            attributes: vec![
                (ATTR_PROVIDER, self.provider.clone()),
                (ATTR_EVENT_TYPE, self.event_type.clone()),
            ],
            group_id: Some(group),
            deduplication_id: Some(self.deduplication_id()),
        }
    }

    /// True when the fetched order holds an eSIM activation code (which the eSIM document says
    /// must not be kept beyond the install window).
    pub fn carries_activation_code(&self) -> bool {
        self.order_kind.as_deref() == Some("esim")
            && self
                .order
                .as_ref()
                .and_then(|o| o.get("activation_code"))
                .is_some_and(|code| !code.is_null())
    }

    /// Stable for the same change (and part), whatever attempt or event sends it.
    pub fn deduplication_id(&self) -> String {
        let key = match &self.part {
            None => format!("{}#{}", self.provider, self.update_id),
            Some(part) => format!("{}#{}#part{}", self.provider, self.update_id, part.index),
        };
        // SQS deduplication ids are at most 128 characters of a limited alphabet: hash the key.
        crate::idempotency::body_sha256(key.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(vouchers: usize) -> OrderUpdate {
        let vouchers: Vec<Value> = (0..vouchers)
            .map(|i| json!({"code": format!("CODE-{i:06}-XXXXXXXXXXXXXXXX"), "pin": format!("{i:08}"), "serial": i}))
            .collect();
        OrderUpdate {
            v: ORDER_UPDATE_VERSION,
            update_id: change_update_id("ORDER#octopus#voucher#12345", "DELIVERED"),
            provider: "octopus".into(),
            event_id: "evt_big".into(),
            event_type: "order.delivered".into(),
            occurred_at: "2026-11-22T10:00:00Z".into(),
            order_kind: Some("voucher".into()),
            order_id: Some("12345".into()),
            status: Some("DELIVERED".into()),
            current: true,
            event_data: json!({"id": 12345}),
            order: Some(json!({"id": 12345, "status": "DELIVERED", "vouchers": vouchers})),
            part: None,
            environment: "production".into(),
            is_test: false,
        }
    }

    fn parts(messages: &[OutgoingMessage]) -> Vec<OrderUpdate> {
        messages
            .iter()
            .map(|m| serde_json::from_str(&m.body).unwrap())
            .collect()
    }

    #[test]
    fn a_small_update_is_one_message() {
        let messages = update(5).encode().unwrap();
        assert_eq!(messages.len(), 1);
        assert!(parts(&messages)[0].part.is_none());
    }

    #[test]
    fn an_order_of_5000_vouchers_is_split_and_every_voucher_is_in_exactly_one_part() {
        let big = update(5_000);
        let messages = big.encode().unwrap();
        assert!(messages.len() > 1, "{} bytes", big.message().sqs_size());
        let mut joined = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for (i, (message, part)) in messages.iter().zip(parts(&messages)).enumerate() {
            assert!(message.sqs_size() <= SQS_MAX_MESSAGE_BYTES);
            let p = part.part.clone().unwrap();
            assert_eq!((p.index as usize, p.count as usize), (i, messages.len()));
            assert_eq!(p.field, "vouchers");
            assert_eq!(message.group_id, messages[0].group_id, "one FIFO group");
            ids.insert(message.deduplication_id.clone().unwrap());
            joined.extend(part.order.unwrap()["vouchers"].as_array().unwrap().clone());
        }
        assert_eq!(ids.len(), messages.len(), "a deduplication id per part");
        assert_eq!(&joined, big.order.unwrap()["vouchers"].as_array().unwrap());
        // The same update encodes to the same parts: a retry sends the same ids.
        assert_eq!(update(5_000).encode().unwrap(), messages);
    }

    #[test]
    fn what_cannot_be_split_is_an_error_not_a_drop() {
        let mut big = update(1);
        big.order = Some(json!({"id": 1, "note": "x".repeat(300_000)}));
        let err = big.encode().unwrap_err();
        assert_eq!(err.limit, SQS_MAX_MESSAGE_BYTES);
        assert!(!err.to_string().contains("xxxx"));
    }
}
