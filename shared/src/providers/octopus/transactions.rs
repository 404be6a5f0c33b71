//! Octopus wallet movements found by polling its Transactions API. The seed document says no
//! webhook reports a wallet top-up and to poll the Transactions API; another of its pages lists
//! `wallet.credited` / `wallet.debited` webhooks: both are taken, and recorded once per
//! transaction (the order state keys a movement by its transaction id).
//!
//! **Assumed API** (the seed document names neither path nor shape; this follows Octopus'
//! public "Transactions" reference, and the path is a setting, `OCTOPUS_TRANSACTIONS_PATH`):
//! `GET {base}/api/v1/transactions?wallet_id={id}&page={n}&limit={k}`, newest first, answering
//! a JSON array (or one wrapped in `data`) of
//! `{"id": int, "wallet_id": int, "amount": number, "transaction_type": "CREDIT"|"DEBIT",
//! "status": "PENDING"|"COMPLETED"|"FAILED", "remarks", "created_at", ...}`, with an
//! `X-Has-More: true|false` header. Transaction ids grow with time.
//!
//! Each COMPLETED transaction becomes one `wallet.credited` / `wallet.debited` event through
//! the ingest queue, with an id derived from the wallet and the transaction and a body made only
//! of fields fixed once the transaction completed, so every poll that sees it sends the same
//! bytes under the same id. A FAILED one moved nothing and makes no event. The cursor stops
//! below the oldest transaction that is not final (PENDING, or a status the reference does not
//! list, which is read as still in flight and logged), so its completion is still seen; the
//! first poll of a wallet starts there too, not at the newest transaction.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::idempotency::body_sha256;
use crate::watch::PolledEvent;

/// Where the Transactions API is by default (Octopus' public reference).
pub const DEFAULT_TRANSACTIONS_PATH: &str = "/api/v1/transactions";
/// The Transactions API path under the Octopus base URL.
pub const TRANSACTIONS_PATH: &str = "OCTOPUS_TRANSACTIONS_PATH";
/// The wallet ids whose transactions are polled, comma-separated; unset: none.
pub const WALLET_IDS: &str = "OCTOPUS_WALLET_IDS";

/// Fields a polled movement carries: fixed once the transaction completed.
const CARRIED_FIELDS: &[&str] = &[
    "wallet_id",
    "currency_id",
    "amount",
    "source_currency",
    "destination_currency",
    "forex_rate",
    "conversion_charges",
    "remarks",
    "created_at",
];

/// The cursor key of a wallet's transactions.
pub fn cursor_key(wallet_id: u64) -> String {
    format!("CURSOR#octopus#transactions#{wallet_id}")
}

/// One transaction as the API lists it, with what hookline reads of it.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub id: i64,
    pub status: String,
    pub fields: Map<String, Value>,
}

impl Transaction {
    /// A listed transaction, or `None` when it has no integer id (never fed to the cursor).
    pub fn read(value: &Value) -> Option<Self> {
        let fields = value.as_object()?.clone();
        let id = fields.get("id")?.as_i64()?;
        let status = fields
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        Some(Self { id, status, fields })
    }
}

/// What a poll of one wallet concluded.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// In transaction order.
    pub events: Vec<PolledEvent>,
    /// Where the cursor goes once the events are enqueued.
    pub next_cursor: i64,
}

/// The statuses after which a transaction never changes (Octopus' "Transactions" reference:
/// PENDING, COMPLETED, FAILED).
const FINAL_STATUSES: &[&str] = &["COMPLETED", "FAILED"];

impl Transaction {
    /// Not final yet: PENDING, or a status the reference does not list (read as in flight).
    pub fn in_flight(&self) -> bool {
        !FINAL_STATUSES.contains(&self.status.as_str())
    }
}

/// Where the first poll of a wallet puts its cursor: at the newest transaction listed, so its
/// history is not replayed, but below the oldest one still in flight, whose completion is to be
/// reported (completed transactions above that one are reported by the next poll).
pub fn first_cursor(listed: &[Transaction]) -> i64 {
    let newest = listed.iter().map(|t| t.id).max().unwrap_or(0);
    listed
        .iter()
        .filter(|t| t.in_flight())
        .map(|t| t.id - 1)
        .min()
        .map_or(newest, |below| below.min(newest))
}

/// The events the transactions newer than `cursor` call for, and the next cursor. A transaction
/// listed twice (pages shift as new ones arrive) counts once.
pub fn read(wallet_id: u64, cursor: i64, listed: &[Transaction]) -> Reading {
    let newer: BTreeMap<i64, &Transaction> = listed
        .iter()
        .filter(|t| t.id > cursor)
        .map(|t| (t.id, t))
        .collect();
    for unknown in newer
        .values()
        .filter(|t| t.in_flight() && t.status != "PENDING")
    {
        tracing::warn!(
            transaction = unknown.id,
            status = %unknown.status,
            "wallet transaction in a status the Transactions reference does not list; read as still in flight, the cursor waits below it"
        );
    }
    let oldest_pending = newer.values().find(|t| t.in_flight()).map(|t| t.id);
    let newest = newer.keys().next_back().copied().unwrap_or(cursor);
    let events = newer
        .values()
        .filter(|t| t.status == "COMPLETED")
        .filter_map(|t| event(wallet_id, t))
        .collect();
    Reading {
        events,
        next_cursor: oldest_pending
            .map_or(newest, |pending| pending - 1)
            .max(cursor),
    }
}

/// The webhook-shaped event of a completed transaction; `None` for a type that is neither
/// CREDIT nor DEBIT (logged by the poller, never guessed).
pub fn event(wallet_id: u64, transaction: &Transaction) -> Option<PolledEvent> {
    let kind = transaction
        .fields
        .get("transaction_type")
        .and_then(Value::as_str)?
        .to_ascii_uppercase();
    let event_type = match kind.as_str() {
        "CREDIT" => "wallet.credited",
        "DEBIT" => "wallet.debited",
        _ => return None,
    };
    let digest =
        body_sha256(format!("octopus#wallet#{wallet_id}#txn#{}", transaction.id).as_bytes());
    let event_id = format!("poll_{}", &digest[..40]);
    let mut data: Map<String, Value> = CARRIED_FIELDS
        .iter()
        .filter_map(|f| {
            transaction
                .fields
                .get(*f)
                .map(|v| (f.to_string(), v.clone()))
        })
        .collect();
    data.insert("transaction_id".into(), json!(transaction.id));
    data.insert("type".into(), json!(kind));
    data.entry("wallet_id").or_insert(json!(wallet_id));
    let body = json!({"id": event_id, "type": event_type, "source": "poll", "data": data});
    Some(PolledEvent {
        event_id,
        event_type: event_type.to_string(),
        body: body.to_string(),
    })
}

/// The wallet ids of `OCTOPUS_WALLET_IDS`: positive integers, comma-separated.
pub fn wallet_ids(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse::<u64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| format!("{WALLET_IDS}: {id:?} is not a positive integer"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: i64, kind: &str, status: &str) -> Transaction {
        Transaction::read(&json!({"id": id, "wallet_id": 1, "amount": 10.5, "transaction_type": kind,
            "status": status, "remarks": format!("txn {id}"), "created_at": "2026-11-26T10:00:00Z"}))
        .unwrap()
    }

    #[test]
    fn new_completed_transactions_become_events_once_in_order() {
        let listed = [
            txn(12, "DEBIT", "COMPLETED"),
            txn(11, "CREDIT", "COMPLETED"),
            txn(11, "CREDIT", "COMPLETED"),
            txn(10, "CREDIT", "COMPLETED"),
            txn(9, "CREDIT", "FAILED"),
        ];
        let reading = read(1, 10, &listed);
        let types: Vec<&str> = reading
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types, ["wallet.credited", "wallet.debited"]);
        assert_eq!(reading.next_cursor, 12);
        // The same transaction always makes the same event, whoever polls it.
        let again = read(1, 10, &listed[..2]);
        assert_eq!(again.events, reading.events);
        assert!(reading.events[0].body.contains(r#""transaction_id":11"#));
        assert!(reading.events[0].body.contains(r#""source":"poll""#));
    }

    #[test]
    fn the_cursor_waits_below_a_pending_transaction_and_failed_ones_make_no_event() {
        let listed = [
            txn(23, "DEBIT", "COMPLETED"),
            txn(22, "CREDIT", "PENDING"),
            txn(21, "DEBIT", "FAILED"),
        ];
        let reading = read(1, 20, &listed);
        assert_eq!(reading.events.len(), 1);
        assert_eq!(
            reading.next_cursor, 21,
            "22 is still pending: seen again next time"
        );
        let later = read(
            1,
            21,
            &[
                txn(23, "DEBIT", "COMPLETED"),
                txn(22, "CREDIT", "COMPLETED"),
            ],
        );
        assert_eq!(
            later.events.len(),
            2,
            "23 again (a duplicate downstream) and 22 at last"
        );
        assert_eq!(later.next_cursor, 23);
        assert_eq!(read(1, 30, &listed).next_cursor, 30, "never backwards");
    }

    #[test]
    fn the_first_poll_starts_below_a_pending_transaction_and_unknown_statuses_hold_the_cursor() {
        let first = [
            txn(32, "CREDIT", "COMPLETED"),
            txn(31, "CREDIT", "PENDING"),
            txn(30, "DEBIT", "COMPLETED"),
        ];
        assert_eq!(first_cursor(&first), 30);
        assert_eq!(first_cursor(&first[2..]), 30);
        assert_eq!(first_cursor(&[]), 0);
        let later = [
            txn(32, "CREDIT", "COMPLETED"),
            txn(31, "CREDIT", "COMPLETED"),
        ];
        let reading = read(1, 30, &later);
        assert_eq!(
            reading.events.len(),
            2,
            "the pending one is reported once completed"
        );
        let odd = [
            txn(41, "CREDIT", "COMPLETED"),
            txn(40, "DEBIT", "PROCESSING"),
        ];
        let reading = read(1, 39, &odd);
        assert_eq!(reading.next_cursor, 39, "an unlisted status is not final");
        assert_eq!(reading.events.len(), 1);
    }

    #[test]
    fn wallet_ids_are_positive_integers() {
        assert_eq!(wallet_ids(" 1, 22 ,").unwrap(), vec![1, 22]);
        assert_eq!(wallet_ids("").unwrap(), Vec::<u64>::new());
        assert!(wallet_ids("1,x").is_err());
        assert!(wallet_ids("0").is_err());
        assert!(event(1, &txn(5, "ADJUST", "COMPLETED")).is_none());
    }
}
