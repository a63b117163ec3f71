//! Error responses in the shapes each AWS protocol uses, so SDKs map them to the right
//! typed errors.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An AWS service error: its code (`ResourceNotFoundException`), HTTP status and message.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra JSON fields of the error body (Lambda's `Reason` on throttles, for instance).
    pub extra: Vec<(&'static str, String)>,
    /// Seconds for a `Retry-After` header.
    pub retry_after_s: Option<u32>,
}

impl AwsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            retry_after_s: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    pub fn invalid(message: impl Into<String>) -> AwsError {
        AwsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message,
        )
    }

    pub fn conflict(message: impl Into<String>) -> AwsError {
        AwsError::new(StatusCode::CONFLICT, "ResourceConflictException", message)
    }

    pub fn service(message: impl Into<String>) -> AwsError {
        AwsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            message,
        )
    }

    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> AwsError {
        self.extra.push((key, value.into()));
        self
    }

    /// Lambda's restJson1 error: `x-amzn-ErrorType` header and `{"Type","message"}` body.
    pub fn rest_json(&self) -> Response {
        let mut body = serde_json::Map::new();
        let kind = if self.status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        body.insert("Type".into(), kind.into());
        body.insert("message".into(), self.message.clone().into());
        for (k, v) in &self.extra {
            body.insert((*k).into(), v.clone().into());
        }
        let mut response = (
            self.status,
            [("content-type", "application/json")],
            serde_json::Value::Object(body).to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        if let Some(s) = self.retry_after_s {
            headers.insert("retry-after", HeaderValue::from(s));
        }
        response
    }

    /// awsJson1_0 / awsJson1_1 error: `{"__type","message"}`.
    pub fn aws_json(&self, content_type: &'static str) -> Response {
        let body = serde_json::json!({ "__type": self.code, "message": self.message });
        let mut response = (
            self.status,
            [("content-type", content_type)],
            body.to_string(),
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
    }

    /// Smithy RPC v2 CBOR error: a CBOR map `{"__type","message"}`.
    pub fn cbor(&self) -> Response {
        use ciborium::value::Value;
        let body = Value::Map(vec![
            (Value::Text("__type".into()), Value::Text(self.code.into())),
            (
                Value::Text("message".into()),
                Value::Text(self.message.clone()),
            ),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&body, &mut bytes).expect("writing CBOR to a Vec cannot fail");
        (
            self.status,
            [
                ("content-type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
            ],
            bytes,
        )
            .into_response()
    }
}
