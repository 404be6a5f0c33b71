//! The receiver's metrics: at most one EMF line per request.
//!
//! An accepted webhook has no EMF line: `WebhookAccepted` is counted from its `webhook accepted`
//! log line by a metric filter of the template (`{ $.message = "webhook accepted" }`, dimension
//! `provider`), so the busiest path writes one line instead of two saying the same thing.

use time::OffsetDateTime;

use super::ReceiveOutcome;
use crate::metrics::emf_line;

/// The message of the line `WebhookAccepted` is counted from (the template's metric filters
/// match it).
pub const ACCEPTED_MESSAGE: &str = "webhook accepted";

/// The EMF line of one receiver request, if it has one. `scheme` names the provider of a
/// refused request; an event of a type hookline does not know is counted under the provider
/// its event names (`std:{source}`, `owlpay-harbor`).
pub fn receiver_outcome(
    scheme: &str,
    outcome: &ReceiveOutcome,
    at: OffsetDateTime,
) -> Option<String> {
    match outcome {
        ReceiveOutcome::Accepted { event, .. } if !event.known_type => Some(emf_line(
            at,
            &[("provider", event.provider.as_str())],
            &[("UnknownEventType", 1.0, "Count")],
        )),
        ReceiveOutcome::Accepted { .. } => None,
        ReceiveOutcome::Rejected(rejection) => Some(emf_line(
            at,
            &[("provider", scheme), ("reason", rejection.metric_reason())],
            &[("WebhookRejected", 1.0, "Count")],
        )),
        ReceiveOutcome::EnqueueFailed { event } => Some(emf_line(
            at,
            &[("provider", event.provider.as_str())],
            &[("EnqueueFailed", 1.0, "Count")],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{Rejection, VerifiedEvent};
    use serde_json::{Value, json};
    use time::macros::datetime;

    fn parse(line: Option<String>) -> Value {
        serde_json::from_str(&line.expect("an EMF line")).expect("EMF line is JSON")
    }

    #[test]
    fn rejected_carries_provider_and_reason() {
        let line = receiver_outcome(
            "octopus",
            &ReceiveOutcome::Rejected(Rejection::InvalidSignature("x")),
            datetime!(2026-11-22 10:00:00 UTC),
        );
        let emf = parse(line);
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
                Rejection::PayloadTooLarge {
                    size: 2,
                    limit: 1,
                    wrapped: None,
                },
                "too_large",
            ),
            (Rejection::InvalidSignature("x"), "signature"),
            (Rejection::StaleTimestamp("x".into()), "stale"),
            (Rejection::Malformed("x".into()), "malformed"),
        ];
        for (rejection, reason) in cases {
            let emf = parse(receiver_outcome(
                "octopus",
                &ReceiveOutcome::Rejected(rejection),
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
        let emf = parse(receiver_outcome(
            "octopus",
            &ReceiveOutcome::EnqueueFailed { event },
            datetime!(2026-11-22 10:00:00 UTC),
        ));
        assert_eq!(emf["EnqueueFailed"], 1.0);
        assert_eq!(
            emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"]])
        );
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
            &ReceiveOutcome::Accepted {
                event,
                message_id: "m-1".into(),
            },
            datetime!(2026-11-22 10:00:00 UTC),
        );
        assert!(
            !line
                .as_deref()
                .unwrap_or_default()
                .contains("evt_secretive")
        );
        let emf = parse(line);
        assert_eq!(emf["UnknownEventType"], 1.0);
        // Accepted webhooks are counted from their log line, unknown types included.
        assert_eq!(emf.get("WebhookAccepted"), None);
    }

    #[test]
    fn an_accepted_webhook_of_a_known_type_has_no_emf_line() {
        let event = VerifiedEvent {
            provider: "octopus".into(),
            event_id: "e".into(),
            event_type: "order.delivered".into(),
            known_type: true,
        };
        let outcome = ReceiveOutcome::Accepted {
            event,
            message_id: "m-1".into(),
        };
        let at = datetime!(2026-11-22 10:00:00 UTC);
        assert_eq!(receiver_outcome("octopus", &outcome, at), None);
    }
}
