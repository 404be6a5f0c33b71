//! When to poll a watch next: the cadence the Octopus eSIM document gives, and a backoff after
//! failures. Pure functions of the watch and the time.
//!
//! | watch | first | then |
//! |---|---|---|
//! | eSIM fulfilment (PENDING → DELIVERED / FAILED / CANCELLED) | every 10 s for 60 s | every 30 s |
//! | eSIM install (installed, then activated) | every 45 s for 10 min | every 5 min |
//! | voucher fulfilment (PENDING / PARTIALLY_DELIVERED → terminal) | every 30 s for 10 min | every 2 min |
//! | after a failed poll | 15 s × 2^(failures − 1), at most 10 min, or the 429's `Retry-After` | |

use std::time::Duration;

use super::{Phase, Watch};
use crate::order::OrderKind;

/// Seconds until the next poll after a successful one.
pub fn interval(watch: &Watch, now: i64) -> i64 {
    let age = now.saturating_sub(watch.phase_started_at);
    match (watch.order.kind, watch.phase) {
        (OrderKind::Esim, Phase::Fulfilment) if age < 60 => 10,
        (OrderKind::Esim, Phase::Fulfilment) => 30,
        (OrderKind::Esim, Phase::Install) if age < 600 => 45,
        (OrderKind::Esim, Phase::Install) => 300,
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
    fn install_is_polled_for_ten_minutes_then_backs_off() {
        let w = watch(OrderKind::Esim, Phase::Install);
        assert_eq!(interval(&w, 1000 + 599), 45);
        assert_eq!(interval(&w, 1000 + 600), 300);
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
