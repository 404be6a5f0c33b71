//! One scheduled run of the order poller: takes the due watches, fetches each order (bounded
//! concurrency, the provider's 429s honoured, never past the invocation's deadline), enqueues an
//! event for each change, and schedules the next poll.
//!
//! A run lasts until nothing more is due before its deadline, so the 10-second cadence of an
//! eSIM's first minute is kept within a one-minute schedule; when nothing is due soon, it ends at
//! once. A change is recorded on the watch only after the ingest queue took its event: if the
//! queue refuses, the next poll sees the change again and enqueues the same event id.

pub mod lambda;
pub mod metrics;
pub mod registration;
pub mod transactions;

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::message::QueueMessage;
use crate::order_api::{FetchError, OrderApi};
use crate::queue::Queue;
use crate::store::StoreError;
use crate::watch::cadence::{backoff, interval};
use crate::watch::{EndReason, Phase, Watch, WatchStore};

#[derive(Clone, Debug)]
pub struct PollerConfig {
    /// Due watches taken per round.
    pub batch: usize,
    /// Orders fetched at once.
    pub concurrency: usize,
    /// How long a taken watch is reserved for this run (so an overlapping run skips it).
    pub lease: Duration,
    /// Work stops this long before the invocation's deadline.
    pub margin: Duration,
    /// Poll times and lease ends are read from it (manual in tests).
    pub clock: Clock,
    /// Polls of one eSIM's install phase after which its watch ends (until re-armed).
    pub max_install_polls: u32,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            concurrency: 8,
            lease: Duration::from_secs(120),
            margin: Duration::from_secs(8),
            clock: Clock::system(),
            max_install_polls: crate::watch::DEFAULT_MAX_INSTALL_POLLS,
        }
    }
}

impl PollerConfig {
    /// The configuration `env` asks for, the defaults where it is silent.
    pub fn from_env(env: &crate::config::PollerEnv) -> Self {
        let defaults = Self::default();
        Self {
            max_install_polls: env.max_install_polls.unwrap_or(defaults.max_install_polls),
            ..defaults
        }
    }
}

/// What a run did, for the log and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Orders fetched successfully.
    pub polled: u64,
    /// Events enqueued for status changes.
    pub changes: u64,
    /// Watches ended because their order settled.
    pub settled: u64,
    /// Watches ended at their give-up time.
    pub given_up: u64,
    /// Watches ended because the provider does not know their order.
    pub order_not_found: u64,
    /// Polls that failed (provider or queue) and were rescheduled.
    pub failed: u64,
    pub rounds: u64,
}

impl PollReport {
    fn merge(&mut self, other: &PollReport) {
        self.polled += other.polled;
        self.changes += other.changes;
        self.settled += other.settled;
        self.given_up += other.given_up;
        self.order_not_found += other.order_not_found;
        self.failed += other.failed;
        self.rounds += other.rounds;
    }

    fn add(&mut self, outcome: &PollOutcome) {
        match outcome {
            PollOutcome::Polled { changes, settled } => {
                self.polled += 1;
                self.changes += *changes as u64;
                self.settled += u64::from(*settled);
            }
            PollOutcome::GaveUp => self.given_up += 1,
            PollOutcome::OrderNotFound => self.order_not_found += 1,
            PollOutcome::Failed => self.failed += 1,
            PollOutcome::Skipped => {}
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PollOutcome {
    Polled {
        changes: usize,
        settled: bool,
    },
    GaveUp,
    /// The provider does not know the order: the watch ended.
    OrderNotFound,
    Failed,
    /// Another run holds the watch.
    Skipped,
}

pub struct Poller<W, A, Q> {
    pub watches: W,
    pub api: A,
    pub ingest: Q,
    pub config: PollerConfig,
}

impl<W: WatchStore, A: OrderApi, Q: Queue> Poller<W, A, Q> {
    /// Polls until nothing more is due before `deadline`.
    pub async fn run(&self, deadline: Instant) -> Result<PollReport, StoreError> {
        let stop = deadline.checked_sub(self.config.margin).unwrap_or(deadline);
        let mut report = PollReport::default();
        loop {
            let now = self.config.clock.now_unix();
            let round = self.poll_due(now, stop).await?;
            if round.rounds > 0 {
                report.merge(&round);
                // All taken by another run, or the index has not caught up with our own
                // writes yet (it is eventually consistent): give it a moment.
                if round.polled + round.failed + round.given_up + round.order_not_found == 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                if Instant::now() >= stop {
                    return Ok(report);
                }
                continue;
            }
            // Nothing due now: wait for the next watch due before this run must end, if any.
            let left = stop.saturating_duration_since(Instant::now()).as_secs();
            let horizon = now + i64::try_from(left).unwrap_or(0);
            let Some(next) = self.watches.due(horizon, 1).await?.into_iter().next() else {
                return Ok(report);
            };
            let wait = u64::try_from(next.next_poll_at - now).unwrap_or(0).max(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    /// One round at time `now` (epoch seconds): polls the watches due then, at most
    /// `config.batch`, `config.concurrency` at once.
    pub async fn poll_due(&self, now: i64, deadline: Instant) -> Result<PollReport, StoreError> {
        let mut report = PollReport::default();
        let due = self.watches.due(now, self.config.batch).await?;
        if due.is_empty() {
            return Ok(report);
        }
        report.rounds = 1;
        let outcomes: Vec<PollOutcome> = futures::stream::iter(due)
            .map(|watch| self.poll(watch, now, deadline))
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        outcomes.iter().for_each(|o| report.add(o));
        Ok(report)
    }

    async fn poll(&self, watch: Watch, now: i64, deadline: Instant) -> PollOutcome {
        let result = self.poll_watch(&watch, now, deadline).await;
        match result {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(order_id = %watch.order.order_id, error = %error, "watch could not be updated; it is polled again when its lease ends");
                PollOutcome::Failed
            }
        }
    }

    async fn poll_watch(
        &self,
        watch: &Watch,
        now: i64,
        deadline: Instant,
    ) -> Result<PollOutcome, StoreError> {
        let order = &watch.order;
        if now >= watch.give_up_at {
            tracing::warn!(
                provider = %order.provider,
                order_kind = %order.kind,
                order_id = %order.order_id,
                last_status = ?watch.last_status,
                polls = watch.polls,
                "watch gave up: the order did not settle before its give-up time"
            );
            self.watches.end(watch, EndReason::GaveUp).await?;
            return Ok(PollOutcome::GaveUp);
        }
        let Some(rules) = crate::providers::Provider::of_event(&order.provider)
            .and_then(|p| p.spec().watch.as_ref())
        else {
            // Registration refuses such a watch; one left from an older release is ended.
            tracing::error!(provider = %order.provider, "no watch rules for this provider; watch ended");
            self.watches.end(watch, EndReason::GaveUp).await?;
            return Ok(PollOutcome::GaveUp);
        };
        let lease_until = now + i64::try_from(self.config.lease.as_secs()).unwrap_or(120);
        if !self.watches.lease(watch, lease_until).await? {
            return Ok(PollOutcome::Skipped);
        }
        let mut next = watch.clone();
        next.next_poll_at = lease_until;
        next.leased_until = Some(lease_until);
        let fetched = self.api.fetch(order, deadline).await;
        let fetched = match fetched {
            Ok(fetched) => fetched,
            // No room in the API's budget for a poll now: polled when the next slice opens,
            // not counted as a failure, never dropped.
            Err(FetchError::Deferred { wait }) => {
                next.next_poll_at = now + i64::try_from(wait.as_secs()).unwrap_or(60).max(1);
                tracing::info!(
                    order_kind = %order.kind,
                    order_id = %order.order_id,
                    retry_in_s = next.next_poll_at - now,
                    "order poll deferred by the API's request budget"
                );
                self.watches.save(&next).await?;
                return Ok(PollOutcome::Skipped);
            }
            Err(error) => {
                let retry_after = match &error {
                    FetchError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                next.failures = next.failures.saturating_add(1);
                if error == (FetchError::Status { status: 404 })
                    && watch.polls == 0
                    && next.failures >= crate::watch::UNKNOWN_ORDER_POLLS
                {
                    tracing::warn!(
                        provider = %order.provider,
                        order_kind = %order.kind,
                        order_id = %order.order_id,
                        failures = next.failures,
                        "watch ended: the provider does not know this order (404, never found); register it again once it exists"
                    );
                    self.watches.end(&next, EndReason::OrderNotFound).await?;
                    return Ok(PollOutcome::OrderNotFound);
                }
                next.next_poll_at = now + backoff(next.failures, retry_after);
                tracing::warn!(
                    order_kind = %order.kind,
                    order_id = %order.order_id,
                    reason = error.metric_reason(),
                    error = %error,
                    failures = next.failures,
                    retry_in_s = next.next_poll_at - now,
                    "order poll failed; retried later"
                );
                self.watches.save(&next).await?;
                return Ok(PollOutcome::Failed);
            }
        };
        let observation = (rules.observe)(watch, &fetched, now);
        for event in &observation.events {
            let message = QueueMessage::new(
                &order.provider,
                &event.event_id,
                &event.event_type,
                self.config.clock.now_utc(),
                event.body.clone(),
            )
            .polled()
            .encode();
            if let Err(error) = self.ingest.send(&message).await {
                next.failures = next.failures.saturating_add(1);
                next.next_poll_at = now + backoff(next.failures, None);
                tracing::error!(order_id = %order.order_id, error = %error, "status change not enqueued; the next poll sends it again");
                self.watches.save(&next).await?;
                return Ok(PollOutcome::Failed);
            }
            tracing::info!(
                order_kind = %order.kind,
                order_id = %order.order_id,
                event_id = %event.event_id,
                event_type = %event.event_type,
                "status change found by polling; enqueued"
            );
        }
        let mut next = observation.watch;
        next.leased_until = Some(lease_until);
        next.polls = next.polls.saturating_add(1);
        // The poll that found the phase change belongs to the phase before.
        next.phase_polls = match next.phase == watch.phase {
            true => next.phase_polls.saturating_add(1),
            false => 0,
        };
        next.failures = 0;
        if observation.settled {
            self.watches.end(&next, EndReason::Settled).await?;
        } else if next.phase == Phase::Install && next.phase_polls >= self.config.max_install_polls
        {
            tracing::warn!(
                order_kind = %order.kind,
                order_id = %order.order_id,
                polls = next.phase_polls,
                "eSIM not installed after its install-poll budget; watch ended (registering the order again re-arms it)"
            );
            self.watches.end(&next, EndReason::GaveUp).await?;
            return Ok(PollOutcome::GaveUp);
        } else {
            next.next_poll_at = now + interval(&next, now);
            self.watches.save(&next).await?;
        }
        Ok(PollOutcome::Polled {
            changes: observation.events.len(),
            settled: observation.settled,
        })
    }
}
