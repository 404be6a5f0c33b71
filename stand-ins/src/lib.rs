//! Stand-ins of the providers' APIs, written from their public documents and as strict as them:
//! tokens that expire and are revoked, logins and refreshes limited per minute, 429 with
//! `Retry-After`, and each provider's documented error bodies. `hookline provider-stub` serves
//! them over axum ([`http`]); the integration tests mount them on wiremock ([`mock`]).
//!
//! Nothing here is linked by a Lambda.

pub mod answer;
pub mod http;
#[cfg(feature = "wiremock")]
pub mod mock;
pub mod octopus_auth;
pub mod optty_auth;
pub mod rate_limit;
mod tokens;

pub use answer::Answer;
pub use octopus_auth::{OctopusAuth, OctopusAuthConfig};
pub use optty_auth::{OpttyAuth, OpttyAuthConfig};
pub use rate_limit::RollingWindow;

/// A token no client could guess, as the providers' opaque JWTs are to a client.
pub(crate) fn new_token(prefix: &str) -> String {
    format!(
        "{prefix}.{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// The bearer token of an `Authorization` header, if it has one.
pub(crate) fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let value = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}
