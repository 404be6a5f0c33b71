//! Logging set-up: JSON lines in Lambda (CloudWatch Logs Insights can query every field), a
//! compact human format on a terminal. The level comes from `RUST_LOG` (or `LOG_LEVEL`), `info`
//! by default.
//!
//! Whatever the level, the HTTP and AWS SDK crates never log below `info`: at `debug`/`trace`
//! they log request and response bodies, and those bodies carry voucher codes, PINs and
//! activation codes (order fetches, order-updates messages).

mod flat_json;

use std::io::IsTerminal;

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

pub use flat_json::FlatJson;

/// The target of lines that a metric is counted from (a CloudWatch Logs metric filter in the
/// template): in Lambda written at every level, as EMF lines are, or the metric would stop when
/// an operator turns the level down.
pub const METRIC_LINE_TARGET: &str = "hookline::metric_line";

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

/// For people at a terminal: the AWS credential and region chain's warnings (a failed IMDS
/// lookup on a laptop) are kilobytes of nested `Debug` output that say nothing the command's own
/// error does not; shown only when `RUST_LOG` names `aws_config`.
fn quiet_credential_chain(directive: &str) -> Targets {
    let level = match directive.contains("aws_config") {
        true => Level::TRACE,
        false => Level::ERROR,
    };
    Targets::new()
        .with_default(Level::TRACE)
        .with_target("aws_config", level)
}

/// `RUST_LOG` (or `LOG_LEVEL`), `info` when unset.
fn rust_log() -> String {
    std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_string())
}

/// [`parse_levels`], and the metric lines at every level: in Lambda, where metric filters count
/// them. Locally they follow `RUST_LOG` like any other line.
fn with_metric_lines(directive: &str) -> Targets {
    parse_levels(directive).with_target(METRIC_LINE_TARGET, Level::INFO)
}

/// `RUST_LOG`'s levels: a default and per-target ones (`warn,hookline=debug`). Span and field
/// directives (`[span{field=value}]`) are not read, and an unreadable value means `info`:
/// `Targets` rather than `EnvFilter`, whose regular expressions cost each receiver's zip about
/// 100 KB.
fn parse_levels(directive: &str) -> Targets {
    directive
        .trim()
        .to_lowercase()
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO))
}

/// Flat JSON lines ([`FlatJson`]) with the fields of the spans they happened in (Lambda's
/// request id, the SQS message id), each beginning with the providers' environment
/// (`"environment":"sandbox"`), so no line of a sandbox stack can pass for production.
pub fn init_json() {
    init_json_to(std::io::stdout);
}

/// [`init_json`]'s lines written to `make_writer`'s writer instead of stdout (`hookline
/// bench-cost` counts them and drops them).
pub fn init_json_to<W: std::io::Write + 'static>(make_writer: fn() -> W) {
    let environment = crate::config::ProviderEnvironment::from_lookup(crate::config::env_lookup)
        .map_or("invalid", crate::config::ProviderEnvironment::as_str);
    let _ = tracing_subscriber::registry()
        .with(with_metric_lines(&rust_log()))
        .with(secret_safe_targets())
        .with(json_layer(move || Tagged::new(make_writer(), environment)))
        .try_init();
}

/// The layer that writes the Lambdas' lines ([`FlatJson`]) to `make_writer`; the tests capture
/// lines with it too. No timestamp: CloudWatch Logs stamps every line.
pub fn json_layer<S, W>(
    make_writer: W,
) -> tracing_subscriber::fmt::Layer<S, JsonFields, FlatJson, W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::new())
        .event_format(FlatJson)
        .with_writer(make_writer)
}

/// A writer that puts `"environment":"…",` first in every JSON line, and counts the bytes in
/// [`crate::usage`] (CloudWatch Logs bills them). The formatter writes each event as one buffer,
/// so each write that starts an object starts a line.
struct Tagged<W> {
    inner: W,
    prefix: String,
}

impl<W: std::io::Write> Tagged<W> {
    fn new(inner: W, environment: &str) -> Self {
        Self {
            inner,
            prefix: format!(r#"{{"environment":"{environment}","#),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Tagged<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match buf.strip_prefix(b"{") {
            Some(rest) if !rest.starts_with(b"}") => {
                let mut line = Vec::with_capacity(self.prefix.len() + rest.len());
                line.extend_from_slice(self.prefix.as_bytes());
                line.extend_from_slice(rest);
                self.inner.write_all(&line)?;
                crate::usage::record_log_line(crate::usage::LogStream::Log, line.len());
                Ok(buf.len())
            }
            _ => {
                let written = self.inner.write(buf)?;
                crate::usage::record_log_line(crate::usage::LogStream::Log, written);
                Ok(written)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Compact, human-readable lines on stderr for the local CLI (stdout is for command output).
pub fn init_human() {
    let directive = rust_log();
    let _ = tracing_subscriber::registry()
        .with(parse_levels(&directive))
        .with(secret_safe_targets())
        .with(quiet_credential_chain(&directive))
        .with(
            tracing_subscriber::fmt::layer()
                .compact()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false),
        )
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_credential_chains_warnings_are_quiet_unless_asked_for() {
        let quiet = quiet_credential_chain("info");
        assert!(!quiet.would_enable("aws_config::imds", &Level::WARN));
        assert!(quiet.would_enable("aws_config::imds", &Level::ERROR));
        assert!(quiet.would_enable("hookline::processor", &Level::TRACE));
        let asked = quiet_credential_chain("info,aws_config=debug");
        assert!(asked.would_enable("aws_config::imds", &Level::WARN));
    }

    #[test]
    fn rust_log_sets_a_default_and_per_target_levels_and_anything_else_is_info() {
        let levels = parse_levels(" WARN,hookline=debug ");
        assert!(levels.would_enable("aws_config", &Level::WARN));
        assert!(!levels.would_enable("aws_config", &Level::INFO));
        assert!(levels.would_enable("hookline::processor", &Level::DEBUG));
        assert!(!levels.would_enable("hookline::processor", &Level::TRACE));
        for unreadable in ["[span{field=1}]=debug", "hookline=loud"] {
            let levels = parse_levels(unreadable);
            assert!(
                levels.would_enable("hookline", &Level::INFO),
                "{unreadable}"
            );
            assert!(
                !levels.would_enable("hookline", &Level::DEBUG),
                "{unreadable}"
            );
        }
    }

    #[test]
    fn metric_lines_are_written_at_every_level() {
        for directive in ["warn", "off", "hookline=error", "info"] {
            let levels = with_metric_lines(directive);
            assert!(
                levels.would_enable(METRIC_LINE_TARGET, &Level::INFO),
                "{directive}"
            );
            assert!(
                !levels.would_enable(METRIC_LINE_TARGET, &Level::DEBUG),
                "{directive}"
            );
        }
        assert!(!with_metric_lines("warn").would_enable("hookline::receiver", &Level::INFO));
        // Locally (the CLI's human lines) they follow the level like any other.
        assert!(!parse_levels("warn").would_enable(METRIC_LINE_TARGET, &Level::INFO));
    }

    #[test]
    fn every_json_line_begins_with_the_environment() {
        let mut out = Vec::new();
        let mut tagged = Tagged::new(&mut out, "production");
        tagged
            .write_all(b"{\"level\":\"INFO\",\"message\":\"x\"}\n")
            .unwrap();
        tagged.write_all(b"{}\n").unwrap();
        let text = String::from_utf8(out).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["environment"], "production");
        assert_eq!(first["message"], "x");
        assert_eq!(text.lines().nth(1), Some("{}"));
    }
}
