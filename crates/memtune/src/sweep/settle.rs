//! Waiting out Lambda's asynchronous configuration updates, and updating memory safely.
//!
//! The SDK's waiter polls no faster than every 5 s; memtune polls GetFunctionConfiguration
//! itself, starting at 50 ms and backing off to 1 s.

use std::time::{Duration, Instant};

use crate::platform::{FunctionConfig, LambdaApi, PlatformError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("the configuration update did not finish within {0:?}")]
    TimedOut(Duration),
    #[error("the configuration update failed: {0}")]
    UpdateFailed(String),
    #[error("the function was changed by someone else meanwhile")]
    ChangedMeanwhile,
}

pub(crate) const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);
/// 409s in a row before giving up on an update.
pub(crate) const MAX_CONFLICTS: u32 = 30;
/// Throttles in a row before giving up on an update.
pub(crate) const MAX_THROTTLES: u32 = 8;

/// Polls until no update is in progress; returns the settled configuration of $LATEST, or
/// the reason its last update failed.
pub async fn wait_settled<A: LambdaApi>(
    api: &A,
    name: &str,
    timeout: Duration,
) -> Result<FunctionConfig, SettleError> {
    let config = wait_idle(api, name, timeout).await?;
    if config.last_update_status == "Failed" {
        return Err(SettleError::UpdateFailed(
            config
                .last_update_reason
                .unwrap_or_else(|| "no reason given".into()),
        ));
    }
    Ok(config)
}

/// Polls a published version until it is Active (a SnapStart version is Pending while its
/// snapshot is taken, and cannot be invoked); returns how long that took.
pub async fn wait_version_active<A: LambdaApi>(
    api: &A,
    name: &str,
    version: &str,
    timeout: Duration,
) -> Result<Duration, SettleError> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        match api.get_configuration(name, Some(version)).await {
            Err(PlatformError::Throttled(_)) => {}
            Err(e) => return Err(e.into()),
            Ok(c) if c.state == "Active" => return Ok(started.elapsed()),
            Ok(c) if c.state == "Failed" => {
                return Err(SettleError::UpdateFailed(format!(
                    "version {version} failed to become Active: {}",
                    c.last_update_reason.as_deref().unwrap_or("no reason given")
                )))
            }
            Ok(_) => {}
        }
        if started.elapsed() >= timeout {
            return Err(SettleError::TimedOut(timeout));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Polls until no update is in progress; returns $LATEST's configuration as it is then, also
/// after a failed update (which left the configuration as it was before it).
pub async fn wait_idle<A: LambdaApi>(
    api: &A,
    name: &str,
    timeout: Duration,
) -> Result<FunctionConfig, SettleError> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        match api.poll_configuration(name).await {
            Err(PlatformError::Throttled(_)) => {}
            Err(e) => return Err(e.into()),
            Ok(config) if !config.update_in_progress() => return Ok(config),
            Ok(_) => {}
        }
        if started.elapsed() >= timeout {
            return Err(SettleError::TimedOut(timeout));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Sets $LATEST's memory with `revision_id` and waits until the update has finished.
///
/// A 409 (another update in progress) is waited out; then the update is tried again only if
/// `still_ours` accepts the function as it is now, with its new RevisionId. A 412 means the
/// function changed since `revision_id` was read and is returned as is.
pub async fn update_memory<A: LambdaApi>(
    api: &A,
    name: &str,
    memory_mb: u32,
    revision_id: &str,
    timeout: Duration,
    still_ours: impl Fn(&FunctionConfig) -> bool,
) -> Result<FunctionConfig, SettleError> {
    let mut revision = revision_id.to_string();
    let (mut conflicts, mut throttles) = (0, 0);
    loop {
        match api.update_memory(name, memory_mb, &revision).await {
            Ok(_) => return wait_settled(api, name, timeout).await,
            Err(PlatformError::Conflict(_)) if conflicts < MAX_CONFLICTS => {
                conflicts += 1;
                let now = wait_settled(api, name, timeout).await?;
                if !still_ours(&now) {
                    return Err(SettleError::ChangedMeanwhile);
                }
                revision = now.revision_id;
            }
            Err(PlatformError::Throttled(t)) if throttles < MAX_THROTTLES => {
                throttles += 1;
                tokio::time::sleep(t.pause(FIRST_POLL * 2u32.pow(throttles))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
