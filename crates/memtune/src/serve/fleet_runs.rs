//! The service's runs are the library's fleet runs: each on its own thread, its progress
//! and history trouble in the service's log, and a stopped run restored and marked
//! interrupted. A run over `[[target]]`s logs each function with its account and region, and
//! each target that could not be tuned with its one line.

use std::sync::Arc;

use super::findings::capacity_findings;
use super::metrics::FinishedRun;
use super::runner::{on_own_thread, Launch, Restore, Runner};
use crate::fleet::outcome::Status;
use crate::fleet::run::Progress;
use crate::orchestrate::organisation::TargetRun;
use crate::orchestrate::service::ServiceRun;
use crate::orchestrate::{Event, Finished, OnEvent, RunError};

/// A runner of `service`'s fleet runs, which restores what a stopped run had in flight.
pub fn runner(service: ServiceRun) -> Runner {
    let service = Arc::new(service);
    let launcher = service.clone();
    let launch: Launch = Arc::new(move |run_id: String| {
        let service = launcher.clone();
        on_own_thread(format!("run-{run_id}"), move || async move {
            if !service.config.targets.is_empty() {
                let targets = service.run_targets(run_id, log_place).await?;
                return Ok(of_targets(&targets));
            }
            let on_event: OnEvent = Arc::new(|e| log_event(None, e));
            let finished = service.run(run_id, on_event).await?;
            Ok::<_, RunError>(of_run(&finished, None))
        })
    });
    let restore: Restore = Arc::new(move |run_id: String| {
        let service = service.clone();
        Box::pin(async move { service.restore(&run_id).await })
    });
    Runner::new(launch, restore)
}

/// What the service keeps of one finished run (of one target: `place` is `ACCOUNT/REGION`).
fn of_run(finished: &Finished, place: Option<&str>) -> FinishedRun {
    for trouble in &finished.history_trouble {
        tracing::error!(place, error = %trouble, "history write failed");
    }
    let savings = finished.history.monthly_savings_found(&finished.run.run_id);
    let monthly_savings_found_usd = savings.unwrap_or_else(|e| {
        tracing::error!(place, error = %e, "history read failed");
        0.0
    });
    FinishedRun {
        capacity: capacity_findings(&finished.run.capacity),
        totals: finished.run.totals.clone(),
        monthly_savings_found_usd,
        targets_not_tuned: Vec::new(),
    }
}

/// Every target's run added up, and one line per target that was not tuned.
fn of_targets(targets: &[TargetRun]) -> FinishedRun {
    let mut all = FinishedRun::default();
    for t in targets {
        let place = format!("{}/{}", t.account, t.region);
        match &t.outcome {
            Ok(finished) => {
                let mut run = of_run(finished, Some(&place));
                for c in &mut run.capacity {
                    c.account = Some(t.account.clone());
                }
                all.totals.merge(&run.totals);
                all.totals.wall_s = all.totals.wall_s.max(run.totals.wall_s);
                all.monthly_savings_found_usd += run.monthly_savings_found_usd;
                all.capacity.extend(run.capacity);
            }
            Err(e) => {
                let line = format!("{place}: not tuned: {} (run {})", e.line(), t.run_id);
                tracing::error!("{line}");
                all.targets_not_tuned.push(line);
            }
        }
    }
    all
}

/// Logs a target's events with its account and region.
fn log_place(account: &str, region: &str) -> OnEvent {
    let place = format!("{account}/{region}");
    Arc::new(move |e| log_event(Some(&place), e))
}

fn log_event(place: Option<&str>, event: Event) {
    let Event::Progress(p) = event else {
        return;
    };
    match p {
        Progress::Planned { jobs, budget } => {
            tracing::info!(
                place,
                functions = jobs,
                in_flight_budget = budget,
                "fleet run planned"
            )
        }
        Progress::Invoked => {}
        Progress::NotTuned { .. } => {}
        Progress::Finished { result: r, .. } => match r.status {
            Status::Recommended => {
                let memory = r
                    .document
                    .as_deref()
                    .and_then(|d| d.recommendation.as_ref())
                    .map(|rec| rec.memory_mb);
                tracing::info!(place, function = %r.function, now_mb = r.config.memory_mb, recommended_mb = memory, "recommended")
            }
            Status::Skipped => {
                tracing::info!(place, function = %r.function, reason = r.reason.as_deref(), "skipped")
            }
            Status::Failed => {
                tracing::warn!(place, function = %r.function, reason = r.reason.as_deref(), "failed")
            }
        },
    }
}
