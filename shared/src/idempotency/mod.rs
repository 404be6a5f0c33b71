//! Exactly-once processing of events delivered at least once: the claim record of each event,
//! after Powertools' idempotency utility.
//!
//! Before working on an event the processor claims it: a conditional write of
//! `EVENT#{provider}#{event_id}` with status `IN_PROGRESS` and a lease. The claim succeeds when
//! no record exists, or when an earlier claim's lease ran out without completing (the process
//! that held it crashed). On success the record becomes `COMPLETED` and later deliveries are
//! duplicates; on failure the lease is released so a redelivery can start at once. Every record
//! expires (`expires_at`, DynamoDB TTL) after a window longer than any provider's retries.
//!
//! The record holds the SHA-256 of the body, never the body: an event id seen again with a
//! different body is a conflict, reported, never processed silently.

mod dynamodb;
mod memory;

use std::future::Future;

use sha2::{Digest, Sha256};

use crate::store::StoreError;

pub use dynamodb::DynamoEventStore;
pub use memory::MemoryEventStore;

pub const STATUS_IN_PROGRESS: &str = "IN_PROGRESS";
pub const STATUS_COMPLETED: &str = "COMPLETED";

/// Default lifetime of a claim record: longer than any provider's retry window.
pub const DEFAULT_RECORD_TTL_SECS: i64 = 7 * 24 * 3600;

/// The table key of an event's claim record.
pub fn event_key(provider: &str, event_id: &str) -> String {
    format!("EVENT#{provider}#{event_id}")
}

/// Lowercase-hex SHA-256 of a body.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What the processor asks for when it claims an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// `EVENT#{provider}#{event_id}`.
    pub key: String,
    pub body_sha256: String,
    /// Unique per claim attempt, so only the holder can complete or release it.
    pub lease_token: String,
    /// Epoch seconds.
    pub now: i64,
    /// Epoch seconds; bounded by the Lambda's remaining time.
    pub lease_until: i64,
    /// Epoch seconds; the record's TTL.
    pub expires_at: i64,
    /// The table key of what the event changes (an order's state, a wallet movement), kept on
    /// the record so an operator can go from an event to its effect.
    pub subject_key: Option<String>,
}

/// The outcome of a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This process holds the event now. `attempts` counts claims so far, this one included;
    /// above 1 it took over an expired lease.
    Acquired { attempts: u32 },
    /// Processed already: acknowledge the delivery.
    AlreadyCompleted,
    /// Another process holds a live lease: try again later.
    InProgress { lease_until: i64 },
    /// The same event id arrived with a different body.
    Conflict,
}

/// The state of an existing record, as far as a claim needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingRecord {
    pub status: String,
    pub lease_until: i64,
    pub body_sha256: String,
}

impl ExistingRecord {
    /// Why a claim on this record was refused, or `None` when it may be taken over.
    pub fn refusal(&self, request: &ClaimRequest) -> Option<Claim> {
        if self.body_sha256 != request.body_sha256 {
            return Some(Claim::Conflict);
        }
        if self.status == STATUS_COMPLETED {
            return Some(Claim::AlreadyCompleted);
        }
        if self.lease_until >= request.now {
            return Some(Claim::InProgress {
                lease_until: self.lease_until,
            });
        }
        None
    }
}

/// Claim records of events.
pub trait EventStore: Send + Sync {
    fn claim(
        &self,
        request: &ClaimRequest,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Marks the claim COMPLETED. Returns false when the lease was no longer this holder's
    /// (it expired and another process took the event over).
    fn complete(
        &self,
        key: &str,
        lease_token: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives up the claim so a redelivery can take it at once. The record (and its attempt
    /// count) stays; only the lease ends.
    fn release(
        &self,
        key: &str,
        lease_token: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ClaimRequest {
        ClaimRequest {
            key: event_key("octopus", "evt_1"),
            body_sha256: body_sha256(b"{}"),
            lease_token: "t".into(),
            now: 1000,
            lease_until: 1060,
            expires_at: 1000 + DEFAULT_RECORD_TTL_SECS,
            subject_key: None,
        }
    }

    fn existing(status: &str, lease_until: i64, body: &[u8]) -> ExistingRecord {
        ExistingRecord {
            status: status.into(),
            lease_until,
            body_sha256: body_sha256(body),
        }
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        // printf 'abc' | sha256sum
        assert_eq!(
            body_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn completed_is_a_duplicate() {
        assert_eq!(
            existing(STATUS_COMPLETED, 0, b"{}").refusal(&request()),
            Some(Claim::AlreadyCompleted)
        );
    }

    #[test]
    fn live_lease_is_in_progress_and_expired_lease_is_taken_over() {
        assert_eq!(
            existing(STATUS_IN_PROGRESS, 1000, b"{}").refusal(&request()),
            Some(Claim::InProgress { lease_until: 1000 })
        );
        assert_eq!(
            existing(STATUS_IN_PROGRESS, 999, b"{}").refusal(&request()),
            None
        );
    }

    #[test]
    fn different_body_is_a_conflict_whatever_the_status() {
        for status in [STATUS_COMPLETED, STATUS_IN_PROGRESS] {
            assert_eq!(
                existing(status, 0, b"{\"x\":1}").refusal(&request()),
                Some(Claim::Conflict)
            );
        }
    }
}
