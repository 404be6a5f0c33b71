//! Where entries are kept: `events/provider={provider}/date={YYYY-MM-DD}/hour={HH}/`, so a
//! provider, a day or an hour is listed without reading the rest (and Athena prunes by the same
//! partitions). The provider is percent-encoded (`std:acme` → `std%3Aacme`).

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::ArchiveEntry;

/// Every object key starts with this.
pub const ROOT: &str = "events/";

/// A provider name as written in keys: letters, digits, `.`, `_` and `-` as they are, every
/// other byte as `%XX`.
pub fn encode_provider(provider: &str) -> String {
    let mut out = String::with_capacity(provider.len());
    for byte in provider.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The prefix of one provider's day.
pub fn day_prefix(provider: &str, date: Date) -> String {
    format!("{ROOT}provider={}/date={date}/", encode_provider(provider))
}

/// The partition (provider, date, hour) of an entry, as a key prefix.
pub fn partition_of(entry: &ArchiveEntry) -> String {
    let at = OffsetDateTime::parse(&entry.received_at, &Rfc3339)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::UTC);
    format!(
        "{}hour={:02}/",
        day_prefix(&entry.provider, at.date()),
        at.hour()
    )
}

/// The key of an object in `partition` holding `content`: its first entry's time (so a
/// listing is in time order) and the hash of its content (so the same batch gets the same key).
pub fn object_key(partition: &str, first: &ArchiveEntry, content: &[u8]) -> String {
    let time: String = first
        .received_at
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let hash = hex::encode(&Sha256::digest(content)[..8]);
    format!("{partition}{time}-{hash}.jsonl")
}

/// The UTC hour a key's partition names, when it is one of ours.
pub fn hour_of_key(key: &str) -> Option<OffsetDateTime> {
    let date = key.split("/date=").nth(1)?.get(..10)?;
    let hour: u8 = key.split("/hour=").nth(1)?.get(..2)?.parse().ok()?;
    let date = Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(date.with_hms(hour, 0, 0).ok()?.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keys_partition_by_provider_day_and_hour() {
        assert_eq!(encode_provider("std:acme"), "std%3Aacme");
        assert_eq!(encode_provider("owlpay-harbor"), "owlpay-harbor");
        let key = "events/provider=octopus/date=2026-11-22/hour=07/20261122070102-00.jsonl";
        assert_eq!(hour_of_key(key), Some(datetime!(2026-11-22 07:00 UTC)));
        assert_eq!(hour_of_key("events/other"), None);
    }
}
