//! The Lambda restJson1 routes, as the AWS SDKs send them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use futures::StreamExt;
use serde_json::Value;

use super::aws_error::AwsError;
use super::control::{InvocationType, Lab};
use super::validation::{self, Checks, Member, Shape};

type Params = Query<HashMap<String, String>>;
type Shared = State<Arc<Lab>>;

pub fn routes() -> Router<Arc<Lab>> {
    Router::new()
        .route(
            "/2015-03-31/functions",
            get(list_functions).post(super::create_api::create_function),
        )
        .route("/2015-03-31/functions/", get(list_functions))
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route("/2015-03-31/functions/{name}/code", put(update_code))
        .route(
            "/2015-03-31/functions/{name}/versions",
            post(publish_version).get(list_versions),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases",
            post(create_alias).get(list_aliases),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        )
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/2017-03-31/tags/{arn}", get(list_tags))
        .route("/2016-08-19/account-settings", get(account_settings))
        .route("/2016-08-19/account-settings/", get(account_settings))
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_concurrency),
        )
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_concurrency).delete(delete_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/provisioned-concurrency",
            get(get_provisioned)
                .put(put_provisioned)
                .delete(delete_provisioned),
        )
        .layer(axum::middleware::map_response(with_request_id))
}

/// Lambda answers every request, errors included, with an `x-amzn-RequestId` (the SDKs show it
/// as the request id); Invoke already set the invocation's own.
async fn with_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("x-amzn-requestid") {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
    }
    response
}

pub(crate) fn json_ok(status: StatusCode, value: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

pub(crate) fn respond(result: Result<Value, AwsError>, status: StatusCode) -> Response {
    match result {
        Ok(v) => json_ok(status, v),
        Err(e) => e.rest_json(),
    }
}

/// Synchronous Invoke payloads: 6 MB (6291456 bytes, as Lambda's 413 says).
const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// Asynchronous (Event) Invoke payloads: 1 MB since October 2025 (256 KB before).
const MAX_ASYNC_PAYLOAD_BYTES: usize = 1024 * 1024;
/// UpdateFunctionCode: a 50 MB zip, base64-encoded in the JSON body (Lambda's figure).
pub(crate) const MAX_CODE_REQUEST_BYTES: usize = 69_905_067;
/// Lambda documents no limit for the other operations, whose bodies are small; the lab takes
/// Invoke's.
const MAX_CONTROL_REQUEST_BYTES: usize = MAX_SYNC_PAYLOAD_BYTES;

/// Lambda's 413: `RequestEntityTooLargeException` on the wire (the model's
/// `RequestTooLargeException` is not what Lambda sends; aws/aws-sdk#45).
fn too_large(message: String) -> AwsError {
    AwsError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
        message,
    )
}

/// Reads a request body of at most `limit` bytes; a longer one is Lambda's 413 for
/// `operation`.
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    operation: &str,
) -> Result<Bytes, AwsError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| validation::serialization(format!("Cannot read the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large(format!(
                "Request must be smaller than {limit} bytes for the {operation} operation"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// The function name in the path and the optional qualifier in the query, checked.
fn checked_name(name: &str, shape: &Shape, qualifier: Option<&str>) -> Result<(), AwsError> {
    Checks::new()
        .param("functionName", name, shape)
        .optional("qualifier", qualifier, &validation::QUALIFIER)
        .finish()
}

/// A JSON body read within `limit`, checked with the function name against `members`.
async fn checked_body(
    body: Body,
    limit: usize,
    operation: &str,
    name: &str,
    members: &'static [Member],
) -> Result<Value, AwsError> {
    let raw = read_body(body, limit, operation).await?;
    let mut checks = Checks::new();
    checks.param("functionName", name, &validation::FUNCTION_NAME);
    let body = checks.body(&raw, members)?;
    checks.finish()?;
    Ok(body)
}

/// Runs `op` on the function named in the path, after the error5xx fault had its chance.
pub(crate) fn on_function(
    lab: &Lab,
    raw_name: &str,
    qualifier: Option<&str>,
    op: impl FnOnce(&str, Option<&str>) -> Result<Value, AwsError>,
) -> Result<Value, AwsError> {
    lab.maybe_service_error()?;
    let (name, qualifier) = lab.parse_name(raw_name, qualifier)?;
    op(&name, qualifier.as_deref())
}

async fn list_functions(State(lab): Shared, Query(q): Params) -> Response {
    let result = (|| {
        let mut checks = Checks::new();
        let all = q.get("FunctionVersion").map(String::as_str);
        checks.optional("functionVersion", all, &validation::ALL_VERSIONS);
        let max_items = checks.max_items(q.get("MaxItems").map(String::as_str))?;
        checks.finish()?;
        lab.maybe_service_error()?;
        lab.list_functions(
            all.is_some(),
            q.get("Marker").map(String::as_str),
            max_items,
        )
    })();
    respond(result, StatusCode::OK)
}

async fn get_function(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let qualifier = q.get("Qualifier").map(String::as_str);
    let base = super::create_api::own_address(&headers);
    let result = checked_name(&name, &validation::NAMESPACED_FUNCTION_NAME, qualifier)
        .and_then(|_| on_function(&lab, &name, qualifier, |n, q| lab.get_function(n, q, &base)));
    respond(result, StatusCode::OK)
}

async fn delete_function(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let qualifier = q.get("Qualifier").map(String::as_str);
    let result =
        checked_name(&name, &validation::NAMESPACED_FUNCTION_NAME, qualifier).and_then(|_| {
            on_function(&lab, &name, qualifier, |n, q| {
                lab.delete_function(n, q).map(|_| Value::Null)
            })
        });
    match result {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

async fn get_configuration(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let qualifier = q.get("Qualifier").map(String::as_str);
    let result =
        checked_name(&name, &validation::NAMESPACED_FUNCTION_NAME, qualifier).and_then(|_| {
            on_function(&lab, &name, qualifier, |n, q| {
                lab.get_function_configuration(n, q)
            })
        });
    respond(result, StatusCode::OK)
}

async fn update_configuration(
    State(lab): Shared,
    Path(name): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "UpdateFunctionConfiguration",
            &name,
            validation::UPDATE_FUNCTION_CONFIGURATION,
        )
        .await?;
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.update_function_configuration(n, &body)
        })
    };
    respond(result.await, StatusCode::OK)
}

async fn update_code(State(lab): Shared, Path(name): Path<String>, body: Body) -> Response {
    let result = async {
        let body = checked_body(
            body,
            MAX_CODE_REQUEST_BYTES,
            "UpdateFunctionCode",
            &name,
            validation::UPDATE_FUNCTION_CODE,
        )
        .await?;
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.update_function_code(n, &body)
        })
    };
    respond(result.await, StatusCode::OK)
}

fn reject_qualifier(q: Option<&str>) -> Result<(), AwsError> {
    match q {
        None => Ok(()),
        Some(_) => Err(AwsError::invalid(
            "This operation does not accept a qualified function name.",
        )),
    }
}

async fn publish_version(State(lab): Shared, Path(name): Path<String>, body: Body) -> Response {
    let result = async {
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "PublishVersion",
            &name,
            validation::PUBLISH_VERSION,
        )
        .await?;
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.publish_version(n, &body)
        })
    };
    respond(result.await, StatusCode::CREATED)
}

async fn list_versions(State(lab): Shared, Path(name): Path<String>, Query(q): Params) -> Response {
    let result = (|| {
        let mut checks = Checks::new();
        checks.param("functionName", &name, &validation::NAMESPACED_FUNCTION_NAME);
        let max_items = checks.max_items(q.get("MaxItems").map(String::as_str))?;
        checks.finish()?;
        on_function(&lab, &name, None, |n, _| {
            lab.list_versions(n, q.get("Marker").map(String::as_str), max_items)
        })
    })();
    respond(result, StatusCode::OK)
}

async fn create_alias(State(lab): Shared, Path(name): Path<String>, body: Body) -> Response {
    let result = async {
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "CreateAlias",
            &name,
            validation::CREATE_ALIAS,
        )
        .await?;
        on_function(&lab, &name, None, |n, _| lab.create_alias(n, &body))
    };
    respond(result.await, StatusCode::CREATED)
}

async fn list_aliases(State(lab): Shared, Path(name): Path<String>, Query(q): Params) -> Response {
    let result = (|| {
        let mut checks = Checks::new();
        let version = q.get("FunctionVersion").map(String::as_str);
        checks
            .param("functionName", &name, &validation::FUNCTION_NAME)
            .optional("functionVersion", version, &validation::FUNCTION_VERSION);
        let max_items = checks.max_items(q.get("MaxItems").map(String::as_str))?;
        checks.finish()?;
        on_function(&lab, &name, None, |n, _| {
            lab.list_aliases(n, version, q.get("Marker").map(String::as_str), max_items)
        })
    })();
    respond(result, StatusCode::OK)
}

/// The function name and alias name in the path, checked.
fn checked_alias(name: &str, alias: &str) -> Result<(), AwsError> {
    Checks::new()
        .param("functionName", name, &validation::FUNCTION_NAME)
        .param("name", alias, &validation::ALIAS_NAME)
        .finish()
}

async fn get_alias(State(lab): Shared, Path((name, alias)): Path<(String, String)>) -> Response {
    let result = checked_alias(&name, &alias)
        .and_then(|_| on_function(&lab, &name, None, |n, _| lab.get_alias(n, &alias)));
    respond(result, StatusCode::OK)
}

async fn update_alias(
    State(lab): Shared,
    Path((name, alias)): Path<(String, String)>,
    body: Body,
) -> Response {
    let result = async {
        checked_alias(&name, &alias)?;
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "UpdateAlias",
            &name,
            validation::UPDATE_ALIAS,
        )
        .await?;
        on_function(&lab, &name, None, |n, _| lab.update_alias(n, &alias, &body))
    };
    respond(result.await, StatusCode::OK)
}

async fn delete_alias(State(lab): Shared, Path((name, alias)): Path<(String, String)>) -> Response {
    let result = checked_alias(&name, &alias).and_then(|_| {
        on_function(&lab, &name, None, |n, _| {
            lab.delete_alias(n, &alias).map(|_| Value::Null)
        })
    });
    match result {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

async fn list_tags(State(lab): Shared, Path(arn): Path<String>) -> Response {
    let result = Checks::new()
        .param("resource", &arn, &validation::TAGGABLE_RESOURCE)
        .finish()
        .and_then(|_| lab.maybe_service_error())
        .and_then(|_| lab.list_tags(&arn));
    respond(result, StatusCode::OK)
}

async fn account_settings(State(lab): Shared) -> Response {
    let result = lab.maybe_service_error().map(|_| lab.account_settings());
    respond(result, StatusCode::OK)
}

async fn get_concurrency(State(lab): Shared, Path(name): Path<String>) -> Response {
    let result = checked_name(&name, &validation::FUNCTION_NAME, None)
        .and_then(|_| on_function(&lab, &name, None, |n, _| lab.get_function_concurrency(n)));
    respond(result, StatusCode::OK)
}

async fn put_concurrency(State(lab): Shared, Path(name): Path<String>, body: Body) -> Response {
    let result = async {
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "PutFunctionConcurrency",
            &name,
            validation::PUT_FUNCTION_CONCURRENCY,
        )
        .await?;
        // Checked above: present, a 32-bit integer of at least 0.
        let reserved = body["ReservedConcurrentExecutions"]
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| {
                AwsError::invalid("ReservedConcurrentExecutions must be a number >= 0")
            })?;
        on_function(&lab, &name, None, |n, _| {
            lab.put_function_concurrency(n, Some(reserved))
        })
    };
    respond(result.await, StatusCode::OK)
}

async fn delete_concurrency(State(lab): Shared, Path(name): Path<String>) -> Response {
    let result = checked_name(&name, &validation::FUNCTION_NAME, None).and_then(|_| {
        on_function(&lab, &name, None, |n, _| {
            lab.put_function_concurrency(n, None)
        })
    });
    match result {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

/// The function name in the path and the qualifier the operation requires, checked.
fn checked_provisioned(name: &str, qualifier: Option<&str>) -> Result<String, AwsError> {
    Checks::new()
        .param("functionName", name, &validation::FUNCTION_NAME)
        .required("qualifier", qualifier, &validation::QUALIFIER)
        .finish()?;
    Ok(qualifier.unwrap_or_default().to_string())
}

/// GetProvisionedConcurrencyConfig, or ListProvisionedConcurrencyConfigs with `List=ALL`:
/// Lambda serves both on one path and method.
async fn get_provisioned(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let result = if q.contains_key("List") {
        (|| {
            let mut checks = Checks::new();
            checks.param("functionName", &name, &validation::FUNCTION_NAME);
            let max_items = checks.max_items(q.get("MaxItems").map(String::as_str))?;
            checks.finish()?;
            on_function(&lab, &name, None, |n, _| {
                lab.list_provisioned_concurrency(n, q.get("Marker").map(String::as_str), max_items)
            })
        })()
    } else {
        checked_provisioned(&name, q.get("Qualifier").map(String::as_str)).and_then(|qualifier| {
            on_function(&lab, &name, Some(&qualifier), |n, q| {
                lab.get_provisioned_concurrency(n, q.unwrap_or(&qualifier))
            })
        })
    };
    respond(result, StatusCode::OK)
}

async fn put_provisioned(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
    body: Body,
) -> Response {
    let result = async {
        let qualifier = checked_provisioned(&name, q.get("Qualifier").map(String::as_str))?;
        let body = checked_body(
            body,
            MAX_CONTROL_REQUEST_BYTES,
            "PutProvisionedConcurrencyConfig",
            &name,
            validation::PUT_PROVISIONED_CONCURRENCY_CONFIG,
        )
        .await?;
        // Checked above: present, a 32-bit integer of at least 1.
        let requested = body["ProvisionedConcurrentExecutions"]
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| {
                AwsError::invalid("ProvisionedConcurrentExecutions must be a number >= 1")
            })?;
        on_function(&lab, &name, Some(&qualifier), |n, q| {
            lab.put_provisioned_concurrency(n, q.unwrap_or(&qualifier), requested)
        })
    };
    respond(result.await, StatusCode::ACCEPTED)
}

async fn delete_provisioned(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let result =
        checked_provisioned(&name, q.get("Qualifier").map(String::as_str)).and_then(|qualifier| {
            on_function(&lab, &name, Some(&qualifier), |n, q| {
                lab.delete_provisioned_concurrency(n, q.unwrap_or(&qualifier))
                    .map(|_| Value::Null)
            })
        });
    match result {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

async fn invoke(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match invoke_inner(&lab, &name, &q, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.rest_json(),
    }
}

async fn invoke_inner(
    lab: &Arc<Lab>,
    raw_name: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, AwsError> {
    let body = read_body(body, MAX_SYNC_PAYLOAD_BYTES, "InvokeFunction").await?;
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let qualifier = q.get("Qualifier").map(String::as_str);
    Checks::new()
        .param(
            "functionName",
            raw_name,
            &validation::NAMESPACED_FUNCTION_NAME,
        )
        .optional("qualifier", qualifier, &validation::QUALIFIER)
        .optional(
            "invocationType",
            header("x-amz-invocation-type"),
            &validation::INVOCATION_TYPE,
        )
        .optional("logType", header("x-amz-log-type"), &validation::LOG_TYPE)
        .finish()?;
    let kind = match header("x-amz-invocation-type") {
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        _ => InvocationType::RequestResponse,
    };
    let tail = header("x-amz-log-type") == Some("Tail");
    if kind == InvocationType::Event && body.len() > MAX_ASYNC_PAYLOAD_BYTES {
        return Err(too_large(format!(
            "{} byte payload is too large for the Event invocation type (limit {MAX_ASYNC_PAYLOAD_BYTES} bytes)",
            body.len()
        )));
    }
    lab.maybe_service_error()?;
    if !body.is_empty() {
        serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(|e| {
            AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            )
        })?;
    }
    let (name, qualifier) = lab.parse_name(raw_name, qualifier)?;
    let qualifier = qualifier.as_deref();
    match kind {
        InvocationType::DryRun => {
            let version = lab.check_invocable(&name, qualifier)?;
            let mut r = StatusCode::NO_CONTENT.into_response();
            set_header(&mut r, "x-amz-executed-version", &version);
            Ok(r)
        }
        InvocationType::Event => {
            let mut reservation = lab.reserve_request(&name, qualifier, &body)?;
            let version = reservation.version().to_string();
            let lab = lab.clone();
            tokio::spawn(async move {
                lab.run(&mut reservation).await;
                lab.finish(reservation, false);
            });
            let mut r = StatusCode::ACCEPTED.into_response();
            set_header(&mut r, "x-amz-executed-version", &version);
            Ok(r)
        }
        InvocationType::RequestResponse => {
            let result = lab.invoke(&name, qualifier, &body, tail).await?;
            let mut r = (
                StatusCode::from_u16(result.status).unwrap_or(StatusCode::OK),
                [("content-type", "application/json")],
                result.payload,
            )
                .into_response();
            set_header(&mut r, "x-amz-executed-version", &result.executed_version);
            set_header(&mut r, "x-amzn-requestid", &result.request_id);
            if result.function_error {
                set_header(&mut r, "x-amz-function-error", "Unhandled");
            }
            if let Some(log) = result.log_result {
                set_header(&mut r, "x-amz-log-result", &log);
            }
            Ok(r)
        }
    }
}

fn set_header(r: &mut Response, key: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(key, v);
    }
}
