//! `hookline`: run the pipeline on this machine and sign test events.

mod apigw_event;
mod archive;
mod archive_replay;
mod aws_target;
mod bench_cost;
mod bench_local;
mod emulator_setup;
mod inspect;
mod pipeline;
mod provider_stub;
mod providers;
mod redrive;
mod registry;
mod replay;
mod serve;
mod sign;
mod smoke;
mod sqs_event;
mod stack;
mod storm;
mod template;
mod watch;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hookline",
    version,
    about = "Run hookline locally, sign test webhooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the webhook routes on 127.0.0.1 with the same handler code as the Lambdas.
    Serve(Box<serve::ServeArgs>),
    /// Sign a payload as the provider would: print a curl line or an API Gateway v2 event.
    Sign(sign::SignArgs),
    /// Print the SQS batch event the processor would receive for these payloads.
    SqsEvent(sqs_event::SqsEventArgs),
    /// Show an event's claim record and the order state it changed.
    Inspect(inspect::InspectArgs),
    /// Move messages from a dead-letter queue back to its source queue (or list them).
    Redrive(redrive::RedriveArgs),
    /// Search the archive of accepted webhooks (S3 or `serve`'s folder); metadata only.
    Archive(archive::ArchiveArgs),
    /// Send recorded webhook requests through verification into the ingest queue again.
    Replay(replay::ReplayArgs),
    /// Measure the local pipeline end to end: signed webhooks over HTTP until all are processed.
    BenchLocal(bench_local::BenchLocalArgs),
    /// Count every AWS call, log byte and invocation of a run on a local AWS emulator; print
    /// the cost per million webhooks.
    BenchCost(bench_cost::BenchCostArgs),
    /// Create hookline's queues and table on a local AWS emulator (moto server).
    EmulatorSetup(emulator_setup::EmulatorSetupArgs),
    /// Stand-in provider order APIs serving the sample orders in events/provider-api/.
    ProviderStub(provider_stub::ProviderStubArgs),
    /// Have an order polled where no webhook reports it (eSIM, what follows a partial delivery).
    Watch(watch::WatchArgs),
    /// Print the provider registry (JSON, or one line per route with --list).
    Providers(registry::ProvidersArgs),
    /// After `sam deploy`: one signed test event per enabled route through the stack, each seen
    /// processed (claim and order update); a pass/fail table.
    Smoke(smoke::SmokeArgs),
    /// Write every receiver's part of template.yaml from the provider registry (--write), or
    /// check it is current (--check).
    Template(template::TemplateArgs),
    /// Run the seeded failure storm against the fault-free run; non-zero exit on any violation.
    Storm(storm::StormArgs),
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // The Lambdas' JSON lines at their default level, counted and dropped.
        Command::BenchCost(_) => hookline::telemetry::init_json_to(std::io::sink),
        _ => hookline::telemetry::init_human(),
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Sign(args) => sign::run(args),
        Command::SqsEvent(args) => sqs_event::run(args),
        Command::Inspect(args) => inspect::run(args).await,
        Command::Redrive(args) => redrive::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Archive(args) => archive::run(args).await,
        Command::BenchLocal(args) => bench_local::run(args).await,
        Command::BenchCost(args) => bench_cost::run(args).await,
        Command::EmulatorSetup(args) => emulator_setup::run(args).await,
        Command::ProviderStub(args) => provider_stub::run(args).await,
        Command::Watch(args) => watch::run(args).await,
        Command::Storm(args) => storm::run(args).await,
        Command::Smoke(args) => smoke::run(args).await,
        Command::Providers(args) => registry::run(args),
        Command::Template(args) => template::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hookline: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
