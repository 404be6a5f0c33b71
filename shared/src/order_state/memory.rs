//! In-memory order state for unit tests and the local pipeline; same rules as DynamoDB's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{OrderState, OrderStateStore, StateWrite, WalletMovement, supersedes};
use crate::idempotency::StoreError;

#[derive(Clone, Debug, Default)]
pub struct MemoryOrderStateStore {
    orders: Arc<Mutex<HashMap<String, OrderState>>>,
    wallet: Arc<Mutex<HashMap<String, WalletMovement>>>,
}

impl MemoryOrderStateStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn order(&self, key: &str) -> Option<OrderState> {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    pub fn wallet_movements(&self) -> usize {
        self.wallet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl OrderStateStore for MemoryOrderStateStore {
    async fn record_order(&self, state: &OrderState) -> Result<StateWrite, StoreError> {
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let key = state.order.state_key();
        if let Some(stored) = orders.get(&key)
            && !supersedes(
                state,
                stored.status_rank,
                stored.last_event_at,
                &stored.change_key(),
            )
        {
            return Ok(StateWrite::Superseded);
        }
        orders.insert(key, state.clone());
        Ok(StateWrite::Applied)
    }

    async fn record_wallet(&self, movement: &WalletMovement) -> Result<StateWrite, StoreError> {
        let mut wallet = self.wallet.lock().unwrap_or_else(PoisonError::into_inner);
        if wallet.contains_key(&movement.key()) {
            return Ok(StateWrite::Superseded);
        }
        wallet.insert(movement.key(), movement.clone());
        Ok(StateWrite::Applied)
    }
}
