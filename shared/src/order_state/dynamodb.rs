//! DynamoDB adapter of the order state: conditional writes that never move a state backwards.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use super::{OrderState, OrderStateStore, StateWrite, WalletMovement};
use crate::idempotency::StoreError;

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

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A failed condition means a newer state is stored: not an error.
fn outcome<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<StateWrite, StoreError>
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(StateWrite::Applied),
        Err(error) => {
            let conditional = error
                .as_service_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "ConditionalCheckFailedException");
            if conditional {
                Ok(StateWrite::Superseded)
            } else {
                Err(StoreError::Unavailable(
                    DisplayErrorContext(&error).to_string(),
                ))
            }
        }
    }
}

impl OrderStateStore for DynamoOrderStateStore {
    async fn record_order(&self, state: &OrderState) -> Result<StateWrite, StoreError> {
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
        put(&mut item, "amount", state.amount.as_deref().map(n));
        put(&mut item, "currency", state.currency.as_deref().map(s));
        put(
            &mut item,
            "product_name",
            state.product_name.as_deref().map(s),
        );
        put(&mut item, "reference", state.reference.as_deref().map(s));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // The same rule as `supersedes`, applied atomically.
            .condition_expression(
                "attribute_not_exists(pk) OR status_rank < :rank \
                 OR (status_rank = :rank AND last_event_at < :at \
                     AND (attribute_not_exists(change_key) OR change_key <> :change))",
            )
            .expression_attribute_values(":rank", n(state.status_rank))
            .expression_attribute_values(":at", n(state.last_event_at))
            .expression_attribute_values(":change", s(&state.change_key()))
            .send()
            .await;
        outcome(result)
    }

    async fn record_wallet(&self, movement: &WalletMovement) -> Result<StateWrite, StoreError> {
        let mut item = HashMap::new();
        item.insert("pk".to_string(), s(&movement.key()));
        item.insert("provider".to_string(), s(&movement.provider));
        item.insert("event_id".to_string(), s(&movement.event_id));
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
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        outcome(result)
    }
}
