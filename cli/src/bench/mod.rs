//! Measure: local throughput, the counted cost per million webhooks, the seeded failure storm.

pub mod cost;
pub mod cost_model;
pub mod storm;
pub mod throughput;

/// Unix seconds as RFC 3339, as Octopus writes `created_at`.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
