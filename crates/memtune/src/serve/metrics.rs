//! `GET /metrics`: what the service has done since it started, in the Prometheus text format.

use std::fmt::Write as _;

use crate::fleet::outcome::RunTotals;

/// Counters over the runs this process finished.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub runs_succeeded: u64,
    /// Runs with at least one failed function or account-region not tuned.
    pub runs_with_failures: u64,
    /// Runs that stopped early: interrupted, or an error before any function was tuned.
    pub runs_aborted: u64,
    pub functions_recommended: u64,
    pub functions_skipped: u64,
    pub functions_failed: u64,
    pub invocations: u64,
    pub exploration_usd: f64,
    /// Monthly savings found (recommended - current cost x monthly invocations), where
    /// production traffic is known.
    pub monthly_savings_found_usd: f64,
    pub running: bool,
    pub last_run_finished_unix: Option<i64>,
}

/// What the service keeps of a finished run: its counters and `/healthz`'s findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinishedRun {
    pub totals: RunTotals,
    /// Positive monthly savings its recommendations found (the history sums them).
    pub monthly_savings_found_usd: f64,
    /// `[capacity]`: each analysed function's recommendation.
    pub capacity: Vec<super::findings::CapacityFinding>,
    /// `[[target]]`s: one line per account-region that could not be tuned.
    pub targets_not_tuned: Vec<String>,
}

impl FinishedRun {
    /// A function failed, or an account-region could not be tuned.
    pub fn has_failures(&self) -> bool {
        self.totals.failed > 0 || !self.targets_not_tuned.is_empty()
    }
}

impl Counters {
    pub fn add_run(&mut self, run: &FinishedRun, finished_unix: i64) {
        let t = &run.totals;
        if run.has_failures() {
            self.runs_with_failures += 1;
        } else {
            self.runs_succeeded += 1;
        }
        self.functions_recommended += t.recommended as u64;
        self.functions_skipped += t.skipped as u64;
        self.functions_failed += t.failed as u64;
        self.invocations += t.invocations;
        self.exploration_usd += t.usd;
        self.monthly_savings_found_usd += run.monthly_savings_found_usd;
        self.last_run_finished_unix = Some(finished_unix);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        metric(
            "memtune_runs_total",
            "counter",
            "Fleet runs finished, by outcome.",
            &[
                ("{outcome=\"succeeded\"}", self.runs_succeeded as f64),
                (
                    "{outcome=\"with_failures\"}",
                    self.runs_with_failures as f64,
                ),
                ("{outcome=\"aborted\"}", self.runs_aborted as f64),
            ],
        );
        metric(
            "memtune_functions_total",
            "counter",
            "Functions handled by finished runs, by status.",
            &[
                (
                    "{status=\"recommended\"}",
                    self.functions_recommended as f64,
                ),
                ("{status=\"skipped\"}", self.functions_skipped as f64),
                ("{status=\"failed\"}", self.functions_failed as f64),
            ],
        );
        metric(
            "memtune_invocations_total",
            "counter",
            "Invocations spent exploring memory sizes.",
            &[("", self.invocations as f64)],
        );
        metric(
            "memtune_exploration_usd_total",
            "counter",
            "What exploring cost, in USD.",
            &[("", self.exploration_usd)],
        );
        metric(
            "memtune_monthly_savings_found_usd_total",
            "counter",
            "Monthly savings of the recommendations found, in USD per month (functions with known traffic).",
            &[("", self.monthly_savings_found_usd)],
        );
        metric(
            "memtune_run_in_progress",
            "gauge",
            "1 while a fleet run is going.",
            &[("", f64::from(u8::from(self.running)))],
        );
        if let Some(t) = self.last_run_finished_unix {
            metric(
                "memtune_last_run_finished_timestamp_seconds",
                "gauge",
                "When the last run finished (Unix time).",
                &[("", t as f64)],
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_samples() {
        let c = Counters {
            runs_succeeded: 2,
            invocations: 120,
            exploration_usd: 0.25,
            running: true,
            ..Counters::default()
        };
        let text = c.render();
        assert!(text.contains("# TYPE memtune_runs_total counter\n"));
        assert!(text.contains("memtune_runs_total{outcome=\"succeeded\"} 2\n"));
        assert!(text.contains("memtune_invocations_total 120\n"));
        assert!(text.contains("memtune_exploration_usd_total 0.25\n"));
        assert!(text.contains("memtune_run_in_progress 1\n"));
        assert!(!text.contains("last_run_finished"));
        // Every sample line is `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap();
        }
    }
}
