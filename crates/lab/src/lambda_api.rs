//! The Lambda restJson1 routes, as the AWS SDKs send them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::Value;

use super::aws_error::AwsError;
use super::control::{InvocationType, Lab};

type Params = Query<HashMap<String, String>>;
type Shared = State<Arc<Lab>>;

pub fn routes() -> Router<Arc<Lab>> {
    Router::new()
        .route("/2015-03-31/functions", get(list_functions))
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

fn json_ok(status: StatusCode, value: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn respond(result: Result<Value, AwsError>, status: StatusCode) -> Response {
    match result {
        Ok(v) => json_ok(status, v),
        Err(e) => e.rest_json(),
    }
}

fn parse_body(body: &Bytes) -> Result<Value, AwsError> {
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        AwsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        )
    })
}

fn max_items(q: &HashMap<String, String>) -> Result<Option<usize>, AwsError> {
    q.get("MaxItems")
        .map(|m| {
            m.parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    AwsError::invalid(format!(
                        "1 validation error detected: Value '{m}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                    ))
                })
        })
        .transpose()
}

/// Runs `op` on the function named in the path, after the error5xx fault had its chance.
fn on_function(
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
    let result = lab.maybe_service_error().and_then(|_| {
        let all = match q.get("FunctionVersion").map(String::as_str) {
            None => false,
            Some("ALL") => true,
            Some(other) => {
                return Err(AwsError::invalid(format!(
                    "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
                )))
            }
        };
        lab.list_functions(all, q.get("Marker").map(String::as_str), max_items(&q)?)
    });
    respond(result, StatusCode::OK)
}

async fn get_function(State(lab): Shared, Path(name): Path<String>, Query(q): Params) -> Response {
    let qualifier = q.get("Qualifier").map(String::as_str);
    respond(
        on_function(&lab, &name, qualifier, |n, q| lab.get_function(n, q)),
        StatusCode::OK,
    )
}

async fn delete_function(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let qualifier = q.get("Qualifier").map(String::as_str);
    match on_function(&lab, &name, qualifier, |n, q| {
        lab.delete_function(n, q).map(|_| Value::Null)
    }) {
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
    respond(
        on_function(&lab, &name, qualifier, |n, q| {
            lab.get_function_configuration(n, q)
        }),
        StatusCode::OK,
    )
}

async fn update_configuration(
    State(lab): Shared,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let result = parse_body(&body).and_then(|body| {
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.update_function_configuration(n, &body)
        })
    });
    respond(result, StatusCode::OK)
}

async fn update_code(State(lab): Shared, Path(name): Path<String>, body: Bytes) -> Response {
    let result = parse_body(&body).and_then(|body| {
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.update_function_code(n, &body)
        })
    });
    respond(result, StatusCode::OK)
}

fn reject_qualifier(q: Option<&str>) -> Result<(), AwsError> {
    match q {
        None => Ok(()),
        Some(_) => Err(AwsError::invalid(
            "This operation does not accept a qualified function name.",
        )),
    }
}

async fn publish_version(State(lab): Shared, Path(name): Path<String>, body: Bytes) -> Response {
    let result = parse_body(&body).and_then(|body| {
        on_function(&lab, &name, None, |n, q| {
            reject_qualifier(q)?;
            lab.publish_version(n, &body)
        })
    });
    respond(result, StatusCode::CREATED)
}

async fn list_versions(State(lab): Shared, Path(name): Path<String>, Query(q): Params) -> Response {
    let result = on_function(&lab, &name, None, |n, _| {
        lab.list_versions(n, q.get("Marker").map(String::as_str), max_items(&q)?)
    });
    respond(result, StatusCode::OK)
}

async fn create_alias(State(lab): Shared, Path(name): Path<String>, body: Bytes) -> Response {
    let result = parse_body(&body)
        .and_then(|body| on_function(&lab, &name, None, |n, _| lab.create_alias(n, &body)));
    respond(result, StatusCode::CREATED)
}

async fn list_aliases(State(lab): Shared, Path(name): Path<String>, Query(q): Params) -> Response {
    let result = on_function(&lab, &name, None, |n, _| {
        lab.list_aliases(
            n,
            q.get("FunctionVersion").map(String::as_str),
            q.get("Marker").map(String::as_str),
            max_items(&q)?,
        )
    });
    respond(result, StatusCode::OK)
}

async fn get_alias(State(lab): Shared, Path((name, alias)): Path<(String, String)>) -> Response {
    respond(
        on_function(&lab, &name, None, |n, _| lab.get_alias(n, &alias)),
        StatusCode::OK,
    )
}

async fn update_alias(
    State(lab): Shared,
    Path((name, alias)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = parse_body(&body)
        .and_then(|body| on_function(&lab, &name, None, |n, _| lab.update_alias(n, &alias, &body)));
    respond(result, StatusCode::OK)
}

async fn delete_alias(State(lab): Shared, Path((name, alias)): Path<(String, String)>) -> Response {
    match on_function(&lab, &name, None, |n, _| {
        lab.delete_alias(n, &alias).map(|_| Value::Null)
    }) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

async fn list_tags(State(lab): Shared, Path(arn): Path<String>) -> Response {
    let result = lab.maybe_service_error().and_then(|_| lab.list_tags(&arn));
    respond(result, StatusCode::OK)
}

async fn account_settings(State(lab): Shared) -> Response {
    let result = lab.maybe_service_error().map(|_| lab.account_settings());
    respond(result, StatusCode::OK)
}

async fn get_concurrency(State(lab): Shared, Path(name): Path<String>) -> Response {
    respond(
        on_function(&lab, &name, None, |n, _| lab.get_function_concurrency(n)),
        StatusCode::OK,
    )
}

async fn put_concurrency(State(lab): Shared, Path(name): Path<String>, body: Bytes) -> Response {
    let result = parse_body(&body).and_then(|body| {
        let reserved = body
            .get("ReservedConcurrentExecutions")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| {
                AwsError::invalid("ReservedConcurrentExecutions must be a number >= 0")
            })?;
        on_function(&lab, &name, None, |n, _| {
            lab.put_function_concurrency(n, Some(reserved))
        })
    });
    respond(result, StatusCode::OK)
}

async fn delete_concurrency(State(lab): Shared, Path(name): Path<String>) -> Response {
    match on_function(&lab, &name, None, |n, _| {
        lab.put_function_concurrency(n, None)
    }) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.rest_json(),
    }
}

/// Synchronous payloads are limited to 6 MB on Lambda.
const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

async fn invoke(
    State(lab): Shared,
    Path(name): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match invoke_inner(&lab, &name, &q, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.rest_json(),
    }
}

async fn invoke_inner(
    lab: &Arc<Lab>,
    raw_name: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, AwsError> {
    lab.maybe_service_error()?;
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let kind = match header("x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => InvocationType::RequestResponse,
        "Event" => InvocationType::Event,
        "DryRun" => InvocationType::DryRun,
        other => {
            return Err(AwsError::invalid(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )))
        }
    };
    let tail = match header("x-amz-log-type").unwrap_or("None") {
        "None" => false,
        "Tail" => true,
        other => {
            return Err(AwsError::invalid(format!(
                "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
            )))
        }
    };
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(AwsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            format!(
                "Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            ),
        ));
    }
    if !body.is_empty() {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| {
            AwsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            )
        })?;
    }
    let (name, qualifier) = lab.parse_name(raw_name, q.get("Qualifier").map(String::as_str))?;
    let qualifier = qualifier.as_deref();
    match kind {
        InvocationType::DryRun => {
            let version = lab.check_invocable(&name, qualifier)?;
            let mut r = StatusCode::NO_CONTENT.into_response();
            set_header(&mut r, "x-amz-executed-version", &version);
            Ok(r)
        }
        InvocationType::Event => {
            let reservation = lab.reserve(&name, qualifier)?;
            let version = reservation.version().to_string();
            let lab = lab.clone();
            tokio::spawn(async move {
                if !reservation.hold.is_zero() {
                    tokio::time::sleep(reservation.hold).await;
                }
                lab.finish(reservation, false);
            });
            let mut r = StatusCode::ACCEPTED.into_response();
            set_header(&mut r, "x-amz-executed-version", &version);
            Ok(r)
        }
        InvocationType::RequestResponse => {
            let reservation = lab.reserve(&name, qualifier)?;
            if !reservation.hold.is_zero() {
                tokio::time::sleep(reservation.hold).await;
            }
            let result = lab.finish(reservation, tail);
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
