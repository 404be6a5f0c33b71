//! What a webhook scheme is: how a provider proves a request genuine ([`WebhookScheme`]), what
//! it learns from one ([`VerifiedEvent`]) and why it refuses one ([`Rejection`]). Each provider's
//! scheme lives in its module under [`providers`](crate::providers).
//!
//! Every scheme is a pure function of the request headers, the raw body and the current time, so
//! it can be tested without AWS or a network.

use std::borrow::Cow;

use http::HeaderMap;
use thiserror::Error;

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
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
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
    Ok(())
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

    fn keeps_route_param(&self) -> bool {
        (**self).keeps_route_param()
    }
}
