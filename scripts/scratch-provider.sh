#!/usr/bin/env bash
# Adds a throwaway provider, AcmePay (HMAC-SHA256 of the body in a header, an {id, type, data}
# envelope, no order API), to a scratch copy of this checkout exactly as README "Add a provider"
# says, runs the registry's checks there, and fails when a place the README does not name had to
# change or a check fails. Run by scripts/test.sh beside the test binaries.
#
# The places, written by hand (README, "Add a provider"):
#   1. shared/src/providers/acmepay/mod.rs      the provider's module
#   2. shared/src/providers/mod.rs              one line in registry!
#   3. functions/acmepay-webhook/               its receiver crate (Cargo.toml, src/main.rs)
#   4. events/payloads/acmepay/                 its sample payloads
#   5. tests/provider_receivers.rs              what its samples must produce (EXPECTED)
# Then two commands write the rest: `hookline template --write` (template.yaml) and
# `events/generate.sh` (signed samples, processor batch, events/env.json; Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/python-env.sh
scratch=$root/target/scratch-provider
rm -rf "$scratch"
mkdir -p "$scratch/src" "$scratch/target"
# This checkout's files, committed or not (target/ aside), and a baseline to compare with.
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$scratch/src"
cp -r "$scratch/src" "$scratch/before"
# The dependencies this checkout compiled, hard-linked: only the scratch crates build anew (cargo
# replaces a file it rebuilds, so the links never write into this checkout's target/).
[ -d target/debug ] && cp -al target/debug "$scratch/target/debug"
export CARGO_TARGET_DIR=$scratch/target
cd "$scratch/src"

# 1. The module.
mkdir -p shared/src/providers/acmepay
cat > shared/src/providers/acmepay/mod.rs <<'EOF'
//! AcmePay, a throwaway provider (scripts/scratch-provider.sh): HMAC-SHA256 of the raw body, hex,
//! in `X-Acme-Signature`; an `{id, type, data}` envelope; no order API; every event passed on.

use http::HeaderMap;

use super::{EventNames, ProviderSpec, Settings, SignRequest, Signed, StackSpec, WebhookRoute};
use crate::keyring::{Keyring, LoadedSecrets, SecretList, SetupError};
use crate::message::QueueMessage;
use crate::plan::{Plan, PlanError, received_millis};
use crate::signature::{Secret, SecretSet};
use crate::test_event::{TEST_EVENT_TYPE, TestEvent};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, header_str, parse_id_type_envelope,
};

pub const PROVIDER: &str = "acmepay";
pub const TEST_SECRET: &str = "hookline-acmepay-test-secret";
const SIGNATURE_HEADER: &str = "x-acme-signature";

const WEBHOOK_SECRETS: SecretList = SecretList {
    env_prefix: "ACMEPAY",
    parameter: "AcmePayWebhookSecretName",
    optional: false,
    test_value: TEST_SECRET,
    description: "Secrets Manager secret with the active AcmePay webhook secrets (JSON array). \
        Empty leaves the AcmePay receiver out.",
};

/// The secret lists the receiver reads.
pub const SECRETS: &[SecretList] = &[WEBHOOK_SECRETS];

pub struct AcmePayScheme {
    secrets: Keyring<SecretSet>,
}

impl WebhookScheme for AcmePayScheme {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn kept_headers(&self) -> Vec<&str> {
        vec![SIGNATURE_HEADER]
    }

    fn plan(&self, message: &QueueMessage) -> Result<Plan, PlanError> {
        plan(message)
    }

    fn verify_routed(
        &self,
        _route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        _now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let tag = header_str(headers, SIGNATURE_HEADER)
            .ok_or(Rejection::InvalidSignature("missing X-Acme-Signature"))?;
        if !self.secrets.current().verify_hex(&[body], tag) {
            return Err(Rejection::InvalidSignature("signature does not match the body"));
        }
        parse_id_type_envelope(PROVIDER, body, |_| true)
    }
}

/// The receiver's scheme.
pub fn scheme(secrets: &LoadedSecrets, _: Settings<'_>) -> Result<AcmePayScheme, SetupError> {
    Ok(AcmePayScheme {
        secrets: secrets.required(WEBHOOK_SECRETS.env_prefix, SecretSet::parse)?,
    })
}

fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let body: serde_json::Value = serde_json::from_str(&message.body)
        .map_err(|_| PlanError::malformed(message, "not a JSON object"))?;
    Ok(Plan::pass_on(received_millis(message)?, body["data"].clone(), true))
}

fn sign(request: &SignRequest<'_>) -> Result<Signed, String> {
    let tag = Secret::new(request.secret.as_bytes()).sign(&[request.body]);
    Ok(Signed::new(vec![(SIGNATURE_HEADER, hex::encode(tag))], None))
}

fn test_event(event: &TestEvent<'_>) -> String {
    serde_json::json!({"id": event.id, "type": TEST_EVENT_TYPE, "data": {}}).to_string()
}

pub static SPEC: ProviderSpec = ProviderSpec {
    module: module_path!(),
    name: PROVIDER,
    template_name: "AcmePay",
    routes: &[WebhookRoute {
        name: PROVIDER,
        route_key: "POST /webhooks/acmepay",
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
        description: "Verifies AcmePay webhooks and enqueues them.",
        always_deployed: false,
        rejected_alarm: "Many AcmePay webhooks rejected; a secret rotation or an attack.",
        url_hint: "Give this URL to AcmePay as the webhook endpoint.",
        route_metrics: &[],
    },
    plan,
    confirm: None,
    order_api: None,
    forwarded_fields: None,
    watch: None,
    test_event,
};
EOF

# 2. One line in the registry.
grep -q '^    StandardWebhooks => standard_webhooks,$' shared/src/providers/mod.rs
sed -i 's/^    StandardWebhooks => standard_webhooks,$/&\n    AcmePay => acmepay,/' shared/src/providers/mod.rs

# 3. The receiver crate: another receiver's, renamed.
mkdir -p functions/acmepay-webhook/src
sed -e 's/coinme-webhook/acmepay-webhook/' \
  -e 's/^description = .*/description = "Lambda receiver for AcmePay webhooks."/' \
  functions/coinme-webhook/Cargo.toml > functions/acmepay-webhook/Cargo.toml
cat > functions/acmepay-webhook/src/main.rs <<'EOF'
//! AcmePay webhook receiver (`/webhooks/acmepay`): API Gateway → verify → SQS.

use hookline::providers::acmepay;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline::receiver::lambda::run(acmepay::SECRETS, acmepay::scheme).await
}
EOF

# 4. Sample payloads.
mkdir -p events/payloads/acmepay
echo '{"id":"evt_acme_1","type":"payment.succeeded","data":{"payment":"pay_1","amount":100}}' \
  > events/payloads/acmepay/payment-succeeded.json

# 5. What its samples must produce: one update passed on, no state.
"$HOOKLINE_VENV/bin/python" - <<'EOF'
from pathlib import Path
path = Path("tests/provider_receivers.rs")
text = path.read_text()
start = text.index("const EXPECTED: &[Expected] = &[")
end = text.index("\n];\n", start)
entry = "\n    Expected {\n        provider: Provider::AcmePay,\n        updates: 1,\n        states: &[],\n    },"
path.write_text(text[:end] + entry + text[end:])
EOF

# The generated files.
cargo run -q -p hookline-cli -- template --write
bash events/generate.sh > /dev/null 2>&1

# Which files changed: exactly the five places and the generated files.
changed=$( { diff -rq "$scratch/before" . || true; } | sed -e "s|^Only in \./*\([^:]*\): \(.*\)|\1/\2|" \
  -e "s|^Only in $scratch/before/*\([^:]*\): \(.*\)|gone: \1/\2|" \
  -e "s|^Files $scratch/before/\([^ ]*\) and .* differ|\1|" -e 's|^\./||' | sort)
expected=$(printf '%s\n' Cargo.lock events/acmepay-webhook events/env.json events/payloads/acmepay \
  events/processor/acmepay.json functions/acmepay-webhook shared/src/providers/acmepay \
  shared/src/providers/mod.rs template.yaml tests/provider_receivers.rs | sort)
if [ "$changed" != "$expected" ]; then
  echo "scratch provider: the changed files are not the README's places and generated files:" >&2
  diff <(echo "$expected") <(echo "$changed") >&2 || true
  exit 1
fi

# The registry's checks, with the new provider in; a failing one's output is shown.
check() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" | tail -60 >&2
    echo "scratch provider: this check failed: $*" >&2
    exit 1
  fi
}
check cargo build -q -p acmepay-webhook
check cargo run -q -p hookline-cli -- template --check
check cargo test -q -p hookline --test module_layers
check cargo test -q -p hookline-tests --test provider_receivers --test state_tables
check "$HOOKLINE_VENV/bin/python" -m pytest -q -p no:warnings tests/template_test.py
echo "scratch provider AcmePay: added in 5 places by hand and 2 commands; every registry check passes"
rm -rf "$scratch"
