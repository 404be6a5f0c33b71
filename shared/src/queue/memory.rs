//! In-memory queue for unit tests and the local dev loop (`hookline serve`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Queue, QueueError};
use crate::message::QueueMessage;

/// A FIFO of messages in this process. Clones share the same queue.
#[derive(Clone, Debug, Default)]
pub struct MemoryQueue {
    messages: Arc<Mutex<VecDeque<(String, QueueMessage)>>>,
    next_id: Arc<Mutex<u64>>,
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

    /// Removes and returns up to `max` messages, oldest first, with their ids.
    pub fn take(&self, max: usize) -> Vec<(String, QueueMessage)> {
        let mut messages = self.lock();
        let n = max.min(messages.len());
        messages.drain(..n).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, QueueMessage)>> {
        // A panic while holding the lock cannot leave a VecDeque half-updated.
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: &QueueMessage) -> Result<String, QueueError> {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            format!("mem-{next}")
        };
        self.lock().push_back((id.clone(), message.clone()));
        Ok(id)
    }
}
