//! What a fleet run produced: one result per function (recommended, skipped or failed, each
//! with its reason) and run totals, as plain data for reports and a history store.

use serde::{Deserialize, Serialize};

use super::budget::BudgetStats;
use crate::apply::ApplyOutcome;
use crate::capacity::FleetCapacity;
use crate::platform::FunctionConfig;
use crate::tune::document::{ExplorationInfo, FunctionDocument};

/// Bumped on any change that could break a reader of the fleet JSON.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Recommended,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionResult {
    pub function: String,
    pub status: Status,
    /// Why the function was skipped or failed.
    pub reason: Option<String>,
    /// Memory when discovered, so that a stored run shows it for skipped functions too.
    #[serde(default)]
    pub memory_mb: u32,
    /// The configuration as discovered (CodeSha256, memory, ...), for a history store; not
    /// in the JSON.
    #[serde(skip)]
    pub config: FunctionConfig,
    /// The same document `memtune recommend --format json` prints, when sampling ran.
    pub document: Option<Box<FunctionDocument>>,
    /// Hex SHA-256 of the payloads it was (or would be) tuned with, for a history store.
    #[serde(skip)]
    pub payload_sha256: Option<String>,
    /// What `[apply] mode = "auto"` did with the recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<ApplyOutcome>,
    /// What sampling cost when it failed before a document could be made (every
    /// invocation failed); with a document, `document.exploration` has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploration: Option<ExplorationInfo>,
    /// The account and region, in a run over `[[target]]` accounts and regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl FunctionResult {
    pub fn skipped(config: FunctionConfig, reason: impl Into<String>) -> FunctionResult {
        FunctionResult::without_document(config, Status::Skipped, reason.into())
    }

    pub fn failed(config: FunctionConfig, reason: impl Into<String>) -> FunctionResult {
        FunctionResult::without_document(config, Status::Failed, reason.into())
    }

    fn without_document(config: FunctionConfig, status: Status, reason: String) -> FunctionResult {
        FunctionResult {
            function: config.name.clone(),
            status,
            reason: Some(reason),
            memory_mb: config.memory_mb,
            config,
            document: None,
            payload_sha256: None,
            apply: None,
            exploration: None,
            account: None,
            region: None,
        }
    }

    /// A sampled function: recommended, or failed when no size was feasible.
    pub fn tuned(config: FunctionConfig, document: FunctionDocument) -> FunctionResult {
        let (status, reason) = match &document.recommendation {
            Some(_) => (Status::Recommended, None),
            None => (
                Status::Failed,
                Some(
                    document
                        .no_recommendation
                        .clone()
                        .unwrap_or_else(|| "no feasible size".into()),
                ),
            ),
        };
        FunctionResult {
            function: config.name.clone(),
            status,
            reason,
            memory_mb: config.memory_mb,
            config,
            document: Some(Box::new(document)),
            payload_sha256: None,
            apply: None,
            exploration: None,
            account: None,
            region: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTotals {
    pub functions: usize,
    pub recommended: usize,
    pub skipped: usize,
    pub failed: usize,
    /// What the exploration cost, over every sampled function.
    pub invocations: u64,
    pub gb_seconds: f64,
    pub usd: f64,
    pub wall_s: f64,
}

impl RunTotals {
    pub fn of(results: &[FunctionResult], wall_s: f64) -> RunTotals {
        let mut t = RunTotals {
            wall_s,
            ..RunTotals::default()
        };
        for r in results {
            t.add(r);
        }
        t
    }

    /// Adds another run's (or part of a run's) counts and spending; keeps this wall time.
    pub fn merge(&mut self, other: &RunTotals) {
        self.functions += other.functions;
        self.recommended += other.recommended;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.invocations += other.invocations;
        self.gb_seconds += other.gb_seconds;
        self.usd += other.usd;
    }

    /// Counts one more function: its status and what its exploration spent.
    pub fn add(&mut self, r: &FunctionResult) {
        self.functions += 1;
        match r.status {
            Status::Recommended => self.recommended += 1,
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
        }
        let spent = r.document.as_ref().map(|d| &d.exploration);
        if let Some(e) = spent.or(r.exploration.as_ref()) {
            self.invocations += e.invocations;
            self.gb_seconds += e.gb_seconds;
            self.usd += e.usd;
        }
    }
}

/// A whole fleet run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetRun {
    pub schema_version: u32,
    pub run_id: String,
    pub region: String,
    pub started_at: String,
    /// Functions in the region before selection.
    pub listed: usize,
    pub totals: RunTotals,
    pub budget: BudgetStats,
    /// In the order they were tuned (highest estimated spend first), then the skipped ones.
    pub functions: Vec<FunctionResult>,
    /// `[capacity]` findings, analysed after the sweeps: one per account and region run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<FleetCapacity>,
}

/// A fleet run without its functions: what a run keeps in memory while each function's
/// result goes to the history as it finishes. The history stores it as the run's report and
/// renders the whole [`FleetRun`] from it and the functions' rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOverview {
    pub schema_version: u32,
    pub run_id: String,
    pub region: String,
    pub started_at: String,
    /// Functions in the region before selection.
    pub listed: usize,
    pub totals: RunTotals,
    pub budget: BudgetStats,
    /// `[capacity]` findings, analysed after the sweeps: one per account and region run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<FleetCapacity>,
}

impl FleetRun {
    /// The run with its functions, in the run's order.
    pub fn new(overview: RunOverview, functions: Vec<FunctionResult>) -> FleetRun {
        let RunOverview {
            schema_version,
            run_id,
            region,
            started_at,
            listed,
            totals,
            budget,
            capacity,
        } = overview;
        FleetRun {
            schema_version,
            run_id,
            region,
            started_at,
            listed,
            totals,
            budget,
            functions,
            capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_what_failed_functions_spent() {
        let spent = ExplorationInfo {
            invocations: 4,
            gb_seconds: 2.0,
            usd: 0.5,
            platform_failures: 0,
        };
        let mut failed = FunctionResult::failed(FunctionConfig::default(), "failed everywhere");
        failed.exploration = Some(spent);
        let skipped = FunctionResult::skipped(FunctionConfig::default(), "no payload");
        let t = RunTotals::of(&[failed, skipped], 1.0);
        assert_eq!((t.failed, t.skipped, t.invocations), (1, 1, 4));
        assert_eq!((t.gb_seconds, t.usd), (2.0, 0.5));
    }
}
