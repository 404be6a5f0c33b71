//! Test events: what `hookline smoke` signs and sends through a deployed stack, to prove each
//! webhook route end to end (signature, ingest queue, claim, order update) without touching an
//! order.
//!
//! A test event is an ordinary signed webhook of the type [`TEST_EVENT_TYPE`], in its provider's
//! own body shape ([`ProviderSpec::test_event`](crate::providers::ProviderSpec)). Its receiver
//! verifies and enqueues it like any other. The processor claims it like any other, then, before
//! any provider rule, plans it here: no state recorded, nothing fetched, nothing watched, one
//! order update of type `hookline.test` published (downstream consumers skip that type). Only
//! the holder of a route's signing secret can send one, and all it can do is that.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::message::QueueMessage;
use crate::plan::{Plan, PlanError, received_millis};

/// The event type of a test event, whatever the provider.
pub const TEST_EVENT_TYPE: &str = "hookline.test";

/// What a provider's test event body carries.
#[derive(Clone, Copy, Debug)]
pub struct TestEvent<'a> {
    /// A fresh id, unique per smoke run and route.
    pub id: &'a str,
    pub at: OffsetDateTime,
}

impl TestEvent<'_> {
    /// `at` as RFC 3339, as the providers' bodies write times.
    pub fn at_rfc3339(&self) -> String {
        self.at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

pub fn is_test_event(message: &QueueMessage) -> bool {
    message.event_type == TEST_EVENT_TYPE
}

/// A test event's plan: its order update only, timed when the queue received it.
pub fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    let mut plan = Plan::pass_on(received_millis(message)?, Value::Object(Map::new()), true);
    plan.is_test = true;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    #[test]
    fn a_test_event_records_and_fetches_nothing_and_is_published() {
        let message = QueueMessage {
            v: 1,
            provider: "octopus".into(),
            event_id: "hookline-test-1".into(),
            event_type: TEST_EVENT_TYPE.into(),
            received_at: "2026-11-26T10:00:00Z".into(),
            body: "{}".into(),
            ..QueueMessage::default()
        };
        assert!(is_test_event(&message));
        let plan = plan(&message).unwrap();
        assert_eq!(plan.action, Action::PassOn);
        assert!(plan.known_type && plan.is_test && !plan.fetches() && !plan.watches());
        assert_eq!(plan.subject_key(), None);
        assert_eq!(plan.occurred_at, 1_795_687_200_000);
    }
}
