//! The HTTP side of whole functions: CreateFunction, and the download behind GetFunction's
//! `Code.Location` (on real Lambda a presigned S3 URL; here the lab's own loopback address).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::aws_error::AwsError;
use super::control::Lab;
use super::lambda_api::{read_body, respond, MAX_CODE_REQUEST_BYTES};
use super::validation::{self, Checks};

/// `http://<host>` as the client reached the lab.
pub fn own_address(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

pub async fn create_function(State(lab): State<Arc<Lab>>, body: Body) -> Response {
    let result = async {
        let raw = read_body(body, MAX_CODE_REQUEST_BYTES, "CreateFunction").await?;
        let mut checks = Checks::new();
        let body: Value = checks.body(&raw, validation::CREATE_FUNCTION)?;
        checks.finish()?;
        lab.maybe_service_error()?;
        lab.create_function(&body)
    };
    respond(result.await, StatusCode::CREATED)
}

pub async fn download_code(State(lab): State<Arc<Lab>>, Path(name): Path<String>) -> Response {
    match lab.package(&name) {
        Some(bytes) => (
            StatusCode::OK,
            [("content-type", "application/zip")],
            bytes.to_vec(),
        )
            .into_response(),
        None => AwsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .rest_json(),
    }
}
