//! CloudWatch GetMetricData over Smithy RPC v2 CBOR (the Rust SDK) and awsJson1_0 (boto3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::aws_error::AwsError;
use super::Lab;

pub async fn rpc_v2_cbor(
    State(_lab): State<Arc<Lab>>,
    Path(operation): Path<String>,
    _body: Bytes,
) -> Response {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "UnknownOperationException",
        format!("the lab does not serve CloudWatch {operation} yet"),
    )
    .cbor()
}

pub fn aws_json_1_0(_lab: &Lab, operation: &str, _body: &[u8]) -> Response {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "UnknownOperationException",
        format!("the lab does not serve CloudWatch {operation} yet"),
    )
    .aws_json("application/x-amz-json-1.0")
}
