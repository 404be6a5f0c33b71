//! Octopus Cards' authentication, as its pages describe it:
//! - "Authentication" (https://octopus-docs.pages.dev/docs/authentication): JWT; access token 1
//!   hour, refresh token 7 days; `Authorization: Bearer` on every request; 401
//!   `{"error":{"name":"UnauthorizedError","code":"UNAUTHORIZED","message"}}`.
//! - "Login" (…/docs/authentication/login): `POST /auth/login` `{"username": API key,
//!   "password": API secret}` → `{"success":true,"data":{"access_token","refresh_token",
//!   "access_expires_at","refresh_expires_at","client_id"}}`; 400 `ValidationException` without
//!   them.
//! - "Refresh Token" (…/docs/authentication/refresh-token): `POST /auth/refresh`
//!   `{"refresh_token"}` → a new pair; the old refresh token is revoked and answers 401 if used
//!   again.
//! - "Best Practices: Rate limits": per client account and minute, rolling; login 30 (sandbox) /
//!   10 (production), refresh 30 / 20; 429 `TooManyRequestsError` with `Retry-After`.
//!
//! Lifetimes and limits are settable so a test can live through many expiries in seconds.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::answer::Answer;
use crate::rate_limit::{RollingWindow, retry_after_secs};
use crate::tokens::Tokens;

/// The client id the stand-in reports (the login page's example).
const CLIENT_ID: u64 = 42;

#[derive(Clone, Debug)]
pub struct OctopusAuthConfig {
    pub api_key: String,
    pub api_secret: String,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub logins_per_minute: u32,
    pub refreshes_per_minute: u32,
}

impl OctopusAuthConfig {
    /// The documented lifetimes and sandbox limits (30 logins, 30 refreshes a minute).
    pub fn sandbox(api_key: &str, api_secret: &str) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            access_lifetime: Duration::from_secs(3600),
            refresh_lifetime: Duration::from_secs(7 * 24 * 3600),
            logins_per_minute: 30,
            refreshes_per_minute: 30,
        }
    }

    /// The documented lifetimes and production limits (10 logins, 20 refreshes a minute).
    pub fn production(api_key: &str, api_secret: &str) -> Self {
        Self {
            logins_per_minute: 10,
            refreshes_per_minute: 20,
            ..Self::sandbox(api_key, api_secret)
        }
    }
}

/// What the stand-in has seen, for a test to assert on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthCounts {
    pub logins: u64,
    pub refreshes: u64,
    /// Logins refused for bad credentials.
    pub bad_credentials: u64,
    /// Refreshes refused for an unknown, expired or revoked refresh token.
    pub bad_refresh_tokens: u64,
    /// Logins and refreshes answered 429.
    pub rate_limited: u64,
    /// API requests answered 401 (no, unknown, expired or revoked access token).
    pub unauthorized: u64,
    /// API requests let through with a live token.
    pub authorized: u64,
    /// The most logins, and refreshes, in any one minute.
    pub peak_logins_per_minute: usize,
    pub peak_refreshes_per_minute: usize,
}

#[derive(Debug)]
struct State {
    config: OctopusAuthConfig,
    access: Tokens,
    refresh: Tokens,
    /// Refresh tokens already used (revoked by the refresh).
    used_refresh: HashSet<String>,
    logins: RollingWindow,
    refreshes: RollingWindow,
    counts: AuthCounts,
}

/// One Octopus client account's authentication.
#[derive(Debug)]
pub struct OctopusAuth {
    state: Mutex<State>,
}

impl OctopusAuth {
    pub fn new(config: OctopusAuthConfig) -> Self {
        Self {
            state: Mutex::new(State {
                logins: RollingWindow::per_minute(config.logins_per_minute),
                refreshes: RollingWindow::per_minute(config.refreshes_per_minute),
                config,
                access: Tokens::default(),
                refresh: Tokens::default(),
                used_refresh: HashSet::new(),
                counts: AuthCounts::default(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every access and refresh token issued so far (a test looks for them where no token may
    /// be: logs, tables, queues).
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.state();
        [state.access.issued(), state.refresh.issued()].concat()
    }

    /// `POST /auth/login`.
    pub fn login(&self, body: &[u8]) -> Answer {
        let fields: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |name: &str| fields.get(name).and_then(|v| v.as_str()).unwrap_or("");
        let (username, password) = (text("username"), text("password"));
        if username.is_empty() || password.is_empty() {
            return Answer::octopus_error(
                400,
                "ValidationException",
                "VALIDATION_FAILURE",
                "Username and password are required",
            );
        }
        let mut state = self.state();
        let now = Instant::now();
        if let Err(wait) = state.logins.try_take(now) {
            state.counts.rate_limited += 1;
            return Answer::octopus_rate_limited(retry_after_secs(wait));
        }
        state.counts.peak_logins_per_minute = state.logins.peak();
        let key_ok = username.as_bytes().ct_eq(state.config.api_key.as_bytes());
        let secret_ok = password
            .as_bytes()
            .ct_eq(state.config.api_secret.as_bytes());
        if !bool::from(key_ok & secret_ok) {
            state.counts.bad_credentials += 1;
            return Answer::octopus_unauthorized("Invalid credentials");
        }
        state.counts.logins += 1;
        state.issue_pair(now)
    }

    /// `POST /auth/refresh`: a new pair; the refresh token given is revoked.
    pub fn refresh(&self, body: &[u8]) -> Answer {
        let fields: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let token = fields
            .get("refresh_token")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if token.is_empty() {
            return Answer::octopus_error(
                400,
                "ValidationException",
                "VALIDATION_FAILURE",
                "Refresh token is required",
            );
        }
        let mut state = self.state();
        let now = Instant::now();
        if let Err(wait) = state.refreshes.try_take(now) {
            state.counts.rate_limited += 1;
            return Answer::octopus_rate_limited(retry_after_secs(wait));
        }
        state.counts.peak_refreshes_per_minute = state.refreshes.peak();
        let live = state.refresh.take(token, now);
        if !live {
            state.counts.bad_refresh_tokens += 1;
            let message = if state.used_refresh.contains(token) {
                "Refresh token has been revoked"
            } else {
                "Invalid or expired refresh token"
            };
            return Answer::octopus_unauthorized(message);
        }
        state.used_refresh.insert(token.to_string());
        state.counts.refreshes += 1;
        state.issue_pair(now)
    }

    /// `POST /auth/logout`: every token of the client revoked.
    pub fn revoke_all(&self) {
        let mut state = self.state();
        let refresh = state.refresh.revoke_all();
        state.used_refresh.extend(refresh);
        state.access.revoke_all();
    }

    /// New API credentials (a rotation in the dashboard): the old ones stop logging in; tokens
    /// already issued live on.
    pub fn rotate_credentials(&self, api_key: &str, api_secret: &str) {
        let mut state = self.state();
        state.config.api_key = api_key.into();
        state.config.api_secret = api_secret.into();
    }

    /// True when the header carries a live token; counts nothing.
    pub fn is_live(&self, authorization: Option<&[u8]>) -> bool {
        self.state()
            .access
            .authorizes(authorization, Instant::now())
    }

    /// Lets a request through with a live token, or answers the provider's 401; counted.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), Answer> {
        let live = self.is_live(authorization);
        let mut state = self.state();
        if live {
            state.counts.authorized += 1;
            Ok(())
        } else {
            state.counts.unauthorized += 1;
            let message = if authorization.is_none() {
                "Missing authorization token"
            } else {
                "Invalid or expired token"
            };
            Err(Answer::octopus_unauthorized(message))
        }
    }

    pub fn counts(&self) -> AuthCounts {
        self.state().counts
    }
}

impl State {
    fn issue_pair(&mut self, now: Instant) -> Answer {
        let (access_life, refresh_life) =
            (self.config.access_lifetime, self.config.refresh_lifetime);
        let access = self.access.issue("oc-at", now, access_life);
        let refresh = self.refresh.issue("oc-rt", now, refresh_life);
        let at = |life: Duration| {
            (OffsetDateTime::now_utc() + life)
                .format(&Rfc3339)
                .unwrap_or_default()
        };
        Answer::ok(json!({
            "success": true,
            "data": {
                "access_token": access,
                "refresh_token": refresh,
                "access_expires_at": at(access_life),
                "refresh_expires_at": at(refresh_life),
                "client_id": CLIENT_ID,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> OctopusAuth {
        OctopusAuth::new(OctopusAuthConfig::production("key", "secret"))
    }

    fn login(auth: &OctopusAuth) -> serde_json::Value {
        let answer = auth.login(br#"{"username":"key","password":"secret"}"#);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["data"].clone()
    }

    fn bearer(token: &serde_json::Value) -> Vec<u8> {
        format!("Bearer {}", token.as_str().unwrap()).into_bytes()
    }

    #[test]
    fn a_login_gives_a_pair_that_authorizes() {
        let auth = auth();
        let pair = login(&auth);
        assert!(auth.check(Some(&bearer(&pair["access_token"]))).is_ok());
        assert_eq!(auth.check(None).unwrap_err().status, 401);
        assert_eq!(
            auth.check(Some(b"Bearer nope")).unwrap_err().body["error"]["code"],
            "UNAUTHORIZED"
        );
    }

    #[test]
    fn bad_or_missing_credentials() {
        let auth = auth();
        assert_eq!(auth.login(br#"{"username":"key"}"#).status, 400);
        assert_eq!(
            auth.login(br#"{"username":"key","password":"wrong"}"#)
                .status,
            401
        );
    }

    #[test]
    fn a_refresh_token_is_revoked_once_used() {
        let auth = auth();
        let pair = login(&auth);
        let body = serde_json::to_vec(&json!({"refresh_token": pair["refresh_token"]})).unwrap();
        let first = auth.refresh(&body);
        assert_eq!(first.status, 200);
        let second = auth.refresh(&body);
        assert_eq!(second.status, 401);
        assert_eq!(
            second.body["error"]["message"],
            "Refresh token has been revoked"
        );
        // The new refresh token works.
        let next =
            serde_json::to_vec(&json!({"refresh_token": first.body["data"]["refresh_token"]}))
                .unwrap();
        assert_eq!(auth.refresh(&next).status, 200);
    }

    #[test]
    fn access_tokens_expire() {
        let auth = OctopusAuth::new(OctopusAuthConfig {
            access_lifetime: Duration::from_millis(30),
            ..OctopusAuthConfig::sandbox("key", "secret")
        });
        let pair = login(&auth);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            auth.check(Some(&bearer(&pair["access_token"])))
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn logins_beyond_the_production_limit_get_429_with_retry_after() {
        let auth = auth();
        for _ in 0..10 {
            login(&auth);
        }
        let refused = auth.login(br#"{"username":"key","password":"secret"}"#);
        assert_eq!(refused.status, 429);
        assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(auth.counts().peak_logins_per_minute, 10);
    }

    #[test]
    fn revoke_all_and_rotation() {
        let auth = auth();
        let pair = login(&auth);
        auth.revoke_all();
        assert!(auth.check(Some(&bearer(&pair["access_token"]))).is_err());
        auth.rotate_credentials("key2", "secret2");
        assert_eq!(
            auth.login(br#"{"username":"key","password":"secret"}"#)
                .status,
            401
        );
        assert_eq!(
            auth.login(br#"{"username":"key2","password":"secret2"}"#)
                .status,
            200
        );
    }
}
