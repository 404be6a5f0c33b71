//! Where messages go: the `Queue` port and its adapters. A queue carries encoded messages (a
//! body and string attributes), whatever their contract: ingest events, order updates.

mod memory;
mod sqs;

use std::future::Future;

use thiserror::Error;

pub use memory::{FIFO_DEDUPLICATION_WINDOW_SECS, MemoryQueue, QueuedMessage};
pub use sqs::SqsQueue;

/// A message ready to send: its body and its string message attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    pub attributes: Vec<(&'static str, String)>,
    /// FIFO queues: messages of one group are delivered in order.
    pub group_id: Option<String>,
    /// FIFO queues: a second message with the same id within five minutes is dropped.
    pub deduplication_id: Option<String>,
}

impl OutgoingMessage {
    /// Size as SQS counts it against its limit: the body plus each attribute's name, data type
    /// (`String`) and value.
    pub fn sqs_size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>()
    }
}

/// `json` as SQS carries it: SQS refuses a message holding U+FFFE or U+FFFF (its character set
/// is `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`, SendMessage's
/// "MessageBody"), which serde_json writes as they are. In JSON text they can only be inside
/// strings, where `\uFFFE` / `\uFFFF` read back as the same characters: the content is exact.
pub fn sqs_safe_json(json: String) -> String {
    if json.contains(['\u{FFFE}', '\u{FFFF}']) {
        json.replace('\u{FFFE}', "\\uFFFE")
            .replace('\u{FFFF}', "\\uFFFF")
    } else {
        json
    }
}

/// A FIFO message group id for `key`: the key itself when SQS takes it (1 to 128 characters,
/// letters, digits and ASCII punctuation: SendMessage, "MessageGroupId"), otherwise a digest of
/// it under the same readable prefix. Either way one key is always one group, so its order holds.
pub fn fifo_group_id(prefix: &str, key: &str) -> String {
    let plain = format!("{prefix}{key}");
    let fits = |text: &str| {
        !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic())
    };
    if fits(&plain) {
        return plain;
    }
    let digest = &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()))[..40];
    let hashed = format!("{prefix}h{digest}");
    if fits(&hashed) {
        hashed
    } else {
        format!("h{digest}")
    }
}

/// Why a message could not be enqueued. The text names the cause, never the message content.
#[derive(Debug, Error)]
pub enum QueueError {
    #[error("the queue did not accept the message: {0}")]
    Unavailable(String),
}

/// A queue that durably accepts messages.
pub trait Queue: Send + Sync {
    /// Sends one message; returns the queue's message id once the queue has accepted it.
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = Result<String, QueueError>> + Send;

    /// Sends several messages, each accepted or refused on its own: one result per message, in
    /// their order. One at a time by default; SQS takes ten per request (one request billed).
    fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Vec<Result<String, QueueError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(messages.len());
            for message in messages {
                results.push(self.send(message).await);
            }
            results
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_noncharacters_is_escaped_and_reads_back_the_same() {
        let value = serde_json::json!({"note": "a\u{FFFE}b\u{FFFF}"});
        let safe = sqs_safe_json(value.to_string());
        assert!(!safe.contains(['\u{FFFE}', '\u{FFFF}']));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }

    #[test]
    fn a_group_id_sqs_would_refuse_becomes_a_stable_digest() {
        assert_eq!(fifo_group_id("octopus#order#", "123"), "octopus#order#123");
        for key in ["caf\u{e9} 1", &"9".repeat(128), "a b"] {
            let id = fifo_group_id("octopus#order#", key);
            assert!(
                id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()),
                "{id}"
            );
            assert_eq!(
                id,
                fifo_group_id("octopus#order#", key),
                "one key, one group"
            );
        }
        assert_ne!(fifo_group_id("p#", "a b"), fifo_group_id("p#", "a c"));
    }
}
