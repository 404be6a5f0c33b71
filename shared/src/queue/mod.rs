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
