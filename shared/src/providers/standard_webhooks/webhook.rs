//! Standard Webhooks (standardwebhooks.com), used by many senders: `webhook-id`,
//! `webhook-timestamp` (unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256>` entries over `"{id}.{timestamp}.{raw body}"`. Secrets are
//! `whsec_<base64>`; the key is the decoded bytes. The id is the dedupe key.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use serde::Deserialize;
use thiserror::Error;

use crate::keyring::Keyring;
use crate::signature::{
    MAX_SIGNATURE_CANDIDATES, Secret, SecretSet, SecretSetError, TAG_LEN, split_list,
};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, check_window, header_str, malformed_json,
    unix_seconds, validate_event_id,
};

/// The scheme's name; each sender's events are `std:{source}`.
pub const PROVIDER: &str = "std";
/// Longest source name: it becomes part of table keys and a metric dimension.
pub const MAX_SOURCE_LEN: usize = 64;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;
const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("no Standard Webhooks secret is configured")]
    Empty,
    #[error("a Standard Webhooks secret is not base64 (expected whsec_<base64>)")]
    NotBase64,
    #[error("Standard Webhooks secrets must be a JSON object of source name to a list of secrets")]
    NotSourceMap,
    #[error("source names are 1 to 64 characters of a-z, 0-9 and -")]
    BadSourceName,
    /// Names the secret's place in its list, never its value.
    #[error(
        "Standard Webhooks secret #{position} decodes to {len} bytes; the specification asks for at least {min}"
    )]
    TooShort {
        position: usize,
        len: usize,
        min: usize,
    },
}

/// The shortest key the Standard Webhooks specification allows ("between 24 and 64 bytes").
pub const MIN_KEY_BYTES: usize = 24;

/// The active secrets of each configured source.
pub type SourceSecrets = BTreeMap<String, SecretSet>;

/// Reads the per-source configuration: `{"acme": ["whsec_...", "whsec_..."], "other": [...]}`.
pub fn parse_sources(text: &str) -> Result<SourceSecrets, SecretError> {
    let listed: BTreeMap<String, Vec<String>> =
        serde_json::from_str(text).map_err(|_| SecretError::NotSourceMap)?;
    if listed.is_empty() {
        return Err(SecretError::Empty);
    }
    listed
        .into_iter()
        .map(|(source, secrets)| {
            if !is_source_name(&source) {
                return Err(SecretError::BadSourceName);
            }
            let list = serde_json::to_string(&secrets).map_err(|_| SecretError::NotSourceMap)?;
            Ok((source, parse_secrets(&list)?))
        })
        .collect()
}

fn is_source_name(source: &str) -> bool {
    !source.is_empty()
        && source.len() <= MAX_SOURCE_LEN
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Decodes a list of `whsec_` secrets (comma- or newline-separated, or a JSON array). A key
/// shorter than [`MIN_KEY_BYTES`] once decoded (`whsec_` alone, a placeholder) is refused.
pub fn parse_secrets(list: &str) -> Result<SecretSet, SecretError> {
    let decoded = split_list(list)
        .map_err(|_| SecretError::Empty)?
        .iter()
        .map(|text| {
            let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
            STANDARD
                .decode(encoded)
                .map(Secret::new)
                .map_err(|_| SecretError::NotBase64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    SecretSet::with_min_len(decoded, MIN_KEY_BYTES).map_err(|e| match e {
        SecretSetError::TooShort { position, len, min } => {
            SecretError::TooShort { position, len, min }
        }
        _ => SecretError::Empty,
    })
}

/// The part of the payload hookline reads; Standard Webhooks payloads carry `type` by
/// convention, but the specification does not require it.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    event_type: Option<String>,
}

/// The scheme for every configured sender; the route's `{source}` picks the sender's secrets.
#[derive(Clone, Debug)]
pub struct StandardWebhooksScheme {
    sources: Keyring<SourceSecrets>,
}

impl StandardWebhooksScheme {
    pub fn new(sources: impl Into<Keyring<SourceSecrets>>) -> Self {
        Self {
            sources: sources.into(),
        }
    }

    /// One sender (`source`) with its secrets.
    pub fn single(source: &str, secrets: SecretSet) -> Self {
        Self::new(SourceSecrets::from([(source.to_string(), secrets)]))
    }
}

/// The `v1` signatures of a `webhook-signature` header, decoded; anything malformed is skipped
/// (it can never match), other versions are ignored.
fn v1_signatures(header: &str) -> Vec<[u8; TAG_LEN]> {
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .filter_map(|bytes| <[u8; TAG_LEN]>::try_from(bytes).ok())
        .collect()
}

impl WebhookScheme for StandardWebhooksScheme {
    fn plan(&self, message: &crate::message::QueueMessage) -> Result<crate::plan::Plan, crate::plan::PlanError> {
        super::plan::plan(message)
    }

    fn provider(&self) -> &str {
        PROVIDER
    }

    fn kept_headers(&self) -> Vec<&str> {
        vec![ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
    }

    /// The source name picks the secrets: a re-verification needs it.
    fn keeps_route_param(&self) -> bool {
        true
    }

    fn verify_routed(
        &self,
        route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        let sources = self.sources.current();
        // An unconfigured source is not found: nothing can verify it, and the answer tells
        // the sender its URL is wrong rather than that its signature is.
        let (source, secrets) = route
            .param
            .and_then(|name| sources.get_key_value(name))
            .ok_or(Rejection::UnknownRoute(
                "no Standard Webhooks source of that name is configured",
            ))?;
        let signature = header_str(headers, SIGNATURE_HEADER).ok_or(
            Rejection::InvalidSignature("missing webhook-signature header"),
        )?;
        // The id and timestamp are signed: without them nothing can be verified.
        let id = header_str(headers, ID_HEADER)
            .ok_or(Rejection::InvalidSignature("missing webhook-id header"))?;
        let timestamp_text = header_str(headers, TIMESTAMP_HEADER).unwrap_or_default();
        let timestamp = unix_seconds(header_str(headers, TIMESTAMP_HEADER), TIMESTAMP_HEADER)?;
        let signed = [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body];
        // Bounded before any hashing: one pass over the body per secret, whatever was sent.
        if signature.split(' ').filter(|e| !e.is_empty()).count() > MAX_SIGNATURE_CANDIDATES {
            return Err(Rejection::InvalidSignature(
                "more than 8 signatures in webhook-signature",
            ));
        }
        let candidates = v1_signatures(signature);
        if !secrets.verify_any(&signed, &candidates) {
            return Err(Rejection::InvalidSignature(
                "no v1 signature in webhook-signature matches under any active secret",
            ));
        }
        check_window(
            "webhook-timestamp",
            timestamp,
            now_unix,
            TIMESTAMP_TOLERANCE_SECS,
        )?;
        validate_event_id(id)?;
        let envelope: Envelope = serde_json::from_slice(body)
            .map_err(|e| malformed_json(&e, "a JSON object whose type, if present, is a string"))?;
        Ok(VerifiedEvent {
            provider: format!("{PROVIDER}:{source}"),
            event_id: id.to_string(),
            known_type: envelope.event_type.is_some(),
            event_type: envelope.event_type.unwrap_or_else(|| "unknown".to_string()),
        })
    }
}

/// The headers a Standard Webhooks sender would send, signed with the first secret.
pub fn signed_headers(
    secrets: &SecretSet,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let timestamp = timestamp.to_string();
    let tag = secrets
        .primary()
        .sign(&[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    vec![
        (ID_HEADER, id.to_string()),
        (TIMESTAMP_HEADER, timestamp),
        (SIGNATURE_HEADER, format!("v1,{}", STANDARD.encode(tag))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    // The specification's published example, checked outside Rust with:
    //   printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' \
    //     | openssl dgst -sha256 -mac HMAC -binary -macopt hexkey:$(printf '%s' \
    //       MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p | tr -d '\n') | base64
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn scheme(secrets: &str) -> StandardWebhooksScheme {
        StandardWebhooksScheme::single("acme", parse_secrets(secrets).unwrap())
    }

    /// Verifies as a request to `/webhooks/std/acme`.
    trait AtAcme {
        fn at_acme(&self, h: &HeaderMap, body: &[u8], now: i64)
        -> Result<VerifiedEvent, Rejection>;
    }

    impl AtAcme for StandardWebhooksScheme {
        fn at_acme(
            &self,
            h: &HeaderMap,
            body: &[u8],
            now: i64,
        ) -> Result<VerifiedEvent, Rejection> {
            let route = Route {
                path: "/webhooks/std/acme",
                param: Some("acme"),
            };
            self.verify_routed(&route, h, body, now)
        }
    }

    fn headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID_HEADER, HeaderValue::from_static(ID));
        headers.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&TIMESTAMP.to_string()).unwrap(),
        );
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        headers
    }

    fn verify(signature: &str) -> Result<VerifiedEvent, Rejection> {
        scheme(SECRET).at_acme(&headers(signature), BODY, TIMESTAMP)
    }

    #[test]
    fn the_specification_example_verifies() {
        let event = verify(SIGNATURE).unwrap();
        assert_eq!(event.event_id, ID);
        assert!(!event.known_type, "the example payload has no type");
        assert_eq!(event.provider, "std:acme");
        let ours = signed_headers(&parse_secrets(SECRET).unwrap(), ID, TIMESTAMP, BODY);
        assert_eq!(ours[2].1, SIGNATURE);
    }

    #[test]
    fn any_listed_v1_signature_may_match() {
        let other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert!(verify(&format!("{other} {SIGNATURE}")).is_ok());
        assert!(verify(&format!("v2,abc {SIGNATURE}")).is_ok());
    }

    #[test]
    fn malformed_or_other_version_signatures_fail() {
        let valid = SIGNATURE.trim_start_matches("v1,");
        for signature in [
            "v1,",
            "v1",
            &format!("v2,{valid}"),
            &format!("v1,{}", &valid[..20]),
            "v1,!!!",
        ] {
            assert_eq!(
                verify(signature).unwrap_err().error_code(),
                "invalid_signature",
                "{signature}"
            );
        }
    }

    #[test]
    fn tampered_body_id_or_timestamp_fail() {
        let scheme = scheme(SECRET);
        assert!(
            scheme
                .at_acme(&headers(SIGNATURE), br#"{"test": 2432232315}"#, TIMESTAMP)
                .is_err()
        );
        let mut other_id = headers(SIGNATURE);
        other_id.insert(ID_HEADER, HeaderValue::from_static("msg_other"));
        assert!(scheme.at_acme(&other_id, BODY, TIMESTAMP).is_err());
        let mut other_time = headers(SIGNATURE);
        other_time.insert(TIMESTAMP_HEADER, HeaderValue::from_static("1614265331"));
        assert!(scheme.at_acme(&other_time, BODY, TIMESTAMP).is_err());
    }

    #[test]
    fn timestamp_window_both_ways() {
        let scheme = scheme(SECRET);
        for now in [TIMESTAMP - 301, TIMESTAMP + 301] {
            let err = scheme.at_acme(&headers(SIGNATURE), BODY, now).unwrap_err();
            assert_eq!(err.error_code(), "stale_timestamp");
        }
        assert!(
            scheme
                .at_acme(&headers(SIGNATURE), BODY, TIMESTAMP + 300)
                .is_ok()
        );
    }

    #[test]
    fn sources_are_chosen_by_route_and_unknown_ones_are_not_found() {
        let sources = parse_sources(&format!(
            r#"{{"acme": ["{SECRET}"], "other": ["whsec_{}"]}}"#,
            STANDARD.encode(b"the other source key, 24+")
        ))
        .unwrap();
        let scheme = StandardWebhooksScheme::new(sources);
        let at = |param| Route {
            path: "/webhooks/std/x",
            param,
        };
        let h = headers(SIGNATURE);
        assert!(
            scheme
                .verify_routed(&at(Some("acme")), &h, BODY, TIMESTAMP)
                .is_ok()
        );
        let wrong = scheme.verify_routed(&at(Some("other")), &h, BODY, TIMESTAMP);
        assert_eq!(wrong.unwrap_err().status(), 401);
        for param in [Some("nobody"), None] {
            let err = scheme
                .verify_routed(&at(param), &h, BODY, TIMESTAMP)
                .unwrap_err();
            assert_eq!(err.status(), 404);
        }
        assert_eq!(
            parse_sources(r#"{"Bad Name": ["whsec_YQ=="]}"#).unwrap_err(),
            SecretError::BadSourceName
        );
        assert_eq!(parse_sources("[]").unwrap_err(), SecretError::NotSourceMap);
        assert_eq!(parse_sources("{}").unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn rotation_and_secret_errors() {
        let rotated = format!(
            "whsec_{}, {SECRET}",
            STANDARD.encode(b"the new key, 24 bytes long")
        );
        assert!(
            scheme(&rotated)
                .at_acme(&headers(SIGNATURE), BODY, TIMESTAMP)
                .is_ok()
        );
        assert_eq!(
            parse_secrets("whsec_***").unwrap_err(),
            SecretError::NotBase64
        );
        assert_eq!(parse_secrets(" ").unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn a_key_that_is_no_key_is_refused_at_load() {
        // Regression: `whsec_` alone decoded to a zero-length HMAC key anyone could sign with.
        for (list, len) in [
            ("whsec_", 0),
            ("whsec_AA==", 1),
            (
                &format!(
                    "{SECRET}, whsec_{}",
                    STANDARD.encode(b"23 bytes, one too few!!")
                ),
                23,
            ),
        ] {
            match parse_secrets(list) {
                Err(SecretError::TooShort { len: got, min, .. }) => {
                    assert_eq!((got, min), (len, MIN_KEY_BYTES), "{list}");
                }
                other => panic!("{list}: {other:?}"),
            }
        }
        let err = parse_sources(r#"{"acme": ["whsec_"]}"#).unwrap_err();
        assert!(err.to_string().contains("at least 24"), "{err}");
    }

    #[test]
    fn more_than_eight_signatures_are_refused_before_hashing() {
        let scheme = scheme(SECRET);
        let decoy = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let eight = format!("{}{SIGNATURE}", format!("{decoy} ").repeat(7));
        assert!(scheme.at_acme(&headers(&eight), BODY, TIMESTAMP).is_ok());
        let nine = format!("{decoy} {eight}");
        let err = scheme
            .at_acme(&headers(&nine), BODY, TIMESTAMP)
            .unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(err.to_string().contains("more than 8"), "{err}");
    }

    #[test]
    fn missing_headers_and_non_json_bodies_are_refused() {
        let scheme = scheme(SECRET);
        for header in [ID_HEADER, SIGNATURE_HEADER] {
            let mut h = headers(SIGNATURE);
            h.remove(header);
            assert_eq!(
                scheme.at_acme(&h, BODY, TIMESTAMP).unwrap_err().status(),
                401,
                "{header}"
            );
        }
        let mut h = headers(SIGNATURE);
        h.remove(TIMESTAMP_HEADER);
        assert_eq!(
            scheme
                .at_acme(&h, BODY, TIMESTAMP)
                .unwrap_err()
                .error_code(),
            "stale_timestamp"
        );
        let secrets = parse_secrets(SECRET).unwrap();
        let body = b"not json";
        let signed: HeaderMap = signed_headers(&secrets, ID, TIMESTAMP, body)
            .into_iter()
            .map(|(n, v)| {
                (
                    http::HeaderName::from_static(n),
                    HeaderValue::from_str(&v).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            scheme
                .at_acme(&signed, body, TIMESTAMP)
                .unwrap_err()
                .status(),
            400
        );
    }
}
