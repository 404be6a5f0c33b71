//! Octopus Cards: vouchers, eSIM and wallet. Its webhook scheme (`webhook`), its processing
//! rules and state table (`plan`), its order API paths (`api`) and its watch rules
//! (`observe`: its documents ask to poll eSIM orders, and no webhook follows a partial
//! delivery).

mod api;
mod observe;
mod plan;
pub mod transactions;
mod webhook;

pub use api::{OctopusOrderClient, OctopusPaths, octopus_order_id};
pub use observe::observe;
pub use webhook::*;

use super::{
    AuthSpec, DocumentedHosts, DocumentedLimits, EventNames, OrderApiSpec, ProviderSpec, Settings,
    SignRequest, Signed, StackSpec, WatchRules, WebhookRoute,
};
use crate::api_auth::AuthFlow;
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::order::{OrderKind, OrderRef};
use crate::order_api::{FetchError, OrderPath};
use crate::signature::{Secret, SecretSet};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// Signs every Octopus sample in `events/`; what `hookline serve` verifies with by default.
pub const TEST_SECRET: &str = "hookline-octopus-test-secret";
/// The API key and secret the stand-in Octopus API accepts at `/auth/login`, and `hookline
/// serve` logs in with unless told otherwise.
pub const API_TEST_KEY: &str = "hookline-octopus-test-api-key";
pub const API_TEST_SECRET: &str = "hookline-octopus-test-api-secret";

/// Origin of the Octopus Cards API, e.g. `https://api.example.com`.
pub const API_BASE_URL: &str = "OCTOPUS_API_BASE_URL";
/// The API key and secret (local runs): Octopus' "Login" takes them as username and password.
pub const API_KEY: &str = "OCTOPUS_API_KEY";
pub const API_SECRET: &str = "OCTOPUS_API_SECRET";
/// In AWS: the Secrets Manager secret holding `{"api_key","api_secret"}`.
pub const API_CREDENTIALS_SECRET_ID: &str = "OCTOPUS_API_CREDENTIALS_SECRET_ID";
/// In AWS: the Secrets Manager secret the containers share the Octopus session in.
pub const API_SESSION_SECRET_ID: &str = "OCTOPUS_API_SESSION_SECRET_ID";

const WEBHOOK_SECRETS: SecretList = SecretList {
    env_prefix: "OCTOPUS",
    parameter: "OctopusWebhookSecretName",
    optional: false,
    test_value: TEST_SECRET,
    description: "Name of the Secrets Manager secret holding the active Octopus Cards webhook \
        secrets, as a JSON array of strings or a comma-separated list (two during a rotation). The \
        receiver reads it at start and every SecretsRefreshSeconds.",
};

/// The secret lists the receiver reads.
pub const SECRETS: &[SecretList] = &[WEBHOOK_SECRETS];

/// The receiver's scheme.
pub fn scheme(secrets: &LoadedSecrets, _: Settings<'_>) -> Result<OctopusScheme, SetupError> {
    Ok(OctopusScheme::new(
        secrets.required(WEBHOOK_SECRETS.env_prefix, SecretSet::parse)?,
    ))
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: "octopus",
    template_name: "Octopus",
    routes: &[WebhookRoute {
        name: "octopus",
        route_key: "ANY /webhooks/octopus",
        events: EventNames::Exactly(PROVIDER),
        secrets: WEBHOOK_SECRETS,
        test_secret: TEST_SECRET,
        sign,
        sender: super::first_listed,
    }],
    secrets: SECRETS,
    settings: &[],
    scheme: |secrets, settings| super::boxed(scheme(secrets, settings)),
    stack: StackSpec {
        description: "Verifies Octopus Cards webhooks and enqueues them to the ingest queue.",
        always_deployed: true,
        rejected_alarm: "Many Octopus webhooks rejected (signature, stale, malformed); a secret rotation or an attack.",
        url_hint: "Give this URL to Octopus Cards as the webhook endpoint.",
        route_metrics: &[],
    },
    plan: plan::plan,
    confirm: None,
    order_api: Some(OrderApiSpec {
        base_url_var: API_BASE_URL,
        // Octopus' "Authentication" pages: JWT, login with the API key and secret, refresh
        // token revoked once used (api_auth::flows cites them).
        auth: AuthSpec {
            flow: AuthFlow::OctopusJwt,
            credential_vars: [API_KEY, API_SECRET],
            credentials_secret_id_var: API_CREDENTIALS_SECRET_ID,
            session_secret_id_var: API_SESSION_SECRET_ID,
            token_url: None,
            test_credentials: [API_TEST_KEY, API_TEST_SECRET],
            retired_token_var: "OCTOPUS_API_TOKEN",
        },
        // "Best Practices: Rate limits": GET (orders, wallets, catalogue) per account and minute.
        get_limits: Some(DocumentedLimits {
            sandbox: 600,
            production: 300,
        }),
        required: true,
        // Octopus' "Environments" page.
        documented_hosts: Some(DocumentedHosts {
            sandbox: "https://sandbox-api.octopuscards.io",
            production: "https://api.octopuscards.io",
        }),
        paths: order_paths,
        stub_routes: &[
            ("/api/v1/orders/{id}", "orders"),
            ("/api/v1/esim/orders/{id}", "esim-orders"),
            ("/api/v1/topups/orders/{id}", "topup-orders"),
            (transactions::DEFAULT_TRANSACTIONS_PATH, "transactions"),
        ],
    }),
    forwarded_fields: Some(FORWARDED_FIELDS),
    watch: Some(WatchRules {
        check: check_watch,
        observe,
    }),
    test_event,
};

/// A test event in the shape of an Octopus webhook: id, type, time, empty data.
fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({
        "id": event.id,
        "type": TEST_EVENT_TYPE,
        "created_at": event.at_rfc3339(),
        "data": {},
    })
    .to_string()
}

fn sign(request: &SignRequest<'_>) -> Result<Signed, String> {
    let key = Secret::new(request.secret.as_bytes());
    let headers =
        signed_headers(&key, request.body, request.timestamp).map_err(|e| e.to_string())?;
    Ok(Signed::new(headers, None))
}

fn order_paths(order: &OrderRef) -> Result<Vec<String>, FetchError> {
    OctopusPaths.segments(order)
}

/// Voucher and eSIM orders, by the Octopus API's integer ids.
fn check_watch(kind: OrderKind, order_id: &str) -> Result<(), String> {
    if !matches!(
        kind,
        OrderKind::Voucher | OrderKind::Esim | OrderKind::Topup
    ) {
        return Err("kind must be voucher, esim or topup".into());
    }
    octopus_order_id(order_id)
        .map(drop)
        .map_err(|_| "order_id must be a positive integer".to_string())
}

/// Octopus webhook `data` fields (vouchers, eSIM, wallet), as its documents and samples give them.
pub const FORWARDED_FIELDS: &[&str] = &[
    "id",
    "reference_code",
    "client_reference",
    "status",
    "product_name",
    "denomination",
    "quantity",
    "delivered_quantity",
    "delivered_on",
    "created_at",
    "amount",
    "currency",
    "country_code",
    "data_amount_gb",
    "validity_days",
    "iccid",
    "is_installed",
    "activation_status",
    "failure_code",
    "failure_reason",
    "is_user_fixable",
    "transaction_id",
    "balance_after",
    "type",
    "product_id",
    "variant_name",
    "status_text",
    "completed_at",
    "wallet_id",
    "currency_id",
    "remarks",
];
