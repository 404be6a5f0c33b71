//! What a store's failure is: the claim records, the order states and the watches all live in
//! one DynamoDB table (or in memory), and fail the same two ways. Which store failed is in the
//! error's context (the processor step, the poller step), not repeated in three error types.

use thiserror::Error;

/// The store failed; the text never holds record content beyond the key.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store returned an unexpected record for {key}: {reason}")]
    Corrupt { key: String, reason: String },
}
