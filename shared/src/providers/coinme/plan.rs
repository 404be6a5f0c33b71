//! Coinme: order templates (CONSUMED / EXPIRED at a location) and CAAS buy transactions
//! (COMPLETED / FAILED). The events are complete, so nothing is fetched. Other documented
//! types (PAYMENT_METHOD, REFUND, CAAS_BLOCKCHAIN) are passed on without a state.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{KNOWN_EVENT_TYPES, at_millis};
use crate::message::QueueMessage;
use crate::order::{OrderKind, OrderRef};
use crate::plan::{Action, FollowUp, Plan, PlanError, received_millis, state_of, subject_id, text};

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    at: Option<Value>,
    #[serde(default)]
    data: Map<String, Value>,
}

/// Rank of a status in an order template's or transaction's life: the outcomes are final.
fn rank(status: &str) -> u8 {
    match status {
        "CONSUMED" | "EXPIRED" | "COMPLETED" | "FAILED" => 2,
        _ => 1,
    }
}

pub(crate) fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let malformed = |reason| PlanError::malformed(message, reason);
    let envelope: Envelope = serde_json::from_str(&message.body)
        .map_err(|_| malformed("not an object with string id and type"))?;
    if envelope.id != message.event_id || envelope.event_type != message.event_type {
        return Err(malformed("id or type differs from the queue message's"));
    }
    let occurred_at = match envelope.at.as_ref().and_then(at_millis) {
        Some(at) => at,
        None => received_millis(message)?,
    };
    let data = envelope.data;
    let known = KNOWN_EVENT_TYPES.contains(&envelope.event_type.as_str());
    let mut plan = Plan::pass_on(occurred_at, Value::Object(data.clone()), known);
    let (kind, id_field, status) = match envelope.event_type.as_str() {
        "ORDER_TEMPLATE" => (
            OrderKind::OrderTemplate,
            "orderTemplateId",
            text(data.get("orderTemplateStatus")),
        ),
        "CAAS" => {
            let metadata = data.get("metadata");
            let reported = text(metadata.and_then(|m| m.get("orderStatus")));
            // Coinme's own "failed" example reports COMPLETED with errorData set: an error wins.
            let failed = data.get("errorData").is_some_and(|e| !e.is_null());
            let status = if failed {
                Some("FAILED".to_string())
            } else {
                reported
            };
            (OrderKind::Transaction, "transactionId", status)
        }
        _ => return Ok(plan),
    };
    let order_id = subject_id(data.get(id_field))
        .ok_or_else(|| malformed("the order template or transaction id is missing"))?;
    let status = status.ok_or_else(|| malformed("the status is missing"))?;
    let order = OrderRef {
        provider: message.provider.clone(),
        kind,
        order_id,
    };
    let mut state = state_of(&order, &status, rank(&status), occurred_at, &envelope.id);
    if let Some(amount) = data.get("userInputAmount") {
        state.amount = text(amount.get("amount"));
        state.currency = text(amount.get("currency"));
    }
    state.reference = text(data.get("providerTransactionRef"));
    plan.action = Action::Record {
        state,
        then: FollowUp::Nothing,
    };
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::plan as plan_message;

    fn message(event_type: &str, data: &str, at: &str) -> QueueMessage {
        QueueMessage {
            v: 1,
            provider: "coinme".into(),
            event_id: "e-1".into(),
            event_type: event_type.into(),
            received_at: "2026-11-22T10:00:00Z".into(),
            body: format!(r#"{{"id":"e-1","type":"{event_type}","data":{data},"at":{at}}}"#),
            ..QueueMessage::default()
        }
    }

    #[test]
    fn a_consumed_template_is_recorded_with_its_amount() {
        let plan = plan_message(&message(
            "ORDER_TEMPLATE",
            r#"{"orderTemplateId":"1263543355914194944","orderTemplateStatus":"CONSUMED","providerTransactionRef":"8303","userInputAmount":{"amount":"59","currency":"USD"},"errorData":null}"#,
            r#""2025-07-18T17:11:20Z""#,
        ))
        .unwrap();
        let state = plan.state().cloned().unwrap();
        assert_eq!(state.order.kind, OrderKind::OrderTemplate);
        assert_eq!(state.order.order_id, "1263543355914194944");
        assert_eq!((state.status.as_str(), state.status_rank), ("CONSUMED", 2));
        assert_eq!(state.amount.as_deref(), Some("59"));
        assert_eq!(state.last_event_at, 1_752_858_680_000);
        assert!(!plan.fetches());
    }

    #[test]
    fn an_at_hookline_cannot_read_orders_the_event_by_its_receipt() {
        let data = r#"{"orderTemplateId":"1263543355914194944","orderTemplateStatus":"CONSUMED"}"#;
        for at in [r#""last week""#, r#"{"t":1}"#, "true"] {
            let plan = plan_message(&message("ORDER_TEMPLATE", data, at)).unwrap();
            // received_at 2026-11-22T10:00:00Z
            assert_eq!(
                plan.state().unwrap().last_event_at,
                1_795_341_600_000,
                "{at}"
            );
        }
    }

    #[test]
    fn a_caas_buy_with_error_data_is_failed_whatever_its_status_says() {
        let data = r#"{"type":"BUY","transactionId":"1263543643131744256","metadata":{"orderStatus":"COMPLETED"},"errorData":{"code":"314-001-S3"}}"#;
        let plan = plan_message(&message("CAAS", data, "1752858430")).unwrap();
        let state = plan.state().cloned().unwrap();
        assert_eq!(state.order.kind, OrderKind::Transaction);
        assert_eq!(state.status, "FAILED");
        assert_eq!(state.last_event_at, 1_752_858_430_000);
        let ok = data.replace(r#"{"code":"314-001-S3"}"#, "null");
        assert_eq!(
            plan_message(&message("CAAS", &ok, "null"))
                .unwrap()
                .state()
                .unwrap()
                .status,
            "COMPLETED"
        );
    }

    #[test]
    fn other_types_are_passed_on_and_bad_ids_refused() {
        let refund = plan_message(&message("REFUND", r#"{"x":1}"#, "1752858430")).unwrap();
        assert!(refund.known_type && refund.state().is_none());
        let new = plan_message(&message("NEW_THING", "{}", "1752858430")).unwrap();
        assert!(!new.known_type);
        let bad = r##"{"orderTemplateId":"a#b","orderTemplateStatus":"EXPIRED"}"##;
        assert!(plan_message(&message("ORDER_TEMPLATE", bad, "1")).is_err());
    }
}
