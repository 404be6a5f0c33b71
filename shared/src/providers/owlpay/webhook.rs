//! OwlPay and OwlPay Harbor webhooks.
//!
//! The signature header (`owlpay-signature`, or `harbor-signature` for Harbor) reads
//! `t=<unix>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256, lowercase hex, over `"{t}.{raw body}"`. `t`
//! must be within 300 s of now; any one `v1` may match any active secret (OwlPay lists several
//! while it rotates). The event id is the body's `uuid`; the type is its `event` (OwlPay's
//! examples also show it as `type` or `observation`, so those are read when `event` is absent).
//! `webhook.renew.secret` announces a new signing secret: it is accepted, and logged and
//! counted by the processor so an operator adds the new secret before the old one goes.
//!
//! OwlPay Harbor publishes another shape ("Webhook payload example",
//! https://harbor-developers.owlpay.com/docs/webhook-example): `{"data":{"uuid","object",
//! "status",...,"updated_at"}}` with no top-level uuid or event name, for a customer's KYC/KYB
//! update (`object` "customer") and a transfer's status update (`object` "transfer"). On the
//! Harbor route such a body is read as [`HARBOR_TRANSFER_EVENT`] or [`HARBOR_CUSTOMER_EVENT`]
//! (names of ours), its id derived from what identifies one change: object, uuid, status and
//! update time. Assumption: Harbor's stored pages do not show its signature scheme; hookline
//! takes it to be OwlPay's, in a `harbor-signature` header.

use std::borrow::Cow;

use http::HeaderMap;
use serde::Deserialize;

use crate::keyring::Keyring;
use crate::signature::{MAX_SIGNATURE_CANDIDATES, Secret, SecretSet, TAG_LEN};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, check_window, header_str, malformed_json,
    validate_event_id,
};

pub const PROVIDER: &str = "owlpay";
pub const HARBOR_PROVIDER: &str = "owlpay-harbor";
pub const SIGNATURE_HEADER: &str = "owlpay-signature";
pub const HARBOR_SIGNATURE_HEADER: &str = "harbor-signature";
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;
/// Announces a new signing secret: the operator must add it to the active list.
pub const RENEW_SECRET_EVENT: &str = "webhook.renew.secret";

/// The event type hookline gives a Harbor transfer status update (Harbor names none).
pub const HARBOR_TRANSFER_EVENT: &str = "transfer.status_updated";
/// The event type hookline gives a Harbor customer KYC/KYB update (Harbor names none).
pub const HARBOR_CUSTOMER_EVENT: &str = "customer.kyc_updated";

/// The types of Harbor's own shape.
pub const HARBOR_EVENT_TYPES: &[&str] = &[HARBOR_TRANSFER_EVENT, HARBOR_CUSTOMER_EVENT];

/// OwlPay's event catalogue (owlpay-webhooks.txt).
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "application.base_information.updated",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.renew.secret",
    "agent.created",
    "agent.updated",
    "agent.deleted",
    "agent.invite.created",
    "agent.invite.deleted",
    "order.received",
    "order.updated",
    "order.cancelled",
    "order.payout.succeed",
    "vendor.created",
    "vendor.updated",
    "vendor.deleted",
    "vendor.base_information.updated",
    "vendor.invite.created",
    "vendor.invite.resend",
    "vendor.visa.card.created",
    "reconciliations.created",
    "reconciliations.reject",
    "reconciliations.settled",
    "reconciliations.draft_audit.need_check.created",
    "reconciliations.draft_audit.need_correction.created",
    "accounting.created",
    "accounting.executed",
    "accounting.deleted",
    "accounting.payout.succeed",
    "accounting.payout.failed",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "payment_intent.created",
    "payment_intent.checking_out",
    "payment_intent.authorized",
    "payment_intent.cancel_authorization",
    "payment_intent.captured",
    "payment_intent.partial_captured",
    "payment_intent.failed",
    "payment_intent.refund_created",
    "payment_intent.refunded",
    "payment_intent.refund_cancelled",
    "payment_intent.financial.reviewed",
    "payment_intent.request_settle",
    "payment_intent.payout_finished",
    "payment_intent.payout_failed",
    "payment_intent.voided",
    "payment_intent.updated",
];

/// Which of OwlPay's products sent the webhook: they differ in header and secrets only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    OwlPay,
    Harbor,
}

impl Variant {
    pub fn provider(self) -> &'static str {
        match self {
            Self::OwlPay => PROVIDER,
            Self::Harbor => HARBOR_PROVIDER,
        }
    }

    pub fn signature_header(self) -> &'static str {
        match self {
            Self::OwlPay => SIGNATURE_HEADER,
            Self::Harbor => HARBOR_SIGNATURE_HEADER,
        }
    }

    /// The variant a request path is for: Harbor's route ends in `-harbor`.
    pub fn of_path(path: &str) -> Self {
        if path.trim_end_matches('/').ends_with("-harbor") {
            Self::Harbor
        } else {
            Self::OwlPay
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    type_: Option<Cow<'a, str>>,
    #[serde(borrow)]
    observation: Option<Cow<'a, str>>,
}

/// The OwlPay scheme: OwlPay's secrets, and Harbor's when Harbor is configured. The route picks
/// the variant, so a Harbor request is checked against Harbor's header and secrets only.
#[derive(Clone, Debug)]
pub struct OwlPayScheme {
    owlpay: Keyring<SecretSet>,
    harbor: Option<Keyring<SecretSet>>,
}

impl OwlPayScheme {
    pub fn new(
        owlpay: impl Into<Keyring<SecretSet>>,
        harbor: Option<impl Into<Keyring<SecretSet>>>,
    ) -> Self {
        Self {
            owlpay: owlpay.into(),
            harbor: harbor.map(Into::into),
        }
    }
}

impl WebhookScheme for OwlPayScheme {
    fn plan(&self, message: &crate::message::QueueMessage) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        super::plan::plan(message)
    }

    /// A secret renewal's `data` may carry the new signing secret: kept out of every store.
    fn stored_body<'a>(&self, body: &'a str) -> Cow<'a, str> {
        without_renewal_secret(body)
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn kept_headers(&self) -> Vec<&str> {
        vec![SIGNATURE_HEADER, HARBOR_SIGNATURE_HEADER]
    }

    fn verify_routed(
        &self,
        route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let variant = Variant::of_path(route.path);
        let keyring = match variant {
            Variant::OwlPay => &self.owlpay,
            Variant::Harbor => self.harbor.as_ref().ok_or(Rejection::UnknownRoute(
                "OwlPay Harbor is not configured on this deployment",
            ))?,
        };
        let header =
            header_str(headers, variant.signature_header()).ok_or(Rejection::InvalidSignature(
                "missing signature header (owlpay-signature / harbor-signature)",
            ))?;
        let parsed = parse_signature_header(header)?;
        let signed = [parsed.timestamp_text, b".".as_slice(), body];
        let secrets = keyring.current();
        // One MAC per secret, compared with every candidate (at most 8, checked while parsing).
        if !secrets.verify_any(&signed, &parsed.tags) {
            return Err(Rejection::InvalidSignature(
                "no v1 signature matches under any active secret",
            ));
        }
        check_window("t", parsed.timestamp, now_unix, TIMESTAMP_TOLERANCE_SECS)?;
        let mut event = match variant {
            Variant::Harbor => parse_harbor_envelope(body)?,
            Variant::OwlPay => parse_envelope(body)?,
        };
        event.provider = variant.provider().to_string();
        Ok(event)
    }
}

/// What a renewal's `data` is replaced with at rest.
pub const REDACTED_RENEWAL_DATA: &str = r#"{"redacted":true}"#;

/// `body` with the `data` of a `webhook.renew.secret` event replaced by
/// [`REDACTED_RENEWAL_DATA`]; any other body unchanged (the very bytes). OwlPay's page lists the
/// event without its payload, so which field holds the new secret is not documented: the whole
/// `data` is left out (assumption, docs/src/security.md). Nothing downstream reads it: the
/// processor raises the renewal alert from the type alone. The price: the stored body no longer
/// matches its signature, so the archived event replays only as trusted (`--trust-archive`),
/// on the strength of the archive's keyed digest.
pub fn without_renewal_secret(body: &str) -> Cow<'_, str> {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str(body) else {
        return Cow::Borrowed(body);
    };
    if fields.get("event").and_then(serde_json::Value::as_str) != Some(RENEW_SECRET_EVENT) {
        return Cow::Borrowed(body);
    }
    let redacted: serde_json::Value =
        serde_json::from_str(REDACTED_RENEWAL_DATA).unwrap_or_default();
    match fields.get_mut("data") {
        Some(data) if *data != redacted => {
            *data = redacted;
            Cow::Owned(serde_json::Value::Object(fields).to_string())
        }
        _ => Cow::Borrowed(body),
    }
}

/// A parsed `t=..,v1=..` header.
struct SignatureHeader<'a> {
    timestamp: i64,
    timestamp_text: &'a [u8],
    tags: Vec<[u8; TAG_LEN]>,
}

/// Strict: exactly one non-empty numeric `t`, at least one `v1`, every `v1` 64 hex digits.
/// Other schemes (`v0=`, a future `v2=`) are ignored, as in Stripe-style headers.
fn parse_signature_header(header: &str) -> Result<SignatureHeader<'_>, Rejection> {
    const BAD: &str = "signature header must be t=<unix>,v1=<64 hex digits>[,v1=...]";
    let mut timestamp_text: Option<&str> = None;
    let mut tags = Vec::new();
    // Bounded before any hashing: an attacker's header costs no more than a genuine one.
    if header.split(',').count() > MAX_SIGNATURE_CANDIDATES + 1 {
        return Err(Rejection::InvalidSignature(
            "more than 8 signatures in the signature header",
        ));
    }
    for element in header.split(',') {
        let (key, value) = element
            .trim()
            .split_once('=')
            .ok_or(Rejection::InvalidSignature(BAD))?;
        match key {
            "t" => {
                if timestamp_text.is_some() || value.is_empty() {
                    return Err(Rejection::InvalidSignature(BAD));
                }
                timestamp_text = Some(value);
            }
            "v1" => {
                let mut tag = [0u8; TAG_LEN];
                hex::decode_to_slice(value, &mut tag)
                    .map_err(|_| Rejection::InvalidSignature(BAD))?;
                tags.push(tag);
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or(Rejection::InvalidSignature(BAD))?;
    if tags.is_empty() {
        return Err(Rejection::InvalidSignature(BAD));
    }
    let timestamp = timestamp_text
        .parse::<i64>()
        .map_err(|_| Rejection::InvalidSignature(BAD))?;
    Ok(SignatureHeader {
        timestamp,
        timestamp_text: timestamp_text.as_bytes(),
        tags,
    })
}

/// Reads `uuid` and the event type from an OwlPay body.
pub fn parse_envelope(body: &[u8]) -> Result<VerifiedEvent, Rejection> {
    let envelope: Envelope<'_> = serde_json::from_slice(body)
        .map_err(|e| malformed_json(&e, "a JSON object whose uuid and event are strings"))?;
    let event_id = envelope
        .uuid
        .ok_or_else(|| Rejection::Malformed("body has no uuid".into()))?
        .into_owned();
    validate_event_id(&event_id)?;
    let event_type = match (envelope.event.or(envelope.type_), envelope.observation) {
        (Some(event), _) => event.into_owned(),
        (None, Some(observation)) => {
            catalogue_name(&observation).map_or_else(|| observation.into_owned(), str::to_string)
        }
        (None, None) => String::new(),
    };
    if event_type.is_empty() {
        return Err(Rejection::Malformed("body has no event".into()));
    }
    Ok(VerifiedEvent {
        provider: PROVIDER.to_string(),
        known_type: KNOWN_EVENT_TYPES.contains(&event_type.as_str()),
        event_id,
        event_type,
    })
}

/// The object of Harbor's own shape: `data` with its `object`, `uuid`, `status`, `updated_at`.
#[derive(Deserialize)]
struct HarborData<'a> {
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    updated_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HarborBody<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<HarborData<'a>>,
}

/// A Harbor body: OwlPay's own form when it has a top-level `uuid`, else Harbor's published
/// shape, whose event id is `{object}#{uuid}#{status}#{updated_at}`.
pub fn parse_harbor_envelope(body: &[u8]) -> Result<VerifiedEvent, Rejection> {
    let harbor: HarborBody<'_> = serde_json::from_slice(body)
        .map_err(|e| malformed_json(&e, "a JSON object with a uuid, or a data object"))?;
    if harbor.uuid.is_some() {
        return parse_envelope(body);
    }
    let data = harbor
        .data
        .ok_or_else(|| Rejection::Malformed("body has neither uuid nor data".into()))?;
    let field = |value: Option<Cow<'_, str>>, name: &str| {
        value
            .filter(|v| !v.is_empty())
            .map(Cow::into_owned)
            .ok_or_else(|| Rejection::Malformed(format!("data has no {name}")))
    };
    let object = field(data.object, "object")?;
    let uuid = field(data.uuid, "uuid")?;
    let status = field(data.status, "status")?;
    let event_type = match object.as_str() {
        "transfer" => HARBOR_TRANSFER_EVENT.to_string(),
        "customer" => HARBOR_CUSTOMER_EVENT.to_string(),
        other => format!("{other}.updated"),
    };
    let mut event_id = format!("{object}#{uuid}#{status}");
    if let Some(updated_at) = data.updated_at.filter(|u| !u.is_empty()) {
        event_id.push('#');
        event_id.push_str(&updated_at);
    }
    validate_event_id(&event_id)?;
    Ok(VerifiedEvent {
        provider: HARBOR_PROVIDER.to_string(),
        known_type: HARBOR_EVENT_TYPES.contains(&event_type.as_str()),
        event_id,
        event_type,
    })
}

/// The catalogue name of an event OwlPay names in `observation`, the form of the only payload
/// it publishes (`{"uuid", "api_version", "is_test", "observation": "owlpay.received_order",
/// "data"}`), where its catalogue says `order.received`.
///
/// Assumption (one example is all the documents give): an observation is
/// `owlpay.<verb words>_<object words>` for the catalogue's `<object>.<verb words>`, words joined
/// by `_` in the one and `.` in the other (`owlpay.payout_succeed_order` → `order.payout.succeed`,
/// `owlpay.captured_payment_intent` → `payment_intent.captured`). It is mapped only when exactly
/// one catalogue entry reads so; otherwise it stays as sent, an unknown type (acknowledged,
/// counted, no state).
pub fn catalogue_name(observation: &str) -> Option<&'static str> {
    let words: Vec<&str> = observation.strip_prefix("owlpay.")?.split('_').collect();
    let mut fits = (1..words.len()).filter_map(|verb_words| {
        let verb = words[..verb_words].join(".");
        let object = words[verb_words..].join("_");
        let name = format!("{object}.{verb}");
        KNOWN_EVENT_TYPES
            .iter()
            .copied()
            .find(|known| *known == name)
    });
    let first = fits.next()?;
    fits.next().is_none().then_some(first)
}

/// The header OwlPay (or Harbor) would send with `body` at `timestamp`, signed with `secret`.
pub fn signed_headers(
    variant: Variant,
    secret: &Secret,
    body: &[u8],
    timestamp: i64,
) -> Vec<(&'static str, String)> {
    let t = timestamp.to_string();
    let tag = secret.sign_hex(&[t.as_bytes(), b".", body]);
    vec![
        ("content-type", "application/json".to_string()),
        (variant.signature_header(), format!("t={t},v1={tag}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    // Vector computed outside Rust:
    //   printf '%s' "1795341600.$BODY" | openssl dgst -sha256 -hmac hookline-owlpay-test-secret
    const SECRET: &str = "hookline-owlpay-test-secret";
    const T: i64 = 1_795_341_600;
    const BODY: &[u8] =
        br#"{"uuid":"8f1c2a4e-6b3d-4e8f-9a7c-1d2e3f4a5b6c","event":"order.received"}"#;
    const TAG: &str = "31327248255befe29624ef32891c976ec45d1a03d275a24c675588262ab3729f";

    fn scheme() -> OwlPayScheme {
        let set = || SecretSet::parse(SECRET).unwrap();
        OwlPayScheme::new(set(), Some(set()))
    }

    fn at(path: &str) -> Route<'_> {
        Route { path, param: None }
    }

    fn verify_header(
        name: &'static str,
        value: &str,
        path: &str,
    ) -> Result<VerifiedEvent, Rejection> {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        scheme().verify_routed(&at(path), &headers, BODY, T)
    }

    fn verify(value: &str) -> Result<VerifiedEvent, Rejection> {
        verify_header(SIGNATURE_HEADER, value, "/webhooks/owlpay")
    }

    #[test]
    fn the_openssl_vector_verifies() {
        let event = verify(&format!("t={T},v1={TAG}")).unwrap();
        assert_eq!(event.event_id, "8f1c2a4e-6b3d-4e8f-9a7c-1d2e3f4a5b6c");
        assert_eq!(event.event_type, "order.received");
        assert_eq!(event.provider, "owlpay");
        assert!(event.known_type);
        let ours = signed_headers(Variant::OwlPay, &Secret::new(SECRET), BODY, T);
        assert_eq!(ours[1].1, format!("t={T},v1={TAG}"));
    }

    #[test]
    fn more_than_eight_signatures_are_refused_before_hashing() {
        // Regression: each candidate re-hashed the whole body, so a long header multiplied the
        // cost of an unauthenticated request.
        let decoy = format!(",v1={}", "0".repeat(64));
        let eight = format!("t={T}{},v1={TAG}", decoy.repeat(7));
        assert!(verify(&eight).is_ok());
        let nine = format!("t={T}{},v1={TAG}", decoy.repeat(8));
        let err = verify(&nine).unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(err.to_string().contains("more than 8"), "{err}");
    }

    #[test]
    fn harbor_s_published_shapes_are_read_with_a_derived_id() {
        let transfer = br#"{"data":{"uuid":"transfer_9r1k","object":"transfer","status":"pending_harbor","on_behalf_of":"cus_1","source":{"chain":"ethereum","asset":"USDC","amount":"1000.00"},"created_at":"2025-02-11T06:35:50+00:00","updated_at":"2025-02-11T06:40:00+00:00"}}"#;
        let event = parse_harbor_envelope(transfer).unwrap();
        assert_eq!(
            event.event_id,
            "transfer#transfer_9r1k#pending_harbor#2025-02-11T06:40:00+00:00"
        );
        assert_eq!(event.event_type, HARBOR_TRANSFER_EVENT);
        assert_eq!(event.provider, HARBOR_PROVIDER);
        assert!(event.known_type);
        let customer = br#"{"data":{"uuid":"cus_1","object":"customer","status":"verified","updated_at":"2025-02-11T06:35:50+00:00"}}"#;
        assert_eq!(
            parse_harbor_envelope(customer).unwrap().event_type,
            HARBOR_CUSTOMER_EVENT
        );
        // OwlPay's own form still reads as it did on the Harbor route.
        assert_eq!(
            parse_harbor_envelope(BODY).unwrap(),
            parse_envelope(BODY).unwrap()
        );
        for bad in [
            &br#"{"data":{"object":"transfer","status":"completed"}}"#[..],
            br#"{"data":{"uuid":"t","status":"completed"}}"#,
            br#"{"data":{"uuid":"t","object":"transfer"}}"#,
            br#"{"nothing":1}"#,
        ] {
            assert_eq!(parse_harbor_envelope(bad).unwrap_err().status(), 400);
        }
        // Not on OwlPay's own route: there a body without uuid is refused as before.
        assert_eq!(parse_envelope(transfer).unwrap_err().status(), 400);
    }

    #[test]
    fn harbor_uses_its_own_header_and_route() {
        let harbor = verify_header(
            HARBOR_SIGNATURE_HEADER,
            &format!("t={T},v1={TAG}"),
            "/webhooks/owlpay-harbor",
        )
        .unwrap();
        assert_eq!(harbor.provider, "owlpay-harbor");
        // An OwlPay header on the Harbor route is not looked at.
        let err = verify_header(
            SIGNATURE_HEADER,
            &format!("t={T},v1={TAG}"),
            "/webhooks/owlpay-harbor",
        );
        assert_eq!(err.unwrap_err().status(), 401);
        let unconfigured = OwlPayScheme::new(SecretSet::parse(SECRET).unwrap(), None::<SecretSet>);
        let mut headers = HeaderMap::new();
        headers.insert(
            HARBOR_SIGNATURE_HEADER,
            HeaderValue::from_str(&format!("t={T},v1={TAG}")).unwrap(),
        );
        let err = unconfigured.verify_routed(&at("/webhooks/owlpay-harbor"), &headers, BODY, T);
        assert_eq!(err.unwrap_err().status(), 404);
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        let other = "0".repeat(64);
        assert!(verify(&format!("t={T},v1={other},v1={TAG}")).is_ok());
        assert!(verify(&format!("v0=abc,t={T},v1={TAG}")).is_ok());
        assert!(verify(&format!("t={T}, v1={TAG}")).is_ok());
    }

    #[test]
    fn malformed_headers_fail() {
        for header in [
            format!("v1={TAG}"),
            format!("t=,v1={TAG}"),
            format!("t={T}"),
            format!("t={T},v1="),
            format!("t={T},t={T},v1={TAG}"),
            format!("t={T},v1={}", &TAG[..62]),
            format!("t={T},v1={}", TAG.replace('a', "g")),
            format!("t=soon,v1={TAG}"),
            format!("t={T};v1={TAG}"),
            String::from("garbage"),
        ] {
            let err = verify(&header).unwrap_err();
            assert_eq!(err.error_code(), "invalid_signature", "{header}");
        }
    }

    #[test]
    fn forged_and_tampered_fail() {
        let forged = Secret::new("wrong").sign_hex(&[format!("{T}.").as_bytes(), BODY]);
        assert!(verify(&format!("t={T},v1={forged}")).is_err());
        // Another t with the same tag: t is signed.
        assert!(verify(&format!("t={},v1={TAG}", T + 1)).is_err());
    }

    #[test]
    fn t_must_be_within_five_minutes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&format!("t={T},v1={TAG}")).unwrap(),
        );
        for now in [T - 301, T + 301] {
            let err = scheme().verify_routed(&at("/webhooks/owlpay"), &headers, BODY, now);
            assert_eq!(err.unwrap_err().error_code(), "stale_timestamp");
        }
        assert!(
            scheme()
                .verify_routed(&at("/webhooks/owlpay"), &headers, BODY, T + 300)
                .is_ok()
        );
    }

    #[test]
    fn rotation_two_secrets_verify() {
        let scheme = OwlPayScheme::new(
            SecretSet::parse(&format!("new-owlpay-secret-2,{SECRET}")).unwrap(),
            None::<SecretSet>,
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&format!("t={T},v1={TAG}")).unwrap(),
        );
        assert!(
            scheme
                .verify_routed(&at("/webhooks/owlpay"), &headers, BODY, T)
                .is_ok()
        );
    }

    #[test]
    fn observations_map_onto_the_catalogue_only_when_one_entry_reads_so() {
        for (observation, name) in [
            ("owlpay.received_order", Some("order.received")),
            ("owlpay.cancelled_order", Some("order.cancelled")),
            ("owlpay.payout_succeed_order", Some("order.payout.succeed")),
            (
                "owlpay.captured_payment_intent",
                Some("payment_intent.captured"),
            ),
            (
                "owlpay.financial_reviewed_payment_intent",
                Some("payment_intent.financial.reviewed"),
            ),
            ("owlpay.created_vendor", Some("vendor.created")),
            // Catalogue names whose verb holds an underscore cannot be told apart: kept as sent.
            ("owlpay.refund_created_payment_intent", None),
            ("owlpay.received", None),
            ("order.received", None),
            ("owlpay.", None),
        ] {
            assert_eq!(catalogue_name(observation), name, "{observation}");
        }
        // Every catalogue entry whose words hold no underscore in the verb maps back to itself.
        for known in KNOWN_EVENT_TYPES {
            let (object, verb) = known.split_once('.').unwrap();
            if verb.contains('_') || object.contains('.') {
                continue;
            }
            let observation = format!("owlpay.{}_{object}", verb.replace('.', "_"));
            assert_eq!(catalogue_name(&observation), Some(*known), "{observation}");
        }
    }

    #[test]
    fn envelopes() {
        let renew =
            parse_envelope(br#"{"uuid":"u1","event":"webhook.renew.secret","data":{}}"#).unwrap();
        assert!(renew.known_type);
        let observed =
            parse_envelope(br#"{"uuid":"att_1","observation":"owlpay.received_order"}"#).unwrap();
        assert_eq!(observed.event_type, "order.received");
        assert!(observed.known_type);
        let unmapped =
            parse_envelope(br#"{"uuid":"att_2","observation":"owlpay.teleported_order"}"#).unwrap();
        assert_eq!(unmapped.event_type, "owlpay.teleported_order");
        assert!(!unmapped.known_type);
        for body in [
            &br#"{"event":"order.received"}"#[..],
            br#"{"uuid":"u"}"#,
            b"[1]",
            b"{",
        ] {
            assert_eq!(parse_envelope(body).unwrap_err().status(), 400);
        }
        assert_eq!(KNOWN_EVENT_TYPES.len(), 50);
    }

    #[test]
    fn a_renewal_is_stored_without_its_data_and_still_plans_as_a_renewal() {
        let body = r#"{"uuid":"u-1","event":"webhook.renew.secret","created_at":"2026-11-22T09:59:55Z","data":{"secret":"whs_the_new_secret","webhook":{"uuid":"wh_1"}}}"#;
        let stored = scheme().stored_body(body).into_owned();
        assert!(!stored.contains("whs_the_new_secret"), "{stored}");
        assert!(stored.contains(r#""data":{"redacted":true}"#), "{stored}");
        // Stored twice (a redelivery), it does not change again.
        assert_eq!(scheme().stored_body(&stored), stored);
        let message = crate::message::QueueMessage::new(
            PROVIDER,
            "u-1",
            RENEW_SECRET_EVENT,
            time::OffsetDateTime::UNIX_EPOCH,
            stored,
        );
        assert!(scheme().plan(&message).unwrap().secret_renewal());
        // Every other body is kept byte for byte.
        let other = std::str::from_utf8(BODY).unwrap();
        assert!(matches!(scheme().stored_body(other), Cow::Borrowed(b) if b == other));
    }
}
