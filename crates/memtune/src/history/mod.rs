//! The history of fleet runs, in SQLite (`history.sqlite3` in the state directory): each run,
//! every function it saw (configuration, status, reason), the per-size statistics, the
//! recommendations (with the full document) and an audit log of applied changes.
//!
//! Readers get plain serializable structs ([`RunSummary`], [`FunctionEntry`],
//! [`Recommendation`], [`AuditEntry`]). A run is written as `running` when it starts and
//! finished at the end; one whose process is gone is marked `interrupted` on the next open.

mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::apply::{AppliedChange, ApplyMethod, ProvisionedChange};
use crate::fleet::outcome::{FleetRun, FunctionResult, RunOverview, RunTotals, Status};
use crate::fleet::retune::{LastTuning, RetunePolicy, Snapshot};
use crate::platform::assume::AssumedRole;
use crate::sweep::journal::process_alive;
use crate::tune::confidence::confidence;
use crate::tune::document::FunctionDocument;

pub use schema::VERSION as SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
#[error("history {path}: {message}")]
pub struct HistoryError {
    path: String,
    message: String,
}

impl HistoryError {
    /// What went wrong, without the path.
    pub fn reason(&self) -> &str {
        &self.message
    }
}

pub type HistoryResult<T> = Result<T, HistoryError>;

/// The run as it starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStart {
    pub id: String,
    pub started_at: String,
    pub region: String,
    /// The fleet config's path, or the command line of a `memtune recommend --apply`.
    pub config_path: String,
    /// Hex SHA-256 of the config file's text (of the command line for `recommend`).
    pub config_sha256: String,
    /// The role a `[[target]]` run acted as, which `rollback` assumes too.
    pub role: Option<AssumedRole>,
}

impl RunStart {
    /// A run starting now from `source` (a config path or a command line), whose text is
    /// `text`.
    pub fn now(id: &str, region: &str, source: String, text: &[u8]) -> RunStart {
        use sha2::Digest;
        RunStart {
            id: id.to_string(),
            started_at: Utc::now().to_rfc3339(),
            region: region.to_string(),
            config_path: source,
            config_sha256: sha2::Sha256::digest(text)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            role: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> RunStatus {
        match text {
            "running" => RunStatus::Running,
            "finished" => RunStatus::Finished,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Interrupted,
        }
    }
}

/// One run, as `memtune history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub region: String,
    pub config_path: String,
    pub config_sha256: String,
    pub functions: u64,
    pub recommended: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Changes applied (rolled back ones included).
    pub applied: u64,
    pub rolled_back: u64,
    pub invocations: u64,
    pub gb_seconds: f64,
    pub usd: f64,
    pub wall_s: f64,
    /// The role a `[[target]]` run acted as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<AssumedRole>,
}

/// A run with everything it recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub functions: Vec<FunctionEntry>,
    pub applied_changes: Vec<AuditEntry>,
}

/// One function in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionEntry {
    pub run_id: String,
    pub run_started_at: String,
    pub name: String,
    pub arn: String,
    /// The account and region, from the ARN.
    pub account: String,
    pub region: String,
    /// `recommended`, `skipped` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub code_sha256: String,
    pub memory_mb: u32,
    pub architecture: String,
    pub runtime: Option<String>,
    pub payload_sha256: Option<String>,
    pub recommended_mb: Option<u32>,
    pub monthly_savings_usd: Option<f64>,
    pub confidence: Option<f64>,
}

/// A recommendation with its full document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub run_id: String,
    pub function: String,
    pub current_memory_mb: u32,
    pub memory_mb: u32,
    pub cost_per_million_usd: f64,
    pub p99_ms: Option<f64>,
    pub confidence: Option<f64>,
    pub monthly_savings_usd: Option<f64>,
    pub document: FunctionDocument,
}

/// An applied change in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub change: AppliedChange,
    pub rolled_back_at: Option<String>,
}

/// The history store. Not `Sync`: share it behind a mutex.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// The file the history lives in.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join("history.sqlite3")
}

impl History {
    /// Opens the history in `state_dir` if anything was ever recorded there; creates nothing.
    pub fn open_existing(state_dir: &Path) -> HistoryResult<Option<History>> {
        if !path_in(state_dir).exists() {
            return Ok(None);
        }
        History::open(state_dir).map(Some)
    }

    /// Opens (creating and migrating if needed) the history in `state_dir`, and marks runs
    /// whose process is gone as interrupted.
    pub fn open(state_dir: &Path) -> HistoryResult<History> {
        let path = path_in(state_dir);
        let err = |message: String| HistoryError {
            path: path.display().to_string(),
            message,
        };
        if state_dir.is_file() {
            return Err(err(format!(
                "{} is a file, not a directory",
                state_dir.display()
            )));
        }
        std::fs::create_dir_all(state_dir)
            .map_err(|e| err(format!("cannot create {}: {e}", state_dir.display())))?;
        let conn = Connection::open(&path).map_err(|e| err(e.to_string()))?;
        let history = History::setup(conn, path.clone())?;
        history.mark_interrupted()?;
        Ok(history)
    }

    /// A throwaway history in memory (tests).
    pub fn in_memory() -> HistoryResult<History> {
        let conn = Connection::open_in_memory().map_err(|e| HistoryError {
            path: ":memory:".into(),
            message: e.to_string(),
        })?;
        History::setup(conn, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> HistoryResult<History> {
        let shown = path.display().to_string();
        let err = |message: String| HistoryError {
            path: shown.clone(),
            message,
        };
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| err(e.to_string()))?;
        // WAL lets `memtune serve` read while a run writes; in memory it stays "memory".
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(|e| err(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(|e| err(e.to_string()))?;
        schema::migrate(&mut conn).map_err(|e| err(e.to_string()))?;
        Ok(History { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the write lock and lets it go: fails if the database cannot be written.
    pub fn check_writable(&self) -> HistoryResult<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> HistoryError {
        HistoryError {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn mark_interrupted(&self) -> HistoryResult<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid FROM runs WHERE status = 'running'")
            .map_err(|e| self.err(e))?;
        let running: Vec<(String, u32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        for (id, _) in running.into_iter().filter(|(_, pid)| !process_alive(*pid)) {
            self.set_status(&id, RunStatus::Interrupted)?;
        }
        Ok(())
    }

    fn set_status(&self, id: &str, status: RunStatus) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    // ---- writing ----------------------------------------------------------------------

    /// Records a run as `running`.
    pub fn begin_run(&self, run: &RunStart) -> HistoryResult<()> {
        self.conn
            .execute(
                "INSERT INTO runs (id, started_at, status, pid, region, config_path, config_sha256,
                     role_json)
                 VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7)",
                params![
                    run.id,
                    run.started_at,
                    std::process::id(),
                    run.region,
                    run.config_path,
                    run.config_sha256,
                    run.role
                        .as_ref()
                        .map(|r| serde_json::to_string(r).expect("plain data"))
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records what a run did with one function, at `position` in the run's order: its
    /// configuration, status, per-size statistics, recommendation and whole result (what
    /// [`History::fleet_run`] renders). Recording it again replaces it.
    pub fn record_function(
        &mut self,
        run_id: &str,
        position: usize,
        r: &FunctionResult,
    ) -> HistoryResult<()> {
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| HistoryError {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(err)?;
        let c = &r.config;
        let config_json = serde_json::to_string(c).expect("plain data");
        let status = match r.status {
            Status::Recommended => "recommended",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        };
        tx.execute(
            "INSERT OR REPLACE INTO functions (run_id, name, arn, code_sha256, memory_mb,
                 architecture, runtime, payload_sha256, config_json, status, reason, position,
                 result_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                run_id,
                r.function,
                c.arn,
                c.code_sha256,
                c.memory_mb,
                c.architecture,
                c.runtime,
                r.payload_sha256,
                config_json,
                status,
                r.reason,
                position as i64,
                serde_json::to_string(r).expect("plain data")
            ],
        )
        .map_err(err)?;
        if let Some(doc) = r.document.as_deref() {
            for s in &doc.sizes {
                tx.execute(
                    "INSERT OR REPLACE INTO samples (run_id, function, memory_mb, invocations,
                         successes, cold_starts, p50_ms, p90_ms, p99_ms, trimmed_mean_ms, cv,
                         mean_billed_ms, max_memory_used_mb, cost_per_invocation_usd,
                         cost_ci95_low_usd, cost_ci95_high_usd, feasible)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                    params![
                        run_id,
                        r.function,
                        s.memory_mb,
                        s.invocations as i64,
                        s.successes as i64,
                        s.cold_starts as i64,
                        s.p50_ms,
                        s.p90_ms,
                        s.p99_ms,
                        s.trimmed_mean_ms,
                        s.cv,
                        s.mean_billed_ms,
                        s.max_memory_used_mb,
                        s.cost_per_invocation_usd,
                        s.cost_ci95_usd.map(|c| c[0]),
                        s.cost_ci95_usd.map(|c| c[1]),
                        s.feasible
                    ],
                )
                .map_err(err)?;
            }
            if let Some(rec) = &doc.recommendation {
                tx.execute(
                    "INSERT OR REPLACE INTO recommendations (run_id, function, current_memory_mb,
                         memory_mb, cost_per_million_usd, p99_ms, confidence, monthly_savings_usd,
                         document_json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        run_id,
                        r.function,
                        doc.current.memory_mb,
                        rec.memory_mb,
                        rec.cost_per_million_usd,
                        rec.p99_ms,
                        confidence(doc),
                        rec.monthly_savings_usd,
                        serde_json::to_string(doc).expect("plain data")
                    ],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Adds a change to the audit log; returns its id.
    pub fn record_applied(&self, c: &AppliedChange) -> HistoryResult<i64> {
        self.conn
            .execute(
                "INSERT INTO applied_changes (run_id, function, method, alias, previous_version,
                     published_version, before_memory_mb, before_revision_id, after_memory_mb,
                     after_revision_id, applied_at, provisioned_before, provisioned_after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    c.run_id,
                    c.function,
                    c.method.as_str(),
                    c.alias,
                    c.previous_version,
                    c.published_version,
                    c.before_memory_mb,
                    c.before_revision_id,
                    c.after_memory_mb,
                    c.after_revision_id,
                    c.applied_at,
                    c.provisioned.and_then(|p| p.before),
                    c.provisioned.and_then(|p| p.after)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn mark_rolled_back(&self, change_id: i64, at: &str) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE applied_changes SET rolled_back_at = ?2 WHERE id = ?1",
                params![change_id, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Keeps a run's totals so far, its status unchanged: written as each function finishes,
    /// so a run that dies (kill -9) still shows what it tuned and spent.
    pub fn record_totals(&self, id: &str, t: &RunTotals) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET functions = ?2, recommended = ?3, skipped = ?4, failed = ?5,
                     invocations = ?6, gb_seconds = ?7, usd = ?8, wall_s = ?9
                 WHERE id = ?1",
                params![
                    id,
                    t.functions as i64,
                    t.recommended as i64,
                    t.skipped as i64,
                    t.failed as i64,
                    t.invocations as i64,
                    t.gb_seconds,
                    t.usd,
                    t.wall_s
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Ends a run with its totals.
    pub fn finish_run(&self, id: &str, status: RunStatus, t: &RunTotals) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, functions = ?4, recommended = ?5,
                     skipped = ?6, failed = ?7, invocations = ?8, gb_seconds = ?9, usd = ?10,
                     wall_s = ?11
                 WHERE id = ?1",
                params![
                    id,
                    status.as_str(),
                    Utc::now().to_rfc3339(),
                    t.functions as i64,
                    t.recommended as i64,
                    t.skipped as i64,
                    t.failed as i64,
                    t.invocations as i64,
                    t.gb_seconds,
                    t.usd,
                    t.wall_s
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Keeps the finished run's fleet JSON (`memtune fleet --format json`).
    pub fn store_report(&self, id: &str, fleet_json: &str) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET report_json = ?2 WHERE id = ?1",
                params![id, fleet_json],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The fleet JSON of a finished run; None for an unknown run or one that did not finish.
    pub fn report_json(&self, id: &str) -> HistoryResult<Option<String>> {
        let found: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT report_json FROM runs WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(found.flatten())
    }

    /// A fleet run as its report shows it: the run stored when it finished and every
    /// function's result, in the run's order. None for an unknown or unfinished run, and for
    /// a run whose report is not a fleet run's (`recommend --apply`).
    pub fn fleet_run(&self, id: &str) -> HistoryResult<Option<FleetRun>> {
        let Some(text) = self.report_json(id)? else {
            return Ok(None);
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| self.err(e))?;
        if value.get("functions").is_some() {
            // Stored whole, before results streamed here.
            return serde_json::from_value(value)
                .map(Some)
                .map_err(|e| self.err(e));
        }
        if value.get("totals").is_none() {
            return Ok(None);
        }
        let overview: RunOverview = serde_json::from_value(value).map_err(|e| self.err(e))?;
        Ok(Some(FleetRun::new(overview, self.results(id)?)))
    }

    /// Every function's result in a run, in the run's order.
    pub fn results(&self, run_id: &str) -> HistoryResult<Vec<FunctionResult>> {
        self.query(
            "SELECT result_json, config_json, payload_sha256 FROM functions
             WHERE run_id = ?1 AND result_json IS NOT NULL ORDER BY position, name",
            params![run_id],
            stored_result,
        )
    }

    /// The positions of a run's recommended functions, in the run's order: the caller that
    /// applies them reads one result at a time ([`History::result_at`]).
    pub fn recommended_positions(&self, run_id: &str) -> HistoryResult<Vec<usize>> {
        self.query(
            "SELECT position FROM functions
             WHERE run_id = ?1 AND status = 'recommended' AND position IS NOT NULL
             ORDER BY position",
            params![run_id],
            |row| Ok(row.get::<_, i64>(0)?.max(0) as usize),
        )
    }

    /// The result at `position` in a run.
    pub fn result_at(
        &self,
        run_id: &str,
        position: usize,
    ) -> HistoryResult<Option<FunctionResult>> {
        self.conn
            .query_row(
                "SELECT result_json, config_json, payload_sha256 FROM functions
                 WHERE run_id = ?1 AND position = ?2 AND result_json IS NOT NULL",
                params![run_id, position as i64],
                stored_result,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The monthly savings a run's recommendations found, where production traffic is known
    /// (positive ones only).
    pub fn monthly_savings_found(&self, run_id: &str) -> HistoryResult<f64> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(monthly_savings_usd), 0) FROM recommendations
                 WHERE run_id = ?1 AND monthly_savings_usd > 0",
                params![run_id],
                |row| row.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Ends a run that produced no results (interrupted, or failed before tuning); a run
    /// that has ended already (a target that finished before its organisation run was
    /// stopped) keeps its status.
    pub fn end_run(&self, id: &str, status: RunStatus) -> HistoryResult<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3
                 WHERE id = ?1 AND finished_at IS NULL",
                params![id, status.as_str(), Utc::now().to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    // ---- reading ----------------------------------------------------------------------

    /// The latest runs, newest first.
    pub fn runs(&self, limit: usize) -> HistoryResult<Vec<RunSummary>> {
        self.query(
            &format!("{RUN_SUMMARY} ORDER BY r.started_at DESC, r.id DESC LIMIT ?1"),
            params![limit as i64],
            run_summary,
        )
    }

    pub fn run(&self, id: &str) -> HistoryResult<Option<RunDetail>> {
        let summary = self
            .conn
            .query_row(
                &format!("{RUN_SUMMARY} WHERE r.id = ?1"),
                params![id],
                run_summary,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(summary) = summary else {
            return Ok(None);
        };
        Ok(Some(RunDetail {
            functions: self.query(
                &format!("{FUNCTION_ENTRY} WHERE f.run_id = ?1 ORDER BY f.name"),
                params![id],
                function_entry,
            )?,
            applied_changes: self.applied_changes(id)?,
            summary,
        }))
    }

    /// The run of each account and region of the `[[target]]` run `id` (recorded as
    /// `ID-ACCOUNT-REGION`), in the order of their ids.
    pub fn target_runs(&self, id: &str) -> HistoryResult<Vec<RunDetail>> {
        let prefix = format!("{id}-");
        let ids: Vec<String> = self.query(
            "SELECT id FROM runs WHERE substr(id, 1, ?2) = ?1 ORDER BY id",
            params![prefix, prefix.chars().count() as i64],
            |row| row.get(0),
        )?;
        let mut runs = Vec::new();
        for id in ids {
            runs.extend(self.run(&id)?);
        }
        Ok(runs)
    }

    /// Every run's entry for one function, newest first.
    pub fn function_history(&self, name: &str) -> HistoryResult<Vec<FunctionEntry>> {
        self.query(
            &format!("{FUNCTION_ENTRY} WHERE f.name = ?1 ORDER BY r.started_at DESC, r.id DESC"),
            params![name],
            function_entry,
        )
    }

    pub fn latest_recommendation(&self, name: &str) -> HistoryResult<Option<Recommendation>> {
        self.conn
            .query_row(
                "SELECT c.run_id, c.function, c.current_memory_mb, c.memory_mb,
                        c.cost_per_million_usd, c.p99_ms, c.confidence, c.monthly_savings_usd,
                        c.document_json
                 FROM recommendations c JOIN runs r ON r.id = c.run_id
                 WHERE c.function = ?1 ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
                params![name],
                |row| {
                    Ok(Recommendation {
                        run_id: row.get(0)?,
                        function: row.get(1)?,
                        current_memory_mb: row.get(2)?,
                        memory_mb: row.get(3)?,
                        cost_per_million_usd: row.get(4)?,
                        p99_ms: row.get(5)?,
                        confidence: row.get(6)?,
                        monthly_savings_usd: row.get(7)?,
                        document: serde_json::from_str(&row.get::<_, String>(8)?)
                            .map_err(|e| conversion(8, e))?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The audit log of one run, in the order the changes were made.
    pub fn applied_changes(&self, run_id: &str) -> HistoryResult<Vec<AuditEntry>> {
        self.query(
            "SELECT id, run_id, function, method, alias, previous_version, published_version,
                    before_memory_mb, before_revision_id, after_memory_mb, after_revision_id,
                    applied_at, rolled_back_at, provisioned_before, provisioned_after
             FROM applied_changes WHERE run_id = ?1 ORDER BY id",
            params![run_id],
            |row| {
                let method: String = row.get(3)?;
                let method = ApplyMethod::parse(&method).unwrap_or(ApplyMethod::Update);
                let provisioned = (method == ApplyMethod::Provisioned)
                    .then(|| -> rusqlite::Result<ProvisionedChange> {
                        Ok(ProvisionedChange {
                            before: row.get(13)?,
                            after: row.get(14)?,
                        })
                    })
                    .transpose()?;
                Ok(AuditEntry {
                    id: row.get(0)?,
                    change: AppliedChange {
                        run_id: row.get(1)?,
                        function: row.get(2)?,
                        method,
                        alias: row.get(4)?,
                        previous_version: row.get(5)?,
                        published_version: row.get(6)?,
                        before_memory_mb: row.get(7)?,
                        before_revision_id: row.get(8)?,
                        after_memory_mb: row.get(9)?,
                        after_revision_id: row.get(10)?,
                        applied_at: row.get(11)?,
                        provisioned,
                    },
                    rolled_back_at: row.get(12)?,
                })
            },
        )
    }

    /// Per function, its latest recommendation from a finished run, with the memory it
    /// should have now (what memtune applied to $LATEST then, unless rolled back).
    pub fn last_tunings(&self) -> HistoryResult<BTreeMap<String, LastTuning>> {
        let rows = self.tunings()?;
        // Oldest first: the latest run of each function wins.
        Ok(rows.into_iter().map(|(name, _, t)| (name, t)).collect())
    }

    /// Every recommended function of a finished run, oldest first: (name, ARN, tuning).
    fn tunings(&self) -> HistoryResult<Vec<(String, String, LastTuning)>> {
        self.query(
            "SELECT f.name, f.run_id, r.started_at, f.code_sha256, f.memory_mb, f.architecture,
                    f.runtime, f.payload_sha256,
                    f.arn,
                    (SELECT a.after_memory_mb FROM applied_changes a
                     WHERE a.run_id = f.run_id AND a.function = f.name AND a.method = 'update'
                       AND a.rolled_back_at IS NULL
                     ORDER BY a.id DESC LIMIT 1)
             FROM functions f JOIN runs r ON r.id = f.run_id
             WHERE f.status = 'recommended' AND r.status = 'finished'
             ORDER BY r.started_at, r.id",
            [],
            |row| {
                let started: String = row.get(2)?;
                let applied: Option<u32> = row.get(9)?;
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(8)?,
                    LastTuning {
                        run_id: row.get(1)?,
                        started_at: DateTime::parse_from_rfc3339(&started)
                            .map_err(|e| conversion(2, e))?
                            .with_timezone(&Utc),
                        snapshot: Snapshot {
                            code_sha256: row.get(3)?,
                            memory_mb: applied.map_or_else(|| row.get(4), Ok)?,
                            architecture: row.get(5)?,
                            runtime: row.get(6)?,
                            payload_sha256: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
                        },
                    },
                ))
            },
        )
    }

    /// The re-tune policy for a run starting now, from the last tunings recorded here.
    pub fn retune_policy(&self, after_days: u32, force: bool) -> HistoryResult<RetunePolicy> {
        Ok(RetunePolicy {
            after_days,
            force,
            // By ARN: a function of the same name in another account or region is another
            // function. Oldest first: the latest run of each wins.
            last: self
                .tunings()?
                .into_iter()
                .map(|(_, arn, t)| (arn, t))
                .collect(),
            now: Utc::now(),
        })
    }

    fn query<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> HistoryResult<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        stmt.query_map(params, map)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }
}

fn conversion(column: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

const RUN_SUMMARY: &str = "SELECT r.id, r.started_at, r.finished_at, r.status, r.region,
        r.config_path, r.config_sha256, r.functions, r.recommended, r.skipped, r.failed,
        (SELECT COUNT(*) FROM applied_changes a WHERE a.run_id = r.id),
        (SELECT COUNT(*) FROM applied_changes a WHERE a.run_id = r.id
            AND a.rolled_back_at IS NOT NULL),
        r.invocations, r.gb_seconds, r.usd, r.wall_s, r.role_json
    FROM runs r";

fn count(row: &Row<'_>, column: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(column)?.max(0) as u64)
}

fn run_summary(row: &Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: row.get(0)?,
        started_at: row.get(1)?,
        finished_at: row.get(2)?,
        status: RunStatus::parse(&row.get::<_, String>(3)?),
        region: row.get(4)?,
        config_path: row.get(5)?,
        config_sha256: row.get(6)?,
        functions: count(row, 7)?,
        recommended: count(row, 8)?,
        skipped: count(row, 9)?,
        failed: count(row, 10)?,
        applied: count(row, 11)?,
        rolled_back: count(row, 12)?,
        invocations: count(row, 13)?,
        gb_seconds: row.get(14)?,
        usd: row.get(15)?,
        wall_s: row.get(16)?,
        role: row
            .get::<_, Option<String>>(17)?
            .map(|json| serde_json::from_str(&json).map_err(|e| conversion(17, e)))
            .transpose()?,
    })
}

/// A result as stored: its JSON, with the configuration and payload digest the JSON leaves
/// out.
fn stored_result(row: &Row<'_>) -> rusqlite::Result<FunctionResult> {
    let mut result: FunctionResult =
        serde_json::from_str(&row.get::<_, String>(0)?).map_err(|e| conversion(0, e))?;
    result.config =
        serde_json::from_str(&row.get::<_, String>(1)?).map_err(|e| conversion(1, e))?;
    result.payload_sha256 = row.get(2)?;
    Ok(result)
}

const FUNCTION_ENTRY: &str = "SELECT f.run_id, r.started_at, f.name, f.arn, f.status, f.reason,
        f.code_sha256, f.memory_mb, f.architecture, f.runtime, f.payload_sha256,
        c.memory_mb, c.monthly_savings_usd, c.confidence
    FROM functions f JOIN runs r ON r.id = f.run_id
    LEFT JOIN recommendations c ON c.run_id = f.run_id AND c.function = f.name";

fn function_entry(row: &Row<'_>) -> rusqlite::Result<FunctionEntry> {
    let arn: String = row.get(3)?;
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME
    let part = |i: usize| arn.split(':').nth(i).unwrap_or_default().to_string();
    Ok(FunctionEntry {
        run_id: row.get(0)?,
        run_started_at: row.get(1)?,
        name: row.get(2)?,
        account: part(4),
        region: part(3),
        arn,
        status: row.get(4)?,
        reason: row.get(5)?,
        code_sha256: row.get(6)?,
        memory_mb: row.get(7)?,
        architecture: row.get(8)?,
        runtime: row.get(9)?,
        payload_sha256: row.get(10)?,
        recommended_mb: row.get(11)?,
        monthly_savings_usd: row.get(12)?,
        confidence: row.get(13)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::confidence::tests::doc;

    fn config(name: &str, memory_mb: u32, code: &str) -> crate::platform::FunctionConfig {
        crate::platform::FunctionConfig {
            revision_id: "rev-1".into(),
            code_sha256: code.into(),
            ..crate::platform::FunctionConfig::sample(name, memory_mb)
        }
    }

    fn start(h: &History, id: &str, at: &str) {
        h.begin_run(&RunStart {
            id: id.into(),
            started_at: at.into(),
            region: "us-east-1".into(),
            config_path: "fleet.toml".into(),
            config_sha256: "abc".into(),
            role: None,
        })
        .unwrap();
    }

    fn tuned(name: &str) -> FunctionResult {
        let mut r = FunctionResult::tuned(
            config(name, 512, "code-1"),
            doc(512, 1024, &[(512, 2.0e-6, 0.1e-6), (1024, 1.5e-6, 0.1e-6)]),
        );
        r.payload_sha256 = Some("p".into());
        r
    }

    fn change(run_id: &str, function: &str) -> AppliedChange {
        AppliedChange {
            run_id: run_id.into(),
            function: function.into(),
            method: ApplyMethod::Update,
            alias: None,
            previous_version: None,
            published_version: None,
            before_memory_mb: 512,
            before_revision_id: "rev-1".into(),
            after_memory_mb: 1024,
            after_revision_id: "rev-2".into(),
            applied_at: "2026-11-01T10:05:00Z".into(),
            provisioned: None,
        }
    }

    #[test]
    fn a_provisioned_concurrency_change_is_read_back_with_its_levels() {
        let h = History::in_memory().unwrap();
        start(&h, "run-pc", "2026-11-01T10:00:00Z");
        let pc = AppliedChange {
            method: ApplyMethod::Provisioned,
            alias: Some("live".into()),
            previous_version: Some("3".into()),
            after_memory_mb: 512,
            provisioned: Some(ProvisionedChange {
                before: None,
                after: Some(5),
            }),
            ..change("run-pc", "orders")
        };
        h.record_applied(&pc).unwrap();
        let read = h.applied_changes("run-pc").unwrap();
        assert_eq!(read[0].change, pc);
        // It is no memory tuning: the last tuning of the function ignores it.
        assert!(h.last_tunings().unwrap().is_empty());
    }

    #[test]
    fn a_run_is_recorded_and_read_back() {
        let mut h = History::in_memory().unwrap();
        start(&h, "run-1", "2026-11-01T10:00:00Z");
        assert_eq!(h.runs(10).unwrap()[0].status, RunStatus::Running);
        let results = vec![
            tuned("orders"),
            FunctionResult::skipped(config("legacy", 128, "c"), "frozen"),
        ];
        for (i, r) in results.iter().enumerate() {
            h.record_function("run-1", i, r).unwrap();
        }
        let id = h.record_applied(&change("run-1", "orders")).unwrap();
        h.finish_run("run-1", RunStatus::Finished, &RunTotals::of(&results, 1.5))
            .unwrap();

        let runs = h.runs(10).unwrap();
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(r.status, RunStatus::Finished);
        assert_eq!((r.functions, r.recommended, r.skipped), (2, 1, 1));
        assert_eq!((r.applied, r.rolled_back), (1, 0));
        assert!(r.usd > 0.0);

        let detail = h.run("run-1").unwrap().unwrap();
        assert_eq!(detail.functions.len(), 2);
        assert_eq!(
            detail.functions[0].reason.as_deref(),
            Some("frozen"),
            "by name"
        );
        assert_eq!(detail.applied_changes[0].change, change("run-1", "orders"));
        assert!(h.run("nope").unwrap().is_none());

        let rec = h.latest_recommendation("orders").unwrap().unwrap();
        assert_eq!((rec.current_memory_mb, rec.memory_mb), (512, 1024));
        assert!(rec.confidence.unwrap() > 0.99);
        assert_eq!(rec.document.sizes.len(), 2);
        assert_eq!(
            h.function_history("orders").unwrap()[0].recommended_mb,
            Some(1024)
        );

        h.mark_rolled_back(id, "2026-11-02T00:00:00Z").unwrap();
        assert_eq!(h.runs(10).unwrap()[0].rolled_back, 1);
    }

    #[test]
    fn the_last_tuning_expects_the_memory_memtune_applied_until_rolled_back() {
        let mut h = History::in_memory().unwrap();
        start(&h, "run-1", "2026-11-01T10:00:00Z");
        h.record_function("run-1", 0, &tuned("orders")).unwrap();
        let id = h.record_applied(&change("run-1", "orders")).unwrap();
        h.finish_run("run-1", RunStatus::Finished, &RunTotals::default())
            .unwrap();
        // A later run that was interrupted does not count.
        start(&h, "run-2", "2026-11-03T10:00:00Z");
        h.record_function("run-2", 0, &tuned("orders")).unwrap();
        h.end_run("run-2", RunStatus::Interrupted).unwrap();

        let last = h.last_tunings().unwrap();
        let orders = &last["orders"];
        assert_eq!(orders.run_id, "run-1");
        assert_eq!(orders.snapshot.memory_mb, 1024, "applied");
        assert_eq!(orders.snapshot.code_sha256, "code-1");
        assert_eq!(orders.snapshot.payload_sha256, "p");
        h.mark_rolled_back(id, "2026-11-02T00:00:00Z").unwrap();
        assert_eq!(h.last_tunings().unwrap()["orders"].snapshot.memory_mb, 512);
    }

    #[test]
    fn a_run_whose_process_died_is_interrupted_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path()).unwrap();
        start(&h, "run-1", "2026-11-01T10:00:00Z");
        start(&h, "run-2", "2026-11-01T11:00:00Z");
        // run-1's process is gone; run-2's (this one) is alive.
        h.conn
            .execute("UPDATE runs SET pid = ?1 WHERE id = 'run-1'", [u32::MAX])
            .unwrap();
        drop(h);
        let h = History::open(dir.path()).unwrap();
        let status: BTreeMap<String, RunStatus> = h
            .runs(10)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.status))
            .collect();
        assert_eq!(status["run-1"], RunStatus::Interrupted);
        assert_eq!(status["run-2"], RunStatus::Running);
        let mode: String = h
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
