//! The poller's metrics: one EMF line per run.

use time::OffsetDateTime;

use super::PollReport;
use crate::metrics::emf_line;

/// The metrics of one poller run, under the provider whose orders are watched (one today; with
/// more, under `poller`).
pub fn poller_run(report: &PollReport, at: OffsetDateTime) -> String {
    let count = |n: u64| n as f64;
    let provider = match crate::providers::watchable_names().as_slice() {
        [only] => *only,
        _ => "poller",
    };
    emf_line(
        at,
        &[("provider", provider)],
        &[
            ("OrdersPolled", count(report.polled), "Count"),
            ("StatusChangesFound", count(report.changes), "Count"),
            ("WatchesGivenUp", count(report.given_up), "Count"),
            (
                "WatchesOrderNotFound",
                count(report.order_not_found),
                "Count",
            ),
            ("WatchesSettled", count(report.settled), "Count"),
            ("PollFailed", count(report.failed), "Count"),
        ],
    )
}
