//! The history writes of one run: each failed write is kept as a line, and the run goes on.

use std::path::Path;
use std::time::Instant;

use crate::apply::AppliedChange;
use crate::fleet::outcome::{FleetRun, FunctionResult, RunTotals};
use crate::fleet::run::RunSettings;
use crate::history::{History, HistoryError, RunStart, RunStatus};

/// Writes a run to the history (if there is one), keeping what failed.
pub(super) struct Recorder {
    history: Option<History>,
    trouble: Vec<String>,
    /// The totals of the functions finished so far.
    so_far: RunTotals,
    started: Instant,
}

impl Recorder {
    pub fn new(history: Option<History>) -> Recorder {
        Recorder {
            history,
            trouble: Vec::new(),
            so_far: RunTotals::default(),
            started: Instant::now(),
        }
    }

    fn check(&mut self, written: Result<(), HistoryError>) {
        if let Err(e) = written {
            self.trouble.push(e.to_string());
        }
    }

    /// Records the run as started, with the config it runs.
    pub fn begin(&mut self, settings: &RunSettings, config_path: &Path) {
        let Some(history) = &self.history else {
            return;
        };
        let config_text = std::fs::read(config_path).unwrap_or_default();
        let begun = history.begin_run(&RunStart::now(
            &settings.run_id,
            &settings.region,
            config_path.display().to_string(),
            &config_text,
        ));
        self.check(begun);
    }

    /// Records a function the moment it finishes, and the run's totals so far.
    pub fn finished(&mut self, run_id: &str, result: &FunctionResult) {
        let Some(history) = &mut self.history else {
            return;
        };
        let written = history.record_function(run_id, result);
        self.so_far.add(result);
        self.so_far.wall_s = self.started.elapsed().as_secs_f64();
        let totals = history.record_totals(run_id, &self.so_far);
        self.check(written);
        self.check(totals);
    }

    /// Records a change auto-apply made (the audit log `memtune rollback` reads).
    pub fn applied(&mut self, change: &AppliedChange) {
        let Some(history) = &self.history else {
            return;
        };
        let written = history.record_applied(change).map(|_| ());
        self.check(written);
    }

    /// Ends a run that did not finish; a failed write here is not reported.
    pub fn end(&mut self, run_id: &str, status: RunStatus) {
        if let Some(history) = &self.history {
            let _ = history.end_run(run_id, status);
        }
    }

    /// Records the finished run (every function again, with what auto-apply did, the report
    /// and the totals) and hands back what could not be written.
    pub fn finish(&mut self, run: &FleetRun) -> Vec<String> {
        if let Some(mut history) = self.history.take() {
            for r in &run.functions {
                let written = history.record_function(&run.run_id, r);
                self.check(written);
            }
            let fleet_json = serde_json::to_string(run).expect("a run is plain data");
            let stored = history.store_report(&run.run_id, &fleet_json);
            self.check(stored);
            let finished = history.finish_run(&run.run_id, RunStatus::Finished, &run.totals);
            self.check(finished);
        }
        std::mem::take(&mut self.trouble)
    }
}
