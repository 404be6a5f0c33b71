//! Where the processor and the poller read the time: the system clock in production, a manual
//! one in tests, so a lease can run out without anyone waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

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
}
