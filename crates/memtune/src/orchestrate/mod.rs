//! A whole fleet run as `memtune fleet`, `memtune serve` and `memtune demo` make it:
//! production figures first, the plan and its preflight (nothing runs if a payload is too
//! large or a permission is missing), the sweep, auto-apply with its guards, the `[capacity]`
//! analysis when asked, and every step
//! recorded in the history, each function as soon as it finishes. On an interrupt every
//! function in flight is restored before the run returns.
//!
//! This module sits above `fleet`, `history` and `preflight` (which it composes) so that none
//! of them needs the others. It prints nothing: progress goes to an [`OnEvent`] callback the
//! caller renders (a progress bar, a log). [`one_function`] records a `memtune recommend
//! --apply` in the history the same way, as a run of one function.

mod capacity;
pub mod chain;
pub mod one_function;
pub mod organisation;
mod production;
pub mod provision;
mod recorder;
pub mod service;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::apply::change::ApplyContext;
use crate::apply::ApplyMode;
use crate::fleet::autoapply;
use crate::fleet::config::FleetConfig;
use crate::fleet::jobs::monthly_spend_or_proxy;
use crate::fleet::outcome::{FleetRun, RunOverview};
use crate::fleet::run::{OnProgress, Progress, RunSettings};
use crate::fleet::{self, Planned};
use crate::history::{History, HistoryError, RunStatus};
use crate::platform::aws::AwsLambda;
use crate::platform::{FunctionConfig, PlatformError};
use crate::preflight::{self, PreflightError};
use crate::sweep::restore::restore_run;
use memtune_facts::pricing::PriceBook;
use recorder::Recorder;

use production::read_production;

/// What stopped a fleet run before it finished.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Discovering or planning the functions failed; nothing was changed.
    #[error("planning the fleet run: {0}")]
    Plan(#[source] PlatformError),
    /// The preflight refused the run; nothing was changed or invoked.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// The caller interrupted the run; these lines say how each function in flight was
    /// restored.
    #[error("interrupted; {} functions in flight were restored (see above)", restored.len())]
    Interrupted { restored: Vec<String> },
    /// The history could not be opened or read before the run (a service's run).
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The AWS configuration could not be loaded (a service's run).
    #[error("{0}")]
    Connect(#[source] PlatformError),
    /// The run's history was handed back already (a bug, not the user's).
    #[error("the run's history was closed before the run finished")]
    Recorded,
}

/// What a run tells its caller as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Production figures were read for `found` of the `selected` functions.
    ProductionRead {
        found: usize,
        selected: usize,
        days: u32,
    },
    /// The sweep's progress.
    Progress(Progress<'a>),
    /// `[capacity]`: the sweeps are done and the concurrency analysis starts.
    CapacityStarted { days: u32 },
    /// The run was interrupted: the functions in flight are being restored.
    Interrupted,
}

/// Shared with the sweep's tasks, which must own what they hold.
pub type OnEvent = Arc<dyn Fn(Event) + Send + Sync>;

/// What a fleet run needs besides its settings.
pub struct RunInputs<'a> {
    pub sdk: &'a aws_config::SdkConfig,
    pub api: &'a AwsLambda,
    pub book: &'a PriceBook,
    pub config: &'a FleetConfig,
    pub config_path: &'a Path,
    /// Days of production data to read first; None to read none.
    pub production_days: Option<u32>,
}

/// A finished run: its totals, the history every function's result went to, and what could
/// not be written there.
pub struct Finished {
    pub run: RunOverview,
    /// The caller's history, or one in memory when it gave none.
    pub history: History,
    /// One line per failed history write: they do not stop the run.
    pub history_trouble: Vec<String>,
}

impl Finished {
    /// The whole run, every function's result read back from the history: what the reports
    /// render.
    pub fn fleet_run(&self) -> Result<FleetRun, HistoryError> {
        let functions = self.history.results(&self.run.run_id)?;
        Ok(FleetRun::new(self.run.clone(), functions))
    }
}

/// Whether a run with this config applies through an alias (UpdateAlias), for the preflight.
pub fn applies_via_alias(config: &FleetConfig) -> bool {
    config.apply.mode == ApplyMode::Auto && config.apply.via_alias.is_some()
}

/// Runs the fleet: production figures (if asked), plan, preflight, sweep, auto-apply, each
/// function's result recorded in the history (one in memory without `history`) as it finishes
/// and not held. When `interrupt` resolves first, restores every function in flight, marks
/// the run interrupted and returns [`RunError::Interrupted`].
pub async fn run(
    inputs: &RunInputs<'_>,
    mut settings: RunSettings,
    history: Option<History>,
    on_event: OnEvent,
    interrupt: impl Future<Output = ()>,
) -> Result<Finished, RunError> {
    let (api, config) = (inputs.api, inputs.config);
    if let Some(days) = inputs.production_days {
        let read =
            read_production(inputs.sdk, api, inputs.book, config, &settings.region, days).await;
        if let Some((found, selected)) = read {
            on_event(Event::ProductionRead {
                found: found.len(),
                selected,
                days,
            });
            settings.production = Arc::new(found);
        }
    }
    let production = settings.production.clone();
    let spend = move |f: &FunctionConfig| monthly_spend_or_proxy(&production, f);
    let planned = fleet::prepare(api, config, &settings, &spend)
        .await
        .map_err(RunError::Plan)?;
    preflight::check_plan(api, &planned.plan, applies_via_alias(config)).await?;
    let history = match history {
        Some(history) => history,
        None => History::in_memory()?,
    };
    let recorder = Arc::new(Mutex::new(Recorder::new(history)));
    let lock = || recorder.lock().unwrap_or_else(|e| e.into_inner());
    lock().begin(&settings, inputs.config_path);
    let on_progress: OnProgress = {
        let (recorder, run_id) = (recorder.clone(), settings.run_id.clone());
        let on_event = on_event.clone();
        // Recorded before it is shown: a function reported finished is in the history even
        // if the run is killed the next moment.
        Arc::new(move |p: Progress| {
            if let Progress::Finished { position, result }
            | Progress::NotTuned { position, result } = p
            {
                let mut r = recorder.lock().unwrap_or_else(|e| e.into_inner());
                r.finished(&run_id, position, result);
            }
            on_event(Event::Progress(p));
        })
    };
    let interrupted = async {
        interrupt.await;
        on_event(Event::Interrupted);
    };
    let swept = sweep(
        api,
        inputs.book,
        planned,
        &settings,
        &on_progress,
        interrupted,
    )
    .await;
    let mut run = match swept {
        Ok(run) => run,
        Err(restored) => {
            lock().end(&settings.run_id, RunStatus::Interrupted);
            return Err(RunError::Interrupted { restored });
        }
    };
    if config.apply.mode == ApplyMode::Auto {
        let ctx = ApplyContext {
            run_id: &settings.run_id,
            state_dir: &settings.state_dir,
            region: Some(settings.region.clone()),
            endpoint_url: settings.endpoint_url.clone(),
            role: settings.role.clone(),
        };
        // One result at a time from the history; each change reaches the audit log before
        // the next one is made.
        let recommended = lock().recommended(&settings.run_id);
        for position in recommended {
            let Some(mut result) = lock().result_at(&settings.run_id, position) else {
                continue;
            };
            autoapply::apply_recommendation(api, &mut result, &config.apply, &ctx, |c| {
                lock().applied(c)
            })
            .await;
            if result.apply.is_some() {
                lock().replace(&settings.run_id, position, &result);
            }
        }
    }
    if let Some(capacity) = &config.capacity {
        on_event(Event::CapacityStarted {
            days: capacity.days,
        });
        let found = capacity::analyse(
            inputs.sdk,
            api,
            inputs.book,
            config,
            capacity,
            &settings.region,
        )
        .await;
        run.capacity.push(found);
    }
    let finished = lock().finish(&run);
    let (history, history_trouble) = finished.ok_or(RunError::Recorded)?;
    Ok(Finished {
        run,
        history,
        history_trouble,
    })
}

/// The sweep, unless `interrupt` resolves first: then every function this run has in flight
/// is restored, and Err holds a line per function.
async fn sweep(
    api: &AwsLambda,
    book: &PriceBook,
    planned: Planned,
    settings: &RunSettings,
    on_progress: &OnProgress,
    interrupt: impl Future<Output = ()>,
) -> Result<RunOverview, Vec<String>> {
    tokio::select! {
        run = fleet::execute(api, book, planned, settings, on_progress) => Ok(run),
        _ = interrupt => Err(restore_run(api, &settings.state_dir, &settings.run_id).await),
    }
}

/// Restores every function a stopped run had in flight (one line each) and marks the run
/// interrupted in the history; the Err is a history that could not be marked.
pub async fn restore_stopped(
    api: &AwsLambda,
    state_dir: &Path,
    run_id: &str,
) -> (Vec<String>, Result<(), HistoryError>) {
    let lines = restore_run(api, state_dir, run_id).await;
    let marked = History::open(state_dir).and_then(|h| h.end_run(run_id, RunStatus::Interrupted));
    (lines, marked)
}
