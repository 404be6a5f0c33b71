//! `hookline`: run the pipeline on this machine and sign test events.

mod bench;
mod failure;
mod local;
mod operate;
mod provider_args;
mod samples;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// The commands by audience, in `--help`'s order (a test holds this list to [`Command`]).
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Run locally",
        &["serve", "provider-stub", "emulator-setup", "updates"],
    ),
    ("Samples", &["sign", "sqs-event", "providers", "template"]),
    (
        "Operate a stack",
        &["smoke", "inspect", "redrive", "replay", "archive", "watch"],
    ),
    ("Benchmark", &["bench-local", "bench-cost", "storm"]),
];

#[derive(Parser)]
#[command(
    name = "hookline",
    version,
    about = "Run hookline locally, sign test webhooks, operate a stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Show the AWS SDK's whole error chain with each AWS failure.
    #[arg(long, global = true)]
    verbose: bool,
}

// Grouped as GROUPS says, in its order; the names are an interface scripts use: never renamed.
#[derive(Subcommand)]
enum Command {
    // Run locally.
    /// Serve the webhook routes on 127.0.0.1 with the same handler code as the Lambdas.
    Serve(Box<local::serve::ServeArgs>),
    /// Stand-in provider order APIs serving the sample orders in events/provider-api/.
    ProviderStub(local::provider_stub::ProviderStubArgs),
    /// Create hookline's queues and table on a local AWS emulator (moto server).
    EmulatorSetup(local::emulator_setup::EmulatorSetupArgs),
    /// Show the order updates a local stack published (codes masked), without taking them.
    Updates(local::updates::UpdatesArgs),

    // Samples.
    /// Sign a payload as the provider would: print a curl line or an API Gateway v2 event.
    Sign(samples::sign::SignArgs),
    /// Print the SQS batch event the processor would receive for these payloads.
    SqsEvent(samples::sqs_event::SqsEventArgs),
    /// Print the provider registry (JSON, or one line per route with --list).
    Providers(samples::providers::ProvidersArgs),
    /// Write every receiver's part of template.yaml from the provider registry (--write), or
    /// check it is current (--check).
    Template(samples::template::TemplateArgs),

    // Operate a stack.
    /// After `sam deploy`: one signed test event per enabled route through the stack, each seen
    /// processed (claim and order update); a pass/fail table.
    Smoke(operate::smoke::SmokeArgs),
    /// Show an event's claim record and the order state it changed.
    Inspect(operate::inspect::InspectArgs),
    /// Move messages from a dead-letter queue back to its source queue (or list them).
    Redrive(operate::redrive::RedriveArgs),
    /// Send recorded webhook requests through verification into the ingest queue again.
    Replay(operate::replay::ReplayArgs),
    /// Search the archive of accepted webhooks (S3 or `serve`'s folder); metadata only.
    Archive(operate::archive::ArchiveArgs),
    /// Have an order polled where no webhook reports it (eSIM, what follows a partial delivery).
    Watch(operate::watch::WatchArgs),

    // Benchmark.
    /// Measure the local pipeline end to end: signed webhooks over HTTP until all are processed.
    BenchLocal(bench::throughput::BenchLocalArgs),
    /// Count every AWS call, log byte and invocation of a run on a local AWS emulator; print
    /// the cost per million webhooks.
    BenchCost(bench::cost::BenchCostArgs),
    /// Run the seeded failure storm against the fault-free run; non-zero exit on any violation.
    Storm(bench::storm::StormArgs),
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_quietly_when_stdout_closes();
    let matches = Cli::command().after_help(after_help()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    hookline::aws::set_verbose(cli.verbose);
    match cli.command {
        // The Lambdas' JSON lines at their default level, counted and dropped.
        Command::BenchCost(_) => hookline::telemetry::init_json_to(std::io::sink),
        _ => hookline::telemetry::init_human(),
    }
    let result = match cli.command {
        Command::Serve(args) => local::serve::run(*args).await,
        Command::ProviderStub(args) => local::provider_stub::run(args).await,
        Command::EmulatorSetup(args) => local::emulator_setup::run(args).await,
        Command::Updates(args) => local::updates::run(args).await,
        Command::Sign(args) => samples::sign::run(args),
        Command::SqsEvent(args) => samples::sqs_event::run(args),
        Command::Providers(args) => samples::providers::run(args),
        Command::Template(args) => samples::template::run(args),
        Command::Smoke(args) => operate::smoke::run(args).await,
        Command::Inspect(args) => operate::inspect::run(args).await,
        Command::Redrive(args) => operate::redrive::run(args).await,
        Command::Replay(args) => operate::replay::run(args).await,
        Command::Archive(args) => operate::archive::run(args).await,
        Command::Watch(args) => operate::watch::run(args).await,
        Command::BenchLocal(args) => bench::throughput::run(args).await,
        Command::BenchCost(args) => bench::cost::run(args).await,
        Command::Storm(args) => bench::storm::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("hookline: {failure}");
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}

/// `--help`'s last paragraph: the commands by audience.
fn after_help() -> String {
    let groups: Vec<String> = GROUPS
        .iter()
        .map(|(group, names)| format!("{} ({})", group.to_lowercase(), names.join(", ")))
        .collect();
    format!(
        "Commands by audience: {}.\n\nExit status: 0 done; 1 failed; 2 usage; 3 not found; 4 AWS \
         unreachable (network, credentials, region); 5 a check did not pass; 141 output closed.",
        groups.join("; ")
    )
}

/// `hookline … | head`: the reader closing the pipe early is its choice, not a crash. `println!`
/// panics on a closed stdout; that one panic ends the process quietly with the status a shell
/// gives a command stopped by SIGPIPE (128 + 13), and every other panic is reported as usual.
fn exit_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command is in one group, in `--help`'s order.
    #[test]
    fn the_groups_list_every_command_once_in_help_order() {
        let command = Cli::command();
        let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
        let grouped: Vec<&str> = GROUPS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        assert_eq!(names, grouped);
        assert!(after_help().contains("operate a stack (smoke, inspect"));
    }
}
