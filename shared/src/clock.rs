//! Where the processor and the poller read the time: the system clock in production, a manual
//! one in tests, so a lease can run out without anyone waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use tokio::time::Instant;

/// The time source. Clones of a manual clock share its time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: epoch seconds, moved only by [`Clock::advance`].
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock standing at `start` (epoch seconds) until advanced.
    pub fn manual(start: i64) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Some(now) = &self.manual {
            now.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    pub fn now_utc(&self) -> OffsetDateTime {
        match &self.manual {
            Some(now) => OffsetDateTime::from_unix_timestamp(now.load(Ordering::SeqCst))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            None => OffsetDateTime::now_utc(),
        }
    }

    /// Epoch seconds.
    pub fn now_unix(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst),
            None => OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Epoch milliseconds (a manual clock stands on whole seconds).
    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst).saturating_mul(1000),
            None => i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(i64::MAX),
        }
    }
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
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = Clock::manual(1_000);
        let clone = clock.clone();
        clock.advance(30);
        assert_eq!(clone.now_unix(), 1_030);
        assert_eq!(clone.now_utc().unix_timestamp(), 1_030);
        assert!(Clock::system().now_unix() > 1_700_000_000);
    }

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
