//! Every SQS sample event in `events/processor/` through the processor's Lambda handler, as
//! `sam local invoke ProcessorFunction -e ...` would run it, with the sample orders of
//! `events/provider-api/` served by a local HTTP server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::SqsEvent;
use hookline::idempotency::MemoryEventStore;
use hookline::order_api::{OctopusOrderClient, RetryPolicy};
use hookline::order_state::MemoryOrderStateStore;
use hookline::order_update::OrderUpdate;
use hookline::processor::{Processor, ProcessorConfig, lambda};
use hookline::queue::MemoryQueue;
use hookline::signature::Secret;
use hookline_tests::events_dir;
use lambda_runtime::{Context, LambdaEvent};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers order requests from the files in events/provider-api/.
struct SampleOrders;

impl Respond for SampleOrders {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let url_path = request.url.path();
        let (kind, id) = match url_path.strip_prefix("/api/v1/esim/orders/") {
            Some(id) => ("esim-orders", id),
            None => ("orders", url_path.trim_start_matches("/api/v1/orders/")),
        };
        let file = events_dir()
            .join("provider-api")
            .join(kind)
            .join(format!("{id}.json"));
        match std::fs::read(file) {
            Ok(body) => ResponseTemplate::new(200).set_body_raw(body, "application/json"),
            Err(_) => ResponseTemplate::new(404),
        }
    }
}

type LocalProcessor =
    Processor<MemoryEventStore, MemoryOrderStateStore, OctopusOrderClient, MemoryQueue>;

async fn processor(api: &MockServer) -> LocalProcessor {
    Processor {
        events: MemoryEventStore::new(),
        states: MemoryOrderStateStore::new(),
        api: OctopusOrderClient::new(&api.uri(), &Secret::new("t"), RetryPolicy::default())
            .unwrap(),
        updates: MemoryQueue::new(),
        config: ProcessorConfig::default(),
    }
}

fn invocation(event: SqsEvent) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = now_ms + 30_000;
    LambdaEvent::new(event, context)
}

/// Invokes the handler with `event`, then again with only the records it reported as failed,
/// as SQS would, until none fail. Returns the number of invocations.
async fn invoke_until_settled(processor: &LocalProcessor, mut event: SqsEvent) -> usize {
    for invocations in 1..=5 {
        let response = lambda::handle(processor, invocation(event.clone()))
            .await
            .unwrap();
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        if failed.is_empty() {
            return invocations;
        }
        event
            .records
            .retain(|r| failed.contains(r.message_id.as_ref().unwrap()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("records kept failing");
}

fn sample(name: &str) -> SqsEvent {
    let text = std::fs::read_to_string(events_dir().join("processor").join(name)).unwrap();
    serde_json::from_str(&text).expect("a Lambda SQS event")
}

fn updates(processor: &LocalProcessor) -> Vec<OrderUpdate> {
    processor
        .updates
        .take(usize::MAX)
        .iter()
        .map(|q| serde_json::from_str(&q.message.body).unwrap())
        .collect()
}

#[tokio::test]
async fn every_processor_sample_is_processed_without_failures() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v1/(esim/)?orders/\d+$"))
        .respond_with(SampleOrders)
        .mount(&api)
        .await;
    let dir = events_dir().join("processor");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        let processor = processor(&api).await;
        let event = sample(&name);
        let records = event.records.len();
        invoke_until_settled(&processor, event).await;
        let published = updates(&processor);
        assert!(!published.is_empty(), "{name}: no order update");
        assert!(published.len() <= records, "{name}");
    }
}

#[tokio::test]
async fn duplicate_in_a_batch_takes_effect_once_and_unknown_type_is_acknowledged() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v1/orders/\d+$"))
        .respond_with(SampleOrders)
        .expect(1)
        .mount(&api)
        .await;
    let processor = processor(&api).await;
    let event = sample("duplicate-and-unknown-type.json");
    assert_eq!(event.records.len(), 3);
    invoke_until_settled(&processor, event).await;
    let published = updates(&processor);
    assert_eq!(
        published.len(),
        1,
        "one update for the delivered order, none for the unknown type"
    );
    assert_eq!(published[0].event_id, "evt_abc123");
    let codes = published[0].order.as_ref().unwrap()["vouchers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(codes, 5);
    assert_eq!(
        processor
            .events
            .status("EVENT#octopus#evt_future_001")
            .map(|s| s.0),
        Some("COMPLETED".to_string())
    );
}
