//! Logging set-up: JSON lines in Lambda (CloudWatch Logs Insights can query every field), a
//! compact human format on a terminal. The level comes from `RUST_LOG` (or `LOG_LEVEL`), `info`
//! by default.
//!
//! Whatever the level, the HTTP and AWS SDK crates never log below `info`: at `debug`/`trace`
//! they log request and response bodies, and those bodies carry voucher codes, PINs and
//! activation codes (order fetches, order-updates messages).

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Crates whose verbose logs hold wire content.
const WIRE_LEVEL_CRATES: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_sqs",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "aws_config",
    "aws_runtime",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "lambda_runtime_api_client",
    "lambda_runtime",
    "lambda_http",
];

/// A filter that lets everything through except the wire-level logs of [`WIRE_LEVEL_CRATES`].
pub fn secret_safe_targets() -> Targets {
    WIRE_LEVEL_CRATES.iter().fold(
        Targets::new().with_default(Level::TRACE),
        |targets, krate| targets.with_target(*krate, Level::INFO),
    )
}

fn level_filter() -> EnvFilter {
    let directive = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_string());
    EnvFilter::try_new(directive.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// JSON lines with the current span's fields (Lambda's request id, the SQS message id).
pub fn init_json() {
    let _ = tracing_subscriber::registry()
        .with(level_filter())
        .with(secret_safe_targets())
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .without_time(),
        )
        .try_init();
}

/// Compact, human-readable lines on stderr for the local CLI (stdout is for command output).
pub fn init_human() {
    let _ = tracing_subscriber::registry()
        .with(level_filter())
        .with(secret_safe_targets())
        .with(
            tracing_subscriber::fmt::layer()
                .compact()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false),
        )
        .try_init();
}
