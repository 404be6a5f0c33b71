//! One run of the wallet transactions poll (Octopus: [`transactions`]): for each configured
//! wallet, the pages of its transactions newer than its cursor, one event per completed
//! transaction into the ingest queue, then the cursor moved. The cursor moves only after the
//! queue took every event, and only from the position read: a failed send, a 429, a 5xx or a
//! crash leaves it where it was, and the next run sends the same events (same ids, same bytes:
//! duplicates for the processor's claim).

use std::future::Future;

use serde_json::Value;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::cursor::CursorStore;
use crate::message::QueueMessage;
use crate::order_api::{FetchError, HttpOrderClient, PathsFn};
use crate::providers::octopus::transactions::{self, Transaction, cursor_key};
use crate::queue::Queue;
use crate::store::StoreError;

/// Pages of one wallet's transactions, newest first.
pub trait TransactionsApi: Send + Sync {
    /// Page `page` (from 1) of the wallet's transactions, and whether more pages follow.
    fn page(
        &self,
        wallet: u64,
        page: u32,
        deadline: Instant,
    ) -> impl Future<Output = Result<(Vec<Value>, bool), FetchError>> + Send;
}

/// The Transactions API over HTTP, with the Octopus API's client (its token and retries).
#[derive(Clone, Debug)]
pub struct HttpTransactions {
    pub client: HttpOrderClient<PathsFn>,
    pub path: String,
    /// Transactions per page.
    pub limit: u32,
}

impl TransactionsApi for HttpTransactions {
    async fn page(
        &self,
        wallet: u64,
        page: u32,
        deadline: Instant,
    ) -> Result<(Vec<Value>, bool), FetchError> {
        let query = [
            ("wallet_id", wallet.to_string()),
            ("page", page.to_string()),
            ("limit", self.limit.to_string()),
        ];
        self.client.list(&self.path, &query, deadline).await
    }
}

/// Why one wallet's poll stopped; its cursor stays where it was.
#[derive(Debug, thiserror::Error)]
pub enum TransactionsError {
    #[error("transactions API: {0}")]
    Api(#[from] FetchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ingest queue refused a movement: {0}")]
    Queue(String),
}

pub struct TransactionsPoller<C, T, Q> {
    pub cursors: C,
    pub api: T,
    pub ingest: Q,
    pub wallets: Vec<u64>,
    /// Pages read per wallet and run at most.
    pub max_pages: u32,
    pub clock: Clock,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionsReport {
    pub wallets: u64,
    /// Movements enqueued (a movement seen again is enqueued again, as a duplicate).
    pub movements: u64,
    /// Wallets whose poll failed; their cursors did not move.
    pub failed: u64,
}

impl<C: CursorStore, T: TransactionsApi, Q: Queue> TransactionsPoller<C, T, Q> {
    pub async fn run(&self, deadline: Instant) -> TransactionsReport {
        let mut report = TransactionsReport::default();
        for &wallet in &self.wallets {
            report.wallets += 1;
            match self.poll_wallet(wallet, deadline).await {
                Ok(movements) => report.movements += movements,
                Err(error) => {
                    report.failed += 1;
                    tracing::warn!(wallet, error = %error, "wallet transactions poll failed; its cursor stays, the next run reads the same transactions");
                }
            }
        }
        report
    }

    async fn poll_wallet(&self, wallet: u64, deadline: Instant) -> Result<u64, TransactionsError> {
        let key = cursor_key(wallet);
        let cursor = self.cursors.get(&key).await?;
        let mut listed: Vec<Transaction> = Vec::new();
        let mut reached = false;
        for page in 1..=self.max_pages.max(1) {
            let (items, more) = self.api.page(wallet, page, deadline).await?;
            let read: Vec<Transaction> = items.iter().filter_map(Transaction::read).collect();
            reached = cursor.is_none() || read.iter().any(|t| Some(t.id) <= cursor) || !more;
            listed.extend(read);
            if reached {
                break;
            }
        }
        let Some(position) = cursor else {
            // The first poll of a wallet: its history is not replayed, but what is still in
            // flight is followed to its end.
            let start = transactions::first_cursor(&listed);
            self.cursors.advance(&key, None, start).await?;
            tracing::info!(
                wallet,
                after = start,
                "wallet transactions polled from now on; earlier ones are not replayed"
            );
            return Ok(0);
        };
        let reading = transactions::read(wallet, position, &listed);
        for event in &reading.events {
            let message = QueueMessage::new(
                "octopus",
                &event.event_id,
                &event.event_type,
                self.clock.now_utc(),
                event.body.clone(),
            )
            .polled()
            .encode();
            self.ingest
                .send(&message)
                .await
                .map_err(|e| TransactionsError::Queue(e.to_string()))?;
            tracing::info!(wallet, event_id = %event.event_id, event_type = %event.event_type, "wallet movement found by polling; enqueued");
        }
        if !reached {
            // More new transactions than the pages read: the older ones are still unread, so
            // the cursor holds (what was read is sent again next time, as duplicates).
            tracing::error!(
                wallet,
                pages = self.max_pages,
                "more new wallet transactions than one run reads; cursor held"
            );
        } else if reading.next_cursor > position {
            self.cursors
                .advance(&key, Some(position), reading.next_cursor)
                .await?;
        }
        Ok(reading.events.len() as u64)
    }
}
