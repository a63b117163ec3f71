//! The run's shared budget of invocations in flight, across all functions.
//!
//! AIMD, as in TCP congestion control: every throttle (429) halves the limit, at most once per
//! cool-down so one burst of 429s counts once; every `limit` successful invocations raise it
//! by one, up to the ceiling. Tuning thus backs off as soon as the account is short of
//! concurrency, so it never starves production, and creeps back when there is room.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// Throttles within this long of a cut belong to the same congestion and do not cut again
/// (Lambda's own retry hint is one second).
const COOL_DOWN: Duration = Duration::from_secs(1);

pub struct InvocationBudget {
    permits: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    ceiling: usize,
    limit: usize,
    lowest: usize,
    /// Permits cut while held: they are dropped when returned instead of reissued.
    debt: usize,
    successes: usize,
    throttles: u64,
    last_cut: Option<Instant>,
}

/// The budget's history, for the run report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetStats {
    pub ceiling: usize,
    pub limit: usize,
    pub lowest: usize,
    pub throttles: u64,
}

/// One invocation's place in the budget; returned on drop.
pub struct BudgetPermit<'a> {
    budget: &'a InvocationBudget,
}

impl Drop for BudgetPermit<'_> {
    fn drop(&mut self) {
        self.budget.release();
    }
}

impl InvocationBudget {
    pub fn new(ceiling: usize) -> InvocationBudget {
        let ceiling = ceiling.max(1);
        InvocationBudget {
            permits: Semaphore::new(ceiling),
            state: Mutex::new(State {
                ceiling,
                limit: ceiling,
                lowest: ceiling,
                debt: 0,
                successes: 0,
                throttles: 0,
                last_cut: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for room under the current limit.
    pub async fn acquire(&self) -> BudgetPermit<'_> {
        self.permits
            .acquire()
            .await
            .expect("the budget's semaphore is never closed")
            .forget();
        BudgetPermit { budget: self }
    }

    fn release(&self) {
        let mut s = self.lock();
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    /// An invocation ran: additive increase.
    pub fn on_success(&self) {
        let mut s = self.lock();
        s.successes += 1;
        if s.successes >= s.limit && s.limit < s.ceiling {
            s.successes = 0;
            s.limit += 1;
            if s.debt > 0 {
                s.debt -= 1;
            } else {
                self.permits.add_permits(1);
            }
        }
    }

    /// An invocation was throttled: multiplicative decrease.
    pub fn on_throttle(&self) {
        let mut s = self.lock();
        s.throttles += 1;
        let now = Instant::now();
        if s.last_cut
            .is_some_and(|t| now.duration_since(t) < COOL_DOWN)
        {
            return;
        }
        s.last_cut = Some(now);
        s.successes = 0;
        let target = (s.limit / 2).max(1);
        let cut = s.limit - target;
        s.limit = target;
        s.lowest = s.lowest.min(target);
        let taken = self.permits.forget_permits(cut);
        s.debt += cut - taken;
    }

    pub fn stats(&self) -> BudgetStats {
        let s = self.lock();
        BudgetStats {
            ceiling: s.ceiling,
            limit: s.limit,
            lowest: s.lowest,
            throttles: s.throttles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many permits can be taken right now without waiting.
    fn available(b: &InvocationBudget) -> usize {
        b.permits.available_permits()
    }

    #[tokio::test]
    async fn a_throttle_halves_the_limit_even_while_permits_are_held() {
        let b = InvocationBudget::new(8);
        let held: Vec<_> = futures::future::join_all((0..6).map(|_| b.acquire())).await;
        b.on_throttle();
        assert_eq!(b.stats().limit, 4);
        // 2 free permits were forgotten, 2 of the 6 held ones will not come back.
        assert_eq!(available(&b), 0);
        drop(held);
        assert_eq!(available(&b), 4);
    }

    #[tokio::test]
    async fn throttles_in_one_burst_cut_once_and_never_below_one() {
        let b = InvocationBudget::new(8);
        b.on_throttle();
        b.on_throttle();
        assert_eq!(b.stats().limit, 4);
        assert_eq!(b.stats().throttles, 2);
        let b = InvocationBudget::new(1);
        b.on_throttle();
        assert_eq!(b.stats().limit, 1);
        assert_eq!(available(&b), 1);
    }

    #[tokio::test]
    async fn successes_grow_the_limit_back_to_the_ceiling() {
        let b = InvocationBudget::new(4);
        b.on_throttle();
        assert_eq!(b.stats().limit, 2);
        for _ in 0..2 {
            b.on_success();
        }
        assert_eq!(b.stats().limit, 3);
        for _ in 0..100 {
            b.on_success();
        }
        assert_eq!(
            b.stats(),
            BudgetStats {
                ceiling: 4,
                limit: 4,
                lowest: 2,
                throttles: 1
            }
        );
        assert_eq!(available(&b), 4);
    }
}
