//! Coinme: order templates (CONSUMED / EXPIRED at a location) and CAAS buy transactions. Its
//! webhook scheme (`webhook`, with the per-account header and encoding read from
//! [`SIGNATURE_HEADER_VAR`] and [`SIGNATURE_ENCODING_VAR`]) and its processing rules (`plan`).

mod plan;
mod webhook;

pub use webhook::*;

use super::{
    Allowed, EventNames, ProviderSpec, Setting, Settings, SignRequest, Signed, StackSpec,
    WebhookRoute,
};
use crate::config::ConfigError;
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::signature::{Secret, SecretSet};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// Signs the Coinme samples in `events/`; what `hookline serve` verifies with by default.
pub const TEST_SECRET: &str = "hookline-coinme-test-secret";

/// The signature header's name (default `X-Coinme-Signature`).
pub const SIGNATURE_HEADER_VAR: &str = "COINME_SIGNATURE_HEADER";
/// `base64` (default) or `hex`.
pub const SIGNATURE_ENCODING_VAR: &str = "COINME_SIGNATURE_ENCODING";

const WEBHOOK_SECRETS: SecretList = SecretList {
    env_prefix: "COINME",
    parameter: "CoinmeWebhookSecretName",
    optional: false,
    test_value: TEST_SECRET,
    description: "Secrets Manager secret with the active Coinme webhook secrets (JSON array). \
        Empty leaves the Coinme receiver out.",
};

/// The secret lists the receiver reads.
pub const SECRETS: &[SecretList] = &[WEBHOOK_SECRETS];

/// The receiver's scheme.
pub fn scheme(secrets: &LoadedSecrets, settings: Settings<'_>) -> Result<CoinmeScheme, SetupError> {
    Ok(CoinmeScheme::new(
        secrets.required(WEBHOOK_SECRETS.env_prefix, SecretSet::parse)?,
        options(settings)?,
    ))
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: "coinme",
    template_name: "Coinme",
    routes: &[WebhookRoute {
        name: "coinme",
        route_key: "POST /webhooks/coinme",
        events: EventNames::Exactly(PROVIDER),
        secrets: WEBHOOK_SECRETS,
        test_secret: TEST_SECRET,
        sign,
        sender: super::first_listed,
    }],
    secrets: SECRETS,
    settings: &[
        Setting {
            var: SIGNATURE_HEADER_VAR,
            default: "X-Coinme-Signature",
            allowed: Allowed::Pattern("^[A-Za-z0-9-]+$"),
            description: "The header Coinme puts its signature in (configurable at Coinme).",
        },
        Setting {
            var: SIGNATURE_ENCODING_VAR,
            default: "base64",
            allowed: Allowed::Values(&["base64", "hex"]),
            description: "How Coinme encodes the signature; only this encoding is accepted.",
        },
    ],
    scheme: |secrets, settings| super::boxed(scheme(secrets, settings)),
    stack: StackSpec {
        description: "Verifies Coinme order-template and CAAS webhooks and enqueues them.",
        always_deployed: false,
        rejected_alarm: "Many Coinme webhooks rejected; a secret rotation, a changed header or encoding, or an attack.",
        url_hint: "Give this URL to Coinme as the webhook endpoint.",
        route_metrics: &[],
    },
    plan: plan::plan,
    confirm: None,
    order_api: None,
    forwarded_fields: None,
    watch: None,
    test_event,
};

/// A test event in the shape of a Coinme webhook: id, type, time, empty data.
fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({
        "id": event.id,
        "type": TEST_EVENT_TYPE,
        "at": event.at_rfc3339(),
        "data": {},
    })
    .to_string()
}

fn sign(request: &SignRequest<'_>) -> Result<Signed, String> {
    let options = options(request.settings).map_err(|e| e.to_string())?;
    let key = Secret::new(request.secret.as_bytes());
    Ok(Signed {
        headers: signed_headers(&key, request.body, &options),
        path_param: None,
    })
}

/// The scheme's per-account choices, from the settings.
pub fn options(lookup: Settings<'_>) -> Result<CoinmeOptions, ConfigError> {
    let mut options = CoinmeOptions::default();
    if let Some(header) = lookup(SIGNATURE_HEADER_VAR).filter(|v| !v.trim().is_empty()) {
        let header = header.trim().to_ascii_lowercase();
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                var: SIGNATURE_HEADER_VAR,
                reason: "not a valid header name".into(),
            });
        }
        options.signature_header = header;
    }
    if let Some(encoding) = lookup(SIGNATURE_ENCODING_VAR).filter(|v| !v.trim().is_empty()) {
        options.encoding = encoding.parse().map_err(|reason| ConfigError::Invalid {
            var: SIGNATURE_ENCODING_VAR,
            reason,
        })?;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup;

    #[test]
    fn coinme_options_default_and_override() {
        let default = options(&lookup(&[])).unwrap();
        assert_eq!(
            (default.signature_header.as_str(), default.encoding),
            ("x-coinme-signature", Encoding::Base64)
        );
        let set = options(&lookup(&[
            (SIGNATURE_HEADER_VAR, "X-Sig"),
            (SIGNATURE_ENCODING_VAR, "HEX"),
        ]))
        .unwrap();
        assert_eq!(
            (set.signature_header.as_str(), set.encoding),
            ("x-sig", Encoding::Hex)
        );
        assert!(options(&lookup(&[(SIGNATURE_ENCODING_VAR, "base32")])).is_err());
        assert!(options(&lookup(&[(SIGNATURE_HEADER_VAR, "bad header")])).is_err());
    }
}
