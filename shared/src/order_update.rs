//! The order-updates queue message (contract v1): an event, enriched with the fetched order,
//! for downstream systems. It is the only place hookline puts voucher codes, PINs, claim URLs
//! and eSIM activation codes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{ATTR_EVENT_TYPE, ATTR_PROVIDER};
use crate::queue::OutgoingMessage;

pub const ORDER_UPDATE_VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdate {
    pub v: u8,
    pub provider: String,
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
    /// The event's own `data`, as the provider sent it.
    pub event_data: Value,
    /// The full order from the provider's API, when the event called for a fetch. Holds codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Value>,
}

impl OrderUpdate {
    /// The message as sent: FIFO-grouped by order (or provider, for wallet events) so one
    /// order's updates stay in order, and deduplicated by event so a retry after a crash
    /// between publishing and completing is dropped by SQS within its five-minute window.
    pub fn encode(&self) -> OutgoingMessage {
        let group = match (&self.order_kind, &self.order_id) {
            (Some(kind), Some(id)) => format!("{}#{kind}#{id}", self.provider),
            _ => format!("{}#wallet", self.provider),
        };
        OutgoingMessage {
            body: serde_json::to_string(self).unwrap_or_default(),
            attributes: vec![
                (ATTR_PROVIDER, self.provider.clone()),
                (ATTR_EVENT_TYPE, self.event_type.clone()),
            ],
            group_id: Some(group),
            deduplication_id: Some(dedup_id(&self.provider, &self.event_id)),
        }
    }
}

/// SQS deduplication ids are at most 128 characters of a limited alphabet: hash the key.
fn dedup_id(provider: &str, event_id: &str) -> String {
    crate::idempotency::body_sha256(format!("{provider}#{event_id}").as_bytes())
}
