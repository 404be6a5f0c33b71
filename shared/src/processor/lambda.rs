//! Adapter from the Lambda SQS event source to the processor: partial batch responses, so only
//! the failed records are delivered again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{BatchRecord, Processor, RecordResult, process_batch};
use crate::idempotency::EventStore;
use crate::metrics;
use crate::order_api::OrderApi;
use crate::order_state::OrderStateStore;
use crate::queue::Queue;

/// Handles one SQS batch; the response names exactly the records to deliver again.
pub async fn handle<E, S, A, U>(
    processor: &Processor<E, S, A, U>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, std::convert::Infallible>
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
{
    let deadline = instant_of(event.context.deadline);
    let records = event
        .payload
        .records
        .into_iter()
        .map(|r| BatchRecord {
            message_id: r.message_id.unwrap_or_default(),
            body: r.body,
        })
        .collect();
    let results = process_batch(processor, records, deadline).await;
    for line in metrics::processor_batch(&results, OffsetDateTime::now_utc()) {
        println!("{line}");
    }
    Ok(batch_response(&results))
}

/// The partial batch response for `results`.
pub fn batch_response(results: &[RecordResult]) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = results
        .iter()
        .filter(|r| r.outcome.is_failure())
        .map(|r| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = r.message_id.clone();
            failure
        })
        .collect();
    response
}

/// The Lambda deadline (epoch milliseconds) as a monotonic instant.
fn instant_of(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
