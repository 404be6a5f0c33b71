//! Exactly once at every crash point: every sample event of every provider, with one fault
//! injected at each call the processing makes, of each kind (the call fails before its effect;
//! the effect happens and its answer is lost; the process dies right there), then redelivered as
//! SQS would until acknowledged or dead-lettered. The end state must equal the fault-free run's:
//! the same order states and recorded changes, the same order updates (a repeat only under the
//! same deduplication id and saying the same), the same watches, the same dead letters.

use std::path::Path;

use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::MemoryOrderApi;
use hookline_simulation::harness::{Delivered, EndState, Rig};
use hookline_simulation::{FaultKind, Faults};
use hookline_tests::{events_dir, octopus_messages, sample_api};

/// The records of an SQS sample event.
fn sqs_records(path: &Path) -> Vec<String> {
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_string())
        .collect()
}

/// The sequences the matrix runs: each SQS sample of `events/processor/`, every Octopus payload,
/// and each of those delivered twice (a provider's retry after success).
fn sequences() -> Vec<(String, Vec<String>)> {
    let dir = events_dir().join("processor");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut sequences: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (format!("processor/{name}"), sqs_records(path))
        })
        .collect();
    sequences.push(("payloads/octopus/*".into(), octopus_messages()));
    // Reprocess (`hookline replay --reprocess`): each sample processed, then reprocessed.
    for name in ["optty.json", "order-delivered.json", "owlpay.json"] {
        let bodies = sqs_records(&dir.join(name));
        let mut sequence = bodies.clone();
        sequence.extend(bodies.iter().map(|body| reprocess(body)));
        sequences.push((format!("reprocess processor/{name}"), sequence));
    }
    sequences
}

/// `body` as `hookline replay --reprocess` sends it.
fn reprocess(body: &str) -> String {
    let mut message = hookline::message::QueueMessage::from_json(body).unwrap();
    message.replay = Some(hookline::message::ReplayMark {
        id: "replay-1".into(),
        reprocess: true,
        known_at_first: true,
    });
    message.to_json()
}

/// Runs `bodies` one after another, each until done, then each once more, under `faults`.
async fn run(bodies: &[String], faults: &Faults) -> (EndState, Vec<Delivered>) {
    let rig = Rig::new(sample_api());
    let processor = rig.processor(faults);
    let mut delivered = Vec::new();
    for body in bodies.iter().chain(bodies.iter()) {
        delivered.push(rig.deliver(&processor, faults, body).await);
    }
    (rig.end_state(), delivered)
}

#[tokio::test]
async fn every_fault_at_every_call_of_every_sample_ends_as_the_fault_free_run() {
    let mut cases = 0;
    let mut violations = Vec::new();
    let mut repeats = 0;
    let sequences = sequences();
    for (name, bodies) in &sequences {
        let clean = Faults::none();
        let (expected, _) = run(bodies, &clean).await;
        assert!(
            !expected.updates.is_empty() || name.contains("std"),
            "{name}: the fault-free run publishes"
        );
        let steps = clean.calls();
        for step in 0..steps {
            for kind in FaultKind::ALL {
                let faults = Faults::at(step, kind);
                let (got, _) = run(bodies, &faults).await;
                assert_eq!(faults.injected(), 1, "{name}: one fault injected");
                cases += 1;
                repeats += got.repeated_copies();
                for violation in got.violations(&expected) {
                    let call = clean.call_names()[step as usize];
                    violations.push(format!(
                        "{name}: {} at step {step} ({call}): {violation}",
                        kind.as_str()
                    ));
                }
            }
        }
    }
    hookline_tests::report_figure(
        "crash-points",
        &format!(
            "crash-point matrix, every sample of every provider: {} sequences, {cases} cases (calls x 3 kinds), {} violations, {repeats} repeated copies under their deduplication id",
            sequences.len(),
            violations.len()
        ),
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The DynamoDB and SQS code paths under the same faults: a partial delivery (fetch, state,
/// watch, publish, complete) on moto, every call failed each way, compared with the fault-free
/// run on moto.
mod on_moto {
    use super::*;
    use hookline::clock::Clock;
    use hookline::idempotency::DynamoEventStore;
    use hookline::order_state::DynamoOrderStateStore;
    use hookline::order_update::OrderUpdate;
    use hookline::processor::{Processor, ProcessorConfig};
    use hookline::queue::SqsQueue;
    use hookline::watch::DynamoWatchStore;
    use hookline_simulation::Faulty;
    use hookline_simulation::harness::{Delivered, START, deliver};
    use hookline_tests::{create_fifo_queue, create_table, drain_queue, moto};

    const ORDER: u64 = 12346;

    /// What a run leaves on moto: the order item's state and changes, whether the order is
    /// watched, and the order updates in the FIFO queue (what each says).
    #[derive(Debug, PartialEq)]
    struct MotoEnd {
        order: Vec<(String, String)>,
        watched: bool,
        updates: Vec<String>,
        delivered: Delivered,
    }

    async fn run(faults: &Faults) -> MotoEnd {
        let sqs = moto().sqs().await;
        let dynamodb = moto().dynamodb().await;
        let table = create_table(&dynamodb).await;
        let updates_url = create_fifo_queue(&sqs, "crash-updates").await;
        let clock = Clock::manual(START);
        let processor = Processor {
            events: Faulty::new(DynamoEventStore::new(dynamodb.clone(), &table), faults),
            states: Faulty::new(DynamoOrderStateStore::new(dynamodb.clone(), &table), faults),
            api: Faulty::new(sample_api(), faults),
            updates: Faulty::new(SqsQueue::new(sqs.clone(), &updates_url), faults),
            credentials: None,
            watches: Faulty::new(DynamoWatchStore::new(dynamodb.clone(), &table), faults),
            config: ProcessorConfig {
                clock: clock.clone(),
                ..ProcessorConfig::default()
            },
        };
        let body = octopus_messages()
            .into_iter()
            .find(|b| b.contains("order.partially_delivered"))
            .unwrap();
        let delivered = deliver(&processor, faults, &clock, &body).await;
        // A provider's retry after success is a duplicate, publishing nothing more.
        let again = deliver(&processor, faults, &clock, &body).await;
        assert!(matches!(again, Delivered::Acknowledged { .. }));
        let item = |pk: String| {
            let dynamodb = dynamodb.clone();
            let table = table.clone();
            async move {
                dynamodb
                    .get_item()
                    .table_name(table)
                    .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap()
                    .item
            }
        };
        let order = item(format!("ORDER#octopus#voucher#{ORDER}"))
            .await
            .map(|item| {
                let mut fields: Vec<(String, String)> =
                    ["status", "change_key", "changes", "last_event_id"]
                        .iter()
                        .filter_map(|name| Some((name.to_string(), canonical(item.get(*name)?))))
                        .collect();
                fields.sort();
                fields
            })
            .unwrap_or_default();
        let watched = item(format!("WATCH#octopus#voucher#{ORDER}"))
            .await
            .is_some();
        let mut updates: Vec<String> = drain_queue(&sqs, &updates_url)
            .await
            .iter()
            .map(|body| {
                let mut update: OrderUpdate = serde_json::from_str(body).unwrap();
                update.current = true;
                serde_json::to_string(&update).unwrap()
            })
            .collect();
        updates.sort();
        MotoEnd {
            order,
            watched,
            updates,
            delivered,
        }
    }

    /// An attribute as text, its maps in key order (a map's `Debug` order is random).
    fn canonical(value: &aws_sdk_dynamodb::types::AttributeValue) -> String {
        use aws_sdk_dynamodb::types::AttributeValue;
        match value {
            AttributeValue::M(map) => {
                let sorted: std::collections::BTreeMap<_, _> =
                    map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
                format!("{sorted:?}")
            }
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn every_fault_at_every_call_of_a_partial_delivery_on_moto() {
        let clean = Faults::none();
        let expected = run(&clean).await;
        assert!(
            expected.watched && expected.updates.len() == 1,
            "{expected:?}"
        );
        let names = clean.call_names();
        // The calls of the first delivery: the retry after success only claims.
        let steps = names.iter().position(|n| *n == "complete").unwrap() as u64 + 1;
        let mut cases = 0;
        let mut violations = Vec::new();
        for step in 0..steps {
            for kind in FaultKind::ALL {
                let faults = Faults::at(step, kind);
                let got = run(&faults).await;
                cases += 1;
                if got.order != expected.order
                    || got.watched != expected.watched
                    || got.updates != expected.updates
                    || matches!(got.delivered, Delivered::DeadLettered)
                {
                    violations.push(format!(
                        "{} at {} ({step}): {got:?}",
                        kind.as_str(),
                        names[step as usize]
                    ));
                }
            }
        }
        hookline_tests::report_figure(
            "crash-points-moto",
            &format!(
                "crash-point matrix on moto (DynamoDB, SQS): {cases} cases ({steps} calls x 3 kinds: {}), {} violations",
                names[..steps as usize].join(", "),
                violations.len()
            ),
        );
        assert!(violations.is_empty(), "{}", violations.join("\n"));
    }
}

/// The poller's runs under the same faults: a voucher order partially delivered by webhook (the
/// processor registers its watch) and an eSIM order registered by a client, both followed by
/// polling as the provider's answers move on, every polled change processed. One fault at each
/// call of the whole scenario, poller and processor alike, each way.
mod poller_runs {
    use super::*;
    use hookline::poller::{Poller, PollerConfig};
    use hookline::queue::MemoryQueue;
    use hookline::watch::{Watch, WatchStore};
    use hookline_simulation::Faulty;
    use hookline_simulation::harness::START;
    use serde_json::json;
    use std::time::Duration;
    use tokio::time::Instant;

    fn voucher() -> OrderRef {
        OrderRef {
            provider: "octopus".into(),
            kind: OrderKind::Voucher,
            order_id: "12346".into(),
        }
    }

    fn esim() -> OrderRef {
        OrderRef {
            provider: "octopus".into(),
            kind: OrderKind::Esim,
            order_id: "9302490".into(),
        }
    }

    /// What the provider answers in round `round` (one round a simulated minute).
    fn answers(api: &MemoryOrderApi, round: u32) {
        let esim_answer = |status: &str, installed: bool, activation: &str| {
            json!({"id": 9302490, "status": status, "iccid": "8910", "is_installed": installed,
                   "activation_status": activation, "activation_code": "LPA:1$x$SECRET"})
        };
        api.set(
            &esim(),
            match round {
                0 => esim_answer("PENDING", false, "NOT_INSTALLED"),
                1 | 2 => esim_answer("DELIVERED", false, "NOT_INSTALLED"),
                3 => esim_answer("DELIVERED", true, "INSTALLED"),
                _ => esim_answer("DELIVERED", true, "ACTIVE"),
            },
        );
        let status = if round < 2 {
            "PARTIALLY_DELIVERED"
        } else {
            "DELIVERED"
        };
        let delivered = if round < 2 { 87 } else { 100 };
        api.set(
            &voucher(),
            json!({"id": 12346, "status": status, "quantity": 100, "delivered_quantity": delivered,
                   "vouchers": [{"code": "SECRET-1", "pin": "1"}]}),
        );
    }

    async fn run(faults: &Faults) -> EndState {
        let api = sample_api();
        answers(&api, 0);
        let rig = Rig::new(api.clone());
        let processor = rig.processor(faults);
        let ingest = MemoryQueue::new();
        let poller = Poller {
            watches: Faulty::new(rig.watches.clone(), faults),
            api: Faulty::new(api.clone(), faults),
            ingest: Faulty::new(ingest.clone(), faults),
            config: PollerConfig {
                clock: rig.clock.clone(),
                ..PollerConfig::default()
            },
        };
        // A client registers the eSIM order (outside the faults: its own call, retried by it).
        rig.watches
            .register(&Watch::new(esim(), None, START, 86_400))
            .await
            .unwrap();
        let partial = octopus_messages()
            .into_iter()
            .find(|b| b.contains("order.partially_delivered"))
            .unwrap();
        rig.deliver(&processor, faults, &partial).await;
        for round in 0..40 {
            answers(&api, round);
            faults.restart();
            let now = rig.clock.now_unix();
            let _ = poller
                .poll_due(now, Instant::now() + Duration::from_secs(50))
                .await;
            faults.restart();
            for message in ingest.take(usize::MAX) {
                rig.deliver(&processor, faults, &message.message.body).await;
            }
            rig.clock.advance(60);
        }
        rig.end_state()
    }

    #[tokio::test]
    async fn every_fault_at_every_call_of_polled_orders_ends_as_the_fault_free_run() {
        let clean = Faults::none();
        let expected = run(&clean).await;
        assert_eq!(
            expected
                .watches
                .iter()
                .filter(|(_, ended)| ended.is_some())
                .count(),
            2,
            "both watches settle: {:?}",
            expected.watches
        );
        assert!(expected.updates.len() >= 5, "{:?}", expected.updates.keys());
        let steps = clean.calls();
        let names = clean.call_names();
        let mut violations = Vec::new();
        let mut cases = 0;
        for step in 0..steps {
            for kind in FaultKind::ALL {
                let got = run(&Faults::at(step, kind)).await;
                cases += 1;
                for violation in got.violations(&expected) {
                    violations.push(format!(
                        "{} at step {step} ({}): {violation}",
                        kind.as_str(),
                        names[step as usize]
                    ));
                }
                let ended = |s: &EndState| s.watches.clone();
                if ended(&got) != ended(&expected) {
                    violations.push(format!(
                        "{} at step {step}: watches end {:?}, expected {:?}",
                        kind.as_str(),
                        got.watches,
                        expected.watches
                    ));
                }
            }
        }
        hookline_tests::report_figure(
            "crash-points-poller",
            &format!(
                "crash-point matrix of the poller's runs: {cases} cases ({steps} calls x 3 kinds), {} violations",
                violations.len()
            ),
        );
        assert!(violations.is_empty(), "{}", violations.join("\n"));
    }
}

/// The wallet transactions poll and the processor under the same faults: new transactions,
/// one pending then completed, one failed, polled round after round, every movement processed.
/// One fault at each call of the whole scenario (page reads, cursor reads and moves, sends,
/// and the processor's calls), each way.
mod transactions_runs {
    use super::*;
    use hookline::cursor::MemoryCursorStore;
    use hookline::order_api::FetchError;
    use hookline::poller::transactions::{TransactionsApi, TransactionsPoller};
    use hookline::queue::MemoryQueue;
    use hookline_simulation::Faulty;
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::time::Instant;

    /// The wallet's transactions, newest first, one page.
    #[derive(Clone, Default)]
    struct Listed(Arc<Mutex<Vec<Value>>>);

    impl TransactionsApi for Listed {
        async fn page(
            &self,
            _wallet: u64,
            _page: u32,
            _deadline: Instant,
        ) -> Result<(Vec<Value>, bool), FetchError> {
            Ok((self.0.lock().unwrap().clone(), false))
        }
    }

    fn transaction(id: i64, kind: &str, status: &str) -> Value {
        json!({"id": id, "wallet_id": 1, "currency_id": 1, "amount": 10.0 * id as f64,
               "transaction_type": kind, "status": status, "remarks": format!("txn {id}"),
               "created_at": "2026-11-22T10:00:00Z"})
    }

    /// What the API lists in round `round`: 99 is still PENDING at the first poll.
    fn listing(round: u32) -> Vec<Value> {
        let mut listed = vec![
            transaction(
                99,
                "CREDIT",
                if round >= 1 { "COMPLETED" } else { "PENDING" },
            ),
            transaction(100, "DEBIT", "COMPLETED"),
        ];
        if round >= 1 {
            listed.push(transaction(101, "CREDIT", "COMPLETED"));
            listed.push(transaction(102, "DEBIT", "FAILED"));
            listed.push(transaction(
                103,
                "CREDIT",
                if round >= 2 { "COMPLETED" } else { "PENDING" },
            ));
        }
        if round >= 3 {
            listed.push(transaction(104, "DEBIT", "COMPLETED"));
        }
        listed.reverse();
        listed
    }

    async fn run(faults: &Faults) -> EndState {
        let rig = Rig::new(sample_api());
        let processor = rig.processor(faults);
        let listed = Listed::default();
        let ingest = MemoryQueue::new();
        let cursors = MemoryCursorStore::new();
        let poller = |faults: &Faults| TransactionsPoller {
            cursors: Faulty::new(cursors.clone(), faults),
            api: Faulty::new(listed.clone(), faults),
            ingest: Faulty::new(ingest.clone(), faults),
            wallets: vec![1],
            max_pages: 10,
            clock: rig.clock.clone(),
        };
        // The first successful poll sets where the wallet's polling starts (history is not
        // replayed; a failed first poll only moves that start): it runs without faults, and
        // the guarantee holds from there.
        *listed.0.lock().unwrap() = listing(0);
        let first = poller(&Faults::none())
            .run(Instant::now() + Duration::from_secs(30))
            .await;
        assert_eq!((first.failed, first.movements), (0, 0));
        let poller = poller(faults);
        // Rounds 5 and 6 change nothing: a fault in the last change still gets runs after it.
        for round in 1..7 {
            *listed.0.lock().unwrap() = listing(round);
            faults.restart();
            poller.run(Instant::now() + Duration::from_secs(30)).await;
            for queued in ingest.take(usize::MAX) {
                rig.deliver(&processor, faults, &queued.message.body).await;
            }
            rig.clock.advance(60);
        }
        rig.end_state()
    }

    #[tokio::test]
    async fn every_fault_at_every_call_of_wallet_polling_ends_as_the_fault_free_run() {
        let clean = Faults::none();
        let expected = run(&clean).await;
        // 99 (PENDING at the first poll, then completed), 101, 103 (once completed) and 104:
        // each recorded and published once. 100 completed before polling began but above 99,
        // where the first poll put the cursor: reported once too.
        assert_eq!(expected.wallet_movements, 5, "{expected:?}");
        assert_eq!(expected.updates.len(), 5, "{expected:?}");
        let names = clean.call_names();
        let mut cases = 0;
        let mut violations = Vec::new();
        for step in 0..clean.calls() {
            for kind in FaultKind::ALL {
                let faults = Faults::at(step, kind);
                let got = run(&faults).await;
                assert_eq!(faults.injected(), 1);
                cases += 1;
                for violation in got.violations(&expected) {
                    violations.push(format!(
                        "{} at call {step} ({}): {violation}",
                        kind.as_str(),
                        names[step as usize]
                    ));
                }
            }
        }
        hookline_tests::report_figure(
            "crash-points-transactions",
            &format!(
                "wallet transactions polling: {cases} cases ({} calls x 3 kinds), {} violations",
                clean.calls(),
                violations.len()
            ),
        );
        assert!(violations.is_empty(), "{}", violations.join("\n"));
    }
}
