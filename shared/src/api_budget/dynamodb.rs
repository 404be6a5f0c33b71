//! The budget in the events table: one item per provider API, `BUDGET#{provider}`, holding the
//! current slice, the permits taken in it (all, and by polls), and until when a 429 blocks
//! everyone. Each permit is one conditional update (two for the first of a slice); DynamoDB applies it atomically, so two
//! containers never take the last permit twice.

use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{BudgetConfig, BudgetError, Priority, slice_of};
use crate::dynamo::{Item, is_condition_failure, n, number, s};

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

    /// One permit in the current slice. The common case is one conditional `UpdateItem`: the
    /// take. Only when its condition fails does the old item (returned with the failure) say
    /// whether the slice is merely stale, so this caller opens the new one, or full or blocked.
    pub(super) async fn try_take(
        &self,
        priority: Priority,
        now_ms: i64,
    ) -> Result<(), BudgetError> {
        let (slice, next) = slice_of(&self.config, now_ms);
        // Two rounds: a take that finds the slice stale, an open lost to another caller that
        // opened it first, then a take in the slice that caller opened.
        let mut old = None;
        for _ in 0..2 {
            old = match self.take_in(slice, priority, now_ms).await? {
                None => return Ok(()),
                Some(old) => old,
            };
            let blocked = blocked_for(old.as_ref(), now_ms);
            let current = old.as_ref().and_then(|item| number::<i64>(item, "slice"));
            if !blocked.is_zero() || current.is_some_and(|current| current >= slice) {
                return Err(BudgetError::NoRoom {
                    wait: next.max(blocked),
                });
            }
            if self.open(slice, priority, now_ms).await? {
                return Ok(());
            }
        }
        Err(BudgetError::NoRoom {
            wait: next.max(blocked_for(old.as_ref(), now_ms)),
        })
    }

    /// Takes a permit in `slice` if it is the item's slice and has room: `None` when taken,
    /// else the item as it was (`Some(None)` when there is none yet).
    async fn take_in(
        &self,
        slice: i64,
        priority: Priority,
        now_ms: i64,
    ) -> Result<Option<Option<Item>>, BudgetError> {
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
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
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
            Ok(_) => Ok(None),
            Err(error) if is_condition_failure(&error) => {
                Ok(Some(match error.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        failed.item().cloned()
                    }
                    _ => None,
                }))
            }
            Err(error) => Err(store_error(error)),
        }
    }

    /// Opens `slice` with this caller's permit as its first: false when another caller opened
    /// it first, or a 429 blocks.
    async fn open(&self, slice: i64, priority: Priority, now_ms: i64) -> Result<bool, BudgetError> {
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
            .expression_attribute_values(":poll", n(i64::from(priority == Priority::Poll)))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match opened {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(store_error(error)),
        }
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

/// How long a 429's block still holds at `now_ms` (zero when none).
fn blocked_for(item: Option<&Item>, now_ms: i64) -> Duration {
    let until = item
        .and_then(|item| number::<i64>(item, "blocked_until"))
        .unwrap_or(0);
    Duration::from_millis(u64::try_from(until.saturating_sub(now_ms)).unwrap_or(0))
}
