//! Failure injection at every call of every port, after deterministic simulation testing: a
//! [`Faults`] schedule shared by [`Faulty`] wrappers of the event store, the order-state store,
//! the order API, the queues, the watch store, the archive, the cursors and the wallet
//! Transactions API.
//!
//! Each call is a numbered step. At the chosen step (or at random, from a seed) the call:
//! - [`FaultKind::FailBefore`]: fails without its effect (a throttle, an unreachable endpoint);
//! - [`FaultKind::FailAfter`]: takes effect, then its answer is lost (a timeout after the write);
//! - [`FaultKind::Crash`]: takes effect, then the process dies: this call and every later one in
//!   the invocation fail without effect, nothing is released, the lease is left behind.
//!
//! [`harness`] drives events through a processor the way SQS would (redelivery, lease expiry,
//! dead-letter queue); [`storm`] is the seeded randomised run.

pub mod harness;
pub mod storm;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::time::Instant;

use futures::future::BoxFuture;

use hookline::archive::{ArchiveBackend, ArchiveError, ArchiveStore};
use hookline::cursor::CursorStore;
use hookline::idempotency::{Claim, ClaimRequest, EventStore};
use hookline::order::OrderRef;
use hookline::order_api::{FetchError, OrderApi};
use hookline::order_state::{
    OrderState, OrderStateStore, OrderWrite, Publication, StateWrite, WalletMovement,
};
use hookline::poller::transactions::TransactionsApi;
use hookline::queue::{OutgoingMessage, Queue, QueueError};
use hookline::store::StoreError;
use hookline::watch::{EndReason, Registration, Watch, WatchStore};

/// How an injected fault behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    FailBefore,
    FailAfter,
    Crash,
}

impl FaultKind {
    pub const ALL: [FaultKind; 3] = [Self::FailBefore, Self::FailAfter, Self::Crash];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailBefore => "fail-before",
            Self::FailAfter => "fail-after",
            Self::Crash => "crash",
        }
    }
}

/// What one call does under the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Run,
    /// Fail without the effect.
    Refuse,
    /// Take effect, then fail.
    LoseAnswer,
}

#[derive(Debug, Default)]
struct Schedule {
    calls: u64,
    /// One fault at one step, counted from the start.
    at: Option<(u64, FaultKind)>,
    /// Or faults at random: the generator and the share of calls that fail.
    random: Option<(fastrand::Rng, f64)>,
    crashed: bool,
    /// Every call so far: its name and the fault it got.
    log: Vec<(&'static str, Option<FaultKind>)>,
}

/// A fault schedule, shared by every wrapper of one simulated process. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    schedule: Arc<Mutex<Schedule>>,
}

impl Faults {
    /// No faults: every call runs (the fault-free run, and counting its steps).
    pub fn none() -> Self {
        Self::default()
    }

    /// One fault of `kind` at call number `step` (0-based).
    pub fn at(step: u64, kind: FaultKind) -> Self {
        let faults = Self::default();
        faults.lock().at = Some((step, kind));
        faults
    }

    /// Each call fails with probability `rate`, of a kind drawn at random; reproducible from
    /// `seed`.
    pub fn random(seed: u64, rate: f64) -> Self {
        let faults = Self::default();
        faults.lock().random = Some((fastrand::Rng::with_seed(seed), rate));
        faults
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// The names of the calls made so far, in order.
    pub fn call_names(&self) -> Vec<&'static str> {
        self.lock().log.iter().map(|(name, _)| *name).collect()
    }

    /// Faults injected so far.
    pub fn injected(&self) -> usize {
        self.lock().log.iter().filter(|(_, f)| f.is_some()).count()
    }

    /// Crash faults injected so far.
    pub fn crashes(&self) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|(_, f)| *f == Some(FaultKind::Crash))
            .count()
    }

    /// True once a crash fault fired and no restart followed.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// A new process replaces the crashed one (the next invocation).
    pub fn restart(&self) {
        self.lock().crashed = false;
    }

    fn lock(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn step(&self, name: &'static str) -> Step {
        let mut schedule = self.lock();
        if schedule.crashed {
            // A dead process makes no calls: nothing it "does" takes effect.
            schedule.log.push((name, None));
            return Step::Refuse;
        }
        let call = schedule.calls;
        schedule.calls += 1;
        let mut fault = schedule
            .at
            .filter(|(step, _)| *step == call)
            .map(|(_, kind)| kind);
        if let Some((rng, rate)) = &mut schedule.random
            && rng.f64() < *rate
        {
            fault = Some(FaultKind::ALL[rng.usize(..FaultKind::ALL.len())]);
        }
        schedule.log.push((name, fault));
        match fault {
            None => Step::Run,
            Some(FaultKind::FailBefore) => Step::Refuse,
            Some(FaultKind::FailAfter) => Step::LoseAnswer,
            Some(FaultKind::Crash) => {
                schedule.crashed = true;
                Step::LoseAnswer
            }
        }
    }
}

/// A port wrapped in a fault schedule.
#[derive(Clone, Debug)]
pub struct Faulty<T> {
    pub inner: T,
    pub faults: Faults,
}

impl<T> Faulty<T> {
    pub fn new(inner: T, faults: &Faults) -> Self {
        Self {
            inner,
            faults: faults.clone(),
        }
    }
}

/// Runs `call` under the schedule, turning a refused or lost answer into `injected`.
macro_rules! faulty {
    ($self:ident, $name:literal, $injected:expr, $call:expr) => {
        match $self.faults.step($name) {
            Step::Run => $call.await,
            Step::Refuse => Err($injected),
            Step::LoseAnswer => {
                let _ = $call.await;
                Err($injected)
            }
        }
    };
}

fn archive_fault(call: &str) -> ArchiveError {
    ArchiveError::Unavailable(format!("injected fault at {call}"))
}

/// The archive under the schedule: writes fail or lose their answer; reads (the tests' own
/// checks) always run.
impl ArchiveBackend for Faulty<ArchiveStore> {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), ArchiveError>> {
        Box::pin(async move {
            faulty!(
                self,
                "archive.put",
                archive_fault("archive.put"),
                self.inner.put(key, bytes)
            )
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, ArchiveError>> {
        Box::pin(self.inner.list(prefix))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, ArchiveError>> {
        Box::pin(self.inner.get(key))
    }
}

fn store_fault(call: &str) -> StoreError {
    StoreError::Unavailable(format!("injected fault at {call}"))
}

impl<T: EventStore> EventStore for Faulty<T> {
    async fn claim(&self, request: &ClaimRequest) -> Result<Claim, StoreError> {
        faulty!(
            self,
            "claim",
            store_fault("claim"),
            self.inner.claim(request)
        )
    }

    async fn complete(&self, key: &str, lease_token: &str, now: i64) -> Result<bool, StoreError> {
        faulty!(
            self,
            "complete",
            store_fault("complete"),
            self.inner.complete(key, lease_token, now)
        )
    }

    async fn release(&self, key: &str, lease_token: &str) -> Result<(), StoreError> {
        faulty!(
            self,
            "release",
            store_fault("release"),
            self.inner.release(key, lease_token)
        )
    }
}

impl<T: OrderStateStore> OrderStateStore for Faulty<T> {
    async fn record_order(
        &self,
        state: &OrderState,
        publication: Publication,
    ) -> Result<OrderWrite, StoreError> {
        faulty!(
            self,
            "record_order",
            store_fault("record_order"),
            self.inner.record_order(state, publication)
        )
    }

    async fn record_wallet(&self, movement: &WalletMovement) -> Result<StateWrite, StoreError> {
        faulty!(
            self,
            "record_wallet",
            store_fault("record_wallet"),
            self.inner.record_wallet(movement)
        )
    }
}

impl<T: OrderApi> OrderApi for Faulty<T> {
    async fn fetch(&self, order: &OrderRef, deadline: Instant) -> Result<Value, FetchError> {
        faulty!(
            self,
            "fetch",
            FetchError::Transport("injected fault at fetch".into()),
            self.inner.fetch(order, deadline)
        )
    }
}

impl<T: Queue> Queue for Faulty<T> {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, QueueError> {
        faulty!(
            self,
            "send",
            QueueError::Unavailable("injected fault at send".into()),
            self.inner.send(message)
        )
    }
}

impl<T: CursorStore> CursorStore for Faulty<T> {
    async fn get(&self, key: &str) -> Result<Option<i64>, StoreError> {
        faulty!(
            self,
            "cursor.get",
            store_fault("cursor.get"),
            self.inner.get(key)
        )
    }

    async fn advance(&self, key: &str, from: Option<i64>, to: i64) -> Result<bool, StoreError> {
        faulty!(
            self,
            "cursor.advance",
            store_fault("cursor.advance"),
            self.inner.advance(key, from, to)
        )
    }
}

impl<T: TransactionsApi> TransactionsApi for Faulty<T> {
    async fn page(
        &self,
        wallet: u64,
        page: u32,
        deadline: Instant,
    ) -> Result<(Vec<Value>, bool), FetchError> {
        faulty!(
            self,
            "transactions.page",
            FetchError::Transport("injected fault at transactions.page".into()),
            self.inner.page(wallet, page, deadline)
        )
    }
}

impl<T: WatchStore> WatchStore for Faulty<T> {
    async fn register(&self, watch: &Watch) -> Result<Registration, StoreError> {
        faulty!(
            self,
            "watch_register",
            store_fault("watch_register"),
            self.inner.register(watch)
        )
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<Watch>, StoreError> {
        faulty!(
            self,
            "watch_due",
            store_fault("watch_due"),
            self.inner.due(now, limit)
        )
    }

    async fn lease(&self, watch: &Watch, until: i64) -> Result<bool, StoreError> {
        faulty!(
            self,
            "watch_lease",
            store_fault("watch_lease"),
            self.inner.lease(watch, until)
        )
    }

    async fn save(&self, watch: &Watch) -> Result<(), StoreError> {
        faulty!(
            self,
            "watch_save",
            store_fault("watch_save"),
            self.inner.save(watch)
        )
    }

    async fn rearm(&self, order: &OrderRef, now: i64, give_up_at: i64) -> Result<bool, StoreError> {
        faulty!(
            self,
            "watch_rearm",
            store_fault("watch_rearm"),
            self.inner.rearm(order, now, give_up_at)
        )
    }

    async fn end(&self, watch: &Watch, reason: EndReason) -> Result<(), StoreError> {
        faulty!(
            self,
            "watch_end",
            store_fault("watch_end"),
            self.inner.end(watch, reason)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline::queue::MemoryQueue;

    fn message() -> OutgoingMessage {
        OutgoingMessage {
            body: "m".into(),
            attributes: vec![],
            group_id: None,
            deduplication_id: None,
        }
    }

    #[tokio::test]
    async fn each_kind_does_what_it_says() {
        for (kind, effect, dead_after) in [
            (FaultKind::FailBefore, 0, false),
            (FaultKind::FailAfter, 1, false),
            (FaultKind::Crash, 1, true),
        ] {
            let queue = MemoryQueue::new();
            let faults = Faults::at(0, kind);
            let faulty = Faulty::new(queue.clone(), &faults);
            assert!(faulty.send(&message()).await.is_err(), "{kind:?}");
            assert_eq!(queue.len(), effect, "{kind:?}: effect");
            // The next call: runs, unless the process died.
            let next = faulty.send(&message()).await;
            assert_eq!(next.is_err(), dead_after, "{kind:?}: after");
            assert_eq!(faults.crashed(), dead_after);
            faults.restart();
            assert!(faulty.send(&message()).await.is_ok());
        }
    }

    #[tokio::test]
    async fn a_random_schedule_is_reproducible_from_its_seed() {
        let run = |seed| async move {
            let faults = Faults::random(seed, 0.3);
            let faulty = Faulty::new(MemoryQueue::new(), &faults);
            let mut results = Vec::new();
            for _ in 0..50 {
                results.push(faulty.send(&message()).await.is_ok());
                faults.restart();
            }
            results
        };
        assert_eq!(run(7).await, run(7).await);
        assert_ne!(run(7).await, run(8).await);
    }
}
