//! The last known state of each order, every change it went through, and wallet movements.
//!
//! An order item holds its current state and a map of every change recorded for it (change key
//! → the event that reported it first, the change's status and how its order update is
//! published: [`ChangeRecord`]). A state write ([`decide`], pure, the same for DynamoDB
//! and memory) distinguishes three cases, which is what makes redelivery safe:
//! - a change never seen before is recorded, and becomes the current state when it is newer
//!   ([`is_newer`]): by rank first (a terminal status outranks every lifecycle status), then by
//!   progress within a rank (a delivered quantity only grows), and only then by the event's time;
//! - a change this same event recorded on an earlier attempt: nothing is written, and the
//!   processor runs the steps after the write again (a failed publish or watch is retried);
//! - a change another event recorded first: nothing is written and nothing is published.
//!
//! In every case the write also returns the other changes this same event recorded on earlier
//! attempts ([`OrderWrite::earlier`]): an API whose answer moved on between two attempts (Optty
//! AUTHORIZED, then CAPTURED) leaves the first attempt's change recorded, perhaps never
//! published, and the redelivery publishes it again under its own identity.
//!
//! Only whitelisted, non-secret fields are stored: never a voucher code, PIN, claim URL or
//! activation code.
//!
//! The change map grows by one short entry per distinct change of an order (a few for most
//! orders; one per partial delivery at most), far below DynamoDB's 400 KB item limit.

mod dynamodb;
mod memory;

use std::collections::BTreeMap;
use std::future::Future;

pub use dynamodb::DynamoOrderStateStore;
pub use memory::MemoryOrderStateStore;

use crate::order::OrderRef;
use crate::store::StoreError;

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
    /// How far the order got within its status's rank; only grows (Octopus: the delivered
    /// quantity of a partial delivery; Optty: capture before authorisation).
    pub progress: Option<i64>,
    /// What else makes this change distinct from another of the same status (Optty's capture
    /// status and refund reference, OwlPay's event for repeatable events). Part of the change key.
    pub detail: Option<String>,
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
    /// Which wallet moved: its id when the event says, else its currency.
    pub wallet: Option<String>,
    pub occurred_at: i64,
    /// Who owns the record when it is not the event itself: a reprocess
    /// ([`crate::processor`]), so a movement the first processing recorded is a known change.
    pub recorded_by: Option<String>,
}

impl WalletMovement {
    /// Who records the movement: the event, or the reprocess that runs it again.
    pub fn owner(&self) -> &str {
        self.recorded_by.as_deref().unwrap_or(&self.event_id)
    }

    /// The movement's key: its transaction when the event names one, so a webhook and a poll
    /// that report the same transaction write the same item (recorded once); else its event.
    pub fn key(&self) -> String {
        match &self.transaction_id {
            Some(transaction) => format!("WALLET#{}#txn#{transaction}", self.provider),
            None => format!("WALLET#{}#{}", self.provider, self.event_id),
        }
    }

    /// The wallet's state (its latest movement and the last balance reported), when both the
    /// wallet and a numeric transaction id are known: transaction ids order the movements.
    pub fn wallet_state(&self) -> Option<(String, i64)> {
        let wallet = self.wallet.as_ref()?;
        let transaction = self.transaction_id.as_ref()?.parse::<i64>().ok()?;
        Some((
            format!("WALLET#{}#balance#{wallet}", self.provider),
            transaction,
        ))
    }
}

/// A wallet's state: it only moves forward (a movement with a higher transaction id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletState {
    pub last_transaction_id: i64,
    pub last_event_id: String,
    /// The last balance a movement reported, and the transaction it was reported with.
    pub balance: Option<(String, i64)>,
}

impl WalletState {
    /// `state` after `movement` (transaction `id`): `None` when the movement is not newer.
    pub fn after(state: Option<&WalletState>, movement: &WalletMovement, id: i64) -> Option<Self> {
        if state.is_some_and(|s| s.last_transaction_id >= id) {
            return None;
        }
        Some(WalletState {
            last_transaction_id: id,
            last_event_id: movement.event_id.clone(),
            balance: movement
                .balance_after
                .clone()
                .map(|balance| (balance, id))
                .or_else(|| state.and_then(|s| s.balance.clone())),
        })
    }
}

/// What a state write found, and so what the processor does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateWrite {
    /// A change not recorded before, recorded now. `current`: it is now the order's state
    /// (false: a late report of an earlier change; recorded and published, state left as it is).
    Recorded { current: bool },
    /// This same event recorded this change on an earlier attempt that did not finish: nothing
    /// is written again, and the steps after the write (watch, publish) run again.
    RecordedEarlier { current: bool },
    /// Another event reported this same change first (a webhook and a poll that both saw it):
    /// nothing to do.
    KnownChange,
}

impl StateWrite {
    /// A short name for log lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::Recorded { current: true } => "recorded",
            Self::Recorded { current: false } => "recorded_late",
            Self::RecordedEarlier { current: true } => "recorded_earlier",
            Self::RecordedEarlier { current: false } => "recorded_earlier_late",
            Self::KnownChange => "known_change",
        }
    }

    /// Whether the event's order update is (still) to be published.
    pub fn publishes(self) -> bool {
        !matches!(self, Self::KnownChange)
    }

    /// Whether the change is the order's state now.
    pub fn is_current(self) -> bool {
        matches!(
            self,
            Self::Recorded { current: true } | Self::RecordedEarlier { current: true }
        )
    }
}

/// How a change's order update is published, decided once, when the change is recorded, and
/// kept with it: an order that grows between two attempts (a partial delivery) cannot turn a
/// one-part update into three, or move it to the other queue, under the same identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    /// Messages the update is split into (1: not split).
    pub parts: u32,
    /// It carries an eSIM activation code: the credentials queue.
    pub to_credentials: bool,
}

impl Publication {
    pub const SINGLE: Publication = Publication {
        parts: 1,
        to_credentials: false,
    };
}

/// One change recorded for an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    /// The event that reported it first: the only one that publishes it.
    pub owner: String,
    /// Its status, normalised (empty for changes recorded before it was kept).
    pub status: String,
    /// How its update is published (`None` for changes recorded before decisions were kept:
    /// a re-send decides then).
    pub publication: Option<Publication>,
}

impl ChangeRecord {
    /// A change recorded before the record held more than its owner.
    pub fn owned_by(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            status: String::new(),
            publication: None,
        }
    }
}

/// What a stored order item says, as far as [`decide`] needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredHead {
    pub status_rank: u8,
    pub progress: Option<i64>,
    pub last_event_at: i64,
    pub change_key: String,
    /// Every change recorded for the order, by change key.
    pub changes: BTreeMap<String, ChangeRecord>,
}

/// A change this event recorded on an earlier attempt, other than the one it reports now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierChange {
    pub change_key: String,
    pub record: ChangeRecord,
    /// It is the order's state now.
    pub current: bool,
}

/// What a state write found ([`OrderStateStore::record_order`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderWrite {
    pub write: StateWrite,
    /// How this change's update is published: as given when recorded now, as recorded then when
    /// recorded earlier (`None` for a known change, or one recorded before decisions were kept).
    pub publication: Option<Publication>,
    /// The other changes this event recorded on earlier attempts; their updates are re-sent.
    pub earlier: Vec<EarlierChange>,
}

/// What to do with an order item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub write: StateWrite,
    /// Add the change to the item's change map.
    pub record_change: bool,
    /// Replace the item's state fields with the new state.
    pub replace_state: bool,
    /// The publication kept with the change (see [`OrderWrite::publication`]).
    pub publication: Option<Publication>,
    pub earlier: Vec<EarlierChange>,
}

impl Decision {
    pub fn into_write(self) -> OrderWrite {
        OrderWrite {
            write: self.write,
            publication: self.publication,
            earlier: self.earlier,
        }
    }
}

/// Decides a state write of `new`, whose update is published as `publication`, against what is
/// stored. Pure: both adapters apply it.
pub fn decide(stored: Option<&StoredHead>, new: &OrderState, publication: Publication) -> Decision {
    let Some(stored) = stored else {
        return Decision {
            write: StateWrite::Recorded { current: true },
            record_change: true,
            replace_state: true,
            publication: Some(publication),
            earlier: Vec::new(),
        };
    };
    let key = new.change_key();
    let earlier = stored
        .changes
        .iter()
        .filter(|(k, record)| **k != key && record.owner == new.last_event_id)
        .map(|(k, record)| EarlierChange {
            change_key: k.clone(),
            record: record.clone(),
            current: stored.change_key == *k,
        })
        .collect();
    match stored.changes.get(&key) {
        Some(record) if record.owner == new.last_event_id => Decision {
            write: StateWrite::RecordedEarlier {
                current: stored.change_key == key,
            },
            record_change: false,
            replace_state: false,
            publication: record.publication,
            earlier,
        },
        Some(_) => Decision {
            write: StateWrite::KnownChange,
            record_change: false,
            replace_state: false,
            publication: None,
            earlier,
        },
        None => {
            let newer = is_newer(new, stored);
            Decision {
                write: StateWrite::Recorded { current: newer },
                record_change: true,
                replace_state: newer,
                publication: Some(publication),
                // Recorded now and newer: an earlier change of this event is not current.
                earlier: if newer {
                    let mut earlier: Vec<EarlierChange> = earlier;
                    earlier.iter_mut().for_each(|e| e.current = false);
                    earlier
                } else {
                    earlier
                },
            }
        }
    }
}

/// True when `new` (a change not recorded yet) is later in the order's life than the stored
/// state: by what the changes are (rank, then progress), the event's time only breaking true
/// ties, so a provider's clock and hookline's (polled events) are never compared when the
/// changes themselves say which came first. Two different changes at the same rank, progress
/// and millisecond are ordered by their keys, so the final state never depends on which
/// arrived first.
pub fn is_newer(new: &OrderState, stored: &StoredHead) -> bool {
    if new.status_rank != stored.status_rank {
        return new.status_rank > stored.status_rank;
    }
    if let (Some(new_progress), Some(stored_progress)) = (new.progress, stored.progress)
        && new_progress != stored_progress
    {
        return new_progress > stored_progress;
    }
    if new.last_event_at != stored.last_event_at {
        return new.last_event_at > stored.last_event_at;
    }
    new.change_key() > stored.change_key
}

pub trait OrderStateStore: Send + Sync {
    /// Records `state`'s change, its update to be published as `publication` ([`decide`]).
    fn record_order(
        &self,
        state: &OrderState,
        publication: Publication,
    ) -> impl Future<Output = Result<OrderWrite, StoreError>> + Send;

    /// Records a movement once; a second write of the same event is `RecordedEarlier`.
    fn record_wallet(
        &self,
        movement: &WalletMovement,
    ) -> impl Future<Output = Result<StateWrite, StoreError>> + Send;
}

impl OrderState {
    /// What identifies the change this state records: its status, its progress (for partial
    /// deliveries, how much was delivered), and the provider's `detail`. Two events reporting the same change (a
    /// webhook and a poll that both saw it) have the same change key, and only the first takes
    /// effect.
    pub fn change_key(&self) -> String {
        let mut key = self.status.clone();
        if let Some(progress) = self.progress {
            key.push_str(&format!("#{progress}"));
        }
        if let Some(detail) = &self.detail {
            key.push('#');
            key.push_str(detail);
        }
        key
    }

    /// The head this state would leave as the stored one.
    pub fn head(&self) -> StoredHead {
        StoredHead {
            status_rank: self.status_rank,
            progress: self.progress,
            last_event_at: self.last_event_at,
            change_key: self.change_key(),
            changes: BTreeMap::new(),
        }
    }

    /// The record of this change as first recorded.
    pub fn change_record(&self, publication: Publication) -> ChangeRecord {
        ChangeRecord {
            owner: self.last_event_id.clone(),
            status: self.status.clone(),
            publication: Some(publication),
        }
    }
}
