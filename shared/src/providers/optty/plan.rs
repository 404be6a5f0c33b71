//! Optty: a notification only says that an order changed. The order is always fetched
//! (`GET /orders/{reference}`) and the state recorded is the one the API answers with; the
//! notification's own status is kept only as `notified_status` in the order update.

use serde_json::{Map, Value};

use super::api::optty_reference;
use super::{KNOWN_EVENT_TYPES, order_reference};
use crate::message::QueueMessage;
use crate::order::{OrderKind, OrderRef};
use crate::order_api::FetchError;
use crate::order_state::OrderState;
use crate::plan::{Action, Plan, PlanError, number_text, received_millis, state_of, text};

/// Rank of an Optty order status: outcomes are final, refunds come after a success.
fn rank(status: &str) -> u8 {
    match status {
        "SUCCESSFUL" | "DECLINED" | "CANCELED" | "CANCELLED" | "FAILED" | "EXPIRED" => 2,
        "REFUNDED" | "PARTIALLY_REFUNDED" => 3,
        _ => 1,
    }
}

pub(crate) fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let malformed = |reason| PlanError::malformed(message, reason);
    let mut notification: Map<String, Value> =
        serde_json::from_str(&message.body).map_err(|_| malformed("not a JSON object"))?;
    let reference = order_reference(message.body.as_bytes())
        .ok_or_else(|| malformed("no orderReference, reference or orderToken"))?;
    optty_reference(&reference).map_err(|_| malformed("the order reference is not valid"))?;
    let occurred_at = received_millis(message)?;
    // Downstream must not mistake the notification's claim for the truth.
    if let Some(claimed) = notification.remove("status") {
        notification.insert("notified_status".into(), claimed);
    }
    notification.remove("hash");
    let known = KNOWN_EVENT_TYPES.contains(&message.event_type.as_str());
    let mut plan = Plan::pass_on(occurred_at, Value::Object(notification), known);
    let order = OrderRef {
        provider: message.provider.clone(),
        kind: OrderKind::Order,
        order_id: reference,
    };
    let claimed = state_of(&order, "UNCONFIRMED", 0, occurred_at, &message.event_id);
    plan.action = Action::Confirm { claimed };
    Ok(plan)
}

/// The state to record once the order is fetched: the one the API answers with, the
/// notification (`event_data`) filling in what the API leaves out.
pub(crate) fn confirm(
    claimed: &OrderState,
    event_data: &Value,
    order: &Value,
) -> Result<OrderState, FetchError> {
    let status = text(order.get("status"))
        .filter(|s| !s.is_empty())
        .ok_or(FetchError::Malformed)?
        .to_ascii_uppercase();
    let mut state = claimed.clone();
    state.status_rank = rank(&status);
    state.status = status;
    state.amount = number_text(order.get("amount")).or_else(|| text(order.get("amount")));
    state.currency = text(order.get("currency"));
    state.reference = text(order.get("merchantReference"));
    // Within one status, a capture comes after its authorisation, and each refund is a change of
    // its own. The API's word wins; the notification fills in what the API leaves out.
    let from_either = |field: &str| {
        let present = |v: &String| !v.is_empty();
        text(order.get(field))
            .filter(present)
            .or_else(|| text(event_data.get(field)).filter(present))
    };
    let capture = from_either("captureStatus").map(|c| c.to_ascii_uppercase());
    state.progress = capture.as_deref().map(|c| i64::from(c == "CAPTURED"));
    let detail: Vec<String> = [capture, from_either("refundReference")]
        .into_iter()
        .flatten()
        .collect();
    state.detail = (!detail.is_empty()).then(|| detail.join("#"));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{confirmed_state, plan as plan_message};
    use serde_json::json;

    fn message(body: &str) -> QueueMessage {
        QueueMessage {
            v: 1,
            provider: "optty".into(),
            event_id: "txn-77#ORDER_STATUS_UPDATE#SUCCESSFUL".into(),
            event_type: "ORDER_STATUS_UPDATE".into(),
            received_at: "2026-11-22T10:00:00Z".into(),
            body: body.into(),
            ..QueueMessage::default()
        }
    }

    const BODY: &str = r#"{"event":"ORDER_STATUS_UPDATE","status":"SUCCESSFUL","transactionId":"txn-77","orderReference":"ord-1001","hash":"h"}"#;

    #[test]
    fn every_notification_is_fetched_and_the_api_status_recorded() {
        let plan = plan_message(&message(BODY)).unwrap();
        assert!(plan.fetches() && plan.confirms_with_api());
        assert_eq!(plan.order().unwrap().order_id, "ord-1001");
        assert_eq!(plan.event_data["notified_status"], "SUCCESSFUL");
        assert!(plan.event_data.get("status").is_none());
        let api = json!({"status": "DECLINED", "amount": 25.5, "currency": "AUD", "merchantReference": "m-1"});
        let state = confirmed_state(&plan, Some(&api)).unwrap().unwrap();
        assert_eq!((state.status.as_str(), state.status_rank), ("DECLINED", 2));
        assert_eq!(state.amount.as_deref(), Some("25.5"));
        assert_eq!(
            confirmed_state(&plan, Some(&json!({"amount": 1}))),
            Err(FetchError::Malformed)
        );
    }

    #[test]
    fn references_that_could_escape_a_path_are_refused() {
        let bad = BODY.replace("ord-1001", "../admin");
        assert!(plan_message(&message(&bad)).is_err());
    }
}
