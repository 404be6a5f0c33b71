//! The webhook receiver: method and size checks, the provider's verification, the enqueue, and
//! the answer to the provider. Independent of Lambda and of any HTTP server; `lambda` adapts it
//! to API Gateway, and the `hookline serve` command to a local server.

pub mod lambda;
pub mod metrics;

use http::{HeaderMap, Method};
use serde_json::json;
use time::OffsetDateTime;

use crate::idempotency::DEFAULT_RECORD_TTL_SECS;
use crate::message::{QueueMessage, SQS_MAX_MESSAGE_BYTES};
use crate::queue::OutgoingMessage;
use crate::queue::Queue;
use crate::test_event::{self, TEST_EVENT_TYPE};
use crate::webhook::{
    Rejection, Route, VerifiedEvent, WebhookScheme, header_str, validate_event_id,
    validate_event_type,
};

/// What happened to one request, for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiveOutcome {
    Accepted {
        event: VerifiedEvent,
        message_id: String,
    },
    Rejected(Rejection),
    /// Genuine, but the queue did not take it: the provider is told to retry.
    EnqueueFailed {
        event: VerifiedEvent,
    },
}

/// The answer to the provider, plus what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// JSON body.
    pub body: String,
    pub outcome: ReceiveOutcome,
}

impl Reply {
    /// The HTTP response: JSON body, and `Allow: POST` on a 405.
    pub fn into_http(self) -> http::Response<String> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if self.status == 405 {
            headers.insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        }
        response
    }
}

/// Receives one provider's webhooks into a queue. Built once at init, shared by all requests.
#[derive(Debug)]
pub struct Receiver<S, Q> {
    scheme: S,
    queue: Q,
    /// The oldest signed body time accepted from a scheme whose request time is unsigned.
    max_event_age_secs: i64,
}

impl<S: WebhookScheme, Q: Queue> Receiver<S, Q> {
    pub fn new(scheme: S, queue: Q) -> Self {
        Self {
            scheme,
            queue,
            max_event_age_secs: max_event_age_secs(DEFAULT_RECORD_TTL_SECS),
        }
    }

    /// Sets how long the processor remembers an event (`EVENT_RECORD_TTL_SECS`), from which the
    /// oldest body time accepted is derived ([`max_event_age_secs`]).
    pub fn with_record_ttl(mut self, record_ttl_secs: i64) -> Self {
        self.max_event_age_secs = max_event_age_secs(record_ttl_secs);
        self
    }

    pub fn provider(&self) -> &str {
        self.scheme.provider()
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Handles one request on a route without parameters.
    pub async fn receive(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Reply {
        self.receive_routed(&Route::default(), method, headers, body, now)
            .await
    }

    /// Handles one request. Answers 2xx only once the queue has the message.
    pub async fn receive_routed(
        &self,
        route: &Route<'_>,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Reply {
        let (message, mut event) = match self.check(route, method, headers, body, now) {
            Ok(checked) => checked,
            Err(rejection) => {
                tracing::warn!(
                    provider = self.provider(),
                    reason = rejection.metric_reason(),
                    detail = %rejection,
                    "webhook rejected"
                );
                return rejected(rejection);
            }
        };
        // Not a type of the provider's, but one hookline knows (`hookline smoke`).
        event.known_type |= event.event_type == TEST_EVENT_TYPE;
        let provider = event.provider.as_str();
        match self.queue.send(&message).await {
            Ok(message_id) => {
                if !event.known_type {
                    tracing::warn!(
                        provider,
                        event_id = %event.event_id,
                        event_type = %event.event_type,
                        "event type unknown to hookline; accepted and enqueued without action"
                    );
                }
                // The `WebhookAccepted` metric is counted from this line (a metric filter of
                // the template), so it is written at every level.
                tracing::info!(
                    target: crate::telemetry::METRIC_LINE_TARGET,
                    provider,
                    event_id = %event.event_id,
                    event_type = %event.event_type,
                    message_id = %message_id,
                    "{}",
                    metrics::ACCEPTED_MESSAGE
                );
                Reply {
                    status: 200,
                    body: json!({"received": true, "event_id": event.event_id}).to_string(),
                    outcome: ReceiveOutcome::Accepted { event, message_id },
                }
            }
            Err(error) => {
                tracing::error!(
                    provider,
                    event_id = %event.event_id,
                    event_type = %event.event_type,
                    error = %error,
                    "enqueue failed; answering 503 so the provider retries"
                );
                Reply {
                    status: 503,
                    body: json!({"error": "enqueue_failed"}).to_string(),
                    outcome: ReceiveOutcome::EnqueueFailed { event },
                }
            }
        }
    }

    /// Everything before the enqueue: pure, no I/O.
    fn check(
        &self,
        route: &Route<'_>,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(OutgoingMessage, VerifiedEvent), Rejection> {
        if method != Method::POST {
            return Err(Rejection::MethodNotAllowed(method.to_string()));
        }
        // Cheap early refusal before any hashing: a body this large cannot fit in a message.
        if body.len() > SQS_MAX_MESSAGE_BYTES {
            return Err(too_large(body.len(), None));
        }
        let event = self
            .scheme
            .verify_routed(route, headers, body, now.unix_timestamp())?;
        let text = std::str::from_utf8(body)
            .map_err(|_| Rejection::Malformed("body is not UTF-8".into()))?;
        validate_event_id(&event.event_id)?;
        validate_event_type(&event.event_type)?;
        let kept = self
            .scheme
            .kept_headers()
            .into_iter()
            .filter_map(|name| Some((name.to_string(), header_str(headers, name)?.to_string())))
            .collect();
        let route_param = route
            .param
            .filter(|_| self.scheme.keeps_route_param())
            .map(str::to_string);
        let message = QueueMessage::new(
            &event.provider,
            &event.event_id,
            &event.event_type,
            now,
            self.scheme.stored_body(text).into_owned(),
        )
        .with_verification(kept, route_param);
        let encoded = message.encode();
        let size = encoded.sqs_size();
        if size > SQS_MAX_MESSAGE_BYTES {
            return Err(too_large(body.len(), Some(size)));
        }
        self.check_plan(&message, now)?;
        Ok((encoded, event))
    }
}

impl<S: WebhookScheme, Q: Queue> Receiver<S, Q> {
    /// Applies at the door what the processor would fail on: its plan of the message as it will
    /// be queued (a malformed reference, an id unfit for a key, a body nested beyond the parser's
    /// depth...); and, when the request's time is unsigned, the age of the body's signed time
    /// (the plan's `occurred_at`, which is the receipt time when the body has none).
    fn check_plan(&self, message: &QueueMessage, now: OffsetDateTime) -> Result<(), Rejection> {
        let plan = if test_event::is_test_event(message) {
            test_event::plan(message)
        } else {
            self.scheme.plan(message)
        }
        .map_err(|error| Rejection::Malformed(error.to_string()))?;
        if self.scheme.body_time_field().is_none() {
            return Ok(());
        }
        let age_secs = (now.unix_timestamp() * 1000 - plan.occurred_at).div_euclid(1000);
        if age_secs > self.max_event_age_secs {
            return Err(Rejection::StaleTimestamp(format!(
                "the event's signed time is {age_secs} s old; events older than {} s are refused, \
                 since a duplicate of one could no longer be told apart (EVENT_RECORD_TTL_SECS)",
                self.max_event_age_secs
            )));
        }
        Ok(())
    }
}

/// The oldest signed body time a receiver accepts, given the claim lifetime `record_ttl_secs`:
/// an event accepted now is claimed after it waits in the ingest queue, and its first claim
/// (made when it was first processed, at or after its body time) lasts `record_ttl_secs`. The
/// margin is the wait allowed in the queue: a day, or half the lifetime when that is shorter.
pub fn max_event_age_secs(record_ttl_secs: i64) -> i64 {
    record_ttl_secs - (record_ttl_secs / 2).min(REPLAY_QUEUE_MARGIN_SECS)
}

/// See [`max_event_age_secs`]: how long an accepted event is assumed to wait before its claim.
pub const REPLAY_QUEUE_MARGIN_SECS: i64 = 86_400;

/// `sent`: the body's size, what the sender knows; `wrapped`: its queue message's, when only
/// that is over.
fn too_large(sent: usize, wrapped: Option<usize>) -> Rejection {
    Rejection::PayloadTooLarge {
        size: sent,
        limit: SQS_MAX_MESSAGE_BYTES,
        wrapped,
    }
}

fn rejected(rejection: Rejection) -> Reply {
    Reply {
        status: rejection.status(),
        body: json!({"error": rejection.error_code(), "detail": rejection.to_string()}).to_string(),
        outcome: ReceiveOutcome::Rejected(rejection),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::octopus::{self, OctopusScheme};
    use crate::queue::{MemoryQueue, QueueError};
    use crate::signature::{Secret, SecretSet};
    use http::HeaderValue;
    use time::macros::datetime;

    const SECRET: &str = "hookline-test-secret";
    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);
    const BODY: &str = r#"{"id":"evt_abc123","type":"order.delivered","created_at":"2026-11-22T09:59:58Z","data":{"id":12345,"status":"DELIVERED","quantity":5,"delivered_quantity":5}}"#;

    fn receiver() -> Receiver<OctopusScheme, MemoryQueue> {
        let secrets = SecretSet::parse(SECRET).unwrap();
        Receiver::new(OctopusScheme::new(secrets), MemoryQueue::new())
    }

    fn signed_headers(body: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signed =
            octopus::signed_headers(&Secret::new(SECRET), body.as_bytes(), NOW.unix_timestamp())
                .unwrap();
        for (name, value) in signed {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        headers
    }

    async fn post(
        receiver: &Receiver<OctopusScheme, MemoryQueue>,
        headers: &HeaderMap,
        body: &str,
    ) -> Reply {
        receiver
            .receive(&Method::POST, headers, body.as_bytes(), NOW)
            .await
    }

    /// Asserts the reply is the given refusal and that nothing reached the queue.
    async fn assert_refused(headers: HeaderMap, body: &str, status: u16, error: &str) -> String {
        let receiver = receiver();
        let reply = post(&receiver, &headers, body).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["error"], error, "{}", reply.body);
        assert!(
            receiver.queue().is_empty(),
            "a refused request was enqueued"
        );
        reply.body
    }

    #[tokio::test]
    async fn accepts_and_enqueues_a_signed_event() {
        let receiver = receiver();
        let reply = post(&receiver, &signed_headers(BODY), BODY).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&reply.body).unwrap(),
            json!({"received": true, "event_id": "evt_abc123"})
        );
        let queued = receiver.queue().take(10);
        assert_eq!(queued.len(), 1);
        let message = QueueMessage::from_json(&queued[0].message.body).unwrap();
        assert_eq!(message.provider, "octopus");
        assert_eq!(message.event_id, "evt_abc123");
        assert_eq!(message.event_type, "order.delivered");
        assert_eq!(message.received_at, "2026-11-22T10:00:00Z");
        assert_eq!(message.body, BODY, "the raw body is kept byte for byte");
    }

    #[tokio::test]
    async fn unknown_event_type_is_accepted_and_marked() {
        let body = r#"{"id":"evt_new1","type":"voucher.expired","data":{}}"#;
        let receiver = receiver();
        let reply = post(&receiver, &signed_headers(body), body).await;
        assert_eq!(reply.status, 200);
        assert!(
            matches!(reply.outcome, ReceiveOutcome::Accepted { ref event, .. } if !event.known_type)
        );
        assert_eq!(receiver.queue().len(), 1);
    }

    #[tokio::test]
    async fn a_test_event_is_accepted_as_a_known_type() {
        let body = r#"{"id":"hookline-smoke-1","type":"hookline.test","data":{}}"#;
        let receiver = receiver();
        let reply = post(&receiver, &signed_headers(body), body).await;
        assert_eq!(reply.status, 200);
        assert!(
            matches!(reply.outcome, ReceiveOutcome::Accepted { ref event, .. } if event.known_type)
        );
        // Known: no `UnknownEventType` line (and, accepted, no EMF line at all).
        let line = metrics::receiver_outcome("octopus", &reply.outcome, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(line, None);
    }

    #[tokio::test]
    async fn duplicate_delivery_is_accepted_again() {
        // Dedupe is the processor's job; the receiver must never refuse a retry.
        let receiver = receiver();
        for _ in 0..2 {
            assert_eq!(
                post(&receiver, &signed_headers(BODY), BODY).await.status,
                200
            );
        }
        assert_eq!(receiver.queue().len(), 2);
    }

    #[tokio::test]
    async fn forged_signature_is_401() {
        let mut headers = signed_headers(BODY);
        let forged = Secret::new("attacker-secret").sign_hex(&[BODY.as_bytes()]);
        headers.insert("x-signature", HeaderValue::from_str(&forged).unwrap());
        assert_refused(headers, BODY, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn tampered_body_is_401() {
        let tampered = BODY.replace("12345", "12346");
        assert_refused(signed_headers(BODY), &tampered, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn signature_of_wrong_length_is_401() {
        let mut headers = signed_headers(BODY);
        let full = headers["x-signature"].to_str().unwrap().to_string();
        headers.insert("x-signature", HeaderValue::from_str(&full[..40]).unwrap());
        assert_refused(headers, BODY, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn empty_signature_is_401() {
        let mut headers = signed_headers(BODY);
        headers.insert("x-signature", HeaderValue::from_static(""));
        assert_refused(headers, BODY, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn missing_signature_is_401() {
        let mut headers = signed_headers(BODY);
        headers.remove("x-signature");
        assert_refused(headers, BODY, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn webhook_token_without_signature_is_401() {
        let mut headers = signed_headers(BODY);
        headers.remove("x-signature");
        headers.insert("x-octopus-webhook-token", HeaderValue::from_static(SECRET));
        let body = assert_refused(headers, BODY, 401, "invalid_signature").await;
        assert!(!body.contains(SECRET));
    }

    #[tokio::test]
    async fn webhook_token_with_wrong_signature_is_401() {
        let mut headers = signed_headers(BODY);
        headers.insert("x-octopus-webhook-token", HeaderValue::from_static(SECRET));
        headers.insert("x-signature", HeaderValue::from_static("00"));
        assert_refused(headers, BODY, 401, "invalid_signature").await;
    }

    #[tokio::test]
    async fn stale_timestamp_is_401() {
        let mut headers = signed_headers(BODY);
        let old = (NOW.unix_timestamp() - 301).to_string();
        headers.insert("x-timestamp", HeaderValue::from_str(&old).unwrap());
        assert_refused(headers, BODY, 401, "stale_timestamp").await;
    }

    #[tokio::test]
    async fn future_timestamp_is_401() {
        let mut headers = signed_headers(BODY);
        let future = (NOW.unix_timestamp() + 301).to_string();
        headers.insert("x-timestamp", HeaderValue::from_str(&future).unwrap());
        assert_refused(headers, BODY, 401, "stale_timestamp").await;
    }

    #[tokio::test]
    async fn missing_timestamp_is_401() {
        let mut headers = signed_headers(BODY);
        headers.remove("x-timestamp");
        assert_refused(headers, BODY, 401, "stale_timestamp").await;
    }

    #[tokio::test]
    async fn missing_id_or_type_header_is_accepted_as_the_body_says() {
        // Unsigned headers prove nothing; Octopus' own pages disagree on whether they are sent.
        for header in ["x-event-id", "x-event-type"] {
            let receiver = receiver();
            let mut headers = signed_headers(BODY);
            headers.remove(header);
            let reply = post(&receiver, &headers, BODY).await;
            assert_eq!(reply.status, 200, "without {header}: {}", reply.body);
            let queued = receiver.queue().take(10);
            let message = QueueMessage::from_json(&queued[0].message.body).unwrap();
            assert_eq!(message.event_id, "evt_abc123", "without {header}");
            assert_eq!(message.event_type, "order.delivered", "without {header}");
        }
    }

    #[tokio::test]
    async fn event_id_mismatch_is_400() {
        let mut headers = signed_headers(BODY);
        headers.insert("x-event-id", HeaderValue::from_static("evt_other"));
        let body = assert_refused(headers, BODY, 400, "malformed_payload").await;
        assert!(body.contains("X-Event-ID"), "{body}");
    }

    #[tokio::test]
    async fn event_type_mismatch_is_400() {
        let mut headers = signed_headers(BODY);
        headers.insert("x-event-type", HeaderValue::from_static("order.cancelled"));
        assert_refused(headers, BODY, 400, "malformed_payload").await;
    }

    #[tokio::test]
    async fn non_json_body_is_400() {
        let body = "event=order.delivered&id=evt_1";
        let headers = signed_with_fixed_ids(body);
        let reply = assert_refused(headers, body, 400, "malformed_payload").await;
        assert!(reply.contains("not valid JSON"), "{reply}");
    }

    #[tokio::test]
    async fn missing_id_is_400() {
        let body = r#"{"type":"order.delivered","data":{}}"#;
        let headers = signed_with_fixed_ids(body);
        let reply = assert_refused(headers, body, 400, "malformed_payload").await;
        assert!(reply.contains("no id"), "{reply}");
    }

    #[tokio::test]
    async fn missing_type_is_400() {
        let body = r#"{"id":"evt_1","data":{}}"#;
        let reply =
            assert_refused(signed_with_fixed_ids(body), body, 400, "malformed_payload").await;
        assert!(reply.contains("no type"), "{reply}");
    }

    /// Signed headers for a body `signed_headers` cannot parse ids from.
    fn signed_with_fixed_ids(body: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signature = Secret::new(SECRET).sign_hex(&[body.as_bytes()]);
        headers.insert("x-signature", HeaderValue::from_str(&signature).unwrap());
        headers.insert(
            "x-timestamp",
            HeaderValue::from_str(&NOW.unix_timestamp().to_string()).unwrap(),
        );
        headers.insert("x-event-id", HeaderValue::from_static("evt_1"));
        headers.insert("x-event-type", HeaderValue::from_static("order.delivered"));
        headers
    }

    #[tokio::test]
    async fn oversized_body_is_413() {
        let padding = "x".repeat(SQS_MAX_MESSAGE_BYTES);
        let body =
            format!(r#"{{"id":"evt_big","type":"order.delivered","data":{{"note":"{padding}"}}}}"#);
        assert_refused(signed_headers(&body), &body, 413, "payload_too_large").await;
    }

    #[tokio::test]
    async fn what_the_processor_or_sqs_would_fail_on_is_refused_at_the_door() {
        let deep = format!(
            r#"{{"id":"evt_deep","type":"order.delivered","created_at":"2026-11-22T09:59:58Z","data":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let cases = [
            (
                "{\"id\":\"evt_\u{FFFE}\",\"type\":\"order.delivered\",\"data\":{\"id\":1,\"status\":\"DELIVERED\"}}"
                    .to_string(),
                "SQS does not carry",
            ),
            (
                r#"{"id":"evt_1","type":"order.\u0007delivered","data":{"id":1,"status":"DELIVERED"}}"#
                    .to_string(),
                "control characters",
            ),
            (deep, "not a valid octopus event"),
            (
                r#"{"id":"evt_2","type":"order.delivered","data":{"status":"DELIVERED"}}"#.to_string(),
                "data.id is missing",
            ),
        ];
        for (body, reason) in cases {
            // Signed by hand: the sample signer refuses such bodies itself.
            let mut headers = HeaderMap::new();
            let signature = Secret::new(SECRET).sign_hex(&[body.as_bytes()]);
            headers.insert("x-signature", HeaderValue::from_str(&signature).unwrap());
            headers.insert("x-timestamp", HeaderValue::from(NOW.unix_timestamp()));
            let detail = assert_refused(headers, &body, 400, "malformed_payload").await;
            assert!(detail.contains(reason), "{detail}");
        }
    }

    #[tokio::test]
    async fn an_unsigned_request_time_cannot_outlive_the_claim() {
        // Octopus' X-Timestamp is unsigned: a captured request resent with a fresh one is
        // refused once its signed created_at is older than the claim lifetime allows.
        let ttl = 7 * 86_400;
        let oldest = NOW.unix_timestamp() - max_event_age_secs(ttl);
        let body_at = |at: i64| {
            let at = OffsetDateTime::from_unix_timestamp(at)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            format!(
                r#"{{"id":"evt_old","type":"order.delivered","created_at":"{at}","data":{{"id":1,"status":"DELIVERED"}}}}"#
            )
        };
        let receiver = receiver().with_record_ttl(ttl);
        let inside = body_at(oldest);
        assert_eq!(
            post(&receiver, &signed_headers(&inside), &inside)
                .await
                .status,
            200
        );
        let outside = body_at(oldest - 1);
        let reply = post(&receiver, &signed_headers(&outside), &outside).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert!(reply.body.contains("stale_timestamp"), "{}", reply.body);
        assert_eq!(receiver.queue().len(), 1, "only the fresh one was queued");
        assert_eq!(max_event_age_secs(ttl), 6 * 86_400);
        assert_eq!(max_event_age_secs(86_400), 43_200);
    }

    #[tokio::test]
    async fn body_that_grows_past_the_limit_when_wrapped_is_413() {
        // Each quote is escaped inside the message, so this body fits alone but not wrapped.
        let quotes = "\\\"".repeat(SQS_MAX_MESSAGE_BYTES / 2 - 100);
        let body =
            format!(r#"{{"id":"evt_q","type":"order.delivered","data":{{"note":"{quotes}"}}}}"#);
        assert!(body.len() <= SQS_MAX_MESSAGE_BYTES);
        let reply = assert_refused(signed_headers(&body), &body, 413, "payload_too_large").await;
        // The size the sender sent, and why it does not fit.
        assert!(
            reply.contains(&format!("payload of {} bytes is too large", body.len())),
            "{reply}"
        );
        assert!(
            reply.contains("over SQS's limit of 262144 bytes"),
            "{reply}"
        );
    }

    #[tokio::test]
    async fn get_is_405() {
        let receiver = receiver();
        let reply = receiver
            .receive(&Method::GET, &signed_headers(BODY), BODY.as_bytes(), NOW)
            .await;
        assert_eq!(reply.status, 405);
        assert!(receiver.queue().is_empty());
    }

    /// A queue that is down.
    struct DownQueue;
    impl Queue for DownQueue {
        async fn send(&self, _: &OutgoingMessage) -> Result<String, QueueError> {
            Err(QueueError::Unavailable("connection refused".into()))
        }
    }

    #[tokio::test]
    async fn queue_down_is_503() {
        let secrets = SecretSet::parse(SECRET).unwrap();
        let receiver = Receiver::new(OctopusScheme::new(secrets), DownQueue);
        let reply = receiver
            .receive(&Method::POST, &signed_headers(BODY), BODY.as_bytes(), NOW)
            .await;
        assert_eq!(reply.status, 503);
        assert_eq!(reply.body, r#"{"error":"enqueue_failed"}"#);
        assert!(matches!(
            reply.outcome,
            ReceiveOutcome::EnqueueFailed { .. }
        ));
    }
}
