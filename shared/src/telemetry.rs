//! Logging set-up: JSON lines in Lambda (CloudWatch Logs Insights can query every field), a
//! compact human format on a terminal. The level comes from `RUST_LOG` (or `LOG_LEVEL`), `info`
//! by default.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    let directive = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_string());
    EnvFilter::try_new(directive.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// JSON lines with the current span's fields (Lambda's request id among them).
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Compact, human-readable lines on stderr for the local CLI (stdout is for command output).
pub fn init_human() {
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter())
        .with_target(false)
        .try_init();
}
