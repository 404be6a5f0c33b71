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
    DocumentedHosts, EventNames, OrderApiSpec, ProviderSpec, Settings, SignRequest, Signed,
    WatchRules, WebhookRoute,
};
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::order::{OrderKind, OrderRef};
use crate::order_api::{FetchError, OrderPath};
use crate::signature::{Secret, SecretSet};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// Signs every Octopus sample in `events/`; what `hookline serve` verifies with by default.
pub const TEST_SECRET: &str = "hookline-octopus-test-secret";
/// The bearer token the stand-in Octopus API expects, and `hookline serve` sends.
pub const API_TEST_TOKEN: &str = "hookline-octopus-api-test-token";

/// Origin of the Octopus Cards API, e.g. `https://api.example.com`.
pub const API_BASE_URL: &str = "OCTOPUS_API_BASE_URL";
/// Bearer token of the Octopus Cards API (local runs).
pub const API_TOKEN: &str = "OCTOPUS_API_TOKEN";
/// In AWS: the Secrets Manager secret holding the Octopus API token.
pub const API_TOKEN_SECRET_ID: &str = "OCTOPUS_API_TOKEN_SECRET_ID";

const WEBHOOK_SECRETS: SecretList = SecretList {
    env_prefix: "OCTOPUS",
    parameter: "OctopusWebhookSecretName",
    optional: false,
    test_value: TEST_SECRET,
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
    plan: plan::plan,
    confirm: None,
    order_api: Some(OrderApiSpec {
        base_url_var: API_BASE_URL,
        token_var: API_TOKEN,
        token_secret_id_var: API_TOKEN_SECRET_ID,
        required: true,
        // Octopus' "Environments" page.
        documented_hosts: Some(DocumentedHosts {
            sandbox: "https://sandbox-api.octopuscards.io",
            production: "https://api.octopuscards.io",
        }),
        paths: order_paths,
        test_token: API_TEST_TOKEN,
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
