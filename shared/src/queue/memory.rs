//! In-memory queue for unit tests and the local dev loop (`hookline serve`). A FIFO one
//! ([`MemoryQueue::fifo`]) drops a message whose deduplication id it accepted less than five
//! minutes before, on the clock it is given, as an SQS FIFO queue does: what it holds is what a
//! consumer receives.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{OutgoingMessage, Queue, QueueError};
use crate::clock::Clock;

/// How long an SQS FIFO queue remembers a deduplication id ("Exactly-once processing in Amazon
/// SQS", SQS Developer Guide: five minutes).
pub const FIFO_DEDUPLICATION_WINDOW_SECS: i64 = 300;

/// A message held by a [`MemoryQueue`], with the id the queue gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub message: OutgoingMessage,
}

/// Deduplication ids a FIFO queue accepted, with when (epoch seconds).
type SeenIds = HashMap<String, i64>;

/// A FIFO of messages in this process. Clones share the same queue.
#[derive(Clone, Debug, Default)]
pub struct MemoryQueue {
    messages: Arc<Mutex<VecDeque<QueuedMessage>>>,
    next_id: Arc<AtomicU64>,
    /// Set for a FIFO queue: its clock, and when each deduplication id was last accepted.
    deduplication: Option<(Clock, Arc<Mutex<SeenIds>>)>,
    dropped: Arc<AtomicU64>,
}

impl MemoryQueue {
    /// A queue that keeps every message sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// A FIFO queue: a message whose deduplication id was accepted within the last
    /// [`FIFO_DEDUPLICATION_WINDOW_SECS`] on `clock` is answered as sent and dropped.
    pub fn fifo(clock: Clock) -> Self {
        Self {
            deduplication: Some((clock, Arc::default())),
            ..Self::default()
        }
    }

    /// Copies a FIFO queue dropped within its deduplication window.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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
        if let (Some((clock, seen)), Some(id)) = (&self.deduplication, &message.deduplication_id) {
            let now = clock.now_unix();
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            match seen.get(id) {
                Some(at) if now - at < FIFO_DEDUPLICATION_WINDOW_SECS => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(message_id);
                }
                _ => {
                    seen.insert(id.clone(), now);
                }
            }
        }
        self.lock().push_back(QueuedMessage {
            message_id: message_id.clone(),
            message: message.clone(),
        });
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> OutgoingMessage {
        OutgoingMessage {
            body: "{}".into(),
            attributes: Vec::new(),
            group_id: Some("g".into()),
            deduplication_id: Some(id.into()),
        }
    }

    #[tokio::test]
    async fn a_fifo_queue_drops_a_repeat_within_five_minutes_and_keeps_one_after() {
        let clock = Clock::manual(1_000);
        let queue = MemoryQueue::fifo(clock.clone());
        queue.send(&message("a")).await.unwrap();
        clock.advance(FIFO_DEDUPLICATION_WINDOW_SECS - 1);
        queue.send(&message("a")).await.unwrap();
        assert_eq!((queue.len(), queue.dropped()), (1, 1));
        clock.advance(1);
        queue.send(&message("a")).await.unwrap();
        assert_eq!((queue.len(), queue.dropped()), (2, 1));
    }
}
