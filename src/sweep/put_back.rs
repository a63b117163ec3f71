//! Putting $LATEST's original memory back: memtune undoes its own change and nothing else.
//!
//! Memory alone is updated, conditionally on the RevisionId just read, so whatever else
//! someone changed meanwhile (a Timeout, the environment) is kept. A conflict (412: the
//! function changed since the read; 409: an update is in progress) is met by reading again.
//! The only refusal: memory itself is at a size memtune never set, i.e. someone else chose it.

use std::time::Duration;

use super::journal::{Entry, Journal};
use super::settle::{self, SettleError, FIRST_POLL, MAX_CONFLICTS, MAX_THROTTLES};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};

/// How putting memory back ended; each carries $LATEST as memtune last read it.
#[derive(Debug, Clone, PartialEq)]
pub enum PutBack {
    /// Memory already was the original: nothing to do.
    AlreadyOriginal(FunctionConfig),
    /// memtune set the original memory again.
    Restored(FunctionConfig),
    /// Memory is at a size memtune never set: someone else's choice, left as it is.
    SetBySomeoneElse(FunctionConfig),
}

impl PutBack {
    pub fn config(&self) -> &FunctionConfig {
        match self {
            PutBack::AlreadyOriginal(c) | PutBack::Restored(c) | PutBack::SetBySomeoneElse(c) => c,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PutBackError {
    #[error(transparent)]
    Settle(#[from] SettleError),
    #[error("cannot write the journal {path}: {source}")]
    Journal {
        path: String,
        source: std::io::Error,
    },
}

/// Sets `original_mb` on $LATEST unless memory is already there or at a size outside `ours`
/// (the original and every size memtune may have set). The intent is journaled before each
/// update.
pub async fn put_memory_back<A: LambdaApi>(
    api: &A,
    name: &str,
    original_mb: u32,
    ours: &[u32],
    journal: &mut Journal,
    timeout: Duration,
) -> Result<PutBack, PutBackError> {
    let (mut conflicts, mut throttles) = (0, 0);
    let mut updated = false;
    loop {
        let now = settle::wait_idle(api, name, timeout).await?;
        if now.memory_mb == original_mb {
            return Ok(if updated {
                PutBack::Restored(now)
            } else {
                PutBack::AlreadyOriginal(now)
            });
        }
        if !ours.contains(&now.memory_mb) {
            return Ok(PutBack::SetBySomeoneElse(now));
        }
        journal
            .write(&Entry::IntendUpdate {
                memory_mb: original_mb,
            })
            .map_err(|source| PutBackError::Journal {
                path: journal.path().display().to_string(),
                source,
            })?;
        match api.update_memory(name, original_mb, &now.revision_id).await {
            Ok(_) => {
                updated = true;
                // A failed update of memtune's own is an error, not something to retry.
                settle::wait_settled(api, name, timeout).await?;
            }
            Err(PlatformError::RevisionMismatch(_) | PlatformError::Conflict(_))
                if conflicts < MAX_CONFLICTS =>
            {
                conflicts += 1;
            }
            Err(PlatformError::Throttled(t)) if throttles < MAX_THROTTLES => {
                throttles += 1;
                tokio::time::sleep(t.pause(FIRST_POLL * 2u32.pow(throttles))).await;
            }
            Err(e) => return Err(SettleError::Platform(e).into()),
        }
    }
}
