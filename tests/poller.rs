//! The order poller against real parts: watches in DynamoDB on moto (the due index included),
//! the ingest and order-updates queues on moto, and an Octopus API on a local HTTP server whose
//! answers change from one request to the next. Each status change a poll finds goes through the
//! processor as a webhook would; time is stepped explicitly, so the cadence is tested without
//! waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hookline::idempotency::DynamoEventStore;
use hookline::message::QueueMessage;
use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::RetryPolicy;
use hookline::order_state::DynamoOrderStateStore;
use hookline::order_update::OrderUpdate;
use hookline::poller::{PollReport, Poller, PollerConfig};
use hookline::processor::{Processor, ProcessorConfig, RecordOutcome};
use hookline::providers::octopus::OctopusOrderClient;
use hookline::queue::SqsQueue;
use hookline::watch::{DynamoWatchStore, Registration, Watch, WatchStore};
use hookline_tests::{
    capture_logs, create_fifo_queue, create_queue, create_table, drain_queue, moto, table_items,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ACTIVATION_CODE: &str = "LPA:1$smdp.example$POLL-ACT-7Q2M";

/// Answers with the next response of a script on every request, then keeps the last.
struct Script {
    responses: Vec<ResponseTemplate>,
    served: Arc<AtomicUsize>,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        self.responses[n.min(self.responses.len() - 1)].clone()
    }
}

fn order(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": body }))
}

fn esim(id: u64, status: &str, installed: bool, activation: &str) -> ResponseTemplate {
    order(
        json!({"id": id, "status": status, "client_reference": "TRIP", "product_name": "Japan eSIM",
                 "amount": 4.275, "currency": "USD", "iccid": "8910300000123456789",
                 "activation_code": ACTIVATION_CODE, "is_installed": installed,
                 "activation_status": activation}),
    )
}

struct Rig {
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    ingest_url: String,
    updates_url: String,
    api: MockServer,
    poller: Poller<DynamoWatchStore, OctopusOrderClient, SqsQueue>,
    processor: Processor<
        DynamoEventStore,
        DynamoOrderStateStore,
        OctopusOrderClient,
        SqsQueue,
        DynamoWatchStore,
    >,
}

/// One attempt per poll: the poller's own schedule is the retry.
fn single_attempt() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    }
}

async fn rig() -> Rig {
    let sqs = moto().sqs().await;
    let dynamodb = moto().dynamodb().await;
    let table = create_table(&dynamodb).await;
    let ingest_url = create_queue(&sqs, "poll-ingest").await;
    let updates_url = create_fifo_queue(&sqs, "poll-updates").await;
    let api = MockServer::start().await;
    hookline_tests::mount_logins(&api).await;
    // One session for every client of the rig, as one container's clients share theirs.
    let sessions = hookline::api_auth::SessionStore::memory();
    let client = |policy| {
        let token = hookline_tests::provider_auth::octopus_token_in(&api.uri(), sessions.clone());
        OctopusOrderClient::new(&api.uri(), token, policy).unwrap()
    };
    let watches = DynamoWatchStore::new(dynamodb.clone(), &table);
    Rig {
        poller: Poller {
            watches: watches.clone(),
            api: client(single_attempt()),
            ingest: SqsQueue::new(sqs.clone(), &ingest_url),
            config: PollerConfig::default(),
        },
        processor: Processor {
            events: DynamoEventStore::new(dynamodb.clone(), &table),
            states: DynamoOrderStateStore::new(dynamodb.clone(), &table),
            api: client(RetryPolicy::default()),
            updates: SqsQueue::new(sqs.clone(), &updates_url),
            credentials: None,
            watches,
            config: ProcessorConfig::default(),
        },
        sqs,
        dynamodb,
        table,
        ingest_url,
        updates_url,
        api,
    }
}

impl Rig {
    /// Serves `responses` in turn at the Octopus API path of `kind`/`id`.
    async fn script(
        &self,
        kind: OrderKind,
        id: u64,
        responses: Vec<ResponseTemplate>,
    ) -> Arc<AtomicUsize> {
        let served = Arc::new(AtomicUsize::new(0));
        let url = match kind {
            OrderKind::Esim => format!("/api/v1/esim/orders/{id}"),
            _ => format!("/api/v1/orders/{id}"),
        };
        Mock::given(method("GET"))
            .and(path(url))
            .respond_with(Script {
                responses,
                served: served.clone(),
            })
            .mount(&self.api)
            .await;
        served
    }

    async fn watch(&self, kind: OrderKind, id: u64, at: i64, give_up_after: i64) -> Watch {
        let order = OrderRef {
            provider: "octopus".into(),
            kind,
            order_id: id.to_string(),
        };
        let watch = Watch::new(order, Some("TRIP".into()), at, give_up_after);
        assert_eq!(
            self.poller.watches.register(&watch).await.unwrap(),
            Registration::Registered
        );
        watch
    }

    /// One poller round at `at`, then everything it enqueued through the processor.
    async fn round(&self, at: i64) -> PollReport {
        let deadline = Instant::now() + Duration::from_secs(10);
        let report = self.poller.poll_due(at, deadline).await.unwrap();
        self.process_ingest().await;
        report
    }

    async fn process_ingest(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for body in drain_queue(&self.sqs, &self.ingest_url).await {
            let (_, outcome) = self.processor.process(&body, deadline).await;
            assert!(
                matches!(
                    outcome,
                    RecordOutcome::Processed { .. } | RecordOutcome::Duplicate
                ),
                "{outcome:?}"
            );
        }
    }

    async fn updates(&self) -> Vec<OrderUpdate> {
        drain_queue(&self.sqs, &self.updates_url)
            .await
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    async fn watch_state(&self, key: &str) -> Option<String> {
        table_items(&self.dynamodb, &self.table)
            .await
            .into_iter()
            .find(|item| item.contains(&format!("\"pk\": S(\"{key}\")")))
            .map(|item| {
                item.split("\"watch_state\": S(\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_string()
            })
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn an_esim_pending_three_polls_then_delivered_then_installed_is_followed_without_a_webhook() {
    let logs = capture_logs();
    let rig = rig().await;
    let served = rig
        .script(
            OrderKind::Esim,
            9_400_001,
            vec![
                esim(9_400_001, "PENDING", false, "NOT_INSTALLED"),
                esim(9_400_001, "PENDING", false, "NOT_INSTALLED"),
                esim(9_400_001, "PENDING", false, "NOT_INSTALLED"),
                // Fourth poll, and the processor's fetch for the activation code.
                esim(9_400_001, "DELIVERED", false, "NOT_INSTALLED"),
                esim(9_400_001, "DELIVERED", false, "NOT_INSTALLED"),
                esim(9_400_001, "DELIVERED", true, "INSTALLED"),
                esim(9_400_001, "DELIVERED", true, "ACTIVE"),
            ],
        )
        .await;
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_001, t0, 86_400).await;

    // The first minute: every 10 s. Nothing is due in between.
    for step in 0..3 {
        let report = rig.round(t0 + step * 10).await;
        assert_eq!((report.polled, report.changes), (1, 0), "poll {step}");
        assert_eq!(rig.round(t0 + step * 10 + 5).await.polled, 0, "not due yet");
    }
    let delivered = rig.round(t0 + 30).await;
    assert_eq!((delivered.polled, delivered.changes), (1, 1));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1, "exactly one update for the delivery");
    assert_eq!(updates[0].event_type, "esim.delivered");
    assert_eq!(updates[0].status.as_deref(), Some("DELIVERED"));
    assert_eq!(
        updates[0].order.as_ref().unwrap()["activation_code"],
        ACTIVATION_CODE,
        "the processor fetched the activation code for the order update"
    );
    assert_eq!(
        served.load(Ordering::SeqCst),
        5,
        "4 polls + 1 fetch by the processor"
    );

    // Install phase: every 45 s.
    assert_eq!(rig.round(t0 + 60).await.polled, 0);
    let installed = rig.round(t0 + 75).await;
    assert_eq!(installed.changes, 1);
    let active = rig.round(t0 + 120).await;
    assert_eq!((active.changes, active.settled), (1, 1));
    let types: Vec<String> = rig
        .updates()
        .await
        .into_iter()
        .map(|u| u.event_type)
        .collect();
    assert_eq!(types, ["esim.installed", "esim.activated"]);
    assert_eq!(
        rig.watch_state("WATCH#octopus#esim#9400001")
            .await
            .as_deref(),
        Some("SETTLED")
    );
    assert_eq!(
        rig.round(t0 + 10_000).await.polled,
        0,
        "a settled watch is never due"
    );

    // The activation code went to the order-updates queue only.
    let items = table_items(&rig.dynamodb, &rig.table).await.join("\n");
    assert!(!items.contains("POLL-ACT"), "activation code in the table");
    assert!(
        !logs.text().contains("POLL-ACT"),
        "activation code in the logs"
    );
}

#[tokio::test]
async fn a_webhook_and_a_poll_for_the_same_change_publish_one_update() {
    let rig = rig().await;
    rig.script(
        OrderKind::Esim,
        9_400_002,
        vec![esim(9_400_002, "DELIVERED", false, "NOT_INSTALLED")],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_002, t0, 86_400).await;
    let webhook = json!({"id": "evt_esim_webhook", "type": "esim.delivered",
        "created_at": "2026-11-22T10:00:00Z", "data": {"id": 9_400_002, "status": "DELIVERED"}})
    .to_string();
    let message = QueueMessage::new(
        "octopus",
        "evt_esim_webhook",
        "esim.delivered",
        OffsetDateTime::now_utc(),
        webhook,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcome = rig.processor.process_message(&message, deadline).await;
    assert!(
        matches!(outcome, RecordOutcome::Processed { .. }),
        "{outcome:?}"
    );
    // The poll sees the same delivery.
    assert_eq!(rig.round(t0).await.changes, 1);
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1, "one order update for one change");
    assert_eq!(updates[0].event_id, "evt_esim_webhook");
}

#[tokio::test]
async fn rate_limits_and_5xx_reschedule_the_watch_and_lose_nothing() {
    let rig = rig().await;
    rig.script(
        OrderKind::Esim,
        9_400_003,
        vec![
            ResponseTemplate::new(429).insert_header("retry-after", "40"),
            ResponseTemplate::new(503),
            esim(9_400_003, "DELIVERED", false, "NOT_INSTALLED"),
        ],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_003, t0, 86_400).await;
    assert_eq!(rig.round(t0).await.failed, 1, "429");
    assert_eq!(rig.round(t0 + 39).await.rounds, 0, "Retry-After honoured");
    assert_eq!(rig.round(t0 + 40).await.failed, 1, "503");
    assert_eq!(
        rig.round(t0 + 69).await.failed,
        0,
        "backoff 30 s after the second failure"
    );
    let report = rig.round(t0 + 70).await;
    assert_eq!((report.polled, report.changes), (1, 1));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "esim.delivered");
}

#[tokio::test]
async fn a_poll_the_budget_has_no_room_for_is_deferred_not_failed_and_polled_later() {
    use hookline::api_budget::{BudgetConfig, MemoryBudget, Priority, RequestBudget};
    let mut rig = rig().await;
    rig.script(
        OrderKind::Esim,
        9_400_009,
        vec![esim(9_400_009, "DELIVERED", false, "NOT_INSTALLED")],
    )
    .await;
    let unbudgeted = rig.poller.api.clone();
    // Deliveries have taken the whole slice: no room for polls.
    let full = RequestBudget::Memory(std::sync::Arc::new(MemoryBudget::new(BudgetConfig {
        poll_share: 0.0,
        ..BudgetConfig::per_minute(300)
    })));
    rig.poller.api = unbudgeted.clone().with_budget(full, Priority::Poll);
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_009, t0, 86_400).await;
    let report = rig.round(t0).await;
    assert_eq!(
        (report.polled, report.failed),
        (0, 0),
        "deferred, not failed"
    );
    assert_eq!(
        rig.round(t0).await.rounds,
        0,
        "not due again before the next slice"
    );
    // The next slice has room: the same watch is polled, nothing lost.
    rig.poller.api = unbudgeted;
    let report = rig.round(t0 + 10).await;
    assert_eq!((report.polled, report.changes), (1, 1));
}

#[tokio::test]
async fn a_watch_gives_up_at_its_time_and_is_counted() {
    let rig = rig().await;
    rig.script(
        OrderKind::Voucher,
        5_500_001,
        vec![order(json!({"id": 5_500_001, "status": "PENDING"}))],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Voucher, 5_500_001, t0, 60).await;
    assert_eq!(rig.round(t0).await.polled, 1);
    assert_eq!(rig.round(t0 + 30).await.polled, 1);
    let report = rig.round(t0 + 61).await;
    assert_eq!(report.given_up, 1);
    let line = hookline::poller::metrics::poller_run(&report, OffsetDateTime::now_utc());
    let emf: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(emf["WatchesGivenUp"], 1.0);
    assert_eq!(
        rig.watch_state("WATCH#octopus#voucher#5500001")
            .await
            .as_deref(),
        Some("GAVE_UP")
    );
    assert_eq!(rig.round(t0 + 1000).await.rounds, 0, "never due again");
}

#[tokio::test]
async fn registering_twice_is_one_watch() {
    let rig = rig().await;
    let t0 = now();
    let watch = rig.watch(OrderKind::Esim, 9_400_004, t0, 60).await;
    let again = Watch::new(watch.order.clone(), None, t0 + 5, 60);
    assert_eq!(
        rig.poller.watches.register(&again).await.unwrap(),
        Registration::AlreadyWatched
    );
    let due = rig.poller.watches.due(t0 + 10, 100).await.unwrap();
    assert_eq!(due.iter().filter(|w| w.order == watch.order).count(), 1);
    assert_eq!(due[0].created_at, t0, "the first registration stands");
}

#[tokio::test]
async fn a_partial_delivery_is_watched_until_the_order_is_delivered() {
    let rig = rig().await;
    let partial = json!({"id": 5_500_002, "status": "PARTIALLY_DELIVERED", "quantity": 100,
                         "delivered_quantity": 87, "vouchers": [{"code": "GIFT-POLL-1"}]});
    let full = json!({"id": 5_500_002, "status": "DELIVERED", "quantity": 100,
                      "delivered_quantity": 100, "vouchers": [{"code": "GIFT-POLL-1"}]});
    rig.script(
        OrderKind::Voucher,
        5_500_002,
        vec![
            order(partial.clone()),
            order(partial),
            order(full.clone()),
            order(full),
        ],
    )
    .await;
    // The webhook: a partial delivery (Octopus sends no webhook for what follows).
    let webhook = json!({"id": "evt_partial_poll", "type": "order.partially_delivered",
        "created_at": "2026-11-22T10:00:00Z",
        "data": {"id": 5_500_002, "status": "PARTIALLY_DELIVERED", "quantity": 100, "delivered_quantity": 87}})
    .to_string();
    let message = QueueMessage::new(
        "octopus",
        "evt_partial_poll",
        "order.partially_delivered",
        OffsetDateTime::now_utc(),
        webhook,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcome = rig.processor.process_message(&message, deadline).await;
    assert!(
        matches!(outcome, RecordOutcome::Processed { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        rig.watch_state("WATCH#octopus#voucher#5500002")
            .await
            .as_deref(),
        Some("ACTIVE"),
        "the partial delivery registered a watch"
    );
    let t0 = now();
    // The same partial delivery seen by the poll is no new change.
    assert_eq!(rig.round(t0).await.changes, 1);
    assert_eq!(rig.updates().await.len(), 1, "only the webhook's update");
    let report = rig.round(t0 + 30).await;
    assert_eq!((report.changes, report.settled), (1, 1));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "order.delivered");
    assert_eq!(updates[0].status.as_deref(), Some("DELIVERED"));
    assert_eq!(
        rig.watch_state("WATCH#octopus#voucher#5500002")
            .await
            .as_deref(),
        Some("SETTLED")
    );
}

#[tokio::test]
async fn the_sample_events_run_through_the_lambda_handlers() {
    let rig = rig().await;
    rig.script(
        OrderKind::Esim,
        9_302_490,
        vec![esim(9_302_490, "DELIVERED", false, "NOT_INSTALLED")],
    )
    .await;
    let events = hookline_tests::events_dir();
    // POST /orders/watch, as API Gateway hands it to the order-watch function.
    let text = std::fs::read_to_string(events.join("order-watch/register-esim.json")).unwrap();
    let request = lambda_http::request::from_str(&text).expect("an API Gateway v2 event");
    let response = hookline::poller::lambda::register(&rig.poller.watches, 3600, request)
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);

    // The schedule's event, as EventBridge Scheduler hands it to the order-poller function.
    let schedule: Value = serde_json::from_str(
        &std::fs::read_to_string(events.join("order-poller/schedule.json")).unwrap(),
    )
    .unwrap();
    let mut context = lambda_runtime::Context::default();
    context.deadline =
        u64::try_from(OffsetDateTime::now_utc().unix_timestamp() * 1000 + 15_000).unwrap();
    let no_wallets: Option<
        &hookline::poller::transactions::TransactionsPoller<
            hookline::cursor::MemoryCursorStore,
            hookline::poller::transactions::HttpTransactions,
            SqsQueue,
        >,
    > = None;
    let reply = hookline::poller::lambda::poll(
        &rig.poller,
        no_wallets,
        lambda_runtime::LambdaEvent::new(schedule, context),
    )
    .await
    .unwrap();
    assert_eq!(
        (reply["polled"].as_u64(), reply["changes"].as_u64()),
        (Some(1), Some(1))
    );
    rig.process_ingest().await;
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "esim.delivered");
}

#[tokio::test]
async fn an_ingest_queue_that_refuses_loses_no_change() {
    let rig = rig().await;
    rig.script(
        OrderKind::Voucher,
        5_500_003,
        vec![order(json!({"id": 5_500_003, "status": "FAILED"}))],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Voucher, 5_500_003, t0, 86_400).await;
    let broken = Poller {
        watches: rig.poller.watches.clone(),
        api: OctopusOrderClient::new(
            &rig.api.uri(),
            hookline_tests::octopus_token(&rig.api.uri()),
            single_attempt(),
        )
        .unwrap(),
        ingest: SqsQueue::new(rig.sqs.clone(), format!("{}-missing", rig.ingest_url)),
        config: PollerConfig::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = broken.poll_due(t0, deadline).await.unwrap();
    assert_eq!((report.failed, report.changes), (1, 0));
    assert_eq!(
        rig.watch_state("WATCH#octopus#voucher#5500003")
            .await
            .as_deref(),
        Some("ACTIVE"),
        "the watch still waits for the change to be enqueued"
    );
    // The queue is back: the next poll (after the backoff) enqueues the change.
    let report = rig.round(t0 + 15).await;
    assert_eq!((report.changes, report.settled), (1, 1));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "order.failed");
}

/// The eSIM document: install loop every 30–60 s for 10 minutes, then back off, and stop at a
/// bounded number of calls; a client re-arms the watch when the customer says they installed.
#[tokio::test]
async fn an_esim_never_installed_is_polled_a_bounded_number_of_times_and_a_rearm_polls_again() {
    let mut rig = rig().await;
    rig.poller.config.max_install_polls = 6;
    let served = rig
        .script(
            OrderKind::Esim,
            9_400_007,
            vec![esim(9_400_007, "DELIVERED", false, "NOT_INSTALLED")],
        )
        .await;
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_007, t0, 86_400).await;
    assert_eq!(
        rig.round(t0).await.changes,
        1,
        "delivered: install phase begins"
    );
    rig.updates().await;
    let before_install = served.load(Ordering::SeqCst);

    // Step through time as the poller would, until nothing is due in the day.
    let mut at = t0;
    let mut given_up = 0;
    while at < t0 + 86_400 {
        let due = rig.poller.watches.due(t0 + 86_400, 10).await.unwrap();
        let Some(watch) = due.iter().find(|w| w.order.order_id == "9400007") else {
            break;
        };
        at = watch.next_poll_at;
        given_up += rig.round(at).await.given_up;
    }
    let install_polls = served.load(Ordering::SeqCst) - before_install;
    assert_eq!(install_polls, 6, "the budget, then the watch ends");
    assert_eq!(given_up, 1);
    assert_eq!(
        rig.watch_state("WATCH#octopus#esim#9400007")
            .await
            .as_deref(),
        Some("GAVE_UP")
    );
    assert!(at - t0 < 600, "six polls fit the 45 s foreground loop");

    // The customer says they installed it: the client registers the order again.
    let (status, answer) = hookline::poller::registration::register(
        &rig.poller.watches,
        br#"{"kind":"esim","order_id":9400007,"client_reference":"TRIP"}"#,
        at + 3600,
        86_400,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#""rearmed":true"#), "{answer}");
    rig.api.reset().await;
    rig.script(
        OrderKind::Esim,
        9_400_007,
        vec![esim(9_400_007, "DELIVERED", true, "INSTALLED")],
    )
    .await;
    let report = rig.round(at + 3600).await;
    assert_eq!(
        (report.polled, report.changes),
        (1, 1),
        "polled again at once"
    );
    let types: Vec<String> = rig
        .updates()
        .await
        .into_iter()
        .map(|u| u.event_type)
        .collect();
    assert_eq!(types, ["esim.installed"]);
    let due = rig.poller.watches.due(at + 3600 + 45, 10).await.unwrap();
    assert!(
        due.iter()
            .any(|w| w.order.order_id == "9400007" && w.phase_polls == 1),
        "the install phase started over, fast cadence and budget"
    );
}

/// Top-ups fire no webhook: a client registers the order, the poller follows it on the top-ups
/// document's cadence (5 s for the first minute) and its terminal status reaches the order
/// updates once.
#[tokio::test]
async fn a_registered_topup_is_followed_to_its_terminal_status_without_a_webhook() {
    let rig = rig().await;
    let pending = json!({"id": 9_123_456, "status": "PENDING", "variant_name": "325 UC",
                         "input_data": {"player_id": "5123456789"}});
    let delivered = json!({"id": 9_123_456, "status": "DELIVERED", "variant_name": "325 UC",
                           "transaction_id": 7_401_120, "amount": 4.7405, "currency": "USD",
                           "input_data": {"player_id": "5123456789"}});
    let served = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/api/v1/topups/orders/9123456"))
        .respond_with(Script {
            responses: vec![order(pending.clone()), order(pending), order(delivered)],
            served: served.clone(),
        })
        .mount(&rig.api)
        .await;
    let t0 = now();
    let (status, answer) = hookline::poller::registration::register(
        &rig.poller.watches,
        br#"{"kind":"topup","order_id":9123456,"client_reference":"CAMPAIGN_DEC_24"}"#,
        t0,
        86_400,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(rig.round(t0).await.changes, 0);
    assert_eq!(
        rig.round(t0 + 3).await.polled,
        0,
        "every 5 s in the first minute"
    );
    assert_eq!(rig.round(t0 + 5).await.changes, 0);
    let report = rig.round(t0 + 10).await;
    assert_eq!((report.changes, report.settled), (1, 1));
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "topup.delivered");
    assert_eq!(updates[0].order_kind.as_deref(), Some("topup"));
    assert_eq!(updates[0].status.as_deref(), Some("DELIVERED"));
    assert_eq!(updates[0].event_data["transaction_id"], 7_401_120);
    assert!(
        !serde_json::to_string(&updates[0])
            .unwrap()
            .contains("5123456789")
    );
    assert_eq!(
        served.load(Ordering::SeqCst),
        3,
        "no fetch beyond the polls"
    );
    assert_eq!(
        rig.watch_state("WATCH#octopus#topup#9123456")
            .await
            .as_deref(),
        Some("SETTLED")
    );
}

fn transactions(items: Value, more: bool) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(items)
        .insert_header("X-Has-More", if more { "true" } else { "false" })
}

fn txn(id: i64, kind: &str, status: &str) -> Value {
    json!({"id": id, "wallet_id": 1, "currency_id": 1, "amount": 25.0, "transaction_type": kind,
           "status": status, "remarks": format!("USD Wallet movement {id}"),
           "created_at": "2026-11-26T10:00:00Z"})
}

/// The seed document: no webhook for wallet top-ups, poll the Transactions API; another page:
/// `wallet.credited` / `wallet.debited` webhooks. Both, each movement recorded and published
/// once, through 429s and 5xx, a transaction listed on two pages, and a webhook and a poll of
/// the same movement; the wallet's state never goes backwards.
#[tokio::test]
async fn wallet_transactions_are_polled_each_movement_recorded_and_published_once() {
    use hookline::cursor::{CursorStore, DynamoCursorStore};
    use hookline::order_api::{HttpOrderClient, PathsFn};
    use hookline::poller::transactions::{HttpTransactions, TransactionsPoller};

    let rig = rig().await;
    let served = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/api/v1/transactions"))
        .and(wiremock::matchers::query_param("wallet_id", "1"))
        .respond_with(Script {
            responses: vec![
                // Run 1: the first poll starts after what is there (no history replayed).
                transactions(json!([txn(100, "CREDIT", "COMPLETED")]), false),
                // Run 2: a top-up appears.
                transactions(json!([txn(101, "CREDIT", "COMPLETED"), txn(100, "CREDIT", "COMPLETED")]), false),
                // Runs 3 and 4: rate limited, then a server error.
                ResponseTemplate::new(429).insert_header("Retry-After", "1"),
                ResponseTemplate::new(503),
                // Run 5: two more, over two pages that shifted (102 listed on both).
                transactions(json!({"data": [txn(103, "DEBIT", "COMPLETED"), txn(102, "CREDIT", "COMPLETED")]}), true),
                transactions(json!([txn(102, "CREDIT", "COMPLETED"), txn(101, "CREDIT", "COMPLETED")]), false),
                // Run 6: nothing new.
                transactions(json!([txn(103, "DEBIT", "COMPLETED")]), true),
            ],
            served: served.clone(),
        })
        .mount(&rig.api)
        .await;
    let no_orders: PathsFn = |_| Ok(Vec::new());
    let client = HttpOrderClient::with_paths(
        &rig.api.uri(),
        hookline_tests::octopus_token(&rig.api.uri()),
        single_attempt(),
        no_orders,
    )
    .unwrap();
    let cursors = DynamoCursorStore::new(rig.dynamodb.clone(), &rig.table);
    let poller = TransactionsPoller {
        cursors: cursors.clone(),
        api: HttpTransactions {
            client,
            path: "/api/v1/transactions".into(),
            limit: 2,
        },
        ingest: SqsQueue::new(rig.sqs.clone(), &rig.ingest_url),
        wallets: vec![1],
        max_pages: 5,
        clock: hookline::clock::Clock::system(),
    };
    let deadline = || Instant::now() + Duration::from_secs(10);
    let cursor = || async { cursors.get("CURSOR#octopus#transactions#1").await.unwrap() };

    let first = poller.run(deadline()).await;
    assert_eq!((first.movements, first.failed), (0, 0));
    assert_eq!(cursor().await, Some(100));

    assert_eq!(poller.run(deadline()).await.movements, 1);
    rig.process_ingest().await;
    let updates = rig.updates().await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].event_type, "wallet.credited");
    assert_eq!(updates[0].event_data["transaction_id"], 101);
    assert_eq!(cursor().await, Some(101));

    for _ in 0..2 {
        let failed = poller.run(deadline()).await;
        assert_eq!((failed.movements, failed.failed), (0, 1), "429, then 503");
        assert_eq!(cursor().await, Some(101), "the cursor stays");
    }

    // The webhook for 103 arrives before the poll sees it.
    let webhook = QueueMessage::new(
        "octopus",
        "evt_wallet_db_103",
        "wallet.debited",
        OffsetDateTime::now_utc(),
        json!({"id": "evt_wallet_db_103", "type": "wallet.debited", "created_at": "2026-11-26T10:00:05Z",
               "data": {"transaction_id": 103, "wallet_id": 1, "type": "DEBIT", "amount": 25.0,
                        "currency": "USD", "balance_after": 975.0}})
        .to_string(),
    );
    let outcome = rig.processor.process_message(&webhook, deadline()).await;
    assert!(
        matches!(outcome, RecordOutcome::Processed { .. }),
        "{outcome:?}"
    );

    assert_eq!(
        poller.run(deadline()).await.movements,
        2,
        "102 once, and 103"
    );
    rig.process_ingest().await;
    assert_eq!(poller.run(deadline()).await.movements, 0);
    rig.process_ingest().await;
    assert_eq!(cursor().await, Some(103));
    let updates = rig.updates().await;
    let seen: Vec<(String, Value, bool)> = updates
        .iter()
        .map(|u| {
            (
                u.event_type.clone(),
                u.event_data["transaction_id"].clone(),
                u.current,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("wallet.debited".into(), json!(103), true),
            // Older than the wallet's state (103): published, not current.
            ("wallet.credited".into(), json!(102), false),
        ],
        "103 published once (webhook first, the poll a known change), 102 once"
    );
    let items = table_items(&rig.dynamodb, &rig.table).await.join("\n");
    let wallet = items
        .lines()
        .find(|i| i.contains("WALLET#octopus#balance#1"))
        .expect("the wallet's state");
    assert!(
        wallet.contains("last_transaction_id\": N(\"103\")"),
        "{wallet}"
    );
    assert!(wallet.contains("balance\": N(\"975"), "{wallet}");
    assert_eq!(served.load(Ordering::SeqCst), 7);
}

/// A re-arm that lands while a poll of the same watch is in flight is not overwritten by that
/// poll's save: the save is conditional on the lease the poll took.
#[tokio::test]
async fn a_rearm_during_a_poll_stands() {
    let rig = rig().await;
    let slow =
        esim(9_400_009, "DELIVERED", false, "NOT_INSTALLED").set_delay(Duration::from_millis(1500));
    rig.script(
        OrderKind::Esim,
        9_400_009,
        vec![esim(9_400_009, "DELIVERED", false, "NOT_INSTALLED"), slow],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Esim, 9_400_009, t0, 86_400).await;
    assert_eq!(rig.round(t0).await.changes, 1, "delivered: install phase");
    let due_at = t0 + 45;
    let poll = async {
        rig.poller
            .poll_due(due_at, Instant::now() + Duration::from_secs(10))
            .await
            .unwrap()
    };
    let rearm = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        hookline::poller::registration::register(
            &rig.poller.watches,
            br#"{"kind":"esim","order_id":9400009}"#,
            due_at + 1,
            86_400,
        )
        .await
    };
    let (report, (status, answer)) = futures::join!(poll, rearm);
    assert_eq!(report.polled, 1);
    assert_eq!(status, 200);
    assert!(answer.contains(r#""rearmed":true"#), "{answer}");
    let due = rig.poller.watches.due(due_at + 1, 10).await.unwrap();
    let watch = due
        .iter()
        .find(|w| w.order.order_id == "9400009")
        .expect("the re-armed watch is due at once, not at the poll's schedule");
    assert_eq!((watch.phase_started_at, watch.phase_polls), (due_at + 1, 0));
}

#[tokio::test]
async fn a_watch_of_an_order_the_provider_does_not_know_ends_reported_and_can_be_registered_again()
{
    let rig = rig().await;
    let served = rig
        .script(
            OrderKind::Voucher,
            5_500_404,
            vec![ResponseTemplate::new(404).set_body_json(json!({"error": "order not found"}))],
        )
        .await;
    let t0 = now();
    rig.watch(OrderKind::Voucher, 5_500_404, t0, 86_400).await;
    let key = "WATCH#octopus#voucher#5500404";
    let logs = capture_logs();
    let mut at = t0;
    let mut report = PollReport::default();
    for _ in 0..hookline::watch::UNKNOWN_ORDER_POLLS {
        report = rig.round(at).await;
        at += 600;
    }
    assert_eq!(
        served.load(Ordering::SeqCst),
        hookline::watch::UNKNOWN_ORDER_POLLS as usize
    );
    assert_eq!(report.order_not_found, 1, "{report:?}");
    assert!(
        logs.text()
            .contains("the provider does not know this order"),
        "{}",
        logs.text()
    );
    let emf: Value = serde_json::from_str(&hookline::poller::metrics::poller_run(
        &report,
        OffsetDateTime::now_utc(),
    ))
    .unwrap();
    assert_eq!(emf["WatchesOrderNotFound"], 1.0);
    assert_eq!(
        rig.watch_state(key).await.as_deref(),
        Some("ORDER_NOT_FOUND")
    );
    assert_eq!(
        rig.round(t0 + 90_000).await.rounds,
        0,
        "not polled for the rest of the day"
    );

    // Registered again once the order exists, it is watched anew.
    let again = rig
        .watch(OrderKind::Voucher, 5_500_404, t0 + 3_000, 86_400)
        .await;
    assert_eq!(rig.watch_state(key).await.as_deref(), Some("ACTIVE"));
    assert_eq!(again.failures, 0);
}

#[tokio::test]
async fn a_found_order_that_later_answers_404_is_not_ended_as_unknown() {
    let rig = rig().await;
    rig.script(
        OrderKind::Voucher,
        5_500_405,
        vec![
            order(json!({"id": 5_500_405, "status": "PENDING"})),
            ResponseTemplate::new(404),
        ],
    )
    .await;
    let t0 = now();
    rig.watch(OrderKind::Voucher, 5_500_405, t0, 86_400).await;
    let mut at = t0;
    for _ in 0..=hookline::watch::UNKNOWN_ORDER_POLLS + 1 {
        let report = rig.round(at).await;
        assert_eq!(report.order_not_found, 0);
        at += 700;
    }
    assert_eq!(
        rig.watch_state("WATCH#octopus#voucher#5500405")
            .await
            .as_deref(),
        Some("ACTIVE")
    );
}
