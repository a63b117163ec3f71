//! Chains: functions that call each other synchronously, tuned together so the chain meets
//! one end-to-end objective at the lowest total cost (`memtune chain NAME`).
//!
//! sweep each function with its hop payload (`run`) -> its own work, callers minus the calls
//! they waited on (`own_work`) -> a fitted curve per function (`crate::fit`) -> the
//! end-to-end model over those curves, their noise, cold starts and INIT (`model`) -> the
//! cheapest assignment meeting the objective, against the equal-split baseline and
//! provisioned concurrency on the entry (`search`) -> the decision (`decision`), which the
//! reports render and apply applies.

pub mod build;
pub mod decision;
pub mod init;
pub mod model;
pub mod own_work;
pub mod run;
pub mod search;
#[cfg(test)]
mod tests;
pub mod tune;

pub use decision::{
    decide, hop_from_fit, ChainDecision, ColdStarts, FunctionChoice, ProvisionedOption,
};
