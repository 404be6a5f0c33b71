//! In-memory watches for unit tests and the local pipeline; same rules as DynamoDB's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{EndReason, Phase, Registration, Watch, WatchStore, watch_key};
use crate::order::OrderRef;
use crate::store::StoreError;

/// Key → the watch and, once ended, why.
type Watches = HashMap<String, (Watch, Option<EndReason>)>;

#[derive(Clone, Debug, Default)]
pub struct MemoryWatchStore {
    watches: Arc<Mutex<Watches>>,
}

impl MemoryWatchStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A watch and why it ended, if it did.
    pub fn get(&self, key: &str) -> Option<(Watch, Option<EndReason>)> {
        self.lock().get(key).cloned()
    }

    /// Every watch with why it ended (if it did), sorted by key: for comparing two runs.
    pub fn snapshot(&self) -> Vec<(String, Option<EndReason>)> {
        let mut all: Vec<(String, Option<EndReason>)> = self
            .lock()
            .iter()
            .map(|(key, (_, ended))| (key.clone(), *ended))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Stores `watch`; when leased, only if the stored watch is still as leased.
    fn put_as_leased(&self, watch: &Watch, ended: Option<EndReason>) {
        let mut watches = self.lock();
        let changed = watch.leased_until.is_some_and(|leased| {
            watches
                .get(&watch.key())
                .is_some_and(|(stored, _)| stored.next_poll_at != leased)
        });
        if !changed {
            let mut stored = watch.clone();
            stored.leased_until = None;
            watches.insert(watch.key(), (stored, ended));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watches> {
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WatchStore for MemoryWatchStore {
    async fn register(&self, watch: &Watch) -> Result<Registration, StoreError> {
        let mut watches = self.lock();
        // A watch ended because its order was unknown is replaced: the order may exist now.
        if watches
            .get(&watch.key())
            .is_some_and(|(_, ended)| *ended != Some(EndReason::OrderNotFound))
        {
            return Ok(Registration::AlreadyWatched);
        }
        watches.insert(watch.key(), (watch.clone(), None));
        Ok(Registration::Registered)
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<Watch>, StoreError> {
        let mut due: Vec<Watch> = self
            .lock()
            .values()
            .filter(|(watch, ended)| ended.is_none() && watch.next_poll_at <= now)
            .map(|(watch, _)| watch.clone())
            .collect();
        // Ties broken by key, so runs are reproducible (a HashMap's order is not).
        due.sort_by_key(|watch| (watch.next_poll_at, watch.key()));
        due.truncate(limit);
        Ok(due)
    }

    async fn lease(&self, watch: &Watch, until: i64) -> Result<bool, StoreError> {
        let mut watches = self.lock();
        match watches.get_mut(&watch.key()) {
            Some((stored, None)) if stored.next_poll_at == watch.next_poll_at => {
                stored.next_poll_at = until;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn rearm(&self, order: &OrderRef, now: i64, give_up_at: i64) -> Result<bool, StoreError> {
        let mut watches = self.lock();
        match watches.get_mut(&watch_key(order)) {
            Some((watch, ended))
                if watch.phase == Phase::Install
                    && !watch.activated
                    && *ended != Some(EndReason::Settled) =>
            {
                watch.phase_started_at = now;
                watch.next_poll_at = now;
                watch.phase_polls = 0;
                watch.failures = 0;
                watch.give_up_at = give_up_at;
                *ended = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn save(&self, watch: &Watch) -> Result<(), StoreError> {
        self.put_as_leased(watch, None);
        Ok(())
    }

    async fn end(&self, watch: &Watch, reason: EndReason) -> Result<(), StoreError> {
        self.put_as_leased(watch, Some(reason));
        Ok(())
    }
}
