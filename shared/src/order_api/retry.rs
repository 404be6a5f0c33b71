//! Retries within a deadline: jittered exponential backoff, and 429 `Retry-After` honoured only
//! when it fits in the time left.

use std::time::Duration;

use tokio::time::Instant;

/// How an API client retries.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The whole-request timeout of one attempt.
    pub attempt_timeout: Duration,
    pub connect_timeout: Duration,
    /// An attempt is not started with less time than this left.
    pub min_attempt_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            min_attempt_time: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random wait up to the exponential bound for retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let bound = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }

    /// True when waiting `wait` still leaves time for an attempt before `deadline`.
    pub fn fits(&self, wait: Duration, deadline: Instant) -> bool {
        // Checked: a provider's `Retry-After` is input, and `u64::MAX` seconds would overflow.
        wait.checked_add(self.min_attempt_time)
            .and_then(|needed| Instant::now().checked_add(needed))
            .is_some_and(|ready| ready <= deadline)
    }

    /// The timeout for an attempt starting now: the policy's, cut to the time left.
    pub fn attempt_timeout(&self, deadline: Instant) -> Option<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        (left >= self.min_attempt_time).then(|| left.min(self.attempt_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry_after::parse_retry_after;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            assert!(policy.backoff(retry) <= policy.max_backoff);
        }
        assert!(policy.backoff(0) <= policy.base_backoff);
    }

    #[tokio::test]
    async fn a_wait_past_the_deadline_does_not_fit() {
        let policy = RetryPolicy::default();
        let deadline = Instant::now() + Duration::from_secs(2);
        assert!(policy.fits(Duration::from_secs(1), deadline));
        assert!(!policy.fits(Duration::from_secs(2), deadline));
        assert!(policy.attempt_timeout(Instant::now()).is_none());
    }

    #[tokio::test]
    async fn the_largest_retry_after_does_not_fit_and_does_not_panic() {
        // Regression: `Retry-After: 18446744073709551615` overflowed `Instant + Duration`.
        let policy = RetryPolicy::default();
        let huge = parse_retry_after(Some("18446744073709551615")).unwrap();
        assert!(!policy.fits(huge, Instant::now() + Duration::from_secs(30)));
        assert!(!policy.fits(Duration::MAX, Instant::now() + Duration::from_secs(30)));
    }
}
