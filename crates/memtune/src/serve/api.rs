//! The HTTP API: health, Prometheus metrics, run history, and triggering a run (bearer token).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::runner::{Runner, Trigger};
use crate::fleet::schedule::Schedule;
use crate::history::{History, HistoryError};

pub struct AppState {
    pub runner: Runner,
    /// Where the history lives; each request opens it (SQLite in WAL mode serves readers
    /// while a run writes).
    pub state_dir: PathBuf,
    /// None: triggering over the API is off.
    pub token: Option<String>,
    pub schedule: Option<Schedule>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/runs", get(runs).post(trigger))
        .route("/api/runs/{id}", get(run))
        .route("/api/functions/{name}", get(function))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn healthz(State(app): State<Arc<AppState>>) -> Response {
    let next = app
        .schedule
        .as_ref()
        .and_then(|s| s.next_after(chrono::Utc::now()));
    Json(json!({
        "status": "ok",
        "current_run": app.runner.current(),
        "last_run": app.runner.last(),
        "schedule": app.schedule.as_ref().map(Schedule::text),
        "next_scheduled_run": next,
    }))
    .into_response()
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.runner.counters().render(),
    )
        .into_response()
}

/// Runs a read of the history off the async threads.
async fn read_history<T: serde::Serialize + Send + 'static>(
    app: &AppState,
    read: impl FnOnce(&History) -> Result<Option<T>, HistoryError> + Send + 'static,
    missing: String,
) -> Response {
    let state_dir = app.state_dir.clone();
    let answer =
        tokio::task::spawn_blocking(move || History::open(&state_dir).and_then(|h| read(&h))).await;
    match answer {
        Ok(Ok(Some(value))) => Json(value).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, missing),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct RunsQuery {
    limit: Option<usize>,
}

/// Newest first; `?limit=N` (default 50, at most 1000).
async fn runs(State(app): State<Arc<AppState>>, Query(q): Query<RunsQuery>) -> Response {
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    read_history(&app, move |h| h.runs(limit).map(Some), String::new()).await
}

async fn run(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let missing = format!("no run {id} in the history; GET /api/runs lists them");
    read_history(&app, move |h| h.run(&id), missing).await
}

/// A function's entries across runs (newest first) and its latest recommendation.
async fn function(State(app): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let missing = format!("{name} is in no recorded run");
    read_history(
        &app,
        move |h| {
            let entries = h.function_history(&name)?;
            if entries.is_empty() {
                return Ok(None);
            }
            let latest = h.latest_recommendation(&name)?;
            Ok(Some(json!({
                "function": name,
                "latest_recommendation": latest,
                "history": entries,
            })))
        },
        missing,
    )
    .await
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The refusal, unless the request carries the API token.
fn refusal(app: &AppState, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &app.token else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "triggering runs over the API is off: set MEMTUNE_API_TOKEN (or [serve] token) and restart",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if same_secret(g.as_bytes(), token.as_bytes()) => None,
        _ => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "send the API token as `Authorization: Bearer <token>`",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            Some(r)
        }
    }
}

async fn trigger(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refusal(&app, &headers) {
        return denied;
    }
    match app.runner.trigger(Trigger::Api) {
        Ok(run) => (StatusCode::ACCEPTED, Json(json!({ "run": run }))).into_response(),
        Err(busy) => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": format!("run {} is in progress; one run at a time", busy.run_id),
                "run": busy,
            })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
