//! What a polled Octopus order says: the events its changes call for, as the webhooks would have sent
//! them, and how the watch moves on. Pure.
//!
//! A synthetic event's id is derived from the provider, the order and the change
//! (`poll_` + SHA-256), so polling the same change twice enqueues the same event (deduplicated by
//! the processor's claim), and a webhook that reports the same change is recorded once (the
//! order state's change key). Its body carries only non-secret fields: the activation code and
//! the vouchers stay with the provider until the processor fetches them for the order update.

use serde_json::{Map, Value, json};

use crate::idempotency::body_sha256;
use crate::order::OrderKind;
use crate::watch::{Observation, Phase, PolledEvent, Watch};

/// Fields of a fetched order a synthetic event may carry: only what is fixed once the change
/// has happened, so every poll that sees the change builds the same bytes for its id (a resend
/// after a failure is then a duplicate, never a conflict). Left out: the poll time, and what
/// moves on its own (`is_installed`, `activation_status`: each is an event of its own). Never
/// codes, PINs, claim URLs or activation codes.
const CARRIED_FIELDS: &[&str] = &[
    "id",
    "status",
    "reference_code",
    "client_reference",
    "product_name",
    "denomination",
    "quantity",
    "delivered_quantity",
    "amount",
    "currency",
    "country_code",
    "data_amount_gb",
    "validity_days",
    "iccid",
    "failure_code",
    "failure_reason",
    "is_user_fixable",
    "product_id",
    "variant_name",
    "status_text",
    "transaction_id",
    "completed_at",
];

/// Compares the fetched `order` with what `watch` last saw.
pub fn observe(watch: &Watch, order: &Value, now: i64) -> Observation {
    let mut next = watch.clone();
    let mut events = Vec::new();
    let status = order
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let delivered = order.get("delivered_quantity").and_then(Value::as_i64);
    let mut settled = false;
    let mut emit = |event_type: &str, change: &str| {
        events.push(polled_event(watch, event_type, change, order));
    };
    match watch.order.kind {
        OrderKind::Esim => {
            let changed = next.last_status.as_deref() != Some(status.as_str());
            match status.as_str() {
                "DELIVERED" if changed => {
                    emit("esim.delivered", "DELIVERED");
                    next.phase = Phase::Install;
                    next.phase_started_at = now;
                }
                "FAILED" | "CANCELLED" => {
                    if changed {
                        emit(&format!("esim.{}", status.to_ascii_lowercase()), &status);
                    }
                    settled = true;
                }
                _ => {}
            }
            if status == "DELIVERED" {
                let installed = order.get("is_installed").and_then(Value::as_bool) == Some(true);
                let activation = order
                    .get("activation_status")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if installed && !next.installed {
                    emit("esim.installed", "INSTALLED");
                    next.installed = true;
                }
                if activation == "ACTIVE" && !next.activated {
                    emit("esim.activated", "ACTIVE");
                    next.activated = true;
                }
                if matches!(activation.as_str(), "DEPLETED" | "EXPIRED") {
                    emit("esim.depleted", "DEPLETED");
                    settled = true;
                }
                settled |= next.activated;
            }
        }
        // Top-ups: any terminal status is one event and the end (RECHARGED is taken as terminal,
        // an assumption: the documents list it beside the others and never after them).
        OrderKind::Topup => {
            if matches!(
                status.as_str(),
                "DELIVERED" | "FAILED" | "CANCELLED" | "RECHARGED"
            ) {
                if next.last_status.as_deref() != Some(status.as_str()) {
                    emit(&format!("topup.{}", status.to_ascii_lowercase()), &status);
                }
                settled = true;
            }
        }
        _ => match status.as_str() {
            "PARTIALLY_DELIVERED"
                if next.last_status.as_deref() != Some("PARTIALLY_DELIVERED")
                    || next.last_delivered != delivered =>
            {
                let change = format!("PARTIALLY_DELIVERED#{}", delivered.unwrap_or_default());
                emit("order.partially_delivered", &change);
            }
            "DELIVERED" | "FAILED" | "CANCELLED" => {
                if next.last_status.as_deref() != Some(status.as_str()) {
                    emit(&format!("order.{}", status.to_ascii_lowercase()), &status);
                }
                settled = true;
            }
            _ => {}
        },
    }
    if !status.is_empty() && status != "PENDING" {
        next.last_status = Some(status);
    }
    next.last_delivered = delivered.or(next.last_delivered);
    Observation {
        events,
        watch: next,
        settled,
    }
}

fn polled_event(watch: &Watch, event_type: &str, change: &str, order: &Value) -> PolledEvent {
    let order_ref = &watch.order;
    let digest = body_sha256(
        format!(
            "{}#{}#{}#{change}",
            order_ref.provider, order_ref.kind, order_ref.order_id
        )
        .as_bytes(),
    );
    let event_id = format!("poll_{}", &digest[..40]);
    let data: Map<String, Value> = CARRIED_FIELDS
        .iter()
        .filter_map(|field| {
            order
                .get(*field)
                .map(|value| (field.to_string(), value.clone()))
        })
        .collect();
    let body = json!({
        "id": event_id,
        "type": event_type,
        "source": "poll",
        "data": data,
    });
    PolledEvent {
        event_id,
        event_type: event_type.to_string(),
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderRef;

    fn watch(kind: OrderKind) -> Watch {
        let order = OrderRef {
            provider: "octopus".into(),
            kind,
            order_id: "9302481".into(),
        };
        Watch::new(order, None, 1000, 86_400)
    }

    fn esim(status: &str, installed: bool, activation: &str) -> Value {
        json!({"id": 9302481, "status": status, "is_installed": installed,
               "activation_status": activation, "iccid": "8910300000123456789",
               "activation_code": "LPA:1$smdp.example$SECRET-CODE"})
    }

    #[test]
    fn an_esim_goes_pending_delivered_installed_active() {
        let w = watch(OrderKind::Esim);
        let pending = observe(&w, &esim("PENDING", false, "NOT_INSTALLED"), 1005);
        assert!(pending.events.is_empty() && !pending.settled);

        let delivered = observe(
            &pending.watch,
            &esim("DELIVERED", false, "NOT_INSTALLED"),
            1030,
        );
        assert_eq!(delivered.events.len(), 1);
        assert_eq!(delivered.events[0].event_type, "esim.delivered");
        assert_eq!(delivered.watch.phase, Phase::Install);
        assert!(
            !delivered.events[0].body.contains("SECRET-CODE"),
            "no activation code"
        );
        assert!(delivered.events[0].body.contains(r#""source":"poll""#));

        let again = observe(
            &delivered.watch,
            &esim("DELIVERED", false, "NOT_INSTALLED"),
            1075,
        );
        assert!(again.events.is_empty(), "the same status is not a change");

        let installed = observe(&again.watch, &esim("DELIVERED", true, "INSTALLED"), 1120);
        assert_eq!(installed.events[0].event_type, "esim.installed");
        let active = observe(&installed.watch, &esim("DELIVERED", true, "ACTIVE"), 1165);
        assert_eq!(active.events[0].event_type, "esim.activated");
        assert!(active.settled);
    }

    #[test]
    fn the_same_change_always_has_the_same_event_id_and_the_same_bytes() {
        // Regression: the body carried the poll time, so a resend after a failed send or a
        // failed save was a Conflict at the processor, dead-lettered for good.
        let a = observe(
            &watch(OrderKind::Esim),
            &esim("DELIVERED", false, "NOT_INSTALLED"),
            1000,
        );
        let b = observe(
            &watch(OrderKind::Esim),
            &esim("DELIVERED", true, "ACTIVE"),
            5000,
        );
        assert_eq!(a.events[0].event_id, b.events[0].event_id);
        assert_eq!(a.events[0].body, b.events[0].body);
        assert!(!a.events[0].body.contains("created_at"));
    }

    #[test]
    fn a_voucher_order_is_followed_to_its_end() {
        let w = watch(OrderKind::Voucher);
        let partial = |n| json!({"id": 9302481, "status": "PARTIALLY_DELIVERED", "delivered_quantity": n, "vouchers": [{"code": "SECRET"}]});
        let first = observe(&w, &partial(87), 1000);
        assert_eq!(first.events[0].event_type, "order.partially_delivered");
        assert!(!first.events[0].body.contains("SECRET"));
        assert!(observe(&first.watch, &partial(87), 1030).events.is_empty());
        let more = observe(&first.watch, &partial(95), 1060);
        assert_eq!(more.events.len(), 1);
        let done = observe(
            &more.watch,
            &json!({"id": 9302481, "status": "DELIVERED"}),
            1090,
        );
        assert_eq!(done.events[0].event_type, "order.delivered");
        assert!(done.settled);
        let failed = observe(&w, &json!({"status": "FAILED"}), 1000);
        assert_eq!(failed.events[0].event_type, "order.failed");
        assert!(failed.settled);
    }

    #[test]
    fn a_topup_is_one_event_at_its_terminal_status_and_carries_no_input_data() {
        let order = OrderRef {
            provider: "octopus".into(),
            kind: OrderKind::Topup,
            order_id: "9123456".into(),
        };
        let watch = Watch::new(order, None, 1000, 86_400);
        let pending =
            json!({"id": 9123456, "status": "PENDING", "input_data": {"player_id": "5123456789"}});
        let seen = observe(&watch, &pending, 1005);
        assert!(seen.events.is_empty() && !seen.settled);
        for status in ["DELIVERED", "FAILED", "CANCELLED", "RECHARGED"] {
            let order = json!({"id": 9123456, "status": status, "variant_name": "325 UC",
                               "transaction_id": 7401120, "input_data": {"player_id": "5123456789"}});
            let seen = observe(&seen.watch, &order, 1010);
            assert!(seen.settled, "{status}");
            assert_eq!(seen.events.len(), 1, "{status}");
            let event = &seen.events[0];
            assert_eq!(
                event.event_type,
                format!("topup.{}", status.to_ascii_lowercase())
            );
            assert!(event.body.contains("325 UC") && event.body.contains("7401120"));
            assert!(
                !event.body.contains("5123456789"),
                "the player id is not carried"
            );
            // The same change polled twice: the same id and bytes.
            assert_eq!(observe(&seen.watch.clone(), &order, 1020).events.len(), 0);
            let again = observe(&watch, &order, 2000);
            assert_eq!(again.events[0].body, event.body);
        }
    }
}
