//! What a webhook scheme is: how a provider proves a request genuine ([`WebhookScheme`]), what
//! it learns from one ([`VerifiedEvent`]) and why it refuses one ([`Rejection`]). Each provider's
//! scheme lives in its module under [`providers`](crate::providers).
//!
//! Every scheme is a pure function of the request headers, the raw body and the current time, so
//! it can be tested without AWS or a network.

use std::borrow::Cow;

use http::HeaderMap;
use thiserror::Error;

use crate::message::QueueMessage;
use crate::plan::{Plan, PlanError};

/// What a scheme learned from a request it found genuine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// The provider as named in queue messages, metrics and table keys: usually the scheme's
    /// own name, or a name chosen by the route (`std:{source}`, `owlpay-harbor`).
    pub provider: String,
    /// The provider's id for this event: the dedupe key downstream.
    pub event_id: String,
    pub event_type: String,
    /// False for a signed, well-formed event of a type hookline does not know yet. Such an event
    /// is still accepted: refusing it would only make the provider retry it forever.
    pub known_type: bool,
}

/// Why a request was refused. The `Display` text is safe to log and to return to the caller: it
/// never contains a secret, a signature or body content.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Rejection {
    #[error("method {0} is not allowed; webhooks are POSTed")]
    MethodNotAllowed(String),
    /// `size` is what the sender sent; `wrapped`, when the body fits but its queue message
    /// (the body escaped as a JSON string, with its envelope) would not.
    #[error("{}", too_large_text(*size, *limit, *wrapped))]
    PayloadTooLarge {
        size: usize,
        limit: usize,
        wrapped: Option<usize>,
    },
    /// The route names nothing configured (an unknown Standard Webhooks source).
    #[error("{0}")]
    UnknownRoute(&'static str),
    #[error("{0}")]
    InvalidSignature(&'static str),
    #[error("{0}")]
    StaleTimestamp(String),
    #[error("{0}")]
    Malformed(String),
}

fn too_large_text(size: usize, limit: usize, wrapped: Option<usize>) -> String {
    match wrapped {
        None => format!("payload of {size} bytes exceeds the limit of {limit} bytes"),
        Some(wrapped) => format!(
            "payload of {size} bytes is too large: its queue message (the body escaped as a JSON string, with its envelope) would be {wrapped} bytes, over SQS's limit of {limit} bytes"
        ),
    }
}

impl Rejection {
    /// The HTTP status the receiver answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnknownRoute(_) => 404,
            Self::InvalidSignature(_) | Self::StaleTimestamp(_) => 401,
            Self::Malformed(_) => 400,
        }
    }

    /// The machine-readable `error` field of the response body.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnknownRoute(_) => "unknown_route",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::StaleTimestamp(_) => "stale_timestamp",
            Self::Malformed(_) => "malformed_payload",
        }
    }

    /// The `reason` dimension of the `WebhookRejected` metric.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed(_) => "method",
            Self::PayloadTooLarge { .. } => "too_large",
            Self::UnknownRoute(_) => "route",
            Self::InvalidSignature(_) => "signature",
            Self::StaleTimestamp(_) => "stale",
            Self::Malformed(_) => "malformed",
        }
    }
}

/// Where a request arrived: its path, and the value of the route's one path parameter (the
/// Optty path token, the Standard Webhooks source) when the route has one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Route<'a> {
    pub path: &'a str,
    pub param: Option<&'a str>,
}

/// One provider's way of proving a webhook genuine and naming the event in it.
pub trait WebhookScheme: Send + Sync {
    /// Short lowercase name of the scheme, for metrics and logs of refused requests.
    fn provider(&self) -> &str;

    /// Verifies the request and extracts its event. `body` is exactly the bytes received and
    /// `now_unix` the current time in seconds, for replay windows.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        self.verify_routed(&Route::default(), headers, body, now_unix)
    }

    /// [`verify`](Self::verify) for schemes whose route matters. The receiver always calls this.
    fn verify_routed(
        &self,
        route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection>;

    /// What the processor will make of the message this scheme's receiver queues: the provider's
    /// own processing rules (its `plan`). The receiver runs it at the door, so that nothing is
    /// answered 200 that the processor would fail to parse, retry and dead-letter.
    fn plan(&self, message: &QueueMessage) -> Result<Plan, PlanError>;

    /// When the request's time is not covered by the signature (Octopus' `X-Timestamp` is
    /// unsigned, Coinme sends none), the body field holding the event's own, signed, time. A
    /// captured request could otherwise be sent again with a fresh time long after the processor
    /// forgot the event: the receiver refuses events whose body time is older than the claim
    /// lifetime allows ([`crate::receiver::max_event_age_secs`]). `None`: the request's time is
    /// signed and checked, or (Optty) there is no signed time at all.
    fn body_time_field(&self) -> Option<&'static str> {
        None
    }

    /// The body as it may be kept at rest (queue message, archive, table): by default exactly
    /// the bytes received. A scheme whose body carries a secret that nothing downstream needs and
    /// no signature covers (Optty's card token) returns it without.
    fn stored_body<'a>(&self, body: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(body)
    }

    /// The headers (lowercase) that verifying a request reads, which the queue message keeps so
    /// the event can be verified again later: signatures, timestamps, id and type headers;
    /// never a secret sent in plain text.
    fn kept_headers(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Whether the route's path parameter is kept with them: a source name is, a token is not.
    fn keeps_route_param(&self) -> bool {
        false
    }
}

/// The value of a header as text, or `None` when it is absent, empty or not visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The `{"id": "…", "type": "…", …}` envelope several providers share (Octopus, Coinme): reads
/// the id and the type, nothing else, and checks the id before it becomes a key anywhere.
pub(crate) fn parse_id_type_envelope(
    provider: &str,
    body: &[u8],
    is_known: impl Fn(&str) -> bool,
) -> Result<VerifiedEvent, Rejection> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
        #[serde(rename = "type", borrow)]
        event_type: Option<std::borrow::Cow<'a, str>>,
    }
    let envelope: Envelope<'_> = serde_json::from_slice(body)
        .map_err(|e| malformed_json(&e, "a JSON object whose id and type are strings"))?;
    let event_id = envelope
        .id
        .ok_or_else(|| Rejection::Malformed("body has no id".into()))?
        .into_owned();
    validate_event_id(&event_id)?;
    let event_type = envelope
        .event_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Rejection::Malformed("body has no type".into()))?
        .into_owned();
    Ok(VerifiedEvent {
        provider: provider.to_string(),
        known_type: is_known(&event_type),
        event_id,
        event_type,
    })
}

/// Longest event id hookline accepts; ids become table keys and message attributes.
pub const MAX_EVENT_ID_LEN: usize = 256;

/// Checks an event id from a verified body before it becomes a key anywhere.
pub(crate) fn validate_event_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        return Err(Rejection::Malformed("event id is empty".into()));
    }
    if id.len() > MAX_EVENT_ID_LEN {
        return Err(Rejection::Malformed(format!(
            "event id is longer than {MAX_EVENT_ID_LEN} bytes"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Rejection::Malformed(
            "event id contains control characters".into(),
        ));
    }
    if !sqs_accepts(id) {
        return Err(Rejection::Malformed(
            "event id contains a character SQS does not carry (U+FFFE or U+FFFF)".into(),
        ));
    }
    Ok(())
}

/// Longest event type hookline accepts; types become message attributes and metric dimensions.
pub const MAX_EVENT_TYPE_LEN: usize = 256;

/// Checks an event type from a verified body before it becomes a message attribute, a metric
/// dimension and a log field.
pub(crate) fn validate_event_type(event_type: &str) -> Result<(), Rejection> {
    if event_type.is_empty() {
        return Err(Rejection::Malformed("event type is empty".into()));
    }
    if event_type.len() > MAX_EVENT_TYPE_LEN {
        return Err(Rejection::Malformed(format!(
            "event type is longer than {MAX_EVENT_TYPE_LEN} bytes"
        )));
    }
    if event_type.chars().any(char::is_control) || !sqs_accepts(event_type) {
        return Err(Rejection::Malformed(
            "event type contains control characters or U+FFFE/U+FFFF".into(),
        ));
    }
    Ok(())
}

/// Whether SQS carries `text` as it is in a message attribute: its character set is `#x9 | #xA |
/// #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF` (SendMessage, "MessageBody"). Rust
/// strings hold no surrogates; control characters are checked apart.
pub(crate) fn sqs_accepts(text: &str) -> bool {
    !text.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// Reads a unix-seconds timestamp for the replay window; absent or unreadable is `stale`.
pub(crate) fn unix_seconds(text: Option<&str>, header: &str) -> Result<i64, Rejection> {
    text.ok_or_else(|| Rejection::StaleTimestamp(format!("missing {header}")))?
        .parse::<i64>()
        .map_err(|_| Rejection::StaleTimestamp(format!("{header} is not a unix time in seconds")))
}

/// Refuses a timestamp more than `tolerance` seconds from `now`, in either direction.
pub(crate) fn check_window(
    header: &str,
    timestamp: i64,
    now_unix: i64,
    tolerance: i64,
) -> Result<(), Rejection> {
    // A time in milliseconds is 1,000 times too large: named as such, not as a skew of decades.
    if timestamp.unsigned_abs() > 100_000_000_000 {
        return Err(Rejection::StaleTimestamp(format!(
            "{header} looks like milliseconds ({timestamp}); it must be unix time in seconds"
        )));
    }
    let skew = now_unix.saturating_sub(timestamp);
    if skew.abs() > tolerance {
        return Err(Rejection::StaleTimestamp(format!(
            "{header} is {skew} s from now; the tolerance is {tolerance} s"
        )));
    }
    Ok(())
}

/// A body that did not parse as the envelope: the error names the shape expected, never body
/// content (serde's own messages may quote values).
pub(crate) fn malformed_json(error: &serde_json::Error, expected_shape: &str) -> Rejection {
    Rejection::Malformed(match error.classify() {
        serde_json::error::Category::Data => format!("body must be {expected_shape}"),
        _ => format!(
            "body is not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    })
}

/// A numeric time above this is in milliseconds (year 5138 in seconds).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// `body` with its time `field` set to `at` (unix seconds) when the time there is more than
/// `max_age_secs` before `at`; `None` when it is recent enough, absent, or the body is not a JSON
/// object. For sample payloads signed now (`hookline sign`, the local benches): their fixed
/// times age past what a receiver accepts ([`WebhookScheme::body_time_field`]).
pub fn redated_body(body: &[u8], field: &str, at: i64, max_age_secs: i64) -> Option<Vec<u8>> {
    use time::format_description::well_known::Rfc3339;
    let serde_json::Value::Object(mut fields) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let value = fields.get_mut(field)?;
    let written = match value {
        serde_json::Value::String(text) => time::OffsetDateTime::parse(text, &Rfc3339)
            .ok()?
            .unix_timestamp(),
        // Coinme writes `at` in seconds or milliseconds.
        serde_json::Value::Number(number) => match number.as_i64()? {
            ms if ms > MILLIS_THRESHOLD => ms / 1000,
            secs => secs,
        },
        _ => return None,
    };
    if at - written <= max_age_secs {
        return None;
    }
    *value = match value {
        serde_json::Value::Number(n) if n.as_i64() > Some(MILLIS_THRESHOLD) => {
            serde_json::Value::from(at * 1000)
        }
        serde_json::Value::Number(_) => serde_json::Value::from(at),
        _ => serde_json::Value::from(
            time::OffsetDateTime::from_unix_timestamp(at)
                .ok()?
                .format(&Rfc3339)
                .ok()?,
        ),
    };
    serde_json::to_vec(&serde_json::Value::Object(fields)).ok()
}

/// A scheme chosen at run time (the CLI runs every provider's receiver in one process).
impl<T: WebhookScheme + ?Sized> WebhookScheme for Box<T> {
    fn provider(&self) -> &str {
        (**self).provider()
    }

    fn verify_routed(
        &self,
        route: &Route<'_>,
        headers: &HeaderMap,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedEvent, Rejection> {
        (**self).verify_routed(route, headers, body, now_unix)
    }

    fn kept_headers(&self) -> Vec<&str> {
        (**self).kept_headers()
    }

    fn stored_body<'a>(&self, body: &'a str) -> Cow<'a, str> {
        (**self).stored_body(body)
    }

    fn plan(&self, message: &QueueMessage) -> Result<Plan, PlanError> {
        (**self).plan(message)
    }

    fn body_time_field(&self) -> Option<&'static str> {
        (**self).body_time_field()
    }

    fn keeps_route_param(&self) -> bool {
        (**self).keeps_route_param()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_body_time_is_redated_and_a_recent_one_left_alone() {
        let body = br#"{"id":"e","created_at":"2026-11-22T10:00:00Z"}"#;
        let at = 1_795_341_600 + 10 * 86_400; // ten days later
        let redated = redated_body(body, "created_at", at, 6 * 86_400).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&redated).unwrap();
        assert_eq!(json["created_at"], "2026-12-02T10:00:00Z");
        assert_eq!(redated_body(body, "created_at", 1_795_341_600, 60), None);
        assert_eq!(
            redated_body(br#"{"at":1}"#, "at", 100, 10).unwrap(),
            br#"{"at":100}"#
        );
        assert_eq!(redated_body(br#"{"id":"e"}"#, "at", 100, 10), None);
        let ms = redated_body(br#"{"at":1752858430000}"#, "at", 1_795_341_600, 10).unwrap();
        assert_eq!(ms, br#"{"at":1795341600000}"#);
    }

    #[test]
    fn a_millisecond_timestamp_is_named_as_such() {
        let error = check_window("X-Timestamp", 1_795_341_600_000, 1_795_341_600, 300).unwrap_err();
        assert_eq!(
            error.to_string(),
            "X-Timestamp looks like milliseconds (1795341600000); it must be unix time in seconds"
        );
        assert!(check_window("X-Timestamp", 1_795_341_600, 1_795_341_600, 300).is_ok());
    }

    #[test]
    fn ids_and_types_sqs_would_refuse_are_malformed() {
        assert!(validate_event_id("evt_\u{FFFE}").is_err());
        assert!(validate_event_id("evt_1").is_ok());
        assert!(validate_event_type("order.\u{7}x").is_err());
        assert!(validate_event_type("a\u{FFFF}").is_err());
        assert!(validate_event_type(&"t".repeat(MAX_EVENT_TYPE_LEN + 1)).is_err());
        assert!(validate_event_type("order.delivered").is_ok());
    }
}
