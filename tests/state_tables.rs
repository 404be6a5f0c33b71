//! Each provider's state table, tried on every ordered pair of its events: whatever order two
//! events arrive in, the order ends in the same state and the same changes are published; a
//! change that keeps its status (a capture after its authorisation, a second refund, an update,
//! a cancellation after installation) is published, not swallowed.

use hookline::message::QueueMessage;
use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::MemoryOrderApi;
use hookline::order_update::OrderUpdate;
use hookline::plan::Action;
use hookline::providers::Provider;
use hookline::providers::optty::parse_notification;
use hookline::providers::owlpay::parse_harbor_envelope;
use hookline_simulation::Faults;
use hookline_simulation::harness::{Rig, START};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn at(minute: i64) -> String {
    OffsetDateTime::from_unix_timestamp(START + minute * 60)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn message(provider: &str, id: &str, event_type: &str, body: Value) -> String {
    QueueMessage::new(
        provider,
        id,
        event_type,
        OffsetDateTime::from_unix_timestamp(START).unwrap(),
        body.to_string(),
    )
    .to_json()
}

fn octopus(id: &str, event_type: &str, minute: i64, data: Value) -> String {
    message(
        "octopus",
        id,
        event_type,
        json!({"id": id, "type": event_type, "created_at": at(minute), "data": data}),
    )
}

fn owlpay(uuid: &str, event_type: &str, minute: i64, data: Value) -> String {
    message(
        "owlpay",
        uuid,
        event_type,
        json!({"uuid": uuid, "event": event_type, "created_at": at(minute), "data": data}),
    )
}

fn coinme(id: &str, minute: i64, status: &str) -> String {
    message(
        "coinme",
        id,
        "CAAS",
        json!({"id": id, "type": "CAAS", "at": at(minute),
               "data": {"type": "BUY", "providerId": "828627387817136135", "transactionId": "tx-9",
                        "metadata": {"orderStatus": status, "blockchainData": null}, "errorData": null}}),
    )
}

/// Harbor's own shape: the transfer object in `data`, no top-level uuid or event name.
fn harbor_transfer(status: &str, minute: i64) -> String {
    let body = json!({"data": {"uuid": "transfer_1", "object": "transfer", "status": status,
                               "source": {"asset": "USDC", "amount": "10.00"},
                               "updated_at": at(minute)}})
    .to_string();
    let event = parse_harbor_envelope(body.as_bytes()).unwrap();
    QueueMessage::new(
        "owlpay-harbor",
        &event.event_id,
        &event.event_type,
        OffsetDateTime::from_unix_timestamp(START).unwrap(),
        body,
    )
    .to_json()
}

fn optty(notification: Value) -> String {
    let body = notification.to_string();
    let event = parse_notification(body.as_bytes()).unwrap();
    QueueMessage::new(
        "optty",
        &event.event_id,
        &event.event_type,
        OffsetDateTime::from_unix_timestamp(START).unwrap(),
        body,
    )
    .to_json()
}

fn api() -> MemoryOrderApi {
    let api = MemoryOrderApi::new();
    let order = |provider: &str, kind, id: &str| OrderRef {
        provider: provider.into(),
        kind,
        order_id: id.into(),
    };
    api.set(
        &order("octopus", OrderKind::Voucher, "500"),
        json!({"id": 500, "status": "DELIVERED", "vouchers": [{"code": "C-1", "pin": "1"}]}),
    );
    api.set(
        &order("octopus", OrderKind::Esim, "600"),
        json!({"id": 600, "status": "DELIVERED", "activation_code": "LPA:1$x$SECRET"}),
    );
    // The API says the payment succeeded and leaves capture and refunds to the notifications.
    api.set(
        &order("optty", OrderKind::Order, "ord-9"),
        json!({"status": "SUCCESSFUL", "amount": 10, "currency": "AUD", "captureStatus": ""}),
    );
    api
}

/// Each provider's events, ordered as they happen; the same order for every pair.
fn providers() -> Vec<(&'static str, Vec<String>)> {
    let voucher = |n| json!({"id": 500, "status": "PARTIALLY_DELIVERED", "quantity": 100, "delivered_quantity": n});
    let esim = json!({"id": 600, "status": "DELIVERED", "iccid": "8910"});
    let pi = |status: &str| json!({"payment_intent": {"uuid": "pi_1", "amount": "10", "currency": "TWD", "status": status}});
    let payout = |status: &str| json!({"order": {"uuid": "po_1", "amount": "5", "currency": "USD", "status": status}});
    let n = |extra: Value| {
        let mut base = json!({"event": "ORDER_STATUS_UPDATE", "status": "SUCCESSFUL", "transactionId": "txn-9", "orderReference": "ord-9"});
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        optty(base)
    };
    vec![
        (
            "octopus voucher",
            vec![
                // A poll stamped later saw less than a webhook stamped earlier: two clocks.
                octopus("evt_p40", "order.partially_delivered", 9, voucher(40)),
                octopus("evt_p87", "order.partially_delivered", 3, voucher(87)),
                octopus(
                    "evt_done",
                    "order.delivered",
                    12,
                    json!({"id": 500, "status": "DELIVERED", "quantity": 100, "delivered_quantity": 100}),
                ),
            ],
        ),
        (
            "octopus esim",
            vec![
                octopus("evt_e1", "esim.delivered", 1, esim.clone()),
                octopus("evt_e2", "esim.installed", 2, esim.clone()),
                octopus("evt_e3", "esim.activated", 3, esim.clone()),
                octopus("evt_e4", "esim.depleted", 4, esim.clone()),
                octopus("evt_e5", "esim.cancelled", 5, esim.clone()),
            ],
        ),
        (
            "octopus topup",
            vec![
                octopus(
                    "evt_t1",
                    "topup.delivered",
                    1,
                    json!({"id": 700, "status": "DELIVERED"}),
                ),
                octopus(
                    "evt_t2",
                    "topup.recharged",
                    2,
                    json!({"id": 700, "status": "RECHARGED"}),
                ),
            ],
        ),
        (
            "optty",
            vec![
                n(json!({"captureStatus": "AUTHORIZED"})),
                n(json!({"captureStatus": "CAPTURED", "captureReference": "cap-1"})),
                n(json!({"refundReference": "rf-1"})),
                n(json!({"refundReference": "rf-2"})),
            ],
        ),
        (
            "owlpay payment intent",
            vec![
                owlpay("u1", "payment_intent.authorized", 1, pi("authorized")),
                owlpay(
                    "u2",
                    "payment_intent.partial_captured",
                    2,
                    pi("partial_captured"),
                ),
                owlpay(
                    "u3",
                    "payment_intent.partial_captured",
                    3,
                    pi("partial_captured"),
                ),
                owlpay("u4", "payment_intent.captured", 4, pi("captured")),
                owlpay(
                    "u5",
                    "payment_intent.refund_created",
                    5,
                    pi("refund_created"),
                ),
                owlpay(
                    "u6",
                    "payment_intent.refund_created",
                    6,
                    pi("refund_created"),
                ),
                owlpay("u7", "payment_intent.refunded", 7, pi("refunded")),
                // OwlPay sends `refunded` after each partial refund: a change of its own.
                owlpay("u8", "payment_intent.refunded", 8, pi("refunded")),
            ],
        ),
        (
            "owlpay payout",
            vec![
                owlpay("o1", "order.received", 1, payout("received")),
                owlpay("o2", "order.updated", 2, payout("processing")),
                owlpay("o3", "order.updated", 3, payout("processing")),
                owlpay("o4", "order.payout.succeed", 4, payout("succeed")),
            ],
        ),
        (
            "coinme transaction",
            vec![coinme("c1", 1, "PENDING"), coinme("c2", 2, "COMPLETED")],
        ),
        (
            "owlpay harbor transfer",
            vec![
                harbor_transfer("pending_customer_transfer_start", 1),
                harbor_transfer("pending_harbor", 2),
                harbor_transfer("completed", 3),
            ],
        ),
    ]
}

/// Processes `bodies` in order; the final states and the published updates.
async fn run(bodies: &[&String]) -> (Vec<String>, Vec<OrderUpdate>) {
    let rig = Rig::new(api());
    let faults = Faults::none();
    let processor = rig.processor(&faults);
    for body in bodies {
        rig.deliver(&processor, &faults, body).await;
    }
    let end = rig.end_state();
    let states = end
        .states
        .iter()
        .map(|s| format!("{} {}", s.order.state_key(), s.change_key()))
        .collect();
    let updates = rig
        .updates
        .messages()
        .iter()
        .map(|m| serde_json::from_str(&m.message.body).unwrap())
        .collect();
    (states, updates)
}

fn ids(updates: &[OrderUpdate]) -> Vec<String> {
    let mut ids: Vec<String> = updates.iter().map(|u| u.event_id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn every_ordered_pair_ends_the_same_and_publishes_every_change_once() {
    let mut pairs = 0;
    for (provider, events) in providers() {
        for (i, a) in events.iter().enumerate() {
            for (j, b) in events.iter().enumerate() {
                if i >= j {
                    continue;
                }
                let (in_order, published) = run(&[a, b]).await;
                let (reversed, published_reversed) = run(&[b, a]).await;
                pairs += 2;
                assert_eq!(
                    in_order, reversed,
                    "{provider}: events {i} and {j} end differently by arrival order"
                );
                assert_eq!(
                    ids(&published),
                    ids(&published_reversed),
                    "{provider}: events {i} and {j} publish differently by arrival order"
                );
                assert_eq!(
                    published.len(),
                    2,
                    "{provider}: events {i} and {j} are two changes, each published once"
                );
                // The later change is the current one, whichever arrived last.
                let current: Vec<&OrderUpdate> =
                    published_reversed.iter().filter(|u| u.current).collect();
                assert!(!current.is_empty(), "{provider}: {i},{j}");
            }
        }
        // All of them, in order and reversed: one update per event, the same end.
        let all: Vec<&String> = events.iter().collect();
        let reversed: Vec<&String> = events.iter().rev().collect();
        let (end, published) = run(&all).await;
        let (end_reversed, published_reversed) = run(&reversed).await;
        assert_eq!(end, end_reversed, "{provider}");
        assert_eq!(published.len(), events.len(), "{provider}");
        assert_eq!(ids(&published), ids(&published_reversed), "{provider}");
    }
    hookline_tests::report_figure(
        "state-tables",
        &format!(
            "state tables: {pairs} ordered pairs of events, each ending the same either way, every change published once"
        ),
    );
}

#[tokio::test]
async fn the_final_states_follow_the_state_tables() {
    let finals: Vec<(&str, &str)> = vec![
        ("octopus voucher", "ORDER#octopus#voucher#500 DELIVERED"),
        // "Always terminal": a cancellation outranks every lifecycle event.
        ("octopus esim", "ORDER#octopus#esim#600 CANCELLED"),
        ("octopus topup", "ORDER#octopus#topup#700 RECHARGED"),
        ("optty", "ORDER#optty#order#ord-9 SUCCESSFUL#rf-2"),
        (
            "owlpay payment intent",
            "ORDER#owlpay#payment_intent#pi_1 REFUNDED#u8",
        ),
        ("owlpay payout", "ORDER#owlpay#order#po_1 PAYOUT_SUCCEEDED"),
        (
            "coinme transaction",
            "ORDER#coinme#transaction#tx-9 COMPLETED",
        ),
        (
            "owlpay harbor transfer",
            "ORDER#owlpay-harbor#transfer#transfer_1 COMPLETED",
        ),
    ];
    let tables: Vec<&str> = providers().iter().map(|(name, _)| *name).collect();
    let named: Vec<&str> = finals.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        tables, named,
        "one final state per table, in the same order"
    );
    for ((provider, events), (_, expected)) in providers().into_iter().zip(finals) {
        let reversed: Vec<&String> = events.iter().rev().collect();
        let (end, _) = run(&reversed).await;
        assert_eq!(end, vec![expected.to_string()], "{provider}");
    }
}

#[tokio::test]
async fn a_bigger_partial_delivery_wins_over_a_later_timestamp() {
    // Regression (two clocks): 87 delivered, stamped 10:03 by the provider; 40 delivered seen
    // by a poll stamped 10:09 by hookline. The order has 87 delivered.
    let events = &providers()[0].1;
    let (end, published) = run(&[&events[1], &events[0]]).await;
    assert_eq!(
        end,
        vec!["ORDER#octopus#voucher#500 PARTIALLY_DELIVERED#87".to_string()]
    );
    let late = published.iter().find(|u| u.event_id == "evt_p40").unwrap();
    assert!(
        !late.current,
        "the smaller delivery is published as a late report"
    );
}

/// A provider of the registry whose events record order state has a table above: its processor
/// samples (`events/processor/{route}.json`) are planned, and any that records a state or
/// confirms one with the provider's API fails this until the provider's table is added.
#[test]
fn every_provider_whose_events_record_state_has_a_table() {
    let tabled: Vec<&str> = providers()
        .iter()
        .filter_map(|(name, _)| name.split(' ').next())
        .collect();
    for provider in Provider::ALL {
        let spec = provider.spec();
        if tabled.contains(&spec.name) {
            continue;
        }
        for route in spec.routes {
            let path = hookline_tests::events_dir().join(format!("processor/{}.json", route.name));
            let batch: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for record in batch["Records"].as_array().unwrap() {
                let message = QueueMessage::from_json(record["body"].as_str().unwrap()).unwrap();
                let records = hookline::providers::plan(&message).is_ok_and(|plan| {
                    matches!(plan.action, Action::Record { .. } | Action::Confirm { .. })
                });
                assert!(
                    !records,
                    "{}: {} records order state; add {}'s state table to this file",
                    route.name, message.event_type, spec.name
                );
            }
        }
    }
}
