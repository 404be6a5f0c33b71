//! Octopus Cards (vouchers, eSIM, wallet) webhooks.
//!
//! Octopus signs the raw body: `X-Signature` is the lowercase-hex HMAC-SHA256 of the body under
//! the webhook secret. `X-Timestamp` (unix seconds) is not covered by the signature, so it only
//! narrows the replay window; the processor's dedupe on the event id closes it. Octopus also sends
//! `X-OCTOPUS-WEBHOOK-TOKEN`, the secret itself in plain text: it proves nothing (anyone who saw
//! one request has it), so it is ignored here and never logged. `X-Event-ID` and `X-Event-Type`
//! are unsigned too and Octopus' pages disagree on whether the type header is sent: each is
//! optional, and when present must equal the signed body's `id` / `type`.

use http::HeaderMap;

use crate::keyring::Keyring;
use crate::signature::{Secret, SecretSet};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, check_window, header_str,
    parse_id_type_envelope, unix_seconds,
};

pub const PROVIDER: &str = "octopus";

pub const SIGNATURE_HEADER: &str = "x-signature";
pub const TIMESTAMP_HEADER: &str = "x-timestamp";
pub const EVENT_ID_HEADER: &str = "x-event-id";
pub const EVENT_TYPE_HEADER: &str = "x-event-type";
/// Carries the secret in plain text; never accepted as proof and never logged.
pub const TOKEN_HEADER: &str = "x-octopus-webhook-token";

/// How far `X-Timestamp` may be from now, in either direction.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// The event types Octopus sends today (`order.*`), documents as missing today but possible
/// (`order.failed`, `order.cancelled`, `wallet.*`), or plans (`esim.*`).
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "order.delivered",
    "order.partially_delivered",
    "order.failed",
    "order.cancelled",
    "wallet.credited",
    "wallet.debited",
    "esim.delivered",
    "esim.failed",
    "esim.cancelled",
    "esim.installed",
    "esim.activated",
    "esim.depleted",
];

pub fn is_known_event_type(event_type: &str) -> bool {
    KNOWN_EVENT_TYPES.contains(&event_type)
}

/// The part of the envelope the receiver needs; `data` is left for the processor.
/// The Octopus scheme with its active secrets.
#[derive(Clone, Debug)]
pub struct OctopusScheme {
    secrets: Keyring<SecretSet>,
}

impl OctopusScheme {
    pub fn new(secrets: impl Into<Keyring<SecretSet>>) -> Self {
        Self {
            secrets: secrets.into(),
        }
    }
}

impl WebhookScheme for OctopusScheme {
    fn plan(&self, message: &crate::message::QueueMessage) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        super::plan::plan(message)
    }

    /// X-Timestamp is not covered by X-Signature (Octopus, "Webhooks"); `created_at` is.
    fn body_time_field(&self) -> Option<&'static str> {
        Some("created_at")
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    /// Never `X-OCTOPUS-WEBHOOK-TOKEN`: the secret in plain text.
    fn kept_headers(&self) -> Vec<&str> {
        vec![
            SIGNATURE_HEADER,
            TIMESTAMP_HEADER,
            EVENT_ID_HEADER,
            EVENT_TYPE_HEADER,
        ]
    }

    fn verify_routed(
        &self,
        _route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let signature =
            header_str(headers, SIGNATURE_HEADER).ok_or(Rejection::InvalidSignature(
                "missing X-Signature header (the webhook token alone is not proof)",
            ))?;
        if !self.secrets.current().verify_hex(&[body], signature) {
            return Err(Rejection::InvalidSignature(
                "X-Signature does not match the body under any active secret",
            ));
        }

        let timestamp = unix_seconds(header_str(headers, TIMESTAMP_HEADER), "X-Timestamp")?;
        check_window("X-Timestamp", timestamp, now_unix, TIMESTAMP_TOLERANCE_SECS)?;

        let envelope = parse_envelope(body)?;
        // Neither header is signed, so neither proves anything: the signed body decides. Octopus'
        // own pages disagree on whether X-Event-Type is sent at all ("Webhooks" lists it, "Handling
        // webhooks in production" does not), so each is optional; when present it must agree.
        if header_str(headers, EVENT_ID_HEADER).is_some_and(|id| id != envelope.event_id) {
            return Err(Rejection::Malformed(
                "X-Event-ID header does not match the body's id".into(),
            ));
        }
        if header_str(headers, EVENT_TYPE_HEADER).is_some_and(|t| t != envelope.event_type) {
            return Err(Rejection::Malformed(
                "X-Event-Type header does not match the body's type".into(),
            ));
        }
        Ok(envelope)
    }
}

/// Reads `id` and `type` from an Octopus envelope. Error texts describe the shape only, never
/// body content.
pub fn parse_envelope(body: &[u8]) -> Result<VerifiedEvent, Rejection> {
    parse_id_type_envelope(PROVIDER, body, is_known_event_type)
}

/// The headers Octopus would send with `body` at `timestamp`, signed with `secret`. Used by the
/// `hookline sign` command, the sample events and the tests. The plain-text token header is left
/// out on purpose: hookline never needs it.
pub fn signed_headers(
    secret: &Secret,
    body: &[u8],
    timestamp: i64,
) -> Result<Vec<(&'static str, String)>, Rejection> {
    let event = parse_envelope(body)?;
    Ok(vec![
        ("content-type", "application/json".to_string()),
        (SIGNATURE_HEADER, secret.sign_hex(&[body])),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (EVENT_ID_HEADER, event.event_id),
        (EVENT_TYPE_HEADER, event.event_type),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &str = "hookline-test-secret";
    const NOW: i64 = 1_763_800_000;
    const BODY: &[u8] = br#"{"id":"evt_abc123","type":"order.delivered","created_at":"2025-01-15T14:30:00Z","data":{"id":12345,"status":"DELIVERED"}}"#;

    fn scheme() -> OctopusScheme {
        OctopusScheme::new(SecretSet::parse(SECRET).unwrap())
    }

    fn headers_for(body: &[u8], timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in signed_headers(&Secret::new(SECRET), body, timestamp).unwrap() {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        headers
    }

    fn verify(headers: &HeaderMap, body: &[u8]) -> Result<VerifiedEvent, Rejection> {
        scheme().verify(headers, body, NOW)
    }

    #[test]
    fn accepts_a_signed_event() {
        let event = verify(&headers_for(BODY, NOW), BODY).unwrap();
        assert_eq!(event.event_id, "evt_abc123");
        assert_eq!(event.event_type, "order.delivered");
        assert!(event.known_type);
    }

    #[test]
    fn signature_is_over_the_exact_bytes() {
        // The same JSON with different whitespace is a different body: no re-serialisation.
        let headers = headers_for(BODY, NOW);
        let reformatted = String::from_utf8_lossy(BODY).replace(",\"type\"", ", \"type\"");
        let err = verify(&headers, reformatted.as_bytes()).unwrap_err();
        assert_eq!(err.error_code(), "invalid_signature");
    }

    #[test]
    fn every_known_type_is_known_and_others_are_not() {
        for t in KNOWN_EVENT_TYPES {
            assert!(is_known_event_type(t), "{t}");
        }
        let body = br#"{"id":"evt_new","type":"voucher.expired","data":{}}"#;
        let event = verify(&headers_for(body, NOW), body).unwrap();
        assert!(!event.known_type);
    }

    #[test]
    fn timestamp_window_is_inclusive_in_both_directions() {
        assert!(verify(&headers_for(BODY, NOW - 300), BODY).is_ok());
        assert!(verify(&headers_for(BODY, NOW + 300), BODY).is_ok());
        for ts in [NOW - 301, NOW + 301] {
            let err = verify(&headers_for(BODY, ts), BODY).unwrap_err();
            assert_eq!(err.error_code(), "stale_timestamp");
        }
    }

    #[test]
    fn non_numeric_timestamp_is_refused() {
        let mut headers = headers_for(BODY, NOW);
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static("yesterday"));
        assert_eq!(verify(&headers, BODY).unwrap_err().status(), 401);
    }

    #[test]
    fn uppercase_hex_signature_is_the_same_tag() {
        let mut headers = headers_for(BODY, NOW);
        let upper = Secret::new(SECRET).sign_hex(&[BODY]).to_uppercase();
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&upper).unwrap());
        assert!(verify(&headers, BODY).is_ok());
    }

    #[test]
    fn envelope_errors_do_not_echo_the_body() {
        let err = parse_envelope(br#"{"id":"CODE-1234-SECRET","type":7}"#).unwrap_err();
        assert!(!err.to_string().contains("CODE-1234"), "{err}");
        let err = parse_envelope(br#"["CODE-1234-SECRET"]"#).unwrap_err();
        assert!(!err.to_string().contains("CODE-1234"), "{err}");
    }

    #[test]
    fn event_ids_are_bounded() {
        let long = format!(r#"{{"id":"{}","type":"order.delivered"}}"#, "x".repeat(257));
        assert_eq!(
            parse_envelope(long.as_bytes()).unwrap_err().error_code(),
            "malformed_payload"
        );
        let empty = br#"{"id":"","type":"order.delivered"}"#;
        assert!(parse_envelope(empty).is_err());
        let control = br#"{"id":"evt\n1","type":"order.delivered"}"#;
        assert!(parse_envelope(control).is_err());
    }
}
