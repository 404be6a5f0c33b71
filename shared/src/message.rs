//! The ingest queue message (contract v1): what a receiver sends and the processor reads.
//!
//! The raw body is kept exactly as received so a message can be re-verified, replayed, or parsed
//! again after a parser fix.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::queue::OutgoingMessage;
use time::format_description::well_known::Rfc3339;

pub const MESSAGE_VERSION: u8 = 1;

/// The most SQS takes in one message: body plus attribute names, types and values
/// ([`OutgoingMessage::sqs_size`]). The ingest
/// queue's `MaximumMessageSize` is set to the same figure in `template.yaml`.
pub const SQS_MAX_MESSAGE_BYTES: usize = 262_144;

/// Message attribute names, for filtering and for the dashboard.
pub const ATTR_PROVIDER: &str = "provider";
pub const ATTR_EVENT_TYPE: &str = "event_type";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub v: u8,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    /// RFC 3339, UTC, whole seconds.
    pub received_at: String,
    /// The request body exactly as received.
    pub body: String,
}

impl QueueMessage {
    pub fn new(
        provider: &str,
        event_id: &str,
        event_type: &str,
        received_at: OffsetDateTime,
        body: String,
    ) -> Self {
        Self {
            v: MESSAGE_VERSION,
            provider: provider.to_string(),
            event_id: event_id.to_string(),
            event_type: event_type.to_string(),
            received_at: format_rfc3339(received_at),
            body,
        }
    }

    /// The message body as sent to SQS.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The message as sent: JSON body, `provider` and `event_type` attributes.
    pub fn encode(&self) -> OutgoingMessage {
        OutgoingMessage {
            body: self.to_json(),
            attributes: vec![
                (ATTR_PROVIDER, self.provider.clone()),
                (ATTR_EVENT_TYPE, self.event_type.clone()),
            ],
            group_id: None,
            deduplication_id: None,
        }
    }

    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

fn format_rfc3339(at: OffsetDateTime) -> String {
    let whole_seconds = at.replace_nanosecond(0).unwrap_or(at);
    whole_seconds
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn serialises_to_the_v1_contract() {
        let message = QueueMessage::new(
            "octopus",
            "evt_abc123",
            "order.delivered",
            datetime!(2026-11-22 10:00:00.123 UTC),
            r#"{"id":"evt_abc123"}"#.to_string(),
        );
        let json: serde_json::Value = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "v": 1, "provider": "octopus", "event_id": "evt_abc123",
                "event_type": "order.delivered", "received_at": "2026-11-22T10:00:00Z",
                "body": "{\"id\":\"evt_abc123\"}"
            })
        );
        assert_eq!(
            QueueMessage::from_json(&message.to_json()).unwrap(),
            message
        );
    }

    #[test]
    fn size_counts_body_and_attributes() {
        let message = QueueMessage::new(
            "octopus",
            "e",
            "t",
            datetime!(2026-11-22 10:00:00 UTC),
            String::new(),
        );
        let encoded = message.encode();
        let attributes = "provider".len() + 6 + 7 + "event_type".len() + 6 + 1;
        assert_eq!(encoded.sqs_size(), encoded.body.len() + attributes);
    }
}
