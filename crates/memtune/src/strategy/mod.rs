//! Strategies: named, user-editable tuning goals (`strategies/*.toml`) and the decision that
//! turns per-size statistics into one recommended memory size, with what it trades.

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
