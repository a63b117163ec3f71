//! `memtune fleet` over `[[target]]` accounts and regions: every target's regions at once,
//! each through its assumed role, one line per finished function (prefixed with its account
//! and region), one line per target that could not be tuned, then one report of them all.

use std::sync::Arc;
use std::time::Instant;

use super::fleet_progress::finished_line;
use super::CliError;
use memtune::fleet::config::FleetConfig;
use memtune::fleet::run::{Progress, RunSettings};
use memtune::orchestrate::organisation::{self, OrganisationInputs, TargetFailure, TargetRun};
use memtune::orchestrate::{Event, OnEvent};
use memtune::preflight::state;
use memtune::report::Report;
use memtune_facts::pricing::PriceBook;

/// Runs every target; Ok holds the merged report and the failed targets' count.
pub(super) async fn run(
    inputs: &OrganisationInputs<'_>,
    settings: RunSettings,
    force: bool,
) -> Result<(Report, usize), CliError> {
    check_regions_priced(inputs.config, inputs.book)?;
    let state_dir = settings.state_dir.clone();
    let retune = {
        let history =
            state::open_history(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
        history
            .retune_policy(inputs.config.tuning.retune_after_days, force)
            .map_err(|e| CliError::failed(e.to_string()))?
    };
    let mut settings = settings;
    settings.retune = Arc::new(retune);
    let run_id = settings.run_id.clone();
    let clock = Instant::now();
    let history = || state::open_history(&state_dir).ok();
    let targets =
        organisation::run(inputs, settings, history, lines, super::shutdown_signal()).await;
    let failed = report_failures(&targets)?;
    let merged = organisation::merged(&run_id, &targets, clock.elapsed().as_secs_f64())
        .map_err(|e| CliError::failed(format!("reading the run's results back: {e}")))?;
    let report = Report::Fleet(Box::new(merged));
    Ok((report, failed))
}

/// Every target region has prices in the price book, or one line says which has not.
pub(super) fn check_regions_priced(config: &FleetConfig, book: &PriceBook) -> Result<(), CliError> {
    for region in config.targets.iter().flat_map(|t| &t.regions) {
        book.region(region).map_err(|e| {
            CliError::usage(format!(
                "{e} (pass --pricing FILE with prices for {region})"
            ))
        })?;
    }
    Ok(())
}

/// Prints each finished function as `ACCOUNT/REGION name: ...`.
fn lines(account: &str, region: &str) -> OnEvent {
    let place = format!("{account}/{region}");
    Arc::new(move |event: Event| match event {
        Event::Progress(Progress::Finished { result, .. }) => {
            eprintln!("{place} {}", finished_line(result))
        }
        Event::Interrupted => {
            eprintln!("{place}: interrupted: restoring every function in flight…")
        }
        _ => {}
    })
}

/// One line per target that was not tuned; Err when the run was interrupted (exit 130).
fn report_failures(targets: &[TargetRun]) -> Result<usize, CliError> {
    let mut failed = 0;
    let mut interrupted = false;
    for t in targets {
        match &t.outcome {
            Ok(finished) => {
                if let Some(first) = finished.history_trouble.first() {
                    eprintln!(
                        "{}/{}: the run was not fully recorded in the history: {first}",
                        t.account, t.region
                    );
                }
            }
            Err(TargetFailure::Interrupted(restored)) => {
                interrupted = true;
                for line in restored {
                    eprintln!("{}/{} {line}", t.account, t.region);
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!(
                    "{}/{}: not tuned: {} (run {})",
                    t.account,
                    t.region,
                    e.line(),
                    t.run_id
                );
            }
        }
    }
    if interrupted {
        return Err(CliError {
            code: 130,
            message: "interrupted; the functions in flight were restored (see above)".into(),
        });
    }
    Ok(failed)
}
