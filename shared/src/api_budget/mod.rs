//! The request budget of a provider API, shared by every caller in every container.
//!
//! Octopus allows 300 GET requests a minute in production and 600 in sandbox, per client
//! account, in rolling windows ("Best Practices: Rate limits"), and every processor container,
//! the order poller and the wallet reads draw on that one budget. Each GET first takes a permit
//! here; the permits are counted per slice of time in one item of the events table
//! (`BUDGET#{provider}`, conditional updates), so the total holds however far the functions scale
//! out.
//!
//! - **Rolling-window safe.** A minute is cut into `slices` slices and each slice allows
//!   `limit / (slices + 1)` requests: any 60-second window overlaps at most `slices + 1` slices,
//!   so it never sees more than `limit` (with 6 slices of 10 s: 85 a slice, at most 595 in any
//!   minute against sandbox's 600; 42 a slice, 294 against production's 300).
//! - **Deliveries first.** Polls may take only `poll_share` of a slice; a delivery (codes a
//!   customer waits for) may take all of it. A poll without a permit is deferred (the watch is
//!   polled again when the next slice opens: never dropped); a delivery waits for the next slice
//!   while its deadline allows, else its record is retried later by SQS.
//! - **Retry-After for everyone.** A 429 answered to any caller blocks every caller until its
//!   `Retry-After` has passed.
//!
//! Cost: one conditional `UpdateItem` per GET (two at the first GET of a slice), about $1.25 per
//! million GETs, against the Lambda time and dead letters of a burst of 429s.

mod dynamodb;
mod memory;

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;

pub use dynamodb::DynamoBudget;
pub use memory::MemoryBudget;

/// Who asks: deliveries come before polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// A record of the ingest queue: an event a customer may be waiting on.
    Delivery,
    /// A scheduled poll (order watches, wallet transactions): can wait for the next slice.
    Poll,
}

/// A provider's documented limit and how it is cut.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Requests allowed in any `window`.
    pub limit: u32,
    pub window: Duration,
    /// Slices of the window the permits are counted in.
    pub slices: u32,
    /// The share of a slice polls may take.
    pub poll_share: f64,
}

impl BudgetConfig {
    /// `limit` requests a minute, in 10-second slices, polls up to half of each.
    pub fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::from_secs(60),
            slices: 6,
            poll_share: 0.5,
        }
    }

    pub fn slice(&self) -> Duration {
        self.window / self.slices.max(1)
    }

    /// Permits of one slice, for a priority.
    pub fn slice_limit(&self, priority: Priority) -> u32 {
        let all = self.limit / (self.slices.max(1) + 1);
        match priority {
            Priority::Delivery => all,
            // Truncation is the point: the poll share never exceeds its fraction.
            Priority::Poll => (f64::from(all) * self.poll_share.clamp(0.0, 1.0)) as u32,
        }
    }
}

/// Why no permit was given.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BudgetError {
    /// No room before `wait` has passed (a full slice, or a 429's `Retry-After`).
    #[error("the API's request budget has no room for {wait:?}")]
    NoRoom { wait: Duration },
    #[error("the API's request budget is unavailable: {0}")]
    Store(String),
}

/// Where the permits are counted.
#[derive(Clone, Debug)]
pub enum RequestBudget {
    Memory(Arc<MemoryBudget>),
    Dynamo(DynamoBudget),
}

impl RequestBudget {
    fn config(&self) -> &BudgetConfig {
        match self {
            Self::Memory(budget) => &budget.config,
            Self::Dynamo(budget) => &budget.config,
        }
    }

    /// One permit now, or how long until one may be had.
    pub async fn try_take(&self, priority: Priority) -> Result<(), BudgetError> {
        match self {
            Self::Memory(budget) => budget.try_take(priority, now_ms()),
            Self::Dynamo(budget) => budget.try_take(priority, now_ms()).await,
        }
    }

    /// A permit for `priority` by `deadline`: a delivery waits for room while the deadline
    /// allows; a poll does not wait. The error says how long until room.
    pub async fn take(&self, priority: Priority, deadline: Instant) -> Result<(), BudgetError> {
        loop {
            match self.try_take(priority).await {
                Err(BudgetError::NoRoom { wait })
                    if priority == Priority::Delivery
                        && Instant::now() + wait + self.config().slice() / 10 < deadline =>
                {
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// A 429 said to wait `retry_after`: no caller takes a permit before it has passed.
    pub async fn block_for(&self, retry_after: Duration) {
        let until =
            now_ms().saturating_add(i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX));
        let blocked = match self {
            Self::Memory(budget) => {
                budget.block_until(until);
                Ok(())
            }
            Self::Dynamo(budget) => budget.block_until(until).await,
        };
        if let Err(error) = blocked {
            tracing::warn!(error = %error, "the 429's Retry-After could not be shared; this caller honours it alone");
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// The slice `now_ms` falls in, and how long until the next one opens.
pub(crate) fn slice_of(config: &BudgetConfig, now_ms: i64) -> (i64, Duration) {
    let slice_ms = i64::try_from(config.slice().as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let slice = now_ms.div_euclid(slice_ms);
    let next = (slice + 1) * slice_ms - now_ms;
    (
        slice,
        Duration::from_millis(u64::try_from(next).unwrap_or(0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_hold_any_rolling_window_under_the_limit() {
        let sandbox = BudgetConfig::per_minute(600);
        assert_eq!(sandbox.slice(), Duration::from_secs(10));
        assert_eq!(sandbox.slice_limit(Priority::Delivery), 85);
        assert_eq!(sandbox.slice_limit(Priority::Poll), 42);
        assert!(sandbox.slice_limit(Priority::Delivery) * (sandbox.slices + 1) <= 600);
        let production = BudgetConfig::per_minute(300);
        assert_eq!(production.slice_limit(Priority::Delivery), 42);
        assert!(production.slice_limit(Priority::Delivery) * 7 <= 300);
    }

    #[test]
    fn the_slice_and_the_wait_for_the_next() {
        let config = BudgetConfig::per_minute(600);
        assert_eq!(slice_of(&config, 25_000), (2, Duration::from_secs(5)));
        assert_eq!(slice_of(&config, 30_000), (3, Duration::from_secs(10)));
    }
}
