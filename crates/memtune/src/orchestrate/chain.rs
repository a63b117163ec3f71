//! A chain's assignment applied as one change: every function of the chain or none. The run
//! is written to the history before anything changes; each function's update is journaled
//! before it is made and conditional on the function being as the sweep found it; when one
//! update fails, the ones already made are reverted (each journaled, RevisionId-checked), so
//! the chain is never left half-tuned. `memtune rollback RUN_ID` undoes a completed apply.

use super::one_function::RecordedApplyError;
use crate::apply::change::{apply, ApplyContext, ApplyError};
use crate::apply::rollback::revert;
use crate::apply::AppliedChange;
use crate::fleet::outcome::RunTotals;
use crate::history::{History, HistoryError, RunStart, RunStatus};
use crate::platform::{FunctionConfig, LambdaApi};

/// Why a chain's assignment was not applied, and what became of the functions.
#[derive(Debug, thiserror::Error)]
pub enum ChainApplyError {
    /// Nothing was changed: the history could not record the run.
    #[error("not applied: {0}")]
    History(#[from] HistoryError),
    /// One function refused; those changed before it were put back (or could not be: said).
    #[error("{function}: {source}; {}", undo_text(.reverted, .not_reverted))]
    Failed {
        function: String,
        source: ApplyError,
        reverted: Vec<String>,
        not_reverted: Vec<String>,
    },
    #[error(transparent)]
    Recorded(#[from] RecordedApplyError),
}

fn undo_text(reverted: &[String], not_reverted: &[String]) -> String {
    match (reverted.is_empty(), not_reverted.is_empty()) {
        (true, true) => "nothing was changed".into(),
        (false, true) => format!("put back: {}", reverted.join(", ")),
        _ => format!(
            "put back: {}; NOT put back: {} (see `memtune history`)",
            if reverted.is_empty() {
                "none".into()
            } else {
                reverted.join(", ")
            },
            not_reverted.join(", ")
        ),
    }
}

/// Sets each `(found, to_mb)` in call order; functions already at their size are left alone.
pub async fn apply_chain_recorded<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    history: &History,
    start: &RunStart,
    changes: &[(FunctionConfig, u32)],
    started: std::time::Instant,
) -> Result<Vec<AppliedChange>, ChainApplyError> {
    history.begin_run(start)?;
    let mut applied: Vec<(AppliedChange, Option<i64>)> = Vec::new();
    let mut not_recorded: Option<HistoryError> = None;
    for (found, to_mb) in changes.iter().filter(|(f, to)| f.memory_mb != *to) {
        match apply(api, ctx, found, *to_mb, None).await {
            Ok(change) => {
                let id = match history.record_applied(&change) {
                    Ok(id) => Some(id),
                    Err(e) => {
                        not_recorded.get_or_insert(e);
                        None
                    }
                };
                applied.push((change, id));
            }
            Err(source) => {
                let (reverted, not_reverted) = undo(api, ctx, history, &applied).await;
                let _ = history.finish_run(&start.id, RunStatus::Failed, &totals(started));
                return Err(ChainApplyError::Failed {
                    function: found.name.clone(),
                    source,
                    reverted,
                    not_reverted,
                });
            }
        }
    }
    if let Some(e) = not_recorded {
        return Err(RecordedApplyError::NotRecorded(e).into());
    }
    history
        .finish_run(&start.id, RunStatus::Finished, &totals(started))
        .map_err(RecordedApplyError::RunNotClosed)?;
    Ok(applied.into_iter().map(|(c, _)| c).collect())
}

fn totals(started: std::time::Instant) -> RunTotals {
    RunTotals {
        wall_s: started.elapsed().as_secs_f64(),
        ..RunTotals::default()
    }
}

/// Reverts `applied` last first; marks each reverted change in the history.
async fn undo<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    history: &History,
    applied: &[(AppliedChange, Option<i64>)],
) -> (Vec<String>, Vec<String>) {
    let (mut reverted, mut not_reverted) = (Vec::new(), Vec::new());
    for (change, id) in applied.iter().rev() {
        match revert(api, ctx, change).await {
            Ok(done) => {
                if let Some(id) = id {
                    let _ = history.mark_rolled_back(*id, &chrono::Utc::now().to_rfc3339());
                }
                reverted.push(format!("{} ({done})", change.function));
            }
            Err(why) => not_reverted.push(format!("{} ({why})", change.function)),
        }
    }
    (reverted, not_reverted)
}
