//! A token pair as a provider issued it, and when to renew it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The most margin ever kept before an access token's expiry: Octopus' "Best Practices:
/// Authentication" asks to refresh "about 5 minutes before `access_expires_at`".
pub const MAX_MARGIN: Duration = Duration::from_secs(300);

/// One session with a provider's API. Times are Unix milliseconds (wall clock: the session is
/// shared between containers).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub access_expires_at_ms: i64,
    /// When the provider issued it (the lifetime the margin is a tenth of).
    pub obtained_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at_ms: Option<i64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("access_expires_at_ms", &self.access_expires_at_ms)
            .field("obtained_at_ms", &self.obtained_at_ms)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The margin kept before `session` expires: `configured` when given, else the smaller of 5
/// minutes and a tenth of the token's lifetime (the rule: a 1-hour Octopus token is
/// renewed 5 minutes early, a 60-second test token 6 seconds early).
pub fn renewal_margin(session: &Session, configured: Option<Duration>) -> Duration {
    configured.unwrap_or_else(|| {
        let lifetime = session
            .access_expires_at_ms
            .saturating_sub(session.obtained_at_ms)
            .max(0);
        Duration::from_millis(u64::try_from(lifetime / 10).unwrap_or(0)).min(MAX_MARGIN)
    })
}

impl Session {
    /// Good to send now: not yet within its margin of expiry.
    pub fn is_fresh(&self, margin: Option<Duration>) -> bool {
        now_ms().saturating_add(ms(renewal_margin(self, margin))) < self.access_expires_at_ms
    }

    /// Its refresh token, if it has one that has not expired.
    pub fn usable_refresh_token(&self) -> Option<&str> {
        let live = self
            .refresh_expires_at_ms
            .is_none_or(|until| now_ms() < until);
        self.refresh_token.as_deref().filter(|_| live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(lifetime: Duration, age: Duration) -> Session {
        let now = now_ms();
        Session {
            access_token: "t".into(),
            obtained_at_ms: now - ms(age),
            access_expires_at_ms: now - ms(age) + ms(lifetime),
            refresh_token: None,
            refresh_expires_at_ms: None,
        }
    }

    #[test]
    fn the_margin_is_the_smaller_of_five_minutes_and_a_tenth() {
        let hour = session(Duration::from_secs(3600), Duration::ZERO);
        assert_eq!(renewal_margin(&hour, None), MAX_MARGIN);
        let minute = session(Duration::from_secs(60), Duration::ZERO);
        assert_eq!(renewal_margin(&minute, None), Duration::from_secs(6));
        assert_eq!(
            renewal_margin(&minute, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn fresh_until_the_margin() {
        let hour = Duration::from_secs(3600);
        assert!(session(hour, Duration::from_secs(3200)).is_fresh(None));
        assert!(!session(hour, Duration::from_secs(3400)).is_fresh(None));
        assert!(!session(hour, Duration::from_secs(4000)).is_fresh(None));
    }

    #[test]
    fn debug_shows_no_token() {
        let mut s = session(Duration::from_secs(60), Duration::ZERO);
        s.access_token = "SECRET-ACCESS".into();
        s.refresh_token = Some("SECRET-REFRESH".into());
        assert!(!format!("{s:?}").contains("SECRET"));
    }
}
