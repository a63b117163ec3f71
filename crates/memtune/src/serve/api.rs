//! The HTTP API: health, Prometheus metrics, run history, and triggering a run. With a token
//! configured, every request needs it (`Authorization: Bearer <token>`, the scheme in any
//! case): the history names functions, their settings and spend.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::runner::{Runner, Trigger};
use crate::fleet::outcome::RunOverview;
use crate::fleet::schedule::Schedule;
use crate::history::{History, HistoryError};

pub struct AppState {
    pub runner: Runner,
    /// Where the history lives; each request opens it (SQLite in WAL mode serves readers
    /// while a run writes).
    pub state_dir: PathBuf,
    /// Some: every request needs it. None: reads are open and triggering is off.
    pub token: Option<String>,
    pub schedule: Option<Schedule>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/runs", get(runs).post(trigger))
        .route("/api/runs/{id}", get(run))
        .route("/api/runs/{id}/capacity", get(run_capacity))
        .route("/api/functions/{name}", get(function))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

/// Refuses a request without the configured token (none configured: lets it through).
async fn require_token(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    match &app.token {
        Some(token) if !carries_token(request.headers(), token) => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "send the API token as `Authorization: Bearer <token>`",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            r
        }
        _ => next.run(request).await,
    }
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

/// A run; for a run over `[[target]]`s, the run of each account and region.
async fn run(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let missing = format!("no run {id} in the history; GET /api/runs lists them");
    read_history(
        &app,
        move |h| {
            if let Some(run) = h.run(&id)? {
                return Ok(Some(json!(run)));
            }
            let targets = h.target_runs(&id)?;
            Ok((!targets.is_empty()).then(|| json!({ "id": id, "targets": targets })))
        },
        missing,
    )
    .await
}

/// The `[capacity]` findings of a finished run, as its report holds them.
async fn run_capacity(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let missing = format!(
        "no capacity findings for run {id}: the run is unknown or unfinished, or its config \
         has no [capacity] section"
    );
    read_history(
        &app,
        move |h| {
            let Some(text) = h.report_json(&id)? else {
                return Ok(None);
            };
            // The run's overview (a whole run in older histories); a report that does not
            // parse holds no findings to show.
            let run: Option<RunOverview> = serde_json::from_str(&text).ok();
            Ok(run
                .map(|r| r.capacity)
                .filter(|c| !c.is_empty())
                .map(|capacity| json!({ "run_id": id, "capacity": capacity })))
        },
        missing,
    )
    .await
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

/// The credentials of an `Authorization: Bearer <token>` header; the scheme is
/// case-insensitive (RFC 7235).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

fn carries_token(headers: &HeaderMap, token: &str) -> bool {
    bearer_token(headers).is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes()))
}

/// Compares the SHA-256 digests of both, so the time taken tells neither where they differ
/// nor whether their lengths do.
fn same_secret(given: &[u8], token: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Starts a run; `require_token` has checked the token, if one is configured.
async fn trigger(State(app): State<Arc<AppState>>) -> Response {
    if app.token.is_none() {
        return error(
            StatusCode::FORBIDDEN,
            "triggering runs over the API is off: set MEMTUNE_API_TOKEN (or [serve] token) and restart",
        );
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
        assert!(!same_secret(b"", b"abc"));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            h
        };
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let headers = with(&format!("{scheme} s3cret"));
            assert_eq!(bearer_token(&headers), Some("s3cret"), "{scheme}");
            assert!(carries_token(&headers, "s3cret"));
        }
        assert!(!carries_token(&with("Basic s3cret"), "s3cret"));
        assert!(!carries_token(&with("Bearers3cret"), "s3cret"));
        assert!(!carries_token(&HeaderMap::new(), "s3cret"));
    }
}
