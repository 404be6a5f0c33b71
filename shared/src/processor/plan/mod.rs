//! What an event asks of the processor: which order it concerns, whether to fetch it, which
//! state to record. Pure functions of the queue message, one module per provider.

mod coinme;
mod octopus;
mod optty;
mod owlpay;
mod standard;

use serde_json::Value;
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use optty::confirmed_state;

use crate::message::QueueMessage;
use crate::order::OrderRef;
use crate::order_state::{OrderState, WalletMovement};

/// The work an event calls for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The order the event is about; `None` for wallet and unknown events.
    pub order: Option<OrderRef>,
    /// Fetch the full order from the provider's API.
    pub fetch: bool,
    /// The state to record. When `confirm_with_api` is set, this is only the notification's
    /// claim: the state recorded is the one the fetched order shows.
    pub state: Option<OrderState>,
    pub confirm_with_api: bool,
    pub wallet: Option<WalletMovement>,
    /// Epoch milliseconds when the change happened, per the provider.
    pub occurred_at: i64,
    /// The event's `data`, passed on in the order update.
    pub event_data: Value,
    /// False for event types hookline does not act on yet.
    pub known_type: bool,
    /// The provider announced a new signing secret: an operator must add it.
    pub secret_renewal: bool,
    /// Watch the order by polling until it settles: no webhook will report the rest.
    pub watch: bool,
}

impl Plan {
    /// A plan that records nothing and fetches nothing: the event is passed on as it is.
    fn pass_on(occurred_at: i64, event_data: Value, known_type: bool) -> Self {
        Self {
            order: None,
            fetch: false,
            state: None,
            confirm_with_api: false,
            wallet: None,
            occurred_at,
            event_data,
            known_type,
            secret_renewal: false,
            watch: false,
        }
    }
}

/// Why a message cannot be planned. Texts describe shape, never content.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("queue message is not a v1 ingest message")]
    NotAMessage,
    #[error("no processing rules for provider {0}")]
    UnknownProvider(String),
    #[error("event body is not a valid {provider} event: {reason}")]
    Malformed { provider: String, reason: String },
}

impl PlanError {
    fn malformed(message: &QueueMessage, reason: &str) -> Self {
        Self::Malformed {
            provider: message.provider.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Plans one queue message.
pub fn plan(message: &QueueMessage) -> Result<Plan, PlanError> {
    use crate::providers::{coinme as c, octopus as o, optty as p, owlpay as w};
    match message.provider.as_str() {
        o::PROVIDER => octopus::plan(message),
        c::PROVIDER => coinme::plan(message),
        w::PROVIDER | w::HARBOR_PROVIDER => owlpay::plan(message),
        p::PROVIDER => optty::plan(message),
        other if other.starts_with("std:") => standard::plan(message),
        other => Err(PlanError::UnknownProvider(other.to_string())),
    }
}

/// When the ingest queue received the event: the fallback time for providers without one.
fn received_millis(message: &QueueMessage) -> Result<i64, PlanError> {
    epoch_millis(&message.received_at)
        .ok_or_else(|| PlanError::malformed(message, "received_at is not RFC 3339"))
}

/// Longest id of an order hookline keeps as part of a table key.
const MAX_SUBJECT_ID_LEN: usize = 128;

/// An order or transfer id from a verified event, fit to be part of a table key: a string or
/// an integer, at most 128 characters, no control characters and no `#` (the key separator).
fn subject_id(value: Option<&Value>) -> Option<String> {
    let id = value.and_then(id_text)?;
    let fits = !id.is_empty()
        && id.len() <= MAX_SUBJECT_ID_LEN
        && !id.chars().any(|c| c.is_control() || c == '#');
    fits.then_some(id)
}

/// An order's state as an event reports it, with the fields every provider may fill left empty.
fn state_of(
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
