//! Events driven through a processor the way SQS drives them: a record that fails is delivered
//! again; one whose invocation died comes back after its visibility timeout (by then its lease
//! has run out); after `max_receives` deliveries it moves to the dead-letter queue. Every port
//! is in memory behind a [`Faulty`] wrapper, on a manual clock, so a whole run takes
//! milliseconds and is reproducible.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Faults, Faulty};
use hookline::clock::Clock;
use hookline::idempotency::{EventStore, MemoryEventStore};
use hookline::order_api::{MemoryOrderApi, OrderApi};
use hookline::order_state::{MemoryOrderStateStore, OrderState, OrderStateStore};
use hookline::order_update::OrderUpdate;
use hookline::processor::{Processor, ProcessorConfig};
use hookline::queue::{MemoryQueue, Queue};
use hookline::watch::{EndReason, MemoryWatchStore, WatchStore};

/// The ingest queue's `maxReceiveCount` default in `template.yaml`.
pub const MAX_RECEIVES: u32 = 5;
/// The ingest queue's visibility timeout in `template.yaml`, in seconds (six times the
/// processor's 60-second timeout, as the Lambda guide asks): a redelivery after a failure or a
/// crash comes after the FIFO queue's five-minute deduplication window, so a copy it publishes
/// reaches the consumer. `tests/exactly_once.rs` checks it against the template.
pub const VISIBILITY_TIMEOUT_SECS: i64 = 360;
/// How long one simulated invocation may run (the processor's Lambda timeout).
const INVOCATION: Duration = Duration::from_secs(60);
/// Where the manual clock starts (2026-11-22T10:00:00Z, when the samples were signed).
pub const START: i64 = 1_795_341_600;

pub type RigProcessor = Processor<
    Faulty<MemoryEventStore>,
    Faulty<MemoryOrderStateStore>,
    Faulty<MemoryOrderApi>,
    Faulty<MemoryQueue>,
    Faulty<MemoryWatchStore>,
>;

/// Delivers `body` to `processor` as SQS would, until it is acknowledged or has been received
/// [`MAX_RECEIVES`] times (then it belongs in the dead-letter queue). `clock` is the processor's
/// manual clock: it is moved past the visibility timeout before each redelivery.
pub async fn deliver<E, S, A, U, W>(
    processor: &Processor<E, S, A, U, W>,
    faults: &Faults,
    clock: &Clock,
    body: &str,
) -> Delivered
where
    E: EventStore,
    S: OrderStateStore,
    A: OrderApi,
    U: Queue,
    W: WatchStore,
{
    for receive in 1..=MAX_RECEIVES {
        faults.restart();
        let deadline = Instant::now() + INVOCATION;
        let (_, outcome) = processor.process(body, deadline).await;
        let died = faults.crashed();
        if !died && !outcome.is_failure() {
            return Delivered::Acknowledged { receives: receive };
        }
        // Died (nothing reported) or a batch item failure: SQS shows the message again once
        // its visibility timeout has passed; a lease left behind is over by then.
        clock.advance(VISIBILITY_TIMEOUT_SECS);
    }
    faults.restart();
    Delivered::DeadLettered
}

/// One world: the stores, the provider API, the order-updates queue and the DLQ.
#[derive(Debug)]
pub struct Rig {
    pub clock: Clock,
    pub events: MemoryEventStore,
    pub states: MemoryOrderStateStore,
    pub api: MemoryOrderApi,
    pub updates: MemoryQueue,
    pub watches: MemoryWatchStore,
    dead_letters: Mutex<Vec<String>>,
}

/// What became of one delivered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Acknowledged after this many deliveries.
    Acknowledged {
        receives: u32,
    },
    DeadLettered,
}

impl Rig {
    /// A world whose provider API answers as `api` does.
    pub fn new(api: MemoryOrderApi) -> Self {
        let clock = Clock::manual(START);
        Self {
            clock: clock.clone(),
            events: MemoryEventStore::new(),
            states: MemoryOrderStateStore::new(),
            api,
            // FIFO, on the run's clock: what it holds is what the consumer receives.
            updates: MemoryQueue::fifo(clock),
            watches: MemoryWatchStore::new(),
            dead_letters: Mutex::new(Vec::new()),
        }
    }

    /// A processor on this world whose every call goes through `faults`.
    pub fn processor(&self, faults: &Faults) -> RigProcessor {
        Processor {
            events: Faulty::new(self.events.clone(), faults),
            states: Faulty::new(self.states.clone(), faults),
            api: Faulty::new(self.api.clone(), faults),
            updates: Faulty::new(self.updates.clone(), faults),
            credentials: None,
            watches: Faulty::new(self.watches.clone(), faults),
            config: ProcessorConfig {
                clock: self.clock.clone(),
                publish_retry_pause: std::time::Duration::ZERO,
                ..ProcessorConfig::default()
            },
        }
    }

    /// Delivers `body` until it is acknowledged or dead-lettered.
    pub async fn deliver(
        &self,
        processor: &RigProcessor,
        faults: &Faults,
        body: &str,
    ) -> Delivered {
        let delivered = deliver(processor, faults, &self.clock, body).await;
        if delivered == Delivered::DeadLettered {
            self.dead_letters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(body.to_string());
        }
        delivered
    }

    /// Everything a run leaves behind, for comparing it with another run.
    pub fn end_state(&self) -> EndState {
        let mut updates: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for queued in self.updates.messages() {
            let message = queued.message;
            let id = message.deduplication_id.unwrap_or_default();
            updates.entry(id).or_default().push(message.body);
        }
        let mut dead_letters = self
            .dead_letters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        dead_letters.sort();
        EndState {
            states: self.states.snapshot(),
            changes: self
                .states
                .snapshot()
                .iter()
                .map(|s| {
                    let key = s.order.state_key();
                    (key.clone(), self.states.changes(&key))
                })
                .collect(),
            wallet_movements: self.states.wallet_movements(),
            updates,
            watches: self.watches.snapshot(),
            dead_letters,
        }
    }
}

/// The observable end of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct EndState {
    pub states: Vec<OrderState>,
    pub changes: BTreeMap<String, Vec<(String, String)>>,
    pub wallet_movements: usize,
    /// Order updates by deduplication id: every copy's body.
    pub updates: BTreeMap<String, Vec<String>>,
    pub watches: Vec<(String, Option<EndReason>)>,
    pub dead_letters: Vec<String>,
}

impl EndState {
    /// How `self` (a run with faults) departs from `expected` (the fault-free run): empty when
    /// the guarantees held. Copies of one update are allowed only under one deduplication id,
    /// and equal in what they say.
    pub fn violations(&self, expected: &EndState) -> Vec<String> {
        let mut found = Vec::new();
        // A polled change's time is when a poll saw it: a retry that delays the next poll moves it.
        let comparable = |states: &[OrderState]| {
            let mut states = states.to_vec();
            for state in &mut states {
                if state.last_event_id.starts_with("poll_") {
                    state.last_event_at = 0;
                }
            }
            states
        };
        if comparable(&self.states) != comparable(&expected.states) {
            found.push(format!(
                "final order states differ: {:?} vs {:?}",
                summary(&self.states),
                summary(&expected.states)
            ));
        }
        if self.changes != expected.changes {
            found.push("recorded changes differ".into());
        }
        if self.wallet_movements != expected.wallet_movements {
            found.push(format!(
                "wallet movements: {} vs {}",
                self.wallet_movements, expected.wallet_movements
            ));
        }
        let ids = |s: &EndState| s.updates.keys().cloned().collect::<Vec<_>>();
        if ids(self) != ids(expected) {
            found.push(format!(
                "published updates differ: {} ids vs {} expected (missing {:?}, extra {:?})",
                self.updates.len(),
                expected.updates.len(),
                expected
                    .updates
                    .keys()
                    .filter(|k| !self.updates.contains_key(*k))
                    .map(|k| short(k))
                    .collect::<Vec<_>>(),
                self.updates
                    .keys()
                    .filter(|k| !expected.updates.contains_key(*k))
                    .map(|k| short(k))
                    .collect::<Vec<_>>()
            ));
        }
        for (id, copies) in &self.updates {
            let said: Vec<String> = copies.iter().map(|b| what_it_says(b)).collect();
            if said.iter().any(|s| *s != said[0]) {
                found.push(format!("copies of update {} differ", short(id)));
            }
            if let Some(first) = expected.updates.get(id).and_then(|c| c.first())
                && what_it_says(first) != said[0]
            {
                found.push(format!("update {} says something else", short(id)));
            }
        }
        let live = |s: &EndState| s.watches.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        if live(self) != live(expected) {
            found.push(format!(
                "watches differ: {:?} vs {:?}",
                self.watches, expected.watches
            ));
        }
        if self.dead_letters != expected.dead_letters {
            found.push(format!(
                "dead letters: {} vs {} expected",
                self.dead_letters.len(),
                expected.dead_letters.len()
            ));
        }
        found
    }

    /// Copies beyond the first, over all updates.
    pub fn repeated_copies(&self) -> usize {
        self.updates.values().map(|c| c.len() - 1).sum()
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn summary(states: &[OrderState]) -> Vec<String> {
    states
        .iter()
        .map(|s| format!("{}={}", s.order.state_key(), s.change_key()))
        .collect()
}

/// What an order update tells downstream about its change, leaving out what may differ
/// between two sends of it: `current` is as of the send (a later change may have been recorded
/// in between), `order` is the provider's order as fetched for that send (an eSIM installed
/// in between), and a polled change's `occurred_at` is when a poll saw it (a poll that resends
/// it after a failure saw it later). Copies under one deduplication id must agree on the rest.
pub fn what_it_says(body: &str) -> String {
    match serde_json::from_str::<OrderUpdate>(body) {
        Ok(mut update) => {
            update.current = true;
            update.order = update.order.map(|_| serde_json::Value::Null);
            if update.event_id.starts_with("poll_") {
                update.occurred_at.clear();
            }
            serde_json::to_string(&update).unwrap_or_default()
        }
        Err(_) => body.to_string(),
    }
}
