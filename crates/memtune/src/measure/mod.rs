//! Measurement: Lambda's REPORT lines, how each invocation ended, and per-size statistics.
//!
//! Pure functions over plain data: the platform layer hands in the decoded log tail, the
//! error header and payload of each invocation; the strategy layer takes the [`SizeStats`].

mod failure;
mod stats;

pub use failure::{classify, diagnose_missing_report, Failure, MissingReport, Outcome};
pub use memtune_facts::report_line::{parse_report, Report, ReportStatus};
pub use stats::{
    size_stats, CostStats, FailureCounts, Infeasibility, Percentile, QuantileEstimate, Sample,
    SizeStats, StatsOptions, WarmStats,
};
