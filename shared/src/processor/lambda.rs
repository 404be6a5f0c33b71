//! Adapter from the Lambda SQS event source to the processor: partial batch responses, so only
//! the failed records are delivered again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{BatchRecord, Processor, RecordResult, process_batch};
use crate::idempotency::EventStore;
use crate::order_api::OrderApi;
use crate::order_state::OrderStateStore;
use crate::queue::Queue;
use crate::watch::WatchStore;

/// Handles one SQS batch; the response names exactly the records to deliver again.
pub async fn handle<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
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
    let results = process_batch(processor, records, deadline).await;
    for line in super::metrics::processor_batch(&results, OffsetDateTime::now_utc()) {
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

/// Deadlines below this (September 2001 in epoch milliseconds) cannot be absolute.
const EARLIEST_ABSOLUTE_DEADLINE_MS: u64 = 1_000_000_000_000;

/// The Lambda deadline (epoch milliseconds) as a monotonic instant. Some local emulators
/// (`cargo lambda watch`) send the timeout itself instead of an absolute time: a value that
/// cannot be a date is read as milliseconds from now.
pub fn instant_of(deadline_ms: u64) -> Instant {
    if deadline_ms < EARLIEST_ABSOLUTE_DEADLINE_MS {
        return Instant::now() + Duration::from_millis(deadline_ms);
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_deadlines() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = |deadline| instant_of(deadline).saturating_duration_since(Instant::now());
        assert!(left(now_ms + 30_000) > Duration::from_secs(29));
        assert!(left(now_ms + 30_000) <= Duration::from_secs(30));
        assert_eq!(left(now_ms - 1_000), Duration::ZERO);
        assert!(
            left(600_000) > Duration::from_secs(599),
            "cargo lambda's relative timeout"
        );
    }
}
