//! `hookline bench-cost`: what a million webhooks cost, counted. Runs the receiver and processor
//! Lambda handlers (the same functions the Lambdas run) against a local AWS emulator, every AWS
//! request counted by the SDK's HTTP client, every log and EMF line by its writer, each
//! invocation timed; then prices the counts ([`crate::bench::cost_model`]).
//!
//! The webhooks go in waves of a few batches; the processor drains each wave in batches as full
//! as `BatchSize` allows: the figures are those of steady traffic. An idle queue's polling is a fixed monthly
//! cost, not a per-event one, and is left out.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::bench::cost_model::{
    self as cost, CostTable, Deployment, Ingress, Measured, PRICES, RunParameters,
};
use aws_lambda_events::sqs::SqsEvent;
use clap::Args;
use futures::StreamExt;
use hookline::archive::{Archive, ArchiveStore, S3Archive};
use hookline::idempotency::DynamoEventStore;
use hookline::order_api::RetryPolicy;
use hookline::order_state::DynamoOrderStateStore;
use hookline::processor::{Processor, ProcessorConfig};
use hookline::queue::SqsQueue;
use hookline::usage;
use hookline::watch::DynamoWatchStore;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::local::pipeline;
use crate::local::serve;
use crate::provider_args::{LocalApis, LocalSecrets, Receivers, parse_route};

/// Where the generated cost table of docs/src/cost.md begins and ends.
pub const README_BEGIN: &str = "<!-- cost-table:begin (scripts/bench.sh writes this) -->";
pub const README_END: &str = "<!-- cost-table:end -->";

/// The ingest queue's visibility timeout here (AWS: 360 s): long enough for a batch on the
/// emulator, short enough that a record failed on purpose (a repeat met in the same batch,
/// `InProgressElsewhere`) comes back within the run.
const VISIBILITY_SECS: i32 = 10;
/// SQS hands out at most this many messages per receive, and deletes as many per batch delete.
const SQS_MAX_BATCH: usize = 10;
/// The template's `MemorySize`s.
const RECEIVER_MEMORY_MB: u64 = 128;
const PROCESSOR_MEMORY_MB: u64 = 256;

#[derive(Args)]
pub struct BenchCostArgs {
    /// The AWS emulator (moto server), e.g. http://127.0.0.1:5000.
    #[arg(long)]
    aws_endpoint: String,
    /// Webhooks to deliver, repeats included.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    /// Share of the deliveries that repeat an event (provider retries).
    #[arg(long, default_value_t = 0.3)]
    duplicates: f64,
    /// Share of the distinct events that call for a follow-up fetch (`order.delivered`; the
    /// others are `order.cancelled`).
    #[arg(long, default_value_t = 0.5)]
    fetch_share: f64,
    /// Webhook body size in bytes.
    #[arg(long, default_value_t = 1024)]
    event_bytes: usize,
    /// Receiver invocations at once (more than one makes the emulator, not the receiver, the
    /// measured duration).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Seed of the repeats' order: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Records per processor batch; by default the template's `BatchSize`.
    #[arg(long, default_value_t = crate::local::pipeline::TEMPLATE_BATCH_SIZE)]
    batch_size: usize,
    /// Also write the counts and the table as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Replace the generated cost table of this page (docs/src/cost.md, between its markers)
    /// with this run's.
    #[arg(long)]
    readme: Option<PathBuf>,
}

pub async fn run(args: BenchCostArgs) -> Result<(), crate::failure::Failure> {
    if args.count == 0
        || !(0.0..1.0).contains(&args.duplicates)
        || !(0.0..=1.0).contains(&args.fetch_share)
    {
        return Err(
            "--count must be positive, --duplicates in [0, 1), --fetch-share in [0, 1]".into(),
        );
    }
    hookline::metrics::count_only();
    let config = hookline::aws::for_emulator_counted(&args.aws_endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    // The order updates' consumer is the user's system: its calls are not hookline's, and are
    // not counted.
    let consumer = aws_sdk_sqs::Client::new(&hookline::aws::for_emulator(&args.aws_endpoint).await);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    // Resources of this run alone: nothing left by another run is counted. Named before the
    // seed is set, or every run of a seed would share them.
    let run_id = format!("{:08x}", fastrand::u32(..));
    let ingest_url =
        hookline::emulator::create_queue(&sqs, &format!("hookline-cost-ingest-{run_id}")).await?;
    let updates_url = hookline::emulator::create_fifo_queue(
        &sqs,
        &format!("hookline-cost-updates-{run_id}.fifo"),
    )
    .await?;
    let table = format!("hookline-cost-events-{run_id}");
    hookline::emulator::create_events_table(&dynamodb, &table).await?;
    let bucket = format!("hookline-cost-archive-{run_id}");
    hookline::emulator::create_bucket(&config, &bucket).await?;

    let apis = LocalApis::default();
    let address = "127.0.0.1:0".parse().map_err(|_| "address")?;
    let stub = serve::start_stub_on(address, Some(12345), &apis).await?;
    let processor = Processor {
        events: DynamoEventStore::new(dynamodb.clone(), &table),
        states: DynamoOrderStateStore::new(dynamodb.clone(), &table),
        api: pipeline::provider_apis(&apis.resolved(Some(&stub)), RetryPolicy::default())?,
        updates: SqsQueue::new(sqs.clone(), &updates_url),
        credentials: None,
        watches: DynamoWatchStore::new(dynamodb.clone(), &table),
        config: ProcessorConfig::default(),
    };
    let archive = Archive::with_test_key(ArchiveStore::S3(S3Archive::new(&config, &bucket)));
    let route = parse_route("octopus")?;
    let receivers = Receivers::new(
        &LocalSecrets::default(),
        SqsQueue::new(sqs.clone(), &ingest_url),
    )?;
    let receiver = receivers
        .routes
        .iter()
        .find(|(r, _)| r.name == route.route.name)
        .map(|(_, receiver)| receiver.clone())
        .ok_or("no octopus route")?;
    fastrand::seed(args.seed);
    let distinct = ((args.count as f64) * (1.0 - args.duplicates))
        .round()
        .max(1.0) as usize;
    let sends = plan_sends(&args, distinct)?;
    let event_bytes = sends.iter().map(|(body, _)| body.len()).sum::<usize>() / sends.len();

    usage::reset();
    let now = OffsetDateTime::now_utc();
    let mut updates = ConsumedUpdates::default();
    // In waves of a few full batches, each drained before the next: the emulator slows down
    // badly with thousands of messages queued, and real traffic keeps the queue short too.
    let wave = (args.batch_size * 5).max(200);
    for sends in sends.chunks(wave) {
        let statuses: Vec<u16> = futures::stream::iter(sends.iter().cloned())
            .map(|(body, headers)| {
                let receiver = receiver.clone();
                async move {
                    let mut request = lambda_http::http::Request::builder()
                        .method("POST")
                        .uri(format!("https://hookline.local{}", route.route.path(None)));
                    for (name, value) in headers {
                        request = request.header(name, value);
                    }
                    let request = request
                        .body(lambda_http::Body::Binary(body))
                        .map_err(|e| e.to_string())?;
                    let started = Instant::now();
                    let response =
                        hookline::receiver::lambda::handle_at(receiver.as_ref(), request, now)
                            .instrument(invocation_span())
                            .await;
                    usage::record_invocation("receiver", started.elapsed());
                    usage::record_ingress_request();
                    Ok::<u16, String>(response.map_or(0, |r| r.status().as_u16()))
                }
            })
            .buffer_unordered(args.concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let refused = statuses.iter().filter(|s| **s != 200).count();
        if refused > 0 {
            return Err(crate::failure::Failure::CheckFailed(format!(
                "{refused} webhooks were refused by the receiver"
            )));
        }
        drain(
            &processor,
            &archive,
            &sqs,
            &ingest_url,
            sends.len(),
            args.batch_size,
        )
        .await?;
        // Consumed as a subscriber would: a FIFO queue left to fill up slows the emulator's
        // every send (moto checks each against all it holds; SQS does not), and the processor's
        // measured time with it.
        updates.consume(&consumer, &updates_url).await?;
    }
    let counted = usage::snapshot();

    // Not counted from here: the audit and the table's item sizes.
    updates.consume(&consumer, &updates_url).await?;
    if updates.received != distinct || updates.events.len() != distinct {
        return Err(crate::failure::Failure::CheckFailed(format!(
            "audit failed: {} order updates for {} events, {distinct} distinct events sent",
            updates.received,
            updates.events.len()
        )));
    }
    let largest_item_bytes = largest_item(&dynamodb, &table).await?;
    let measured = Measured {
        usage: counted,
        largest_item_bytes,
    };
    let parameters = RunParameters {
        webhooks: args.count as u64,
        duplicates: args.duplicates,
        fetch_share: args.fetch_share,
        event_bytes: event_bytes as u64,
    };
    let report = report(&measured, &parameters);
    print!("{report}");
    if let Some(path) = &args.json {
        write_json(path, &measured, &parameters, args.batch_size)?;
    }
    if let Some(path) = &args.readme {
        replace_in_readme(path, &report)?;
    }
    Ok(())
}

/// The template's configuration with `ingress`, with or without Lambda's own log lines.
fn deployment(ingress: Ingress, platform_log_lines: bool) -> Deployment {
    Deployment {
        ingress,
        receiver_memory_mb: RECEIVER_MEMORY_MB,
        processor_memory_mb: PROCESSOR_MEMORY_MB,
        platform_log_lines,
    }
}

/// The table under the template's defaults, and the total under each ingress.
fn report(measured: &Measured, run: &RunParameters) -> String {
    let default = deployment(Ingress::HttpApi, false);
    let table = CostTable::of(measured, run, default, &PRICES);
    let mut out = table.markdown(run, default, &PRICES);
    out.push_str("\n| same run, other settings | total per million webhooks |\n|---|---|\n");
    for (name, settings) in [
        ("template defaults (above)", default),
        (
            "`LambdaSystemLogLevel=INFO`: Lambda's START/REPORT lines",
            deployment(Ingress::HttpApi, true),
        ),
        (
            "`FunctionUrls=true`, providers given the function URLs",
            deployment(Ingress::FunctionUrl, false),
        ),
    ] {
        let total = CostTable::of(measured, run, settings, &PRICES).total;
        out.push_str(&format!("| {name} | ${total:.2} |\n"));
    }
    out
}

/// Runs the processor's Lambda handler on the ingest queue, as the event source mapping does,
/// until `expected` records are acknowledged (deleted).
async fn drain<E, S, A, W>(
    processor: &Processor<E, S, A, SqsQueue, W>,
    archive: &Archive,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    expected: usize,
    batch_size: usize,
) -> Result<(), String>
where
    E: hookline::idempotency::EventStore,
    S: hookline::order_state::OrderStateStore,
    A: hookline::order_api::OrderApi,
    W: hookline::watch::WatchStore,
{
    let give_up = Instant::now() + Duration::from_secs(300);
    let mut acknowledged = 0;
    while acknowledged < expected {
        if Instant::now() > give_up {
            return Err(format!(
                "only {acknowledged} of {expected} records were processed in time"
            ));
        }
        let messages = receive_batch(sqs, queue_url, batch_size.max(1)).await?;
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let records: Vec<_> = messages
            .iter()
            .map(|m| json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body}))
            .collect();
        let payload: SqsEvent =
            serde_json::from_value(json!({ "Records": records })).map_err(|e| e.to_string())?;
        let mut context = Context::default();
        context.deadline = u64::try_from(
            (OffsetDateTime::now_utc() + Duration::from_secs(30)).unix_timestamp_nanos()
                / 1_000_000,
        )
        .unwrap_or(0);
        let started = Instant::now();
        let Ok(response) = hookline::processor::lambda::handle(
            processor,
            Some(archive),
            LambdaEvent::new(payload, context),
        )
        .instrument(invocation_span())
        .await;
        usage::record_invocation("processor", started.elapsed());
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        if !failed.is_empty() {
            // Delivered again when their visibility ends, as in AWS.
            tracing::warn!(failed = failed.len(), "records failed in a batch");
        }
        let succeeded: Vec<_> = messages
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_deref().unwrap_or_default()))
            .collect();
        for chunk in succeeded.chunks(SQS_MAX_BATCH) {
            delete_messages(sqs, queue_url, chunk)
                .await
                .map_err(|e| format!("the ingest queue: {e}"))?;
        }
        acknowledged += succeeded.len();
    }
    Ok(())
}

/// Up to `batch_size` messages, received ten at a time as the event source mapping gathers a
/// batch; fewer when the queue has no more visible.
async fn receive_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    batch_size: usize,
) -> Result<Vec<aws_sdk_sqs::types::Message>, String> {
    let mut batch = Vec::new();
    while batch.len() < batch_size {
        let asked = (batch_size - batch.len()).min(SQS_MAX_BATCH);
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(asked as i32)
            // Short polls: moto's long poll can outlast the SDK's timeout while every remaining
            // message is in flight. An empty answer waits a moment below (counted, as the
            // event source mapping's empty polls are).
            .wait_time_seconds(0)
            // Longer than any batch takes here; a failed record comes back after it, as in AWS.
            .visibility_timeout(VISIBILITY_SECS)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "receiving from the ingest queue: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
        let messages = received.messages.unwrap_or_default();
        let short = messages.len() < asked;
        batch.extend(messages);
        if short {
            break;
        }
    }
    Ok(batch)
}

/// The span the Lambda runtime opens around each invocation: its fields are on every line.
fn invocation_span() -> tracing::Span {
    let request_id = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..),
        fastrand::u16(..),
        fastrand::u64(..1 << 48)
    );
    // As Lambda gives every invocation an X-Ray header (sampled or not; its `Lineage` is how
    // Lambda detects recursive loops), the runtime's span carries both ids on every line.
    let trace_id = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0;Lineage=1:{:08x}:0",
        fastrand::u32(..),
        fastrand::u128(..1 << 96),
        fastrand::u64(..),
        fastrand::u32(..)
    );
    tracing::info_span!(
        "Lambda runtime invoke",
        requestId = %request_id,
        xrayTraceId = %trace_id
    )
}

/// The order updates read off their queue, as the user's system reads them.
#[derive(Default)]
struct ConsumedUpdates {
    received: usize,
    /// `(provider, event_id)` of each update.
    events: HashSet<(String, String)>,
}

impl ConsumedUpdates {
    /// Receives and deletes every update the queue holds.
    async fn consume(&mut self, sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<(), String> {
        let failed = |e: &dyn std::fmt::Display| format!("consuming the order updates: {e}");
        loop {
            let received = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(SQS_MAX_BATCH as i32)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| failed(&aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(());
            }
            for message in &messages {
                let update: serde_json::Value =
                    serde_json::from_str(message.body().unwrap_or_default())
                        .map_err(|e| failed(&e))?;
                let field = |name: &str| update[name].as_str().unwrap_or_default().to_string();
                self.events.insert((field("provider"), field("event_id")));
                self.received += 1;
            }
            let read: Vec<_> = messages.iter().collect();
            delete_messages(sqs, queue_url, &read)
                .await
                .map_err(|e| failed(&e))?;
        }
    }
}

/// Deletes up to ten received messages in one request; an entry the queue refuses is an error.
async fn delete_messages(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[&aws_sdk_sqs::types::Message],
) -> Result<(), String> {
    let mut delete = sqs.delete_message_batch().queue_url(queue_url);
    for (index, message) in messages.iter().enumerate() {
        let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
            .id(index.to_string())
            .set_receipt_handle(message.receipt_handle.clone())
            .build()
            .map_err(|e| e.to_string())?;
        delete = delete.entries(entry);
    }
    let deleted = delete.send().await.map_err(|e| {
        format!(
            "deleting a batch: {}",
            aws_sdk_sqs::error::DisplayErrorContext(&e)
        )
    })?;
    match deleted.failed.first() {
        Some(failure) => Err(format!(
            "a processed message was not deleted: {}",
            failure.code
        )),
        None => Ok(()),
    }
}

/// The largest item of `table`, in DynamoDB's billing bytes.
async fn largest_item(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Result<u64, String> {
    let mut largest = 0;
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            // Small pages: a page of thousands of items takes the emulator longer than the
            // SDK's timeout.
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "scanning the events table: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        for item in page.items.unwrap_or_default() {
            largest = largest.max(hookline::dynamo::item_size(&item));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(largest);
        }
    }
}

type Send = (Vec<u8>, Vec<(String, String)>);

/// `args.count` signed Octopus webhooks for `distinct` events, each a different order; the first
/// `fetch_share` of them `order.delivered` (fetched), the rest `order.cancelled`; each body
/// padded to `event_bytes` with a field no order update forwards; repeats mixed in at random.
fn plan_sends(args: &BenchCostArgs, distinct: usize) -> Result<Vec<Send>, String> {
    let route = parse_route("octopus")?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let fetched = (distinct as f64 * args.fetch_share).round() as usize;
    let events: Vec<Send> = (0..distinct)
        .map(|i| {
            let (event_type, status) = match i < fetched {
                true => ("order.delivered", "DELIVERED"),
                false => ("order.cancelled", "CANCELLED"),
            };
            let order = 2_000_000 + i;
            // Sent now: a body time as fresh as the request's (the receiver bounds its age).
            let created_at = super::rfc3339(now);
            let body = |padding: &str| {
                format!(
                    r#"{{"id":"evt_cost_{i}","type":"{event_type}","created_at":"{created_at}","data":{{"id":{order},"status":"{status}","quantity":5,"delivered_quantity":5,"amount":250.00,"note":"{padding}"}}}}"#
                )
            };
            let bare = body("").len();
            let body = body(&"x".repeat(args.event_bytes.saturating_sub(bare))).into_bytes();
            let signed = route.sign(route.test_secret(), "", &body, now)?;
            Ok((body, signed.headers))
        })
        .collect::<Result<_, String>>()?;
    let mut sends = events.clone();
    sends.extend((distinct..args.count).map(|_| events[fastrand::usize(..distinct)].clone()));
    fastrand::shuffle(&mut sends);
    Ok(sends)
}

fn write_json(
    path: &PathBuf,
    measured: &Measured,
    run: &RunParameters,
    batch_size: usize,
) -> Result<(), String> {
    let usage = &measured.usage;
    let calls: Vec<_> = usage
        .calls
        .iter()
        .map(|((service, operation), t)| {
            json!({"service": service, "operation": operation, "requests": t.requests,
                   "billed": t.billed, "bytes": t.bytes})
        })
        .collect();
    let invocations: serde_json::Map<String, serde_json::Value> = usage
        .invocations
        .iter()
        .map(|(f, t)| {
            (
                f.clone(),
                json!({"invocations": t.invocations, "billed_ms": t.billed_ms}),
            )
        })
        .collect();
    let tables: Vec<_> = [Ingress::HttpApi, Ingress::FunctionUrl]
        .into_iter()
        .map(|ingress| {
            let table = CostTable::of(measured, run, deployment(ingress, false), &PRICES);
            json!({
                "ingress": ingress.name(),
                "total_per_million": table.total,
                "rows": table.rows.iter().map(|r| json!({"service": r.service, "counted": r.counted, "per_million": r.per_million})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let value = json!({
        "prices_as_of": cost::PRICES.as_of,
        "run": {"webhooks": run.webhooks, "duplicates": run.duplicates, "batch_size": batch_size,
                "fetch_share": run.fetch_share, "event_bytes": run.event_bytes},
        "calls": calls,
        "invocations": invocations,
        "ingress_requests": usage.ingress_requests,
        "log_bytes": usage.log_bytes, "log_lines": usage.log_lines,
        "emf_bytes": usage.emf_bytes, "emf_lines": usage.emf_lines,
        "largest_item_bytes": measured.largest_item_bytes,
        "tables": tables,
    });
    std::fs::write(path, format!("{value:#}\n")).map_err(|e| format!("{}: {e}", path.display()))
}

/// Replaces what lies between the page's markers with `table`.
fn replace_in_readme(path: &PathBuf, table: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let replaced = replace_between(&text, table)
        .ok_or_else(|| format!("{}: no {README_BEGIN} … {README_END} block", path.display()))?;
    std::fs::write(path, replaced).map_err(|e| format!("{}: {e}", path.display()))
}

fn replace_between(text: &str, table: &str) -> Option<String> {
    let begin = text.find(README_BEGIN)? + README_BEGIN.len();
    let end = begin + text[begin..].find(README_END)?;
    Some(format!("{}\n{table}{}", &text[..begin], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_block_is_replaced_and_nothing_else() {
        let text = format!("before\n{README_BEGIN}\nold\n{README_END}\nafter\n");
        let replaced = replace_between(&text, "new\n").unwrap();
        assert_eq!(
            replaced,
            format!("before\n{README_BEGIN}\nnew\n{README_END}\nafter\n")
        );
        assert!(replace_between("no markers", "x").is_none());
    }
}
