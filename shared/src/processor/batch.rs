//! A batch of SQS records, processed concurrently (bounded), each result on its own: one bad
//! record never fails or repeats its neighbours.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use tracing::Instrument;

use super::{ArchiveEntry, ArchiveStore, archive};
use super::{PlanError, ProcessError, Processor, RecordOutcome, parse_message};
use crate::idempotency::EventStore;
use crate::order_api::OrderApi;
use crate::order_state::OrderStateStore;
use crate::queue::Queue;
use crate::watch::WatchStore;

/// One record as SQS delivered it.
#[derive(Clone, Debug)]
pub struct BatchRecord {
    pub message_id: String,
    pub body: Option<String>,
}

/// What became of one record.
#[derive(Debug)]
pub struct RecordResult {
    pub message_id: String,
    /// `None` when the body was not an ingest message.
    pub provider: Option<String>,
    pub outcome: RecordOutcome,
    pub latency: Duration,
}

/// Archives the batch's accepted webhooks ([`crate::archive`]), then processes the records
/// whose entry is stored; a record whose entry could not be written fails (SQS delivers it
/// again) and takes no effect. Replayed messages are in the archive already. Without an
/// archive, the same as [`process_batch`].
pub async fn process_archived_batch<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    archive: Option<&ArchiveStore>,
    records: Vec<BatchRecord>,
    deadline: Instant,
) -> Vec<RecordResult>
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let Some(archive) = archive else {
        return process_batch(processor, records, deadline).await;
    };
    let entries: Vec<(usize, ArchiveEntry)> = records
        .iter()
        .enumerate()
        .filter_map(|(index, record)| {
            let message = parse_message(record.body.as_deref()?).ok()?;
            if message.replay.is_some() {
                return None;
            }
            // A message that cannot be planned is still kept: it was accepted.
            let plan = processor.plan(&message).ok();
            let known = plan.as_ref().is_some_and(|p| p.known_type);
            let order_id = plan.and_then(|p| p.order().map(|o| o.order_id.clone()));
            Some((index, ArchiveEntry::of(&message, known, order_id)))
        })
        .collect();
    let providers: std::collections::HashMap<usize, String> = entries
        .iter()
        .map(|(index, entry)| (*index, entry.provider.clone()))
        .collect();
    let mut failed = archive::write(archive, entries).await;
    let mut results = Vec::new();
    let mut archived = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        match failed.remove(&index) {
            Some(error) => results.push(RecordResult {
                message_id: record.message_id,
                // Counted as the provider's failure (`ProcessingFailed`).
                provider: providers.get(&index).cloned(),
                outcome: RecordOutcome::Failed(error.into()),
                latency: Duration::ZERO,
            }),
            None => archived.push(record),
        }
    }
    results.extend(process_batch(processor, archived, deadline).await);
    results
}

/// Processes `records` with at most `config.concurrency` at once; results in any order.
pub async fn process_batch<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    records: Vec<BatchRecord>,
    deadline: Instant,
) -> Vec<RecordResult>
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let concurrency = processor.config.concurrency.max(1);
    futures::stream::iter(records)
        .map(|record| {
            let span = tracing::info_span!(
                "record",
                message_id = %record.message_id,
                provider = tracing::field::Empty,
                event_id = tracing::field::Empty,
                event_type = tracing::field::Empty,
            );
            async move { process_record(processor, record, deadline).await }.instrument(span)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

async fn process_record<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    record: BatchRecord,
    deadline: Instant,
) -> RecordResult
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let started = Instant::now();
    let parsed = record
        .body
        .as_deref()
        .ok_or(PlanError::NotAMessage)
        .and_then(parse_message);
    let (provider, outcome) = match parsed {
        Ok(message) => {
            // Every line about this record carries the event's identity.
            let span = tracing::Span::current();
            span.record("provider", message.provider.as_str());
            span.record("event_id", message.event_id.as_str());
            span.record("event_type", message.event_type.as_str());
            let outcome = processor.process_message(&message, deadline).await;
            (Some(message.provider), outcome)
        }
        Err(error) => (None, RecordOutcome::Failed(error.into())),
    };
    log_outcome(&outcome);
    RecordResult {
        message_id: record.message_id,
        provider,
        outcome,
        latency: started.elapsed(),
    }
}

/// One log line per decision.
fn log_outcome(outcome: &RecordOutcome) {
    match outcome {
        RecordOutcome::Processed {
            fetch_latency,
            state,
            known_type,
            ..
        } => tracing::info!(
            fetched = fetch_latency.is_some(),
            state = ?state,
            known_type,
            "event processed"
        ),
        RecordOutcome::Duplicate => {
            tracing::info!("duplicate delivery; already processed, acknowledged")
        }
        RecordOutcome::InProgressElsewhere => {
            tracing::info!("event is being processed by another invocation; retried later")
        }
        RecordOutcome::Conflict => tracing::error!(
            "event id seen before with a different body; not processed, left to retry and the dead-letter queue"
        ),
        RecordOutcome::Failed(error) => {
            let cause = match error {
                ProcessError::Plan(_) => "malformed",
                ProcessError::Store(_) => "store",
                ProcessError::Fetch(_) => "fetch",
                ProcessError::Publish(_) => "publish",
                ProcessError::TooLarge(_) => "too_large",
                ProcessError::Archive(_) => "archive",
            };
            tracing::error!(cause, error = %error, "event failed; SQS will deliver it again")
        }
    }
}
