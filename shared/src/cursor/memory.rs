//! In-memory cursors for unit tests and the local pipeline; same rules as DynamoDB's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::CursorStore;
use crate::store::StoreError;

#[derive(Clone, Debug, Default)]
pub struct MemoryCursorStore {
    cursors: Arc<Mutex<HashMap<String, i64>>>,
}

impl MemoryCursorStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl CursorStore for MemoryCursorStore {
    async fn get(&self, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .cursors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied())
    }

    async fn advance(&self, key: &str, from: Option<i64>, to: i64) -> Result<bool, StoreError> {
        let mut cursors = self.cursors.lock().unwrap_or_else(PoisonError::into_inner);
        if cursors.get(key).copied() != from {
            return Ok(false);
        }
        cursors.insert(key.to_string(), to);
        Ok(true)
    }
}
