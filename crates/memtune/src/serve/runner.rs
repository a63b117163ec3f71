//! One fleet run at a time: triggered by the schedule or the API, counted for `/metrics`, and
//! stopped and restored on shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::task::JoinHandle;

use super::findings::CapacityFinding;
use super::metrics::{Counters, FinishedRun};
use crate::orchestrate::RunError;
use crate::sweep::journal::new_run_id;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why a run started on its own thread did not finish.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the run's thread ended without a result")]
    NoResult,
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Starts the fleet run with the given id.
pub type Launch = Arc<dyn Fn(String) -> BoxFuture<Result<FinishedRun, LaunchError>> + Send + Sync>;
/// Restores every function a stopped run had in flight; one line per function.
pub type Restore = Arc<dyn Fn(String) -> BoxFuture<Vec<String>> + Send + Sync>;

/// Runs the future `make` builds on a thread with a runtime of its own; dropping the returned
/// future cancels it. A fleet run holds borrowed AWS clients across awaits in ways rustc cannot
/// yet prove `Send` for every lifetime (rust-lang/rust#110338), so it cannot be spawned on the
/// service's runtime; its own thread needs no `Send` at all.
pub fn on_own_thread<F, Fut, T, E>(name: String, make: F) -> BoxFuture<Result<T, LaunchError>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
    T: Send + 'static,
    E: Into<LaunchError>,
{
    let (result_tx, result_rx) = tokio::sync::oneshot::channel();
    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                let _ = result_tx.send(Err(LaunchError::Runtime(e)));
                return;
            }
        };
        runtime.block_on(async move {
            tokio::select! {
                result = make() => {
                    let _ = result_tx.send(result.map_err(Into::into));
                }
                // The sender was dropped: the caller gave up on the run.
                _ = cancel_rx => {}
            }
        });
    });
    Box::pin(async move {
        spawned.map_err(LaunchError::Thread)?;
        let _cancel_when_dropped = cancel_tx;
        result_rx.await.unwrap_or(Err(LaunchError::NoResult))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Api,
}

/// The run in progress, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentRun {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub trigger: Trigger,
}

/// The last finished run, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastRun {
    pub run_id: String,
    pub finished_at: DateTime<Utc>,
    /// `succeeded`, `with_failures` or the error that stopped it.
    pub outcome: String,
    /// `[capacity]`: each analysed function's recommendation (the whole analysis is at
    /// `GET /api/runs/{id}/capacity`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityFinding>,
    /// `[[target]]`s: one line per account-region that could not be tuned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets_not_tuned: Vec<String>,
}

#[derive(Default)]
struct State {
    current: Option<(CurrentRun, JoinHandle<()>)>,
    last: Option<LastRun>,
    counters: Counters,
}

pub struct Runner {
    launch: Launch,
    restore: Restore,
    state: Arc<Mutex<State>>,
}

impl Runner {
    pub fn new(launch: Launch, restore: Restore) -> Runner {
        Runner {
            launch,
            restore,
            state: Arc::default(),
        }
    }

    /// Starts a run unless one is going; Err carries the id of the run in progress.
    pub fn trigger(&self, trigger: Trigger) -> Result<CurrentRun, CurrentRun> {
        let mut state = self.state.lock().expect("runner state");
        if let Some((current, _)) = &state.current {
            return Err(current.clone());
        }
        let current = CurrentRun {
            run_id: new_run_id(),
            started_at: Utc::now(),
            trigger,
        };
        tracing::info!(run_id = %current.run_id, ?trigger, "fleet run started");
        let run = (self.launch)(current.run_id.clone());
        let shared = self.state.clone();
        let run_id = current.run_id.clone();
        let handle = tokio::spawn(async move {
            let result = run.await;
            let mut state = shared.lock().expect("runner state");
            state.current = None;
            let now = Utc::now();
            let (capacity, targets_not_tuned) = result
                .as_ref()
                .map(|r| (r.capacity.clone(), r.targets_not_tuned.clone()))
                .unwrap_or_default();
            let outcome = match &result {
                Ok(run) => {
                    state.counters.add_run(run, now.timestamp());
                    let outcome = if run.has_failures() {
                        "with_failures"
                    } else {
                        "succeeded"
                    };
                    tracing::info!(
                        %run_id,
                        outcome,
                        recommended = run.totals.recommended,
                        skipped = run.totals.skipped,
                        failed = run.totals.failed,
                        invocations = run.totals.invocations,
                        "fleet run finished"
                    );
                    outcome.to_string()
                }
                Err(e) => {
                    state.counters.runs_aborted += 1;
                    state.counters.last_run_finished_unix = Some(now.timestamp());
                    tracing::error!(%run_id, error = %e, "fleet run failed");
                    e.to_string()
                }
            };
            state.last = Some(LastRun {
                run_id,
                finished_at: now,
                outcome,
                capacity,
                targets_not_tuned,
            });
        });
        state.current = Some((current.clone(), handle));
        Ok(current)
    }

    pub fn current(&self) -> Option<CurrentRun> {
        let state = self.state.lock().expect("runner state");
        state.current.as_ref().map(|(c, _)| c.clone())
    }

    pub fn last(&self) -> Option<LastRun> {
        self.state.lock().expect("runner state").last.clone()
    }

    pub fn counters(&self) -> Counters {
        let state = self.state.lock().expect("runner state");
        Counters {
            running: state.current.is_some(),
            ..state.counters.clone()
        }
    }

    /// Stops the run in progress (if any) and restores what it had in flight.
    pub async fn stop(&self) -> Option<(String, Vec<String>)> {
        let (current, handle) = self.state.lock().expect("runner state").current.take()?;
        handle.abort();
        let _ = handle.await;
        tracing::warn!(run_id = %current.run_id, "fleet run stopped: restoring functions in flight");
        let lines = (self.restore)(current.run_id.clone()).await;
        for line in &lines {
            tracing::warn!(run_id = %current.run_id, "{line}");
        }
        let mut state = self.state.lock().expect("runner state");
        state.counters.runs_aborted += 1;
        state.last = Some(LastRun {
            run_id: current.run_id.clone(),
            finished_at: Utc::now(),
            outcome: "stopped by shutdown; functions in flight restored".into(),
            capacity: Vec::new(),
            targets_not_tuned: Vec::new(),
        });
        Some((current.run_id, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::outcome::RunTotals;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn fleet_run(invocations: u64) -> FinishedRun {
        FinishedRun {
            totals: RunTotals {
                invocations,
                ..RunTotals::default()
            },
            monthly_savings_found_usd: 0.0,
            capacity: Vec::new(),
            targets_not_tuned: Vec::new(),
        }
    }

    fn runner(run_for: Duration, restored: Arc<AtomicUsize>) -> Runner {
        let launch: Launch = Arc::new(move |_| {
            Box::pin(async move {
                tokio::time::sleep(run_for).await;
                Ok(fleet_run(60))
            })
        });
        let restore: Restore = Arc::new(move |id| {
            let restored = restored.clone();
            Box::pin(async move {
                restored.fetch_add(1, Ordering::SeqCst);
                vec![format!("{id}: restored")]
            })
        });
        Runner::new(launch, restore)
    }

    /// Waits for the run in progress to end by itself.
    async fn idle(r: &Runner) {
        while r.current().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn one_run_at_a_time_and_counted_when_done() {
        let r = runner(Duration::from_millis(50), Arc::default());
        let first = r.trigger(Trigger::Api).unwrap();
        let busy = r.trigger(Trigger::Schedule).unwrap_err();
        assert_eq!(busy.run_id, first.run_id);
        assert!(r.counters().running);
        idle(&r).await;
        let c = r.counters();
        assert_eq!((c.runs_succeeded, c.invocations, c.running), (1, 60, false));
        assert_eq!(r.last().unwrap().outcome, "succeeded");
        assert!(r.trigger(Trigger::Api).is_ok(), "free again");
    }

    #[tokio::test]
    async fn own_thread_runs_and_cancels_on_drop() {
        let got = on_own_thread("t".into(), || async { Ok::<_, LaunchError>(7) }).await;
        assert_eq!(got.ok(), Some(7));
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let flag = Flag(dropped.clone());
        let pending = on_own_thread("t".into(), move || async move {
            let _flag = flag;
            std::future::pending::<Result<(), LaunchError>>().await
        });
        // Polled once so the thread starts, then dropped.
        let _ = tokio::time::timeout(Duration::from_millis(50), pending).await;
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the run on its own thread was not dropped");
    }

    #[tokio::test]
    async fn stop_aborts_and_restores_the_run_in_flight() {
        let restored = Arc::new(AtomicUsize::new(0));
        let r = runner(Duration::from_secs(3600), restored.clone());
        let run = r.trigger(Trigger::Schedule).unwrap();
        let (id, lines) = r.stop().await.unwrap();
        assert_eq!(id, run.run_id);
        assert_eq!(lines, [format!("{id}: restored")]);
        assert_eq!(restored.load(Ordering::SeqCst), 1);
        assert_eq!(r.counters().runs_aborted, 1);
        assert!(r.current().is_none());
        assert!(r.stop().await.is_none(), "nothing left to stop");
    }
}
