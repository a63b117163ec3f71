//! `memtune serve`: scheduled fleet runs, one at a time, and an HTTP API over them.

pub mod api;
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
