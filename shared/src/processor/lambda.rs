//! Adapter from the Lambda SQS event source to the processor: partial batch responses, so only
//! the failed records are delivered again.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{BatchRecord, Processor, RecordResult, process_archived_batch};
use crate::archive::Archive;
use crate::clock::instant_of;
use crate::idempotency::EventStore;
use crate::order_api::OrderApi;
use crate::order_state::OrderStateStore;
use crate::queue::Queue;
use crate::watch::WatchStore;

/// Handles one SQS batch (archiving it first when there is an archive); the response names exactly the records to deliver again.
pub async fn handle<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    archive: Option<&Archive>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, std::convert::Infallible>
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let deadline = instant_of(event.context.deadline);
    tracing::debug!(
        records = event.payload.records.len(),
        deadline_ms = event.context.deadline,
        ms_left = deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64,
        "batch received"
    );
    let records = event
        .payload
        .records
        .into_iter()
        .map(|r| BatchRecord {
            message_id: r.message_id.unwrap_or_default(),
            body: r.body,
        })
        .collect();
    let results = process_archived_batch(processor, archive, records, deadline).await;
    for line in super::metrics::processor_batch(&results, OffsetDateTime::now_utc()) {
        crate::metrics::emit(&line);
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
