//! The processor's metrics: one EMF line per provider per batch, counts and latencies.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ProcessError, RecordOutcome, RecordResult};
use crate::metrics::emf_line;

/// The metrics of one processor batch: one line per provider, counts and latencies.
pub fn processor_batch(results: &[RecordResult], at: OffsetDateTime) -> Vec<String> {
    let mut providers: Vec<&str> = results
        .iter()
        .map(|r| r.provider.as_deref().unwrap_or("unknown"))
        .collect();
    providers.sort_unstable();
    providers.dedup();
    providers
        .into_iter()
        .map(|provider| {
            let mine: Vec<&RecordResult> = results
                .iter()
                .filter(|r| r.provider.as_deref().unwrap_or("unknown") == provider)
                .collect();
            let count = |f: &dyn Fn(&RecordOutcome) -> bool| {
                mine.iter().filter(|r| f(&r.outcome)).count() as f64
            };
            let processed = count(&|o| matches!(o, RecordOutcome::Processed { .. }));
            let duplicates = count(&|o| matches!(o, RecordOutcome::Duplicate));
            let conflicts = count(&|o| matches!(o, RecordOutcome::Conflict));
            let in_progress = count(&|o| matches!(o, RecordOutcome::InProgressElsewhere));
            let failed = count(&|o| matches!(o, RecordOutcome::Failed(_)));
            let fetch_failed =
                count(&|o| matches!(o, RecordOutcome::Failed(ProcessError::Fetch(_))));
            let unknown = count(&|o| {
                matches!(
                    o,
                    RecordOutcome::Processed {
                        known_type: false,
                        ..
                    }
                )
            });
            let renewals = count(&|o| {
                matches!(
                    o,
                    RecordOutcome::Processed {
                        secret_renewal: true,
                        ..
                    }
                )
            });
            let mut line: Value = serde_json::from_str(&emf_line(
                at,
                &[("provider", provider)],
                &[
                    ("EventProcessed", processed, "Count"),
                    ("DuplicateSkipped", duplicates, "Count"),
                    ("EventConflict", conflicts, "Count"),
                    ("EventInProgress", in_progress, "Count"),
                    ("ProcessingFailed", failed, "Count"),
                    ("FetchFailed", fetch_failed, "Count"),
                    ("UnknownEventType", unknown, "Count"),
                    ("SecretRenewalAnnounced", renewals, "Count"),
                    ("ProcessingLatencyMs", 0.0, "Milliseconds"),
                ],
            ))
            .unwrap_or_default();
            // EMF takes a list of values for one metric: every record's latency.
            line["ProcessingLatencyMs"] = mine
                .iter()
                .map(|r| Value::from(r.latency.as_secs_f64() * 1000.0))
                .collect();
            let fetches: Vec<Value> = mine
                .iter()
                .filter_map(|r| match r.outcome {
                    RecordOutcome::Processed {
                        fetch_latency: Some(latency),
                        ..
                    } => Some(Value::from(latency.as_secs_f64() * 1000.0)),
                    _ => None,
                })
                .collect();
            if !fetches.is_empty() {
                line["FetchLatencyMs"] = Value::Array(fetches);
                if let Some(declared) =
                    line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array_mut()
                {
                    declared.push(json!({"Name": "FetchLatencyMs", "Unit": "Milliseconds"}));
                }
            }
            line.to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("EMF line is JSON")
    }

    #[test]
    fn a_batch_counts_processed_duplicate_and_failed_records_per_provider() {
        use crate::order_api::FetchError;
        use std::time::Duration;
        let record = |outcome| RecordResult {
            message_id: "m".into(),
            provider: Some("octopus".into()),
            outcome,
            latency: Duration::from_millis(12),
        };
        let results = vec![
            record(RecordOutcome::Processed {
                secret_renewal: false,
                fetch_latency: Some(Duration::from_millis(7)),
                state: None,
                known_type: true,
            }),
            record(RecordOutcome::Duplicate),
            record(RecordOutcome::Duplicate),
            record(RecordOutcome::Failed(ProcessError::Fetch(
                FetchError::Timeout,
            ))),
            record(RecordOutcome::Conflict),
        ];
        let lines = processor_batch(&results, datetime!(2026-11-22 10:00:00 UTC));
        assert_eq!(lines.len(), 1, "one line per provider");
        let emf = parse(&lines[0]);
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Hookline");
        assert_eq!(directive["Dimensions"], json!([["provider"]]));
        let declared: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in declared.iter() {
            assert!(!emf[name].is_null(), "{name} declared but absent");
        }
        assert_eq!(emf["EventProcessed"], 1.0);
        assert_eq!(emf["DuplicateSkipped"], 2.0);
        assert_eq!(emf["ProcessingFailed"], 1.0);
        assert_eq!(emf["FetchFailed"], 1.0);
        assert_eq!(emf["EventConflict"], 1.0);
        assert_eq!(emf["ProcessingLatencyMs"].as_array().unwrap().len(), 5);
        assert_eq!(emf["FetchLatencyMs"], json!([7.0]));
    }
}
