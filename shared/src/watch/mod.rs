//! Watches: orders polled where webhooks do not reach (which ones, per provider, is the
//! provider's watch rules in the registry: today Octopus eSIM orders and voucher orders whose
//! failure or cancellation fires no webhook). A watch is polled on the provider's documented
//! cadence; each status change it sees becomes a synthetic event on the ingest queue, so dedupe,
//! state, order updates and metrics work as for webhooks.
//!
//! - [`Watch`]: one watched order and what was last seen of it.
//! - [`cadence`]: when to poll next (pure).
//! - [`Observation`]: which events a fetched order calls for, as the provider's watch rules
//!   (its module under [`providers`](crate::providers)) read it.
//! - [`WatchStore`]: DynamoDB and in-memory; due watches are found through an index, never a scan.
//! - [`poller`](crate::poller): one scheduled run, and registration.

pub mod cadence;
mod dynamodb;
mod memory;

use std::future::Future;

pub use dynamodb::{DUE_INDEX, DynamoWatchStore};
pub use memory::MemoryWatchStore;

use crate::store::StoreError;

/// Default time after which a watch gives up: a day.
pub const DEFAULT_GIVE_UP_SECS: i64 = 24 * 3600;
/// Default bound on the polls of one eSIM's install phase (`EsimInstallMaxPolls`): its
/// cadence ([`cadence`]) makes about 27 in 24 hours for an eSIM never installed.
pub const DEFAULT_MAX_INSTALL_POLLS: u32 = 30;
use crate::order::OrderRef;

/// What is polled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Until the order is delivered, failed or cancelled.
    Fulfilment,
    /// eSIM after delivery: until installed and activated.
    Install,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fulfilment => "FULFILMENT",
            Self::Install => "INSTALL",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "FULFILMENT" => Some(Self::Fulfilment),
            "INSTALL" => Some(Self::Install),
            _ => None,
        }
    }
}

/// One watched order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub order: OrderRef,
    pub client_reference: Option<String>,
    pub phase: Phase,
    /// The last status an event was enqueued for (`None` before the first change).
    pub last_status: Option<String>,
    /// Voucher orders: the delivered quantity last reported.
    pub last_delivered: Option<i64>,
    /// eSIM: `esim.installed` / `esim.activated` enqueued.
    pub installed: bool,
    pub activated: bool,
    /// Epoch seconds.
    pub created_at: i64,
    pub phase_started_at: i64,
    pub next_poll_at: i64,
    /// When the watch ends even if the order never settles.
    pub give_up_at: i64,
    pub polls: u32,
    /// Successful polls since the current phase began (bounded in the install phase).
    pub phase_polls: u32,
    /// Consecutive failed polls, for the backoff.
    pub failures: u32,
    /// Set by the poller once it holds the watch's lease (until then, by its `next_poll_at`):
    /// a save or end then writes only if the stored watch is still as leased, so a re-arm
    /// made while the poll ran is never overwritten. Not stored.
    pub leased_until: Option<i64>,
}

impl Watch {
    /// A new watch, due now.
    pub fn new(
        order: OrderRef,
        client_reference: Option<String>,
        now: i64,
        give_up_after: i64,
    ) -> Self {
        Self {
            order,
            client_reference,
            phase: Phase::Fulfilment,
            last_status: None,
            last_delivered: None,
            installed: false,
            activated: false,
            created_at: now,
            phase_started_at: now,
            next_poll_at: now,
            give_up_at: now.saturating_add(give_up_after),
            polls: 0,
            phase_polls: 0,
            failures: 0,
            leased_until: None,
        }
    }

    /// The table key: `WATCH#{provider}#{kind}#{order_id}`.
    pub fn key(&self) -> String {
        watch_key(&self.order)
    }
}

pub fn watch_key(order: &OrderRef) -> String {
    format!("WATCH#{}#{}#{}", order.provider, order.kind, order.order_id)
}

/// Why a watch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The order reached a state after which nothing more is watched for.
    Settled,
    /// The give-up time passed first. Counted (`WatchesGivenUp`) and logged.
    GaveUp,
    /// The provider's API answered 404 for an order it never showed: [`UNKNOWN_ORDER_POLLS`]
    /// failed polls in a row, the last a 404. Counted (`WatchesOrderNotFound`) and logged;
    /// registering the order again watches it anew.
    OrderNotFound,
}

/// Failed polls in a row, the last a 404, after which a watch whose order was never found ends
/// as [`EndReason::OrderNotFound`] rather than being polled until its give-up time (a day).
/// Assumption, as no provider page says how soon a new order is served: an order id is given
/// out when the order exists, so three polls over about 45 s (15 s, then 30 s apart) cover a
/// lagging read. Nor do Octopus' pages say what an unknown order id answers: 404 is assumed, as
/// the stand-in API answers (docs/src/polling.md).
pub const UNKNOWN_ORDER_POLLS: u32 = 3;

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settled => "SETTLED",
            Self::GaveUp => "GAVE_UP",
            Self::OrderNotFound => "ORDER_NOT_FOUND",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    Registered,
    /// Registering is idempotent: the order was watched already (or was, and ended).
    AlreadyWatched,
}

/// Where watches live.
pub trait WatchStore: Send + Sync {
    /// Adds a watch unless one exists for the order.
    fn register(
        &self,
        watch: &Watch,
    ) -> impl Future<Output = Result<Registration, StoreError>> + Send;

    /// Up to `limit` active watches whose `next_poll_at` has come, soonest first.
    fn due(
        &self,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Watch>, StoreError>> + Send;

    /// Takes a due watch for one poll: moves its `next_poll_at` to `until` if it is still what
    /// `watch` says. False when another poller took it first.
    fn lease(
        &self,
        watch: &Watch,
        until: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores the watch after a poll; with [`Watch::leased_until`], only if the stored watch is
    /// still as leased (else it changed meanwhile, a re-arm, and is left as it is).
    fn save(&self, watch: &Watch) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Re-arms an eSIM's install watch (the customer says they installed it): the install
    /// phase starts over at `now` (its fast cadence and its poll budget), due now, ending at
    /// `give_up_at`, whether it was backing off or had given up. False when the order has no
    /// such watch: none, not in the install phase, activated, or settled.
    fn rearm(
        &self,
        order: &OrderRef,
        now: i64,
        give_up_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends the watch: it is never due again; the item expires later. Conditional on the lease
    /// as [`save`](Self::save).
    fn end(
        &self,
        watch: &Watch,
        reason: EndReason,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One event a poll found.
#[derive(Clone, Debug, PartialEq)]
pub struct PolledEvent {
    pub event_id: String,
    pub event_type: String,
    /// The webhook-shaped body: `{id, type, source: "poll", data}`; the same bytes for the same
    /// id, whenever polled. The processor takes the time from the ingest message.
    pub body: String,
}

/// What a poll concluded.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// In the order they happened.
    pub events: Vec<PolledEvent>,
    /// The watch as it stands once the events are enqueued.
    pub watch: Watch,
    /// Nothing more to watch for.
    pub settled: bool,
}
