//! Opening a function's AWS connection during init, so its first request pays no TCP + TLS
//! handshake: Lambda runs init at full CPU (the handshake at 128 MB takes far longer inside
//! an invoke) and, with provisioned concurrency, before any request is waiting.
//!
//! Each warm-up is one cheap read the function's policy allows: the ingest queue's ARN
//! (receivers, `sqs:GetQueueAttributes`) and a `GetItem` of a key no record uses (processor),
//! which opens its SQS connection with the ingest queue's ARN too (it consumes that queue). A
//! receiver's runs while its secrets load, the processor's while its API credentials load.
//! The SDK keeps the connection in its pool for the clients built from the same config. A
//! warm-up that fails is logged and init goes on: the first request opens the connection then,
//! as it would without the warm-up.

use std::time::Instant;

use aws_sdk_sqs::error::DisplayErrorContext;

/// The key the processor's warm-up reads: never written (claim keys are `provider#event`).
pub const WARM_UP_KEY: &str = "hookline-warm-up";

/// Opens the connection to SQS by reading `queue_url`'s ARN.
pub async fn sqs_queue(client: &aws_sdk_sqs::Client, queue_url: &str) {
    let started = Instant::now();
    let result = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await;
    report("sqs", started, result.err());
}

/// Opens the connection to DynamoDB by reading [`WARM_UP_KEY`] from `table`.
pub async fn dynamodb_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    let started = Instant::now();
    let result = client
        .get_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(WARM_UP_KEY.into()),
        )
        .projection_expression("pk")
        .send()
        .await;
    report("dynamodb", started, result.err());
}

/// The processor's connections, opened together: DynamoDB (the claims), and SQS (the order
/// updates) when the ingest queue is known (`ProcessorEnv::ingest_queue_url`); in AWS they
/// are two hosts. Nothing when `WARM_CONNECTIONS_AT_INIT` is false.
pub async fn processor_connections(
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    env: &crate::config::ProcessorEnv,
) {
    if !env.warm_connections {
        return;
    }
    let queue = async {
        if let Some(url) = &env.ingest_queue_url {
            sqs_queue(sqs, url).await;
        }
    };
    tokio::join!(dynamodb_table(dynamodb, &env.events_table), queue);
}

fn report<E: std::error::Error>(service: &str, started: Instant, error: Option<E>) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match error {
        None => tracing::debug!(service, elapsed_ms, "connection opened during init"),
        Some(error) => tracing::warn!(
            service,
            elapsed_ms,
            error = %DisplayErrorContext(&error),
            "could not open the connection during init; the first request will"
        ),
    }
}
