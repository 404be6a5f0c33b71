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
    /// Orders whose answer moves on with each fetch: the answers still to give, the last kept.
    sequences: Arc<Mutex<HashMap<String, Vec<Value>>>>,
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

    /// What the API answers for `order`: `answers[0]` at the next fetch, then each in turn, the
    /// last one from then on (a payment captured between two fetches of one notification).
    pub fn set_sequence(&self, order: &OrderRef, answers: Vec<Value>) {
        let mut answers = answers;
        answers.reverse();
        self.sequences
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(order.state_key(), answers);
    }
}

impl OrderApi for MemoryOrderApi {
    async fn fetch(&self, order: &OrderRef, _deadline: Instant) -> Result<Value, FetchError> {
        let key = order.state_key();
        if let Some(answers) = self
            .sequences
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&key)
        {
            let answer = match answers.len() {
                0 => None,
                1 => answers.last().cloned(),
                _ => answers.pop(),
            };
            if let Some(answer) = answer {
                return Ok(answer);
            }
        }
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&order.state_key())
            .cloned()
            .ok_or(FetchError::Status { status: 404 })
    }
}
