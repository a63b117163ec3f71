//! `memtune serve`: scheduled fleet runs, one at a time, and an HTTP API over them.

pub mod api;
pub mod findings;
pub mod fleet_runs;
pub mod metrics;
pub mod runner;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fleet::schedule::Schedule;
use api::AppState;
use runner::{Runner, Trigger};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {source} (pick another address with --listen or [serve] listen)"
    )]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("another memtune serve is using the state directory {0} (one service per state directory; set MEMTUNE_STATE_DIR to run a second one)")]
    Locked(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub schedule: Option<Schedule>,
    pub token: Option<String>,
    pub state_dir: PathBuf,
}

/// Holds `serve.lock` in the state directory for the life of the service, so two services
/// never tune the same account from one state (history, journals) at once.
fn lock(state_dir: &Path) -> Result<std::fs::File, ServeError> {
    let path = state_dir.join("serve.lock");
    let io = |source| ServeError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(state_dir).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(ServeError::Locked(state_dir.display().to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// The warning for an API reachable beyond this host, if `addr` is not a loopback address.
pub fn exposure_warning(addr: SocketAddr, token_set: bool) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    let exposure = if token_set {
        "the token crosses the network in clear text (plain HTTP): put TLS in front of it"
    } else {
        "with no token, anyone who reaches it reads the run history: set MEMTUNE_API_TOKEN"
    };
    Some(format!(
        "warning: memtune serve listens on {addr}, beyond this host; {exposure}, or listen on 127.0.0.1"
    ))
}

async fn scheduler(schedule: Schedule, state: Arc<AppState>) {
    loop {
        let now = chrono::Utc::now();
        let Some(next) = schedule.next_after(now) else {
            tracing::warn!(schedule = schedule.text(), "the schedule has no next start");
            return;
        };
        tracing::info!(next = %next.to_rfc3339(), "next scheduled run");
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        if let Err(busy) = state.runner.trigger(Trigger::Schedule) {
            tracing::warn!(run_id = %busy.run_id, "scheduled run skipped: a run is in progress");
        }
    }
}

/// Serves until `shutdown` resolves, then stops the run in progress and restores what it had
/// in flight. `ready` gets the bound address (the port, when `listen` asked for port 0).
pub async fn serve(
    options: ServeOptions,
    runner: Runner,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let _lock = lock(&options.state_dir)?;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: options.listen,
        source,
    })?;
    let state = Arc::new(AppState {
        runner,
        state_dir: options.state_dir.clone(),
        token: options.token,
        schedule: options.schedule.clone(),
    });
    let scheduled = options
        .schedule
        .map(|s| tokio::spawn(scheduler(s, state.clone())));
    ready(addr);
    let served = axum::serve(listener, api::router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(task) = scheduled {
        task.abort();
    }
    tracing::info!("shutting down");
    state.runner.stop().await;
    served.map_err(|source| ServeError::Io {
        path: addr.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::exposure_warning;

    #[test]
    fn only_addresses_beyond_loopback_are_warned_about() {
        let at = |a: &str| a.parse().unwrap();
        assert_eq!(exposure_warning(at("127.0.0.1:8787"), false), None);
        assert_eq!(exposure_warning(at("[::1]:8787"), true), None);
        let open = exposure_warning(at("0.0.0.0:8787"), false).unwrap();
        assert!(
            open.contains("0.0.0.0:8787") && open.contains("MEMTUNE_API_TOKEN"),
            "{open}"
        );
        let lan = exposure_warning(at("192.168.1.5:8787"), true).unwrap();
        assert!(lan.contains("TLS"), "{lan}");
        assert!(exposure_warning(at("[::]:8787"), true).is_some());
    }
}
