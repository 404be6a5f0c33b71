//! The budget in the events table: one item per provider API, `BUDGET#{provider}`, holding the
//! current slice, the permits taken in it (all, and by polls), and until when a 429 blocks
//! everyone. Each permit is one conditional update; DynamoDB applies it atomically, so two
//! containers never take the last permit twice.

use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;

use super::{BudgetConfig, BudgetError, Priority, slice_of};
use crate::dynamo::{is_condition_failure, n, number, s};

#[derive(Clone, Debug)]
pub struct DynamoBudget {
    pub config: BudgetConfig,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub provider: &'static str,
}

fn store_error(error: impl std::error::Error) -> BudgetError {
    BudgetError::Store(DisplayErrorContext(&error).to_string())
}

impl DynamoBudget {
    fn key(&self) -> String {
        format!("BUDGET#{}", self.provider)
    }

    pub(super) async fn try_take(
        &self,
        priority: Priority,
        now_ms: i64,
    ) -> Result<(), BudgetError> {
        let (slice, next) = slice_of(&self.config, now_ms);
        let poll = i64::from(priority == Priority::Poll);
        // The first permit of a new slice starts it.
        let opened = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&self.key()))
            .update_expression("SET slice = :slice, taken = :one, polls = :poll")
            .condition_expression(
                "(attribute_not_exists(slice) OR slice < :slice) \
                 AND (attribute_not_exists(blocked_until) OR blocked_until <= :now)",
            )
            .expression_attribute_values(":slice", n(slice))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":poll", n(poll))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match opened {
            Ok(_) => return Ok(()),
            Err(error) if is_condition_failure(&error) => {}
            Err(error) => return Err(store_error(error)),
        }
        let mut condition = String::from(
            "slice = :slice AND taken < :limit \
             AND (attribute_not_exists(blocked_until) OR blocked_until <= :now)",
        );
        let mut update = String::from("ADD taken :one");
        if priority == Priority::Poll {
            condition.push_str(" AND polls < :poll_limit");
            update.push_str(", polls :one");
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&self.key()))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":slice", n(slice))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":limit", n(self.config.slice_limit(Priority::Delivery)));
        if priority == Priority::Poll {
            request = request.expression_attribute_values(
                ":poll_limit",
                n(self.config.slice_limit(Priority::Poll)),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Err(BudgetError::NoRoom {
                wait: self.wait(now_ms, next).await?,
            }),
            Err(error) => Err(store_error(error)),
        }
    }

    /// How long until room: the next slice, or the end of a 429's block if later.
    async fn wait(&self, now_ms: i64, next: Duration) -> Result<Duration, BudgetError> {
        let item = crate::dynamo::get(&self.client, &self.table, &self.key())
            .await
            .map_err(|e| BudgetError::Store(e.to_string()))?;
        let blocked = item
            .as_ref()
            .and_then(|item| number::<i64>(item, "blocked_until"))
            .map_or(0, |until| until - now_ms);
        let blocked = Duration::from_millis(u64::try_from(blocked).unwrap_or(0));
        Ok(next.max(blocked))
    }

    pub(super) async fn block_until(&self, until_ms: i64) -> Result<(), BudgetError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&self.key()))
            .update_expression("SET blocked_until = :until")
            .condition_expression("attribute_not_exists(blocked_until) OR blocked_until < :until")
            .expression_attribute_values(":until", n(until_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already blocked for longer.
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }
}
