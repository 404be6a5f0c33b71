//! DynamoDB adapter of the event store: conditional writes on one item per event.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use crate::dynamo::{Item, n, s, unavailable};

use super::{
    Claim, ClaimRequest, EventStore, ExistingRecord, STATUS_COMPLETED, STATUS_IN_PROGRESS,
    StoreError,
};

/// Claim records in a DynamoDB table keyed by the string `pk`, TTL on `expires_at`.
#[derive(Clone, Debug)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
}

/// The item of a failed condition, when DynamoDB returned it.
fn condition_failure_item(error: &SdkError<UpdateItemError>) -> Option<Option<Item>> {
    match error.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(e)) => Some(e.item().cloned()),
        _ => None,
    }
}

fn existing_record(key: &str, item: &Item) -> Result<ExistingRecord, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    };
    let status = item
        .get("status")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| corrupt("no status"))?
        .clone();
    let lease_until = match item.get("lease_until") {
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("lease_until is not a number"))?,
        None => 0,
    };
    let body_sha256 = item
        .get("body_sha256")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| corrupt("no body_sha256"))?
        .clone();
    Ok(ExistingRecord {
        status,
        lease_until,
        body_sha256,
    })
}

impl DynamoEventStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn read(&self, key: &str) -> Result<Option<Item>, StoreError> {
        crate::dynamo::get(&self.client, &self.table, key).await
    }
}

impl EventStore for DynamoEventStore {
    async fn claim(&self, request: &ClaimRequest) -> Result<Claim, StoreError> {
        let mut update = String::from(
            "SET #status = :in_progress, lease_until = :lease_until, lease_token = :token, \
             expires_at = :expires_at, body_sha256 = :hash, \
             attempts = if_not_exists(attempts, :zero) + :one",
        );
        if request.subject_key.is_some() {
            update.push_str(", subject_key = :subject");
        }
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&request.key))
            .update_expression(update)
            .condition_expression(
                "attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now \
                 AND body_sha256 = :hash)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(STATUS_IN_PROGRESS))
            .expression_attribute_values(":lease_until", n(request.lease_until))
            .expression_attribute_values(":token", s(&request.lease_token))
            .expression_attribute_values(":expires_at", n(request.expires_at))
            .expression_attribute_values(":hash", s(&request.body_sha256))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(request.now));
        if let Some(subject) = &request.subject_key {
            call = call.expression_attribute_values(":subject", s(subject));
        }
        let result = call
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let attempts = output
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get("attempts"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Claim::Acquired { attempts })
            }
            Err(error) => {
                let Some(returned) = condition_failure_item(&error) else {
                    return Err(unavailable(error));
                };
                // Older emulators do not return the item with the failure: read it.
                let item = match returned {
                    Some(item) => item,
                    None => match self.read(&request.key).await? {
                        Some(item) => item,
                        // Deleted between the write and the read (TTL): the next try claims it.
                        None => {
                            return Ok(Claim::InProgress {
                                lease_until: request.now,
                            });
                        }
                    },
                };
                let existing = existing_record(&request.key, &item)?;
                Ok(existing
                    .refusal(request)
                    // Lost a race with another claimer that has just taken it over.
                    .unwrap_or(Claim::InProgress {
                        lease_until: existing.lease_until,
                    }))
            }
        }
    }

    async fn complete(&self, key: &str, lease_token: &str, now: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(
                "SET #status = :completed, completed_at = :now REMOVE lease_until, lease_token",
            )
            .condition_expression("lease_token = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(STATUS_COMPLETED))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":token", s(lease_token))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if condition_failure_item(&error).is_some() => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn release(&self, key: &str, lease_token: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET lease_until = :zero REMOVE lease_token")
            .condition_expression("lease_token = :token AND #status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":token", s(lease_token))
            .expression_attribute_values(":in_progress", s(STATUS_IN_PROGRESS))
            .send()
            .await;
        match result {
            // Not ours any more: nothing to release.
            Err(error) if condition_failure_item(&error).is_none() => Err(unavailable(error)),
            _ => Ok(()),
        }
    }
}
