//! Provisioned and reserved concurrency from production: cold starts by hour of day and
//! their share of the p99, the provisioned level or hourly schedule that keeps cold starts
//! under a target at the least cost, and reserved-concurrency advice against the account's
//! limit (docs/commands.md, `memtune capacity`).
//!
//! select -> observe (CloudWatch at 1-minute resolution, Logs Insights) -> calibrate the idle
//! expiry -> search -> [`CapacityReport`], which the renderers only read.

pub mod cost;
pub mod search;
pub mod simulate;
