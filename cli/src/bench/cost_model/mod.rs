//! Dollars per million webhooks, from what a run really asked of AWS ([`hookline::usage`]) and the
//! dated list prices ([`prices`]). `hookline bench-cost` produces the counts against a local AWS
//! emulator; `scripts/bench.sh` prints the table and the docs/src/cost.md's cost section is this table.

pub mod prices;

use std::fmt::Write as _;

use hookline::usage::Usage;
pub use prices::{PRICES, Prices};

/// How webhooks reach the receivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// API Gateway HTTP API (template `Ingress=HttpApi`): throttling per route, a custom domain,
    /// a per-request charge.
    HttpApi,
    /// Lambda function URLs (template `Ingress=FunctionUrl`): no gateway charge; reserved
    /// concurrency is the only throttle.
    FunctionUrl,
}

impl Ingress {
    pub fn name(self) -> &'static str {
        match self {
            Self::HttpApi => "API Gateway HTTP API",
            Self::FunctionUrl => "Lambda function URL",
        }
    }
}

/// How the stack is configured, as far as the bill depends on it.
#[derive(Clone, Copy, Debug)]
pub struct Deployment {
    pub ingress: Ingress,
    /// `MemorySize` of the receivers and of the processor (template.yaml).
    pub receiver_memory_mb: u64,
    pub processor_memory_mb: u64,
    /// Whether Lambda writes its START/END/REPORT lines (`SystemLogLevel` INFO, the default).
    pub platform_log_lines: bool,
}

/// What the run sent, stated with its table.
#[derive(Clone, Debug)]
pub struct RunParameters {
    /// Webhooks delivered to the receivers, repeats included.
    pub webhooks: u64,
    /// Share of the deliveries that repeat an event already delivered.
    pub duplicates: f64,
    /// Share of the distinct events that call for a follow-up fetch.
    pub fetch_share: f64,
    /// Mean webhook body size.
    pub event_bytes: u64,
}

/// What the run measured besides the usage counts.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    pub usage: Usage,
    /// The largest item the events table held after the run: each write is billed as this one
    /// (an upper bound: an update is billed on the larger of the item before and after).
    pub largest_item_bytes: u64,
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub service: String,
    /// What was counted, per webhook.
    pub counted: String,
    pub per_million: f64,
}

/// The table: every line item and the total, per million webhooks.
#[derive(Clone, Debug)]
pub struct CostTable {
    pub rows: Vec<Row>,
    pub total: f64,
}

/// Write request units of one write of an item of `bytes`.
pub fn write_units(bytes: u64) -> u64 {
    bytes.div_ceil(1024).max(1)
}

/// Read request units of one strongly consistent read of an item of `bytes`.
pub fn read_units(bytes: u64) -> u64 {
    bytes.div_ceil(4096).max(1)
}

/// DynamoDB operations that write, with the request units each write costs relative to a plain
/// one (a transaction's writes cost twice).
const DYNAMODB_WRITES: &[(&str, u64)] = &[
    ("PutItem", 1),
    ("UpdateItem", 1),
    ("DeleteItem", 1),
    ("TransactWriteItems", 2),
];
const DYNAMODB_READS: &[&str] = &["GetItem", "Query", "Scan"];

impl CostTable {
    /// The table for `measured`, scaled to a million webhooks of `run`, under `deployment`'s
    /// configuration and `prices`.
    pub fn of(
        measured: &Measured,
        run: &RunParameters,
        deployment: Deployment,
        prices: &Prices,
    ) -> Self {
        let usage = &measured.usage;
        let webhooks = run.webhooks.max(1) as f64;
        let per_webhook = |n: f64| n / webhooks;
        let per_million = |dollars: f64| dollars * 1e6 / webhooks;
        let mut rows = Vec::new();

        let ingress_requests = usage.ingress_requests as f64;
        rows.push(Row {
            service: deployment.ingress.name().into(),
            counted: format!("{:.2} requests", per_webhook(ingress_requests)),
            per_million: match deployment.ingress {
                Ingress::HttpApi => {
                    per_million(ingress_requests * prices.http_api_per_million / 1e6)
                }
                Ingress::FunctionUrl => 0.0,
            },
        });
        for (function, memory_mb) in [
            ("receiver", deployment.receiver_memory_mb),
            ("processor", deployment.processor_memory_mb),
        ] {
            let tally = usage.invocations(function);
            let gb_seconds = tally.billed_ms as f64 / 1000.0 * memory_mb as f64 / 1024.0;
            let mean_ms = tally.billed_ms as f64 / tally.invocations.max(1) as f64;
            rows.push(Row {
                service: format!("Lambda, {function} ({memory_mb} MB)"),
                counted: format!(
                    "{:.3} invocations × {mean_ms:.1} ms billed (measured here)",
                    per_webhook(tally.invocations as f64)
                ),
                per_million: per_million(
                    tally.invocations as f64 * prices.lambda_per_million / 1e6
                        + gb_seconds * prices.lambda_per_gb_second,
                ),
            });
        }
        for (service, price) in [
            ("SQS", prices.sqs_per_million),
            ("SQS FIFO", prices.sqs_fifo_per_million),
        ] {
            let billed = usage.billed(service) as f64;
            rows.push(Row {
                service: match service {
                    "SQS" => "SQS standard (ingest)".into(),
                    _ => "SQS FIFO (order updates)".into(),
                },
                counted: format!(
                    "{:.3} requests ({})",
                    per_webhook(billed),
                    operations(usage, service)
                ),
                per_million: per_million(billed * price / 1e6),
            });
        }
        let write_unit = write_units(measured.largest_item_bytes);
        let writes: u64 = DYNAMODB_WRITES
            .iter()
            .map(|(op, factor)| usage.call("DynamoDB", op).requests * factor)
            .sum();
        let reads: u64 = DYNAMODB_READS
            .iter()
            .map(|op| usage.call("DynamoDB", op).requests)
            .sum();
        let wru = (writes * write_unit) as f64;
        let rru = (reads * read_units(measured.largest_item_bytes)) as f64;
        rows.push(Row {
            service: "DynamoDB on demand".into(),
            counted: format!(
                "{:.3} WRU + {:.3} RRU ({}; largest item {} B)",
                per_webhook(wru),
                per_webhook(rru),
                operations(usage, "DynamoDB"),
                measured.largest_item_bytes
            ),
            per_million: per_million(
                wru * prices.dynamodb_per_million_wru / 1e6
                    + rru * prices.dynamodb_per_million_rru / 1e6,
            ),
        });
        let puts = usage.billed_of("S3", &["PutObject", "ListObjectsV2"]) as f64;
        let gets = usage.billed_of("S3", &["GetObject", "HeadObject"]) as f64;
        let stored_gb = usage.call("S3", "PutObject").bytes as f64 / 1e9;
        rows.push(Row {
            service: "S3 archive".into(),
            counted: format!(
                "{:.3} PUTs, {:.0} B stored a month",
                per_webhook(puts),
                per_webhook(usage.call("S3", "PutObject").bytes as f64)
            ),
            per_million: per_million(
                puts * prices.s3_put_per_thousand / 1e3
                    + gets * prices.s3_get_per_thousand / 1e3
                    + stored_gb * prices.s3_gb_month,
            ),
        });
        let secrets = usage.billed("Secrets Manager") as f64;
        rows.push(Row {
            service: "Secrets Manager".into(),
            counted: format!("{:.4} calls", per_webhook(secrets)),
            per_million: per_million(secrets * prices.secrets_manager_per_10k / 1e4),
        });
        let invocations: u64 = usage.invocations.values().map(|t| t.invocations).sum();
        let (platform_lines, platform_bytes) = match deployment.platform_log_lines {
            true => (
                invocations * prices::PLATFORM_LINES_PER_INVOCATION,
                invocations * prices::PLATFORM_BYTES_PER_INVOCATION,
            ),
            false => (0, 0),
        };
        let lines = usage.log_lines + usage.emf_lines + platform_lines;
        let log_bytes = usage.log_bytes
            + usage.emf_bytes
            + platform_bytes
            + lines * prices::LOG_EVENT_OVERHEAD_BYTES;
        rows.push(Row {
            service: "CloudWatch Logs".into(),
            counted: format!(
                "{:.0} B: log lines {:.0} B, EMF {:.0} B, Lambda's own {:.0} B, {} B per line billed on {:.1} lines",
                per_webhook(log_bytes as f64),
                per_webhook(usage.log_bytes as f64),
                per_webhook(usage.emf_bytes as f64),
                per_webhook(platform_bytes as f64),
                prices::LOG_EVENT_OVERHEAD_BYTES,
                per_webhook(lines as f64),
            ),
            per_million: per_million(log_bytes as f64 / 1e9 * prices.logs_per_gb),
        });
        let total = rows.iter().map(|r| r.per_million).sum();
        Self { rows, total }
    }

    /// The table in Markdown, with the run's parameters and the prices' date above it.
    pub fn markdown(&self, run: &RunParameters, deployment: Deployment, prices: &Prices) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Counted on a run of {} webhooks ({:.0} % repeats, {:.0} % of events fetched, {} B bodies), ingress {}; list prices of {}, {} Lambda, as of {}.",
            run.webhooks,
            run.duplicates * 100.0,
            run.fetch_share * 100.0,
            run.event_bytes,
            deployment.ingress.name(),
            prices.region,
            prices.architecture,
            prices.as_of,
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| line item | counted per webhook | per million webhooks |"
        );
        let _ = writeln!(out, "|---|---|---|");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | ${:.2} |",
                row.service, row.counted, row.per_million
            );
        }
        let _ = writeln!(out, "| **total** | | **${:.2}** |", self.total);
        out
    }
}

/// `SendMessage 1.00, DeleteMessageBatch 0.10`: the operations of `service` counted, per call
/// kind, as totals.
fn operations(usage: &Usage, service: &str) -> String {
    let parts: Vec<String> = usage
        .calls
        .iter()
        .filter(|((s, _), _)| s == service)
        .map(|((_, op), tally)| format!("{op} {}", tally.requests))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline::usage::{CallTally, InvocationTally};

    fn usage() -> Usage {
        let mut usage = Usage::default();
        let mut call = |service: &str, op: &str, requests: u64, bytes: u64| {
            usage.calls.insert(
                (service.into(), op.into()),
                CallTally {
                    requests,
                    billed: requests,
                    bytes,
                },
            );
        };
        call("SQS", "SendMessage", 1000, 500_000);
        call("SQS", "ReceiveMessage", 100, 0);
        call("SQS FIFO", "SendMessage", 700, 0);
        call("DynamoDB", "UpdateItem", 2400, 0);
        call("S3", "PutObject", 100, 1_000_000);
        usage.invocations.insert(
            "receiver".into(),
            InvocationTally {
                invocations: 1000,
                billed_ms: 10_000,
            },
        );
        usage.invocations.insert(
            "processor".into(),
            InvocationTally {
                invocations: 100,
                billed_ms: 10_000,
            },
        );
        usage.ingress_requests = 1000;
        usage.log_bytes = 300_000;
        usage.log_lines = 1000;
        usage
    }

    fn deployment(ingress: Ingress) -> Deployment {
        Deployment {
            ingress,
            receiver_memory_mb: 128,
            processor_memory_mb: 256,
            platform_log_lines: false,
        }
    }

    fn run() -> RunParameters {
        RunParameters {
            webhooks: 1000,
            duplicates: 0.3,
            fetch_share: 0.5,
            event_bytes: 500,
        }
    }

    #[test]
    fn every_line_is_its_counts_times_its_price_scaled_to_a_million() {
        let measured = Measured {
            usage: usage(),
            largest_item_bytes: 700,
        };
        let table = CostTable::of(&measured, &run(), deployment(Ingress::HttpApi), &PRICES);
        let line = |name: &str| {
            table
                .rows
                .iter()
                .find(|r| r.service.starts_with(name))
                .unwrap()
                .per_million
        };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(line("API Gateway"), 1.00));
        // 1,000 requests × $0.20/M, 10 s × 0.125 GB × $0.0000133334, per 1,000 webhooks.
        assert!(close(
            line("Lambda, receiver"),
            0.20 + 10.0 * 0.125 * 0.000_013_333_4 * 1000.0
        ));
        assert!(close(line("SQS standard"), 1.1 * 0.40));
        assert!(close(line("SQS FIFO"), 0.7 * 0.50));
        assert!(close(line("DynamoDB"), 2.4 * 0.625));
        assert!(close(line("S3"), 0.1 * 5.0 + 1.0 * 0.023));
        // 300 B of lines plus 26 B per line, per webhook: 326 B × 1M = 0.326 GB × $0.50.
        assert!(close(line("CloudWatch Logs"), 0.326 * 0.50));
        let sum: f64 = table.rows.iter().map(|r| r.per_million).sum();
        assert!(close(table.total, sum));
    }

    #[test]
    fn function_urls_drop_the_gateway_line_and_platform_lines_cost_their_bytes() {
        let measured = Measured {
            usage: usage(),
            largest_item_bytes: 700,
        };
        let gateway = CostTable::of(&measured, &run(), deployment(Ingress::HttpApi), &PRICES);
        let url = CostTable::of(&measured, &run(), deployment(Ingress::FunctionUrl), &PRICES);
        assert!((gateway.total - url.total - 1.00).abs() < 1e-9);
        let mut with_platform = deployment(Ingress::HttpApi);
        with_platform.platform_log_lines = true;
        let platform = CostTable::of(&measured, &run(), with_platform, &PRICES);
        // 1,100 invocations × (300 B + 3 × 26 B) per 1,000 webhooks.
        let extra = 1.1 * (300.0 + 78.0) * 1e6 / 1e9 * 0.50;
        assert!((platform.total - gateway.total - extra).abs() < 1e-9);
    }

    #[test]
    fn items_over_a_kilobyte_cost_more_units() {
        assert_eq!(write_units(1), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_units(4097), 2);
        let measured = Measured {
            usage: usage(),
            largest_item_bytes: 1500,
        };
        let table = CostTable::of(&measured, &run(), deployment(Ingress::HttpApi), &PRICES);
        let dynamodb = table
            .rows
            .iter()
            .find(|r| r.service.starts_with("DynamoDB"))
            .unwrap();
        assert!((dynamodb.per_million - 2.0 * 2.4 * 0.625).abs() < 1e-9);
    }
}
