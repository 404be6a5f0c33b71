//! Cursors in the events table: `{key}` items holding `position`, moved by conditional writes.

use aws_sdk_dynamodb::Client;

use super::CursorStore;
use crate::dynamo::{is_condition_failure, n, s, unavailable};
use crate::store::StoreError;

#[derive(Clone, Debug)]
pub struct DynamoCursorStore {
    client: Client,
    table: String,
}

impl DynamoCursorStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl CursorStore for DynamoCursorStore {
    async fn get(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let item = crate::dynamo::get(&self.client, &self.table, key).await?;
        Ok(item
            .as_ref()
            .and_then(|item| item.get("position"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()))
    }

    async fn advance(&self, key: &str, from: Option<i64>, to: i64) -> Result<bool, StoreError> {
        let call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET #position = :to, #record = :record")
            .expression_attribute_names("#position", "position")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":record", s("CURSOR"));
        let call = match from {
            None => call.condition_expression("attribute_not_exists(pk)"),
            Some(from) => call
                .condition_expression("#position = :from")
                .expression_attribute_values(":from", n(from)),
        };
        match call.send().await {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }
}
