//! CloudWatch metrics in Embedded Metric Format: one JSON line on stdout, which Lambda ships to
//! CloudWatch Logs and CloudWatch turns into metrics. No API call, no extra latency.
//!
//! Dimensions are low-cardinality by rule: `provider` and `reason` only, never an event id,
//! order id or anything secret.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::processor::{Outcome as RecordOutcome, ProcessError, RecordResult};
use crate::receiver::Outcome;

pub const NAMESPACE: &str = "Hookline";

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

/// The metrics of one receiver request. `scheme` names the provider of a refused request; an
/// accepted one is counted under the provider its event names (`std:{source}`, `owlpay-harbor`).
pub fn receiver_outcome(scheme: &str, outcome: &Outcome, at: OffsetDateTime) -> String {
    match outcome {
        Outcome::Accepted { event, .. } if !event.known_type => emf_line(
            at,
            &[("provider", event.provider.as_str())],
            &[
                ("WebhookAccepted", 1.0, "Count"),
                ("UnknownEventType", 1.0, "Count"),
            ],
        ),
        Outcome::Accepted { event, .. } => emf_line(
            at,
            &[("provider", event.provider.as_str())],
            &[("WebhookAccepted", 1.0, "Count")],
        ),
        Outcome::Rejected(rejection) => emf_line(
            at,
            &[("provider", scheme), ("reason", rejection.metric_reason())],
            &[("WebhookRejected", 1.0, "Count")],
        ),
        Outcome::EnqueueFailed { event } => emf_line(
            at,
            &[("provider", event.provider.as_str())],
            &[("EnqueueFailed", 1.0, "Count")],
        ),
    }
}

/// The metrics of one poller run (watches are Octopus orders).
pub fn poller_run(report: &crate::watch::poller::PollReport, at: OffsetDateTime) -> String {
    let count = |n: u64| n as f64;
    emf_line(
        at,
        &[("provider", crate::providers::octopus::PROVIDER)],
        &[
            ("OrdersPolled", count(report.polled), "Count"),
            ("StatusChangesFound", count(report.changes), "Count"),
            ("WatchesGivenUp", count(report.given_up), "Count"),
            ("WatchesSettled", count(report.settled), "Count"),
            ("PollFailed", count(report.failed), "Count"),
        ],
    )
}

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
    use crate::providers::{Rejection, VerifiedEvent};
    use time::macros::datetime;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("EMF line is JSON")
    }

    #[test]
    fn rejected_carries_provider_and_reason() {
        let line = receiver_outcome(
            "octopus",
            &Outcome::Rejected(Rejection::InvalidSignature("x")),
            datetime!(2026-11-22 10:00:00 UTC),
        );
        let emf = parse(&line);
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(emf["_aws"]["Timestamp"], 1_795_341_600_000i64);
        assert_eq!(directive["Namespace"], "Hookline");
        assert_eq!(
            directive["Dimensions"],
            json!([["provider", "reason"], ["provider"]]),
            "per reason, and per provider for the spike alarm"
        );
        assert_eq!(directive["Metrics"][0]["Name"], "WebhookRejected");
        assert_eq!(emf["provider"], "octopus");
        assert_eq!(emf["reason"], "signature");
        assert_eq!(emf["WebhookRejected"], 1.0);
    }

    #[test]
    fn every_rejection_reason_is_its_own_dimension_value() {
        let cases = [
            (Rejection::MethodNotAllowed("GET".into()), "method"),
            (
                Rejection::PayloadTooLarge { size: 2, limit: 1 },
                "too_large",
            ),
            (Rejection::InvalidSignature("x"), "signature"),
            (Rejection::StaleTimestamp("x".into()), "stale"),
            (Rejection::Malformed("x".into()), "malformed"),
        ];
        for (rejection, reason) in cases {
            let emf = parse(&receiver_outcome(
                "octopus",
                &Outcome::Rejected(rejection),
                datetime!(2026-11-22 10:00:00 UTC),
            ));
            assert_eq!(emf["reason"], reason);
            assert_eq!(emf["WebhookRejected"], 1.0);
        }
    }

    #[test]
    fn enqueue_failure_is_counted() {
        let event = VerifiedEvent {
            provider: "octopus".into(),
            event_id: "e".into(),
            event_type: "order.delivered".into(),
            known_type: true,
        };
        let emf = parse(&receiver_outcome(
            "octopus",
            &Outcome::EnqueueFailed { event },
            datetime!(2026-11-22 10:00:00 UTC),
        ));
        assert_eq!(emf["EnqueueFailed"], 1.0);
        assert_eq!(
            emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"]])
        );
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

    #[test]
    fn unknown_type_is_counted_and_no_id_becomes_a_dimension() {
        let event = VerifiedEvent {
            provider: "octopus".into(),
            event_id: "evt_secretive".into(),
            event_type: "voucher.expired".into(),
            known_type: false,
        };
        let line = receiver_outcome(
            "octopus",
            &Outcome::Accepted {
                event,
                message_id: "m-1".into(),
            },
            datetime!(2026-11-22 10:00:00 UTC),
        );
        let emf = parse(&line);
        assert_eq!(emf["WebhookAccepted"], 1.0);
        assert_eq!(emf["UnknownEventType"], 1.0);
        assert!(!line.contains("evt_secretive"));
    }
}
