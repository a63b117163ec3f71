//! The HTTP API: health, Prometheus metrics, run history, and triggering a run (bearer token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::runner::{Runner, Trigger};
use super::schedule::Schedule;

pub struct AppState {
    pub runner: Runner,
    /// None: triggering over the API is off.
    pub token: Option<String>,
    pub schedule: Option<Schedule>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/runs", axum::routing::post(trigger))
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
