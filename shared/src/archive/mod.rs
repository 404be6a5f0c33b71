//! The event archive: every accepted webhook kept, after SQS has forgotten it, with what
//! verifying it again needs (the raw body, the verification headers, the source route
//! parameter), so it can be searched, re-verified and replayed.
//!
//! The processor writes it, from the ingest message (contract v2), before it claims the event:
//! the receiver's latency and its "2xx only after SQS" rule do not change, and a message is
//! deleted from SQS only once its entry is stored (a failed write fails the record, SQS
//! delivers it again). One object per provider and hour per batch, JSON Lines, named by the
//! hash of its content: a batch delivered again writes the same object again. A record
//! redelivered in another batch is kept twice; readers drop the copy ([`query`]).

mod folder;
pub mod layout;
pub mod query;
#[cfg(feature = "archive-s3")]
mod s3;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use folder::FolderArchive;
pub use query::{ArchiveQuery, Found, search};
#[cfg(feature = "archive-s3")]
pub use s3::S3Archive;

use crate::idempotency::body_sha256;
use crate::message::QueueMessage;

/// The version of the entry format.
pub const ENTRY_VERSION: u8 = 1;

/// One accepted webhook as kept in the archive. Never holds a secret: the headers are those a
/// scheme keeps for re-verification (signatures and timestamps, never a plain-text token), the
/// route parameter only when it names a source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    pub v: u8,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    /// RFC 3339, UTC: when the receiver accepted it.
    pub received_at: String,
    /// Whether hookline knew the type when it was archived (`archive search --unknown`).
    pub known_type: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_param: Option<String>,
    /// Found by hookline's poller: there is no provider signature to verify again.
    #[serde(default)]
    pub polled: bool,
    /// SHA-256 of `body`, hex: an entry whose body was altered is told apart.
    pub body_sha256: String,
    /// The request body exactly as received.
    pub body: String,
}

impl ArchiveEntry {
    /// The entry of an ingest message; `known_type` and `order_id` come from its plan.
    pub fn of(message: &QueueMessage, known_type: bool, order_id: Option<String>) -> Self {
        Self {
            v: ENTRY_VERSION,
            provider: message.provider.clone(),
            event_id: message.event_id.clone(),
            event_type: message.event_type.clone(),
            received_at: message.received_at.clone(),
            known_type,
            order_id,
            headers: message.headers.clone(),
            route_param: message.route_param.clone(),
            polled: message.polled,
            body_sha256: body_sha256(message.body.as_bytes()),
            body: message.body.clone(),
        }
    }

    /// Whether the body is the one archived (its hash matches).
    pub fn is_intact(&self) -> bool {
        body_sha256(self.body.as_bytes()) == self.body_sha256
    }

    /// The ingest message this entry was made from.
    pub fn to_message(&self) -> QueueMessage {
        QueueMessage {
            v: crate::message::MESSAGE_VERSION,
            provider: self.provider.clone(),
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            received_at: self.received_at.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
            route_param: self.route_param.clone(),
            polled: self.polled,
            replay: None,
        }
    }
}

/// The archive failed; the text never holds an entry's content.
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("archive unavailable: {0}")]
    Unavailable(String),
    #[error("archive object {key} is not readable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Where the archive lives.
#[derive(Clone, Debug)]
pub enum ArchiveStore {
    /// An S3 bucket (in AWS).
    #[cfg(feature = "archive-s3")]
    S3(S3Archive),
    /// A folder (`hookline serve`, tests).
    Folder(FolderArchive),
    /// Any other backend (failure injection in the crash-point tests).
    Other(Arc<dyn ArchiveBackend>),
}

/// A backend besides S3 and a folder.
pub trait ArchiveBackend: Send + Sync + std::fmt::Debug {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<(), ArchiveError>>;
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, ArchiveError>>;
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, ArchiveError>>;
}

impl ArchiveStore {
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        match self {
            #[cfg(feature = "archive-s3")]
            Self::S3(s3) => s3.put(key, bytes).await,
            Self::Folder(folder) => folder.put(key, bytes).await,
            Self::Other(other) => other.put(key, bytes).await,
        }
    }

    /// Every key that starts with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        match self {
            #[cfg(feature = "archive-s3")]
            Self::S3(s3) => s3.list(prefix).await,
            Self::Folder(folder) => folder.list(prefix).await,
            Self::Other(other) => other.list(prefix).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ArchiveError> {
        match self {
            #[cfg(feature = "archive-s3")]
            Self::S3(s3) => s3.get(key).await,
            Self::Folder(folder) => folder.get(key).await,
            Self::Other(other) => other.get(key).await,
        }
    }
}

/// Writes `entries` (each with the caller's index): one object per provider and hour. Returns
/// the indexes whose object could not be written, with the error.
pub async fn write(
    store: &ArchiveStore,
    entries: Vec<(usize, ArchiveEntry)>,
) -> HashMap<usize, ArchiveError> {
    let mut groups: BTreeMap<String, Vec<(usize, ArchiveEntry)>> = BTreeMap::new();
    for (index, entry) in entries {
        groups
            .entry(layout::partition_of(&entry))
            .or_default()
            .push((index, entry));
    }
    let writes = groups.into_iter().map(|(partition, group)| async move {
        let mut text = String::new();
        for (_, entry) in &group {
            // A struct of strings and maps always serialises.
            text.push_str(&serde_json::to_string(entry).unwrap_or_default());
            text.push('\n');
        }
        let key = layout::object_key(&partition, &group[0].1, text.as_bytes());
        let result = store.put(&key, text.into_bytes()).await;
        (group, result)
    });
    let mut failed = HashMap::new();
    for (group, result) in futures::future::join_all(writes).await {
        if let Err(error) = result {
            tracing::error!(error = %error, entries = group.len(), "archive write failed; the records are retried");
            for (index, _) in group {
                failed.insert(index, ArchiveError::Unavailable(error.to_string()));
            }
        }
    }
    failed
}

/// Reads an archive object: one entry per line.
pub fn parse_object(key: &str, bytes: &[u8]) -> Result<Vec<ArchiveEntry>, ArchiveError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ArchiveError::Corrupt {
        key: key.to_string(),
        reason: "not UTF-8".into(),
    })?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| ArchiveError::Corrupt {
                key: key.to_string(),
                reason: format!("line {}: {e}", n + 1),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, at: &str) -> QueueMessage {
        QueueMessage {
            v: 2,
            provider: "std:acme".into(),
            event_id: id.into(),
            event_type: "invoice.paid".into(),
            received_at: at.into(),
            body: format!(r#"{{"id":"{id}"}}"#),
            headers: BTreeMap::from([("webhook-signature".into(), "v1,abc".into())]),
            route_param: Some("acme".into()),
            polled: false,
            replay: None,
        }
    }

    #[tokio::test]
    async fn a_batch_is_one_object_per_hour_and_writing_it_again_changes_nothing() {
        let dir = tempdir();
        let store = ArchiveStore::Folder(FolderArchive::new(&dir));
        let entries = || {
            vec![
                (
                    0,
                    ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None),
                ),
                (
                    1,
                    ArchiveEntry::of(&message("b", "2026-11-22T10:59:59Z"), true, None),
                ),
                (
                    2,
                    ArchiveEntry::of(&message("c", "2026-11-22T11:00:00Z"), false, None),
                ),
            ]
        };
        assert!(write(&store, entries()).await.is_empty());
        assert!(write(&store, entries()).await.is_empty());
        let keys = store.list("").await.unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys[0].starts_with("events/provider=std%3Aacme/date=2026-11-22/hour=10/"));
        let first = parse_object(&keys[0], &store.get(&keys[0]).await.unwrap()).unwrap();
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(ArchiveEntry::is_intact));
        assert_eq!(first[0].to_message(), message("a", "2026-11-22T10:00:00Z"));
    }

    #[tokio::test]
    async fn a_failed_write_names_every_record_of_its_object() {
        let file = tempdir().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let store = ArchiveStore::Folder(FolderArchive::new(&file));
        let failed = write(
            &store,
            vec![(
                4,
                ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None),
            )],
        )
        .await;
        assert_eq!(failed.keys().copied().collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn an_altered_body_is_not_intact() {
        let mut entry = ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None);
        assert!(entry.is_intact());
        entry.body = entry.body.replace('a', "b");
        assert!(!entry.is_intact());
    }

    pub(crate) fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "hookline-archive-{}-{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
