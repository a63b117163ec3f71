//! `memtune recommend --apply` as a run of one function in the history, so that `memtune
//! history` lists it and `memtune rollback RUN_ID` undoes it like a fleet run's changes.
//!
//! The run and its function are written before the change is made: if the process dies
//! during the apply, the history shows the run as interrupted and the journal lets `memtune
//! restore` put the function back.

use crate::apply::change::{apply, ApplyContext, ApplyError};
use crate::apply::AppliedChange;
use crate::fleet::outcome::{FunctionResult, RunTotals};
use crate::history::{History, HistoryError, RunStart, RunStatus};
use crate::platform::LambdaApi;

#[derive(Debug, thiserror::Error)]
pub enum RecordedApplyError {
    /// Nothing was changed: the history could not record the run.
    #[error("not applied: {0}")]
    History(#[from] HistoryError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The change was made but is missing from the history: `rollback` cannot see it.
    #[error("applied, but the history could not record it ({0}): undo it by hand if needed")]
    NotRecorded(HistoryError),
    /// The change is in the history, but its run could not be marked finished.
    #[error("applied and recorded, but the run could not be marked finished: {0}")]
    RunNotClosed(HistoryError),
}

/// Records `start` and `result` in `history`, then sets `to_mb` on the function as `result`
/// found it (journaled, conditional on it being unchanged) and records the change and the
/// function's document as the run's report.
pub async fn apply_recorded<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    history: &mut History,
    start: &RunStart,
    result: &FunctionResult,
    to_mb: u32,
    started: std::time::Instant,
) -> Result<AppliedChange, RecordedApplyError> {
    history.begin_run(start)?;
    history.record_function(&start.id, 0, result)?;
    let applied = apply(api, ctx, &result.config, to_mb, None).await;
    let recorded = match &applied {
        Ok(change) => history.record_applied(change).map(|_| ()),
        Err(_) => Ok(()),
    };
    // The document is the run's report, so `memtune report --run RUN_ID` renders it.
    let stored = match result.document.as_deref().map(serde_json::to_string) {
        Some(Ok(json)) => history.store_report(&start.id, &json),
        _ => Ok(()),
    };
    let totals = RunTotals::of(
        std::slice::from_ref(result),
        started.elapsed().as_secs_f64(),
    );
    let finished = stored.and(history.finish_run(&start.id, RunStatus::Finished, &totals));
    let change = applied?;
    recorded.map_err(RecordedApplyError::NotRecorded)?;
    finished.map_err(RecordedApplyError::RunNotClosed)?;
    Ok(change)
}
