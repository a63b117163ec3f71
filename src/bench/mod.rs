//! Benchmarks run as `memtune bench ...`: they print figures, they do not assert them.

pub mod accuracy;
pub mod chains;
pub mod fleet_process;
pub mod fleet_run;
pub mod inspect_fleet;
pub mod lab_load;
pub mod org_fleet;
pub mod real_curves;
