//! Exactly once, round 2: each defect found where the crash-point matrix and the storm did not
//! look, as a test (each failed on the processor before contract v2). The consumer here is the
//! one the order-update contract describes: it reads the FIFO queue (which drops a copy within
//! five minutes, on the run's clock) and keeps one update per `update_id` and part.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hookline::clock::Clock;
use hookline::idempotency::MemoryEventStore;
use hookline::message::{QueueMessage, ReplayMark};
use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::{FetchError, MemoryOrderApi, OrderApi};
use hookline::order_state::MemoryOrderStateStore;
use hookline::order_update::{OrderUpdate, change_update_id};
use hookline::processor::{
    BatchRecord, LEASE_SKEW_SECS, Processor, ProcessorConfig, RecordOutcome, process_batch,
};
use hookline::queue::MemoryQueue;
use hookline::watch::MemoryWatchStore;
use hookline_simulation::harness::{Delivered, Rig, START, VISIBILITY_TIMEOUT_SECS};
use hookline_simulation::{FaultKind, Faults};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

fn received() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(START).unwrap()
}

fn optty_order() -> OrderRef {
    OrderRef {
        provider: "optty".into(),
        kind: OrderKind::Order,
        order_id: "ord-77".into(),
    }
}

fn optty_answer(capture: &str) -> Value {
    json!({"merchantReference": "ord-77", "status": "SUCCESSFUL", "amount": 149.95,
           "currency": "AUD", "captureStatus": capture})
}

/// An Optty notification of payment `ord-77`, SUCCESSFUL, with the capture status it reports.
fn optty_notification(capture: &str) -> String {
    let body = json!({"event": "ORDER_STATUS_UPDATE", "status": "SUCCESSFUL",
                      "orderReference": "ord-77", "transactionId": "txn-77",
                      "captureStatus": capture});
    QueueMessage::new(
        "optty",
        &format!("txn-77#ORDER_STATUS_UPDATE#SUCCESSFUL#{capture}"),
        "ORDER_STATUS_UPDATE",
        received(),
        body.to_string(),
    )
    .to_json()
}

fn voucher_order(id: u64) -> OrderRef {
    OrderRef {
        provider: "octopus".into(),
        kind: OrderKind::Voucher,
        order_id: id.to_string(),
    }
}

/// An Octopus `order.delivered` of order `id`, event `event_id`.
fn delivered(event_id: &str, id: u64) -> String {
    let body = json!({"id": event_id, "type": "order.delivered",
                      "created_at": "2026-11-22T09:59:58Z",
                      "data": {"id": id, "status": "DELIVERED", "quantity": 1,
                               "delivered_quantity": 1}});
    QueueMessage::new(
        "octopus",
        event_id,
        "order.delivered",
        received(),
        body.to_string(),
    )
    .to_json()
}

fn vouchers(id: u64, count: usize, code_length: usize) -> Value {
    let vouchers: Vec<Value> = (0..count)
        .map(|i| json!({"code": format!("C{i:06}-{}", "X".repeat(code_length)), "pin": "1234"}))
        .collect();
    json!({"id": id, "status": "DELIVERED", "vouchers": vouchers})
}

/// What the consumer keeps: one update per `update_id` and part (the first copy).
fn consumed(queue: &MemoryQueue) -> BTreeMap<(String, Option<u32>), OrderUpdate> {
    let mut kept = BTreeMap::new();
    for queued in queue.messages() {
        let update: OrderUpdate = serde_json::from_str(&queued.message.body).unwrap();
        let key = (
            update.update_id.clone(),
            update.part.as_ref().map(|p| p.index),
        );
        kept.entry(key).or_insert(update);
    }
    kept
}

/// Every change recorded for `order` reached the consumer under its own `update_id`.
fn assert_every_change_reached_the_consumer(rig: &Rig, order: &OrderRef) {
    let key = order.state_key();
    let ids: BTreeSet<String> = consumed(&rig.updates)
        .keys()
        .map(|(id, _)| id.clone())
        .collect();
    let changes = rig.states.changes(&key);
    assert!(!changes.is_empty(), "nothing recorded for {key}");
    for (change, owner) in changes {
        assert!(
            ids.contains(&change_update_id(&key, &change)),
            "change {change} of {key} (recorded by {owner}) never reached the consumer"
        );
    }
}

/// The call number of the `nth` call named `name` when `bodies` are processed without faults
/// by a processor of a world made by `world`.
async fn step_of(world: impl Fn() -> Rig, bodies: &[String], name: &str, nth: usize) -> u64 {
    let rig = world();
    let faults = Faults::none();
    let processor = rig.processor(&faults);
    for body in bodies {
        rig.deliver(&processor, &faults, body).await;
    }
    faults
        .call_names()
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == name)
        .nth(nth)
        .map(|(i, _)| i as u64)
        .unwrap_or_else(|| panic!("no call {name} #{nth} in {:?}", faults.call_names()))
}

fn optty_world() -> Rig {
    let api = MemoryOrderApi::new();
    // The first fetch answers AUTHORIZED, every later one CAPTURED.
    api.set_sequence(
        &optty_order(),
        vec![optty_answer("AUTHORIZED"), optty_answer("CAPTURED")],
    );
    Rig::new(api)
}

/// Defect 1. N1 is processed while the API answers AUTHORIZED, and its invocation dies; its
/// redelivery finds CAPTURED. Before, CAPTURED went out under N1's event id (dropped as a
/// repeat) and the capture notification N2 found it known: no consumer ever saw CAPTURED.
#[tokio::test]
async fn a_change_first_seen_on_a_redelivery_reaches_the_consumer_under_its_own_id() {
    let bodies = [
        optty_notification("AUTHORIZED"),
        optty_notification("CAPTURED"),
    ];
    for (call, kind) in [
        ("send", FaultKind::Crash),
        ("record_order", FaultKind::Crash),
        ("complete", FaultKind::Crash),
        ("send", FaultKind::FailAfter),
        ("fetch", FaultKind::FailAfter),
    ] {
        let step = step_of(optty_world, &bodies[..1], call, 0).await;
        let rig = optty_world();
        let faults = Faults::at(step, kind);
        let processor = rig.processor(&faults);
        for body in &bodies {
            let delivered = rig.deliver(&processor, &faults, body).await;
            assert!(matches!(delivered, Delivered::Acknowledged { .. }));
        }
        let state = rig.states.order(&optty_order().state_key()).unwrap();
        assert_eq!(
            state.change_key(),
            "SUCCESSFUL#1#CAPTURED",
            "{call} {kind:?}"
        );
        assert_every_change_reached_the_consumer(&rig, &optty_order());
        let statuses: BTreeSet<Option<String>> = consumed(&rig.updates)
            .values()
            .map(|u| u.order.as_ref().map(|o| o["captureStatus"].to_string()))
            .collect();
        assert!(
            statuses.contains(&Some("\"CAPTURED\"".into())),
            "{call} {kind:?}: {statuses:?}"
        );
    }
}

/// Defect 2. The template's timings, and what the FIFO window does with them: a copy sent by a
/// redelivery (after the 360-second visibility timeout) reaches the consumer; a send whose
/// answer was lost, tried again at once, is dropped by the window.
#[tokio::test]
async fn the_fifo_window_is_modelled_with_the_templates_timings() {
    let template =
        std::fs::read_to_string(hookline_tests::events_dir().join("../template.yaml")).unwrap();
    let ingest = &template[template.find("\n  IngestQueue:").unwrap()..];
    let line = ingest
        .lines()
        .find(|l| l.trim_start().starts_with("VisibilityTimeout:"))
        .unwrap();
    let visibility: i64 = line.split(':').nth(1).unwrap().trim().parse().unwrap();
    assert_eq!(visibility, VISIBILITY_TIMEOUT_SECS);
    assert!(visibility > hookline::queue::FIFO_DEDUPLICATION_WINDOW_SECS);

    let world = || {
        let api = MemoryOrderApi::new();
        api.set(&voucher_order(501), vouchers(501, 2, 8));
        Rig::new(api)
    };
    let body = delivered("evt_501", 501);
    let step = step_of(world, std::slice::from_ref(&body), "send", 0).await;
    for (attempts, kind, copies) in [
        (3, FaultKind::FailAfter, 1),
        (1, FaultKind::FailAfter, 2),
        (3, FaultKind::Crash, 2),
    ] {
        let rig = world();
        let faults = Faults::at(step, kind);
        let mut processor = rig.processor(&faults);
        processor.config.publish_attempts = attempts;
        rig.deliver(&processor, &faults, &body).await;
        assert_eq!(
            rig.updates.len(),
            copies,
            "{kind:?} with {attempts} publish attempts"
        );
        assert_eq!(consumed(&rig.updates).len(), 1);
    }
}

/// An order API that takes `delay` per fetch and, like the real clients, gives up at the
/// deadline.
struct SlowApi {
    inner: MemoryOrderApi,
    delay: Duration,
}

impl OrderApi for SlowApi {
    async fn fetch(&self, order: &OrderRef, deadline: Instant) -> Result<Value, FetchError> {
        let done = Instant::now() + self.delay;
        if done > deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(FetchError::Transport("the deadline came first".into()));
        }
        tokio::time::sleep_until(done).await;
        self.inner.fetch(order, deadline).await
    }
}

/// A queue that takes `delay` per message sent.
#[derive(Clone)]
struct SlowQueue {
    inner: MemoryQueue,
    delay: Duration,
}

impl hookline::queue::Queue for SlowQueue {
    async fn send(
        &self,
        message: &hookline::queue::OutgoingMessage,
    ) -> Result<String, hookline::queue::QueueError> {
        tokio::time::sleep(self.delay).await;
        self.inner.send(message).await
    }
}

/// Defect 3. A batch whose records take longer than the invocation has, killed at its deadline
/// as Lambda would: preparing stops with room to publish and complete what is ready; what was
/// not prepared fails unclaimed; nothing is published twice.
#[tokio::test]
async fn a_batch_that_runs_out_of_time_publishes_what_is_ready_once() {
    let api = MemoryOrderApi::new();
    for id in 0..8 {
        api.set(&voucher_order(600 + id), vouchers(600 + id, 1, 8));
    }
    let clock = Clock::manual(START);
    let updates = MemoryQueue::new();
    let processor = Processor {
        events: MemoryEventStore::new(),
        states: MemoryOrderStateStore::new(),
        api: SlowApi {
            inner: api,
            delay: Duration::from_millis(250),
        },
        updates: SlowQueue {
            inner: updates.clone(),
            delay: Duration::from_millis(50),
        },
        credentials: None,
        watches: MemoryWatchStore::new(),
        config: ProcessorConfig {
            clock: clock.clone(),
            concurrency: 1,
            deadline_margin: Duration::from_millis(100),
            finish_reserve: Duration::from_millis(300),
            ..ProcessorConfig::default()
        },
    };
    let records = |ids: &[u64]| -> Vec<BatchRecord> {
        ids.iter()
            .map(|id| BatchRecord {
                message_id: format!("m{id}"),
                body: Some(delivered(&format!("evt_{id}"), *id)),
            })
            .collect()
    };
    let all: Vec<u64> = (600..608).collect();
    let deadline = Instant::now() + Duration::from_millis(1_200);
    let lease = processor.lease_until(deadline);
    assert!(
        (START + 2..=START + 2 + LEASE_SKEW_SECS).contains(&lease),
        "{lease}"
    );
    // Lambda ends the invocation at its deadline, whatever is left to do.
    let results =
        tokio::time::timeout_at(deadline, process_batch(&processor, records(&all), deadline))
            .await
            .expect("the batch ran past its deadline and was killed");
    let done: Vec<u64> = results
        .iter()
        .filter(|r| matches!(r.outcome, RecordOutcome::Processed { .. }))
        .map(|r| r.message_id[1..].parse().unwrap())
        .collect();
    assert!(
        !done.is_empty() && done.len() < all.len(),
        "{:?}",
        results.iter().map(|r| &r.outcome).collect::<Vec<_>>()
    );
    assert_eq!(updates.len(), done.len());
    // SQS delivers the rest again, after the visibility timeout, to invocations with time.
    clock.advance(VISIBILITY_TIMEOUT_SECS);
    let rest: Vec<u64> = all
        .iter()
        .copied()
        .filter(|id| !done.contains(id))
        .collect();
    let results = process_batch(
        &processor,
        records(&rest),
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert!(results.iter().all(|r| !r.outcome.is_failure()));
    assert_eq!(updates.len(), all.len(), "an update published twice");
    let ids: BTreeSet<Option<String>> = updates
        .messages()
        .into_iter()
        .map(|m| m.message.deduplication_id)
        .collect();
    assert_eq!(ids.len(), all.len());
}

fn reprocess(body: &str) -> String {
    let mut message = QueueMessage::from_json(body).unwrap();
    message.replay = Some(ReplayMark {
        id: "replay-1".into(),
        reprocess: true,
        known_at_first: true,
    });
    message.to_json()
}

/// Defect 4. A reprocess whose first attempt failed before any write publishes nothing the
/// first processing published; a change it finds that the first processing did not is
/// published under its own id.
#[tokio::test]
async fn a_reprocess_publishes_only_what_is_new_under_its_own_id() {
    let world = || {
        let api = MemoryOrderApi::new();
        api.set(&voucher_order(701), vouchers(701, 2, 8));
        Rig::new(api)
    };
    let body = delivered("evt_701", 701);
    let again = reprocess(&body);
    let step = step_of(world, &[body.clone(), again.clone()], "fetch", 1).await;
    for kind in FaultKind::ALL {
        let rig = world();
        let faults = Faults::at(step, kind);
        let processor = rig.processor(&faults);
        rig.deliver(&processor, &faults, &body).await;
        rig.deliver(&processor, &faults, &again).await;
        assert_eq!(
            rig.updates.len(),
            1,
            "{kind:?}: the reprocess published the original update again"
        );
    }

    // The first processing saw AUTHORIZED; the reprocess finds CAPTURED.
    let rig = optty_world();
    let faults = Faults::none();
    let processor = rig.processor(&faults);
    let n1 = optty_notification("AUTHORIZED");
    rig.deliver(&processor, &faults, &n1).await;
    rig.deliver(&processor, &faults, &reprocess(&n1)).await;
    let kept = consumed(&rig.updates);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_every_change_reached_the_consumer(&rig, &optty_order());
    let owners: BTreeSet<String> = rig
        .states
        .changes(&optty_order().state_key())
        .into_iter()
        .map(|(_, owner)| owner)
        .collect();
    assert!(
        owners.iter().any(|o| o.contains("#reprocess#")),
        "{owners:?}"
    );
}

/// Defect 5. How many parts an update has is decided when its change is recorded: an order
/// that changes size between two attempts is re-sent in as many parts, and the consumer joins
/// one complete set.
#[tokio::test]
async fn the_split_of_an_update_is_decided_once_and_kept_with_its_change() {
    let count = 3_000;
    let world = || {
        let api = MemoryOrderApi::new();
        api.set(&voucher_order(801), vouchers(801, count, 80));
        Rig::new(api)
    };
    let body = delivered("evt_801", 801);
    let step = step_of(world, std::slice::from_ref(&body), "send", 0).await;
    let rig = world();
    let faults = Faults::at(step, FaultKind::Crash);
    let processor = rig.processor(&faults);
    faults.restart();
    let (_, outcome) = processor
        .process(&body, Instant::now() + Duration::from_secs(60))
        .await;
    assert!(faults.crashed(), "{outcome:?}");
    let first = rig.updates.messages();
    assert_eq!(first.len(), 1, "the first part only");
    // The order now fits in one message; the redelivery still sends the parts decided first.
    rig.api.set(&voucher_order(801), vouchers(801, count, 8));
    rig.clock.advance(VISIBILITY_TIMEOUT_SECS);
    faults.restart();
    let (_, outcome) = processor
        .process(&body, Instant::now() + Duration::from_secs(60))
        .await;
    assert!(!outcome.is_failure(), "{outcome:?}");
    let kept = consumed(&rig.updates);
    let parts: Vec<_> = kept.values().map(|u| u.part.clone().unwrap()).collect();
    let counts: BTreeSet<u32> = parts.iter().map(|p| p.count).collect();
    assert_eq!(counts.len(), 1, "{parts:?}");
    assert_eq!(kept.len() as u32, parts[0].count);
    let mut codes = BTreeSet::new();
    for update in kept.values() {
        for voucher in update.order.as_ref().unwrap()["vouchers"]
            .as_array()
            .unwrap()
        {
            let code = voucher["code"].as_str().unwrap();
            assert!(codes.insert(code[..7].to_string()), "{code} twice");
        }
    }
    assert_eq!(codes.len(), count);
}

/// Defect 7. An update too large to send even split fails before the state write, so the
/// change is not owned by a dead-lettered event: once the order can be sent, another event
/// reporting it publishes it.
#[tokio::test]
async fn an_update_too_large_fails_before_its_change_is_recorded() {
    let api = MemoryOrderApi::new();
    api.set(
        &voucher_order(901),
        json!({"id": 901, "status": "DELIVERED", "note": "x".repeat(300_000)}),
    );
    let rig = Rig::new(api);
    let faults = Faults::none();
    let processor = rig.processor(&faults);
    let delivered_once = rig
        .deliver(&processor, &faults, &delivered("evt_901", 901))
        .await;
    assert_eq!(delivered_once, Delivered::DeadLettered);
    assert!(
        rig.states
            .changes(&voucher_order(901).state_key())
            .is_empty()
    );
    rig.api.set(&voucher_order(901), vouchers(901, 2, 8));
    let later = rig
        .deliver(&processor, &faults, &delivered("evt_901_retry", 901))
        .await;
    assert!(matches!(later, Delivered::Acknowledged { .. }));
    assert_every_change_reached_the_consumer(&rig, &voucher_order(901));
}
