//! A batch of SQS records, processed concurrently (bounded), each result on its own: one bad
//! record never fails or repeats its neighbours.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use tracing::Instrument;

use super::{Archive, ArchiveEntry, archive};
use super::{Plan, PlanError, Prepared, ProcessError, Processor, RecordOutcome, parse_message};
use crate::idempotency::EventStore;
use crate::message::QueueMessage;
use crate::order_api::OrderApi;
use crate::order_state::{OrderStateStore, StateWrite};
use crate::queue::Queue;
use crate::queue::{OutgoingMessage, QueueError};
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
    archive: Option<&Archive>,
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
    let mut records = read_records(records);
    let Some(archive) = archive else {
        return process_read(processor, records, deadline).await;
    };
    let entries: Vec<(usize, ArchiveEntry)> = records
        .iter_mut()
        .enumerate()
        .filter_map(|(index, record)| {
            let message = record.message.as_ref().ok()?;
            if message.replay.is_some() {
                return None;
            }
            // Planned here once, for the entry and for the processing.
            let plan = processor.plan(message);
            // A message that cannot be planned is still kept: it was accepted.
            let known = plan.as_ref().is_ok_and(|p| p.known_type);
            let order_id = plan
                .as_ref()
                .ok()
                .and_then(|p| p.order().map(|o| o.order_id.clone()));
            let entry = ArchiveEntry::of(message, known, order_id, &archive.key);
            record.plan = Some(plan);
            Some((index, entry))
        })
        .collect();
    let providers: HashMap<usize, String> = entries
        .iter()
        .map(|(index, entry)| (*index, entry.provider.clone()))
        .collect();
    let mut failed = archive::write(&archive.store, entries).await;
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
    results.extend(process_read(processor, archived, deadline).await);
    results
}

/// Processes `records` with at most `config.concurrency` at once; results in any order.
///
/// In three steps: every record is prepared (claimed, fetched, recorded: [`Processor::prepare`]);
/// the order updates ready then are published together, ten per SQS request
/// ([`Queue::send_batch`]); each record's claim is then completed, or released when its update
/// was refused. Each record goes through the same steps in the same order as alone
/// ([`Processor::process_message`]), so what a crash or a failure leaves is the same.
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
    process_read(processor, read_records(records), deadline).await
}

/// A record with its body read once (and its plan, once made): finding the batch's repeats,
/// archiving and processing all use this one reading.
struct ReadRecord {
    message_id: String,
    message: Result<QueueMessage, PlanError>,
    plan: Option<Result<Plan, PlanError>>,
}

fn read_records(records: Vec<BatchRecord>) -> Vec<ReadRecord> {
    records
        .into_iter()
        .map(|record| ReadRecord {
            message: record
                .body
                .as_deref()
                .ok_or(PlanError::NotAMessage)
                .and_then(parse_message),
            message_id: record.message_id,
            plan: None,
        })
        .collect()
}

async fn process_read<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    records: Vec<ReadRecord>,
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
    let (records, repeats) = split_repeats(records);
    let prepared: Vec<Pending> = futures::stream::iter(records)
        .map(|record| {
            let span = tracing::info_span!(
                "record",
                message_id = %record.message_id,
                provider = tracing::field::Empty,
                event_id = tracing::field::Empty,
                event_type = tracing::field::Empty,
            );
            prepare_record(processor, record, deadline, span)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let published = publish_ready(processor, &prepared, deadline).await;
    let mut results: Vec<RecordResult> = futures::stream::iter(prepared.into_iter().zip(published))
        .map(|(pending, published)| async move {
            let outcome = match pending.prepared {
                Prepared::Finished(outcome) => outcome,
                Prepared::Ready(ready) => {
                    processor
                        .finish(ready, published, deadline)
                        .instrument(pending.span.clone())
                        .await
                }
            };
            pending.span.in_scope(|| log_outcome(&outcome));
            RecordResult {
                message_id: pending.message_id,
                provider: pending.provider,
                outcome,
                latency: pending.started.elapsed(),
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let repeated: Vec<RecordResult> = repeats
        .into_iter()
        .map(|repeat| {
            let first = results.iter().find(|r| r.message_id == repeat.first);
            let outcome = match first.map(|r| &r.outcome) {
                Some(RecordOutcome::Processed { .. } | RecordOutcome::Duplicate) => {
                    RecordOutcome::Duplicate
                }
                Some(RecordOutcome::Conflict) => RecordOutcome::Conflict,
                // Its first copy did not take effect (or is held elsewhere): delivered again.
                _ => RecordOutcome::InProgressElsewhere,
            };
            let span = tracing::info_span!(
                "record",
                message_id = %repeat.message_id,
                provider = %repeat.provider,
                event_id = %repeat.event_id,
                event_type = %repeat.event_type,
            );
            span.in_scope(|| log_outcome(&outcome));
            RecordResult {
                message_id: repeat.message_id,
                provider: Some(repeat.provider),
                outcome,
                latency: Duration::ZERO,
            }
        })
        .collect();
    results.extend(repeated);
    results
}

/// A record that repeats an earlier record of its batch.
struct Repeat {
    message_id: String,
    /// The message id of the first copy.
    first: String,
    provider: String,
    event_id: String,
    event_type: String,
}

/// Splits off the records that repeat an earlier record of the batch (the same event, body
/// and replay kind: a provider retry that arrived with it). Only the first copy is processed;
/// a repeat shares its outcome, so the batch's repeats cost no claim and never wait for their
/// first copy's lease.
fn split_repeats(records: Vec<ReadRecord>) -> (Vec<ReadRecord>, Vec<Repeat>) {
    // The message id of each record's first copy, for the records that repeat one.
    let mut first_of: HashMap<(&str, &str, &str, bool), usize> = HashMap::new();
    let mut first_ids: Vec<Option<String>> = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let Ok(message) = &record.message else {
            first_ids.push(None);
            continue;
        };
        let reprocess = message.replay.as_ref().is_some_and(|r| r.reprocess);
        let identity = (
            message.provider.as_str(),
            message.event_id.as_str(),
            message.body.as_str(),
            reprocess,
        );
        let first = *first_of.entry(identity).or_insert(index);
        first_ids.push((first != index).then(|| records[first].message_id.clone()));
    }
    let mut firsts = Vec::with_capacity(records.len());
    let mut repeats = Vec::new();
    for (record, first) in records.into_iter().zip(first_ids) {
        match (first, record.message) {
            (Some(first), Ok(message)) => repeats.push(Repeat {
                message_id: record.message_id,
                first,
                provider: message.provider,
                event_id: message.event_id,
                event_type: message.event_type,
            }),
            (_, message) => firsts.push(ReadRecord { message, ..record }),
        }
    }
    (firsts, repeats)
}

/// A record between its preparation and its end.
struct Pending {
    message_id: String,
    provider: Option<String>,
    span: tracing::Span,
    started: Instant,
    prepared: Prepared,
}

async fn prepare_record<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    record: ReadRecord,
    deadline: Instant,
    span: tracing::Span,
) -> Pending
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let started = Instant::now();
    let (provider, prepared) = match record.message {
        Ok(message) => {
            // Every line about this record carries the event's identity.
            span.record("provider", message.provider.as_str());
            span.record("event_id", message.event_id.as_str());
            span.record("event_type", message.event_type.as_str());
            let plan = record.plan.unwrap_or_else(|| processor.plan(&message));
            let prepared = processor
                .prepare_planned(&message, plan, deadline)
                .instrument(span.clone())
                .await;
            (Some(message.provider), prepared)
        }
        Err(error) => (
            None,
            Prepared::Finished(RecordOutcome::Failed(error.into())),
        ),
    };
    Pending {
        message_id: record.message_id,
        provider,
        span,
        started,
        prepared,
    }
}

/// Publishes the ready updates of `pending`: the one-part updates of each queue in one batch,
/// the longer ones part after part; a message the batch refused is sent again on its own at
/// once ([`Processor::publish`]), within the FIFO queue's deduplication window. One result per
/// record (`Ok` when nothing was to publish).
async fn publish_ready<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    pending: &[Pending],
    deadline: Instant,
) -> Vec<Result<(), ProcessError>>
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    let mut results: Vec<Option<Result<(), QueueError>>> = pending.iter().map(|_| None).collect();
    // The batch request was each message's first attempt.
    let mut attempts_left = vec![processor.config.publish_attempts; pending.len()];
    let batch_deadline = deadline
        .checked_sub(processor.config.deadline_margin)
        .unwrap_or(deadline);
    for to_credentials in [false, true] {
        let (indices, messages): (Vec<usize>, Vec<OutgoingMessage>) = pending
            .iter()
            .enumerate()
            .filter_map(|(index, p)| match &p.prepared {
                Prepared::Ready(ready) => ready
                    .single_part()
                    .filter(|(_, credentials)| *credentials == to_credentials)
                    .map(|(message, _)| (index, message.clone())),
                Prepared::Finished(_) => None,
            })
            .unzip();
        if messages.is_empty() {
            continue;
        }
        let sent = tokio::time::timeout_at(
            batch_deadline,
            processor.queue_for(to_credentials).send_batch(&messages),
        )
        .await;
        let Ok(sent) = sent else {
            // Unknown which were taken: each is sent again on its own below, if time is left.
            continue;
        };
        for (index, result) in indices.into_iter().zip(sent) {
            attempts_left[index] = attempts_left[index].saturating_sub(1);
            // A refused one is sent again on its own below, if it has attempts left.
            if result.is_ok() || attempts_left[index] == 0 {
                results[index] = Some(result.map(|_| ()));
            }
        }
    }
    let mut out = Vec::with_capacity(pending.len());
    for ((p, result), attempts) in pending.iter().zip(results).zip(attempts_left) {
        out.push(match (result, &p.prepared) {
            (Some(result), _) => result.map_err(ProcessError::from),
            (None, Prepared::Ready(ready)) => {
                processor
                    .publish_within(ready, attempts, batch_deadline)
                    .instrument(p.span.clone())
                    .await
            }
            (None, Prepared::Finished(_)) => Ok(()),
        });
    }
    out
}

/// One log line per decision, the only one a record writes at `info` when all goes well.
fn log_outcome(outcome: &RecordOutcome) {
    match outcome {
        RecordOutcome::Processed {
            fetch_latency,
            state,
            known_type,
            ..
        } => tracing::info!(
            fetch_ms = fetch_latency.map(|l| l.as_millis() as u64),
            state = state.map_or("none", StateWrite::name),
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
                ProcessError::Deadline(_) => "deadline",
            };
            tracing::error!(cause, error = %error, "event failed; SQS will deliver it again")
        }
    }
}
