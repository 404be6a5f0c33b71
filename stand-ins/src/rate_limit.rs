//! A rolling window of requests, as Octopus' "Best Practices: Rate limits" page describes its
//! limits ("per client account, per minute, rolling windows").

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `limit` requests in any `window`.
#[derive(Debug)]
pub struct RollingWindow {
    limit: usize,
    window: Duration,
    taken: VecDeque<Instant>,
    /// The most requests seen in one window so far (what a test asserts on).
    peak: usize,
}

impl RollingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            window,
            taken: VecDeque::new(),
            peak: 0,
        }
    }

    /// Per minute, as the providers state their limits.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// Takes one request now, or says how long until one fits.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .taken
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.taken.pop_front();
        }
        if self.taken.len() >= self.limit {
            let oldest = self.taken.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        self.taken.push_back(now);
        self.peak = self.peak.max(self.taken.len());
        Ok(())
    }

    /// The most requests taken in one window so far.
    pub fn peak(&self) -> usize {
        self.peak
    }
}

/// `Retry-After` in whole seconds, never 0 (a client told 0 would retry at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_until_the_oldest_leaves() {
        let start = Instant::now();
        let mut window = RollingWindow::new(2, Duration::from_secs(60));
        assert!(window.try_take(start).is_ok());
        assert!(window.try_take(start + Duration::from_secs(10)).is_ok());
        let wait = window
            .try_take(start + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(window.try_take(start + Duration::from_secs(60)).is_ok());
        assert_eq!(window.peak(), 2);
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
