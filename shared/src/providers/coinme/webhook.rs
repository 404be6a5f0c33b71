//! Coinme order-template / CAAS webhooks.
//!
//! Coinme signs the raw body with HMAC-SHA256; the header's name and the tag's encoding (base64
//! or hex) are chosen per account, so both are configuration, and only the configured encoding
//! is accepted. The envelope is `{id, type, data, at}`; `at` is an ISO-8601 string on some
//! pages and epoch seconds on others (milliseconds are told apart by magnitude). Coinme
//! documents no timestamp in the signature, so there is no replay window: a replayed event is
//! caught by the processor's dedupe on `id`. Its pages say of `at` only "timestamp in UTC", so an
//! `at` in none of these forms does not refuse a signed event (Coinme would retry it forever):
//! the processor orders it by the time it was received instead.

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use crate::keyring::Keyring;
use crate::signature::{Secret, SecretSet};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, header_str, parse_id_type_envelope,
};

pub const PROVIDER: &str = "coinme";
pub const DEFAULT_SIGNATURE_HEADER: &str = "x-coinme-signature";

/// The event types Coinme documents.
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "ORDER_TEMPLATE",
    "CAAS",
    "PAYMENT_METHOD",
    "REFUND",
    "CAAS_BLOCKCHAIN",
];

/// How the signature header encodes the HMAC tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Base64,
    Hex,
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "base64" => Ok(Self::Base64),
            "hex" => Ok(Self::Hex),
            _ => Err("expected base64 or hex".into()),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Base64 => "base64",
            Self::Hex => "hex",
        })
    }
}

/// The per-account choices of the scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinmeOptions {
    /// Lowercase header name.
    pub signature_header: String,
    pub encoding: Encoding,
}

impl Default for CoinmeOptions {
    fn default() -> Self {
        Self {
            signature_header: DEFAULT_SIGNATURE_HEADER.to_string(),
            encoding: Encoding::default(),
        }
    }
}

/// The Coinme scheme with its active secrets.
#[derive(Clone, Debug)]
pub struct CoinmeScheme {
    secrets: Keyring<SecretSet>,
    options: CoinmeOptions,
}

impl CoinmeScheme {
    pub fn new(secrets: impl Into<Keyring<SecretSet>>, options: CoinmeOptions) -> Self {
        Self {
            secrets: secrets.into(),
            options,
        }
    }
}

impl WebhookScheme for CoinmeScheme {
    fn plan(&self, message: &crate::message::QueueMessage) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        super::plan::plan(message)
    }

    /// Coinme sends no timestamp header; the body's `at` is signed.
    fn body_time_field(&self) -> Option<&'static str> {
        Some("at")
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn kept_headers(&self) -> Vec<&str> {
        vec![self.options.signature_header.as_str()]
    }

    fn verify_routed(
        &self,
        _route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        _now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let tag = header_str(headers, &self.options.signature_header).ok_or(
            Rejection::InvalidSignature("missing the configured Coinme signature header"),
        )?;
        let secrets = self.secrets.current();
        let genuine = match self.options.encoding {
            Encoding::Base64 => secrets.verify_base64(&[body], tag),
            Encoding::Hex => secrets.verify_hex(&[body], tag),
        };
        if !genuine {
            return Err(Rejection::InvalidSignature(
                "signature does not match the body under any active secret in the configured encoding",
            ));
        }
        parse_envelope(body)
    }
}

/// Reads `id` and `type` from a Coinme envelope (`at` is read by the processor, when it can be).
pub fn parse_envelope(body: &[u8]) -> Result<VerifiedEvent, Rejection> {
    parse_id_type_envelope(PROVIDER, body, |t| KNOWN_EVENT_TYPES.contains(&t))
}

/// Epoch values at or above this are milliseconds: as seconds they would be after the year 5138.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Coinme's `at` in epoch milliseconds: an ISO-8601 string, or epoch seconds or milliseconds as
/// a number or a string of digits.
pub fn at_millis(at: &Value) -> Option<i64> {
    let epoch = match at {
        Value::Number(n) => n.as_i64(),
        Value::String(text) if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() => {
            text.parse().ok()
        }
        Value::String(text) => {
            let parsed = OffsetDateTime::parse(text, &Iso8601::DEFAULT).ok()?;
            return i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok();
        }
        _ => None,
    }?;
    if epoch <= 0 {
        return None;
    }
    if epoch >= MILLIS_THRESHOLD {
        Some(epoch)
    } else {
        epoch.checked_mul(1000)
    }
}

/// The header Coinme would send with `body`, signed with `secret` in `options`' encoding.
pub fn signed_headers(
    secret: &Secret,
    body: &[u8],
    options: &CoinmeOptions,
) -> Vec<(String, String)> {
    use base64::Engine;
    let tag = secret.sign(&[body]);
    let encoded = match options.encoding {
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(tag),
        Encoding::Hex => hex::encode(tag),
    };
    vec![
        ("content-type".to_string(), "application/json".to_string()),
        (options.signature_header.clone(), encoded),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};
    use serde_json::json;

    // Vectors computed outside Rust:
    //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac hookline-coinme-test-secret -binary | base64
    //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac hookline-coinme-test-secret
    const SECRET: &str = "hookline-coinme-test-secret";
    const BODY: &[u8] = br#"{"id":"5bca79f9-5718-4602-be41-8d45ca8cecfd","type":"ORDER_TEMPLATE","data":{"orderTemplateId":"1263543355914194944","orderTemplateStatus":"CONSUMED"},"at":"2025-07-18T17:11:20Z"}"#;
    const BASE64_TAG: &str = "LS4+2UFmnzuHdzVGJTy7yA7tiGp2qXE/pynp+gSbPAk=";
    const HEX_TAG: &str = "2d2e3ed941669f3b87773546253cbbc80eed886a76a9713fa729e9fa049b3c09";

    fn scheme(encoding: Encoding) -> CoinmeScheme {
        CoinmeScheme::new(
            SecretSet::parse(SECRET).unwrap(),
            CoinmeOptions {
                encoding,
                ..CoinmeOptions::default()
            },
        )
    }

    fn with_tag(tag: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(DEFAULT_SIGNATURE_HEADER),
            HeaderValue::from_str(tag).unwrap(),
        );
        headers
    }

    #[test]
    fn the_openssl_vectors_verify_in_their_encoding_only() {
        let event = scheme(Encoding::Base64)
            .verify(&with_tag(BASE64_TAG), BODY, 0)
            .unwrap();
        assert_eq!(event.event_id, "5bca79f9-5718-4602-be41-8d45ca8cecfd");
        assert_eq!(event.event_type, "ORDER_TEMPLATE");
        assert!(event.known_type);
        assert!(
            scheme(Encoding::Hex)
                .verify(&with_tag(HEX_TAG), BODY, 0)
                .is_ok()
        );
        // The right tag in the other encoding is refused.
        for (encoding, tag) in [(Encoding::Base64, HEX_TAG), (Encoding::Hex, BASE64_TAG)] {
            let err = scheme(encoding)
                .verify(&with_tag(tag), BODY, 0)
                .unwrap_err();
            assert_eq!(err.error_code(), "invalid_signature", "{encoding}");
        }
        let ours = signed_headers(&Secret::new(SECRET), BODY, &CoinmeOptions::default());
        assert_eq!(ours[1].1, BASE64_TAG);
    }

    #[test]
    fn unpadded_base64_is_the_same_tag() {
        let unpadded = BASE64_TAG.trim_end_matches('=');
        assert!(
            scheme(Encoding::Base64)
                .verify(&with_tag(unpadded), BODY, 0)
                .is_ok()
        );
    }

    #[test]
    fn forged_truncated_empty_and_missing_signatures_fail() {
        let scheme = scheme(Encoding::Base64);
        let forged = Secret::new("not-the-secret").sign(&[BODY]);
        use base64::Engine;
        let forged = base64::engine::general_purpose::STANDARD.encode(forged);
        for tag in [forged.as_str(), &BASE64_TAG[..20], "", "!!!!"] {
            let headers = if tag.is_empty() {
                HeaderMap::new()
            } else {
                with_tag(tag)
            };
            assert_eq!(
                scheme.verify(&headers, BODY, 0).unwrap_err().status(),
                401,
                "{tag}"
            );
        }
    }

    #[test]
    fn the_header_name_is_configurable() {
        let scheme = CoinmeScheme::new(
            SecretSet::parse(SECRET).unwrap(),
            CoinmeOptions {
                signature_header: "x-signature".into(),
                encoding: Encoding::Hex,
            },
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_static(HEX_TAG));
        assert!(scheme.verify(&headers, BODY, 0).is_ok());
        let mut default_name = HeaderMap::new();
        default_name.insert(DEFAULT_SIGNATURE_HEADER, HeaderValue::from_static(HEX_TAG));
        assert!(scheme.verify(&default_name, BODY, 0).is_err());
    }

    #[test]
    fn at_is_iso_seconds_or_millis() {
        let expected = 1_752_858_680_000;
        for at in [
            json!("2025-07-18T17:11:20Z"),
            json!("2025-07-18T17:11:20.000+00:00"),
            json!(1_752_858_680),
            json!(1_752_858_680_000_i64),
            json!("1752858680"),
        ] {
            assert_eq!(at_millis(&at), Some(expected), "{at}");
        }
        for at in [
            json!("yesterday"),
            json!(-5),
            json!(1.5),
            json!(null),
            json!(""),
        ] {
            assert_eq!(at_millis(&at), None, "{at}");
        }
    }

    #[test]
    fn envelopes_are_checked() {
        assert!(parse_envelope(br#"{"id":"a","type":"REFUND","at":1752858680}"#).is_ok());
        // "timestamp in UTC" is all Coinme says of `at`: a form hookline cannot read is no
        // reason to refuse a signed event.
        for at in [r#""last week""#, "null", "true", r#"{"t":1}"#] {
            let body = format!(r#"{{"id":"a","type":"CAAS","at":{at}}}"#);
            assert!(parse_envelope(body.as_bytes()).is_ok(), "{at}");
        }
        let unknown = parse_envelope(br#"{"id":"a","type":"SOMETHING_NEW"}"#).unwrap();
        assert!(!unknown.known_type);
        for body in [
            &br#"{"type":"CAAS"}"#[..],
            br#"{"id":"a"}"#,
            br#"{"id":7,"type":"CAAS"}"#,
            b"[]",
            b"not json",
        ] {
            assert_eq!(parse_envelope(body).unwrap_err().status(), 400);
        }
    }
}
