//! `[capacity]`: a fleet run (and `serve`) analyses provisioned and reserved concurrency of
//! the selected functions after the sweeps, as `memtune capacity` does with its flags.

use std::time::Duration;

use super::raw::RawCapacity;
use super::{problem, Problem};
use crate::capacity::{Target, DEFAULT_COLD_START_TARGET};
use crate::fleet::glob::Glob;

/// The checked `[capacity]` section of an enabled analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// Days of 1-minute production data (1-14), as `--days`.
    pub days: u32,
    pub target: Target,
    /// As `--max-connections`: split among the analysed functions by peak.
    pub max_connections: Option<u32>,
    /// Which of the selected functions; empty: all of them.
    pub names: Vec<Glob>,
    /// How long one Logs Insights query may run.
    pub query_timeout: Duration,
}

impl CapacitySettings {
    /// Whether the analysis covers this selected function.
    pub fn covers(&self, function: &str) -> bool {
        self.names.is_empty() || self.names.iter().any(|g| g.matches(function))
    }
}

/// None when the section is absent or `enabled = false`.
pub(super) fn check_capacity(
    raw: RawCapacity,
    at: usize,
) -> Result<Option<CapacitySettings>, Problem> {
    let days = raw.days.unwrap_or(14);
    if !(1..=14).contains(&days) {
        return Err(problem(
            at,
            "days",
            format!("days = {days}: use 1 to 14 (CloudWatch keeps 1-minute data for 15 days)"),
        ));
    }
    let target = match (raw.cold_start_target, raw.p99_target_ms) {
        (Some(_), Some(_)) => {
            return Err(problem(
                at,
                "p99_target_ms",
                "set cold_start_target or p99_target_ms, not both",
            ))
        }
        (_, Some(ms)) if !(ms.is_finite() && ms > 0.0) => {
            return Err(problem(
                at,
                "p99_target_ms",
                format!("p99_target_ms = {ms} must be a positive number of milliseconds"),
            ))
        }
        (_, Some(ms)) => Target::P99Ms(ms),
        (rate, None) => {
            let rate = rate.unwrap_or(DEFAULT_COLD_START_TARGET);
            if !(0.0..1.0).contains(&rate) {
                return Err(problem(
                    at,
                    "cold_start_target",
                    format!(
                        "cold_start_target = {rate} must be a share within 0..1 (0.001 = 0.1% \
                         of invocations)"
                    ),
                ));
            }
            Target::ColdStartRate(rate)
        }
    };
    if raw.max_connections == Some(0) {
        return Err(problem(
            at,
            "max_connections",
            "max_connections must be >= 1 (the connections a downstream such as a database takes)",
        ));
    }
    if raw.names.iter().any(String::is_empty) {
        return Err(problem(
            at,
            "names",
            "names holds an empty pattern: use function names or globs such as \"orders-*\"",
        ));
    }
    let query_timeout_s = raw.query_timeout_s.unwrap_or(120);
    if !(1..=3600).contains(&query_timeout_s) {
        return Err(problem(
            at,
            "query_timeout_s",
            format!("query_timeout_s = {query_timeout_s} must be between 1 and 3600"),
        ));
    }
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    Ok(Some(CapacitySettings {
        days,
        target,
        max_connections: raw.max_connections,
        names: raw.names.iter().map(|n| Glob::new(n)).collect(),
        query_timeout: Duration::from_secs(query_timeout_s),
    }))
}
