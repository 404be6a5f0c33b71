//! The local processor loops of `hookline serve`: take batches from the ingest queue, run the
//! processor on them as the Lambda would.
//!
//! With the in-memory queue ([`run_in_memory`]), a failed record is delivered again after a
//! delay, up to [`MAX_RECEIVES`] times, then dead-lettered (logged), as SQS's redrive policy
//! does, and each order update is shown with its codes masked. On an emulator's SQS
//! ([`run_on_sqs`]), SQS itself redelivers and dead-letters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::provider_args::ResolvedApi;
use hookline::api_budget::Priority;
use hookline::archive::Archive;
use hookline::cursor::CursorStore;
use hookline::idempotency::{EventStore, MemoryEventStore};
use hookline::order_api::{OrderApi, RetryPolicy};
use hookline::order_state::{MemoryOrderStateStore, OrderStateStore};
use hookline::order_update::OrderUpdate;
use hookline::poller::Poller;
use hookline::poller::transactions::{TransactionsApi, TransactionsPoller};
use hookline::processor::{
    BatchRecord, Processor, ProcessorConfig, RecordOutcome, process_archived_batch,
};
use hookline::providers::ProviderApis;
use hookline::queue::{MemoryQueue, QueuedMessage, SqsQueue};
use hookline::redact::redact;
use hookline::watch::{MemoryWatchStore, WatchStore};
use tokio::time::Instant;

pub const MAX_RECEIVES: u32 = 5;
/// The processor's batch size in the template (`BatchSize` of its ingest event source; the
/// template test checks they agree): the in-memory loop and `hookline bench-cost` use it.
pub const TEMPLATE_BATCH_SIZE: usize = 100;
/// The most messages one SQS receive returns.
const SQS_RECEIVE_MAX: usize = 10;
const REDELIVERY_DELAY: Duration = Duration::from_secs(2);
const IDLE_POLL: Duration = Duration::from_millis(20);
/// The time a local batch gets, as the processor Lambda's timeout.
const BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The processor as the local pipeline runs it: in-memory event store, order state and
/// order-updates queue; the provider APIs at the given bases.
pub type LocalProcessor =
    Processor<MemoryEventStore, MemoryOrderStateStore, ProviderApis, MemoryQueue, MemoryWatchStore>;

/// The processor as `hookline serve --aws-endpoint --with-processor` runs it: the Lambda's
/// stores and queues, on an emulator.
pub type EmulatorProcessor = Processor<
    hookline::idempotency::DynamoEventStore,
    hookline::order_state::DynamoOrderStateStore,
    ProviderApis,
    SqsQueue,
    hookline::watch::DynamoWatchStore,
>;

/// The provider APIs at the given bases, logged in to with the given credentials, for the
/// processor (deliveries); clients made from the same `apis` share their sessions and budgets.
pub fn provider_apis(apis: &[ResolvedApi], policy: RetryPolicy) -> Result<ProviderApis, String> {
    provider_apis_at(apis, policy, Priority::Delivery)
}

/// [`provider_apis`] for the pollers: their requests come after deliveries in the budget.
pub fn poll_apis(apis: &[ResolvedApi], policy: RetryPolicy) -> Result<ProviderApis, String> {
    provider_apis_at(apis, policy, Priority::Poll)
}

fn provider_apis_at(
    apis: &[ResolvedApi],
    policy: RetryPolicy,
    priority: Priority,
) -> Result<ProviderApis, String> {
    apis.iter().try_fold(ProviderApis::default(), |all, api| {
        let all = all.with(api.provider, &api.base, api.token()?, policy.clone())?;
        Ok(match &api.budget {
            Some(budget) => all.budgeted(api.provider, budget.clone(), priority),
            None => all,
        })
    })
}

/// The processor with the provider APIs at the given bases (and credentials).
pub fn local_processor(apis: &[ResolvedApi]) -> Result<LocalProcessor, String> {
    Ok(Processor {
        events: MemoryEventStore::new(),
        states: MemoryOrderStateStore::new(),
        api: provider_apis(apis, RetryPolicy::default())?,
        updates: MemoryQueue::new(),
        credentials: None,
        watches: MemoryWatchStore::new(),
        config: ProcessorConfig::default(),
    })
}

/// What the loop has done so far, for `hookline bench-local`'s audit.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub processed: Arc<AtomicU64>,
    pub duplicates: Arc<AtomicU64>,
    pub dead_lettered: Arc<AtomicU64>,
    pub updates: Arc<AtomicU64>,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Polls the due watches every second, as the scheduled poller does in AWS (whose one-minute
/// runs keep going while watches are due).
pub async fn run_poller<W, A>(poller: Poller<W, A, MemoryQueue>)
where
    W: WatchStore,
    A: OrderApi,
{
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let deadline = Instant::now() + Duration::from_secs(30);
        match poller.poll_due(now, deadline).await {
            Ok(report) if report.rounds > 0 => tracing::info!(
                polled = report.polled,
                changes = report.changes,
                settled = report.settled,
                given_up = report.given_up,
                order_not_found = report.order_not_found,
                failed = report.failed,
                "order poller round"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!(error = %error, "order poller round failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Polls the wallets' transactions every 5 s (every minute in AWS, with the order poller).
pub async fn run_transactions<C, T>(poller: TransactionsPoller<C, T, MemoryQueue>)
where
    C: CursorStore,
    T: TransactionsApi,
{
    loop {
        let report = poller.run(Instant::now() + Duration::from_secs(30)).await;
        if report.movements > 0 || report.failed > 0 {
            tracing::info!(
                movements = report.movements,
                failed = report.failed,
                "wallet transactions polled"
            );
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// The last order updates `hookline serve` published in memory, codes masked as in the logs:
/// what `hookline updates --serve` shows (`GET /_hookline/updates`). Nothing else reads the
/// in-memory order-updates queue.
#[derive(Clone, Debug, Default)]
pub struct RecentUpdates(Arc<std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>>);

impl RecentUpdates {
    /// How many are kept: the oldest go first.
    pub const KEPT: usize = 200;

    fn push(&self, update: serde_json::Value) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == Self::KEPT {
            kept.pop_front();
        }
        kept.push_back(update);
    }

    /// The updates kept, oldest first.
    pub fn snapshot(&self) -> Vec<serde_json::Value> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().cloned().collect()
    }
}

/// Where `serve` shows what the processor did: the recent order updates (`hookline updates`)
/// and the inspector page.
#[derive(Clone)]
pub struct Shown {
    pub recent: RecentUpdates,
    pub inspector: Option<crate::local::inspector::Inspector>,
}

/// Runs forever over in-memory queues. With `shown`, each order update is logged and kept there
/// (codes masked), and each record's outcome goes to the inspector.
pub async fn run_in_memory<E, S, A, W>(
    processor: Processor<E, S, A, MemoryQueue, W>,
    ingest: MemoryQueue,
    archive: Option<Archive>,
    counters: Counters,
    shown: Option<Shown>,
) where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    W: WatchStore,
{
    let mut receives: HashMap<String, u32> = HashMap::new();
    loop {
        let batch = ingest.take(TEMPLATE_BATCH_SIZE);
        if batch.is_empty() {
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        }
        let records = batch
            .iter()
            .map(|m| BatchRecord {
                message_id: m.message_id.clone(),
                body: Some(m.message.body.clone()),
            })
            .collect();
        let results = process_archived_batch(
            &processor,
            archive.as_ref(),
            records,
            Instant::now() + BATCH_TIMEOUT,
        )
        .await;
        let inspector = shown.as_ref().and_then(|s| s.inspector.as_ref());
        for result in &results {
            if let Some(inspector) = inspector {
                inspector.step(
                    &result.message_id,
                    crate::local::inspector::describe(&result.outcome),
                );
            }
            match result.outcome {
                RecordOutcome::Processed { .. } => {
                    counters.processed.fetch_add(1, Ordering::Relaxed)
                }
                RecordOutcome::Duplicate => counters.duplicates.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }
        for message in batch {
            let failed = results
                .iter()
                .any(|r| r.message_id == message.message_id && r.outcome.is_failure());
            let count = receives.entry(message.message_id.clone()).or_insert(0);
            *count += 1;
            if !failed {
                receives.remove(&message.message_id);
            } else if *count >= MAX_RECEIVES {
                tracing::error!(
                    message_id = %message.message_id,
                    receives = *count,
                    "message dead-lettered after repeated failures"
                );
                receives.remove(&message.message_id);
                counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                if let Some(inspector) = inspector {
                    inspector.step(
                        &message.message_id,
                        format!("dead-lettered after {MAX_RECEIVES} receives"),
                    );
                }
            } else {
                let ingest = ingest.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(REDELIVERY_DELAY).await;
                    ingest.requeue(message);
                });
            }
        }
        let published = processor.updates.take(usize::MAX);
        counters
            .updates
            .fetch_add(published.len() as u64, Ordering::Relaxed);
        if let Some(shown) = &shown {
            show(published, shown);
        }
    }
}

/// Logs each order update and keeps it in `recent`, codes masked.
fn show(published: Vec<QueuedMessage>, shown: &Shown) {
    for queued in published {
        match serde_json::from_str::<OrderUpdate>(&queued.message.body) {
            Ok(update) => {
                let masked = serde_json::to_value(&update)
                    .map(|v| redact(&v))
                    .unwrap_or_default();
                tracing::info!(
                    event_id = %update.event_id,
                    update = %masked,
                    "order update"
                );
                if let Some(inspector) = &shown.inspector {
                    inspector.published(&update.event_id, &masked);
                }
                shown.recent.push(masked);
            }
            Err(_) => tracing::warn!("an order update could not be read back"),
        }
    }
}

/// Runs forever on an SQS ingest queue, as Lambda's event source mapping does: batches of up
/// to ten by long polling; the records that succeeded are deleted, the failed ones come back
/// when their visibility timeout ends (and go to the queue's dead-letter queue by its redrive
/// policy). With `inspector`, each record's outcome is shown there (the order updates are on
/// the emulator's queue: `hookline updates`).
pub async fn run_on_sqs<E, S, A, W>(
    processor: Processor<E, S, A, SqsQueue, W>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    archive: Option<Archive>,
    inspector: Option<crate::local::inspector::Inspector>,
) where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    W: WatchStore,
{
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(SQS_RECEIVE_MAX as i32)
            .wait_time_seconds(1)
            .visibility_timeout(BATCH_TIMEOUT.as_secs() as i32)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::error!(
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                    "cannot receive from the ingest queue; retrying"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let records = messages
            .iter()
            .map(|m| BatchRecord {
                message_id: m.message_id.clone().unwrap_or_default(),
                body: m.body.clone(),
            })
            .collect();
        let results = process_archived_batch(
            &processor,
            archive.as_ref(),
            records,
            Instant::now() + BATCH_TIMEOUT,
        )
        .await;
        if let Some(inspector) = &inspector {
            for result in &results {
                inspector.step(
                    &result.message_id,
                    crate::local::inspector::describe(&result.outcome),
                );
            }
        }
        for message in &messages {
            let failed = results.iter().any(|r| {
                Some(&r.message_id) == message.message_id.as_ref() && r.outcome.is_failure()
            });
            let Some(receipt) = message.receipt_handle.as_deref().filter(|_| !failed) else {
                continue;
            };
            if let Err(error) = sqs
                .delete_message()
                .queue_url(&queue_url)
                .receipt_handle(receipt)
                .send()
                .await
            {
                // Delivered again later; the claim makes that a duplicate.
                tracing::warn!(
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                    "cannot delete a processed message"
                );
            }
        }
    }
}
