//! In-memory event store for unit tests and the local pipeline; same rules as DynamoDB's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{
    Claim, ClaimRequest, EventStore, ExistingRecord, STATUS_COMPLETED, STATUS_IN_PROGRESS,
    StoreError,
};

#[derive(Clone, Debug)]
struct Record {
    existing: ExistingRecord,
    lease_token: Option<String>,
    attempts: u32,
}

/// Claim records in a map. Clones share the same records.
#[derive(Clone, Debug, Default)]
pub struct MemoryEventStore {
    records: Arc<Mutex<HashMap<String, Record>>>,
}

impl MemoryEventStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The record's status and attempt count, for tests and `inspect`.
    pub fn status(&self, key: &str) -> Option<(String, u32)> {
        self.lock()
            .get(key)
            .map(|r| (r.existing.status.clone(), r.attempts))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventStore for MemoryEventStore {
    async fn claim(&self, request: &ClaimRequest) -> Result<Claim, StoreError> {
        let mut records = self.lock();
        let attempts = match records.get(&request.key) {
            Some(record) => {
                if let Some(refusal) = record.existing.refusal(request) {
                    return Ok(refusal);
                }
                record.attempts + 1
            }
            None => 1,
        };
        records.insert(
            request.key.clone(),
            Record {
                existing: ExistingRecord {
                    status: STATUS_IN_PROGRESS.into(),
                    lease_until: request.lease_until,
                    body_sha256: request.body_sha256.clone(),
                },
                lease_token: Some(request.lease_token.clone()),
                attempts,
            },
        );
        Ok(Claim::Acquired { attempts })
    }

    async fn complete(&self, key: &str, lease_token: &str, _now: i64) -> Result<bool, StoreError> {
        let mut records = self.lock();
        match records.get_mut(key) {
            Some(record) if record.lease_token.as_deref() == Some(lease_token) => {
                record.existing.status = STATUS_COMPLETED.into();
                record.lease_token = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, key: &str, lease_token: &str) -> Result<(), StoreError> {
        if let Some(record) = self.lock().get_mut(key)
            && record.lease_token.as_deref() == Some(lease_token)
            && record.existing.status == STATUS_IN_PROGRESS
        {
            record.existing.lease_until = 0;
            record.lease_token = None;
        }
        Ok(())
    }
}
