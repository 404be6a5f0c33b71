//! Optty: notifications authenticated by a path token, and only hints: every one is confirmed
//! with Optty's order API. Its webhook scheme (`webhook`), its processing rules and the state a
//! fetched order shows (`plan`), its order API path (`api`).

mod api;
mod plan;
mod webhook;

pub use api::{OpttyOrderClient, OpttyPaths, optty_reference};
pub use webhook::*;

use super::{
    AuthSpec, DocumentedHosts, EventNames, OrderApiSpec, ProviderSpec, Settings, SignRequest,
    Signed, StackSpec, WebhookRoute,
};
use crate::api_auth::AuthFlow;
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::order::OrderRef;
use crate::order_api::{FetchError, OrderPath};
use crate::signature::SecretSet;
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// The route's test path token: `/webhooks/optty/hookline-optty-test-path-token`.
pub const TEST_TOKEN: &str = "hookline-optty-test-path-token";
/// The client credentials the stand-in Optty token endpoint accepts, and `hookline serve`
/// uses unless told otherwise.
pub const API_TEST_CLIENT_ID: &str = "hookline-optty-test-client-id";
pub const API_TEST_CLIENT_SECRET: &str = "hookline-optty-test-client-secret";

/// Optional: base URL of the Optty merchant API (Optty notifications fail without it).
pub const API_BASE_URL: &str = "OPTTY_API_BASE_URL";
/// The client credentials (local runs); required when the API is on.
pub const CLIENT_ID: &str = "OPTTY_CLIENT_ID";
pub const CLIENT_SECRET: &str = "OPTTY_CLIENT_SECRET";
/// The token endpoint; by default the documented one of the environment.
pub const AUTH_URL: &str = "OPTTY_AUTH_URL";
/// In AWS: the Secrets Manager secret holding `{"client_id","client_secret"}`.
pub const API_CREDENTIALS_SECRET_ID: &str = "OPTTY_API_CREDENTIALS_SECRET_ID";
/// In AWS: the Secrets Manager secret the containers share the Optty token in.
pub const API_SESSION_SECRET_ID: &str = "OPTTY_API_SESSION_SECRET_ID";

const PATH_TOKENS: SecretList = SecretList {
    env_prefix: "OPTTY",
    parameter: "OpttyPathTokenSecretName",
    optional: false,
    test_value: TEST_TOKEN,
    description: "Secrets Manager secret with the active Optty path tokens (JSON array); Optty \
        posts to /webhooks/optty/{token}. Empty leaves the Optty receiver out.",
};

/// The secret lists the receiver reads: its path tokens.
pub const SECRETS: &[SecretList] = &[PATH_TOKENS];

/// The receiver's scheme.
pub fn scheme(secrets: &LoadedSecrets, _: Settings<'_>) -> Result<OpttyScheme, SetupError> {
    Ok(OpttyScheme::new(
        secrets.required(PATH_TOKENS.env_prefix, SecretSet::parse)?,
    ))
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: "optty",
    template_name: "Optty",
    routes: &[WebhookRoute {
        name: "optty",
        route_key: "POST /webhooks/optty/{token}",
        events: EventNames::Exactly(PROVIDER),
        secrets: PATH_TOKENS,
        test_secret: TEST_TOKEN,
        sign,
        sender: super::first_listed,
    }],
    secrets: SECRETS,
    settings: &[],
    scheme: |secrets, settings| super::boxed(scheme(secrets, settings)),
    stack: StackSpec {
        description: "Authenticates Optty notifications by path token and enqueues them; the processor confirms each with Optty's API.",
        always_deployed: false,
        rejected_alarm: "Many Optty notifications refused (wrong path token or malformed); someone may be probing the route.",
        url_hint: "Give Optty this URL followed by one of the active path tokens.",
        route_metrics: &[],
    },
    plan: plan::plan,
    confirm: Some(plan::confirm),
    order_api: Some(OrderApiSpec {
        base_url_var: API_BASE_URL,
        // Optty's "Create Access Token" page: OAuth 2.0 client credentials, scope api-user,
        // tokens valid 24 hours, at its own auth host per environment.
        auth: AuthSpec {
            flow: AuthFlow::ClientCredentials { scope: "api-user" },
            credential_vars: [CLIENT_ID, CLIENT_SECRET],
            credentials_secret_id_var: API_CREDENTIALS_SECRET_ID,
            session_secret_id_var: API_SESSION_SECRET_ID,
            token_url: Some((
                AUTH_URL,
                DocumentedHosts {
                    sandbox: "https://auth.qa.optty.com/token",
                    production: "https://auth.optty.com/token",
                },
            )),
            test_credentials: [API_TEST_CLIENT_ID, API_TEST_CLIENT_SECRET],
            retired_token_var: "OPTTY_API_KEY",
        },
        // Optty documents no request limit.
        get_limits: None,
        required: false,
        // Optty's "Direct API Integration" page gives the sandbox API host; the production one
        // is an assumption, by its authentication hosts (auth.qa.optty.com, auth.optty.com).
        documented_hosts: Some(DocumentedHosts {
            sandbox: "https://api.qa.optty.com",
            production: "https://api.optty.com",
        }),
        paths: order_paths,
        stub_routes: &[("/orders/{id}", "optty-orders")],
    }),
    forwarded_fields: Some(FORWARDED_FIELDS),
    watch: None,
    test_event,
};

/// Optty signs nothing: the secret is the path token.
/// A test event in the shape of an Optty notification. The receiver requires a status and an
/// order reference; the processor plans a test event before reading either, so the reference
/// is never fetched.
fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({
        "event": TEST_EVENT_TYPE,
        "status": "TEST",
        "transactionId": event.id,
        "orderReference": event.id,
        "orderDate": event.at_rfc3339(),
    })
    .to_string()
}

fn sign(request: &SignRequest<'_>) -> Result<Signed, String> {
    Ok(Signed::new(
        vec![("content-type", "application/json".into())],
        Some(request.secret.to_string()),
    ))
}

fn order_paths(order: &OrderRef) -> Result<Vec<String>, FetchError> {
    OpttyPaths.segments(order)
}

/// Optty notification fields worth passing on (its status arrives as `notified_status`).
pub const FORWARDED_FIELDS: &[&str] = &[
    "event",
    "notified_status",
    "transactionId",
    "orderId",
    "orderReference",
    "reference",
    "currency",
    "amount",
    "transactionReference",
    "paymentStatus",
    "provider",
    "orderDate",
    "preferredDisplayMode",
    "incontextDisplayMode",
    "cancelledBy",
    "captureStatus",
    "captureReference",
    "rejectReason",
    "refundReference",
];
