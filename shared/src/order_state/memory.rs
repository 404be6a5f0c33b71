//! In-memory order state for unit tests and the local pipeline; same rules as DynamoDB's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{
    OrderState, OrderStateStore, OrderWrite, Publication, StateWrite, StoredHead, WalletMovement,
    WalletState, decide,
};
use crate::store::StoreError;

/// An order's item: its current state and every change recorded for it.
#[derive(Clone, Debug)]
struct Item {
    state: OrderState,
    head: StoredHead,
}

#[derive(Clone, Debug, Default)]
pub struct MemoryOrderStateStore {
    orders: Arc<Mutex<HashMap<String, Item>>>,
    wallet: Arc<Mutex<HashMap<String, WalletMovement>>>,
    wallets: Arc<Mutex<HashMap<String, WalletState>>>,
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
            .map(|item| item.state.clone())
    }

    /// Every change recorded for the order: change key → the event that reported it first.
    pub fn changes(&self, key: &str) -> Vec<(String, String)> {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .map(|item| {
                item.head
                    .changes
                    .iter()
                    .map(|(key, record)| (key.clone(), record.owner.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every order's state, for comparing two runs.
    pub fn snapshot(&self) -> Vec<OrderState> {
        let orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let mut states: Vec<OrderState> = orders.values().map(|i| i.state.clone()).collect();
        states.sort_by_key(|s| s.order.state_key());
        states
    }

    pub fn wallet_state(&self, key: &str) -> Option<WalletState> {
        self.wallets
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
    async fn record_order(
        &self,
        state: &OrderState,
        publication: Publication,
    ) -> Result<OrderWrite, StoreError> {
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let key = state.order.state_key();
        let stored = orders.get(&key);
        let decision = decide(stored.map(|item| &item.head), state, publication);
        if decision.record_change {
            let mut item = match stored {
                Some(item) if !decision.replace_state => item.clone(),
                Some(item) => Item {
                    state: state.clone(),
                    head: StoredHead {
                        changes: item.head.changes.clone(),
                        ..state.head()
                    },
                },
                None => Item {
                    state: state.clone(),
                    head: state.head(),
                },
            };
            item.head
                .changes
                .insert(state.change_key(), state.change_record(publication));
            orders.insert(key, item);
        }
        Ok(decision.into_write())
    }

    async fn record_wallet(&self, movement: &WalletMovement) -> Result<StateWrite, StoreError> {
        let earlier = {
            let mut wallet = self.wallet.lock().unwrap_or_else(PoisonError::into_inner);
            match wallet.get(&movement.key()) {
                // Another event (a webhook and a poll of one transaction) recorded it first.
                Some(recorded) if recorded.owner() != movement.owner() => {
                    return Ok(StateWrite::KnownChange);
                }
                Some(_) => true,
                None => {
                    wallet.insert(movement.key(), movement.clone());
                    false
                }
            }
        };
        let current = match movement.wallet_state() {
            None => true,
            Some((key, id)) => {
                let mut wallets = self.wallets.lock().unwrap_or_else(PoisonError::into_inner);
                match WalletState::after(wallets.get(&key), movement, id) {
                    Some(next) => {
                        wallets.insert(key, next);
                        true
                    }
                    None => wallets
                        .get(&key)
                        .is_some_and(|s| s.last_transaction_id == id),
                }
            }
        };
        Ok(match earlier {
            true => StateWrite::RecordedEarlier { current },
            false => StateWrite::Recorded { current },
        })
    }
}
