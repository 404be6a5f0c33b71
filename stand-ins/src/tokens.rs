//! The tokens a stand-in has issued: which are live until when, and every one ever issued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Tokens {
    live: HashMap<String, Instant>,
    issued: Vec<String>,
}

impl Tokens {
    /// A new token named `prefix.…`, live for `lifetime` from `now`.
    pub fn issue(&mut self, prefix: &str, now: Instant, lifetime: Duration) -> String {
        let token = crate::new_token(prefix);
        self.live.retain(|_, until| now < *until);
        self.live.insert(token.clone(), now + lifetime);
        self.issued.push(token.clone());
        token
    }

    /// True when `token` was issued and has neither expired nor been revoked.
    pub fn is_live(&self, token: &str, now: Instant) -> bool {
        self.live.get(token).is_some_and(|until| now < *until)
    }

    /// True when the `Authorization` header carries a live bearer token.
    pub fn authorizes(&self, authorization: Option<&[u8]>, now: Instant) -> bool {
        crate::bearer(authorization).is_some_and(|token| self.is_live(token, now))
    }

    /// Takes `token` out of the live ones (a refresh token once used); true when it was live.
    pub fn take(&mut self, token: &str, now: Instant) -> bool {
        self.live.remove(token).is_some_and(|until| now < until)
    }

    /// Every live token revoked; returns them.
    pub fn revoke_all(&mut self) -> Vec<String> {
        self.live.drain().map(|(token, _)| token).collect()
    }

    /// Every token ever issued.
    pub fn issued(&self) -> &[String] {
        &self.issued
    }
}
