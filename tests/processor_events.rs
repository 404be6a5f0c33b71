//! Every SQS sample event in `events/processor/` through the processor's Lambda handler, as
//! `sam local invoke ProcessorFunction -e ...` would run it, with the sample orders of
//! `events/provider-api/` served by a local HTTP server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::SqsEvent;
use hookline::idempotency::MemoryEventStore;
use hookline::order_api::RetryPolicy;
use hookline::order_state::MemoryOrderStateStore;
use hookline::order_update::OrderUpdate;
use hookline::processor::{Processor, ProcessorConfig, lambda};
use hookline::providers::{Provider, ProviderApis};
use hookline::queue::MemoryQueue;
use hookline::watch::MemoryWatchStore;
use hookline_tests::events_dir;
use lambda_runtime::{Context, LambdaEvent};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers order requests from the files in events/provider-api/.
struct SampleOrders;

impl Respond for SampleOrders {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let url_path = request.url.path();
        let (kind, id) = if let Some(id) = url_path.strip_prefix("/api/v1/esim/orders/") {
            ("esim-orders", id)
        } else if let Some(id) = url_path.strip_prefix("/api/v1/orders/") {
            ("orders", id)
        } else {
            ("optty-orders", url_path.trim_start_matches("/orders/"))
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
    Processor<MemoryEventStore, MemoryOrderStateStore, ProviderApis, MemoryQueue, MemoryWatchStore>;

/// Octopus and Optty both served by `api`, as the local stand-in does.
async fn processor(api: &MockServer) -> LocalProcessor {
    Processor {
        events: MemoryEventStore::new(),
        states: MemoryOrderStateStore::new(),
        api: [Provider::Octopus, Provider::Optty]
            .into_iter()
            .try_fold(ProviderApis::default(), |apis, provider| {
                let token = match provider {
                    Provider::Optty => hookline_tests::optty_token(&api.uri()),
                    _ => hookline_tests::octopus_token(&api.uri()),
                };
                apis.with(provider, &api.uri(), token, RetryPolicy::default())
            })
            .unwrap(),
        updates: MemoryQueue::new(),
        credentials: None,
        watches: MemoryWatchStore::new(),
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
        let response = lambda::handle(processor, None, invocation(event.clone()))
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

/// A provider API answering from events/provider-api/.
async fn sample_api() -> MockServer {
    let api = MockServer::start().await;
    hookline_tests::mount_logins(&api).await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/(api/v1/(esim/)?orders/\d+|orders/[\w.:-]+)$",
        ))
        .respond_with(SampleOrders)
        .mount(&api)
        .await;
    api
}

#[tokio::test]
async fn every_processor_sample_is_processed_without_failures() {
    let api = sample_api().await;
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
    hookline_tests::mount_logins(&api).await;
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

/// Runs one sample batch to the end on a fresh processor.
async fn settle(name: &str) -> LocalProcessor {
    let api = sample_api().await;
    let processor = processor(&api).await;
    invoke_until_settled(&processor, sample(name)).await;
    processor
}

fn state(processor: &LocalProcessor, key: &str) -> (String, Option<String>) {
    let state = processor
        .states
        .order(key)
        .unwrap_or_else(|| panic!("no state {key}"));
    (state.status, state.amount)
}

#[tokio::test]
async fn optty_records_what_the_api_says_not_the_notification() {
    let processor = settle("optty.json").await;
    // ord-1001's notification says SUCCESSFUL; the API says DECLINED.
    assert_eq!(
        state(&processor, "ORDER#optty#order#ord-1001").0,
        "DECLINED"
    );
    assert_eq!(
        state(&processor, "ORDER#optty#order#ord-1003").0,
        "CANCELED"
    );
    let published = updates(&processor);
    let first = published
        .iter()
        .find(|u| u.order_id.as_deref() == Some("ord-1001"))
        .unwrap();
    assert_eq!(first.status.as_deref(), Some("DECLINED"));
    assert_eq!(first.event_data["notified_status"], "SUCCESSFUL");
    assert_eq!(first.order.as_ref().unwrap()["status"], "DECLINED");
    // Only the allow-listed notification fields go downstream: never the card token.
    for update in &published {
        for field in [
            "token",
            "rawBnplResponse",
            "metaData",
            "redirectUrl",
            "hash",
        ] {
            assert!(update.event_data.get(field).is_none(), "{field} forwarded");
        }
        assert!(update.event_data.get("orderReference").is_some());
    }
}

#[tokio::test]
async fn coinme_owlpay_and_standard_webhooks_samples_record_their_states() {
    let coinme = settle("coinme.json").await;
    assert_eq!(
        state(&coinme, "ORDER#coinme#order_template#1263543355914194944"),
        ("CONSUMED".into(), Some("59".into()))
    );
    assert_eq!(
        state(&coinme, "ORDER#coinme#transaction#1263543643131744257").0,
        "FAILED",
        "errorData makes a COMPLETED buy a failure"
    );
    // Five known types published; the unknown one is acknowledged without an update.
    assert_eq!(updates(&coinme).len(), 5);

    let owlpay = settle("owlpay.json").await;
    assert_eq!(
        state(&owlpay, "ORDER#owlpay#order#ord_c0d3d7cda1e2175f").0,
        "PAYOUT_SUCCEEDED"
    );
    assert_eq!(
        state(&owlpay, "ORDER#owlpay#payment_intent#pi_4f2a9c7e1b3d").0,
        "REFUNDED"
    );
    let published = updates(&owlpay);
    let renewal = published
        .iter()
        .find(|u| u.event_type == "webhook.renew.secret")
        .unwrap();
    assert_eq!(renewal.event_data, serde_json::json!({}));

    let harbor = settle("owlpay-harbor.json").await;
    assert_eq!(
        state(&harbor, "ORDER#owlpay-harbor#payment_intent#pi_harbor_77").0,
        "AUTHORIZED"
    );

    let std = settle("std.json").await;
    let published = updates(&std);
    assert_eq!(published.len(), 2);
    assert!(published.iter().all(|u| u.provider == "std:acme"));
}
