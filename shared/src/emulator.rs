//! Creates hookline's queues and table on a local AWS emulator (moto server), shaped as
//! `template.yaml` declares them, for `hookline emulator-setup` and the integration tests.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
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
        let attribute = AttributeDefinition::builder()
            .attribute_name("pk")
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let key = KeySchemaElement::builder()
            .attribute_name("pk")
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute)
            .key_schema(key)
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
