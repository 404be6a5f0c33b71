//! CloudWatch metrics in Embedded Metric Format, the writer; each producer's metrics are beside it
//! (`receiver`, `processor`, `poller`, each a `metrics` module). EMF is one JSON line on stdout, which Lambda ships to
//! CloudWatch Logs and CloudWatch turns into metrics. No API call, no extra latency.
//!
//! Dimensions are low-cardinality by rule: `provider` and `reason` only, never an event id,
//! order id or anything secret.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub const NAMESPACE: &str = "Hookline";

static PRINTED: AtomicBool = AtomicBool::new(true);

/// Writes an EMF line on stdout, where Lambda picks it up, and counts its bytes in
/// [`crate::usage`]: CloudWatch Logs bills them as log ingestion.
pub fn emit(line: &str) {
    crate::usage::record_log_line(crate::usage::LogStream::Emf, line.len() + 1);
    if PRINTED.load(Ordering::Relaxed) {
        println!("{line}");
    }
}

/// From now on [`emit`] only counts (`hookline bench-cost`, whose stdout is its report).
pub fn count_only() {
    PRINTED.store(false, Ordering::Relaxed);
}

/// One EMF line with the given dimensions and `(name, value, unit)` metrics. With more than one
/// dimension the metrics are also published under the first alone (the provider), so an alarm
/// can watch a provider's total without knowing every `reason`.
pub fn emf_line(
    at: OffsetDateTime,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, &str)],
) -> String {
    let timestamp_ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets(dimensions),
                "Metrics": metrics.iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::from(*value));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), Value::from(*value));
    }
    Value::Object(root).to_string()
}

fn dimension_sets(dimensions: &[(&str, &str)]) -> Vec<Vec<String>> {
    let all: Vec<String> = dimensions
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    match dimensions.first() {
        Some((first, _)) if dimensions.len() > 1 => vec![all, vec![first.to_string()]],
        _ => vec![all],
    }
}
