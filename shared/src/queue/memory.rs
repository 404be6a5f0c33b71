//! In-memory queue for unit tests and the local dev loop (`hookline serve`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{OutgoingMessage, Queue, QueueError};

/// A message held by a [`MemoryQueue`], with the id the queue gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub message: OutgoingMessage,
}

/// A FIFO of messages in this process. Clones share the same queue.
#[derive(Clone, Debug, Default)]
pub struct MemoryQueue {
    messages: Arc<Mutex<VecDeque<QueuedMessage>>>,
    next_id: Arc<AtomicU64>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns up to `max` messages, oldest first.
    pub fn take(&self, max: usize) -> Vec<QueuedMessage> {
        let mut messages = self.lock();
        let n = max.min(messages.len());
        messages.drain(..n).collect()
    }

    /// Every message held, oldest first, left in the queue.
    pub fn messages(&self) -> Vec<QueuedMessage> {
        self.lock().iter().cloned().collect()
    }

    /// Puts a taken message back at the end of the queue, keeping its id (a redelivery).
    pub fn requeue(&self, message: QueuedMessage) {
        self.lock().push_back(message);
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<QueuedMessage>> {
        // A panic while holding the lock cannot leave a VecDeque half-updated.
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, QueueError> {
        let message_id = format!("mem-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        self.lock().push_back(QueuedMessage {
            message_id: message_id.clone(),
            message: message.clone(),
        });
        Ok(message_id)
    }
}
