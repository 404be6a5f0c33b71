//! [`ProviderToken`]: the access token of one provider API in one container.
//!
//! - Obtained at first need, kept, and renewed once it is within its margin of expiry (the
//!   smaller of 5 minutes and a tenth of its lifetime, or `API_TOKEN_REFRESH_MARGIN_SECS`), never
//!   by waiting for a 401: Octopus' "Best Practices: Authentication".
//! - Single flight: concurrent fetches of a container wait for one renewal, never start two.
//! - Shared: a renewal first reads the [`SessionStore`]; only the container holding the lease
//!   calls the provider (a refresh when it has a live refresh token, else, or when the refresh
//!   fails, a login) and writes the new session for all.
//! - A 401 from the API ([`ProviderToken::rejected`]) drops the token; the next request logs in
//!   again (once: the caller retries once, then the record fails as any fetch failure does).
//! - A 429 from the auth endpoint keeps the lease for its `Retry-After`, so no container tries
//!   again before the provider said it may.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::time::Instant;

use super::credentials::CredentialSource;
use super::flows::AuthEndpoint;
use super::session::Session;
use super::store::SessionStore;
use super::{AuthError, metrics};

/// How long a renewal may hold the lease: a refresh and a login of 5 s each, and the writes.
const LEASE: Duration = Duration::from_secs(15);
/// How often a container waiting for another's renewal looks at the shared session again.
const WAIT_STEP: Duration = Duration::from_millis(200);
/// The longest one call to a token endpoint may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The `Authorization` header to send, and which session it came from (to report a 401).
#[derive(Clone)]
pub struct Bearer {
    header: HeaderValue,
    session: Arc<Session>,
}

impl Bearer {
    pub fn header(&self) -> HeaderValue {
        self.header.clone()
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// What a container knows of the session.
#[derive(Default)]
struct Cached {
    bearer: Option<Bearer>,
    /// The access token the API last refused: never taken from the store again.
    rejected: Option<String>,
}

struct Inner {
    provider: &'static str,
    endpoint: AuthEndpoint,
    credentials: CredentialSource,
    store: SessionStore,
    margin: Option<Duration>,
    /// This container's name on the lease.
    holder: String,
    cached: Mutex<Cached>,
    renewing: tokio::sync::Mutex<()>,
}

/// One provider API's token in one container; clones share it.
#[derive(Clone)]
pub struct ProviderToken {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ProviderToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderToken")
            .field("provider", &self.inner.provider)
            .field("flow", &self.inner.endpoint.flow())
            .finish_non_exhaustive()
    }
}

impl ProviderToken {
    /// `margin`: the configured renewal margin, `None` for the rule above.
    pub fn new(
        provider: &'static str,
        endpoint: AuthEndpoint,
        credentials: CredentialSource,
        store: SessionStore,
        margin: Option<Duration>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                endpoint,
                credentials,
                store,
                margin,
                holder: format!("{provider}-{:016x}", fastrand::u64(..)),
                cached: Mutex::default(),
                renewing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.inner
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh_cached(&self) -> Option<Bearer> {
        self.cached()
            .bearer
            .clone()
            .filter(|b| b.session.is_fresh(self.inner.margin))
    }

    fn usable(&self, session: &Session) -> bool {
        session.is_fresh(self.inner.margin)
            && self.cached().rejected.as_deref() != Some(session.access_token.as_str())
    }

    /// Keeps `session` as this container's token.
    fn keep(&self, session: Session) -> Result<Bearer, AuthError> {
        let mut header = HeaderValue::from_str(&format!("Bearer {}", session.access_token))
            .map_err(|_| AuthError::Malformed)?;
        header.set_sensitive(true);
        let bearer = Bearer {
            header,
            session: Arc::new(session),
        };
        self.cached().bearer = Some(bearer.clone());
        Ok(bearer)
    }

    /// The header to send now: the kept token while fresh, else a renewed one, by `deadline`.
    pub async fn bearer(&self, deadline: Instant) -> Result<Bearer, AuthError> {
        if let Some(bearer) = self.fresh_cached() {
            return Ok(bearer);
        }
        match tokio::time::timeout_at(deadline, self.renew(deadline)).await {
            Ok(result) => result,
            Err(_) => {
                metrics::failed(self.inner.provider, "out_of_time");
                Err(AuthError::OutOfTime)
            }
        }
    }

    /// The API answered 401 to `bearer`: it is never sent again, and the next [`bearer`]
    /// obtains a new token with a login.
    ///
    /// [`bearer`]: Self::bearer
    pub fn rejected(&self, bearer: &Bearer) {
        metrics::failed(self.inner.provider, "token_rejected");
        tracing::warn!(
            provider = self.inner.provider,
            "the API refused its access token (401); logging in again"
        );
        let mut cached = self.cached();
        cached.rejected = Some(bearer.session.access_token.clone());
        if cached
            .bearer
            .as_ref()
            .is_some_and(|b| b.session.access_token == bearer.session.access_token)
        {
            cached.bearer = None;
        }
    }

    async fn renew(&self, deadline: Instant) -> Result<Bearer, AuthError> {
        let _single_flight = self.inner.renewing.lock().await;
        if let Some(bearer) = self.fresh_cached() {
            return Ok(bearer);
        }
        let store = &self.inner.store;
        loop {
            match store.read().await {
                Ok(Some(session)) if self.usable(&session) => return self.keep(session),
                Ok(_) => {}
                Err(error) => {
                    metrics::failed_with(self.inner.provider, &error);
                    return Err(error);
                }
            }
            if store.try_lease(&self.inner.holder, LEASE).await? {
                let outcome = self.renew_holding_lease(deadline).await;
                let released = match &outcome {
                    // No container calls the endpoint again before the provider said it may.
                    Err(AuthError::RateLimited {
                        retry_after: Some(wait),
                    }) => store.try_lease(&self.inner.holder, *wait).await.map(drop),
                    _ => store.release(&self.inner.holder).await,
                };
                if let Err(error) = released {
                    tracing::warn!(provider = self.inner.provider, error = %error, "renewal lease not released; it runs out by itself");
                }
                if let Err(error) = &outcome {
                    metrics::failed_with(self.inner.provider, error);
                }
                return self.keep(outcome?);
            }
            // Another container renews: its session appears in the store.
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    fn call_timeout(deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(Instant::now())
            .min(CALL_TIMEOUT)
    }

    /// Under the lease: the stored session if another container renewed it meanwhile, else a
    /// refresh (when a live refresh token is at hand), else a login; written for everyone.
    async fn renew_holding_lease(&self, deadline: Instant) -> Result<Session, AuthError> {
        let provider = self.inner.provider;
        let current = self.inner.store.read().await?;
        if let Some(session) = current.as_ref().filter(|s| self.usable(s)) {
            return Ok(session.clone());
        }
        // A rejected token's session is not refreshed: the 401 may mean every token of the
        // client was revoked, and the documented answer to that is a login.
        let refresh_token = current
            .as_ref()
            .filter(|s| self.cached().rejected.as_deref() != Some(s.access_token.as_str()))
            .and_then(|s| s.usable_refresh_token().map(str::to_string));
        let refreshed = match refresh_token {
            Some(token) => {
                self.inner
                    .endpoint
                    .refresh(&token, Self::call_timeout(deadline))
                    .await
            }
            None => None,
        };
        let session = match refreshed {
            Some(Ok(session)) => {
                metrics::refresh(provider);
                tracing::info!(provider, "API token refreshed");
                session
            }
            Some(Err(error)) => {
                metrics::failed_with(provider, &error);
                tracing::warn!(provider, error = %error, "API token refresh failed; logging in");
                self.login(deadline).await?
            }
            None => self.login(deadline).await?,
        };
        if let Err(error) = self.inner.store.write(&session).await {
            // This container still has a good token; the others renew again, as if the lease
            // had run out.
            metrics::failed_with(provider, &error);
            tracing::warn!(provider, error = %error, "the renewed API session could not be shared");
        }
        Ok(session)
    }

    /// A login with the credentials in force; if the provider refuses them, once more with the
    /// credentials read again (a rotation).
    async fn login(&self, deadline: Instant) -> Result<Session, AuthError> {
        let provider = self.inner.provider;
        let credentials = self.inner.credentials.current().await;
        let mut outcome = self
            .inner
            .endpoint
            .login(&credentials, Self::call_timeout(deadline))
            .await;
        if matches!(outcome, Err(AuthError::BadCredentials { .. }))
            && self.inner.credentials.reread().await
        {
            tracing::info!(
                provider,
                "API credentials refused; logging in with the ones read again"
            );
            let credentials = self.inner.credentials.current().await;
            outcome = self
                .inner
                .endpoint
                .login(&credentials, Self::call_timeout(deadline))
                .await;
        }
        let session = outcome?;
        metrics::login(provider);
        tracing::info!(
            provider,
            expires_in_s = (session.access_expires_at_ms - session.obtained_at_ms) / 1000,
            "API login"
        );
        self.cached().rejected = None;
        Ok(session)
    }
}
