//! Putting an alias's provisioned concurrency back as a run found it: the original level set
//! again, or the configuration deleted when there was none. Only a level the run itself set
//! is undone; a level someone else chose meanwhile is left as it is.

use super::journal::{Entry, Journal, ProvisionedIntents};
use super::put_back::PutBackError;
use super::settle::SettleError;
use crate::platform::{LambdaApi, PlatformError};

/// How putting provisioned concurrency back ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisionedBack {
    /// The alias already had its original level (or none, as it had).
    AlreadyOriginal,
    /// memtune set the original level again (or deleted the configuration).
    Restored,
    /// The alias has a level memtune never set: someone else's choice, left as it is.
    SetBySomeoneElse(Option<u32>),
    /// The alias (or the function) no longer exists, and its configuration with it.
    AliasGone,
}

/// A level in words: `5` or `none`.
pub fn level_text(level: Option<u32>) -> String {
    level.map_or_else(|| "none".to_string(), |n| n.to_string())
}

/// One line saying what putting the alias's provisioned concurrency back did.
pub fn describe(intents: &ProvisionedIntents, back: &ProvisionedBack) -> String {
    let alias = &intents.alias;
    let original = level_text(intents.original);
    match back {
        ProvisionedBack::AlreadyOriginal => {
            format!("provisioned concurrency of alias {alias} already at its original {original}")
        }
        ProvisionedBack::Restored => {
            format!("provisioned concurrency of alias {alias} back to {original}")
        }
        ProvisionedBack::SetBySomeoneElse(now) => format!(
            "provisioned concurrency of alias {alias} NOT restored: set to {} by someone else (original {original}): left as it is",
            level_text(*now)
        ),
        ProvisionedBack::AliasGone => {
            format!("alias {alias} no longer exists; no provisioned concurrency to restore")
        }
    }
}

/// Sets the alias's original provisioned concurrency again unless it is already there or at
/// a level outside the run's own; the intent is journaled first.
pub async fn put_provisioned_back<A: LambdaApi>(
    api: &A,
    name: &str,
    intents: &ProvisionedIntents,
    journal: &mut Journal,
) -> Result<ProvisionedBack, PutBackError> {
    let alias = intents.alias.as_str();
    let now = match api.get_provisioned_concurrency(name, alias).await {
        Ok(now) => now.map(|p| p.requested),
        Err(PlatformError::NotFound(_)) => return Ok(ProvisionedBack::AliasGone),
        Err(e) => return Err(SettleError::Platform(e).into()),
    };
    if now == intents.original {
        return Ok(ProvisionedBack::AlreadyOriginal);
    }
    if !intents.ours.contains(&now) {
        return Ok(ProvisionedBack::SetBySomeoneElse(now));
    }
    journal
        .write(&Entry::IntendProvisioned {
            alias: alias.to_string(),
            from: now,
            to: intents.original,
        })
        .map_err(|source| PutBackError::Journal {
            path: journal.path().display().to_string(),
            source,
        })?;
    let result = match intents.original {
        Some(level) => api
            .put_provisioned_concurrency(name, alias, level)
            .await
            .map(drop),
        None => api.delete_provisioned_concurrency(name, alias).await,
    };
    result.map_err(|e| PutBackError::Settle(SettleError::Platform(e)))?;
    Ok(ProvisionedBack::Restored)
}
