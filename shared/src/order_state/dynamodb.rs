//! DynamoDB adapter of the order state: conditional writes that never move a state backwards.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    ChangeRecord, OrderState, OrderStateStore, OrderWrite, Publication, StateWrite, StoredHead,
    WalletMovement, decide,
};

use crate::dynamo::{Item, is_condition_failure, n, number, s, unavailable};
use crate::store::StoreError;

#[derive(Clone, Debug)]
pub struct DynamoOrderStateStore {
    client: Client,
    table: String,
}

impl DynamoOrderStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn put(item: &mut HashMap<String, AttributeValue>, name: &str, value: Option<AttributeValue>) {
    if let Some(value) = value {
        item.insert(name.to_string(), value);
    }
}

/// True when the write happened, false when its condition failed (another writer first).
fn written<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failure(&error) => Ok(false),
        Err(error) => Err(unavailable(error)),
    }
}

/// Writes retried when another writer changed the item between the read and the write.
const MAX_WRITE_TRIES: usize = 8;

/// The head of a stored order item. Items written before the change map existed count their
/// one recorded change.
fn head_of(key: &str, item: &Item) -> Result<StoredHead, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    };
    let change_key = item
        .get("change_key")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let mut changes: BTreeMap<String, ChangeRecord> = match item.get("changes") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), change_record_of(v)?)))
            .collect(),
        Some(_) => return Err(corrupt("changes is not a map")),
        None => BTreeMap::new(),
    };
    if changes.is_empty()
        && let Some(event_id) = item.get("last_event_id").and_then(|v| v.as_s().ok())
    {
        changes.insert(change_key.clone(), ChangeRecord::owned_by(event_id.clone()));
    }
    Ok(StoredHead {
        status_rank: number(item, "status_rank").ok_or_else(|| corrupt("no status_rank"))?,
        progress: number(item, "progress"),
        last_event_at: number(item, "last_event_at").ok_or_else(|| corrupt("no last_event_at"))?,
        change_key,
        changes,
    })
}

/// A change map entry: `{"o": owner, "s": status, "n": parts, "c": to the credentials queue}`,
/// or, written before the decision was kept, the owner's event id alone.
fn change_record_of(value: &AttributeValue) -> Option<ChangeRecord> {
    match value {
        AttributeValue::S(owner) => Some(ChangeRecord::owned_by(owner.clone())),
        AttributeValue::M(map) => {
            let text = |name: &str| map.get(name).and_then(|v| v.as_s().ok()).cloned();
            let parts = map
                .get("n")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u32>().ok());
            let to_credentials = map.get("c").and_then(|v| v.as_bool().ok()).copied();
            Some(ChangeRecord {
                owner: text("o")?,
                status: text("s").unwrap_or_default(),
                publication: parts.map(|parts| Publication {
                    parts,
                    to_credentials: to_credentials.unwrap_or(false),
                }),
            })
        }
        _ => None,
    }
}

fn change_record_value(record: &ChangeRecord) -> AttributeValue {
    let mut map = HashMap::from([
        ("o".to_string(), s(&record.owner)),
        ("s".to_string(), s(&record.status)),
    ]);
    if let Some(publication) = record.publication {
        map.insert("n".to_string(), n(publication.parts));
        map.insert(
            "c".to_string(),
            AttributeValue::Bool(publication.to_credentials),
        );
    }
    AttributeValue::M(map)
}

fn state_item(state: &OrderState) -> Item {
    let mut item = HashMap::new();
    item.insert("pk".to_string(), s(&state.order.state_key()));
    item.insert("provider".to_string(), s(&state.order.provider));
    item.insert("order_kind".to_string(), s(state.order.kind.as_str()));
    item.insert("order_id".to_string(), s(&state.order.order_id));
    item.insert("status".to_string(), s(&state.status));
    item.insert("status_rank".to_string(), n(state.status_rank));
    item.insert("last_event_at".to_string(), n(state.last_event_at));
    item.insert("last_event_id".to_string(), s(&state.last_event_id));
    item.insert("change_key".to_string(), s(&state.change_key()));
    put(&mut item, "quantity", state.quantity.map(n));
    put(
        &mut item,
        "delivered_quantity",
        state.delivered_quantity.map(n),
    );
    put(&mut item, "progress", state.progress.map(n));
    put(&mut item, "detail", state.detail.as_deref().map(s));
    put(&mut item, "amount", state.amount.as_deref().map(n));
    put(&mut item, "currency", state.currency.as_deref().map(s));
    put(
        &mut item,
        "product_name",
        state.product_name.as_deref().map(s),
    );
    put(&mut item, "reference", state.reference.as_deref().map(s));
    item
}

impl DynamoOrderStateStore {
    async fn read(&self, key: &str) -> Result<Option<Item>, StoreError> {
        crate::dynamo::get(&self.client, &self.table, key).await
    }

    /// Moves the wallet's state to `movement` (transaction `id`) if it is newer than what the
    /// state holds; true when the state is at this movement now (moved, or moved earlier).
    async fn advance_wallet(
        &self,
        key: &str,
        movement: &WalletMovement,
        id: i64,
    ) -> Result<bool, StoreError> {
        let mut set = vec![
            "last_transaction_id = :id",
            "last_event_id = :event",
            "last_occurred_at = :at",
            "#record = :record",
        ];
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .condition_expression("attribute_not_exists(pk) OR last_transaction_id < :id")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":id", n(id))
            .expression_attribute_values(":event", s(&movement.event_id))
            .expression_attribute_values(":at", n(movement.occurred_at))
            .expression_attribute_values(":record", s("WALLET"));
        // A balance is kept with the transaction that reported it.
        if let Some(balance) = &movement.balance_after {
            set.push("balance = :balance");
            set.push("balance_transaction_id = :id");
            call = call.expression_attribute_values(":balance", n(balance));
        }
        let result = call
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await;
        if written(result)? {
            return Ok(true);
        }
        let state = self.read(key).await?;
        let last = state
            .as_ref()
            .and_then(|item| item.get("last_transaction_id"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok());
        Ok(last == Some(id))
    }
}

impl OrderStateStore for DynamoOrderStateStore {
    /// Read, [`decide`], then write only if the item is still as read (optimistic concurrency
    /// on `version`); a lost race reads again.
    async fn record_order(
        &self,
        state: &OrderState,
        publication: Publication,
    ) -> Result<OrderWrite, StoreError> {
        let key = state.order.state_key();
        for _ in 0..MAX_WRITE_TRIES {
            let stored = self.read(&key).await?;
            let head = stored.as_ref().map(|i| head_of(&key, i)).transpose()?;
            let decision = decide(head.as_ref(), state, publication);
            if !decision.record_change {
                return Ok(decision.into_write());
            }
            let version: Option<i64> = stored.as_ref().and_then(|i| number(i, "version"));
            let mut changes = head.map(|h| h.changes).unwrap_or_default();
            changes.insert(state.change_key(), state.change_record(publication));
            let changes = AttributeValue::M(
                changes
                    .iter()
                    .map(|(k, record)| (k.clone(), change_record_value(record)))
                    .collect(),
            );
            let next_version = n(version.unwrap_or(0) + 1);
            let condition = match (&stored, version) {
                (None, _) => "attribute_not_exists(pk)",
                (Some(_), None) => "attribute_not_exists(version)",
                (Some(_), Some(_)) => "version = :version",
            };
            let written = if decision.replace_state {
                let mut item = state_item(state);
                item.insert("changes".to_string(), changes);
                item.insert("version".to_string(), next_version);
                let mut call = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(condition);
                if let Some(v) = version {
                    call = call.expression_attribute_values(":version", n(v));
                }
                written(call.send().await)?
            } else {
                let mut call = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s(&key))
                    .update_expression("SET changes = :changes, version = :next")
                    .condition_expression(condition)
                    .expression_attribute_values(":changes", changes)
                    .expression_attribute_values(":next", next_version);
                if let Some(v) = version {
                    call = call.expression_attribute_values(":version", n(v));
                }
                written(call.send().await)?
            };
            if written {
                return Ok(decision.into_write());
            }
        }
        Err(StoreError::Unavailable(format!(
            "{key} changed under {MAX_WRITE_TRIES} writes in a row"
        )))
    }

    async fn record_wallet(&self, movement: &WalletMovement) -> Result<StateWrite, StoreError> {
        let mut item = HashMap::new();
        item.insert("pk".to_string(), s(&movement.key()));
        item.insert("provider".to_string(), s(&movement.provider));
        // Its owner: the event, or a reprocess of it (`recorded_by`).
        item.insert("event_id".to_string(), s(movement.owner()));
        item.insert("direction".to_string(), s(&movement.direction));
        item.insert("occurred_at".to_string(), n(movement.occurred_at));
        put(&mut item, "amount", movement.amount.as_deref().map(n));
        put(&mut item, "currency", movement.currency.as_deref().map(s));
        put(
            &mut item,
            "balance_after",
            movement.balance_after.as_deref().map(n),
        );
        put(
            &mut item,
            "transaction_id",
            movement.transaction_id.as_deref().map(s),
        );
        put(&mut item, "wallet", movement.wallet.as_deref().map(s));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let earlier = !written(result)?;
        if earlier {
            // Keyed by its transaction: recorded by this event on an earlier attempt, or by
            // another event reporting the same transaction (a webhook and a poll).
            let recorded = self.read(&movement.key()).await?;
            let by = recorded
                .as_ref()
                .and_then(|item| item.get("event_id"))
                .and_then(|v| v.as_s().ok());
            if by.map(String::as_str) != Some(movement.owner()) {
                return Ok(StateWrite::KnownChange);
            }
        }
        let current = match movement.wallet_state() {
            None => true,
            Some((key, id)) => self.advance_wallet(&key, movement, id).await?,
        };
        Ok(match earlier {
            true => StateWrite::RecordedEarlier { current },
            false => StateWrite::Recorded { current },
        })
    }
}
