//! The Octopus receiver end to end: API Gateway v2 events from `events/` through the Lambda
//! adapter into a real SQS queue on moto server, and SQS failures answered with 503.

use std::path::PathBuf;

use hookline::message::QueueMessage;
use hookline::providers::WebhookScheme;
use hookline::providers::octopus::OctopusScheme;
use hookline::providers::octopus::TEST_SECRET as OCTOPUS_TEST_SECRET;
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::{Receiver, lambda};
use hookline::signature::SecretSet;
use hookline_tests::{Sample, create_queue, moto, unreachable_endpoint};
use time::OffsetDateTime;

fn samples() -> Vec<Sample> {
    let samples = hookline_tests::samples("octopus-webhook", &["octopus", "octopus-base64"]);
    assert!(
        samples.len() >= 13,
        "expected a sample per event type, found {}",
        samples.len()
    );
    samples
}

fn receiver<Q: Queue>(queue: Q) -> Receiver<OctopusScheme, Q> {
    let secrets = SecretSet::parse(OCTOPUS_TEST_SECRET).unwrap();
    Receiver::new(OctopusScheme::new(secrets), queue)
}

/// When every sample in `events/octopus-webhook/` was signed (2026-11-22T10:00:00Z).
const SAMPLES_SIGNED_AT: i64 = 1_795_341_600;

/// The request in an event file, and the moment it was signed (the samples' timestamp is fixed).
fn request(event: &str) -> (lambda_http::Request, OffsetDateTime) {
    let request = lambda_http::request::from_str(event).expect("event parses as API Gateway v2");
    // Without the header (a test of its absence) the samples' fixed signing time stands.
    let signed_at: i64 = request
        .headers()
        .get("x-timestamp")
        .map_or(Ok(SAMPLES_SIGNED_AT), |v| v.to_str().unwrap().parse())
        .unwrap();
    (
        request,
        OffsetDateTime::from_unix_timestamp(signed_at).unwrap(),
    )
}

async fn invoke<Q: Queue>(
    receiver: &Receiver<OctopusScheme, Q>,
    event: &str,
) -> (u16, serde_json::Value) {
    let (request, at) = request(event);
    let response = lambda::handle_at(receiver, request, at).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn every_sample_event_verifies_and_is_accepted() {
    let receiver = receiver(MemoryQueue::new());
    for sample in samples() {
        let (status, body) = invoke(&receiver, &sample.event).await;
        assert_eq!(status, 200, "{}: {body}", sample.name);
        assert_eq!(body["received"], true, "{}", sample.name);
    }
    let queued = receiver.queue().take(100);
    assert_eq!(queued.len(), samples().len());
    for queued in queued {
        let message = QueueMessage::from_json(&queued.message.body).unwrap();
        assert!(
            samples().iter().any(|s| s.payload == message.body),
            "queued body is not byte-identical to a payload"
        );
    }
}

#[tokio::test]
async fn every_sample_event_reaches_sqs_with_its_attributes() {
    let sqs = moto().sqs().await;
    let queue_url = create_queue(&sqs, "ingest").await;
    let receiver = receiver(SqsQueue::new(sqs.clone(), &queue_url));
    let samples = samples();
    for sample in &samples {
        let (status, body) = invoke(&receiver, &sample.event).await;
        assert_eq!(status, 200, "{}: {body}", sample.name);
    }

    let mut received: Vec<QueueMessage> = Vec::new();
    while received.len() < samples.len() {
        let output = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        assert!(
            !messages.is_empty(),
            "queue ran dry after {} of {}",
            received.len(),
            samples.len()
        );
        for m in messages {
            let message = QueueMessage::from_json(m.body().unwrap()).expect("v1 message");
            let attributes = m.message_attributes.unwrap();
            let attribute = |name: &str| attributes[name].string_value().unwrap().to_string();
            assert_eq!(attribute("provider"), "octopus");
            assert_eq!(attribute("event_type"), message.event_type);
            received.push(message);
        }
    }
    assert_eq!(
        received.len(),
        samples.len(),
        "one message per request, no more"
    );
    for sample in &samples {
        let message = received
            .iter()
            .find(|m| m.body == sample.payload)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no message holds its raw body byte for byte",
                    sample.name
                )
            });
        let payload: serde_json::Value = serde_json::from_str(&sample.payload).unwrap();
        assert_eq!(message.v, hookline::message::MESSAGE_VERSION);
        assert_eq!(message.provider, "octopus");
        assert_eq!(message.event_id, payload["id"].as_str().unwrap());
        assert_eq!(message.event_type, payload["type"].as_str().unwrap());
        assert_eq!(message.received_at, "2026-11-22T10:00:00Z");
    }
}

#[tokio::test]
async fn base64_encoded_body_verifies_on_the_decoded_bytes() {
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered-base64.json")
        .expect("base64 sample");
    let event: serde_json::Value = serde_json::from_str(&sample.event).unwrap();
    assert_eq!(event["isBase64Encoded"], true);
    let receiver = receiver(MemoryQueue::new());
    let (status, _) = invoke(&receiver, &sample.event).await;
    assert_eq!(status, 200);
    let queued = receiver.queue().take(1);
    let message = QueueMessage::from_json(&queued[0].message.body).unwrap();
    assert_eq!(message.body, sample.payload);
}

#[tokio::test]
async fn tampered_sample_is_refused_and_not_enqueued() {
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered.json")
        .unwrap();
    let tampered = sample
        .event
        .replace("\\\"quantity\\\":5", "\\\"quantity\\\":500");
    assert_ne!(tampered, sample.event);
    let receiver = receiver(MemoryQueue::new());
    let (status, body) = invoke(&receiver, &tampered).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_signature"))
    );
    assert!(receiver.queue().is_empty());
}

#[tokio::test]
async fn sqs_unreachable_answers_503() {
    let config = hookline::aws::for_emulator(&unreachable_endpoint()).await;
    let queue = SqsQueue::new(
        aws_sdk_sqs::Client::new(&config),
        "http://127.0.0.1:9/000000000000/gone",
    );
    let receiver = receiver(queue);
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered.json")
        .unwrap();
    let (status, body) = invoke(&receiver, &sample.event).await;
    assert_eq!(status, 503);
    assert_eq!(body, serde_json::json!({"error": "enqueue_failed"}));
}

#[tokio::test]
async fn missing_queue_answers_503() {
    let sqs = moto().sqs().await;
    let gone = format!(
        "{}/123456789012/{}",
        moto().endpoint,
        hookline_tests::unique_name("never-created")
    );
    let receiver = receiver(SqsQueue::new(sqs, gone));
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "wallet-credited.json")
        .unwrap();
    let (status, _) = invoke(&receiver, &sample.event).await;
    assert_eq!(status, 503);
}

#[test]
fn payload_directories_hold_every_sample() {
    let names: Vec<PathBuf> = samples().iter().map(|s| PathBuf::from(&s.name)).collect();
    for t in hookline::providers::octopus::KNOWN_EVENT_TYPES {
        let file = format!("{}.json", t.replace(['.', '_'], "-"));
        assert!(
            names.contains(&PathBuf::from(&file)),
            "no sample for {t} ({file})"
        );
    }
}

/// `WebhookAccepted` is counted from this line by the template's metric filters
/// (`$.message`, dimension `$.provider`): one flat line, with the invocation's request id and
/// without the X-Ray id of an unsampled trace.
#[tokio::test]
async fn an_accepted_webhook_writes_the_one_flat_line_its_metric_is_counted_from() {
    use tracing::Instrument;
    let logs = hookline_tests::capture_logs();
    let receiver = receiver(MemoryQueue::new());
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered.json")
        .unwrap();
    let invocation = tracing::info_span!(
        "Lambda runtime invoke",
        requestId = "req-accepted-line",
        xrayTraceId = "Root=1-00000000-000000000000000000000000;Sampled=0"
    );
    let (status, body) = invoke(&receiver, &sample.event)
        .instrument(invocation)
        .await;
    assert_eq!(status, 200);
    let line = logs
        .line_with("req-accepted-line")
        .expect("the accepted line carries the request id");
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        line["message"],
        hookline::receiver::metrics::ACCEPTED_MESSAGE
    );
    assert_eq!(line["provider"], "octopus");
    assert_eq!(line["event_id"], body["event_id"]);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line.get("xrayTraceId"), None);
    assert_eq!(line.get("span"), None);
    assert_eq!(
        logs.text().matches("req-accepted-line").count(),
        1,
        "one line per accepted webhook"
    );
}

#[tokio::test]
async fn the_webhook_secret_never_reaches_a_log_line() {
    let logs = hookline_tests::capture_logs();
    let sqs = moto().sqs().await;
    let queue_url = create_queue(&sqs, "ingest-logs").await;
    let receiver = receiver(SqsQueue::new(sqs.clone(), &queue_url));
    for sample in samples() {
        // As Octopus sends it: the secret itself rides along in X-OCTOPUS-WEBHOOK-TOKEN.
        let mut event: serde_json::Value = serde_json::from_str(&sample.event).unwrap();
        event["headers"]["x-octopus-webhook-token"] = OCTOPUS_TEST_SECRET.into();
        let (status, _) = invoke(&receiver, &event.to_string()).await;
        assert_eq!(status, 200);
        // And a forged one: token, no signature.
        event["headers"]
            .as_object_mut()
            .unwrap()
            .remove("x-signature");
        let (status, _) = invoke(&receiver, &event.to_string()).await;
        assert_eq!(status, 401);
    }
    let text = logs.text();
    assert!(text.contains("webhook accepted") && text.contains("webhook rejected"));
    let line = logs.line_with(OCTOPUS_TEST_SECRET);
    assert!(
        line.is_none(),
        "secret in a log line: {}",
        line.unwrap_or_default()
    );
}

/// The sample `order-delivered` request with its headers replaced by `headers` (name, value),
/// values taken from the signed sample where it has them.
fn with_headers(headers: &[(&str, &str)]) -> String {
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered.json")
        .unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&sample.event).unwrap();
    let signed = event["headers"].clone();
    let mut replaced = serde_json::Map::new();
    for (name, value) in headers {
        let value = signed
            .get(name.to_ascii_lowercase())
            .and_then(|v| v.as_str())
            .unwrap_or(value);
        replaced.insert((*name).to_string(), value.into());
    }
    event["headers"] = replaced.into();
    event.to_string()
}

/// Octopus' "Webhooks" page: the headers it sends, exactly as listed there.
const WEBHOOKS_PAGE_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/json"),
    ("User-Agent", "Octopus-Webhooks/1.0"),
    ("X-OCTOPUS-WEBHOOK-TOKEN", OCTOPUS_TEST_SECRET),
    ("X-Webhook-ID", "wh_01HZX"),
    ("X-Event-ID", ""),
    ("X-Event-Type", ""),
    ("X-Timestamp", ""),
    ("X-Signature", ""),
];

/// Octopus' "Handling webhooks in production" guide: its "headers we send" table, exactly as
/// listed there (no X-Event-Type).
const PRODUCTION_GUIDE_HEADERS: &[(&str, &str)] = &[
    ("X-Signature", ""),
    ("X-OCTOPUS-WEBHOOK-TOKEN", OCTOPUS_TEST_SECRET),
    ("X-Timestamp", ""),
    ("X-Event-ID", ""),
    ("Content-Type", "application/json"),
];

#[tokio::test]
async fn both_documented_header_sets_reach_sqs() {
    let sqs = moto().sqs().await;
    let queue_url = create_queue(&sqs, "ingest-header-sets").await;
    let receiver = receiver(SqsQueue::new(sqs.clone(), &queue_url));
    for (page, headers) in [
        ("webhooks page", WEBHOOKS_PAGE_HEADERS),
        ("production guide", PRODUCTION_GUIDE_HEADERS),
    ] {
        let (status, body) = invoke(&receiver, &with_headers(headers)).await;
        assert_eq!(status, 200, "{page}: {body}");
        let output = sqs
            .receive_message()
            .queue_url(&queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        assert_eq!(messages.len(), 1, "{page}: one message");
        let message = QueueMessage::from_json(messages[0].body().unwrap()).unwrap();
        assert_eq!(
            (message.event_id.as_str(), message.event_type.as_str()),
            ("evt_abc123", "order.delivered"),
            "{page}: the signed body decides id and type"
        );
        // The message keeps what verification read, never the plain-text token, and verifies
        // again from what it kept alone.
        assert!(
            message.headers.contains_key("x-signature"),
            "{page}: {:?}",
            message.headers
        );
        assert!(message.headers.contains_key("x-timestamp"), "{page}");
        assert!(
            !message.headers.contains_key("x-octopus-webhook-token"),
            "{page}"
        );
        assert!(!message.to_json().contains(OCTOPUS_TEST_SECRET), "{page}");
        let mut kept = lambda_http::http::HeaderMap::new();
        for (name, value) in &message.headers {
            kept.insert(
                lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let again = OctopusScheme::new(SecretSet::parse(OCTOPUS_TEST_SECRET).unwrap())
            .verify(&kept, message.body.as_bytes(), 1_795_341_600)
            .unwrap();
        assert_eq!(again.event_id, "evt_abc123", "{page}");
        sqs.delete_message()
            .queue_url(&queue_url)
            .receipt_handle(messages[0].receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn each_documented_header_missing_alone() {
    // Only the signature and the timestamp are needed; every other header is optional.
    let expected = |name: &str| match name {
        "X-Signature" => (401, Some("invalid_signature")),
        "X-Timestamp" => (401, Some("stale_timestamp")),
        _ => (200, None),
    };
    for (missing, _) in WEBHOOKS_PAGE_HEADERS {
        let headers: Vec<(&str, &str)> = WEBHOOKS_PAGE_HEADERS
            .iter()
            .filter(|(name, _)| name != missing)
            .copied()
            .collect();
        let receiver = receiver(MemoryQueue::new());
        let (status, body) = invoke(&receiver, &with_headers(&headers)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            expected(missing),
            "without {missing}: {body}"
        );
        assert_eq!(
            receiver.queue().len(),
            usize::from(status == 200),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn a_present_id_or_type_header_must_match_the_body() {
    for (name, value) in [
        ("X-Event-ID", "evt_other"),
        ("X-Event-Type", "order.cancelled"),
    ] {
        let mut event: serde_json::Value =
            serde_json::from_str(&with_headers(WEBHOOKS_PAGE_HEADERS)).unwrap();
        event["headers"][name] = value.into();
        let receiver = receiver(MemoryQueue::new());
        let (status, body) = invoke(&receiver, &event.to_string()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("malformed_payload")),
            "{name}: {body}"
        );
        assert!(receiver.queue().is_empty());
    }
}

/// The ingest queue takes the message and its answer is lost (a timeout after the effect): the
/// SDK sends it again, so the provider is answered 200 and the queue may hold the event twice,
/// never zero times; the processor takes the second copy as a duplicate
/// (`tests/processor_events.rs`).
#[tokio::test]
async fn an_enqueue_whose_answer_is_lost_still_reaches_the_queue() {
    let sqs = moto().sqs().await;
    let queue_url = create_queue(&sqs, "ingest-answer-lost").await;
    let (front, dropped) = hookline_tests::answer_losing_front(&moto().endpoint, 1).await;
    let through_front = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(&front).await);
    let receiver = receiver(SqsQueue::new(through_front, &queue_url));
    let sample = samples()
        .into_iter()
        .find(|s| s.name == "order-delivered.json")
        .unwrap();
    let (status, _) = invoke(&receiver, &sample.event).await;
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 1);
    let copies = hookline_tests::drain_queue(&sqs, &queue_url).await;
    // A 5xx would be as safe (the provider retries); what may never happen is a 200 and no copy.
    assert!(status == 200 || status >= 500, "{status}");
    assert!(
        status != 200 || !copies.is_empty(),
        "answered 200 with nothing enqueued"
    );
    assert!(copies.len() <= 2, "{copies:?}");
    assert!(
        copies.windows(2).all(|w| w[0] == w[1]),
        "copies of one message"
    );
}
