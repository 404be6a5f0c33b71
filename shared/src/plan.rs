//! What an event asks of the processor: which order it concerns, whether to fetch it, which
//! state to record. Plans are pure functions of the queue message, one per provider (each in its
//! module under [`providers`](crate::providers)); this module holds what they share.

use serde_json::Value;
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::message::QueueMessage;
use crate::order::OrderRef;
use crate::order_state::{OrderState, WalletMovement};

/// The work an event calls for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub action: Action,
    /// Epoch milliseconds when the change happened, per the provider.
    pub occurred_at: i64,
    /// The event's `data`, passed on in the order update.
    pub event_data: Value,
    /// False for event types hookline does not know yet: their effects are done, but no order
    /// update is published for them.
    pub known_type: bool,
    /// The provider marked the event as a test (OwlPay's `is_test`), or it is a test event.
    pub is_test: bool,
}

/// What an event makes the processor do, besides publishing its order update.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Nothing to record: the event is passed on as it is.
    PassOn,
    /// The provider announced a new signing secret: an operator must add it.
    SecretRenewal,
    /// A wallet balance moved.
    Wallet(WalletMovement),
    /// Record the state the event reports, then what `then` says.
    Record { state: OrderState, then: FollowUp },
    /// The event is only a hint: fetch the order and record the state it shows. `claimed` is
    /// the notification's own word, completed from the fetched order.
    Confirm { claimed: OrderState },
}

/// What follows recording a reported state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUp {
    Nothing,
    /// Fetch the full order for the order update (codes are only in the order).
    Fetch,
    /// Fetch it, and watch it by polling until it settles: no webhook will report the rest.
    FetchAndWatch,
}

impl Plan {
    /// A plan that records nothing and fetches nothing: the event is passed on as it is.
    pub(crate) fn pass_on(occurred_at: i64, event_data: Value, known_type: bool) -> Self {
        Self {
            action: Action::PassOn,
            occurred_at,
            event_data,
            known_type,
            is_test: false,
        }
    }

    /// The order the event is about; `None` for wallet and other events.
    pub fn order(&self) -> Option<&OrderRef> {
        self.state().map(|state| &state.order)
    }

    /// The state the event reports (for a hint, its claim).
    pub fn state(&self) -> Option<&OrderState> {
        match &self.action {
            Action::Record { state, .. } | Action::Confirm { claimed: state } => Some(state),
            _ => None,
        }
    }

    pub fn wallet(&self) -> Option<&WalletMovement> {
        match &self.action {
            Action::Wallet(movement) => Some(movement),
            _ => None,
        }
    }

    /// Fetches the full order from the provider's API.
    pub fn fetches(&self) -> bool {
        matches!(
            self.action,
            Action::Confirm { .. }
                | Action::Record {
                    then: FollowUp::Fetch | FollowUp::FetchAndWatch,
                    ..
                }
        )
    }

    /// Records the state the fetched order shows, not the event's.
    pub fn confirms_with_api(&self) -> bool {
        matches!(self.action, Action::Confirm { .. })
    }

    /// Watches the order until it settles.
    pub fn watches(&self) -> bool {
        matches!(
            self.action,
            Action::Record {
                then: FollowUp::FetchAndWatch,
                ..
            }
        )
    }

    pub fn secret_renewal(&self) -> bool {
        matches!(self.action, Action::SecretRenewal)
    }

    /// The key of what the event changes (an order's state, a wallet), for the claim record.
    pub fn subject_key(&self) -> Option<String> {
        self.state()
            .map(|state| state.order.state_key())
            .or_else(|| self.wallet().map(WalletMovement::key))
    }
}

/// Why a message cannot be planned. Texts describe shape, never content.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("queue message is not a v1 or v2 ingest message")]
    NotAMessage,
    #[error("no processing rules for provider {0}")]
    UnknownProvider(String),
    #[error("event body is not a valid {provider} event: {reason}")]
    Malformed { provider: String, reason: String },
}

impl PlanError {
    pub(crate) fn malformed(message: &QueueMessage, reason: &str) -> Self {
        Self::Malformed {
            provider: message.provider.clone(),
            reason: reason.to_string(),
        }
    }
}

/// When the ingest queue received the event: the fallback time for providers without one.
pub(crate) fn received_millis(message: &QueueMessage) -> Result<i64, PlanError> {
    epoch_millis(&message.received_at)
        .ok_or_else(|| PlanError::malformed(message, "received_at is not RFC 3339"))
}

/// Longest id of an order hookline keeps as part of a table key.
const MAX_SUBJECT_ID_LEN: usize = 128;

/// An order or transfer id from a verified event, fit to be part of a table key: a string or
/// an integer, at most 128 characters, no control characters and no `#` (the key separator).
pub(crate) fn subject_id(value: Option<&Value>) -> Option<String> {
    let id = value.and_then(id_text)?;
    let fits = !id.is_empty()
        && id.len() <= MAX_SUBJECT_ID_LEN
        && !id.chars().any(|c| c.is_control() || c == '#');
    fits.then_some(id)
}

/// An order's state as an event reports it, with the fields every provider may fill left empty.
pub(crate) fn state_of(
    order: &OrderRef,
    status: &str,
    rank: u8,
    occurred_at: i64,
    event_id: &str,
) -> OrderState {
    OrderState {
        order: order.clone(),
        status: status.to_string(),
        status_rank: rank,
        quantity: None,
        delivered_quantity: None,
        amount: None,
        currency: None,
        product_name: None,
        reference: None,
        progress: None,
        detail: None,
        last_event_at: occurred_at,
        last_event_id: event_id.to_string(),
    }
}

pub(crate) fn epoch_millis(rfc3339: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

/// A JSON number exactly as written (so `4.275` stays `4.275`).
pub(crate) fn number_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An id written as a JSON integer or string.
pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}
