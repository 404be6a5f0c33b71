//! The processor against real parts: DynamoDB and SQS on moto server, the provider API on a local
//! HTTP server (wiremock). Each test asserts on the table, the queues and the requests the
//! provider API received.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline::idempotency::{
    Claim, ClaimRequest, DynamoEventStore, EventStore, body_sha256, event_key,
};
use hookline::message::QueueMessage;
use hookline::order_api::{FetchError, RetryPolicy};
use hookline::order_state::DynamoOrderStateStore;
use hookline::order_update::OrderUpdate;
use hookline::processor::{
    BatchRecord, ProcessError, Processor, ProcessorConfig, RecordOutcome, lambda, process_batch,
};
use hookline::providers::octopus::OctopusOrderClient;
use hookline::queue::SqsQueue;
use hookline::store::StoreError;
use hookline::watch::DynamoWatchStore;
use hookline_tests::{
    create_fifo_queue, create_queue, create_table, drain_queue, moto, table_items,
    unreachable_endpoint,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const VOUCHER_CODE: &str = "GIFT-7Q2M-XK9P-4LZD";
const VOUCHER_PIN: &str = "918273";
const CLAIM_URL: &str = "https://claim.example/c/abcdef123";
const ACTIVATION_CODE: &str = "LPA:1$smdp.example$ACT-55Z-QQ9";
/// Every credential of the fixtures: none may be found in logs or table items.
const SECRETS: &[&str] = &[
    hookline::providers::octopus::API_TEST_SECRET,
    VOUCHER_CODE,
    VOUCHER_PIN,
    CLAIM_URL,
    ACTIVATION_CODE,
];

type DynamoProcessor<E = DynamoEventStore> =
    Processor<E, DynamoOrderStateStore, OctopusOrderClient, SqsQueue, DynamoWatchStore>;

struct Rig {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    updates_url: String,
    api: MockServer,
    processor: DynamoProcessor,
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        attempt_timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(500),
        min_attempt_time: Duration::from_millis(100),
    }
}

async fn rig() -> Rig {
    rig_with(fast_policy()).await
}

async fn rig_with(policy: RetryPolicy) -> Rig {
    let sqs = moto().sqs().await;
    let dynamodb = moto().dynamodb().await;
    let table = create_table(&dynamodb).await;
    let updates_url = create_fifo_queue(&sqs, "order-updates").await;
    let api = MockServer::start().await;
    hookline_tests::mount_logins(&api).await;
    let processor = Processor {
        events: DynamoEventStore::new(dynamodb.clone(), &table),
        states: DynamoOrderStateStore::new(dynamodb.clone(), &table),
        api: OctopusOrderClient::new(
            &api.uri(),
            hookline_tests::octopus_token(&api.uri()),
            policy,
        )
        .unwrap(),
        updates: SqsQueue::new(sqs.clone(), &updates_url),
        credentials: None,
        watches: DynamoWatchStore::new(dynamodb.clone(), &table),
        config: ProcessorConfig::default(),
    };
    Rig {
        sqs,
        dynamodb,
        table,
        updates_url,
        api,
        processor,
    }
}

impl Rig {
    async fn process(&self, body: &str) -> RecordOutcome {
        process_with(&self.processor, body).await
    }

    async fn item(&self, pk: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    async fn attr(&self, pk: &str, name: &str) -> Option<String> {
        let item = self.item(pk).await?;
        match item.get(name)? {
            AttributeValue::S(s) | AttributeValue::N(s) => Some(s.clone()),
            other => Some(format!("{other:?}")),
        }
    }

    async fn updates(&self) -> Vec<OrderUpdate> {
        drain_queue(&self.sqs, &self.updates_url)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).expect("order update v1"))
            .collect()
    }

    /// The event ids of the order updates published, sorted.
    async fn published_event_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .updates()
            .await
            .into_iter()
            .map(|u| u.event_id)
            .collect();
        ids.sort();
        ids
    }

    async fn requests_to(&self, url_path: &str) -> usize {
        self.api
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == url_path)
            .count()
    }

    async fn mount_voucher_order(&self, order_id: u64) {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orders/{order_id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(voucher_order(order_id)))
            .mount(&self.api)
            .await;
    }
}

async fn process_with<E: EventStore>(processor: &DynamoProcessor<E>, body: &str) -> RecordOutcome {
    processor
        .process(body, Instant::now() + Duration::from_secs(10))
        .await
        .1
}

/// The full voucher order as the Octopus API returns it: wrapped in `data`, with codes.
fn voucher_order(order_id: u64) -> Value {
    json!({"data": {
        "id": order_id, "reference_code": "MY_ORDER_001", "status": "DELIVERED",
        "quantity": 1, "delivered_quantity": 1, "amount": 50.00,
        "vouchers": [{"code": VOUCHER_CODE, "pin": VOUCHER_PIN, "claim_url": CLAIM_URL,
                      "expires_at": "2027-11-22T00:00:00Z"}]
    }})
}

/// The eSIM order, bare (not wrapped), with its activation code.
fn esim_order(order_id: u64) -> Value {
    json!({"id": order_id, "status": "DELIVERED", "iccid": "8910300000123456789",
           "activation_code": ACTIVATION_CODE, "is_installed": false})
}

/// An ingest queue message body for an Octopus event.
fn ingest(event_type: &str, event_id: &str, created_at: &str, data: Value) -> String {
    let body = json!({"id": event_id, "type": event_type, "created_at": created_at, "data": data})
        .to_string();
    QueueMessage::new(
        "octopus",
        event_id,
        event_type,
        OffsetDateTime::now_utc(),
        body,
    )
    .to_json()
}

fn delivered(event_id: &str, order_id: u64) -> String {
    ingest(
        "order.delivered",
        event_id,
        "2026-11-22T10:00:00Z",
        json!({"id": order_id, "status": "DELIVERED", "quantity": 1, "delivered_quantity": 1,
               "amount": 50.00, "reference_code": "MY_ORDER_001"}),
    )
}

fn assert_processed(outcome: &RecordOutcome) {
    assert!(
        matches!(outcome, RecordOutcome::Processed { .. }),
        "expected Processed, got {outcome:?}"
    );
}

#[tokio::test]
async fn voucher_order_is_fetched_recorded_and_published() {
    let rig = rig().await;
    rig.mount_voucher_order(12345).await;
    let outcome = rig.process(&delivered("evt_v1", 12345)).await;
    assert_processed(&outcome);

    assert_eq!(rig.requests_to("/api/v1/orders/12345").await, 1);
    let key = event_key("octopus", "evt_v1");
    assert_eq!(rig.attr(&key, "status").await.as_deref(), Some("COMPLETED"));
    assert_eq!(rig.attr(&key, "attempts").await.as_deref(), Some("1"));
    assert!(rig.attr(&key, "expires_at").await.is_some());
    assert_eq!(
        rig.attr(&key, "subject_key").await.as_deref(),
        Some("ORDER#octopus#voucher#12345"),
        "the claim points at what it changed"
    );
    let order = "ORDER#octopus#voucher#12345";
    assert_eq!(
        rig.attr(order, "status").await.as_deref(),
        Some("DELIVERED")
    );
    assert_eq!(
        rig.attr(order, "last_event_id").await.as_deref(),
        Some("evt_v1")
    );
    assert_eq!(rig.attr(order, "amount").await.as_deref(), Some("50.0"));

    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    let update = &updates[0];
    assert_eq!(update.status.as_deref(), Some("DELIVERED"));
    assert_eq!(update.order_kind.as_deref(), Some("voucher"));
    let fetched = update.order.as_ref().expect("fetched order in the update");
    assert_eq!(
        fetched["vouchers"][0]["code"], VOUCHER_CODE,
        "unwrapped from data"
    );
}

#[tokio::test]
async fn esim_order_is_fetched_and_its_activation_code_only_published() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/esim/orders/9302481"))
        .respond_with(ResponseTemplate::new(200).set_body_json(esim_order(9302481)))
        .mount(&rig.api)
        .await;
    let body = ingest(
        "esim.delivered",
        "evt_esim_1",
        "2026-11-22T10:00:00Z",
        json!({"id": 9302481, "status": "DELIVERED", "amount": 4.275, "currency": "USD"}),
    );
    assert_processed(&rig.process(&body).await);
    assert_eq!(rig.requests_to("/api/v1/esim/orders/9302481").await, 1);
    let order = "ORDER#octopus#esim#9302481";
    assert_eq!(
        rig.attr(order, "status").await.as_deref(),
        Some("DELIVERED")
    );
    assert_eq!(rig.attr(order, "amount").await.as_deref(), Some("4.275"));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].order.as_ref().unwrap()["activation_code"],
        ACTIVATION_CODE
    );
    for item in table_items(&rig.dynamodb, &rig.table).await {
        assert!(
            !item.contains(ACTIVATION_CODE),
            "activation code persisted: {item}"
        );
    }
}

#[tokio::test]
async fn events_that_are_complete_are_not_fetched() {
    let rig = rig().await;
    let failed = ingest(
        "order.failed",
        "evt_f1",
        "2026-11-22T10:00:00Z",
        json!({"id": 12347, "status": "FAILED", "quantity": 1, "delivered_quantity": 0}),
    );
    let credited = ingest(
        "wallet.credited",
        "evt_w1",
        "2026-11-22T10:00:00Z",
        json!({"transaction_id": 880011, "amount": 500.00, "currency": "USD", "balance_after": 1250.00}),
    );
    assert_processed(&rig.process(&failed).await);
    assert_processed(&rig.process(&credited).await);
    assert!(rig.api.received_requests().await.unwrap().is_empty());
    assert_eq!(
        rig.attr("ORDER#octopus#voucher#12347", "status")
            .await
            .as_deref(),
        Some("FAILED")
    );
    // Keyed by its transaction (a poll of the same movement writes the same item).
    assert_eq!(
        rig.attr("WALLET#octopus#txn#880011", "balance_after")
            .await
            .as_deref(),
        Some("1250.0")
    );
    // The wallet (named by its currency here: the event has no wallet_id) is at 880011.
    assert_eq!(
        rig.attr("WALLET#octopus#balance#USD", "balance")
            .await
            .as_deref(),
        Some("1250.0")
    );
    assert_eq!(rig.updates().await.len(), 2);
}

#[tokio::test]
async fn unknown_event_type_completes_without_action() {
    let rig = rig().await;
    let body = ingest(
        "voucher.expired",
        "evt_u1",
        "2026-11-22T10:00:00Z",
        json!({"id": 1}),
    );
    let outcome = rig.process(&body).await;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Processed {
                known_type: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        rig.attr(&event_key("octopus", "evt_u1"), "status")
            .await
            .as_deref(),
        Some("COMPLETED")
    );
    assert!(rig.updates().await.is_empty());
}

#[tokio::test]
async fn duplicate_delivered_100_times_concurrently_takes_effect_once() {
    let rig = rig().await;
    rig.mount_voucher_order(777).await;
    let body = delivered("evt_dup", 777);
    let mut pending: Vec<usize> = (0..100).collect();
    let (mut processed, mut duplicates, mut rounds) = (0, 0, 0);
    // As SQS does: deliver all, then deliver again whatever was reported as failed.
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds < 50, "never settled");
        let outcomes = futures::future::join_all(pending.iter().map(|_| rig.process(&body))).await;
        let mut again = Vec::new();
        for (i, outcome) in pending.iter().zip(outcomes) {
            match outcome {
                RecordOutcome::Processed { .. } => processed += 1,
                RecordOutcome::Duplicate => duplicates += 1,
                RecordOutcome::InProgressElsewhere => again.push(*i),
                other => panic!("unexpected {other:?}"),
            }
        }
        pending = again;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!((processed, duplicates), (1, 99));
    assert_eq!(rig.requests_to("/api/v1/orders/777").await, 1);
    assert_eq!(rig.updates().await.len(), 1);
}

#[tokio::test]
async fn crash_after_claim_is_processed_once_after_the_lease_expires() {
    let rig = rig().await;
    rig.mount_voucher_order(4242).await;
    let body = delivered("evt_crash", 4242);
    let message = QueueMessage::from_json(&body).unwrap();
    // A process claims the event, then dies without completing or releasing.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let crashed = rig
        .processor
        .events
        .claim(&ClaimRequest {
            key: event_key("octopus", "evt_crash"),
            body_sha256: body_sha256(message.body.as_bytes()),
            lease_token: "crashed-process".into(),
            now,
            lease_until: now + 1,
            expires_at: now + 3600,
            subject_key: None,
        })
        .await
        .unwrap();
    assert_eq!(crashed, Claim::Acquired { attempts: 1 });

    // While its lease lives, a redelivery is refused and reported for retry.
    let outcome = rig.process(&body).await;
    assert!(
        matches!(outcome, RecordOutcome::InProgressElsewhere),
        "{outcome:?}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // After it, the redelivery takes the event over and processes it once.
    assert_processed(&rig.process(&body).await);
    let key = event_key("octopus", "evt_crash");
    assert_eq!(rig.attr(&key, "attempts").await.as_deref(), Some("2"));
    assert_eq!(rig.attr(&key, "status").await.as_deref(), Some("COMPLETED"));
    assert!(matches!(rig.process(&body).await, RecordOutcome::Duplicate));
    assert_eq!(rig.requests_to("/api/v1/orders/4242").await, 1);
    assert_eq!(rig.updates().await.len(), 1);
}

#[tokio::test]
async fn live_lease_is_a_batch_item_failure_and_neighbours_succeed() {
    let rig = rig().await;
    rig.mount_voucher_order(1).await;
    rig.mount_voucher_order(2).await;
    let busy = delivered("evt_busy", 1);
    let message = QueueMessage::from_json(&busy).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    rig.processor
        .events
        .claim(&ClaimRequest {
            key: event_key("octopus", "evt_busy"),
            body_sha256: body_sha256(message.body.as_bytes()),
            lease_token: "other-invocation".into(),
            now,
            lease_until: now + 600,
            expires_at: now + 3600,
            subject_key: None,
        })
        .await
        .unwrap();
    let records = vec![
        BatchRecord {
            message_id: "m-busy".into(),
            body: Some(busy),
        },
        BatchRecord {
            message_id: "m-free".into(),
            body: Some(delivered("evt_free", 2)),
        },
        BatchRecord {
            message_id: "m-junk".into(),
            body: Some("not an ingest message".into()),
        },
    ];
    let results = process_batch(
        &rig.processor,
        records,
        Instant::now() + Duration::from_secs(10),
    )
    .await;
    let response = lambda::batch_response(&results);
    let mut failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(failed, ["m-busy", "m-junk"]);
    assert_eq!(rig.requests_to("/api/v1/orders/2").await, 1);
    assert_eq!(rig.requests_to("/api/v1/orders/1").await, 0);
}

#[tokio::test]
async fn same_event_id_with_a_different_body_is_a_conflict() {
    let rig = rig().await;
    rig.mount_voucher_order(55).await;
    assert_processed(&rig.process(&delivered("evt_same", 55)).await);
    let forged = ingest(
        "order.delivered",
        "evt_same",
        "2026-11-22T10:00:00Z",
        json!({"id": 56, "status": "DELIVERED"}),
    );
    let outcome = rig.process(&forged).await;
    assert!(matches!(outcome, RecordOutcome::Conflict), "{outcome:?}");
    assert!(
        outcome.is_failure(),
        "a conflict is left to retry and the DLQ"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/56").await, 0);
    assert!(rig.item("ORDER#octopus#voucher#56").await.is_none());
    assert_eq!(rig.updates().await.len(), 1);
}

#[tokio::test]
async fn provider_500_retries_then_fails_and_releases_the_claim() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/500"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&rig.api)
        .await;
    let body = delivered("evt_500", 500);
    let outcome = rig.process(&body).await;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Failed(ProcessError::Fetch(FetchError::Status { status: 503 }))
        ),
        "{outcome:?}"
    );
    assert_eq!(
        rig.requests_to("/api/v1/orders/500").await,
        3,
        "retried up to max_attempts"
    );
    let key = event_key("octopus", "evt_500");
    assert_eq!(
        rig.attr(&key, "status").await.as_deref(),
        Some("IN_PROGRESS")
    );
    assert_eq!(
        rig.attr(&key, "lease_until").await.as_deref(),
        Some("0"),
        "released"
    );
    assert!(rig.updates().await.is_empty());

    // The provider recovers: the very next delivery proceeds at once.
    rig.api.reset().await;
    rig.mount_voucher_order(500).await;
    assert_processed(&rig.process(&body).await);
    assert_eq!(rig.attr(&key, "attempts").await.as_deref(), Some("2"));
    assert_eq!(rig.updates().await.len(), 1);
}

#[tokio::test]
async fn provider_429_with_a_retry_after_that_fits_is_honoured() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/429"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&rig.api)
        .await;
    rig.mount_voucher_order(429).await;
    let started = std::time::Instant::now();
    assert_processed(&rig.process(&delivered("evt_429", 429)).await);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/429").await, 2);
}

#[tokio::test]
async fn provider_429_with_a_retry_after_past_the_deadline_fails_at_once() {
    let rig = rig().await;
    // 18446744073709551615 (u64::MAX) once overflowed `Instant + Duration` and panicked the batch.
    for (order, wait) in [(430, "120"), (431, "18446744073709551615")] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orders/{order}")))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", wait))
            .mount(&rig.api)
            .await;
        let outcome = rig
            .process(&delivered(&format!("evt_{order}"), order))
            .await;
        assert!(
            matches!(
                outcome,
                RecordOutcome::Failed(ProcessError::Fetch(FetchError::RateLimited { .. }))
            ),
            "Retry-After {wait}: {outcome:?}"
        );
        assert_eq!(rig.requests_to(&format!("/api/v1/orders/{order}")).await, 1);
    }
}

#[tokio::test]
async fn provider_timeout_fails_the_record_within_the_deadline() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/408"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&rig.api)
        .await;
    let started = std::time::Instant::now();
    let outcome = rig
        .processor
        .process(
            &delivered("evt_slow", 408),
            // Preparing stops 4 s before the deadline (margin and finish reserve): 3 s of work.
            Instant::now() + Duration::from_secs(7),
        )
        .await
        .1;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Failed(ProcessError::Fetch(FetchError::Timeout))
        ),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up before the deadline"
    );
}

#[tokio::test]
async fn provider_malformed_json_fails_without_retry() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/600"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&rig.api)
        .await;
    let outcome = rig.process(&delivered("evt_bad_json", 600)).await;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Failed(ProcessError::Fetch(FetchError::Malformed))
        ),
        "{outcome:?}"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/600").await, 1);
}

#[tokio::test]
async fn provider_404_fails_without_retry() {
    let rig = rig().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/404"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&rig.api)
        .await;
    let outcome = rig.process(&delivered("evt_404", 404)).await;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Failed(ProcessError::Fetch(FetchError::Status { status: 404 }))
        ),
        "{outcome:?}"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/404").await, 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_token_goes_nowhere_else() {
    // Regression: the client followed up to 10 redirects, carrying the request wherever an
    // answer pointed.
    let rig = rig().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/302"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&rig.api)
        .await;
    let outcome = rig.process(&delivered("evt_302", 302)).await;
    assert!(
        matches!(
            outcome,
            RecordOutcome::Failed(ProcessError::Fetch(FetchError::Redirected { status: 302 }))
        ),
        "{outcome:?}"
    );
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the redirect target was never called"
    );
}

#[tokio::test]
async fn dynamodb_unreachable_at_claim_fails_before_any_effect() {
    let rig = rig().await;
    rig.mount_voucher_order(31).await;
    let down = hookline::aws::for_emulator(&unreachable_endpoint()).await;
    let processor = Processor {
        events: DynamoEventStore::new(aws_sdk_dynamodb::Client::new(&down), &rig.table),
        states: DynamoOrderStateStore::new(rig.dynamodb.clone(), &rig.table),
        api: OctopusOrderClient::new(
            &rig.api.uri(),
            hookline_tests::octopus_token(&rig.api.uri()),
            fast_policy(),
        )
        .unwrap(),
        updates: SqsQueue::new(rig.sqs.clone(), &rig.updates_url),
        credentials: None,
        watches: DynamoWatchStore::new(rig.dynamodb.clone(), &rig.table),
        config: ProcessorConfig::default(),
    };
    let outcome = process_with(&processor, &delivered("evt_db_down", 31)).await;
    assert!(
        matches!(outcome, RecordOutcome::Failed(ProcessError::Store(_))),
        "{outcome:?}"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/31").await, 0);
    assert!(rig.updates().await.is_empty());
}

/// Claims on the real table; completes on one that is down.
struct CompletionFails {
    claims: DynamoEventStore,
    down: DynamoEventStore,
}

impl EventStore for CompletionFails {
    async fn claim(&self, request: &ClaimRequest) -> Result<Claim, StoreError> {
        self.claims.claim(request).await
    }
    async fn complete(&self, key: &str, token: &str, now: i64) -> Result<bool, StoreError> {
        self.down.complete(key, token, now).await
    }
    async fn release(&self, key: &str, token: &str) -> Result<(), StoreError> {
        self.down.release(key, token).await
    }
}

#[tokio::test]
async fn dynamodb_unreachable_at_completion_publishes_once_and_holds_the_lease() {
    let rig = rig().await;
    rig.mount_voucher_order(32).await;
    let down = hookline::aws::for_emulator(&unreachable_endpoint()).await;
    let processor = Processor {
        events: CompletionFails {
            claims: DynamoEventStore::new(rig.dynamodb.clone(), &rig.table),
            down: DynamoEventStore::new(aws_sdk_dynamodb::Client::new(&down), &rig.table),
        },
        states: DynamoOrderStateStore::new(rig.dynamodb.clone(), &rig.table),
        api: OctopusOrderClient::new(
            &rig.api.uri(),
            hookline_tests::octopus_token(&rig.api.uri()),
            fast_policy(),
        )
        .unwrap(),
        updates: SqsQueue::new(rig.sqs.clone(), &rig.updates_url),
        credentials: None,
        watches: DynamoWatchStore::new(rig.dynamodb.clone(), &rig.table),
        config: ProcessorConfig::default(),
    };
    let body = delivered("evt_db_late", 32);
    // The effects are done and published, so the record is acknowledged.
    assert_processed(&process_with(&processor, &body).await);
    assert_eq!(rig.updates().await.len(), 1);
    // The claim is still held: a redelivery within the lease is not processed again.
    let key = event_key("octopus", "evt_db_late");
    assert_eq!(
        rig.attr(&key, "status").await.as_deref(),
        Some("IN_PROGRESS")
    );
    assert!(matches!(
        rig.process(&body).await,
        RecordOutcome::InProgressElsewhere
    ));
    assert_eq!(rig.requests_to("/api/v1/orders/32").await, 1);
}

#[tokio::test]
async fn order_state_never_goes_backwards() {
    let rig = rig().await;
    rig.mount_voucher_order(900).await;
    let order = "ORDER#octopus#voucher#900";
    let partial = |event_id: &str, at: &str| {
        ingest(
            "order.partially_delivered",
            event_id,
            at,
            json!({"id": 900, "status": "PARTIALLY_DELIVERED", "quantity": 100, "delivered_quantity": 87}),
        )
    };
    let full = ingest(
        "order.delivered",
        "evt_full",
        "2026-11-22T10:05:00Z",
        json!({"id": 900, "status": "DELIVERED", "quantity": 100, "delivered_quantity": 100}),
    );
    assert_processed(&rig.process(&full).await);
    // An older partial delivery arriving late.
    assert_processed(
        &rig.process(&partial("evt_partial_old", "2026-11-22T10:00:00Z"))
            .await,
    );
    assert_eq!(
        rig.attr(order, "status").await.as_deref(),
        Some("DELIVERED")
    );
    // A partial delivery stamped later still never replaces a terminal status.
    assert_processed(
        &rig.process(&partial("evt_partial_new", "2026-11-22T10:10:00Z"))
            .await,
    );
    assert_eq!(
        rig.attr(order, "status").await.as_deref(),
        Some("DELIVERED")
    );
    assert_eq!(
        rig.attr(order, "delivered_quantity").await.as_deref(),
        Some("100")
    );
    assert_eq!(
        rig.attr(order, "last_event_id").await.as_deref(),
        Some("evt_full")
    );
}

#[tokio::test]
async fn the_same_change_reported_by_two_events_is_published_once() {
    let rig = rig().await;
    rig.mount_voucher_order(901).await;
    // A webhook and a poll (or two senders) report the same delivery under different event ids.
    assert_processed(&rig.process(&delivered("evt_from_webhook", 901)).await);
    let later = ingest(
        "order.delivered",
        "poll_same_change",
        "2026-11-22T10:01:00Z",
        json!({"id": 901, "status": "DELIVERED", "quantity": 1, "delivered_quantity": 1}),
    );
    assert_processed(&rig.process(&later).await);
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1, "one order update per change");
    assert_eq!(updates[0].event_id, "evt_from_webhook");
    assert_eq!(
        rig.attr("ORDER#octopus#voucher#901", "last_event_id")
            .await
            .as_deref(),
        Some("evt_from_webhook")
    );
}

#[tokio::test]
async fn poison_message_reaches_the_dlq_while_its_neighbours_succeed() {
    use aws_sdk_sqs::types::QueueAttributeName;
    let rig = rig().await;
    rig.mount_voucher_order(71).await;
    rig.mount_voucher_order(72).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/73"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&rig.api)
        .await;
    let dlq_url = create_queue(&rig.sqs, "ingest-dlq").await;
    let dlq_arn = rig
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let ingest_url = create_queue(&rig.sqs, "ingest").await;
    rig.sqs
        .set_queue_attributes()
        .queue_url(&ingest_url)
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap();
    for (event_id, order_id) in [("evt_ok1", 71), ("evt_ok2", 72), ("evt_poison", 73)] {
        rig.sqs
            .send_message()
            .queue_url(&ingest_url)
            .message_body(delivered(event_id, order_id))
            .send()
            .await
            .unwrap();
    }

    // The Lambda event source's loop: receive, process, delete all but the reported failures.
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "queue never drained"
        );
        let messages = rig
            .sqs
            .receive_message()
            .queue_url(&ingest_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            let attributes = rig
                .sqs
                .get_queue_attributes()
                .queue_url(&ingest_url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap();
            let count = |name: QueueAttributeName| attributes[&name].parse::<u32>().unwrap();
            if count(QueueAttributeName::ApproximateNumberOfMessages)
                + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0
            {
                break;
            }
            continue;
        }
        let records = messages
            .iter()
            .map(|m| BatchRecord {
                message_id: m.message_id.clone().unwrap(),
                body: m.body.clone(),
            })
            .collect();
        let results = process_batch(
            &rig.processor,
            records,
            Instant::now() + Duration::from_secs(10),
        )
        .await;
        let failed: Vec<String> = lambda::batch_response(&results)
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        for m in &messages {
            if !failed.contains(m.message_id.as_ref().unwrap()) {
                rig.sqs
                    .delete_message()
                    .queue_url(&ingest_url)
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    let dead: Vec<QueueMessage> = drain_queue(&rig.sqs, &dlq_url)
        .await
        .iter()
        .map(|b| QueueMessage::from_json(b).unwrap())
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "evt_poison");
    assert_eq!(
        rig.requests_to("/api/v1/orders/73").await,
        2,
        "one try per receive"
    );
    assert_eq!(rig.requests_to("/api/v1/orders/71").await, 1);
    assert_eq!(rig.requests_to("/api/v1/orders/72").await, 1);
    assert_eq!(rig.published_event_ids().await, ["evt_ok1", "evt_ok2"]);
}

#[tokio::test]
async fn no_code_pin_token_or_activation_code_in_logs_or_table() {
    let logs = hookline_tests::capture_logs();

    let rig = rig().await;
    rig.mount_voucher_order(8080).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/esim/orders/8081"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": esim_order(8081)})))
        .mount(&rig.api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/8082"))
        .respond_with(ResponseTemplate::new(500).set_body_json(voucher_order(8082)))
        .mount(&rig.api)
        .await;
    let esim = ingest(
        "esim.delivered",
        "evt_s1",
        "2026-11-22T10:00:00Z",
        json!({"id": 8081}),
    );
    let records = vec![
        BatchRecord {
            message_id: "a".into(),
            body: Some(delivered("evt_s0", 8080)),
        },
        BatchRecord {
            message_id: "b".into(),
            body: Some(esim),
        },
        BatchRecord {
            message_id: "c".into(),
            body: Some(delivered("evt_s2", 8082)),
        },
    ];
    let results = process_batch(
        &rig.processor,
        records,
        Instant::now() + Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        lambda::batch_response(&results).batch_item_failures.len(),
        1
    );
    let published = rig.updates().await;
    assert_eq!(
        published.len(),
        2,
        "the codes did reach the order-updates queue"
    );

    assert!(
        logs.text().contains("event processed"),
        "logs were captured"
    );
    for secret in SECRETS {
        let line = logs.line_with(secret);
        assert!(
            line.is_none(),
            "{secret} found in logs: {}",
            line.unwrap_or_default()
        );
    }
    let metrics =
        hookline::processor::metrics::processor_batch(&results, OffsetDateTime::now_utc())
            .join("\n");
    for item in table_items(&rig.dynamodb, &rig.table)
        .await
        .iter()
        .chain([&metrics])
    {
        for secret in SECRETS {
            assert!(!item.contains(secret), "{secret} found in {item}");
        }
    }
}

#[tokio::test]
async fn an_order_too_large_for_one_sqs_message_is_published_in_parts_not_dropped() {
    // Regression: an order of thousands of vouchers made an update over SQS's 256 KiB; the send
    // failed on every try and the update was then swallowed.
    let rig = rig().await;
    let vouchers: Vec<Value> = (0..4_000)
        .map(|i| {
            json!({"code": format!("GIFT-{i:06}-XK9P-4LZD"), "pin": format!("{i:06}"),
                        "claim_url": format!("https://claim.example/c/{i:08}")})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/orders/4000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": 4000, "status": "DELIVERED", "quantity": 4000, "delivered_quantity": 4000,
            "vouchers": vouchers}})))
        .mount(&rig.api)
        .await;
    assert_processed(&rig.process(&delivered("evt_big_order", 4000)).await);
    let parts = rig.updates().await;
    assert!(parts.len() > 1, "split into parts: {}", parts.len());
    let mut joined = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let p = part
            .part
            .as_ref()
            .expect("each message says which part it is");
        assert_eq!((p.index as usize, p.count as usize), (i, parts.len()));
        assert_eq!(part.event_id, "evt_big_order");
        joined.extend(
            part.order.as_ref().unwrap()["vouchers"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    assert_eq!(
        joined, vouchers,
        "every voucher in exactly one part, in order"
    );
}

#[tokio::test]
async fn an_activation_code_goes_only_to_the_short_retention_credentials_queue() {
    // The eSIM document: never keep the activation code beyond the install window. Scan every
    // store hookline writes: the table, the logs, the order-updates queue, the credentials queue.
    let logs = hookline_tests::capture_logs();
    let mut rig = rig().await;
    let credentials_url = create_fifo_queue(&rig.sqs, "esim-credentials").await;
    rig.processor.credentials = Some(SqsQueue::new(rig.sqs.clone(), &credentials_url));
    Mock::given(method("GET"))
        .and(path("/api/v1/esim/orders/9302482"))
        .respond_with(ResponseTemplate::new(200).set_body_json(esim_order(9302482)))
        .mount(&rig.api)
        .await;
    rig.mount_voucher_order(12399).await;
    let esim = ingest(
        "esim.delivered",
        "evt_esim_2",
        "2026-11-22T10:00:00Z",
        json!({"id": 9302482, "status": "DELIVERED"}),
    );
    assert_processed(&rig.process(&esim).await);
    assert_processed(&rig.process(&delivered("evt_v_12399", 12399)).await);

    let credentials: Vec<OrderUpdate> = drain_queue(&rig.sqs, &credentials_url)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(credentials.len(), 1);
    assert_eq!(
        credentials[0].order.as_ref().unwrap()["activation_code"],
        ACTIVATION_CODE
    );
    let updates = rig.updates().await;
    assert_eq!(
        updates.len(),
        1,
        "the voucher update stays on the order-updates queue"
    );
    assert_eq!(updates[0].event_id, "evt_v_12399");
    for update in &updates {
        assert!(
            !serde_json::to_string(update)
                .unwrap()
                .contains(ACTIVATION_CODE)
        );
    }
    for item in table_items(&rig.dynamodb, &rig.table).await {
        assert!(!item.contains(ACTIVATION_CODE), "in the table: {item}");
    }
    assert!(logs.line_with(ACTIVATION_CODE).is_none(), "in a log line");
}

#[tokio::test]
async fn repeats_in_one_batch_take_effect_once_and_never_fail() {
    let rig = rig().await;
    for order in [1, 2, 3] {
        rig.mount_voucher_order(order).await;
    }
    // A provider retry that arrives with its first copy: another ingest message, same webhook.
    let records: Vec<BatchRecord> = [
        ("m-a1", delivered("evt_a", 1)),
        ("m-b", delivered("evt_b", 2)),
        ("m-a2", delivered("evt_a", 1)),
        ("m-c", delivered("evt_c", 3)),
        ("m-a3", delivered("evt_a", 1)),
    ]
    .into_iter()
    .map(|(id, body)| BatchRecord {
        message_id: id.into(),
        body: Some(body),
    })
    .collect();
    let results = process_batch(
        &rig.processor,
        records,
        Instant::now() + Duration::from_secs(10),
    )
    .await;
    assert!(
        lambda::batch_response(&results)
            .batch_item_failures
            .is_empty()
    );
    let outcome = |id: &str| &results.iter().find(|r| r.message_id == id).unwrap().outcome;
    for id in ["m-a1", "m-b", "m-c"] {
        assert!(
            matches!(outcome(id), RecordOutcome::Processed { .. }),
            "{id}"
        );
    }
    for id in ["m-a2", "m-a3"] {
        assert!(matches!(outcome(id), RecordOutcome::Duplicate), "{id}");
    }
    assert_eq!(rig.requests_to("/api/v1/orders/1").await, 1);
    // One update per event, none twice (how many requests carried them: bench-cost counts).
    assert_eq!(rig.published_event_ids().await, ["evt_a", "evt_b", "evt_c"]);
}

#[tokio::test]
async fn a_refused_batch_request_fails_its_messages_and_no_other() {
    use hookline::queue::Queue;
    let sqs = moto().sqs().await;
    let url = create_fifo_queue(&sqs, "batch-refusal").await;
    let queue = SqsQueue::new(sqs.clone(), &url);
    let message = |i: usize| hookline::queue::OutgoingMessage {
        body: format!("m{i}"),
        attributes: vec![("event_type", "order.delivered".into())],
        group_id: Some("g".into()),
        deduplication_id: Some(format!("d{i}")),
    };
    // Twelve messages, two requests (ten, then two); the fifth has no group id, so the FIFO
    // queue refuses its whole request.
    let mut messages: Vec<_> = (0..12).map(message).collect();
    messages[4].group_id = None;
    let results = queue.send_batch(&messages).await;
    let refused: Vec<usize> = (0..12).filter(|i| results[*i].is_err()).collect();
    assert_eq!(refused, (0..10).collect::<Vec<_>>());
    assert_eq!(drain_queue(&sqs, &url).await, ["m10", "m11"]);
}

/// An order-update batch that SQS takes while its answer is lost (a timeout after the effect):
/// whether the SDK sends it again (what it does here) or the records are delivered again and
/// send it again, the queue ends with each update once, as in a run without the fault, because
/// every update carries its deduplication id.
#[tokio::test]
async fn an_update_batch_whose_answer_is_lost_is_published_once() {
    use hookline::queue::Queue;
    let sqs = moto().sqs().await;
    let message = |i: usize| hookline::queue::OutgoingMessage {
        body: format!("m{i}"),
        attributes: vec![("event_type", "order.delivered".into())],
        group_id: Some(format!("g{i}")),
        deduplication_id: Some(format!("d{i}")),
    };
    let messages: Vec<_> = (0..10).map(message).collect();

    let fault_free = create_fifo_queue(&sqs, "answer-kept").await;
    let results = SqsQueue::new(sqs.clone(), &fault_free)
        .send_batch(&messages)
        .await;
    assert!(results.iter().all(Result::is_ok));
    let mut expected = drain_queue(&sqs, &fault_free).await;
    expected.sort();

    let url = create_fifo_queue(&sqs, "answer-lost").await;
    let (front, dropped) = hookline_tests::answer_losing_front(&moto().endpoint, 1).await;
    let through_front = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(&front).await);
    let queue = SqsQueue::new(through_front, &url);
    let results = queue.send_batch(&messages).await;
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one answer lost after moto took the batch"
    );
    if results.iter().any(Result::is_err) {
        // The processor releases the claims and SQS delivers the records again: the same
        // updates are sent again.
        let again = queue.send_batch(&messages).await;
        assert!(again.iter().all(Result::is_ok));
    }
    let mut published = drain_queue(&sqs, &url).await;
    published.sort();
    assert_eq!(
        published, expected,
        "each update once, as without the fault"
    );
}
