//! Octopus Cards: vouchers, eSIM and wallet events. Voucher and eSIM deliveries are fetched,
//! because the codes are only in the order.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::octopus_order_id;
use crate::message::QueueMessage;
use crate::order::{OrderKind, OrderRef};
use crate::order_state::{OrderState, WalletMovement};
use crate::plan::{Action, FollowUp, Plan, PlanError, epoch_millis, id_text, number_text, text};

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created_at: Option<String>,
    #[serde(default)]
    data: Map<String, Value>,
}

/// Status of an Octopus event type, with its rank in the order's life: the state table of the
/// docs/src/processing.md. A partial delivery's progress is its delivered quantity.
/// eSIM: the lifecycle events (installed, activated, depleted) follow delivery; `esim.failed`
/// and `esim.cancelled` are "always terminal" per the eSIM document, so they outrank them all.
/// Octopus fires no webhook for what follows a partial delivery (the rest delivered, or the
/// order failed or cancelled): that order is watched by polling until it settles.
fn octopus_status(event_type: &str) -> Option<(OrderKind, &'static str, u8, FollowUp)> {
    use FollowUp::{Fetch, FetchAndWatch, Nothing};
    Some(match event_type {
        "order.partially_delivered" => {
            (OrderKind::Voucher, "PARTIALLY_DELIVERED", 1, FetchAndWatch)
        }
        "order.delivered" => (OrderKind::Voucher, "DELIVERED", 2, Fetch),
        "order.failed" => (OrderKind::Voucher, "FAILED", 2, Nothing),
        "order.cancelled" => (OrderKind::Voucher, "CANCELLED", 2, Nothing),
        "esim.delivered" => (OrderKind::Esim, "DELIVERED", 1, Fetch),
        "esim.installed" => (OrderKind::Esim, "INSTALLED", 2, Nothing),
        "esim.activated" => (OrderKind::Esim, "ACTIVE", 3, Nothing),
        "esim.depleted" => (OrderKind::Esim, "DEPLETED", 4, Nothing),
        "esim.failed" => (OrderKind::Esim, "FAILED", 5, Nothing),
        "esim.cancelled" => (OrderKind::Esim, "CANCELLED", 5, Nothing),
        // Found by polling only (Octopus fires no top-up webhook yet); named `topup.{status}`,
        // an assumption for the `topup.*` events its documents plan. No codes: no fetch.
        "topup.delivered" => (OrderKind::Topup, "DELIVERED", 2, Nothing),
        "topup.failed" => (OrderKind::Topup, "FAILED", 2, Nothing),
        "topup.cancelled" => (OrderKind::Topup, "CANCELLED", 2, Nothing),
        "topup.recharged" => (OrderKind::Topup, "RECHARGED", 3, Nothing),
        _ => return None,
    })
}

/// An ICCID as ITU-T E.118 writes it: 18 to 22 characters, digits (a trailing check letter `F`
/// tolerated). Anything else never becomes a key.
fn valid_iccid(iccid: &str) -> bool {
    (18..=22).contains(&iccid.len())
        && iccid.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_digit() || (i + 1 == iccid.len() && b.eq_ignore_ascii_case(&b'f'))
        })
}

pub(crate) fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let malformed = |reason: &str| PlanError::Malformed {
        provider: message.provider.clone(),
        reason: reason.to_string(),
    };
    let envelope: Envelope = serde_json::from_str(&message.body)
        .map_err(|_| malformed("not an object with string id and type"))?;
    if envelope.id != message.event_id || envelope.event_type != message.event_type {
        return Err(malformed("id or type differs from the queue message's"));
    }
    let occurred_at = envelope
        .created_at
        .as_deref()
        .and_then(epoch_millis)
        .or_else(|| epoch_millis(&message.received_at))
        .ok_or_else(|| malformed("no usable created_at or received_at"))?;
    let data = envelope.data;
    let mut plan = Plan::pass_on(occurred_at, Value::Object(data.clone()), true);

    if let Some((kind, status, rank, then)) = octopus_status(&envelope.event_type) {
        let order = match data.get("id").and_then(id_text) {
            Some(order_id) => {
                octopus_order_id(&order_id).map_err(|_| malformed("data.id is not an order id"))?;
                OrderRef {
                    provider: message.provider.clone(),
                    kind,
                    order_id,
                }
            }
            // "Lifecycle event, not an order event. ICCID identifies the eSIM." (the eSIM
            // document): without an order id, the eSIM's own state, keyed by its ICCID.
            None if kind == OrderKind::Esim && (2..=4).contains(&rank) => OrderRef {
                provider: message.provider.clone(),
                kind: OrderKind::EsimProfile,
                order_id: data
                    .get("iccid")
                    .and_then(id_text)
                    .filter(|iccid| valid_iccid(iccid))
                    .ok_or_else(|| malformed("neither data.id nor a valid data.iccid"))?,
            },
            None => return Err(malformed("data.id is missing")),
        };
        let state = OrderState {
            order,
            status: status.to_string(),
            status_rank: rank,
            quantity: data.get("quantity").and_then(Value::as_i64),
            delivered_quantity: data.get("delivered_quantity").and_then(Value::as_i64),
            amount: number_text(data.get("amount")),
            currency: text(data.get("currency")),
            product_name: text(data.get("product_name")),
            reference: text(data.get("reference_code"))
                .or_else(|| text(data.get("client_reference"))),
            // Only a partial delivery has progress: the delivered quantity, which only grows.
            progress: (status == "PARTIALLY_DELIVERED")
                .then(|| data.get("delivered_quantity").and_then(Value::as_i64))
                .flatten(),
            detail: None,
            last_event_at: occurred_at,
            last_event_id: envelope.id.clone(),
        };
        plan.action = Action::Record { state, then };
    } else if let Some(direction) = envelope.event_type.strip_prefix("wallet.") {
        plan.action = Action::Wallet(WalletMovement {
            provider: message.provider.clone(),
            event_id: envelope.id.clone(),
            direction: direction.to_string(),
            amount: number_text(data.get("amount")),
            currency: text(data.get("currency")),
            balance_after: number_text(data.get("balance_after")),
            transaction_id: data.get("transaction_id").and_then(id_text),
            // Assumption: a webhook names its wallet by `wallet_id` as the Transactions API
            // does; one that does not is taken to be the wallet of its currency.
            wallet: data
                .get("wallet_id")
                .and_then(id_text)
                .or_else(|| text(data.get("currency"))),
            occurred_at,
            recorded_by: None,
        });
    } else {
        plan.known_type = false;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::plan as plan_message;

    fn message(event_type: &str, data: &str) -> QueueMessage {
        QueueMessage {
            v: 1,
            provider: "octopus".into(),
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            received_at: "2026-11-22T10:00:00Z".into(),
            body: format!(
                r#"{{"id":"evt_1","type":"{event_type}","created_at":"2026-11-22T09:59:58Z","data":{data}}}"#
            ),
            ..QueueMessage::default()
        }
    }

    #[test]
    fn delivered_order_is_fetched_and_recorded() {
        let plan = plan_message(&message("order.delivered", r#"{"id":12345,"status":"DELIVERED","quantity":5,"delivered_quantity":5,"amount":250.00,"reference_code":"R1"}"#)).unwrap();
        let order = plan.order().unwrap();
        assert_eq!(
            (order.kind, order.order_id.as_str()),
            (OrderKind::Voucher, "12345")
        );
        assert!(plan.fetches());
        let state = plan.state().unwrap();
        assert_eq!(state.status, "DELIVERED");
        assert_eq!(state.amount.as_deref(), Some("250.0"));
        assert_eq!(state.reference.as_deref(), Some("R1"));
        assert_eq!(state.last_event_at, 1_795_341_598_000);
    }

    #[test]
    fn an_esim_lifecycle_event_without_an_order_id_is_kept_by_its_iccid() {
        let plan = plan_message(&message(
            "esim.installed",
            r#"{"iccid":"8910300000123456789","status":"INSTALLED"}"#,
        ))
        .unwrap();
        let state = plan.state().cloned().unwrap();
        assert_eq!(
            (state.order.kind, state.order.order_id.as_str()),
            (OrderKind::EsimProfile, "8910300000123456789")
        );
        assert_eq!(state.status, "INSTALLED");
        for data in [
            r#"{"iccid":"not-an-iccid"}"#,
            r#"{"iccid":"89103"}"#,
            r#"{}"#,
        ] {
            assert!(
                plan_message(&message("esim.activated", data)).is_err(),
                "{data}"
            );
        }
        // An order event still needs its order id.
        assert!(
            plan_message(&message(
                "esim.delivered",
                r#"{"iccid":"8910300000123456789"}"#
            ))
            .is_err()
        );
    }

    #[test]
    fn esim_delivered_fetches_the_esim_order() {
        let plan = plan_message(&message(
            "esim.delivered",
            r#"{"id":9302481,"amount":4.275}"#,
        ))
        .unwrap();
        assert_eq!(plan.order().unwrap().kind, OrderKind::Esim);
        assert!(plan.fetches());
        assert_eq!(plan.state().unwrap().amount.as_deref(), Some("4.275"));
    }

    #[test]
    fn terminal_and_lifecycle_events_are_not_fetched() {
        for t in [
            "order.failed",
            "order.cancelled",
            "esim.failed",
            "esim.installed",
            "esim.depleted",
        ] {
            let plan = plan_message(&message(t, r#"{"id":1}"#)).unwrap();
            assert!(!plan.fetches(), "{t}");
            assert!(plan.state().is_some(), "{t}");
        }
    }

    #[test]
    fn wallet_events_become_movements() {
        let plan = plan_message(&message(
            "wallet.debited",
            r#"{"transaction_id":880012,"amount":250.00,"currency":"USD","balance_after":1000.00}"#,
        ))
        .unwrap();
        let movement = plan.wallet().unwrap();
        assert_eq!(movement.direction, "debited");
        assert_eq!(movement.transaction_id.as_deref(), Some("880012"));
        assert!(plan.order().is_none() && !plan.fetches());
    }

    #[test]
    fn unknown_types_plan_nothing() {
        let plan = plan_message(&message("voucher.expired", "{}")).unwrap();
        assert!(!plan.known_type && plan.order().is_none() && plan.wallet().is_none());
    }

    #[test]
    fn order_ids_must_be_integers() {
        for data in [
            r#"{"id":"../admin"}"#,
            r#"{"id":-1}"#,
            r#"{}"#,
            r#"{"id":1.5}"#,
        ] {
            assert!(
                plan_message(&message("order.delivered", data)).is_err(),
                "{data}"
            );
        }
    }

    #[test]
    fn message_and_body_must_agree() {
        let mut m = message("order.delivered", r#"{"id":1}"#);
        m.event_id = "evt_other".into();
        assert!(plan_message(&m).is_err());
    }
}
