//! The archive under every fault: one batch of every Octopus sample through
//! `process_archived_batch`, with one fault injected at each call the batch makes (the archive
//! write included), of each kind (fails before its effect; takes effect and its answer is lost;
//! the process dies right there), then the failed records (or, after a death, the whole batch)
//! redelivered as SQS would. The end state must be the fault-free run's, and the archive must
//! hold every event exactly as the fault-free run's does (a copy kept twice is read once).

use std::path::PathBuf;
use std::sync::Arc;

use hookline::archive::{ArchiveQuery, ArchiveStore, FolderArchive, search};
use hookline::message::QueueMessage;
use hookline::processor::{BatchRecord, ProcessError, RecordOutcome, process_archived_batch};
use hookline_simulation::harness::{EndState, Rig, START};
use hookline_simulation::{FaultKind, Faults, Faulty};
use hookline_tests::{octopus_messages, sample_api, unique_name};
use time::OffsetDateTime;
use tokio::time::Instant;

/// What the archive holds: each entry once, as (event id, body).
async fn archived(store: &ArchiveStore) -> Vec<(String, String)> {
    let query = ArchiveQuery {
        provider: None,
        since: OffsetDateTime::UNIX_EPOCH,
        until: OffsetDateTime::from_unix_timestamp(START + 3600).unwrap(),
        event_type: None,
        event_id: None,
        order_id: None,
        unknown_only: false,
    };
    let mut entries: Vec<_> = search(store, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|found| (found.entry.event_id, found.entry.body))
        .collect();
    entries.sort();
    entries
}

/// Delivers the batch as SQS would until every record is acknowledged (at most 10 receives).
async fn run(bodies: &[String], faults: &Faults) -> (EndState, Vec<(String, String)>, PathBuf) {
    let rig = Rig::new(sample_api());
    let mut processor = rig.processor(faults);
    // One record at a time: the calls, and so the fault's step, are the same in every run.
    processor.config.concurrency = 1;
    let dir = std::env::temp_dir().join(unique_name("archive-faults"));
    let folder = ArchiveStore::Folder(FolderArchive::new(&dir));
    let archive = hookline::archive::Archive::with_test_key(ArchiveStore::Other(Arc::new(
        Faulty::new(folder.clone(), faults),
    )));
    let mut pending: Vec<BatchRecord> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| BatchRecord {
            message_id: format!("m{n}"),
            body: Some(body.clone()),
        })
        .collect();
    for _ in 0..10 {
        if pending.is_empty() {
            break;
        }
        faults.restart();
        let results = process_archived_batch(
            &processor,
            Some(&archive),
            pending.clone(),
            Instant::now() + std::time::Duration::from_secs(30),
        )
        .await;
        for result in &results {
            if let RecordOutcome::Failed(ProcessError::Archive(_)) = &result.outcome {
                // Counted as the provider's failure, not an unknown one's.
                assert_eq!(result.provider.as_deref(), Some("octopus"));
            }
        }
        let died = faults.crashed();
        // A dead invocation reports nothing: SQS delivers the whole batch again.
        pending.retain(|record| {
            died || results
                .iter()
                .any(|r| r.message_id == record.message_id && r.outcome.is_failure())
        });
        rig.clock
            .advance(hookline_simulation::harness::VISIBILITY_TIMEOUT_SECS);
    }
    assert!(pending.is_empty(), "records left after 10 receives");
    let entries = archived(&folder).await;
    (rig.end_state(), entries, dir)
}

#[tokio::test]
async fn every_fault_at_every_call_of_an_archived_batch_ends_as_the_fault_free_run() {
    let bodies = octopus_messages();
    let clean = Faults::none();
    let (expected, expected_archive, _) = run(&bodies, &clean).await;
    assert_eq!(expected_archive.len(), {
        let mut ids: Vec<_> = bodies
            .iter()
            .map(|b| QueueMessage::from_json(b).unwrap().event_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    });
    let names = clean.call_names();
    assert_eq!(
        names[0], "archive.put",
        "the batch is archived before anything else"
    );
    let mut cases = 0;
    let mut violations = Vec::new();
    for step in 0..clean.calls() {
        for kind in FaultKind::ALL {
            let faults = Faults::at(step, kind);
            let (got, archive, dir) = run(&bodies, &faults).await;
            assert_eq!(faults.injected(), 1, "one fault injected");
            cases += 1;
            let at = format!(
                "{} at call {step} ({})",
                kind.as_str(),
                names[step as usize]
            );
            violations.extend(
                got.violations(&expected)
                    .into_iter()
                    .map(|v| format!("{at}: {v}")),
            );
            if archive != expected_archive {
                violations.push(format!(
                    "{at}: the archive differs from the fault-free run's"
                ));
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    hookline_tests::report_figure(
        "archive_crash_points",
        &format!(
            "archived batch: {cases} faults injected, one per call and kind: {} violations",
            violations.len()
        ),
    );
    assert!(violations.is_empty(), "{violations:#?}");
}
