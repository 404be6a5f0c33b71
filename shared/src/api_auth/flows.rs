//! The providers' documented token exchanges over HTTP.
//!
//! - Octopus Cards, "Login" (https://octopus-docs.pages.dev/docs/authentication/login): `POST
//!   {host}/auth/login` JSON `{"username": API key, "password": API secret}` →
//!   `{"success":true,"data":{"access_token","refresh_token","access_expires_at",
//!   "refresh_expires_at","client_id"}}` (ISO 8601 expiries). "Refresh Token"
//!   (…/docs/authentication/refresh-token): `POST {host}/auth/refresh` `{"refresh_token"}` → the
//!   same shape; the refresh token sent is revoked.
//! - Optty, "Create Access Token" (https://docs.optty.com/direct-api-orders/create-access-token):
//!   `POST https://auth.optty.com/token` (sandbox `https://auth.qa.optty.com/token`),
//!   form-encoded `client_id`, `client_secret`, `grant_type=client_credentials`,
//!   `scope=api-user` → `{"access_token","expires_in":86400,"token_type":"Bearer","scope"}`.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AuthError;
use super::credentials::Credentials;
use super::session::{Session, now_ms};
use crate::retry_after::parse_retry_after;

/// How a provider hands out API tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFlow {
    /// Octopus: login with the API key and secret, refresh with the refresh token, both under
    /// the API's own host.
    OctopusJwt,
    /// OAuth 2.0 client credentials at a token URL of its own (Optty).
    ClientCredentials { scope: &'static str },
}

/// One provider's token endpoint(s).
#[derive(Clone, Debug)]
pub struct AuthEndpoint {
    flow: AuthFlow,
    /// The API base (Octopus) or the token URL (client credentials).
    url: Url,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct OctopusAnswer {
    data: OctopusPair,
}

#[derive(Deserialize)]
struct OctopusPair {
    access_token: String,
    refresh_token: String,
    access_expires_at: String,
    refresh_expires_at: Option<String>,
}

#[derive(Deserialize)]
struct OAuthAnswer {
    access_token: String,
    expires_in: u64,
    token_type: String,
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

impl AuthEndpoint {
    /// `url`: the API base for [`AuthFlow::OctopusJwt`], the token URL for client credentials.
    pub fn new(flow: AuthFlow, url: &str) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("auth URL: {e}"))?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
            return Err("auth URL must be http(s)".into());
        }
        let http = crate::tls::http_client_builder()
            // Credentials are never sent where a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { flow, url, http })
    }

    pub fn flow(&self) -> AuthFlow {
        self.flow
    }

    fn under_base(&self, path: &str) -> Result<Url, AuthError> {
        let mut url = self.url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|_| AuthError::Malformed)?
            .pop_if_empty()
            .extend(path.split('/'));
        Ok(url)
    }

    /// Exchanges the credentials for a session.
    pub async fn login(
        &self,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Session, AuthError> {
        match self.flow {
            AuthFlow::OctopusJwt => {
                let body = serde_json::json!({
                    "username": credentials.id_text(),
                    "password": credentials.secret_text(),
                });
                let url = self.under_base("auth/login")?;
                let answer = self.post(url, "application/json", body.to_string(), timeout);
                octopus_session(answer.await.map_err(|e| e.on_login())?)
            }
            AuthFlow::ClientCredentials { scope } => {
                let form = form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", credentials.id_text())
                    .append_pair("client_secret", credentials.secret_text())
                    .append_pair("grant_type", "client_credentials")
                    .append_pair("scope", scope)
                    .finish();
                let answer = self.post(
                    self.url.clone(),
                    "application/x-www-form-urlencoded",
                    form,
                    timeout,
                );
                oauth_session(answer.await.map_err(|e| e.on_login())?)
            }
        }
    }

    /// Exchanges a refresh token for a new session (Octopus only; `None` for a flow without
    /// refresh tokens).
    pub async fn refresh(
        &self,
        refresh_token: &str,
        timeout: Duration,
    ) -> Option<Result<Session, AuthError>> {
        if self.flow != AuthFlow::OctopusJwt {
            return None;
        }
        let body = serde_json::json!({ "refresh_token": refresh_token }).to_string();
        let url = match self.under_base("auth/refresh") {
            Ok(url) => url,
            Err(error) => return Some(Err(error)),
        };
        let answer = self.post(url, "application/json", body, timeout).await;
        Some(
            answer
                .map_err(Refused::on_refresh)
                .and_then(octopus_session),
        )
    }

    async fn post(
        &self,
        url: Url,
        content_type: &'static str,
        body: String,
        timeout: Duration,
    ) -> Result<Vec<u8>, Refused> {
        let response = self
            .http
            .post(url)
            .header(CONTENT_TYPE, content_type)
            .header("accept", "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| {
                Refused::Other(if e.is_timeout() {
                    AuthError::Timeout
                } else {
                    AuthError::Transport(if e.is_connect() {
                        "connection failed".into()
                    } else {
                        "request failed".into()
                    })
                })
            })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = parse_retry_after(
                response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            return Err(Refused::Other(AuthError::RateLimited { retry_after: wait }));
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Err(Refused::Unauthorized(status.as_u16()));
        }
        if !status.is_success() {
            return Err(Refused::Other(AuthError::Status {
                status: status.as_u16(),
            }));
        }
        response.bytes().await.map(|b| b.to_vec()).map_err(|e| {
            Refused::Other(if e.is_timeout() {
                AuthError::Timeout
            } else {
                AuthError::Transport("reading the answer failed".into())
            })
        })
    }
}

/// A token endpoint's refusal before it is known whether credentials or a refresh token were
/// refused.
enum Refused {
    Unauthorized(u16),
    Other(AuthError),
}

impl Refused {
    fn on_login(self) -> AuthError {
        match self {
            Self::Unauthorized(status) => AuthError::BadCredentials { status },
            Self::Other(error) => error,
        }
    }

    fn on_refresh(self) -> AuthError {
        match self {
            Self::Unauthorized(status) => AuthError::RefreshRefused { status },
            Self::Other(error) => error,
        }
    }
}

fn octopus_session(body: Vec<u8>) -> Result<Session, AuthError> {
    let answer: OctopusAnswer = serde_json::from_slice(&body).map_err(|_| AuthError::Malformed)?;
    let pair = answer.data;
    let access_expires_at_ms = rfc3339_ms(&pair.access_expires_at).ok_or(AuthError::Malformed)?;
    if pair.access_token.is_empty() || pair.refresh_token.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(Session {
        access_token: pair.access_token,
        access_expires_at_ms,
        obtained_at_ms: now_ms(),
        refresh_token: Some(pair.refresh_token),
        refresh_expires_at_ms: pair.refresh_expires_at.as_deref().and_then(rfc3339_ms),
    })
}

fn oauth_session(body: Vec<u8>) -> Result<Session, AuthError> {
    let answer: OAuthAnswer = serde_json::from_slice(&body).map_err(|_| AuthError::Malformed)?;
    if answer.access_token.is_empty() || !answer.token_type.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    let now = now_ms();
    let lifetime = i64::try_from(answer.expires_in.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(Session {
        access_token: answer.access_token,
        access_expires_at_ms: now.saturating_add(lifetime),
        obtained_at_ms: now,
        refresh_token: None,
        refresh_expires_at_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octopus_answer_as_documented() {
        let body = br#"{"success":true,"data":{"access_token":"a","refresh_token":"r",
            "access_expires_at":"2025-01-15T13:00:00Z","refresh_expires_at":"2025-01-22T12:00:00Z",
            "client_id":42}}"#;
        let session = octopus_session(body.to_vec()).unwrap();
        assert_eq!(session.access_expires_at_ms, 1_736_946_000_000);
        assert_eq!(session.refresh_token.as_deref(), Some("r"));
        for bad in [
            &br#"{"data":{"access_token":"a","refresh_token":"r","access_expires_at":"soon"}}"#[..],
            br#"{"access_token":"a"}"#,
            b"<html>",
        ] {
            assert_eq!(octopus_session(bad.to_vec()), Err(AuthError::Malformed));
        }
    }

    #[test]
    fn oauth_answer_as_documented() {
        let body =
            br#"{"access_token":"a","expires_in":86400,"token_type":"Bearer","scope":"api-user"}"#;
        let session = oauth_session(body.to_vec()).unwrap();
        assert_eq!(
            session.access_expires_at_ms - session.obtained_at_ms,
            86_400_000
        );
        let mac = br#"{"access_token":"a","expires_in":60,"token_type":"mac"}"#;
        assert_eq!(oauth_session(mac.to_vec()), Err(AuthError::Malformed));
    }
}
