//! Creates hookline's queues, table and archive bucket on a local AWS emulator (moto server), shaped as
//! `template.yaml` declares them, for `hookline emulator-setup` and the integration tests.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

/// Creates (or finds) a standard queue; returns its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    create(sqs, name, false).await
}

/// Creates (or finds) a FIFO queue; `name` must end in `.fifo`. Returns its URL.
pub async fn create_fifo_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    create(sqs, name, true).await
}

/// Creates (or finds) the local ingest queue and its DLQ, with the template's redrive policy;
/// returns the two URLs.
pub async fn create_ingest_queue(sqs: &aws_sdk_sqs::Client) -> Result<(String, String), String> {
    use crate::dev_defaults::{INGEST_MAX_RECEIVE_COUNT, LOCAL_INGEST_DLQ, LOCAL_INGEST_QUEUE};
    create_queue_with_dlq(
        sqs,
        LOCAL_INGEST_QUEUE,
        LOCAL_INGEST_DLQ,
        false,
        INGEST_MAX_RECEIVE_COUNT,
    )
    .await
}

/// Creates (or finds) the local order-updates FIFO queue and its DLQ, with the template's
/// redrive policy; returns the two URLs.
pub async fn create_order_updates_queue(
    sqs: &aws_sdk_sqs::Client,
) -> Result<(String, String), String> {
    use crate::dev_defaults::{
        LOCAL_ORDER_UPDATES_DLQ, LOCAL_ORDER_UPDATES_QUEUE, ORDER_UPDATES_MAX_RECEIVE_COUNT,
    };
    create_queue_with_dlq(
        sqs,
        LOCAL_ORDER_UPDATES_QUEUE,
        LOCAL_ORDER_UPDATES_DLQ,
        true,
        ORDER_UPDATES_MAX_RECEIVE_COUNT,
    )
    .await
}

/// Creates (or finds) `name` and its dead-letter queue `dlq` (both FIFO when `fifo`), and gives
/// `name` the redrive policy the template gives it: after `max_receive_count` receives, a message
/// goes to the DLQ. Returns the two URLs.
pub async fn create_queue_with_dlq(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    dlq: &str,
    fifo: bool,
    max_receive_count: u32,
) -> Result<(String, String), String> {
    let dlq_url = create(sqs, dlq, fifo).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read queue {dlq}'s ARN: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| format!("queue {dlq} has no ARN"))?;
    let url = create(sqs, name, fifo).await?;
    let policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receive_count.to_string(),
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot give queue {name} its dead-letter queue: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?;
    Ok((url, dlq_url))
}

async fn create(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> Result<String, String> {
    let mut request = sqs.create_queue().queue_name(name);
    if fifo {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot create queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            )
        })?
        .queue_url
        .ok_or_else(|| format!("creating queue {name} returned no URL"))
}

/// Creates the archive bucket unless it exists (ours already: fine).
#[cfg(feature = "archive-s3")]
pub async fn create_bucket(config: &crate::aws::SdkConfig, bucket: &str) -> Result<(), String> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(error) => Err(format!(
            "cannot create bucket {bucket}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&error)
        )),
    }
}

/// Creates the events table (string key `pk`, on demand, TTL on `expires_at`) unless it exists.
pub async fn create_events_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), String> {
    let fail = |e: String| format!("cannot create table {name}: {e}");
    let exists = dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok();
    if !exists {
        let attribute = |attribute: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(kind)
                .build()
                .map_err(|e| fail(e.to_string()))
        };
        let key = |attribute: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(kind)
                .build()
                .map_err(|e| fail(e.to_string()))
        };
        // The due-watches index, as template.yaml declares it.
        let due = GlobalSecondaryIndex::builder()
            .index_name(crate::watch::DUE_INDEX)
            .key_schema(key("due_shard", KeyType::Hash)?)
            .key_schema(key("next_poll_at", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| fail(e.to_string()))?;
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("due_shard", ScalarAttributeType::S)?)
            .attribute_definitions(attribute("next_poll_at", ScalarAttributeType::N)?)
            .key_schema(key("pk", KeyType::Hash)?)
            .global_secondary_indexes(due)
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("expires_at")
        .enabled(true)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
    Ok(())
}
