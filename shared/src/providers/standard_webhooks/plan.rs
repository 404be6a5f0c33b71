//! Standard Webhooks senders (`std:{source}`): hookline knows nothing of their payloads, so each
//! event is passed on to the order-updates queue as it came, once, with no state.

use serde_json::Value;

use crate::message::QueueMessage;
use crate::plan::{Plan, PlanError, received_millis};

pub(crate) fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let payload: Value = serde_json::from_str(&message.body)
        .map_err(|_| PlanError::malformed(message, "not JSON"))?;
    // By convention the payload is `{type, timestamp, data}`; pass on `data` when it is there.
    let data = match payload {
        Value::Object(mut map) if map.get("data").is_some_and(Value::is_object) => {
            map.remove("data").unwrap_or_default()
        }
        other => other,
    };
    Ok(Plan::pass_on(received_millis(message)?, data, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::plan as plan_message;

    #[test]
    fn events_are_passed_on_with_their_data() {
        let message = QueueMessage {
            v: 1,
            provider: "std:acme".into(),
            event_id: "msg_1".into(),
            event_type: "invoice.paid".into(),
            received_at: "2026-11-22T10:00:00Z".into(),
            body: r#"{"type":"invoice.paid","data":{"id":"inv_1"}}"#.into(),
            ..QueueMessage::default()
        };
        let plan = plan_message(&message).unwrap();
        assert_eq!(plan.event_data["id"], "inv_1");
        assert!(plan.state().is_none() && !plan.fetches() && plan.known_type);
    }
}
