//! Logging in to a provider's API: credentials (never tokens) are configured, and each
//! container keeps one access token per provider, obtained at first need, renewed before it
//! expires, and shared with every other container through a [`SessionStore`] so however far the
//! functions scale out, the provider sees about one renewal per token lifetime.
//!
//! - `credentials`: the API key and secret (Octopus) or client id and secret (Optty), from the
//!   environment locally or from Secrets Manager in AWS, re-read on the refresh interval.
//! - `flows`: the providers' documented exchanges (Octopus login and refresh, OAuth 2.0 client
//!   credentials).
//! - `session`: a token pair and when to renew it.
//! - `store`: where containers share the session, and the lease that lets one of them renew it.
//! - `provider_token`: [`ProviderToken`], what an API client asks for a bearer header.

mod credentials;
mod flows;
mod metrics;
mod provider_token;
mod session;
mod store;

use std::time::Duration;

use thiserror::Error;

pub use credentials::{CredentialSource, Credentials};
pub use flows::{AuthEndpoint, AuthFlow};
pub use provider_token::{Bearer, ProviderToken};
pub use session::{Session, renewal_margin};
pub use store::{AwsSessionStore, MemorySessionStore, SessionStore};

/// Why no token could be had. Never holds a token, a credential or a response body.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("the provider refused the API credentials (HTTP {status})")]
    BadCredentials { status: u16 },
    #[error("the provider refused the refresh token (HTTP {status})")]
    RefreshRefused { status: u16 },
    #[error("the provider's auth endpoint answered 429; retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider's auth endpoint answered HTTP {status}")]
    Status { status: u16 },
    #[error("the provider's auth endpoint did not answer in time")]
    Timeout,
    #[error("the provider's auth endpoint is unreachable: {0}")]
    Transport(String),
    #[error("the provider's auth endpoint answered without the documented token fields")]
    Malformed,
    #[error("the shared API session is unavailable: {0}")]
    Store(String),
    #[error("the API credentials could not be read: {0}")]
    Credentials(String),
    #[error("no time left in this invocation to obtain an API token")]
    OutOfTime,
}

impl AuthError {
    /// The `reason` of the `ApiAuthFailed` metric.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::BadCredentials { .. } => "bad_credentials",
            Self::RefreshRefused { .. } => "refresh_refused",
            Self::RateLimited { .. } => "rate_limited",
            Self::Status { .. } => "http_status",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::Malformed => "malformed",
            Self::Store(_) => "store",
            Self::Credentials(_) => "credentials",
            Self::OutOfTime => "out_of_time",
        }
    }
}

/// A token of a stand-in API at a host nothing listens on, for unit tests that only build URLs.
#[cfg(test)]
pub(crate) fn unused_token(provider: &'static str) -> ProviderToken {
    let endpoint = match AuthEndpoint::new(AuthFlow::OctopusJwt, "https://auth.invalid") {
        Ok(endpoint) => endpoint,
        Err(error) => panic!("{error}"),
    };
    let credentials = match Credentials::new("key", "SECRET-123") {
        Ok(credentials) => credentials,
        Err(error) => panic!("{error}"),
    };
    ProviderToken::new(
        provider,
        endpoint,
        CredentialSource::fixed(credentials),
        SessionStore::memory(),
        None,
    )
}
