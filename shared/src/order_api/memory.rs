//! In-memory order API for unit tests, the fault harness and the storm: orders set by the test,
//! changed at will; an order not set answers 404.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::time::Instant;

use super::{FetchError, OrderApi};
use crate::order::OrderRef;

/// Orders by their state key. Clones share the same orders.
#[derive(Clone, Debug, Default)]
pub struct MemoryOrderApi {
    orders: Arc<Mutex<HashMap<String, Value>>>,
}

impl MemoryOrderApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the API answers for `order` from now on.
    pub fn set(&self, order: &OrderRef, body: Value) {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(order.state_key(), body);
    }
}

impl OrderApi for MemoryOrderApi {
    async fn fetch(&self, order: &OrderRef, _deadline: Instant) -> Result<Value, FetchError> {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&order.state_key())
            .cloned()
            .ok_or(FetchError::Status { status: 404 })
    }
}
