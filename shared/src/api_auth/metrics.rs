//! The auth figures, as EMF lines: `ApiLogin`, `ApiTokenRefresh` and `ApiAuthFailed` (by
//! `reason`), each by `provider`. The template alarms on `ApiAuthFailed`.

use time::OffsetDateTime;

use super::AuthError;
use crate::metrics::{emf_line, emit};

pub fn login(provider: &str) {
    emit(&emf_line(
        OffsetDateTime::now_utc(),
        &[("provider", provider)],
        &[("ApiLogin", 1.0, "Count")],
    ));
}

pub fn refresh(provider: &str) {
    emit(&emf_line(
        OffsetDateTime::now_utc(),
        &[("provider", provider)],
        &[("ApiTokenRefresh", 1.0, "Count")],
    ));
}

/// A failure: a login or refresh refused or unreachable, or an API answering 401 to a token
/// (`reason` "token_rejected").
pub fn failed(provider: &str, reason: &str) {
    emit(&emf_line(
        OffsetDateTime::now_utc(),
        &[("provider", provider), ("reason", reason)],
        &[("ApiAuthFailed", 1.0, "Count")],
    ));
}

pub fn failed_with(provider: &str, error: &AuthError) {
    failed(provider, error.metric_reason());
}
