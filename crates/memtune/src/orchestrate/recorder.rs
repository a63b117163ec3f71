//! The history writes of one run: each failed write is kept as a line, and the run goes on.

use std::path::Path;
use std::time::Instant;

use crate::apply::AppliedChange;
use crate::fleet::outcome::{FunctionResult, RunOverview, RunTotals};
use crate::fleet::run::RunSettings;
use crate::history::{History, HistoryResult, RunStart, RunStatus};

/// Writes a run to its history, keeping what failed.
pub(super) struct Recorder {
    /// Handed back when the run finishes.
    history: Option<History>,
    trouble: Vec<String>,
    /// The totals of the functions recorded so far.
    so_far: RunTotals,
    started: Instant,
}

impl Recorder {
    pub fn new(history: History) -> Recorder {
        Recorder {
            history: Some(history),
            trouble: Vec::new(),
            so_far: RunTotals::default(),
            started: Instant::now(),
        }
    }

    /// Reads or writes the history, keeping a failure as a line; None after [`Self::finish`].
    fn with<T>(&mut self, op: impl FnOnce(&mut History) -> HistoryResult<T>) -> Option<T> {
        match op(self.history.as_mut()?) {
            Ok(value) => Some(value),
            Err(e) => {
                self.trouble.push(e.to_string());
                None
            }
        }
    }

    /// Records the run as started, with the config it runs and the role it acts as.
    pub fn begin(&mut self, settings: &RunSettings, config_path: &Path) {
        let config_text = std::fs::read(config_path).unwrap_or_default();
        let start = RunStart {
            role: settings.role.clone(),
            ..RunStart::now(
                &settings.run_id,
                &settings.region,
                config_path.display().to_string(),
                &config_text,
            )
        };
        self.with(|h| h.begin_run(&start));
    }

    /// Records a function the moment it finishes (or is left out by the plan), and the run's
    /// totals so far.
    pub fn finished(&mut self, run_id: &str, position: usize, result: &FunctionResult) {
        self.so_far.add(result);
        self.so_far.wall_s = self.started.elapsed().as_secs_f64();
        let so_far = self.so_far.clone();
        self.with(|h| h.record_function(run_id, position, result));
        self.with(|h| h.record_totals(run_id, &so_far));
    }

    /// The positions of the run's recommended functions.
    pub fn recommended(&mut self, run_id: &str) -> Vec<usize> {
        self.with(|h| h.recommended_positions(run_id))
            .unwrap_or_default()
    }

    pub fn result_at(&mut self, run_id: &str, position: usize) -> Option<FunctionResult> {
        self.with(|h| h.result_at(run_id, position)).flatten()
    }

    /// Records a function again, with what auto-apply did.
    pub fn replace(&mut self, run_id: &str, position: usize, result: &FunctionResult) {
        self.with(|h| h.record_function(run_id, position, result));
    }

    /// Records a change auto-apply made (the audit log `memtune rollback` reads).
    pub fn applied(&mut self, change: &AppliedChange) {
        self.with(|h| h.record_applied(change));
    }

    /// Ends a run that did not finish; a failed write here is not reported.
    pub fn end(&mut self, run_id: &str, status: RunStatus) {
        if let Some(history) = &self.history {
            let _ = history.end_run(run_id, status);
        }
    }

    /// Records the finished run (the run without its functions, which are recorded already,
    /// and its totals) and hands back the history, with what could not be written there.
    /// Nothing is recorded after this; None if it was called before.
    pub fn finish(&mut self, run: &RunOverview) -> Option<(History, Vec<String>)> {
        let overview_json = serde_json::to_string(run).expect("a run is plain data");
        self.with(|h| h.store_report(&run.run_id, &overview_json));
        self.with(|h| h.finish_run(&run.run_id, RunStatus::Finished, &run.totals));
        let history = self.history.take()?;
        Some((history, std::mem::take(&mut self.trouble)))
    }
}
