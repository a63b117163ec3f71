//! A fleet run on the terminal (`memtune fleet`, `memtune demo`): a progress bar on stderr, a
//! line per finished function, and Ctrl-C or SIGTERM restoring every function in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::aws_args::{platform_error, preflight_error};
use super::CliError;
use memtune::fleet::outcome::{FunctionResult, Status};
use memtune::fleet::run::{Progress, RunSettings};
use memtune::history::History;
use memtune::orchestrate::{self, Event, Finished, OnEvent, RunError, RunInputs};

/// Runs the fleet (with a history, recorded in it) and renders its progress.
pub(super) async fn run_with_progress(
    inputs: &RunInputs<'_>,
    settings: RunSettings,
    history: Option<History>,
) -> Result<Finished, CliError> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("fleet [{bar:30}] {pos}/{len} functions, {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let on_event = render(bar.clone());
    let run = orchestrate::run(
        inputs,
        settings,
        history,
        on_event,
        super::shutdown_signal(),
    )
    .await;
    bar.finish_and_clear();
    run.map_err(run_error)
}

/// Draws each event on `bar`, or as lines when stderr is not a terminal.
fn render(bar: ProgressBar) -> OnEvent {
    let invocations = AtomicU64::new(0);
    Arc::new(move |event: Event| match event {
        Event::ProductionRead {
            found,
            selected,
            days,
        } => eprintln!("production data for {found} of {selected} functions ({days} days)"),
        Event::Progress(Progress::Planned { jobs, budget }) => {
            bar.set_length(jobs as u64);
            bar.set_message(format!("at most {budget} invocations in flight"));
        }
        Event::Progress(Progress::Invoked) => {
            let n = invocations.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(16) {
                bar.set_message(format!("{n} invocations"));
            }
        }
        Event::Progress(Progress::Finished { result, .. }) => {
            bar.inc(1);
            let line = finished_line(result);
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        Event::CapacityStarted { days } => {
            let line = format!("analysing provisioned and reserved concurrency ({days} days)");
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        Event::Progress(Progress::NotTuned { .. }) => {}
        Event::Interrupted => {
            bar.finish_and_clear();
            eprintln!("interrupted: restoring every function in flight…");
        }
    })
}

/// The line and exit code of a run that did not finish; an interrupted run's restore lines
/// are printed first.
fn run_error(e: RunError) -> CliError {
    let message = e.to_string();
    match e {
        RunError::Plan(e) => platform_error("planning the fleet run", &e),
        RunError::Preflight(e) => preflight_error(e),
        RunError::Interrupted { restored } => {
            for line in &restored {
                eprintln!("{line}");
            }
            CliError { code: 130, message }
        }
        RunError::History(_) | RunError::Recorded => CliError::failed(message),
        RunError::Connect(_) => CliError::usage(message),
    }
}

/// "f: recommended 512 MB (now 1024 MB)", "f: keep 1024 MB", "f: skipped: why".
pub(super) fn finished_line(r: &FunctionResult) -> String {
    let reason = r.reason.as_deref().unwrap_or("");
    match r.status {
        Status::Recommended => {
            let rec = r
                .document
                .as_deref()
                .and_then(|d| d.recommendation.as_ref())
                .map(|rec| rec.memory_mb)
                .unwrap_or_default();
            if rec == r.config.memory_mb {
                format!("{}: keep {rec} MB", r.function)
            } else {
                format!(
                    "{}: recommended {rec} MB (now {} MB)",
                    r.function, r.config.memory_mb
                )
            }
        }
        Status::Skipped => format!("{}: skipped: {reason}", r.function),
        Status::Failed => format!("{}: failed: {reason}", r.function),
    }
}
