//! `[apply] mode = "auto"` after a fleet run: every recommendation that passes the guards is
//! applied, one function after another; each result says what happened and why.

use super::outcome::{FunctionResult, Status};
use crate::apply::change::{self, ApplyContext};
use crate::apply::{guard, AppliedChange, ApplyAction, ApplyOutcome, ApplyPolicy};
use crate::platform::LambdaApi;

/// Applies what the guards allow; `on_applied` sees each change as soon as it is made (to
/// write the audit log before the next one).
pub async fn apply_recommendations<A: LambdaApi>(
    api: &A,
    functions: &mut [FunctionResult],
    policy: &ApplyPolicy,
    ctx: &ApplyContext<'_>,
    mut on_applied: impl FnMut(&AppliedChange),
) {
    for r in functions
        .iter_mut()
        .filter(|r| r.status == Status::Recommended)
    {
        let Some(doc) = r.document.as_deref() else {
            continue;
        };
        let Some(verdict) = guard::evaluate(doc, &policy.guards) else {
            continue;
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
}
