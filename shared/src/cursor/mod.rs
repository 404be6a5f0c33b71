//! Cursors: how far a polled list has been read (today: each Octopus wallet's transactions),
//! so each poll enqueues only what is new. A cursor only moves forward, and only from the
//! position its mover read: two pollers never both move it.

mod dynamodb;
mod memory;

use std::future::Future;

pub use dynamodb::DynamoCursorStore;
pub use memory::MemoryCursorStore;

use crate::store::StoreError;

/// Where cursors live (the events table in AWS).
pub trait CursorStore: Send + Sync {
    /// The cursor's position, `None` before its first poll.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Moves the cursor from `from` (what was read) to `to`. False when it was not at `from`
    /// any more (another poll moved it): nothing is written.
    fn advance(
        &self,
        key: &str,
        from: Option<i64>,
        to: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
