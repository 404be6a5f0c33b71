//! The last known state of each order, and wallet movements, as events report them.
//!
//! A state is written only when it is not older than what is stored: ordered by the status's
//! rank first (a terminal status is never replaced by an intermediate one), then by the event's
//! time. So `order.partially_delivered` arriving after `order.delivered` leaves `DELIVERED`, and
//! writing the same event twice changes nothing. Only whitelisted, non-secret fields are stored:
//! never a voucher code, PIN, claim URL or activation code.

mod dynamodb;
mod memory;

use std::future::Future;

pub use dynamodb::DynamoOrderStateStore;
pub use memory::MemoryOrderStateStore;

use crate::idempotency::StoreError;
use crate::order::OrderRef;

/// An order's state as of one event.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderState {
    pub order: OrderRef,
    pub status: String,
    /// Higher ranks are later in the order's life; see the module docs.
    pub status_rank: u8,
    pub quantity: Option<i64>,
    pub delivered_quantity: Option<i64>,
    /// Decimal amounts as the provider wrote them, so no float rounding creeps in.
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub product_name: Option<String>,
    /// The client's own reference (`reference_code`, `client_reference`).
    pub reference: Option<String>,
    /// Epoch milliseconds of the event that reported this state.
    pub last_event_at: i64,
    pub last_event_id: String,
}

/// A balance movement of a wallet, one per event.
#[derive(Clone, Debug, PartialEq)]
pub struct WalletMovement {
    pub provider: String,
    pub event_id: String,
    /// `credited` or `debited`.
    pub direction: String,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub balance_after: Option<String>,
    pub transaction_id: Option<String>,
    pub occurred_at: i64,
}

impl WalletMovement {
    pub fn key(&self) -> String {
        format!("WALLET#{}#{}", self.provider, self.event_id)
    }
}

/// Whether a state write took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateWrite {
    Applied,
    /// A state at least as recent, or this same change, was stored already; nothing changed.
    Superseded,
}

pub trait OrderStateStore: Send + Sync {
    fn record_order(
        &self,
        state: &OrderState,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send;

    /// Records a movement once; a second write of the same event is `Superseded`.
    fn record_wallet(
        &self,
        movement: &WalletMovement,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send;
}

impl OrderState {
    /// What identifies the change this state records: its status and, for partial deliveries,
    /// how much was delivered. Two events reporting the same change (a webhook and a poll that
    /// both saw it) have the same change key, and only the first takes effect.
    pub fn change_key(&self) -> String {
        match self.delivered_quantity {
            Some(delivered) => format!("{}#{delivered}", self.status),
            None => self.status.clone(),
        }
    }
}

/// True when `new` may replace the stored state: a later status in the order's life, or a
/// later report of a different change at the same rank.
pub fn supersedes(new: &OrderState, stored_rank: u8, stored_at: i64, stored_change: &str) -> bool {
    new.status_rank > stored_rank
        || (new.status_rank == stored_rank
            && new.last_event_at > stored_at
            && new.change_key() != stored_change)
}
