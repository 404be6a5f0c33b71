//! What a stand-in answers, independent of the HTTP server that carries it.

use serde_json::{Value, json};

/// A status, a JSON body and, for a 429, the `Retry-After` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            retry_after: None,
        }
    }

    /// Octopus' error form ("Authentication" page, "Error Format"; "Best Practices: Rate
    /// limits" for the 429): `{"error":{"name","code","message"}}`.
    pub fn octopus_error(status: u16, name: &str, code: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({"error": {"name": name, "code": code, "message": message}}),
            retry_after: None,
        }
    }

    /// Octopus' 401 for a missing, unknown, expired or revoked token, or bad credentials.
    pub fn octopus_unauthorized(message: &str) -> Self {
        Self::octopus_error(401, "UnauthorizedError", "UNAUTHORIZED", message)
    }

    /// Octopus' 429, with the seconds until the rolling window has room again.
    pub fn octopus_rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::octopus_error(
                429,
                "TooManyRequestsError",
                "TOO_MANY_REQUESTS",
                "Rate limit exceeded",
            )
        }
    }

    /// An OAuth 2.0 token endpoint error (RFC 6749 section 5.2). Optty's "Create Access Token"
    /// page documents no error body; this standard form is an assumption.
    pub fn oauth_error(status: u16, error: &str) -> Self {
        Self {
            status,
            body: json!({"error": error}),
            retry_after: None,
        }
    }
}
