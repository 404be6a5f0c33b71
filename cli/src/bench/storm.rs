//! `hookline storm`: the seeded failure storm (webhooks, duplicates and the poller through one
//! processor, every port failing at random) compared with the fault-free run. `--full` is the
//! bench's size: 10,000 deliveries over 500 orders. Exits non-zero on any violation; the seed
//! reproduces it.

use clap::Args;
use hookline_simulation::storm::{StormConfig, storm};
use tracing::instrument::WithSubscriber;

#[derive(Args)]
pub struct StormArgs {
    /// Seeds to run, one storm each.
    #[arg(long, num_args = 1.., default_values_t = [1u64])]
    seed: Vec<u64>,
    /// The full storm (500 orders, 10,000 deliveries) instead of CI's short one.
    #[arg(long)]
    full: bool,
    /// Share of port calls that fail.
    #[arg(long)]
    fault_rate: Option<f64>,
}

pub async fn run(args: StormArgs) -> Result<(), crate::failure::Failure> {
    let mut failed = Vec::new();
    for seed in args.seed {
        let mut config = if args.full {
            StormConfig::full(seed)
        } else {
            StormConfig::short(seed)
        };
        if let Some(rate) = args.fault_rate {
            config.fault_rate = rate;
        }
        // The processor logs every decision: thousands of lines that say nothing here.
        let report = storm(&config)
            .with_subscriber(tracing::subscriber::NoSubscriber::default())
            .await;
        println!("{}", report.summary());
        for violation in &report.violations {
            println!("  {violation}");
        }
        if !report.violations.is_empty() {
            failed.push(seed);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(crate::failure::Failure::CheckFailed(format!(
            "violations with seed(s) {failed:?}"
        )))
    }
}
