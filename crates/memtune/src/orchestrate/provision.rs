//! `memtune provision` as a run in the history, so that `memtune history` lists it and
//! `memtune rollback RUN_ID` restores the alias's previous provisioned concurrency.
//!
//! The run is written before the change is made: if the process dies during the apply, the
//! history shows the run as interrupted and the journal lets `memtune restore` put the
//! previous level back.

use std::time::{Duration, Instant};

use super::one_function::RecordedApplyError;
use crate::apply::change::ApplyContext;
use crate::apply::provision::{apply, ProvisionRequest, Provisioned};
use crate::fleet::outcome::RunTotals;
use crate::history::{History, RunStart, RunStatus};
use crate::platform::LambdaApi;

/// Records `start` in `history`, sets the requested provisioned concurrency (journaled) and
/// records the change.
pub async fn provision_recorded<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    history: &History,
    start: &RunStart,
    request: &ProvisionRequest,
    wait: Duration,
    started: Instant,
) -> Result<Provisioned, RecordedApplyError> {
    history.begin_run(start)?;
    let applied = apply(api, ctx, request, wait).await;
    let recorded = match &applied {
        Ok(done) => history.record_applied(&done.change).map(|_| ()),
        Err(_) => Ok(()),
    };
    let totals = RunTotals {
        wall_s: started.elapsed().as_secs_f64(),
        ..RunTotals::default()
    };
    let status = if applied.is_ok() {
        RunStatus::Finished
    } else {
        RunStatus::Failed
    };
    let finished = history.finish_run(&start.id, status, &totals);
    let done = applied?;
    recorded.map_err(RecordedApplyError::NotRecorded)?;
    finished.map_err(RecordedApplyError::RunNotClosed)?;
    Ok(done)
}
