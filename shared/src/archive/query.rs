//! Searching the archive: by provider, time range, type, event id, order id, or the types
//! hookline did not know. Only the partitions in range are listed and read; a record kept
//! twice (redelivered in another batch) is returned once.

use std::collections::HashSet;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ArchiveEntry, ArchiveError, ArchiveStore, layout, parse_object};

/// What to look for. `since` is inclusive, `until` exclusive, both on the receipt time.
#[derive(Clone, Debug)]
pub struct ArchiveQuery {
    pub provider: Option<String>,
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub order_id: Option<String>,
    /// Only events of a type hookline did not know when it archived them.
    pub unknown_only: bool,
}

impl ArchiveQuery {
    fn matches(&self, entry: &ArchiveEntry) -> bool {
        let at = OffsetDateTime::parse(&entry.received_at, &Rfc3339).ok();
        let wanted =
            |filter: &Option<String>, value: &str| filter.as_deref().is_none_or(|f| f == value);
        at.is_some_and(|at| at >= self.since && at < self.until)
            && wanted(&self.provider, &entry.provider)
            && wanted(&self.event_type, &entry.event_type)
            && wanted(&self.event_id, &entry.event_id)
            && self
                .order_id
                .as_deref()
                .is_none_or(|order| entry.order_id.as_deref() == Some(order))
            && !(self.unknown_only && entry.known_type)
    }

    /// The key prefixes to list: the provider's days in range, or everything.
    fn prefixes(&self) -> Vec<String> {
        let Some(provider) = &self.provider else {
            return vec![layout::ROOT.to_string()];
        };
        let mut prefixes = Vec::new();
        let mut day = self.since.to_offset(time::UtcOffset::UTC).date();
        let last = self.until.to_offset(time::UtcOffset::UTC).date();
        while day <= last {
            prefixes.push(layout::day_prefix(provider, day));
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        prefixes
    }
}

/// One entry found, with the object that holds it.
#[derive(Clone, Debug)]
pub struct Found {
    pub key: String,
    pub entry: ArchiveEntry,
}

/// The entries matching `query`, oldest first.
pub async fn search(
    store: &ArchiveStore,
    query: &ArchiveQuery,
) -> Result<Vec<Found>, ArchiveError> {
    let hour_start = |at: OffsetDateTime| {
        at.replace_minute(0)
            .and_then(|t| t.replace_second(0))
            .and_then(|t| t.replace_nanosecond(0))
            .unwrap_or(at)
    };
    let first_hour = hour_start(query.since.to_offset(time::UtcOffset::UTC));
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for prefix in query.prefixes() {
        for key in store.list(&prefix).await? {
            // Partitions outside the range are not read.
            if layout::hour_of_key(&key)
                .is_some_and(|hour| hour < first_hour || hour >= query.until)
            {
                continue;
            }
            for entry in parse_object(&key, &store.get(&key).await?)? {
                let identity = (
                    entry.provider.clone(),
                    entry.event_id.clone(),
                    entry.body_sha256.clone(),
                );
                if query.matches(&entry) && seen.insert(identity) {
                    found.push(Found {
                        key: key.clone(),
                        entry,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.entry.received_at, &a.entry.event_id).cmp(&(&b.entry.received_at, &b.entry.event_id))
    });
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ArchiveEntry, FolderArchive, write};
    use crate::message::QueueMessage;
    use time::macros::datetime;

    fn entry(provider: &str, id: &str, at: &str, known: bool) -> ArchiveEntry {
        let message = QueueMessage {
            v: 2,
            provider: provider.into(),
            event_id: id.into(),
            event_type: "order.delivered".into(),
            received_at: at.into(),
            body: format!(r#"{{"id":"{id}"}}"#),
            ..QueueMessage::default()
        };
        ArchiveEntry::of(
            &message,
            known,
            Some(format!("order-{id}")),
            &crate::archive::ArchiveKey::published_test_key(),
        )
    }

    fn query(provider: Option<&str>) -> ArchiveQuery {
        ArchiveQuery {
            provider: provider.map(str::to_string),
            since: datetime!(2026-11-22 10:00 UTC),
            until: datetime!(2026-11-22 11:00 UTC),
            event_type: None,
            event_id: None,
            order_id: None,
            unknown_only: false,
        }
    }

    #[tokio::test]
    async fn only_the_partitions_in_range_are_read_and_filters_apply() {
        let dir = crate::archive::tests::tempdir();
        let store = ArchiveStore::Folder(FolderArchive::new(&dir));
        let entries = vec![
            (0, entry("octopus", "a", "2026-11-22T10:05:00Z", true)),
            (1, entry("octopus", "b", "2026-11-22T10:59:59Z", false)),
            (2, entry("octopus", "late", "2026-11-22T11:00:00Z", true)),
            (3, entry("std:acme", "c", "2026-11-22T10:30:00Z", true)),
            // The same event kept twice (redelivered in another batch): found once.
            (4, entry("octopus", "a", "2026-11-22T10:05:00Z", true)),
        ];
        assert!(write(&store, entries).await.is_empty());
        // Unreadable objects outside the range: another provider, another hour, another day.
        for key in [
            "events/provider=coinme/date=2026-11-22/hour=10/x.jsonl",
            "events/provider=octopus/date=2026-11-22/hour=12/x.jsonl",
            "events/provider=octopus/date=2026-11-21/hour=10/x.jsonl",
        ] {
            store.put(key, b"not json".to_vec()).await.unwrap();
        }
        let ids = |found: Vec<Found>| -> Vec<String> {
            found.into_iter().map(|f| f.entry.event_id).collect()
        };
        let octopus = search(&store, &query(Some("octopus"))).await.unwrap();
        assert_eq!(ids(octopus), ["a", "b"]);
        let std = search(&store, &query(Some("std:acme"))).await.unwrap();
        assert_eq!(ids(std), ["c"]);
        let unknown = ArchiveQuery {
            unknown_only: true,
            ..query(Some("octopus"))
        };
        assert_eq!(ids(search(&store, &unknown).await.unwrap()), ["b"]);
        let by_order = ArchiveQuery {
            order_id: Some("order-a".into()),
            ..query(Some("octopus"))
        };
        assert_eq!(ids(search(&store, &by_order).await.unwrap()), ["a"]);
        // Without a provider every partition of the hour is read: the bad object is reported.
        let error = search(&store, &query(None)).await.unwrap_err();
        assert!(error.to_string().contains("provider=coinme"), "{error}");
    }
}
