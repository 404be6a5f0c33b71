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
use crate::signature::{SecretSet, SecretSetError};

/// The version of the entry format: 2 carries a keyed digest, 1 an unkeyed body hash.
pub const ENTRY_VERSION: u8 = 2;

/// What the keyed digest of an entry is written with: `hmac-sha256:<hex>`.
const DIGEST_PREFIX: &str = "hmac-sha256:";

/// The keys of the archive's digests (a list, for rotation: the first signs, any verifies).
/// Only the processor holds them in AWS (a Secrets Manager secret the template generates), so
/// an entry planted by anyone else, whatever hash it carries, does not check. `Debug` redacted.
#[derive(Clone, Debug)]
pub struct ArchiveKey(SecretSet);

impl ArchiveKey {
    /// A key list as Secrets Manager holds it: a JSON array of strings or one string; each at
    /// least 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretSetError> {
        let set = SecretSet::parse(text)?;
        SecretSet::with_min_len(set.secrets().to_vec(), MIN_ARCHIVE_KEY_BYTES).map(Self)
    }

    /// The published test key ([`crate::dev_defaults::TEST_ARCHIVE_KEY`]): local stacks, tests
    /// and benches only.
    pub fn published_test_key() -> Self {
        Self::parse(crate::dev_defaults::TEST_ARCHIVE_KEY)
            .unwrap_or_else(|_| unreachable!("the test key is long enough"))
    }

    fn digest(&self, canonical: &[u8]) -> String {
        format!("{DIGEST_PREFIX}{}", self.0.primary().sign_hex(&[canonical]))
    }

    /// Constant-time, under any key of the list.
    fn verifies(&self, canonical: &[u8], digest: &str) -> bool {
        digest
            .strip_prefix(DIGEST_PREFIX)
            .is_some_and(|hex| self.0.verify_hex(&[canonical], hex))
    }
}

/// Shortest archive key accepted (the template generates 64 characters).
pub const MIN_ARCHIVE_KEY_BYTES: usize = 32;

/// Where the processor archives, with the key it signs each entry with.
#[derive(Clone, Debug)]
pub struct Archive {
    pub store: ArchiveStore,
    pub key: ArchiveKey,
}

impl Archive {
    /// `store` signed with the published test key: for local stacks, tests and benches only
    /// (what it signs vouches for nothing for real).
    pub fn with_test_key(store: ArchiveStore) -> Self {
        Self {
            store,
            key: ArchiveKey::published_test_key(),
        }
    }
}

/// What an entry's digest says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// Its keyed digest checks under the key: the processor wrote it as it is.
    Intact,
    /// Its digest (or, for a v1 entry, its body hash) does not match: altered or planted.
    Altered,
    /// A v1 entry whose unkeyed body hash matches: anyone could have written it.
    Unkeyed,
    /// A keyed entry, but no key to check it with.
    Unchecked,
}

impl Integrity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intact => "intact",
            Self::Altered => "altered",
            Self::Unkeyed => "unkeyed",
            Self::Unchecked => "unchecked",
        }
    }
}

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
    /// v1 only: SHA-256 of `body`, hex (unkeyed: it tells accidents apart, not tampering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
    /// v2: `hmac-sha256:<hex>` of every other field under the [`ArchiveKey`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The request body exactly as received.
    pub body: String,
}

impl ArchiveEntry {
    /// The entry of an ingest message, signed with `key`; `known_type` and `order_id` come from
    /// its plan.
    pub fn of(
        message: &QueueMessage,
        known_type: bool,
        order_id: Option<String>,
        key: &ArchiveKey,
    ) -> Self {
        let mut entry = Self {
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
            body_sha256: None,
            digest: None,
            body: message.body.clone(),
        };
        entry.digest = Some(key.digest(&entry.canonical()));
        entry
    }

    /// What the digest covers: every field but the digests, serialised in declaration order
    /// (headers sorted), so a changed flag (`polled`), time or header is caught like a body.
    fn canonical(&self) -> Vec<u8> {
        let bare = Self {
            body_sha256: None,
            digest: None,
            ..self.clone()
        };
        // A struct of strings and maps always serialises.
        serde_json::to_vec(&bare).unwrap_or_default()
    }

    /// What the entry's digest says of it, checked with `key` when there is one.
    pub fn integrity(&self, key: Option<&ArchiveKey>) -> Integrity {
        match (&self.digest, &self.body_sha256, key) {
            (Some(digest), _, Some(key)) if key.verifies(&self.canonical(), digest) => {
                Integrity::Intact
            }
            (Some(_), _, Some(_)) => Integrity::Altered,
            (Some(_), _, None) => Integrity::Unchecked,
            (None, Some(hash), _) if *hash == body_sha256(self.body.as_bytes()) => {
                Integrity::Unkeyed
            }
            (None, _, _) => Integrity::Altered,
        }
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
    use crate::dev_defaults::TEST_ARCHIVE_KEY;

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

    fn key() -> ArchiveKey {
        ArchiveKey::published_test_key()
    }

    #[tokio::test]
    async fn a_batch_is_one_object_per_hour_and_writing_it_again_changes_nothing() {
        let dir = tempdir();
        let store = ArchiveStore::Folder(FolderArchive::new(&dir));
        let entries = || {
            vec![
                (
                    0,
                    ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None, &key()),
                ),
                (
                    1,
                    ArchiveEntry::of(&message("b", "2026-11-22T10:59:59Z"), true, None, &key()),
                ),
                (
                    2,
                    ArchiveEntry::of(&message("c", "2026-11-22T11:00:00Z"), false, None, &key()),
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
        assert!(
            first
                .iter()
                .all(|e| e.integrity(Some(&key())) == Integrity::Intact)
        );
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
                ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None, &key()),
            )],
        )
        .await;
        assert_eq!(failed.keys().copied().collect::<Vec<_>>(), vec![4]);
    }

    #[test]
    fn an_altered_or_planted_entry_does_not_check_and_an_unkeyed_one_is_told_apart() {
        let entry = ArchiveEntry::of(&message("a", "2026-11-22T10:00:00Z"), true, None, &key());
        assert_eq!(entry.integrity(Some(&key())), Integrity::Intact);
        assert_eq!(entry.integrity(None), Integrity::Unchecked);
        // Any field changed: the body, the polled flag, a header.
        let mut altered = entry.clone();
        altered.body = altered.body.replace('a', "b");
        assert_eq!(altered.integrity(Some(&key())), Integrity::Altered);
        let mut polled = entry.clone();
        polled.polled = true;
        assert_eq!(polled.integrity(Some(&key())), Integrity::Altered);
        // Planted with a digest of its own (another key, or none at all): refused.
        let other = ArchiveKey::parse("an-attackers-key-of-32-bytes-or-more").unwrap();
        let planted = ArchiveEntry::of(&message("p", "2026-11-22T10:00:00Z"), true, None, &other);
        assert_eq!(planted.integrity(Some(&key())), Integrity::Altered);
        let mut unkeyed = entry.clone();
        unkeyed.digest = None;
        unkeyed.body_sha256 = Some(body_sha256(unkeyed.body.as_bytes()));
        assert_eq!(unkeyed.integrity(Some(&key())), Integrity::Unkeyed);
        unkeyed.body.push(' ');
        assert_eq!(unkeyed.integrity(Some(&key())), Integrity::Altered);
        // A rotated key list still checks entries of the old key.
        let rotated = ArchiveKey::parse(&format!(
            r#"["a-new-archive-key-of-at-least-32-bytes","{TEST_ARCHIVE_KEY}"]"#
        ))
        .unwrap();
        assert_eq!(entry.integrity(Some(&rotated)), Integrity::Intact);
        assert!(ArchiveKey::parse("short-key-of-20-bytes").is_err());
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
