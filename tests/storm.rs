//! The short storm (`hookline storm` runs the full one): a seeded, randomised run of webhooks,
//! their duplicates and the poller through one processor, every port failing 2 % of its calls,
//! compared with the fault-free run. A seed that ever fails is added to `REGRESSION_SEEDS`.

use hookline::faults::storm::{StormConfig, storm};

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
