//! The provider APIs' logins in the tests: the strict stand-ins of `hookline-stand-ins` mounted
//! on a test's wiremock server, and the clients' tokens that log in to them. No test reaches an
//! order endpoint with a static token: every request to a mounted server without a live token
//! gets the provider's documented 401.

use std::sync::Arc;

use hookline::api_auth::{
    AuthEndpoint, AuthFlow, CredentialSource, Credentials, ProviderToken, SessionStore,
};
use hookline::providers::{octopus, optty};
use hookline_stand_ins::mock::{self, TokenCheck};
use hookline_stand_ins::{OctopusAuth, OctopusAuthConfig, OpttyAuth, OpttyAuthConfig};
use wiremock::MockServer;

/// The stand-in logins mounted on one server.
pub struct StandInAuth {
    pub octopus: Arc<OctopusAuth>,
    pub optty: Arc<OpttyAuth>,
}

/// Octopus' and Optty's logins on `server` (as the local stand-in serves both on one host), with
/// the published test credentials and the documented lifetimes and sandbox limits.
pub async fn mount_logins(server: &MockServer) -> StandInAuth {
    mount_logins_with(
        server,
        OctopusAuthConfig::sandbox(octopus::API_TEST_KEY, octopus::API_TEST_SECRET),
        OpttyAuthConfig::new(optty::API_TEST_CLIENT_ID, optty::API_TEST_CLIENT_SECRET),
    )
    .await
}

pub async fn mount_logins_with(
    server: &MockServer,
    octopus: OctopusAuthConfig,
    optty: OpttyAuthConfig,
) -> StandInAuth {
    let auth = StandInAuth {
        octopus: Arc::new(OctopusAuth::new(octopus)),
        optty: Arc::new(OpttyAuth::new(optty)),
    };
    mock::mount_octopus_endpoints(server, &auth.octopus).await;
    mock::mount_optty_endpoints(server, &auth.optty).await;
    let checks: Vec<Arc<dyn TokenCheck>> = vec![auth.octopus.clone(), auth.optty.clone()];
    mock::mount_guard(server, checks).await;
    auth
}

/// A client token that logs in to the Octopus stand-in at `base` with the test credentials,
/// its session in `store`.
pub fn octopus_token_in(base: &str, store: SessionStore) -> ProviderToken {
    let endpoint = AuthEndpoint::new(AuthFlow::OctopusJwt, base).expect("auth URL");
    let credentials = Credentials::new(octopus::API_TEST_KEY, octopus::API_TEST_SECRET)
        .expect("test credentials");
    ProviderToken::new(
        "octopus",
        endpoint,
        CredentialSource::fixed(credentials),
        store,
        None,
    )
}

/// [`octopus_token_in`] with a session of its own.
pub fn octopus_token(base: &str) -> ProviderToken {
    octopus_token_in(base, SessionStore::memory())
}

/// A client token from the Optty stand-in's `/token` under `base`.
pub fn optty_token(base: &str) -> ProviderToken {
    let endpoint = AuthEndpoint::new(
        AuthFlow::ClientCredentials { scope: "api-user" },
        &format!("{base}/token"),
    )
    .expect("auth URL");
    let credentials = Credentials::new(optty::API_TEST_CLIENT_ID, optty::API_TEST_CLIENT_SECRET)
        .expect("test credentials");
    ProviderToken::new(
        "optty",
        endpoint,
        CredentialSource::fixed(credentials),
        SessionStore::memory(),
        None,
    )
}
