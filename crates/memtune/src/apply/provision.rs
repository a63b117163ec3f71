//! Setting provisioned concurrency on the alias production invokes: guarded (never on
//! $LATEST or a version, never on an alias nobody invokes), journaled before the change so
//! `memtune restore` can undo a crashed apply, and recorded as an [`AppliedChange`] so
//! `memtune rollback` restores the previous level (or removes the configuration).
//!
//! Lambda takes no RevisionId on PutProvisionedConcurrencyConfig, so memtune reads the level
//! right before changing it, and undoes (rollback, restore) only a level it set itself: a
//! level someone else chose meanwhile is left as it is.

use std::time::{Duration, Instant};

use super::change::{ApplyContext, ApplyError};
use super::{AppliedChange, ApplyMethod, ProvisionedChange};
use crate::platform::cloudwatch::{invocations_by_resource, MetricWindow, MetricsApi};
use crate::platform::{LambdaApi, PlatformError, ProvisionedConcurrency};
use crate::sweep::journal::{self, Entry, Journal};
use crate::sweep::provisioned_back::level_text;

/// What to set: `level` on `alias` of `function` (None removes the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRequest {
    pub function: String,
    pub alias: String,
    pub level: Option<u32>,
}

/// How much production invoked the alias, from the Invocations metric's Resource dimension
/// (`FUNCTION:ALIAS`): the caller reads it, the guard judges it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AliasTraffic {
    pub invocations: f64,
    pub days: u32,
}

/// Whether the request may be applied at all; pure, checked before anything is read or
/// changed. `traffic` None: the caller did not look (removing a level never needs to).
pub fn guard(request: &ProvisionRequest, traffic: Option<AliasTraffic>) -> Result<(), String> {
    let alias = request.alias.as_str();
    if alias == "$LATEST" {
        return Err(
            "provisioned concurrency cannot go on $LATEST: name the alias production invokes (--alias)"
                .into(),
        );
    }
    if !alias.is_empty() && alias.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "'{alias}' is a version: memtune sets provisioned concurrency on the alias production invokes (--alias NAME)"
        ));
    }
    match (request.level, traffic) {
        (Some(_), Some(t)) if t.invocations <= 0.0 => Err(format!(
            "nobody invoked alias {alias} of {} in the last {} days (Invocations by Resource {}:{alias}): provisioned concurrency there would serve no one",
            request.function, t.days, request.function
        )),
        _ => Ok(()),
    }
}

/// Reads how often production invoked `alias` over the last `days` days: the Invocations
/// metric's Sum by its Resource dimension (`FUNCTION:ALIAS`), as Lambda publishes it for
/// invocations through an alias.
pub async fn alias_traffic<M: MetricsApi>(
    metrics: &M,
    function: &str,
    alias: &str,
    days: u32,
    now_ms: i64,
) -> Result<AliasTraffic, String> {
    let window = MetricWindow::last_days(days, now_ms).map_err(|e| e.to_string())?;
    let resource = format!("{function}:{alias}");
    let counts = invocations_by_resource(metrics, function, &[resource], &window)
        .await
        .map_err(|e| format!("cannot read the Invocations metric of {function}:{alias}: {e}"))?;
    Ok(AliasTraffic {
        invocations: counts[0],
        days,
    })
}

/// How long Lambda may take to allocate before memtune stops waiting (the configuration
/// stays; its status is reported).
pub const ALLOCATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(5);

/// What an apply did.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    pub change: AppliedChange,
    /// `READY`, or `IN_PROGRESS` when allocation outlasted the wait; None when removed.
    pub status: Option<String>,
}

/// Sets the requested level on the alias, journaled first. The caller ran [`guard`].
pub async fn apply<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    request: &ProvisionRequest,
    wait: Duration,
) -> Result<Provisioned, ApplyError> {
    let name = request.function.as_str();
    let alias = request.alias.as_str();
    let refused = |e: PlatformError| ApplyError::Refused(format!("{e}"));
    let target = api
        .list_aliases(name)
        .await
        .map_err(refused)?
        .into_iter()
        .find(|a| a.name == alias)
        .ok_or_else(|| ApplyError::Refused(format!("{name} has no alias '{alias}'")))?;
    let serving = api
        .get_configuration(name, Some(&target.function_version))
        .await
        .map_err(refused)?;
    let before = api
        .get_provisioned_concurrency(name, alias)
        .await
        .map_err(refused)?
        .map(|p| p.requested);
    if before == request.level {
        return Err(ApplyError::Refused(format!(
            "alias {alias} already has provisioned concurrency {}",
            level_text(before)
        )));
    }
    let latest = api.get_configuration(name, None).await.map_err(refused)?;
    let mut journal = ctx.journal(&journal::apply_run_id(ctx.run_id), &latest)?;
    journal
        .write(&Entry::IntendProvisioned {
            alias: alias.to_string(),
            from: before,
            to: request.level,
        })
        .map_err(ApplyError::Journal)?;
    let set = match request.level {
        Some(level) => api
            .put_provisioned_concurrency(name, alias, level)
            .await
            .map(Some),
        None => api
            .delete_provisioned_concurrency(name, alias)
            .await
            .map(|()| None),
    };
    let set = match set {
        Ok(set) => set,
        Err(PlatformError::AccessDenied(e)) => {
            finish(&mut journal).map_err(ApplyError::JournalNotClosed)?;
            return Err(ApplyError::Denied(format!(
                "access denied setting provisioned concurrency on alias {alias} ({e})"
            )));
        }
        // Lambda refused the request: nothing changed.
        Err(
            e @ (PlatformError::InvalidParameter(_)
            | PlatformError::Conflict(_)
            | PlatformError::NotFound(_)
            | PlatformError::Throttled(_)),
        ) => {
            finish(&mut journal).map_err(ApplyError::JournalNotClosed)?;
            return Err(ApplyError::Refused(format!(
                "Lambda refused provisioned concurrency {} on alias {alias}: {e}",
                level_text(request.level)
            )));
        }
        // Unknown whether it landed: the journal stays for `memtune restore`.
        Err(e) => {
            return Err(ApplyError::Unsure(format!(
                "setting provisioned concurrency on alias {alias} failed: {e}"
            )))
        }
    };
    let status = match set {
        Some(set) => match allocated(api, name, alias, set, wait, &mut journal, before).await {
            Ok(status) => Some(status),
            // Put back: nothing of this run remains.
            Err(refused @ ApplyError::Refused(_)) => {
                finish(&mut journal).map_err(ApplyError::JournalNotClosed)?;
                return Err(refused);
            }
            Err(unsure) => return Err(unsure),
        },
        None => None,
    };
    let after = api
        .list_aliases(name)
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|a| a.name == alias))
        .map_or_else(|| target.revision_id.clone(), |a| a.revision_id);
    finish(&mut journal).map_err(ApplyError::JournalNotClosed)?;
    Ok(Provisioned {
        change: AppliedChange {
            run_id: ctx.run_id.to_string(),
            function: name.to_string(),
            method: ApplyMethod::Provisioned,
            alias: Some(alias.to_string()),
            previous_version: Some(target.function_version),
            published_version: None,
            before_memory_mb: serving.memory_mb,
            before_revision_id: target.revision_id,
            after_memory_mb: serving.memory_mb,
            after_revision_id: after,
            applied_at: chrono::Utc::now().to_rfc3339(),
            provisioned: Some(ProvisionedChange {
                before,
                after: request.level,
            }),
        },
        status,
    })
}

fn finish(journal: &mut Journal) -> std::io::Result<()> {
    journal.write(&Entry::Done)?;
    journal::archive(&journal.state()?)
}

/// Waits until Lambda allocated the level (READY), up to `wait`. A FAILED allocation is put
/// back to `before` and refused; one still in progress at the end is reported as such.
async fn allocated<A: LambdaApi>(
    api: &A,
    name: &str,
    alias: &str,
    mut now: ProvisionedConcurrency,
    wait: Duration,
    journal: &mut Journal,
    before: Option<u32>,
) -> Result<String, ApplyError> {
    let deadline = Instant::now() + wait;
    let mut pause = FIRST_POLL;
    while now.in_progress() && Instant::now() < deadline {
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(MAX_POLL);
        match api.get_provisioned_concurrency(name, alias).await {
            Ok(Some(read)) => now = read,
            // Someone else removed it meanwhile: theirs wins.
            Ok(None) => return Ok("removed meanwhile by someone else".into()),
            Err(e) if e.is_retryable() => {}
            Err(e) => {
                return Err(ApplyError::Unsure(format!(
                    "reading the provisioned concurrency of alias {alias} failed: {e}"
                )))
            }
        }
    }
    if !now.failed() {
        return Ok(now.status);
    }
    let reason = now.status_reason.unwrap_or_default();
    journal
        .write(&Entry::IntendProvisioned {
            alias: alias.to_string(),
            from: Some(now.requested),
            to: before,
        })
        .map_err(ApplyError::Journal)?;
    let put_back = match before {
        Some(level) => api
            .put_provisioned_concurrency(name, alias, level)
            .await
            .map(drop),
        None => api.delete_provisioned_concurrency(name, alias).await,
    };
    put_back.map_err(|e| {
        ApplyError::Unsure(format!(
            "Lambda could not allocate ({reason}) and putting {} back failed: {e}",
            level_text(before)
        ))
    })?;
    Err(ApplyError::Refused(format!(
        "Lambda could not allocate provisioned concurrency on alias {alias} ({reason}); put back to {}",
        level_text(before)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(alias: &str, level: Option<u32>) -> ProvisionRequest {
        ProvisionRequest {
            function: "orders".into(),
            alias: alias.into(),
            level,
        }
    }

    #[test]
    fn never_on_latest_a_version_or_an_alias_nobody_invokes() {
        let seen = Some(AliasTraffic {
            invocations: 120.0,
            days: 14,
        });
        let unused = Some(AliasTraffic {
            invocations: 0.0,
            days: 14,
        });
        assert!(guard(&request("$LATEST", Some(2)), seen)
            .unwrap_err()
            .contains("$LATEST"));
        assert!(guard(&request("3", Some(2)), seen)
            .unwrap_err()
            .contains("is a version"));
        let e = guard(&request("live", Some(2)), unused).unwrap_err();
        assert!(e.contains("orders:live"), "{e}");
        assert_eq!(guard(&request("live", Some(2)), seen), Ok(()));
        // Removing a level needs no traffic to justify it.
        assert_eq!(guard(&request("live", None), unused), Ok(()));
    }
}
