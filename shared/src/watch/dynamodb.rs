//! DynamoDB adapter of the watches, in the events table.
//!
//! An active watch carries `due_shard` (one of [`SHARDS`] values); the sparse global secondary
//! index [`DUE_INDEX`] on (`due_shard`, `next_poll_at`) finds what is due with one query per
//! shard, never a scan. An ended watch loses `due_shard`, so it leaves the index, and expires by
//! TTL a week after its give-up time.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{EndReason, Phase, Registration, Watch, WatchStore, watch_key};
use crate::dynamo::{Item, is_condition_failure, n, s, unavailable};
use crate::order::{OrderKind, OrderRef};
use crate::store::StoreError;

/// The index of due watches.
pub const DUE_INDEX: &str = "due";
/// Spreads due watches over this many index partitions.
const SHARDS: u32 = 4;
/// How long an ended watch stays readable before TTL removes it.
const RETAIN_ENDED_SECS: i64 = 7 * 24 * 3600;

#[derive(Clone, Debug)]
pub struct DynamoWatchStore {
    client: Client,
    table: String,
}

impl DynamoWatchStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The shard of an order: stable, so a watch stays in one index partition.
fn shard_of(key: &str) -> String {
    let sum = key.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    format!("DUE#{}", sum % SHARDS)
}

fn to_item(watch: &Watch, active: bool, ended: Option<EndReason>) -> Item {
    let key = watch.key();
    let mut item = Item::new();
    item.insert("pk".into(), s(&key));
    item.insert("record".into(), s("WATCH"));
    item.insert("provider".into(), s(&watch.order.provider));
    item.insert("order_kind".into(), s(watch.order.kind.as_str()));
    item.insert("order_id".into(), s(&watch.order.order_id));
    item.insert("phase".into(), s(watch.phase.as_str()));
    item.insert("installed".into(), AttributeValue::Bool(watch.installed));
    item.insert("activated".into(), AttributeValue::Bool(watch.activated));
    item.insert("created_at".into(), n(watch.created_at));
    item.insert("phase_started_at".into(), n(watch.phase_started_at));
    item.insert("next_poll_at".into(), n(watch.next_poll_at));
    item.insert("give_up_at".into(), n(watch.give_up_at));
    item.insert("polls".into(), n(i64::from(watch.polls)));
    item.insert("phase_polls".into(), n(i64::from(watch.phase_polls)));
    item.insert("failures".into(), n(i64::from(watch.failures)));
    item.insert(
        "expires_at".into(),
        n(watch.give_up_at.saturating_add(RETAIN_ENDED_SECS)),
    );
    if let Some(reference) = &watch.client_reference {
        item.insert("client_reference".into(), s(reference));
    }
    if let Some(status) = &watch.last_status {
        item.insert("last_status".into(), s(status));
    }
    if let Some(delivered) = watch.last_delivered {
        item.insert("last_delivered".into(), n(delivered));
    }
    if active {
        item.insert("due_shard".into(), s(&shard_of(&key)));
    }
    item.insert(
        "watch_state".into(),
        s(ended.map_or("ACTIVE", EndReason::as_str)),
    );
    item
}

fn from_item(item: &Item) -> Result<Watch, StoreError> {
    let key = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key.clone(),
        reason: reason.to_string(),
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| -> Result<i64, StoreError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(&format!("{name} is not a number")))
    };
    let flag = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false)
    };
    let kind = match text("order_kind").as_deref() {
        Some("voucher") => OrderKind::Voucher,
        Some("esim") => OrderKind::Esim,
        Some("topup") => OrderKind::Topup,
        _ => return Err(corrupt("order_kind is not voucher, esim or topup")),
    };
    Ok(Watch {
        order: OrderRef {
            provider: text("provider").ok_or_else(|| corrupt("no provider"))?,
            kind,
            order_id: text("order_id").ok_or_else(|| corrupt("no order_id"))?,
        },
        client_reference: text("client_reference"),
        phase: text("phase")
            .as_deref()
            .and_then(Phase::parse)
            .ok_or_else(|| corrupt("no phase"))?,
        last_status: text("last_status"),
        last_delivered: item
            .get("last_delivered")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()),
        installed: flag("installed"),
        activated: flag("activated"),
        created_at: number("created_at")?,
        phase_started_at: number("phase_started_at")?,
        next_poll_at: number("next_poll_at")?,
        give_up_at: number("give_up_at")?,
        polls: u32::try_from(number("polls")?).unwrap_or(u32::MAX),
        // Absent from watches written before the install-poll budget: counted from now.
        phase_polls: number("phase_polls")
            .ok()
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX)),
        leased_until: None,
        failures: u32::try_from(number("failures")?).unwrap_or(u32::MAX),
    })
}

impl WatchStore for DynamoWatchStore {
    async fn register(&self, watch: &Watch) -> Result<Registration, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(watch, true, None)))
            // A watch ended because its order was unknown is replaced: the order may exist now.
            .condition_expression("attribute_not_exists(pk) OR watch_state = :not_found")
            .expression_attribute_values(":not_found", s(EndReason::OrderNotFound.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Registration::Registered),
            Err(error) if is_condition_failure(&error) => Ok(Registration::AlreadyWatched),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<Watch>, StoreError> {
        let page = i32::try_from(limit).unwrap_or(i32::MAX).max(1);
        let mut due = Vec::new();
        for shard in 0..SHARDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("due_shard = :shard AND next_poll_at <= :now")
                .expression_attribute_values(":shard", s(&format!("DUE#{shard}")))
                .expression_attribute_values(":now", n(now))
                .limit(page)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items() {
                due.push(from_item(item)?);
            }
        }
        due.sort_by_key(|watch| watch.next_poll_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn lease(&self, watch: &Watch, until: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&watch.key()))
            .update_expression("SET next_poll_at = :until")
            .condition_expression("next_poll_at = :seen AND attribute_exists(due_shard)")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":seen", n(watch.next_poll_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn save(&self, watch: &Watch) -> Result<(), StoreError> {
        self.put_as_leased(watch, to_item(watch, true, None)).await
    }

    async fn rearm(&self, order: &OrderRef, now: i64, give_up_at: i64) -> Result<bool, StoreError> {
        let key = watch_key(order);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&key))
            .update_expression(
                "SET phase_started_at = :now, next_poll_at = :now, phase_polls = :zero, \
                 failures = :zero, give_up_at = :give_up, expires_at = :expires, \
                 due_shard = :shard, watch_state = :active",
            )
            .condition_expression(
                "#phase = :install AND activated = :no AND watch_state <> :settled",
            )
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":give_up", n(give_up_at))
            .expression_attribute_values(
                ":expires",
                n(give_up_at.saturating_add(RETAIN_ENDED_SECS)),
            )
            .expression_attribute_values(":shard", s(&shard_of(&key)))
            .expression_attribute_values(":active", s("ACTIVE"))
            .expression_attribute_values(":install", s(Phase::Install.as_str()))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":settled", s(EndReason::Settled.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn end(&self, watch: &Watch, reason: EndReason) -> Result<(), StoreError> {
        self.put_as_leased(watch, to_item(watch, false, Some(reason)))
            .await
    }
}

impl DynamoWatchStore {
    /// Writes `item`; when the poller holds the watch's lease, only if the stored watch is still
    /// as leased.
    async fn put_as_leased(&self, watch: &Watch, item: Item) -> Result<(), StoreError> {
        let mut call = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if let Some(leased) = watch.leased_until {
            call = call
                .condition_expression("next_poll_at = :leased")
                .expression_attribute_values(":leased", n(leased));
        }
        match call.send().await {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => {
                tracing::info!(
                    order_id = %watch.order.order_id,
                    "watch changed while it was polled (re-armed); left as it is"
                );
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}
