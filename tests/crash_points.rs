//! Exactly once at every crash point: every sample event of every provider, with one fault
//! injected at each call the processing makes, of each kind (the call fails before its effect;
//! the effect happens and its answer is lost; the process dies right there), then redelivered as
//! SQS would until acknowledged or dead-lettered. The end state must equal the fault-free run's:
//! the same order states and recorded changes, the same order updates (a repeat only under the
//! same deduplication id and saying the same), the same watches, the same dead letters.

use std::path::Path;

use hookline::faults::harness::{Delivered, EndState, Rig};
use hookline::faults::{FaultKind, Faults};
use hookline::message::QueueMessage;
use hookline::order::{OrderKind, OrderRef};
use hookline::order_api::{MemoryOrderApi, unwrap_order};
use hookline_tests::events_dir;
use time::OffsetDateTime;

/// The provider API as `events/provider-api/` describes it.
fn sample_api() -> MemoryOrderApi {
    let api = MemoryOrderApi::new();
    let dir = events_dir().join("provider-api");
    for (folder, provider, kind) in [
        ("orders", "octopus", OrderKind::Voucher),
        ("esim-orders", "octopus", OrderKind::Esim),
        ("optty-orders", "optty", OrderKind::Order),
    ] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|id| !id.contains('.')) else {
                continue;
            };
            let order = unwrap_order(&std::fs::read(&path).unwrap()).unwrap();
            let order_ref = OrderRef {
                provider: provider.into(),
                kind,
                order_id: id.into(),
            };
            api.set(&order_ref, order);
        }
    }
    api
}

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

/// Every Octopus sample payload as the receiver would enqueue it.
fn octopus_payloads() -> Vec<String> {
    let dir = events_dir().join("payloads").join("octopus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let body = std::fs::read_to_string(path).unwrap();
            let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
            QueueMessage::new(
                "octopus",
                envelope["id"].as_str().unwrap(),
                envelope["type"].as_str().unwrap(),
                OffsetDateTime::from_unix_timestamp(hookline::faults::harness::START).unwrap(),
                body,
            )
            .to_json()
        })
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
    sequences.push(("payloads/octopus/*".into(), octopus_payloads()));
    sequences
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
    println!(
        "crash-point matrix: {} sequences, {cases} cases (steps x 3 kinds), {} violations, {repeats} repeated copies under their deduplication id",
        sequences.len(),
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
