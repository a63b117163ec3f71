//! Putting a function back as it was: original memory on $LATEST (unless someone else set its
//! memory meanwhile; their other changes are kept either way) and no version memtune created
//! left behind. Used after every sweep (success, error, Ctrl-C) and by `memtune restore` after
//! a crash.

use std::time::Duration;

use serde::Serialize;

use super::journal::{self, Entry, Journal, JournalState};
use super::provisioned_back::{self, put_provisioned_back, ProvisionedBack};
use super::put_back::{put_memory_back, PutBack, PutBackError};
use super::routing_back::{self, put_routing_back, RoutingBack};
use super::settle::SettleError;
use crate::platform::{LambdaApi, PlatformError};

/// What restoring one function did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    pub function: String,
    pub run_id: String,
    /// $LATEST memory was changed back to this (during the run or now).
    pub restored_memory_mb: Option<u32>,
    /// $LATEST already had its original memory.
    pub memory_was_original: bool,
    /// The memory the function had before the run.
    pub original_memory_mb: u32,
    pub deleted_versions: Vec<String>,
    /// Why memtune left memory as it found it (someone else set it).
    pub left_alone: Option<String>,
    /// Settings someone else changed while memtune worked (Lambda's names), which memtune
    /// kept.
    pub kept_changes: Vec<String>,
    /// The function no longer exists.
    pub function_gone: bool,
    /// The run changed $LATEST's memory or published versions, so memory was checked (a run
    /// that set provisioned concurrency alone did not).
    pub memory_checked: bool,
    /// What became of the provisioned concurrency the run set on an alias.
    pub provisioned: Option<String>,
    /// What became of the routing the run set on an alias (a canary's share).
    pub routing: Option<String>,
    /// The function was this run's temporary copy of this one, and is deleted with its log
    /// group.
    pub deleted_clone_of: Option<String>,
    /// The copy's package staged in S3 (`s3://bucket/key`), now deleted.
    pub deleted_staged_package: Option<String>,
}

impl RestoreReport {
    pub fn clean(&self) -> bool {
        self.left_alone.is_none()
    }
}

/// One line saying what restoring did.
pub fn describe(r: &RestoreReport) -> String {
    if let Some(source) = &r.deleted_clone_of {
        let staged = match &r.deleted_staged_package {
            Some(url) => format!(", and its package staged in {url}"),
            None => String::new(),
        };
        return format!(
            "{}: deleted this temporary copy of {source} and its log group{staged} (run {}); the sweep never changed {source} itself",
            r.function, r.run_id
        );
    }
    if r.function_gone {
        return format!(
            "{}: the function no longer exists; nothing to restore",
            r.function
        );
    }
    let mut parts = Vec::new();
    for alias_part in [&r.routing, &r.provisioned].into_iter().flatten() {
        parts.push(alias_part.clone());
    }
    if r.memory_checked {
        let memory = match (&r.left_alone, r.restored_memory_mb) {
            (Some(reason), _) => format!("NOT restored: {reason}"),
            (None, Some(mb)) => format!("memory back to {mb} MB"),
            (None, None) => format!("memory already at its original {} MB", r.original_memory_mb),
        };
        let kept = if r.kept_changes.is_empty() {
            String::new()
        } else {
            format!(
                "; kept someone else's change to {}",
                r.kept_changes.join(", ")
            )
        };
        parts.push(format!("{memory}{kept}"));
    }
    parts.push(if r.deleted_versions.is_empty() {
        "no versions to delete".to_string()
    } else {
        format!("deleted versions {}", r.deleted_versions.join(", "))
    });
    format!("{}: {} (run {})", r.function, parts.join("; "), r.run_id)
}

/// Why memory was left alone: it is at a size neither the original nor one memtune set.
fn set_by_someone_else(state: &JournalState, now_mb: u32) -> String {
    let ours: Vec<String> = state
        .intended_memory
        .iter()
        .filter(|&&m| m != state.original.memory_mb)
        .map(|m| m.to_string())
        .collect();
    let ours = if ours.is_empty() {
        "none".to_string()
    } else {
        format!("{} MB", ours.join(", "))
    };
    format!(
        "memory was set to {now_mb} MB by someone else (original {} MB; sizes memtune set: {ours}): left as it is",
        state.original.memory_mb
    )
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{function}: {source}")]
    Platform {
        function: String,
        source: PlatformError,
    },
    #[error("{function}: {source}")]
    Settle {
        function: String,
        source: SettleError,
    },
    #[error("journal {path}: {source}")]
    Journal {
        path: String,
        source: std::io::Error,
    },
}

impl RestoreError {
    fn putting_back(function: &str, e: PutBackError) -> RestoreError {
        match e {
            PutBackError::Settle(source) => RestoreError::Settle {
                function: function.to_string(),
                source,
            },
            PutBackError::Journal { path, source } => RestoreError::Journal { path, source },
        }
    }
}

/// How long requests an interrupted sweep had already sent get to reach Lambda before the
/// restore starts, so it sees (and undoes) their effect instead of racing them.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_millis(500);

/// After an interruption: waits out [`IN_FLIGHT_GRACE`], then restores every function the run
/// `run_id` left unfinished (its sweeps and its apply step), side by side; one line per
/// function says what happened.
pub async fn restore_run<A: LambdaApi>(
    api: &A,
    state_dir: &std::path::Path,
    run_id: &str,
) -> Vec<String> {
    tokio::time::sleep(IN_FLIGHT_GRACE).await;
    let pending = journal::unfinished(state_dir).unwrap_or_default();
    let applying = journal::apply_run_id(run_id);
    let restores = pending
        .iter()
        .filter(|j| j.run_id == run_id || j.run_id == applying)
        .map(|state| async move {
            match restore_from_disk(api, state).await {
                Ok(report) => describe(&report),
                Err(e) => format!(
                    "{}: restore failed ({e}); run `memtune restore`",
                    state.function
                ),
            }
        });
    futures::future::join_all(restores).await
}

/// How long to wait for an in-progress update before giving up.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Restores one function from its journal and marks the journal done.
pub async fn restore<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
) -> Result<RestoreReport, RestoreError> {
    let state = journal.state().map_err(|source| RestoreError::Journal {
        path: journal.path().display().to_string(),
        source,
    })?;
    restore_state(api, &state, journal).await
}

/// Restores from a journal read back from disk (after a crash).
pub async fn restore_from_disk<A: LambdaApi>(
    api: &A,
    state: &JournalState,
) -> Result<RestoreReport, RestoreError> {
    let mut journal = Journal::reopen(&state.path).map_err(|source| RestoreError::Journal {
        path: state.path.display().to_string(),
        source,
    })?;
    let report = restore_state(api, state, &mut journal).await?;
    journal::archive(state).map_err(|source| RestoreError::Journal {
        path: state.path.display().to_string(),
        source,
    })?;
    Ok(report)
}

async fn restore_state<A: LambdaApi>(
    api: &A,
    state: &JournalState,
    journal: &mut Journal,
) -> Result<RestoreReport, RestoreError> {
    let name = state.function.as_str();
    let journal_err = |source| RestoreError::Journal {
        path: state.path.display().to_string(),
        source,
    };
    let mut report = RestoreReport {
        function: name.to_string(),
        run_id: state.run_id.clone(),
        restored_memory_mb: None,
        memory_was_original: false,
        original_memory_mb: state.original.memory_mb,
        deleted_versions: Vec::new(),
        left_alone: None,
        kept_changes: Vec::new(),
        function_gone: false,
        memory_checked: state.touches_memory() || state.provisioned.is_none(),
        provisioned: None,
        routing: None,
        deleted_clone_of: None,
        deleted_staged_package: None,
    };
    if let Some(clone) = &state.clone {
        delete_clone(api, state, clone, journal).await?;
        if let Some(staged) = state.staged.as_ref().filter(|s| !s.deleted) {
            match api.delete_staged_package(&staged.bucket, &staged.key).await {
                Ok(()) => report.deleted_staged_package = Some(staged.url()),
                Err(PlatformError::NotFound(_)) => {}
                Err(source) => {
                    return Err(RestoreError::Platform {
                        function: name.to_string(),
                        source,
                    })
                }
            }
            journal.write(&Entry::StageDeleted).map_err(journal_err)?;
        }
        journal.write(&Entry::Done).map_err(journal_err)?;
        report.deleted_clone_of = Some(clone.source.clone());
        return Ok(report);
    }
    // Routing first: Lambda refuses to delete a version an alias routes to.
    if let Some(intents) = &state.routing {
        let back = put_routing_back(api, name, intents, journal)
            .await
            .map_err(|e| RestoreError::putting_back(name, e))?;
        let said = routing_back::describe(intents, &back);
        if let RoutingBack::SetBySomeoneElse(_) = back {
            journal
                .write(&Entry::LeftAlone {
                    reason: said.clone(),
                })
                .map_err(journal_err)?;
            report.left_alone = Some(said.clone());
        }
        report.routing = Some(said);
    }
    if let Some(intents) = &state.provisioned {
        let back = put_provisioned_back(api, name, intents, journal)
            .await
            .map_err(|e| RestoreError::putting_back(name, e))?;
        let said = provisioned_back::describe(intents, &back);
        if let ProvisionedBack::SetBySomeoneElse(_) = back {
            journal
                .write(&Entry::LeftAlone {
                    reason: said.clone(),
                })
                .map_err(journal_err)?;
            report.left_alone = Some(said.clone());
        }
        report.provisioned = Some(said);
    }
    if !report.memory_checked {
        report.deleted_versions = delete_run_versions(api, state, journal).await?;
        journal.write(&Entry::Done).map_err(journal_err)?;
        return Ok(report);
    }
    let put_back = put_memory_back(
        api,
        name,
        state.original.memory_mb,
        &state.intended_memory,
        journal,
        SETTLE_TIMEOUT,
    )
    .await;
    let outcome = match put_back {
        Ok(outcome) => outcome,
        Err(PutBackError::Settle(SettleError::Platform(PlatformError::NotFound(_)))) => {
            report.function_gone = true;
            journal.write(&Entry::Done).map_err(journal_err)?;
            return Ok(report);
        }
        Err(PutBackError::Settle(source)) => {
            return Err(RestoreError::Settle {
                function: name.to_string(),
                source,
            })
        }
        Err(PutBackError::Journal { path, source }) => {
            return Err(RestoreError::Journal { path, source })
        }
    };
    match &outcome {
        // Put back during the run, and nobody changed memory since.
        PutBack::AlreadyOriginal(_) if state.memory_restored => {
            report.restored_memory_mb = Some(state.original.memory_mb)
        }
        PutBack::AlreadyOriginal(_) => report.memory_was_original = true,
        PutBack::Restored(_) => {
            journal.write(&Entry::Restored).map_err(journal_err)?;
            report.restored_memory_mb = Some(state.original.memory_mb);
        }
        PutBack::SetBySomeoneElse(now) => {
            report.left_alone = Some(set_by_someone_else(state, now.memory_mb));
        }
    }
    report.kept_changes = state
        .original
        .differences(outcome.config())
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(reason) = &report.left_alone {
        journal
            .write(&Entry::LeftAlone {
                reason: reason.clone(),
            })
            .map_err(journal_err)?;
    }

    report.deleted_versions = delete_run_versions(api, state, journal).await?;
    journal.write(&Entry::Done).map_err(journal_err)?;
    Ok(report)
}

/// Deletes a temporary copy, its versions and aliases with it, then its log group; either
/// may be gone already (a crash before it was created, or after it was deleted).
async fn delete_clone<A: LambdaApi>(
    api: &A,
    state: &JournalState,
    clone: &journal::CloneOf,
    journal: &mut Journal,
) -> Result<(), RestoreError> {
    let platform = |source| RestoreError::Platform {
        function: state.function.clone(),
        source,
    };
    let gone = |r: Result<(), PlatformError>| match r {
        Err(PlatformError::NotFound(_)) => Ok(()),
        other => other,
    };
    if !clone.deleted {
        gone(api.delete_function(&state.function).await).map_err(platform)?;
        journal
            .write(&Entry::CloneDeleted)
            .map_err(|source| RestoreError::Journal {
                path: state.path.display().to_string(),
                source,
            })?;
    }
    gone(api.delete_log_group(&clone.log_group).await).map_err(platform)
}

/// Deletes every alias and version this run created: those the journal lists, and any whose
/// description carries the run's prefix (a crash between publish and journal write).
async fn delete_run_versions<A: LambdaApi>(
    api: &A,
    state: &JournalState,
    journal: &mut Journal,
) -> Result<Vec<String>, RestoreError> {
    let name = state.function.as_str();
    let platform = |source| RestoreError::Platform {
        function: name.to_string(),
        source,
    };
    let prefix = state.description_prefix();
    // A version another alias points or routes to serves it now (someone else's routing kept):
    // Lambda would refuse to delete it, and it is no longer this run's.
    let mut serving: Vec<String> = Vec::new();
    for alias in api.list_aliases(name).await.map_err(platform)? {
        if alias.description.starts_with(&prefix) {
            api.delete_alias(name, &alias.name)
                .await
                .map_err(platform)?;
        } else {
            serving.push(alias.function_version.clone());
            serving.extend(alias.routing.keys().cloned());
        }
    }
    let existing = api.list_versions(name).await.map_err(platform)?;
    let mut doomed: Vec<String> = existing
        .iter()
        .filter(|v| v.version != "$LATEST" && !serving.contains(&v.version))
        .filter(|v| {
            v.description.starts_with(&prefix) || state.created_versions.contains(&v.version)
        })
        .map(|v| v.version.clone())
        .collect();
    doomed.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    let mut deleted = Vec::new();
    for version in doomed {
        match api.delete_version(name, &version).await {
            Ok(()) | Err(PlatformError::NotFound(_)) => {}
            Err(e) => return Err(platform(e)),
        }
        journal
            .write(&Entry::Deleted {
                version: version.clone(),
            })
            .map_err(|source| RestoreError::Journal {
                path: state.path.display().to_string(),
                source,
            })?;
        deleted.push(version);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_left_at_its_memory_says_which() {
        let report = RestoreReport {
            function: "orders".into(),
            run_id: "r1".into(),
            restored_memory_mb: None,
            memory_was_original: true,
            original_memory_mb: 512,
            deleted_versions: vec!["3".into()],
            left_alone: None,
            function_gone: false,
            kept_changes: Vec::new(),
            memory_checked: true,
            provisioned: None,
            routing: None,
            deleted_clone_of: None,
            deleted_staged_package: None,
        };
        assert_eq!(
            describe(&report),
            "orders: memory already at its original 512 MB; deleted versions 3 (run r1)"
        );
    }
}
