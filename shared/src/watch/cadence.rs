//! When to poll a watch next: the cadence the Octopus eSIM document gives, and a backoff after
//! failures. Pure functions of the watch and the time.
//!
//! The eSIM document asks for the install loop every 30–60 s for the first 10 minutes, then to
//! stop the foreground loop ("the customer may install later, and you'd otherwise burn rate
//! limits"). After those 10 minutes the interval is half the time since delivery, so polls
//! spread geometrically (×1.5 each): about 13 more by 24 hours, 27 in all, and the poller ends
//! the watch at its install-poll budget in any case. A client re-arms it by registering the
//! order again when the customer says they installed it.
//!
//! | watch | first | then |
//! |---|---|---|
//! | eSIM fulfilment (PENDING → DELIVERED / FAILED / CANCELLED) | every 10 s for 60 s, then 30 s to 10 min | every half its age, at most 15 min (about 120 polls a day, not 2,880) |
//! | eSIM install (installed, then activated) | every 45 s for 10 min | every half its age, at least 5 min; at most `EsimInstallMaxPolls` polls |
//! | voucher fulfilment (PENDING / PARTIALLY_DELIVERED → terminal) | every 30 s for 10 min | every 2 min |
//! | top-up (PENDING → DELIVERED / FAILED / CANCELLED / RECHARGED) | every 5 s for 60 s, then 30 s to 11 min | every half its age, at least 5 min |
//! | after a failed poll | 15 s × 2^(failures − 1), at most 10 min, or the 429's `Retry-After` | |

use std::time::Duration;

use super::{Phase, Watch};
use crate::order::OrderKind;

/// The longest wait between two polls of an eSIM order still PENDING.
pub const ESIM_PENDING_MAX_INTERVAL: i64 = 900;

/// Seconds until the next poll after a successful one.
pub fn interval(watch: &Watch, now: i64) -> i64 {
    let age = now.saturating_sub(watch.phase_started_at);
    match (watch.order.kind, watch.phase) {
        (OrderKind::Esim, Phase::Fulfilment) if age < 60 => 10,
        // The document's "initial fulfilment poll (10 minutes)"; an order PENDING longer "is
        // Octopus Cards automatically retrying — it isn't stuck", so the poll spreads out. The
        // 15-minute ceiling is ours: how late a delivery may be seen at worst.
        (OrderKind::Esim, Phase::Fulfilment) if age < 600 => 30,
        (OrderKind::Esim, Phase::Fulfilment) => (age / 2).clamp(60, ESIM_PENDING_MAX_INTERVAL),
        (OrderKind::Esim, Phase::Install) if age < 600 => 45,
        (OrderKind::Esim, Phase::Install) => (age / 2).max(300),
        // The top-ups document: every 5 s for the first minute, then 30 s, foreground for about
        // 11 minutes; a top-up still PENDING then is being retried by Octopus and may take
        // hours, so it is still watched, more and more rarely, until it settles or gives up.
        (OrderKind::Topup, _) if age < 60 => 5,
        (OrderKind::Topup, _) if age < 660 => 30,
        (OrderKind::Topup, _) => (age / 2).max(300),
        (_, _) if age < 600 => 30,
        (_, _) => 120,
    }
}

/// Seconds until the next poll after `failures` failed polls in a row; a rate limit's
/// `Retry-After` wins when it asks for longer.
pub fn backoff(failures: u32, retry_after: Option<Duration>) -> i64 {
    let exponent = failures.saturating_sub(1).min(6);
    let backoff = (15_i64 << exponent).min(600);
    let asked = retry_after.map_or(0, |wait| {
        i64::try_from(wait.as_secs()).unwrap_or(600).min(3600)
    });
    backoff.max(asked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderRef;

    fn watch(kind: OrderKind, phase: Phase) -> Watch {
        let order = OrderRef {
            provider: "octopus".into(),
            kind,
            order_id: "1".into(),
        };
        let mut watch = Watch::new(order, None, 1000, 86_400);
        watch.phase = phase;
        watch
    }

    #[test]
    fn esim_fulfilment_is_polled_fast_for_the_first_minute() {
        let w = watch(OrderKind::Esim, Phase::Fulfilment);
        assert_eq!(interval(&w, 1000), 10);
        assert_eq!(interval(&w, 1059), 10);
        assert_eq!(interval(&w, 1060), 30);
    }

    #[test]
    fn an_esim_pending_for_a_day_backs_off_after_ten_minutes() {
        let w = watch(OrderKind::Esim, Phase::Fulfilment);
        assert_eq!(interval(&w, 1000 + 599), 30);
        assert_eq!(interval(&w, 1000 + 600), 300);
        assert_eq!(interval(&w, 1000 + 7200), ESIM_PENDING_MAX_INTERVAL);
        let (mut at, mut polls) = (w.phase_started_at, 0);
        while at < w.phase_started_at + 86_400 {
            polls += 1;
            at += interval(&w, at);
        }
        // Every 30 s all day was 2,880 polls.
        assert!((100..=130).contains(&polls), "{polls}");
    }

    #[test]
    fn install_is_polled_for_ten_minutes_then_backs_off() {
        let w = watch(OrderKind::Esim, Phase::Install);
        assert_eq!(interval(&w, 1000 + 599), 45);
        assert_eq!(interval(&w, 1000 + 600), 300);
        assert_eq!(interval(&w, 1000 + 3600), 1800);
        assert_eq!(interval(&w, 1000 + 43_200), 21_600);
    }

    /// An eSIM never installed, polled from delivery until its day is over: how many calls.
    fn install_polls_in(seconds: i64) -> (u32, Vec<i64>) {
        let w = watch(OrderKind::Esim, Phase::Install);
        let (mut at, mut polls, mut times) = (w.phase_started_at, 0, Vec::new());
        while at < w.phase_started_at + seconds {
            polls += 1;
            times.push(at - w.phase_started_at);
            at += interval(&w, at);
        }
        (polls, times)
    }

    #[test]
    fn an_esim_never_installed_costs_a_bounded_number_of_calls_a_day() {
        let (first_ten_minutes, _) = install_polls_in(600);
        assert_eq!(
            first_ten_minutes, 14,
            "every 45 s, as the document's 30–60 s"
        );
        let (day, times) = install_polls_in(86_400);
        assert_eq!(day, 27, "{times:?}");
        assert!(day <= crate::watch::DEFAULT_MAX_INSTALL_POLLS);
        // Each gap after the foreground loop is half the age: the polls spread geometrically.
        let late: Vec<i64> = times.iter().copied().filter(|t| *t >= 600).collect();
        for pair in late.windows(2) {
            assert_eq!(pair[1] - pair[0], (pair[0] / 2).max(300), "{late:?}");
        }
        // Before this cadence, every 5 min after the first 10: 14 + 286 calls a day.
        let (week, _) = install_polls_in(7 * 86_400);
        assert!(week <= 32, "{week}");
    }

    #[test]
    fn topups_follow_their_document_then_spread_out() {
        let w = watch(OrderKind::Topup, Phase::Fulfilment);
        assert_eq!(
            [0, 59, 60, 659].map(|age| interval(&w, 1000 + age)),
            [5, 5, 30, 30]
        );
        assert_eq!(interval(&w, 1000 + 660), 330);
        assert_eq!(interval(&w, 1000 + 7200), 3600);
        let (mut at, mut polls) = (1000, 0);
        while at < 1000 + 660 {
            polls += 1;
            at += interval(&w, at);
        }
        assert_eq!(
            polls,
            12 + 20,
            "the document's foreground loop: 12 + 20 polls"
        );
    }

    #[test]
    fn vouchers_and_failures() {
        let w = watch(OrderKind::Voucher, Phase::Fulfilment);
        assert_eq!((interval(&w, 1000), interval(&w, 1700)), (30, 120));
        assert_eq!([1, 2, 3, 10].map(|f| backoff(f, None)), [15, 30, 60, 600]);
        assert_eq!(backoff(1, Some(Duration::from_secs(90))), 90);
        assert_eq!(backoff(1, Some(Duration::from_secs(1_000_000))), 3600);
    }
}
