//! OwlPay and OwlPay Harbor: payout orders (`order.*`) and payment intents
//! (`payment_intent.*`) become states that never go backwards; `webhook.renew.secret` is
//! flagged for the operator; the rest of the catalogue is passed on. Nothing is fetched: the
//! events are complete.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    HARBOR_EVENT_TYPES, HARBOR_PROVIDER, HARBOR_TRANSFER_EVENT, KNOWN_EVENT_TYPES,
    RENEW_SECRET_EVENT, parse_harbor_envelope,
};
use crate::message::QueueMessage;
use crate::order::{OrderKind, OrderRef};
use crate::plan::{
    Action, FollowUp, Plan, PlanError, epoch_millis, number_text, received_millis, state_of,
    subject_id, text,
};

#[derive(Deserialize)]
struct Envelope {
    uuid: String,
    created_at: Option<String>,
    #[serde(default)]
    data: Map<String, Value>,
    /// OwlPay marks test-mode events (its published payload: `"is_test"`, 1 in its samples).
    is_test: Option<Value>,
}

/// `is_test` as OwlPay may write it: `true`, `1` or `"1"`/`"true"`.
fn marked_test(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(text)) => matches!(text.trim(), "1" | "true"),
        _ => false,
    }
}

/// Status and rank of a payout order event. Cancelled and paid out are final.
fn order_status(event_type: &str, object: &Map<String, Value>) -> Option<(String, u8)> {
    Some(match event_type {
        "order.received" => ("RECEIVED".into(), 1),
        "order.updated" => (
            text(object.get("status")).map_or_else(|| "UPDATED".into(), |s| s.to_ascii_uppercase()),
            1,
        ),
        "order.cancelled" => ("CANCELLED".into(), 3),
        "order.payout.succeed" => ("PAYOUT_SUCCEEDED".into(), 3),
        _ => return None,
    })
}

/// Events that may come several times for one order or intent, each reporting a new fact.
/// `payment_intent.refunded` follows each partial refund (OwlPay's catalogue: "refunded (partial
/// or full)"), so each is a change of its own.
const REPEATABLE_EVENTS: &[&str] = &[
    "order.updated",
    "payment_intent.partial_captured",
    "payment_intent.refund_created",
    "payment_intent.refund_cancelled",
    "payment_intent.refunded",
];

/// Rank of a Harbor transfer status. Harbor's pages show `pending_customer_transfer_start`, then
/// `pending_harbor` once the customer paid, then `completed` ("Simulate Transfer Status"). The
/// failure outcomes are ours (the pages name none): any of them ends the transfer, and any other
/// status is taken to be in flight after the first.
fn transfer_rank(status: &str) -> u8 {
    match status {
        "pending_customer_transfer_start" => 1,
        "completed" | "failed" | "cancelled" | "canceled" | "rejected" | "refunded" | "expired" => {
            3
        }
        _ => 2,
    }
}

/// Harbor's own shape (`{"data":{"uuid","object","status",...,"updated_at"}}`): a transfer
/// becomes a state of its own; a customer's KYC/KYB update is passed on.
fn plan_harbor(message: &QueueMessage) -> Result<Plan, PlanError> {
    let malformed = |reason| PlanError::malformed(message, reason);
    let event = parse_harbor_envelope(message.body.as_bytes())
        .map_err(|_| malformed("not Harbor's data object with object, uuid and status"))?;
    if event.event_id != message.event_id {
        return Err(malformed(
            "object, uuid, status or time differ from the queue message's",
        ));
    }
    #[derive(Deserialize)]
    struct Body {
        data: Map<String, Value>,
    }
    let data = serde_json::from_str::<Body>(&message.body)
        .map_err(|_| malformed("no data object"))?
        .data;
    let occurred_at = match text(data.get("updated_at"))
        .as_deref()
        .and_then(epoch_millis)
    {
        Some(at) => at,
        None => received_millis(message)?,
    };
    let mut plan = Plan::pass_on(occurred_at, Value::Object(data.clone()), true);
    if message.event_type != HARBOR_TRANSFER_EVENT {
        return Ok(plan);
    }
    let (Some(uuid), Some(status)) = (text(data.get("uuid")), text(data.get("status"))) else {
        return Err(malformed("the transfer has no uuid or status"));
    };
    let order = OrderRef {
        provider: message.provider.clone(),
        kind: OrderKind::Transfer,
        order_id: uuid,
    };
    let rank = transfer_rank(&status);
    let mut state = state_of(
        &order,
        &status.to_ascii_uppercase(),
        rank,
        occurred_at,
        &message.event_id,
    );
    let source = data.get("source").and_then(Value::as_object);
    state.amount =
        source.and_then(|s| text(s.get("amount")).or_else(|| number_text(s.get("amount"))));
    state.currency = source.and_then(|s| text(s.get("asset")));
    plan.action = Action::Record {
        state,
        then: FollowUp::Nothing,
    };
    Ok(plan)
}

/// Rank of a payment intent event in its life: authorisation, capture, settlement and payout,
/// then refunds (which come after a capture), and last the outcomes that end it early.
/// `payment_intent.updated` carries no status and changes none.
fn payment_intent_rank(event: &str) -> Option<u8> {
    Some(match event {
        "created" => 1,
        "checking_out" => 2,
        "authorized" => 3,
        "partial_captured" => 4,
        "captured" => 5,
        "financial.reviewed" => 6,
        "request_settle" => 7,
        "payout_finished" | "payout_failed" => 8,
        "refund_created" | "refund_cancelled" => 9,
        "refunded" => 10,
        "cancel_authorization" | "voided" | "failed" => 11,
        _ => return None,
    })
}

pub(crate) fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    if message.provider == HARBOR_PROVIDER
        && HARBOR_EVENT_TYPES.contains(&message.event_type.as_str())
    {
        return plan_harbor(message);
    }
    let malformed = |reason| PlanError::malformed(message, reason);
    let envelope: Envelope = serde_json::from_str(&message.body)
        .map_err(|_| malformed("not an object with a string uuid"))?;
    if envelope.uuid != message.event_id {
        return Err(malformed("uuid differs from the queue message's event id"));
    }
    let occurred_at = match envelope.created_at.as_deref().and_then(epoch_millis) {
        Some(at) => at,
        None => received_millis(message)?,
    };
    let event_type = message.event_type.as_str();
    let known = KNOWN_EVENT_TYPES.contains(&event_type);
    if event_type == RENEW_SECRET_EVENT {
        // The body may hold the new secret itself: it is not passed on.
        let mut plan = Plan::pass_on(occurred_at, Value::Object(Map::new()), true);
        plan.action = Action::SecretRenewal;
        plan.is_test = marked_test(envelope.is_test.as_ref());
        return Ok(plan);
    }
    let data = envelope.data;
    let mut plan = Plan::pass_on(occurred_at, Value::Object(data.clone()), known);
    plan.is_test = marked_test(envelope.is_test.as_ref());
    let (kind, field, status) = if let Some(event) = event_type.strip_prefix("payment_intent.") {
        let Some(rank) = payment_intent_rank(event) else {
            return Ok(plan);
        };
        let object = object_of(&data, "payment_intent");
        (
            OrderKind::PaymentIntent,
            object,
            (event.replace('.', "_").to_ascii_uppercase(), rank),
        )
    } else if event_type.starts_with("order.") {
        let object = object_of(&data, "order");
        let Some(status) = order_status(event_type, object) else {
            return Ok(plan);
        };
        (OrderKind::Order, object, status)
    } else {
        return Ok(plan);
    };
    let order_id = subject_id(field.get("uuid"))
        .or_else(|| subject_id(field.get("order_serial")))
        .or_else(|| subject_id(field.get("id")))
        .ok_or_else(|| malformed("the order or payment intent has no uuid or id"))?;
    let order = OrderRef {
        provider: message.provider.clone(),
        kind,
        order_id,
    };
    let mut state = state_of(&order, &status.0, status.1, occurred_at, &envelope.uuid);
    // A repeatable event (a second partial capture, another refund, an update that keeps the
    // status) is a change of its own each time: its uuid makes its change key distinct.
    if REPEATABLE_EVENTS.contains(&event_type) {
        state.detail = Some(envelope.uuid.clone());
    }
    state.amount = number_text(field.get("amount")).or_else(|| text(field.get("amount")));
    state.currency = text(field.get("currency"));
    state.reference = text(field.get("customer_order_id")).or_else(|| text(field.get("reference")));
    plan.action = Action::Record {
        state,
        then: FollowUp::Nothing,
    };
    Ok(plan)
}

/// `data.{name}` when the event nests its object there, else `data` itself.
fn object_of<'a>(data: &'a Map<String, Value>, name: &str) -> &'a Map<String, Value> {
    data.get(name).and_then(Value::as_object).unwrap_or(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::plan as plan_message;

    fn message(provider: &str, event_type: &str, data: &str) -> QueueMessage {
        QueueMessage {
            v: 1,
            provider: provider.into(),
            event_id: "u-1".into(),
            event_type: event_type.into(),
            received_at: "2026-11-22T10:00:00Z".into(),
            body: format!(r#"{{"uuid":"u-1","event":"{event_type}","data":{data}}}"#),
            ..QueueMessage::default()
        }
    }

    fn harbor(body: &str) -> QueueMessage {
        let event = parse_harbor_envelope(body.as_bytes()).unwrap();
        QueueMessage {
            v: 2,
            provider: "owlpay-harbor".into(),
            event_id: event.event_id,
            event_type: event.event_type,
            received_at: "2026-11-22T10:00:00Z".into(),
            body: body.into(),
            ..QueueMessage::default()
        }
    }

    #[test]
    fn a_harbor_transfer_is_a_state_that_never_goes_backwards() {
        let at = |status: &str, updated: &str| {
            harbor(&format!(
                r#"{{"data":{{"uuid":"transfer_9r1k","object":"transfer","status":"{status}","source":{{"asset":"USDC","amount":"1000.00"}},"updated_at":"{updated}"}}}}"#
            ))
        };
        let start = plan_message(&at(
            "pending_customer_transfer_start",
            "2025-02-11T06:35:50+00:00",
        ))
        .unwrap();
        let state = start.state().cloned().unwrap();
        assert_eq!(
            (state.order.kind, state.order.order_id.as_str()),
            (OrderKind::Transfer, "transfer_9r1k")
        );
        assert_eq!(
            (state.status.as_str(), state.status_rank),
            ("PENDING_CUSTOMER_TRANSFER_START", 1)
        );
        assert_eq!(
            (state.amount.as_deref(), state.currency.as_deref()),
            (Some("1000.00"), Some("USDC"))
        );
        assert_eq!(state.last_event_at, 1_739_255_750_000);
        let rank = |status: &str| {
            plan_message(&at(status, "2025-02-11T07:00:00+00:00"))
                .unwrap()
                .state()
                .unwrap()
                .status_rank
        };
        assert!(rank("pending_customer_transfer_start") < rank("pending_harbor"));
        assert!(rank("pending_harbor") < rank("completed"));
        assert_eq!(rank("failed"), rank("completed"));
        let customer = harbor(
            r#"{"data":{"uuid":"cus_1","object":"customer","status":"verified","updated_at":"2025-02-11T06:35:50+00:00"}}"#,
        );
        let plan = plan_message(&customer).unwrap();
        assert!(plan.state().is_none() && plan.known_type, "passed on");
    }

    #[test]
    fn each_refunded_event_is_a_change_of_its_own() {
        let data = r#"{"payment_intent":{"uuid":"pi_1","amount":"10.00"}}"#;
        let first = plan_message(&message("owlpay", "payment_intent.refunded", data)).unwrap();
        let mut second_message = message("owlpay", "payment_intent.refunded", data);
        second_message.event_id = "u-2".into();
        second_message.body = second_message.body.replace("u-1", "u-2");
        let second = plan_message(&second_message).unwrap();
        let (a, b) = (first.state().unwrap(), second.state().unwrap());
        assert_eq!(a.status, b.status);
        assert_ne!(
            a.detail, b.detail,
            "a second partial refund is a change of its own"
        );
    }

    #[test]
    fn is_test_is_read_as_owlpay_may_write_it() {
        for (value, test) in [
            ("1", true),
            ("true", true),
            (r#""1""#, true),
            ("0", false),
            ("false", false),
            ("null", false),
        ] {
            let mut m = message("owlpay", "order.received", r#"{"order":{"uuid":"o1"}}"#);
            m.body = m.body.replacen('{', &format!(r#"{{"is_test":{value},"#), 1);
            assert_eq!(plan_message(&m).unwrap().is_test, test, "{value}");
        }
        let m = message("owlpay", "order.received", r#"{"order":{"uuid":"o1"}}"#);
        assert!(!plan_message(&m).unwrap().is_test, "absent");
    }

    #[test]
    fn payout_orders_and_payment_intents_become_states() {
        let plan = plan_message(&message(
            "owlpay",
            "order.payout.succeed",
            r#"{"order":{"uuid":"ord_9","amount":100.5,"currency":"USD"}}"#,
        ))
        .unwrap();
        let state = plan.state().cloned().unwrap();
        assert_eq!(
            (state.order.kind, state.order.order_id.as_str()),
            (OrderKind::Order, "ord_9")
        );
        assert_eq!(
            (state.status.as_str(), state.status_rank),
            ("PAYOUT_SUCCEEDED", 3)
        );
        assert_eq!(state.amount.as_deref(), Some("100.5"));

        let harbor = plan_message(&message(
            "owlpay-harbor",
            "payment_intent.financial.reviewed",
            r#"{"uuid":"pi_1"}"#,
        ))
        .unwrap();
        let state = harbor.state().cloned().unwrap();
        assert_eq!(state.order.provider, "owlpay-harbor");
        assert_eq!(state.status, "FINANCIAL_REVIEWED");
        assert_eq!(state.order.kind, OrderKind::PaymentIntent);
    }

    #[test]
    fn a_capture_outranks_an_authorisation_and_a_refund_a_capture() {
        let rank = |e| payment_intent_rank(e).unwrap();
        assert!(rank("captured") > rank("authorized"));
        assert!(rank("refunded") > rank("payout_finished"));
        assert!(rank("voided") > rank("captured"));
        assert_eq!(payment_intent_rank("updated"), None);
    }

    #[test]
    fn renewal_is_flagged_and_its_secret_not_passed_on() {
        let plan = plan_message(&message(
            "owlpay",
            "webhook.renew.secret",
            r#"{"secret":"whs_the_new_secret"}"#,
        ))
        .unwrap();
        assert!(plan.secret_renewal());
        assert!(!plan.event_data.to_string().contains("whs_the_new_secret"));
    }

    #[test]
    fn other_events_pass_on_and_orders_without_ids_fail() {
        let vendor = plan_message(&message("owlpay", "vendor.created", "{}")).unwrap();
        assert!(vendor.known_type && vendor.state().is_none());
        assert!(plan_message(&message("owlpay", "order.received", "{}")).is_err());
    }
}
