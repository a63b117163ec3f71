//! Strategies: named, user-editable tuning goals (`strategies/*.toml`) and the decision that
//! turns per-size statistics into one recommended memory size.

mod decide;
mod select;
mod spec;

pub use decide::{
    decide, Candidate, CostEstimate, Decision, Goal, PercentileEstimate, SloVerdict, Why,
};
pub use select::{
    recommend, Comparison, Estimate, NoFeasibleSize, ObjectiveValue, RecommendError,
    Recommendation, Rejected, Rejection, SloStatus,
};
pub use spec::{Objective, Search, SearchMode, Strategy, StrategyError};
