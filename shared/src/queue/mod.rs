//! Where receivers put verified events: the `Queue` port and its adapters.

mod memory;
mod sqs;

use std::future::Future;

use thiserror::Error;

use crate::message::QueueMessage;

pub use memory::MemoryQueue;
pub use sqs::SqsQueue;

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
        message: &QueueMessage,
    ) -> impl Future<Output = Result<String, QueueError>> + Send;
}
