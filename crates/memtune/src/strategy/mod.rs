//! Strategies: named, user-editable tuning goals (`strategies/*.toml`) and the decision that
//! turns per-size statistics into one recommended memory size, with what it trades.

pub mod architecture;
mod decide;
mod guard;
mod runner_up;
mod select;
mod spec;
mod tradeoff;

pub use decide::{
    decide, Candidate, CostEstimate, Decision, Goal, PercentileEstimate, SloVerdict, Why,
};
pub use guard::{Baseline, Forgone, HeldBack, LatencyGuard, Saving};
pub use select::{
    recommend, Comparison, Estimate, NoFeasibleSize, ObjectiveValue, RecommendError,
    Recommendation, Rejected, Rejection, SloStatus,
};
pub use spec::{Objective, Search, SearchMode, Strategy, StrategyError, DEFAULT_STRATEGY};
pub use tradeoff::{BeforeAfter, RunnerUp, Tradeoff};

/// Per-size statistics for the decision's unit tests.
#[cfg(test)]
mod fixtures {
    use crate::measure::{CostStats, FailureCounts, QuantileEstimate, SizeStats, WarmStats};

    /// A size measured ten times, warm, at `usd` per invocation: p50 (and mean) `p50_ms`,
    /// p90 and p99 `p99_ms`, without confidence bounds.
    pub fn size(memory_mb: u32, usd: f64, p50_ms: f64, p99_ms: f64) -> SizeStats {
        let q = |ms: f64| QuantileEstimate {
            ms,
            upper_ms: None,
            confidence: 0.95,
            own_spread: false,
        };
        SizeStats {
            memory_mb,
            invocations: 10,
            successes: 10,
            failures: FailureCounts::default(),
            cold_starts: 0,
            missing_reports: 0,
            warm: Some(WarmStats {
                samples: 10,
                mean_ms: p50_ms,
                trimmed_mean_ms: p50_ms,
                p50: q(p50_ms),
                p90: q(p99_ms),
                p99: q(p99_ms),
                cv: 0.05,
                mean_billed_ms: p50_ms,
            }),
            mean_init_ms: None,
            mean_restore_ms: None,
            max_memory_used_mb: Some(64),
            cost: Some(CostStats {
                mean_usd: usd,
                ci_low_usd: usd,
                ci_high_usd: usd,
                init_usd: 0.0,
            }),
            infeasible: Vec::new(),
        }
    }
}
