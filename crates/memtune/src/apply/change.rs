//! Setting a recommended memory size on a function, never over someone else's change.
//!
//! The sweep itself changed $LATEST and put it back, so the RevisionId read at discovery is
//! stale by design. Instead memtune checks that the function is as it was at discovery in
//! everything but its RevisionId (memory, code, settings) and then updates conditionally on
//! the RevisionId it has just read: a change landing in between is refused by Lambda (412)
//! and reported as "changed meanwhile". Every mutation is journaled first, so `memtune
//! restore` can undo a half-done apply after a crash.

use std::path::Path;

use super::{AppliedChange, ApplyMethod};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};
use crate::sweep::journal::{self, Entry, Fingerprint, Journal};
use crate::sweep::put_back::{put_memory_back, PutBack};
use crate::sweep::restore::SETTLE_TIMEOUT;
use crate::sweep::settle::{self, wait_settled, SettleError};
use crate::tune::canary::precondition::differences;

/// Where an apply journals and which run it belongs to.
#[derive(Debug, Clone)]
pub struct ApplyContext<'a> {
    pub run_id: &'a str,
    pub state_dir: &'a Path,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The role the run acts as (a `[[target]]`), for the journal.
    pub role: Option<crate::platform::assume::AssumedRole>,
}

impl ApplyContext<'_> {
    /// A journal for changes to the function `now` describes, under `journal_id`.
    pub(crate) fn journal(
        &self,
        journal_id: &str,
        now: &FunctionConfig,
    ) -> Result<Journal, ApplyError> {
        Journal::create_as(
            self.state_dir,
            journal_id,
            now,
            self.region.clone(),
            self.endpoint_url.clone(),
            self.role.clone(),
        )
        .map_err(ApplyError::Journal)
    }
}

/// Why a change was not made.
pub const CHANGED_MEANWHILE: &str =
    "changed meanwhile: someone else changed the function since memtune read it; left as it is";

/// Why a recommendation was not applied; each says what became of the function.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot read {name}: {source}")]
    Read {
        name: String,
        source: Box<SettleError>,
    },
    #[error("{}", CHANGED_MEANWHILE)]
    ChangedMeanwhile,
    #[error("cannot write the journal: {0}")]
    Journal(std::io::Error),
    /// Nothing was changed (or what was changed is put back).
    #[error("{0}")]
    Refused(String),
    /// IAM denied the change: nothing was changed.
    #[error("{0}: grant the permission (docs/iam.md); nothing was changed")]
    Denied(String),
    /// The function may be half-changed: `memtune restore` knows what to do.
    #[error("{0}; run `memtune restore` to put the function back")]
    Unsure(String),
    #[error("applied, but the journal could not be closed: {0}")]
    JournalNotClosed(std::io::Error),
}

/// Sets `to_mb` on the function found at discovery: on $LATEST, or through `alias`.
pub async fn apply<A: LambdaApi>(
    api: &A,
    ctx: &ApplyContext<'_>,
    found: &FunctionConfig,
    to_mb: u32,
    alias: Option<&str>,
) -> Result<AppliedChange, ApplyError> {
    let name = found.name.as_str();
    let now = wait_settled(api, name, SETTLE_TIMEOUT)
        .await
        .map_err(|e| ApplyError::Read {
            name: name.to_string(),
            source: Box::new(e),
        })?;
    let fingerprint = Fingerprint::of(found);
    if now.memory_mb != found.memory_mb || !fingerprint.same_apart_from_memory(&now) {
        return Err(ApplyError::ChangedMeanwhile);
    }
    let mut journal = ctx.journal(&journal::apply_run_id(ctx.run_id), &now)?;
    let result = match alias {
        None => update(api, &mut journal, &now, to_mb).await,
        Some(alias) => via_alias(api, &mut journal, &now, to_mb, alias).await,
    };
    let finished = match &result {
        Ok(_) | Err(Outcome::Refused(_)) => finish(&mut journal),
        // Unknown state: leave the journal for `memtune restore`.
        Err(Outcome::Unsure(_)) => Ok(()),
    };
    let change = result.map_err(ApplyError::from)?;
    finished.map_err(ApplyError::JournalNotClosed)?;
    Ok(AppliedChange {
        run_id: ctx.run_id.to_string(),
        applied_at: chrono::Utc::now().to_rfc3339(),
        ..change
    })
}

/// How an apply ended when it did not apply.
enum Outcome {
    /// Nothing was changed (or what was changed is put back).
    Refused(String),
    /// The function may be half-changed: `memtune restore` knows what to do.
    Unsure(String),
}

impl From<Outcome> for ApplyError {
    fn from(o: Outcome) -> ApplyError {
        match o {
            Outcome::Refused(m) => ApplyError::Refused(m),
            Outcome::Unsure(m) => ApplyError::Unsure(m),
        }
    }
}

fn finish(journal: &mut Journal) -> std::io::Result<()> {
    journal.write(&Entry::Done)?;
    journal::archive(&journal.state()?)
}

fn journal_failed(e: std::io::Error) -> Outcome {
    Outcome::Refused(format!("cannot write the journal: {e}"))
}

fn settle_failed(e: SettleError) -> Outcome {
    match e {
        SettleError::Platform(PlatformError::RevisionMismatch(_))
        | SettleError::ChangedMeanwhile => Outcome::Refused(CHANGED_MEANWHILE.into()),
        other => Outcome::Unsure(format!("the update failed: {other}")),
    }
}

/// After a 409 (someone else's update in progress), whether the function is still exactly
/// as memtune read it, RevisionId aside; if not, their change wins.
fn unchanged(read: &FunctionConfig) -> impl Fn(&FunctionConfig) -> bool + '_ {
    move |c| c.memory_mb == read.memory_mb && Fingerprint::of(read).same_apart_from_memory(c)
}

/// UpdateFunctionConfiguration of $LATEST, conditional on its RevisionId.
async fn update<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
    now: &FunctionConfig,
    to_mb: u32,
) -> Result<AppliedChange, Outcome> {
    journal
        .write(&Entry::IntendUpdate { memory_mb: to_mb })
        .map_err(journal_failed)?;
    let after = settle::update_memory(
        api,
        &now.name,
        to_mb,
        &now.revision_id,
        SETTLE_TIMEOUT,
        unchanged(now),
    )
    .await
    .map_err(settle_failed)?;
    Ok(AppliedChange {
        run_id: String::new(),
        function: now.name.clone(),
        method: ApplyMethod::Update,
        alias: None,
        previous_version: None,
        published_version: None,
        before_memory_mb: now.memory_mb,
        before_revision_id: now.revision_id.clone(),
        after_memory_mb: after.memory_mb,
        after_revision_id: after.revision_id,
        applied_at: String::new(),
        provisioned: None,
    })
}

/// Publishes a version with `to_mb` (setting $LATEST's memory for the moment it takes, then
/// putting it back), and moves the alias to it conditionally on the alias's RevisionId.
/// Refused when the alias serves code or settings other than $LATEST's, since memtune
/// measured $LATEST and would otherwise deploy it.
async fn via_alias<A: LambdaApi>(
    api: &A,
    journal: &mut Journal,
    now: &FunctionConfig,
    to_mb: u32,
    alias: &str,
) -> Result<AppliedChange, Outcome> {
    let name = now.name.as_str();
    let platform = |e: PlatformError| Outcome::Refused(format!("{e}"));
    let target = api
        .list_aliases(name)
        .await
        .map_err(platform)?
        .into_iter()
        .find(|a| a.name == alias)
        .ok_or_else(|| Outcome::Refused(format!("{name} has no alias '{alias}'")))?;
    let serving = api
        .get_configuration(name, Some(&target.function_version))
        .await
        .map_err(platform)?;
    // The same comparison a canary run makes before publishing from $LATEST.
    let differ = differences(&serving, now);
    if !differ.is_empty() {
        return Err(Outcome::Refused(format!(
            "alias {alias} serves version {} whose code or settings differ from $LATEST (what memtune measured): {}",
            target.function_version,
            differ.join(", ")
        )));
    }
    if serving.memory_mb == to_mb {
        return Err(Outcome::Refused(format!(
            "alias {alias} already serves {to_mb} MB"
        )));
    }
    journal
        .write(&Entry::IntendUpdate { memory_mb: to_mb })
        .map_err(journal_failed)?;
    let set = settle::update_memory(
        api,
        name,
        to_mb,
        &now.revision_id,
        SETTLE_TIMEOUT,
        unchanged(now),
    )
    .await
    .map_err(settle_failed)?;
    let description = format!("memtune {}: {to_mb} MB for alias {alias}", journal.run_id);
    journal
        .write(&Entry::IntendPublish {
            memory_mb: to_mb,
            description: description.clone(),
        })
        .map_err(journal_failed)?;
    let published = api
        .publish_version(name, &description, &set.revision_id)
        .await
        .map_err(|e| Outcome::Unsure(format!("publishing a version failed: {e}")))?;
    let created = published.description == description;
    journal
        .write(&Entry::Published {
            version: published.version.clone(),
            memory_mb: to_mb,
            created,
        })
        .map_err(journal_failed)?;
    // Memory alone goes back, whatever else someone changed meanwhile.
    let put_back = put_memory_back(
        api,
        name,
        now.memory_mb,
        &[now.memory_mb, to_mb],
        journal,
        SETTLE_TIMEOUT,
    )
    .await
    .map_err(|e| Outcome::Unsure(format!("putting $LATEST's memory back failed: {e}")))?;
    if let PutBack::SetBySomeoneElse(c) = put_back {
        return Err(Outcome::Unsure(format!(
            "someone else set $LATEST's memory to {} MB meanwhile",
            c.memory_mb
        )));
    }
    journal.write(&Entry::Restored).map_err(journal_failed)?;
    journal
        .write(&Entry::IntendAlias {
            alias: alias.to_string(),
            from_version: target.function_version.clone(),
            to_version: published.version.clone(),
        })
        .map_err(journal_failed)?;
    let moved = match api
        .update_alias(name, alias, &published.version, &target.revision_id)
        .await
    {
        Ok(moved) => moved,
        Err(e) => {
            if created {
                let _ = api.delete_version(name, &published.version).await;
            }
            return Err(Outcome::Refused(match e {
                PlatformError::RevisionMismatch(_) => CHANGED_MEANWHILE.into(),
                other => format!("moving alias {alias} failed: {other}"),
            }));
        }
    };
    Ok(AppliedChange {
        run_id: String::new(),
        function: name.to_string(),
        method: ApplyMethod::Alias,
        alias: Some(alias.to_string()),
        previous_version: Some(target.function_version),
        published_version: created.then_some(published.version),
        before_memory_mb: serving.memory_mb,
        before_revision_id: target.revision_id,
        after_memory_mb: to_mb,
        after_revision_id: moved.revision_id,
        applied_at: String::new(),
        provisioned: None,
    })
}
