//! `hookline smoke`: the first thing to run after `sam deploy`. For every webhook route the
//! stack enables, one signed test event (`hookline::test_event`: no state recorded, no order
//! fetched) is sent to the stack's webhook API, and its claim record is awaited in the events
//! table. The processor marks a claim COMPLETED only after its order update is on the queue, so
//! a COMPLETED claim shows both. Prints a pass/fail table; fails when any route does.
//!
//! Everything comes from the stack: its outputs (`WebhookApiUrl`, `EventsTableName`) and its
//! parameters (each route's secret name, the schemes' settings). Each route's signing secret is
//! read from Secrets Manager and used only to sign; it is never printed. On a local stack
//! (`--table` and `--api-url` instead of `--stack`), every route is sent, signed with the local
//! secrets (`--{route}-secrets`, default the published test secrets), settings from the
//! environment.

use std::time::{Duration, Instant};

use clap::Args;
use hookline::idempotency::event_key;
use hookline::providers::{EventNames, Provider, Sender, setting_parameter};
use hookline::test_event::TestEvent;
use time::OffsetDateTime;

use crate::failure::Failure;
use crate::operate::aws_target::AwsTarget;
use crate::operate::stack::{Stack, read_secret};
use crate::provider_args::RouteArg;

#[derive(Args)]
pub struct SmokeArgs {
    /// The deployed stack's name (its URL, table and secrets are read from it).
    #[arg(long, env = "HOOKLINE_STACK", required_unless_present = "table")]
    stack: Option<String>,
    /// Without --stack: the events table to await the claims in (a local stack's, at
    /// --endpoint-url); the events are signed with the local secrets below.
    #[arg(long, conflicts_with = "stack", requires = "api_url")]
    table: Option<String>,
    /// Send the test events to this base URL instead of the stack's `WebhookApiUrl` output
    /// (a custom domain, or a local `hookline serve`).
    #[arg(long)]
    api_url: Option<String>,
    /// Without --stack: each route's secrets, as for `hookline serve` (default: the published
    /// test secrets, every route enabled).
    #[command(flatten)]
    secrets: crate::provider_args::LocalSecrets,
    /// How long to wait, in all, for the events to be processed.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    #[command(flatten)]
    aws: AwsTarget,
}

/// One route's row of the table.
struct Row {
    route: &'static str,
    sent: String,
    claim: String,
    update: String,
    result: Verdict,
    detail: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Skip,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

impl Row {
    fn new(route: &'static str) -> Self {
        Self {
            route,
            sent: "-".into(),
            claim: "-".into(),
            update: "-".into(),
            result: Verdict::Fail,
            detail: String::new(),
        }
    }

    fn skipped(route: &'static str, detail: String) -> Self {
        Self {
            result: Verdict::Skip,
            detail,
            ..Self::new(route)
        }
    }

    fn failed(mut self, detail: String) -> Self {
        self.result = Verdict::Fail;
        self.detail = detail;
        self
    }
}

/// A test event the webhook API accepted, awaiting its claim.
struct Pending {
    row: Row,
    key: String,
    sent_at: Instant,
}

pub async fn run(args: SmokeArgs) -> Result<(), crate::failure::Failure> {
    let started = Instant::now();
    let config = args.aws.sdk_config().await;
    let stack = match &args.stack {
        Some(name) => Some(Stack::describe(&config, name).await?),
        None => None,
    };
    let (api_url, table) = match (&stack, &args.api_url, &args.table) {
        (Some(stack), api_url, _) => (
            match api_url {
                Some(url) => url.clone(),
                None => stack.output("WebhookApiUrl")?.to_string(),
            },
            stack.output("EventsTableName")?.to_string(),
        ),
        (None, Some(api_url), Some(table)) => (api_url.clone(), table.clone()),
        (None, _, _) => {
            return Err(Failure::Usage(
                "give --stack, or --table and --api-url".into(),
            ));
        }
    };
    let name = args.stack.as_deref().unwrap_or("(local)");
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let http = hookline::tls::http_client_builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let run_id = format!(
        "{}-{:08x}",
        OffsetDateTime::now_utc().unix_timestamp(),
        fastrand::u32(..)
    );
    eprintln!("smoke test of stack {name} through {api_url} (events table {table})");

    let mut rows = Vec::new();
    let mut pending = Vec::new();
    for (provider, route) in Provider::routes() {
        // A stack's route is enabled by its secret parameter; locally, every route is.
        let (label, text) = match &stack {
            Some(stack) => {
                let Some(secret_name) = stack.parameter(route.secrets.parameter) else {
                    rows.push(Row::skipped(
                        route.name,
                        format!("not enabled ({} is empty)", route.secrets.parameter),
                    ));
                    continue;
                };
                let text = read_secret(&secrets, secret_name).await;
                (format!("secret {secret_name}"), text)
            }
            None => (
                format!("--{}-secrets", route.name),
                args.secrets
                    .list(route.secrets.env_prefix)
                    .map(str::to_string)
                    .ok_or_else(|| format!("no secrets for {}", route.name)),
            ),
        };
        let settings = |variable: &str| match &stack {
            Some(stack) => stack
                .parameter(&setting_parameter(variable))
                .map(str::to_string),
            None => std::env::var(variable).ok(),
        };
        let route = RouteArg { provider, route };
        match send(&http, &api_url, route, (&label, text), &settings, &run_id).await {
            Ok(sent) => pending.push(sent),
            Err(row) => rows.push(row),
        }
    }

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while !pending.is_empty() {
        let mut waiting = Vec::new();
        for mut sent in pending {
            match claim_status(&dynamodb, &table, &sent.key).await {
                Ok(Some(status)) if status == "COMPLETED" => {
                    sent.row.claim = "COMPLETED".into();
                    sent.row.update = "published".into();
                    sent.row.result = Verdict::Pass;
                    sent.row.detail = format!(
                        "processed {:.1} s after sending",
                        sent.sent_at.elapsed().as_secs_f64()
                    );
                    rows.push(sent.row);
                }
                Ok(status) => {
                    sent.row.claim = status.unwrap_or_else(|| "none yet".into());
                    waiting.push(sent);
                }
                Err(error) => rows.push(sent.row.failed(error.to_string())),
            }
        }
        pending = waiting;
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            for sent in pending {
                let detail = format!(
                    "not processed within {} s (claim {}): see the processor's logs, the ingest queue and its dead-letter queue",
                    args.timeout_secs, sent.row.claim
                );
                rows.push(sent.row.failed(detail));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let order: Vec<_> = Provider::routes().map(|(_, r)| r.name).collect();
    rows.sort_by_key(|row| order.iter().position(|name| *name == row.route));
    print_table(&rows);
    let passed = rows.iter().filter(|r| r.result == Verdict::Pass).count();
    let failed = rows.iter().filter(|r| r.result == Verdict::Fail).count();
    println!(
        "{passed} passed, {failed} failed, {} skipped in {:.1} s",
        rows.len() - passed - failed,
        started.elapsed().as_secs_f64()
    );
    match (failed, passed) {
        (0, 0) => Err("no route is enabled in this stack".into()),
        (0, _) => Ok(()),
        _ => Err(crate::failure::Failure::CheckFailed(format!(
            "{failed} route(s) failed the smoke test"
        ))),
    }
}

/// Signs the route's test event with the first secret of its list and posts it.
/// `secrets` is where the route's secret list came from (for errors; never the value) and its
/// text; `settings` reads the scheme's settings (the stack's parameters, or the environment).
async fn send(
    http: &reqwest::Client,
    api_url: &str,
    route: RouteArg,
    secrets: (&str, Result<String, String>),
    settings: &dyn Fn(&str) -> Option<String>,
    run_id: &str,
) -> Result<Pending, Row> {
    let name = route.route.name;
    let row = Row::new(name);
    let (label, text) = secrets;
    let text = match text {
        Ok(text) => text,
        Err(error) => return Err(row.failed(error)),
    };
    let Sender { secret, source } = match (route.route.sender)(&text) {
        Ok(sender) => sender,
        Err(error) => {
            return Err(row.failed(format!("{label} is not a usable secret list: {error}")));
        }
    };
    let source = source.unwrap_or_default();
    let id = format!("hookline-smoke-{run_id}-{name}");
    let now = OffsetDateTime::now_utc();
    let body = (route.provider.spec().test_event)(&TestEvent { id: &id, at: now });
    let request = match route.sign_with(
        &secret,
        &source,
        body.as_bytes(),
        now.unix_timestamp(),
        settings,
    ) {
        Ok(request) => request,
        Err(error) => return Err(row.failed(format!("cannot sign: {error}"))),
    };
    let url = format!("{}{}", api_url.trim_end_matches('/'), request.path);
    let mut post = http.post(&url).body(body);
    for (header, value) in &request.headers {
        post = post.header(header.as_str(), value.as_str());
    }
    let sent_at = Instant::now();
    let mut row = row;
    let response = match post.send().await {
        Ok(response) => response,
        // Neither the URL nor the error's copy of it: Optty's path carries its token.
        Err(error) => {
            return Err(row.failed(format!(
                "POST {} failed: {}",
                route.route.path_template(),
                error.without_url()
            )));
        }
    };
    let status = response.status();
    row.sent = format!(
        "{} in {} ms",
        status.as_u16(),
        sent_at.elapsed().as_millis()
    );
    let answer = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(row.failed(format!("the webhook was refused: {}", first_line(&answer))));
    }
    let event_id = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v.get("event_id")?.as_str().map(str::to_string))
        .unwrap_or(id);
    let provider_name = match route.route.events {
        EventNames::Exactly(name) => name.to_string(),
        EventNames::Prefixed(prefix) => format!("{prefix}{source}"),
    };
    Ok(Pending {
        row,
        key: event_key(&provider_name, &event_id),
        sent_at,
    })
}

/// The claim record's status, `None` while there is none.
async fn claim_status(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<String>, crate::failure::Failure> {
    let item = crate::operate::inspect::get(dynamodb, table, key).await?;
    Ok(item.and_then(|item| item.get("status")?.as_s().ok().cloned()))
}

/// The answer's first line, at most 200 characters: the receiver's reason, never a body.
fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

fn print_table(rows: &[Row]) {
    let header = ["ROUTE", "WEBHOOK", "CLAIM", "ORDER UPDATE", "RESULT"];
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| [r.route, &r.sent, &r.claim, &r.update, r.result.text()])
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].len())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |cols: [&str; 5], detail: &str| {
        let mut text = String::new();
        for (i, col) in cols.iter().enumerate() {
            text.push_str(&format!("{col:<w$}  ", w = widths[i]));
        }
        text.push_str(detail);
        println!("{}", text.trim_end());
    };
    line(header, "DETAIL");
    for (row, cols) in rows.iter().zip(cells) {
        line(cols, &row.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_shown_is_one_short_line() {
        let long = "x".repeat(500);
        assert_eq!(first_line(&format!("{long}\nsecond")).len(), 200);
        assert_eq!(first_line("missing signature\nmore"), "missing signature");
    }
}
