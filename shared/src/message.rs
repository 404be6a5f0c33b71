//! The ingest queue message (contract v2): what a receiver sends and the processor reads.
//!
//! The raw body is kept exactly as received, with the headers its verification read (and, for
//! per-source routes, the source), so a message can be verified again, replayed, or parsed again
//! after a parser fix. Contract v1 (without them) is still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::queue::{OutgoingMessage, sqs_safe_json};
use time::format_description::well_known::Rfc3339;

pub const MESSAGE_VERSION: u8 = 2;
/// The versions the processor reads: v1 lacks the verification headers.
pub const READ_VERSIONS: [u8; 2] = [1, 2];

/// The most SQS takes in one message: body plus attribute names, types and values
/// ([`OutgoingMessage::sqs_size`]). The ingest
/// queue's `MaximumMessageSize` is set to the same figure in `template.yaml`.
pub const SQS_MAX_MESSAGE_BYTES: usize = 262_144;

/// Message attribute names, for filtering and for the dashboard.
pub const ATTR_PROVIDER: &str = "provider";
pub const ATTR_EVENT_TYPE: &str = "event_type";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub v: u8,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    /// RFC 3339, UTC, whole seconds.
    pub received_at: String,
    /// The request body exactly as received.
    pub body: String,
    /// The headers verification read (lowercase names), as received; never a plain-text
    /// secret (v2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The route's path parameter when it names a source (never a token) (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_param: Option<String>,
    /// Found by hookline's poller, not sent by the provider: no signature to verify (v2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub polled: bool,
    /// Set by `hookline replay --from-archive` (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayMark>,
}

/// How a replayed message is to be processed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayMark {
    /// The replay run: one id per `hookline replay` command (for logs).
    pub id: String,
    /// Run the event's effects again although it was processed (after a parser fix): the
    /// processor claims it under a key of its own and publishes only what was not published
    /// the first time.
    #[serde(default)]
    pub reprocess: bool,
    /// Whether hookline knew the event's type when it first processed it (from the archive):
    /// an event unknown then had no order update, so a reprocess publishes one.
    #[serde(default)]
    pub known_at_first: bool,
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
            headers: BTreeMap::new(),
            route_param: None,
            polled: false,
            replay: None,
        }
    }

    /// The message with what verifying its request again needs.
    pub fn with_verification(
        mut self,
        headers: BTreeMap<String, String>,
        route_param: Option<String>,
    ) -> Self {
        self.headers = headers;
        self.route_param = route_param;
        self
    }

    /// The message of a change hookline's poller found.
    pub fn polled(mut self) -> Self {
        self.polled = true;
        self
    }

    /// The message body as sent to SQS: JSON, with the characters SQS refuses escaped
    /// ([`sqs_safe_json`]), so the raw body stays exact.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings cannot fail.
        sqs_safe_json(serde_json::to_string(self).unwrap_or_default())
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
    fn serialises_to_the_v2_contract_and_reads_v1() {
        let message = QueueMessage::new(
            "std:acme",
            "msg_1",
            "invoice.paid",
            datetime!(2026-11-22 10:00:00.123 UTC),
            r#"{"id":"msg_1"}"#.to_string(),
        )
        .with_verification(
            BTreeMap::from([("webhook-signature".to_string(), "v1,abc".to_string())]),
            Some("acme".into()),
        );
        let json: serde_json::Value = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "v": 2, "provider": "std:acme", "event_id": "msg_1",
                "event_type": "invoice.paid", "received_at": "2026-11-22T10:00:00Z",
                "body": "{\"id\":\"msg_1\"}",
                "headers": {"webhook-signature": "v1,abc"}, "route_param": "acme"
            })
        );
        assert_eq!(
            QueueMessage::from_json(&message.to_json()).unwrap(),
            message
        );
        let v1 = r#"{"v":1,"provider":"octopus","event_id":"evt_abc123","event_type":"order.delivered","received_at":"2026-11-22T10:00:00Z","body":"{}"}"#;
        let read = QueueMessage::from_json(v1).unwrap();
        assert_eq!((read.v, read.headers.len(), read.route_param), (1, 0, None));
        assert!(READ_VERSIONS.contains(&read.v));
    }

    #[test]
    fn noncharacters_sqs_refuses_are_escaped_and_read_back_exactly() {
        let body = "{\"note\":\"a\u{FFFE}b\u{FFFF}c\"}".to_string();
        let message = QueueMessage::new("octopus", "e1", "t", OffsetDateTime::UNIX_EPOCH, body);
        let json = message.to_json();
        assert!(!json.contains(['\u{FFFE}', '\u{FFFF}']), "{json}");
        assert_eq!(QueueMessage::from_json(&json).unwrap(), message);
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
