//! Standard Webhooks senders (`/webhooks/std/{source}`), each source with its own secrets; their
//! events are passed on as they came. Its webhook scheme (`webhook`) and its rules (`plan`).

mod plan;
mod webhook;

pub use webhook::*;

use super::{
    EventNames, ProviderSpec, Sender, Settings, SignRequest, Signed, StackSpec, WebhookRoute,
};
use crate::keyring::{LoadedSecrets, SecretList, SetupError};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};

/// The test source and its secret (`whsec_` + base64 of `hookline-std-test-secret`).
pub const TEST_SOURCE: &str = "acme";
pub const TEST_SECRET: &str = "whsec_aG9va2xpbmUtc3RkLXRlc3Qtc2VjcmV0";

const SOURCES: SecretList = SecretList {
    env_prefix: "STD",
    parameter: "StdWebhookSecretName",
    optional: false,
    // TEST_SOURCE with TEST_SECRET (a unit test holds them together).
    test_value: r#"{"acme": ["whsec_aG9va2xpbmUtc3RkLXRlc3Qtc2VjcmV0"]}"#,
    description: "Secrets Manager secret with the Standard Webhooks senders and their whsec_ \
        secrets, as a JSON object {\"source\": [\"whsec_...\"]}; each posts to \
        /webhooks/std/{source}. Empty leaves the receiver out.",
};

/// The secret lists the receiver reads: one JSON object of source → secrets.
pub const SECRETS: &[SecretList] = &[SOURCES];

/// The receiver's scheme.
pub fn scheme(
    secrets: &LoadedSecrets,
    _: Settings<'_>,
) -> Result<StandardWebhooksScheme, SetupError> {
    Ok(StandardWebhooksScheme::new(
        secrets.required(SOURCES.env_prefix, parse_sources)?,
    ))
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: "std",
    template_name: "Std",
    routes: &[WebhookRoute {
        name: "std",
        route_key: "POST /webhooks/std/{source}",
        events: EventNames::Prefixed("std:"),
        secrets: SOURCES,
        test_secret: TEST_SECRET,
        sign,
        sender: first_source,
    }],
    secrets: SECRETS,
    settings: &[],
    scheme: |secrets, settings| super::boxed(scheme(secrets, settings)),
    stack: StackSpec {
        description: "Verifies Standard Webhooks from each configured source and enqueues them.",
        always_deployed: false,
        rejected_alarm: "Many Standard Webhooks requests rejected (all sources).",
        url_hint: "Each Standard Webhooks sender posts to this URL followed by its source name.",
        route_metrics: &[],
    },
    plan: plan::plan,
    confirm: None,
    order_api: None,
    forwarded_fields: None,
    watch: None,
    test_event,
};

/// A test event as a Standard Webhooks sender would post it: its id becomes the `webhook-id`.
fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({
        "id": event.id,
        "type": TEST_EVENT_TYPE,
        "timestamp": event.at_rfc3339(),
        "data": {},
    })
    .to_string()
}

/// [`WebhookRoute::sender`](super::WebhookRoute): the first source (by name) and its first
/// secret, which signs.
fn first_source(text: &str) -> Result<Sender, String> {
    let listed: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(text).map_err(|_| SecretError::NotSourceMap.to_string())?;
    let (source, secrets) = listed.into_iter().next().ok_or("no source is configured")?;
    let secret = secrets
        .into_iter()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .ok_or_else(|| format!("source {source} has no secret"))?;
    Ok(Sender {
        secret,
        source: Some(source),
    })
}

fn sign(request: &SignRequest<'_>) -> Result<Signed, String> {
    let secrets = parse_secrets(request.secret).map_err(|e| e.to_string())?;
    let id = message_id(request.body);
    let mut headers = vec![("content-type", "application/json".to_string())];
    headers.extend(signed_headers(
        &secrets,
        &id,
        request.timestamp,
        request.body,
    ));
    Ok(Signed::new(headers, Some(request.source.to_string())))
}

/// A message id for a payload: its own `id` when it has one, else one derived from its bytes, so
/// signing the same file twice gives the same id (as a retry would).
fn message_id(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_string)))
        .unwrap_or_else(|| format!("msg_{}", &crate::idempotency::body_sha256(body)[..24]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_sources_hold_the_test_secret() {
        let sources = parse_sources(SOURCES.test_value).unwrap();
        let secrets = &sources[TEST_SOURCE];
        let expected = parse_secrets(TEST_SECRET).unwrap();
        assert_eq!(secrets.primary().expose(), expected.primary().expose());
    }
}
