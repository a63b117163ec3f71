//! What the lab's CloudWatch and CloudWatch Logs serve: the lab's own invocations, recorded as
//! they happen, plus 14 days of production traffic backfilled from each profile.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use super::backfill::Backfill;
use super::logs_insights;
use super::profiles::FunctionProfile;
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

/// One throttled request: the version it was routed to, which never ran it.
#[derive(Debug, Clone)]
pub struct ThrottleRecord {
    pub function: String,
    pub alias: Option<String>,
    pub version: String,
    pub timestamp_ms: i64,
}

/// Recorded invocations and throttles, per function.
pub struct Telemetry {
    pub started_at_ms: i64,
    pub seed: u64,
    pub profiles: HashMap<String, FunctionProfile>,
    invocations: RwLock<HashMap<String, Vec<InvocationRecord>>>,
    throttles: RwLock<HashMap<String, Vec<ThrottleRecord>>>,
    queries: Mutex<HashMap<String, StoredQuery>>,
    /// Functions whose log group was deleted (and has not been written to since).
    deleted_groups: RwLock<std::collections::HashSet<String>>,
}

/// A Logs Insights query: evaluated when started, reported as running on the first poll.
struct StoredQuery {
    outcome: logs_insights::Outcome,
    polls: u32,
    cancelled: bool,
}

/// Where a Logs Insights query stands, as GetQueryResults reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryStatus {
    Running,
    Complete,
    Cancelled,
}

impl QueryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryStatus::Running => "Running",
            QueryStatus::Complete => "Complete",
            QueryStatus::Cancelled => "Cancelled",
        }
    }
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
            queries: Mutex::default(),
            deleted_groups: RwLock::default(),
        }
    }

    pub fn record_invocation(&self, record: InvocationRecord) {
        let mut deleted = self
            .deleted_groups
            .write()
            .unwrap_or_else(|e| e.into_inner());
        deleted.remove(&record.function);
        let mut map = self.invocations.write().unwrap_or_else(|e| e.into_inner());
        map.entry(record.function.clone()).or_default().push(record);
    }

    pub fn record_throttle(&self, record: ThrottleRecord) {
        let mut map = self.throttles.write().unwrap_or_else(|e| e.into_inner());
        map.entry(record.function.clone()).or_default().push(record);
    }

    /// The backfilled production traffic before the lab started.
    pub fn backfill(&self) -> Backfill {
        Backfill::new(self.seed, self.started_at_ms)
    }

    /// Whether a function has a log group: Lambda creates it on the first invocation, and
    /// production traffic means there was one.
    pub fn has_log_group(&self, function: &str) -> bool {
        let deleted = self
            .deleted_groups
            .read()
            .unwrap_or_else(|e| e.into_inner());
        if deleted.contains(function) {
            return false;
        }
        let produced = self
            .profiles
            .get(function)
            .is_some_and(|p| p.traffic.requests_per_day > 0.0);
        let map = self.invocations.read().unwrap_or_else(|e| e.into_inner());
        produced || map.get(function).is_some_and(|v| !v.is_empty())
    }

    /// DeleteLogGroup: the function's events are gone; false when it had no log group.
    pub fn delete_log_group(&self, function: &str) -> bool {
        if !self.has_log_group(function) {
            return false;
        }
        let mut map = self.invocations.write().unwrap_or_else(|e| e.into_inner());
        map.remove(function);
        let mut deleted = self
            .deleted_groups
            .write()
            .unwrap_or_else(|e| e.into_inner());
        deleted.insert(function.to_string());
        true
    }

    /// Runs `f` over the recorded invocations of a function (in the order they finished)
    /// without copying them.
    pub fn with_invocations<T>(
        &self,
        function: &str,
        f: impl FnOnce(&[InvocationRecord]) -> T,
    ) -> T {
        let map = self.invocations.read().unwrap_or_else(|e| e.into_inner());
        f(map.get(function).map(Vec::as_slice).unwrap_or(&[]))
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

    /// Throttles of a function within [start_ms, end_ms).
    pub fn throttles(&self, function: &str, start_ms: i64, end_ms: i64) -> Vec<ThrottleRecord> {
        let map = self.throttles.read().unwrap_or_else(|e| e.into_inner());
        map.get(function)
            .map(|v| {
                v.iter()
                    .filter(|t| t.timestamp_ms >= start_ms && t.timestamp_ms < end_ms)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn store_query(&self, id: &str, outcome: logs_insights::Outcome) {
        let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.insert(
            id.to_string(),
            StoredQuery {
                outcome,
                polls: 0,
                cancelled: false,
            },
        );
    }

    /// A query's status and results: the first poll finds it still running (with no rows
    /// yet), as a real query is for a while.
    pub fn poll_query(&self, id: &str) -> Option<(QueryStatus, logs_insights::Outcome)> {
        let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        let q = queries.get_mut(id)?;
        q.polls += 1;
        Some(if q.cancelled {
            (QueryStatus::Cancelled, logs_insights::Outcome::default())
        } else if q.polls == 1 {
            (QueryStatus::Running, logs_insights::Outcome::default())
        } else {
            (QueryStatus::Complete, q.outcome.clone())
        })
    }

    /// Stops a query that has not completed; false if it had already finished.
    pub fn stop_query(&self, id: &str) -> Option<bool> {
        let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        let q = queries.get_mut(id)?;
        let running = q.polls < 2 && !q.cancelled;
        q.cancelled |= running;
        Some(running)
    }
}
