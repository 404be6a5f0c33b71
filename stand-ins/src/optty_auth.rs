//! Optty's OAuth 2.0 client credentials, as its "Create Access Token" page describes them
//! (https://docs.optty.com/direct-api-orders/create-access-token): `POST /token`,
//! `application/x-www-form-urlencoded` `client_id`, `client_secret`,
//! `grant_type=client_credentials`, `scope=api-user` → `{"access_token","expires_in":86400,
//! "token_type":"Bearer","scope":"api-user"}`; tokens valid 24 hours.
//!
//! The page documents no error body and no rate limit: errors here take RFC 6749's form
//! (`invalid_client` 401, `invalid_request` / `unsupported_grant_type` / `invalid_scope` 400),
//! and a refused token answers 401 `{"error":"unauthorized"}`. Both are assumptions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use subtle::ConstantTimeEq;

use crate::answer::Answer;
use crate::tokens::Tokens;

/// The one scope Optty documents for machine-to-machine calls.
pub const SCOPE: &str = "api-user";

#[derive(Clone, Debug)]
pub struct OpttyAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    pub lifetime: Duration,
}

impl OpttyAuthConfig {
    /// The documented 24-hour lifetime.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            lifetime: Duration::from_secs(86_400),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub issued: u64,
    pub bad_credentials: u64,
    pub unauthorized: u64,
    pub authorized: u64,
}

#[derive(Debug)]
struct State {
    config: OpttyAuthConfig,
    tokens: Tokens,
    counts: TokenCounts,
}

#[derive(Debug)]
pub struct OpttyAuth {
    state: Mutex<State>,
}

impl OpttyAuth {
    pub fn new(config: OpttyAuthConfig) -> Self {
        Self {
            state: Mutex::new(State {
                config,
                tokens: Tokens::default(),
                counts: TokenCounts::default(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().tokens.issued().to_vec()
    }

    /// `POST /token` with a form body.
    pub fn token(&self, form: &[u8]) -> Answer {
        let fields: HashMap<String, String> = form_urlencoded::parse(form).into_owned().collect();
        let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
        if field("client_id").is_empty() || field("client_secret").is_empty() {
            return Answer::oauth_error(400, "invalid_request");
        }
        if field("grant_type") != "client_credentials" {
            return Answer::oauth_error(400, "unsupported_grant_type");
        }
        if field("scope") != SCOPE {
            return Answer::oauth_error(400, "invalid_scope");
        }
        let mut state = self.state();
        let id_ok = field("client_id")
            .as_bytes()
            .ct_eq(state.config.client_id.as_bytes());
        let secret_ok = field("client_secret")
            .as_bytes()
            .ct_eq(state.config.client_secret.as_bytes());
        if !bool::from(id_ok & secret_ok) {
            state.counts.bad_credentials += 1;
            return Answer::oauth_error(401, "invalid_client");
        }
        let now = Instant::now();
        let lifetime = state.config.lifetime;
        let token = state.tokens.issue("op-at", now, lifetime);
        state.counts.issued += 1;
        Answer::ok(json!({
            "access_token": token,
            // Whole seconds, as documented; at least 1 so a short test lifetime stays valid.
            "expires_in": lifetime.as_secs().max(1),
            "token_type": "Bearer",
            "scope": SCOPE,
        }))
    }

    /// New client credentials: the old ones stop getting tokens; issued tokens live on.
    pub fn rotate_credentials(&self, client_id: &str, client_secret: &str) {
        let mut state = self.state();
        state.config.client_id = client_id.into();
        state.config.client_secret = client_secret.into();
    }

    /// Every token revoked (a compromise).
    pub fn revoke_all(&self) {
        self.state().tokens.revoke_all();
    }

    /// True when the header carries a live token; counts nothing.
    pub fn is_live(&self, authorization: Option<&[u8]>) -> bool {
        self.state()
            .tokens
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
            Err(Answer::oauth_error(401, "unauthorized"))
        }
    }

    pub fn counts(&self) -> TokenCounts {
        self.state().counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &[u8] =
        b"client_id=id&client_secret=s%26cret&grant_type=client_credentials&scope=api-user";

    #[test]
    fn client_credentials_give_a_bearer_token() {
        let auth = OpttyAuth::new(OpttyAuthConfig::new("id", "s&cret"));
        let answer = auth.token(FORM);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body["expires_in"], 86_400);
        assert_eq!(answer.body["token_type"], "Bearer");
        let header = format!("Bearer {}", answer.body["access_token"].as_str().unwrap());
        assert!(auth.check(Some(header.as_bytes())).is_ok());
        auth.revoke_all();
        assert!(auth.check(Some(header.as_bytes())).is_err());
    }

    #[test]
    fn what_the_token_endpoint_refuses() {
        let auth = OpttyAuth::new(OpttyAuthConfig::new("id", "other"));
        assert_eq!(auth.token(FORM).status, 401);
        assert_eq!(auth.token(b"client_id=id").status, 400);
        assert_eq!(
            auth.token(b"client_id=id&client_secret=other&grant_type=password&scope=api-user")
                .body["error"],
            "unsupported_grant_type"
        );
        assert_eq!(
            auth.token(b"client_id=id&client_secret=other&grant_type=client_credentials")
                .body["error"],
            "invalid_scope"
        );
    }
}
