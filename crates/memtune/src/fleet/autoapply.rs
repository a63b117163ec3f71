//! `[apply] mode = "auto"` after a fleet run: every recommendation that passes the guards is
//! applied, one function after another (the caller reads each from the history); each result
//! says what happened and why.

use super::outcome::{FunctionResult, Status};
use crate::apply::change::{self, ApplyContext};
use crate::apply::{guard, AppliedChange, ApplyAction, ApplyOutcome, ApplyPolicy};
use crate::platform::LambdaApi;

/// Applies what the guards allow to one function's result, setting its `apply` outcome
/// (left None when it is not recommended or the guards say nothing); `on_applied` sees the
/// change as soon as it is made (to write the audit log before the next one).
pub async fn apply_recommendation<A: LambdaApi>(
    api: &A,
    r: &mut FunctionResult,
    policy: &ApplyPolicy,
    ctx: &ApplyContext<'_>,
    on_applied: impl FnOnce(&AppliedChange),
) {
    if r.status != Status::Recommended {
        return;
    }
    let Some(doc) = r.document.as_deref() else {
        return;
    };
    let Some(verdict) = guard::evaluate(doc, &policy.guards) else {
        return;
    };
    let from_mb = r.config.memory_mb;
    let outcome = match verdict {
        Err(reason) => ApplyOutcome {
            action: ApplyAction::Kept,
            from_mb,
            to_mb: from_mb,
            reason: Some(reason),
            change: None,
        },
        Ok(to_mb) => {
            match change::apply(api, ctx, &r.config, to_mb, policy.via_alias.as_deref()).await {
                Ok(change) => {
                    on_applied(&change);
                    ApplyOutcome {
                        action: ApplyAction::Applied,
                        from_mb: change.before_memory_mb,
                        to_mb,
                        reason: None,
                        change: Some(change),
                    }
                }
                Err(e) => ApplyOutcome {
                    action: ApplyAction::NotApplied,
                    from_mb,
                    to_mb,
                    reason: Some(e.to_string()),
                    change: None,
                },
            }
        }
    };
    r.apply = Some(outcome);
}
