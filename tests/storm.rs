//! The short storm (`hookline storm` runs the full one): a seeded, randomised run of webhooks,
//! their duplicates and the poller through one processor, every port failing 2 % of its calls,
//! compared with the fault-free run. A seed that ever fails is added to `REGRESSION_SEEDS`.

use hookline_simulation::storm::{StormConfig, storm};

/// Seeds that once found a violation; each stays a test.
const REGRESSION_SEEDS: &[u64] = &[];

#[tokio::test]
async fn short_storms_lose_nothing_and_publish_each_change_under_one_id() {
    let seeds: Vec<u64> = [1, 2, 3]
        .into_iter()
        .chain(REGRESSION_SEEDS.iter().copied())
        .collect();
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for seed in seeds {
        let report = storm(&StormConfig::short(seed)).await;
        lines.push(report.summary());
        assert!(
            report.faults_injected > 0 && report.crashes > 0,
            "{report:?}"
        );
        assert!(report.updates > 0);
        if !report.violations.is_empty() {
            failures.push(format!(
                "seed {seed} (rerun: hookline storm --seed {seed}):\n  {}",
                report.violations.join("\n  ")
            ));
        }
    }
    hookline_tests::report_figure("storm", &lines.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_storm_is_reproducible_from_its_seed() {
    let a = storm(&StormConfig::short(11)).await;
    let b = storm(&StormConfig::short(11)).await;
    assert_eq!(a.summary(), b.summary());
    assert_eq!(a.violations, b.violations);
}

/// The FIFO window and the real timings: a copy published by a redelivery comes after the
/// ingest queue's 360-second visibility timeout, past SQS's five-minute window, and reaches the
/// consumer, which drops it by `update_id`. Counted per million updates at the storm's fault
/// rates, with a refused send tried again at once (the copy it makes falls in the window) and
/// without. Runs with and without draw different faults, so the two figures are not a paired
/// comparison: averaged over enough seeds they show the cut (`STORM_COPY_SEEDS=16`, docs/src/reliability.md), and
/// `tests/exactly_once.rs` shows it call by call.
#[tokio::test]
async fn copies_a_consumer_receives_are_counted_per_million_updates() {
    let seeds: u64 = std::env::var("STORM_COPY_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let (mut once, mut retried, mut dropped) = (0.0, 0.0, 0);
    for seed in 1..=seeds {
        let without = storm(&StormConfig {
            publish_attempts: 1,
            ..StormConfig::short(seed)
        })
        .await;
        let with = storm(&StormConfig::short(seed)).await;
        assert!(without.violations.is_empty() && with.violations.is_empty());
        once += without.copies_per_million();
        retried += with.copies_per_million();
        dropped += with.dropped_in_window;
    }
    assert!(dropped > 0, "the FIFO window dropped no copy");
    hookline_tests::report_figure(
        "storm-copies",
        &format!(
            "copies a consumer receives per million updates, short storms at 2 % of calls failing (seeds 1-{seeds}, mean): {:.0} with a refused publish tried again at once ({dropped} copies dropped in the FIFO window), {:.0} when it waits for the redelivery; nearly all from invocations that die between publishing and completing",
            retried / seeds as f64,
            once / seeds as f64
        ),
    );
}
