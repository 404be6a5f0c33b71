//! The Octopus receiver end to end: API Gateway v2 events from `events/` through the Lambda
//! adapter into a real SQS queue on moto server, and SQS failures answered with 503.

use std::path::PathBuf;

use hookline::dev_defaults::OCTOPUS_TEST_SECRET;
use hookline::message::QueueMessage;
use hookline::providers::octopus::OctopusScheme;
use hookline::queue::{MemoryQueue, Queue, SqsQueue};
use hookline::receiver::{Receiver, lambda};
use hookline::signature::SecretSet;
use hookline_tests::{create_queue, events_dir, moto, unreachable_endpoint};
use time::OffsetDateTime;

/// A sample event file and the payload it was signed from.
struct Sample {
    name: String,
    event: String,
    payload: String,
}

fn samples() -> Vec<Sample> {
    let dir = events_dir().join("octopus-webhook");
    let mut samples: Vec<Sample> = std::fs::read_dir(&dir)
        .expect("events/octopus-webhook exists")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let payload = ["octopus", "octopus-base64"]
                .iter()
                .map(|d| events_dir().join("payloads").join(d).join(&name))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no payload for {name}"));
            Sample {
                event: std::fs::read_to_string(&path).unwrap(),
                payload: std::fs::read_to_string(payload).unwrap(),
                name,
            }
        })
        .collect();
    samples.sort_by(|a, b| a.name.cmp(&b.name));
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

/// The request in an event file, and the moment it was signed (the samples' timestamp is fixed).
fn request(event: &str) -> (lambda_http::Request, OffsetDateTime) {
    let request = lambda_http::request::from_str(event).expect("event parses as API Gateway v2");
    let signed_at: i64 = request.headers()["x-timestamp"]
        .to_str()
        .unwrap()
        .parse()
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
        assert_eq!(message.v, 1);
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
