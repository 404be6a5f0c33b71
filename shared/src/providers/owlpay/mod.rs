//! OwlPay and OwlPay Harbor: one receiver, two routes with their own header and secrets. Its
//! webhook scheme (`webhook`) and its processing rules (`plan`).

mod plan;
mod webhook;

pub use webhook::*;

use super::{EventNames, ProviderSpec, Settings, SignRequest, Signed, StackSpec, WebhookRoute};
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::signature::{Secret, SecretSet};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// Sign the OwlPay and Harbor samples in `events/`; what `hookline serve` verifies with.
pub const TEST_SECRET: &str = "hookline-owlpay-test-secret";
pub const HARBOR_TEST_SECRET: &str = "hookline-harbor-test-secret";

const WEBHOOK_SECRETS: SecretList = SecretList {
    env_prefix: "OWLPAY",
    parameter: "OwlPayWebhookSecretName",
    optional: false,
    test_value: TEST_SECRET,
    description: "Secrets Manager secret with the active OwlPay webhook secrets (JSON array; add \
        the new one when OwlPay sends webhook.renew.secret). Empty leaves the OwlPay receiver out.",
};

/// Harbor is optional: without its secrets its route answers 404.
const HARBOR_SECRETS: SecretList = SecretList {
    env_prefix: "OWLPAY_HARBOR",
    parameter: "OwlPayHarborWebhookSecretName",
    optional: true,
    test_value: HARBOR_TEST_SECRET,
    description: "Secrets Manager secret with the active OwlPay Harbor webhook secrets. Empty: \
        the /webhooks/owlpay-harbor route answers 404.",
};

/// The secret lists the receiver reads.
pub const SECRETS: &[SecretList] = &[WEBHOOK_SECRETS, HARBOR_SECRETS];

/// The receiver's scheme.
pub fn scheme(secrets: &LoadedSecrets, _: Settings<'_>) -> Result<OwlPayScheme, SetupError> {
    Ok(OwlPayScheme::new(
        secrets.required(WEBHOOK_SECRETS.env_prefix, SecretSet::parse)?,
        secrets.optional(HARBOR_SECRETS.env_prefix, SecretSet::parse)?,
    ))
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: "owlpay",
    template_name: "OwlPay",
    routes: &[
        WebhookRoute {
            name: "owlpay",
            route_key: "POST /webhooks/owlpay",
            events: EventNames::Exactly(PROVIDER),
            secrets: WEBHOOK_SECRETS,
            test_secret: TEST_SECRET,
            sign: sign_owlpay,
            sender: super::first_listed,
        },
        WebhookRoute {
            name: "owlpay-harbor",
            route_key: "POST /webhooks/owlpay-harbor",
            events: EventNames::Exactly(HARBOR_PROVIDER),
            secrets: HARBOR_SECRETS,
            test_secret: HARBOR_TEST_SECRET,
            sign: sign_harbor,
            sender: super::first_listed,
        },
    ],
    secrets: SECRETS,
    settings: &[],
    scheme: |secrets, settings| super::boxed(scheme(secrets, settings)),
    stack: StackSpec {
        description: "Verifies OwlPay and OwlPay Harbor webhooks and enqueues them.",
        always_deployed: false,
        rejected_alarm: "Many OwlPay webhooks rejected; a renewed secret not yet added, or an attack.",
        url_hint: "Give this URL to OwlPay (Harbor takes the same URL ending in -harbor).",
        route_metrics: &["SecretRenewalAnnounced"],
    },
    plan: plan::plan,
    confirm: None,
    order_api: None,
    forwarded_fields: None,
    watch: None,
    test_event,
};

/// A test event in the shape of an OwlPay (and Harbor) webhook: uuid, event, time, empty data.
fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({
        "uuid": event.id,
        "event": TEST_EVENT_TYPE,
        "created_at": event.at_rfc3339(),
        "data": {},
    })
    .to_string()
}

fn sign_owlpay(request: &SignRequest<'_>) -> Result<Signed, String> {
    Ok(sign(Variant::OwlPay, request))
}

fn sign_harbor(request: &SignRequest<'_>) -> Result<Signed, String> {
    Ok(sign(Variant::Harbor, request))
}

fn sign(variant: Variant, request: &SignRequest<'_>) -> Signed {
    let key = Secret::new(request.secret.as_bytes());
    Signed::new(
        signed_headers(variant, &key, request.body, request.timestamp),
        None,
    )
}
