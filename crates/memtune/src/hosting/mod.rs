//! `memtune hosting`: when a function stops making sense on on-demand Lambda. For one
//! function's measured load ([`Load`]), the monthly cost and p99 on on-demand Lambda,
//! Lambda with provisioned concurrency, Lambda Managed Instances and an always-on Fargate
//! service behind an Application Load Balancer, at x86_64 and arm64 prices
//! (`[[hosting_region]]` in `config/pricing.toml`); the break-even request rate between each
//! pair; a verdict with its reason. Pure arithmetic over plain data: [`gather`] reads the
//! load from production and memtune's sweeps, [`fleet`] judges many functions together.

pub mod assumptions;
pub mod compare;
pub mod cost;
pub mod fleet;
pub mod gather;
pub mod load;
pub mod runtimes;

#[cfg(test)]
mod tests;

pub use assumptions::Assumptions;
pub use compare::{compare, BreakEven, Comparison, Verdict};
pub use cost::{HostingOption, OptionCost, Prices};
pub use load::{Load, PeakSource};
