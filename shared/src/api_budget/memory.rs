//! The budget in this process (`hookline serve`, unit tests): the same slices as in DynamoDB.

use std::sync::Mutex;
use std::time::Duration;

use super::{BudgetConfig, BudgetError, Priority, slice_of};

#[derive(Debug, Default)]
struct Counts {
    slice: i64,
    taken: u32,
    polls: u32,
    blocked_until: i64,
}

#[derive(Debug)]
pub struct MemoryBudget {
    pub config: BudgetConfig,
    counts: Mutex<Counts>,
}

impl MemoryBudget {
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            counts: Mutex::default(),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn try_take(&self, priority: Priority, now_ms: i64) -> Result<(), BudgetError> {
        let (slice, next) = slice_of(&self.config, now_ms);
        let mut counts = self.counts();
        if counts.blocked_until > now_ms {
            let wait = u64::try_from(counts.blocked_until - now_ms).unwrap_or(0);
            return Err(BudgetError::NoRoom {
                wait: Duration::from_millis(wait),
            });
        }
        if counts.slice != slice {
            counts.slice = slice;
            counts.taken = 0;
            counts.polls = 0;
        }
        let full = counts.taken >= self.config.slice_limit(Priority::Delivery)
            || (priority == Priority::Poll
                && counts.polls >= self.config.slice_limit(Priority::Poll));
        if full {
            return Err(BudgetError::NoRoom { wait: next });
        }
        counts.taken += 1;
        if priority == Priority::Poll {
            counts.polls += 1;
        }
        Ok(())
    }

    pub(super) fn block_until(&self, until_ms: i64) {
        let mut counts = self.counts();
        counts.blocked_until = counts.blocked_until.max(until_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_take_their_share_and_deliveries_the_rest() {
        let budget = MemoryBudget::new(BudgetConfig::per_minute(600));
        let at = 1_000_000;
        for _ in 0..42 {
            budget.try_take(Priority::Poll, at).unwrap();
        }
        assert!(
            budget.try_take(Priority::Poll, at).is_err(),
            "polls' share used"
        );
        for _ in 42..85 {
            budget.try_take(Priority::Delivery, at).unwrap();
        }
        let Err(BudgetError::NoRoom { wait }) = budget.try_take(Priority::Delivery, at) else {
            panic!("the slice is full");
        };
        assert_eq!(wait, Duration::from_secs(10));
        // The next slice opens.
        budget.try_take(Priority::Delivery, at + 10_000).unwrap();
        budget.block_until(at + 50_000);
        let Err(BudgetError::NoRoom { wait }) = budget.try_take(Priority::Delivery, at + 20_000)
        else {
            panic!("blocked");
        };
        assert_eq!(wait, Duration::from_secs(30));
    }
}
