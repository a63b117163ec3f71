//! Reverting a change memtune applied, from its audit record: only if the function (or the
//! alias) is still exactly as memtune left it, i.e. still at the RevisionId recorded right
//! after the change. Journaled first, like every mutation.

use super::change::ApplyContext;
use super::{AppliedChange, ApplyMethod};
use crate::platform::{LambdaApi, PlatformError};
use crate::sweep::journal::{self, Entry, Journal};
use crate::sweep::provisioned_back::level_text;
use crate::sweep::restore::SETTLE_TIMEOUT;
use crate::sweep::settle::{self, wait_settled, SettleError};

/// Whether `change` can still be reverted; reads only. Err says why not.
pub async fn check<A: LambdaApi>(api: &A, change: &AppliedChange) -> Result<(), String> {
    let name = change.function.as_str();
    match (change.method, change.alias.as_deref()) {
        (ApplyMethod::Provisioned, Some(alias)) => {
            let set = change.provisioned.and_then(|p| p.after);
            let now = api
                .get_provisioned_concurrency(name, alias)
                .await
                .map_err(|e| match e {
                    PlatformError::NotFound(_) => {
                        format!("alias {alias} no longer exists: left as it is")
                    }
                    other => format!("cannot read the provisioned concurrency of {name}: {other}"),
                })?
                .map(|p| p.requested);
            if now != set {
                return Err(format!(
                    "provisioned concurrency of alias {alias} changed since memtune set {} (now {}): left as it is",
                    level_text(set),
                    level_text(now)
                ));
            }
        }
        (ApplyMethod::Alias, Some(alias)) => {
            let now = api
                .list_aliases(name)
                .await
                .map_err(|e| format!("cannot read the aliases of {name}: {e}"))?
                .into_iter()
                .find(|a| a.name == alias)
                .ok_or_else(|| format!("alias {alias} no longer exists: left as it is"))?;
            if now.revision_id != change.after_revision_id {
                return Err(format!(
                    "alias {alias} changed since memtune moved it (now at version {}): left as it is",
                    now.function_version
                ));
            }
        }
        _ => {
            let now = wait_settled(api, name, SETTLE_TIMEOUT)
                .await
                .map_err(|e| format!("cannot read {name}: {e}"))?;
            if now.revision_id != change.after_revision_id {
                return Err(format!(
                    "changed since memtune applied {} MB (memory now {} MB): left as it is",
                    change.after_memory_mb, now.memory_mb
                ));
            }
        }
    }
    Ok(())
}

/// What reverting `change` would do, in words.
pub fn describe(change: &AppliedChange) -> String {
    if let (ApplyMethod::Provisioned, Some(alias), Some(p)) =
        (change.method, &change.alias, change.provisioned)
    {
        return match p.before {
            Some(level) => {
                format!("provisioned concurrency of alias {alias} back to {level}")
            }
            None => format!("provisioned concurrency of alias {alias} removed, as it had none"),
        };
    }
    match (&change.alias, &change.previous_version) {
        (Some(alias), Some(previous)) => format!(
            "alias {alias} back to version {previous} ({} MB)",
            change.before_memory_mb
        ),
        _ => format!(
            "memory back to {} MB (from {} MB)",
            change.before_memory_mb, change.after_memory_mb
        ),
    }
}

/// Reverts `change`; Ok says what was done, Err why it was not.
pub async fn revert<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    change: &AppliedChange,
) -> Result<String, String> {
    check(api, change).await?;
    let name = change.function.as_str();
    let now = wait_settled(api, name, SETTLE_TIMEOUT)
        .await
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let journal_id = format!(
        "{}-rollback-{}",
        change.run_id,
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f")
    );
    let mut journal = ctx.journal(&journal_id, &now).map_err(|e| e.to_string())?;
    let done = match (change.method, &change.alias, &change.previous_version) {
        (ApplyMethod::Provisioned, Some(alias), _) => {
            revert_provisioned(api, &mut journal, change, alias).await
        }
        (ApplyMethod::Alias, Some(alias), Some(previous)) => {
            revert_alias(api, &mut journal, change, alias, previous).await
        }
        _ => revert_update(api, &mut journal, change).await,
    }?;
    journal
        .write(&Entry::Done)
        .and_then(|()| journal::archive(&journal.state()?))
        .map_err(|e| format!("{done}, but the journal could not be closed: {e}"))?;
    Ok(done)
}

async fn revert_update<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
    change: &AppliedChange,
) -> Result<String, String> {
    journal
        .write(&Entry::IntendUpdate {
            memory_mb: change.before_memory_mb,
        })
        .map_err(|e| format!("cannot write the journal: {e}"))?;
    // A 409 means someone else's update is in progress: theirs wins.
    match settle::update_memory(
        api,
        &change.function,
        change.before_memory_mb,
        &change.after_revision_id,
        SETTLE_TIMEOUT,
        |_| false,
    )
    .await
    {
        Ok(_) => Ok(describe(change)),
        Err(SettleError::Platform(PlatformError::RevisionMismatch(_)))
        | Err(SettleError::ChangedMeanwhile) => {
            Err("changed meanwhile: someone else changed the function; left as it is".into())
        }
        Err(e) => Err(format!(
            "setting {} MB back failed: {e}",
            change.before_memory_mb
        )),
    }
}

async fn revert_alias<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
    change: &AppliedChange,
    alias: &str,
    previous: &str,
) -> Result<String, String> {
    let name = change.function.as_str();
    let published = change.published_version.clone().unwrap_or_default();
    journal
        .write(&Entry::IntendAlias {
            alias: alias.to_string(),
            from_version: published.clone(),
            to_version: previous.to_string(),
        })
        .map_err(|e| format!("cannot write the journal: {e}"))?;
    api.update_alias(name, alias, previous, &change.after_revision_id)
        .await
        .map_err(|e| match e {
            PlatformError::RevisionMismatch(_) => {
                format!("alias {alias} changed meanwhile: left as it is")
            }
            other => format!("moving alias {alias} back failed: {other}"),
        })?;
    let mut done = describe(change);
    if let Some(version) = &change.published_version {
        match api.delete_version(name, version).await {
            Ok(()) | Err(PlatformError::NotFound(_)) => {
                done.push_str(&format!("; deleted version {version}"));
                let _ = journal.write(&Entry::Deleted {
                    version: version.clone(),
                });
            }
            // Another alias serves it now: it is not memtune's to delete any more.
            Err(PlatformError::Conflict(_)) => {
                done.push_str(&format!("; kept version {version} (still referenced)"))
            }
            Err(e) => done.push_str(&format!("; version {version} not deleted: {e}")),
        }
    }
    Ok(done)
}

/// Sets the alias's provisioned concurrency back to what it was (or removes it).
async fn revert_provisioned<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
    change: &AppliedChange,
    alias: &str,
) -> Result<String, String> {
    let name = change.function.as_str();
    let p = change
        .provisioned
        .ok_or("the history has no provisioned concurrency levels for this change")?;
    journal
        .write(&Entry::IntendProvisioned {
            alias: alias.to_string(),
            from: p.after,
            to: p.before,
        })
        .map_err(|e| format!("cannot write the journal: {e}"))?;
    let result = match p.before {
        Some(level) => api
            .put_provisioned_concurrency(name, alias, level)
            .await
            .map(drop),
        None => api.delete_provisioned_concurrency(name, alias).await,
    };
    result.map_err(|e| {
        format!(
            "setting provisioned concurrency {} back on alias {alias} failed: {e}",
            level_text(p.before)
        )
    })?;
    Ok(describe(change))
}
