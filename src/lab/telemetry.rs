//! What the lab's CloudWatch and CloudWatch Logs serve: the lab's own invocations, recorded as
//! they happen, plus 14 days of production traffic backfilled from each profile.

use std::collections::HashMap;
use std::sync::RwLock;

use super::fleet::FunctionProfile;
use super::workload::Outcome;

/// One invocation as CloudWatch and CloudWatch Logs see it.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub function: String,
    /// Executed version: `$LATEST` or a version number.
    pub version: String,
    /// The alias it was invoked through, if any.
    pub alias: Option<String>,
    /// Epoch milliseconds at which it finished.
    pub timestamp_ms: i64,
    pub request_id: String,
    pub log_stream: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u32,
    pub init_ms: Option<f64>,
    pub outcome: Outcome,
    /// The log events it wrote (START, END, REPORT, errors), in order.
    pub log_lines: Vec<String>,
}

/// Recorded invocations and throttles, per function.
pub struct Telemetry {
    pub started_at_ms: i64,
    pub seed: u64,
    pub profiles: HashMap<String, FunctionProfile>,
    invocations: RwLock<HashMap<String, Vec<InvocationRecord>>>,
    throttles: RwLock<HashMap<String, Vec<i64>>>,
}

impl Telemetry {
    pub fn new(seed: u64, started_at_ms: i64, profiles: &[FunctionProfile]) -> Telemetry {
        Telemetry {
            started_at_ms,
            seed,
            profiles: profiles
                .iter()
                .map(|p| (p.name.clone(), p.clone()))
                .collect(),
            invocations: RwLock::default(),
            throttles: RwLock::default(),
        }
    }

    pub fn record_invocation(&self, record: InvocationRecord) {
        let mut map = self.invocations.write().unwrap_or_else(|e| e.into_inner());
        map.entry(record.function.clone()).or_default().push(record);
    }

    pub fn record_throttle(&self, function: &str, timestamp_ms: i64) {
        let mut map = self.throttles.write().unwrap_or_else(|e| e.into_inner());
        map.entry(function.to_string())
            .or_default()
            .push(timestamp_ms);
    }

    /// The recorded invocations of a function within [start_ms, end_ms).
    pub fn invocations(&self, function: &str, start_ms: i64, end_ms: i64) -> Vec<InvocationRecord> {
        let map = self.invocations.read().unwrap_or_else(|e| e.into_inner());
        map.get(function)
            .map(|v| {
                v.iter()
                    .filter(|r| r.timestamp_ms >= start_ms && r.timestamp_ms < end_ms)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Throttle timestamps of a function within [start_ms, end_ms).
    pub fn throttles(&self, function: &str, start_ms: i64, end_ms: i64) -> Vec<i64> {
        let map = self.throttles.read().unwrap_or_else(|e| e.into_inner());
        map.get(function)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|t| *t >= start_ms && *t < end_ms)
                    .collect()
            })
            .unwrap_or_default()
    }
}
