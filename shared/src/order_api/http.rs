//! The HTTP client of a provider's order API: a bearer token obtained by the provider's
//! documented login ([`ProviderToken`]), the configured base URL only,
//! per-attempt timeouts, retries with backoff bounded by the invocation's deadline. Which path
//! an order lives at is the provider's [`OrderPath`].

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::time::Instant;

use super::{FetchError, OrderApi, RetryPolicy, unwrap_order};
use crate::api_auth::{Bearer, ProviderToken};
use crate::api_budget::{BudgetError, Priority, RequestBudget};
use crate::order::OrderRef;
use crate::retry_after::parse_retry_after;

/// Where a provider's API serves an order: path segments under the base URL. Implementations
/// validate the id, so nothing unexpected reaches a URL.
pub trait OrderPath: Clone + Send + Sync {
    fn segments(&self, order: &OrderRef) -> Result<Vec<String>, FetchError>;
}

/// An [`OrderPath`] as a plain function: how the provider registry names each API's paths.
pub type PathsFn = fn(&OrderRef) -> Result<Vec<String>, FetchError>;

impl OrderPath for PathsFn {
    fn segments(&self, order: &OrderRef) -> Result<Vec<String>, FetchError> {
        self(order)
    }
}

/// Client of one provider API base URL. Build it once at init: it keeps its connections.
#[derive(Clone, Debug)]
pub struct HttpOrderClient<P> {
    http: reqwest::Client,
    base: Url,
    token: ProviderToken,
    policy: RetryPolicy,
    paths: P,
    /// The provider's request budget this client draws from, and at which priority.
    budget: Option<(RequestBudget, Priority)>,
}

impl<P: OrderPath + Default> HttpOrderClient<P> {
    /// `base` is the configured API origin, e.g. `https://api.octopuscards.example`; hosts are
    /// never taken from payloads.
    pub fn new(base: &str, token: ProviderToken, policy: RetryPolicy) -> Result<Self, String> {
        Self::with_paths(base, token, policy, P::default())
    }
}

impl<P: OrderPath> HttpOrderClient<P> {
    /// A client of the API at `base` serving orders at `paths`.
    pub fn with_paths(
        base: &str,
        token: ProviderToken,
        policy: RetryPolicy,
        paths: P,
    ) -> Result<Self, String> {
        let mut base = Url::parse(base).map_err(|e| format!("order API base URL: {e}"))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err("order API base URL must be http(s)".into());
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = crate::tls::http_client_builder()
            // An order fetch has no reason to be redirected: a redirect would send the token
            // wherever the answer points. Refused, and counted as a fetch failure.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.attempt_timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            http,
            base,
            token,
            policy,
            paths,
            budget: None,
        })
    }

    /// Every request first takes a permit of `budget` at `priority`.
    pub fn with_budget(mut self, budget: RequestBudget, priority: Priority) -> Self {
        self.budget = Some((budget, priority));
        self
    }

    /// A permit for one request: a delivery waits for room within `deadline`, a poll is
    /// deferred at once.
    async fn permit(&self, deadline: Instant) -> Result<(), FetchError> {
        let Some((budget, priority)) = &self.budget else {
            return Ok(());
        };
        match budget.take(*priority, deadline).await {
            Ok(()) => Ok(()),
            Err(BudgetError::NoRoom { wait }) => Err(match priority {
                Priority::Poll => FetchError::Deferred { wait },
                Priority::Delivery => FetchError::RateLimited {
                    retry_after: Some(wait),
                },
            }),
            Err(BudgetError::Store(reason)) => Err(FetchError::Transport(format!(
                "the request budget is unavailable: {reason}"
            ))),
        }
    }

    /// The URL of an order: the base with encoded path segments appended.
    pub fn order_url(&self, order: &OrderRef) -> Result<Url, FetchError> {
        let path = self.paths.segments(order)?;
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| FetchError::InvalidOrderId(order.order_id.clone()))?
            .pop_if_empty()
            .extend(&path);
        Ok(url)
    }

    async fn attempt(&self, url: &Url, bearer: &Bearer, timeout: Duration) -> Attempt {
        let response = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, bearer.header())
            .header("accept", "application/json")
            .timeout(timeout)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Attempt::Failed(FetchError::Timeout),
            Err(e) => return Attempt::Failed(FetchError::Transport(transport_cause(&e))),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = parse_retry_after(
                response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            return Attempt::RateLimited(wait);
        }
        if status.is_redirection() {
            tracing::warn!(
                status = status.as_u16(),
                "order API answered with a redirect; not followed (the configured base URL may be wrong)"
            );
            return Attempt::Failed(FetchError::Redirected {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Attempt::Failed(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let has_more = response
            .headers()
            .get("x-has-more")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().eq_ignore_ascii_case("true"));
        match response.bytes().await {
            Ok(body) => Attempt::Done(body.to_vec(), has_more),
            Err(e) if e.is_timeout() => Attempt::Failed(FetchError::Timeout),
            Err(e) => Attempt::Failed(FetchError::Transport(transport_cause(&e))),
        }
    }
}

enum Attempt {
    /// The body, and the `X-Has-More` header of a list.
    Done(Vec<u8>, Option<bool>),
    RateLimited(Option<Duration>),
    Failed(FetchError),
}

/// The cause of a transport error without the URL (which is ours anyway) or anything else.
fn transport_cause(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "connection failed".into()
    } else if error.is_request() {
        "request failed".into()
    } else {
        "transport error".into()
    }
}

impl<P: OrderPath> OrderApi for HttpOrderClient<P> {
    async fn fetch(
        &self,
        order: &OrderRef,
        deadline: Instant,
    ) -> Result<serde_json::Value, FetchError> {
        let url = self.order_url(order)?;
        let what = format!("{} {}", order.kind, order.order_id);
        let (body, _) = self.get(&url, &what, deadline).await?;
        unwrap_order(&body)
    }
}

impl<P: OrderPath> HttpOrderClient<P> {
    /// One page of a list under the base URL (`path`, then `query`): its items (a bare JSON
    /// array, or one wrapped in `data`) and whether the `X-Has-More` header says more follow.
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, String)],
        deadline: Instant,
    ) -> Result<(Vec<serde_json::Value>, bool), FetchError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| FetchError::Malformed)?
            .pop_if_empty()
            .extend(path.split('/').filter(|segment| !segment.is_empty()));
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let (body, has_more) = self.get(&url, path, deadline).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| FetchError::Malformed)?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Object(mut map) => match map.remove("data") {
                Some(serde_json::Value::Array(items)) => items,
                _ => return Err(FetchError::Malformed),
            },
            _ => return Err(FetchError::Malformed),
        };
        Ok((items, has_more.unwrap_or(false)))
    }

    /// GET with the token, retries and backoff bounded by `deadline`; `what` names the
    /// resource in logs.
    async fn get(
        &self,
        url: &Url,
        what: &str,
        deadline: Instant,
    ) -> Result<(Vec<u8>, Option<bool>), FetchError> {
        let mut last_error = FetchError::OutOfTime;
        let mut logged_in_again = false;
        for attempt in 0..self.policy.max_attempts {
            if self.policy.attempt_timeout(deadline).is_none() {
                return Err(last_error);
            }
            match self.permit(deadline).await {
                Ok(()) => {}
                Err(error) if error.is_transient() => {
                    last_error = error;
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    continue;
                }
                Err(error) => return Err(error),
            }
            let bearer = self
                .token
                .bearer(deadline)
                .await
                .map_err(FetchError::Auth)?;
            // Obtaining the permit and the token may have taken some of the time left.
            let Some(timeout) = self.policy.attempt_timeout(deadline) else {
                return Err(last_error);
            };
            let wait = match self.attempt(url, &bearer, timeout).await {
                Attempt::Done(body, has_more) => return Ok((body, has_more)),
                Attempt::RateLimited(retry_after) => {
                    // Every caller of the budget waits it out, not only this one.
                    if let (Some((budget, _)), Some(wait)) = (&self.budget, retry_after) {
                        budget.block_for(wait).await;
                    }
                    last_error = FetchError::RateLimited { retry_after };
                    match retry_after {
                        Some(wait) if self.policy.fits(wait, deadline) => wait,
                        Some(_) => return Err(last_error),
                        None => self.policy.backoff(attempt),
                    }
                }
                // The token was refused (revoked, or expired early): one new login and one
                // retry at once; a second 401 fails the fetch.
                Attempt::Failed(FetchError::Status { status: 401 }) if !logged_in_again => {
                    logged_in_again = true;
                    self.token.rejected(&bearer);
                    last_error = FetchError::Status { status: 401 };
                    continue;
                }
                Attempt::Failed(error) if error.is_transient() => {
                    last_error = error;
                    self.policy.backoff(attempt)
                }
                Attempt::Failed(error) => return Err(error),
            };
            if attempt + 1 == self.policy.max_attempts || !self.policy.fits(wait, deadline) {
                break;
            }
            tracing::info!(
                resource = %what,
                attempt = attempt + 1,
                error = %last_error,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "order fetch failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
        Err(last_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::octopus::OctopusOrderClient;

    fn token(_secret: &str) -> ProviderToken {
        crate::api_auth::unused_token("octopus")
    }

    #[test]
    fn base_must_be_http() {
        let policy = RetryPolicy::default;
        assert!(OctopusOrderClient::new("ftp://x", token("s"), policy()).is_err());
        assert!(OctopusOrderClient::new("not a url", token("s"), policy()).is_err());
    }

    #[test]
    fn debug_output_hides_the_credentials() {
        let c = OctopusOrderClient::new("https://x", token("SECRET-123"), RetryPolicy::default())
            .unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
    }
}
