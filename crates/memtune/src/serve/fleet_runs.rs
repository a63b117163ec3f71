//! The service's runs are the library's fleet runs: each on its own thread, its progress
//! and history trouble in the service's log, and a stopped run restored and marked
//! interrupted.

use std::sync::Arc;

use super::findings::capacity_findings;
use super::metrics::FinishedRun;
use super::runner::{on_own_thread, Launch, Restore, Runner};
use crate::fleet::outcome::Status;
use crate::fleet::run::Progress;
use crate::orchestrate::service::ServiceRun;
use crate::orchestrate::{restore_stopped, Event, OnEvent, RunError};
use crate::platform::aws::AwsLambda;

/// A runner of `service`'s fleet runs; `api` restores what a stopped run had in flight.
pub fn runner(service: ServiceRun, api: AwsLambda) -> Runner {
    let service_state_dir = service.state_dir.clone();
    let service = Arc::new(service);
    let launch: Launch = Arc::new(move |run_id: String| {
        let service = service.clone();
        on_own_thread(format!("run-{run_id}"), move || async move {
            let on_event: OnEvent = Arc::new(log_event);
            let finished = service.run(run_id, on_event).await?;
            for trouble in &finished.history_trouble {
                tracing::error!(error = %trouble, "history write failed");
            }
            let savings = finished.history.monthly_savings_found(&finished.run.run_id);
            let monthly_savings_found_usd = savings.unwrap_or_else(|e| {
                tracing::error!(error = %e, "history read failed");
                0.0
            });
            Ok::<_, RunError>(FinishedRun {
                capacity: capacity_findings(&finished.run.capacity),
                totals: finished.run.totals,
                monthly_savings_found_usd,
            })
        })
    });
    let restore: Restore = Arc::new(move |run_id: String| {
        let api = api.clone();
        let state_dir = service_state_dir.clone();
        Box::pin(async move {
            let (lines, marked) = restore_stopped(&api, &state_dir, &run_id).await;
            if let Err(e) = marked {
                tracing::error!(%run_id, error = %e, "cannot mark the run interrupted");
            }
            lines
        })
    });
    Runner::new(launch, restore)
}

fn log_event(event: Event) {
    let Event::Progress(p) = event else {
        return;
    };
    match p {
        Progress::Planned { jobs, budget } => {
            tracing::info!(
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
                tracing::info!(function = %r.function, now_mb = r.config.memory_mb, recommended_mb = memory, "recommended")
            }
            Status::Skipped => {
                tracing::info!(function = %r.function, reason = r.reason.as_deref(), "skipped")
            }
            Status::Failed => {
                tracing::warn!(function = %r.function, reason = r.reason.as_deref(), "failed")
            }
        },
    }
}
