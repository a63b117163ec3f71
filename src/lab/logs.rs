//! CloudWatch Logs (awsJson1_1): FilterLogEvents, StartQuery and GetQueryResults over the
//! REPORT lines of the lab's functions.

use axum::http::StatusCode;
use axum::response::Response;

use super::aws_error::AwsError;
use super::Lab;

pub async fn aws_json_1_1(_lab: &Lab, operation: &str, _body: &[u8]) -> Response {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "UnknownOperationException",
        format!("the lab does not serve CloudWatch Logs {operation} yet"),
    )
    .aws_json("application/x-amz-json-1.1")
}
