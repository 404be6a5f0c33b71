//! `hookline bench-local`: end-to-end throughput of the local pipeline on this machine. Starts
//! the same pieces as `hookline serve` on ephemeral 127.0.0.1 ports, sends a fixed number of
//! signed `order.delivered` webhooks, one order each, over HTTP (a share of them sent twice, as
//! provider retries),
//! waits until every one is processed, and audits that none was lost or processed twice.

use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use hookline::archive::{Archive, ArchiveStore, FolderArchive};
use hookline::queue::MemoryQueue;
use time::OffsetDateTime;

use crate::local::pipeline::{self, Counters};
use crate::local::serve;
use crate::provider_args::{LocalApis, LocalSecrets, Receivers, RouteArg, parse_route};

#[derive(Args)]
pub struct BenchLocalArgs {
    /// Webhooks to send, duplicates included.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Share of the sends that repeat an event already sent.
    #[arg(long, default_value_t = 0.3)]
    duplicates: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Runs of each measure; the run with the median end-to-end rate is reported (the machine's
    /// noise shows in the spread, printed too).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Records of a batch the processor works on at once (`PROCESSOR_CONCURRENCY`; default:
    /// the processor's).
    #[arg(long)]
    record_concurrency: Option<usize>,
    /// Archive every accepted webhook to this folder, as `hookline serve` does (default: no
    /// archive).
    #[arg(long)]
    archive_dir: Option<std::path::PathBuf>,
}

/// What one run measured.
struct Figures {
    sent: usize,
    distinct: usize,
    accepted_per_sec: f64,
    p50: Duration,
    p99: Duration,
    end_to_end_per_sec: f64,
    processed: u64,
    duplicates: u64,
    updates: u64,
    refused: usize,
    dead: u64,
    lost: u64,
    twice: u64,
    /// Every run's end-to-end rate, lowest first.
    spread: String,
}

pub async fn run(args: BenchLocalArgs) -> Result<(), crate::failure::Failure> {
    if args.count == 0 || !(0.0..1.0).contains(&args.duplicates) {
        return Err("--count must be positive and --duplicates in [0, 1)".into());
    }
    if args.runs == 0 {
        return Err("--runs must be positive".into());
    }
    let figures = match &args.archive_dir {
        None => median_of(&args, None).await?,
        Some(dir) => {
            // The same load without, then with the archive: what archiving costs.
            let without = median_of(&args, None).await?;
            let with = median_of(&args, Some(dir)).await?;
            println!("| archive | receiver latency p50 / p99 | end to end: events per second |");
            println!("|---|---|---|");
            for (name, f) in [("off", &without), ("on (folder)", &with)] {
                println!(
                    "| {name} | {:.2} ms / {:.2} ms | {:.0} |",
                    ms(f.p50),
                    ms(f.p99),
                    f.end_to_end_per_sec
                );
            }
            println!();
            audit(&without)?;
            with
        }
    };
    print_table(&figures);
    audit(&figures).map_err(crate::failure::Failure::CheckFailed)
}

/// `args.runs` runs; the one of median end-to-end rate, each run audited.
async fn median_of(
    args: &BenchLocalArgs,
    archive_dir: Option<&std::path::Path>,
) -> Result<Figures, String> {
    let mut runs = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        // Each run archives to a folder of its own: a fresh archive, as the first run had.
        let archive = archive_dir
            .map(|dir| ArchiveStore::Folder(FolderArchive::new(dir.join(format!("run-{run}")))))
            .map(Archive::with_test_key);
        let figures = measure(args, archive).await?;
        audit(&figures)?;
        runs.push(figures);
    }
    runs.sort_by(|a, b| a.end_to_end_per_sec.total_cmp(&b.end_to_end_per_sec));
    let rates: Vec<String> = runs
        .iter()
        .map(|f| format!("{:.0}", f.end_to_end_per_sec))
        .collect();
    eprintln!(
        "end to end, events per second, each run: {}",
        rates.join(", ")
    );
    let mut median = runs.swap_remove(runs.len() / 2);
    median.spread = rates.join(" / ");
    Ok(median)
}

async fn measure(args: &BenchLocalArgs, archive: Option<Archive>) -> Result<Figures, String> {
    // Each event is a different order, as in real traffic: every one is a change to publish.
    let apis = LocalApis::default();
    let address = "127.0.0.1:0".parse().map_err(|_| "address")?;
    let stub = serve::start_stub_on(address, Some(12345), &apis).await?;
    let ingest = MemoryQueue::new();
    let counters = Counters::default();
    let mut processor = pipeline::local_processor(&apis.resolved(Some(&stub)))?;
    if let Some(concurrency) = args.record_concurrency {
        processor.config.concurrency = concurrency;
    }
    tokio::spawn(pipeline::run_in_memory(
        processor,
        ingest.clone(),
        archive,
        counters.clone(),
        None,
    ));
    let receivers = Receivers::new(&LocalSecrets::default(), ingest.clone())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let route = parse_route(BENCH_ROUTE)?;
    let url = format!(
        "http://{}{}",
        listener.local_addr().map_err(|e| e.to_string())?,
        route.route.path(None)
    );
    tokio::spawn(async move { axum::serve(listener, serve::router(receivers, None)).await });

    let distinct = ((args.count as f64) * (1.0 - args.duplicates))
        .round()
        .max(1.0) as usize;
    let sends = plan_sends(route, args.count, distinct)?;
    let client = hookline::tls::http_client_builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "sending {} webhooks ({} distinct events) to {url}",
        args.count, distinct
    );

    let started = Instant::now();
    let outcomes: Vec<(u16, Duration)> = futures::stream::iter(sends)
        .map(|(body, headers)| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let sent = Instant::now();
                let mut request = client.post(&url).body(body);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let status = request
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                (status, sent.elapsed())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let accepted_in = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(120);
    let settled = || {
        Counters::get(&counters.processed)
            + Counters::get(&counters.duplicates)
            + Counters::get(&counters.dead_lettered)
            >= args.count as u64
    };
    while !settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let processed_in = started.elapsed();

    let refused = outcomes.iter().filter(|(status, _)| *status != 200).count();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|(_, d)| *d).collect();
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let processed = Counters::get(&counters.processed);
    let duplicates = Counters::get(&counters.duplicates);
    let updates = Counters::get(&counters.updates);
    let dead = Counters::get(&counters.dead_lettered);
    let lost = distinct as u64 - processed.min(distinct as u64);
    let twice = processed.saturating_sub(distinct as u64) + updates.saturating_sub(distinct as u64);

    Ok(Figures {
        sent: args.count,
        distinct,
        accepted_per_sec: args.count as f64 / accepted_in.as_secs_f64(),
        p50: percentile(0.5),
        p99: percentile(0.99),
        end_to_end_per_sec: args.count as f64 / processed_in.as_secs_f64(),
        processed,
        duplicates,
        updates,
        refused,
        dead,
        lost,
        twice,
        spread: String::new(),
    })
}

fn print_table(f: &Figures) {
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| webhooks sent (distinct events) | {} ({}) |",
        f.sent, f.distinct
    );
    println!(
        "| receiver: accepted per second | {:.0} |",
        f.accepted_per_sec
    );
    println!(
        "| receiver latency p50 / p99 | {:.2} ms / {:.2} ms |",
        ms(f.p50),
        ms(f.p99)
    );
    println!(
        "| end to end (accepted, fetched, recorded, published): events per second | {:.0} |",
        f.end_to_end_per_sec
    );
    println!(
        "| end to end, each run (events per second) | {} |",
        f.spread
    );
    println!(
        "| processed / duplicates skipped / order updates | {} / {} / {} |",
        f.processed, f.duplicates, f.updates
    );
    println!(
        "| refused by the receiver / dead-lettered | {} / {} |",
        f.refused, f.dead
    );
    println!(
        "| audit: lost / processed twice | {} / {} |",
        f.lost, f.twice
    );
}

fn audit(f: &Figures) -> Result<(), String> {
    if f.refused + f.dead as usize > 0
        || f.lost > 0
        || f.twice > 0
        || f.duplicates != (f.sent - f.distinct) as u64
    {
        return Err("audit failed: events were lost, refused or processed twice".into());
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The route the benchmark's payloads (Octopus `order.delivered`, one order each) are for.
const BENCH_ROUTE: &str = "octopus";

type Send = (Vec<u8>, Vec<(String, String)>);

/// `count` signed requests for `distinct` events, the repeats mixed in at random.
fn plan_sends(route: RouteArg, count: usize, distinct: usize) -> Result<Vec<Send>, String> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let events: Vec<Send> = (0..distinct)
        .map(|i| {
            let order = 1_000_000 + i;
            // Sent now: a body time as fresh as the request's (the receiver bounds its age).
            let created_at = super::rfc3339(now);
            let body = format!(
                r#"{{"id":"evt_bench_{i}","type":"order.delivered","created_at":"{created_at}","data":{{"id":{order},"status":"DELIVERED","quantity":5,"delivered_quantity":5,"amount":250.00}}}}"#
            )
            .into_bytes();
            let signed = route.sign(route.test_secret(), "", &body, now)?;
            Ok((body, signed.headers))
        })
        .collect::<Result<_, String>>()?;
    let mut sends = events.clone();
    sends.extend((distinct..count).map(|_| events[fastrand::usize(..distinct)].clone()));
    fastrand::shuffle(&mut sends);
    Ok(sends)
}
