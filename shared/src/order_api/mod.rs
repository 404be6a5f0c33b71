//! Follow-up fetches of full orders from a provider's API, for events that only announce a
//! change (the voucher codes, PINs and eSIM activation codes are only in the order).

mod http;
mod memory;
mod retry;

use std::future::Future;
use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;

pub use http::{HttpOrderClient, OrderPath, PathsFn};
pub use memory::MemoryOrderApi;
pub use retry::RetryPolicy;

use crate::api_auth::AuthError;
use crate::order::OrderRef;

/// Why an order could not be fetched. Never holds a response body (it may hold codes), an API
/// token or a credential.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("order API answered HTTP {status}")]
    Status { status: u16 },
    #[error("order API answered with a redirect (HTTP {status}); redirects are not followed")]
    Redirected { status: u16 },
    #[error("order API answered 429 and asked to wait {retry_after:?}, more than the time left")]
    RateLimited { retry_after: Option<Duration> },
    #[error("order API did not answer in time")]
    Timeout,
    #[error("order API unreachable: {0}")]
    Transport(String),
    #[error("order API answered with a body that is not a JSON order")]
    Malformed,
    #[error("order id {0:?} is not valid for this provider")]
    InvalidOrderId(String),
    #[error("no time left in this invocation to fetch the order")]
    OutOfTime,
    #[error("no order API is configured for provider {0}")]
    NotConfigured(String),
    #[error("no API token: {0}")]
    Auth(AuthError),
    /// A poll the API's request budget has no room for now: polled again after `wait`.
    #[error("the API's request budget defers this poll by {wait:?}")]
    Deferred { wait: Duration },
}

impl FetchError {
    /// Worth retrying within the same invocation.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout | Self::Transport(_) | Self::Status { status: 500..=599 }
        )
    }

    /// The `reason` of the `FetchFailed` metric.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::Status { status: 500..=599 } => "http_5xx",
            Self::Redirected { .. } => "redirect",
            Self::Status { .. } => "http_4xx",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::Malformed => "malformed",
            Self::InvalidOrderId(_) => "invalid_id",
            Self::OutOfTime => "out_of_time",
            Self::NotConfigured(_) => "not_configured",
            Self::Auth(_) => "auth",
            Self::Deferred { .. } => "deferred",
        }
    }
}

/// A provider's order API.
pub trait OrderApi: Send + Sync {
    /// Fetches the full order, giving up by `deadline`. The result is the order object itself
    /// (an API's `{"data": ...}` wrapper removed).
    fn fetch(
        &self,
        order: &OrderRef,
        deadline: Instant,
    ) -> impl Future<Output = Result<serde_json::Value, FetchError>> + Send;
}

/// An order API's answer unwrapped: a bare order object, or one wrapped in `data`.
pub fn unwrap_order(body: &[u8]) -> Result<serde_json::Value, FetchError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| FetchError::Malformed)?;
    let order = match value {
        serde_json::Value::Object(mut map) if map.get("data").is_some_and(|d| d.is_object()) => {
            map.remove("data").unwrap_or_default()
        }
        other => other,
    };
    if order.is_object() {
        Ok(order)
    } else {
        Err(FetchError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bare_and_wrapped_orders() {
        let bare = unwrap_order(br#"{"id":1,"status":"DELIVERED"}"#).unwrap();
        let wrapped = unwrap_order(br#"{"data":{"id":1,"status":"DELIVERED"}}"#).unwrap();
        assert_eq!(bare, wrapped);
    }

    #[test]
    fn refuses_what_is_not_an_order() {
        for body in [&b"[1,2]"[..], b"not json", b"\"x\"", b"{\"data\":[1]"] {
            assert_eq!(unwrap_order(body), Err(FetchError::Malformed));
        }
    }
}
