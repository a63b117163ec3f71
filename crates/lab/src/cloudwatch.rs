//! CloudWatch GetMetricData over Smithy RPC v2 CBOR (the Rust SDK, and boto3 since it adopted
//! that protocol) and awsJson1_0 (older boto3, other SDKs).
//!
//! Both protocols carry the same shapes: a request is decoded into a JSON value (CBOR epoch
//! timestamps, tag 1, become numbers) and read into [`metric_data::Request`]; the answer is
//! built once as a [`Doc`] and written as CBOR (timestamps tagged, values as floats) or JSON.
//! CloudWatch is `awsQueryCompatible`: errors also carry `x-amzn-query-error: Code;Sender`,
//! from which both SDKs take the error code.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ciborium::value::Value as Cbor;
use serde::Deserialize;
use serde_json::Value as Json;

use super::aws_error::AwsError;
use super::metric_data::{self, MetricDataError, Page, Request, ScanBy};
use super::Lab;

const JSON_1_0: &str = "application/x-amz-json-1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Cbor,
    Json,
}

pub async fn rpc_v2_cbor(
    State(lab): State<Arc<Lab>>,
    Path(operation): Path<String>,
    body: Bytes,
) -> Response {
    let request = decode_cbor(&body);
    serve(&lab, &operation, request, Protocol::Cbor)
}

pub fn aws_json_1_0(lab: &Lab, operation: &str, body: &[u8]) -> Response {
    let request = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| format!("the request body is not JSON: {e}"));
    serve(lab, operation, request, Protocol::Json)
}

fn serve(
    lab: &Lab,
    operation: &str,
    request: Result<Json, String>,
    protocol: Protocol,
) -> Response {
    if operation != "GetMetricData" {
        let e = AwsError::new(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("the lab's CloudWatch serves GetMetricData only, not {operation}"),
        );
        return error_response(e, None, protocol);
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    let result = request
        .map_err(MetricDataError::Validation)
        .and_then(|json| parse_request(json).map_err(MetricDataError::Validation))
        .and_then(|req| metric_data::get_metric_data(&lab.telemetry, &req, now_ms));
    match result {
        Ok(page) => ok_response(page_doc(page), protocol),
        Err(e) => {
            let (code, query_code, message) = match e {
                MetricDataError::Validation(m) => ("ValidationError", "ValidationError", m),
                MetricDataError::InvalidParameter(m) => {
                    ("InvalidParameterValueException", "InvalidParameterValue", m)
                }
                MetricDataError::InvalidNextToken(m) => ("InvalidNextToken", "InvalidNextToken", m),
            };
            let e = AwsError::new(StatusCode::BAD_REQUEST, code, message);
            error_response(e, Some(query_code), protocol)
        }
    }
}

fn error_response(e: AwsError, query_code: Option<&str>, protocol: Protocol) -> Response {
    let mut response = match protocol {
        Protocol::Cbor => e.cbor(),
        Protocol::Json => e.aws_json(JSON_1_0),
    };
    let code = query_code.unwrap_or(e.code);
    if let Ok(v) = HeaderValue::from_str(&format!("{code};Sender")) {
        response.headers_mut().insert("x-amzn-query-error", v);
    }
    add_request_id(&mut response);
    response
}

fn add_request_id(response: &mut Response) {
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
}

fn ok_response(doc: Doc, protocol: Protocol) -> Response {
    let mut response = match protocol {
        Protocol::Cbor => (
            StatusCode::OK,
            [
                ("content-type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
            ],
            doc.to_cbor_bytes(),
        )
            .into_response(),
        Protocol::Json => (
            StatusCode::OK,
            [("content-type", JSON_1_0)],
            doc.to_json().to_string(),
        )
            .into_response(),
    };
    add_request_id(&mut response);
    response
}

// ---- decoding ------------------------------------------------------------------------------

fn decode_cbor(body: &[u8]) -> Result<Json, String> {
    if body.is_empty() {
        return Ok(Json::Object(Default::default()));
    }
    let value: Cbor =
        ciborium::from_reader(body).map_err(|e| format!("the request body is not CBOR: {e}"))?;
    cbor_to_json(value)
}

/// CBOR as JSON: epoch-second timestamps (tag 1) become numbers, blobs base64 text.
pub fn cbor_to_json(value: Cbor) -> Result<Json, String> {
    use base64::Engine;
    Ok(match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(b),
        Cbor::Integer(i) => {
            let i = i128::from(i);
            i64::try_from(i)
                .map(Json::from)
                .map_err(|_| format!("the integer {i} is out of range"))?
        }
        Cbor::Float(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or("NaN or infinite numbers are not valid here")?,
        Cbor::Text(s) => Json::String(s),
        Cbor::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Cbor::Array(items) => Json::Array(
            items
                .into_iter()
                .map(cbor_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Cbor::Map(pairs) => {
            let mut map = serde_json::Map::new();
            for (k, v) in pairs {
                let Cbor::Text(k) = k else {
                    return Err("map keys must be text".into());
                };
                map.insert(k, cbor_to_json(v)?);
            }
            Json::Object(map)
        }
        Cbor::Tag(1, inner) => cbor_to_json(*inner)?,
        Cbor::Tag(tag, _) => return Err(format!("unexpected CBOR tag {tag}")),
        _ => return Err("unexpected CBOR value".into()),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireRequest {
    metric_data_queries: Option<Vec<WireQuery>>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    next_token: Option<String>,
    scan_by: Option<String>,
    max_datapoints: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireQuery {
    id: String,
    metric_stat: Option<WireMetricStat>,
    expression: Option<String>,
    label: Option<String>,
    return_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireMetricStat {
    metric: WireMetric,
    period: i64,
    stat: String,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireMetric {
    namespace: Option<String>,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<WireDimension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireDimension {
    name: String,
    value: String,
}

fn parse_request(json: Json) -> Result<Request, String> {
    let wire: WireRequest =
        serde_json::from_value(json).map_err(|e| format!("1 validation error detected: {e}"))?;
    let missing = |name: &str| format!("The parameter {name} is required.");
    let start = wire.start_time.ok_or_else(|| missing("StartTime"))?;
    let end = wire.end_time.ok_or_else(|| missing("EndTime"))?;
    let scan_by = match wire.scan_by.as_deref() {
        None | Some("TimestampDescending") => ScanBy::TimestampDescending,
        Some("TimestampAscending") => ScanBy::TimestampAscending,
        Some(other) => {
            return Err(format!(
                "1 validation error detected: Value '{other}' at 'scanBy' failed to satisfy \
                 constraint: Member must satisfy enum value set: [TimestampDescending, \
                 TimestampAscending]"
            ))
        }
    };
    let queries = wire
        .metric_data_queries
        .ok_or_else(|| missing("MetricDataQueries"))?
        .into_iter()
        .map(|q| metric_data::Query {
            id: q.id,
            label: q.label,
            return_data: q.return_data.unwrap_or(true),
            expression: q.expression,
            metric_stat: q.metric_stat.map(|s| metric_data::MetricStat {
                namespace: s.metric.namespace.unwrap_or_default(),
                metric_name: s.metric.metric_name.unwrap_or_default(),
                dimensions: s
                    .metric
                    .dimensions
                    .into_iter()
                    .map(|d| (d.name, d.value))
                    .collect(),
                period_s: s.period,
                stat: s.stat,
                unit: s.unit,
            }),
        })
        .collect();
    Ok(Request {
        queries,
        start_ms: (start * 1000.0).round() as i64,
        end_ms: (end * 1000.0).round() as i64,
        next_token: wire.next_token,
        scan_by,
        max_datapoints: wire.max_datapoints,
    })
}

// ---- encoding ------------------------------------------------------------------------------

/// A response document, written as CBOR or JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Text(String),
    Float(f64),
    /// Epoch seconds.
    Time(i64),
    List(Vec<Doc>),
    Map(Vec<(&'static str, Doc)>),
}

impl Doc {
    pub fn to_cbor(&self) -> Cbor {
        match self {
            Doc::Text(s) => Cbor::Text(s.clone()),
            Doc::Float(f) => Cbor::Float(*f),
            Doc::Time(t) => Cbor::Tag(1, Box::new(Cbor::Integer((*t).into()))),
            Doc::List(items) => Cbor::Array(items.iter().map(Doc::to_cbor).collect()),
            Doc::Map(pairs) => Cbor::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (Cbor::Text((*k).into()), v.to_cbor()))
                    .collect(),
            ),
        }
    }

    pub fn to_cbor_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        ciborium::into_writer(&self.to_cbor(), &mut bytes)
            .expect("writing CBOR to a Vec cannot fail");
        bytes
    }

    pub fn to_json(&self) -> Json {
        match self {
            Doc::Text(s) => Json::String(s.clone()),
            Doc::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Doc::Time(t) => Json::from(*t),
            Doc::List(items) => Json::Array(items.iter().map(Doc::to_json).collect()),
            Doc::Map(pairs) => Json::Object(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn page_doc(page: Page) -> Doc {
    let results = page
        .results
        .into_iter()
        .map(|r| {
            Doc::Map(vec![
                ("Id", Doc::Text(r.id)),
                ("Label", Doc::Text(r.label)),
                (
                    "Timestamps",
                    Doc::List(r.timestamps.into_iter().map(Doc::Time).collect()),
                ),
                (
                    "Values",
                    Doc::List(r.values.into_iter().map(Doc::Float).collect()),
                ),
                ("StatusCode", Doc::Text(r.status_code.into())),
            ])
        })
        .collect();
    let mut pairs = vec![
        ("MetricDataResults", Doc::List(results)),
        ("Messages", Doc::List(Vec::new())),
    ];
    if let Some(token) = page.next_token {
        pairs.push(("NextToken", Doc::Text(token)));
    }
    Doc::Map(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cbor_floats_and_timestamps_tag_1() {
        let doc = Doc::Map(vec![
            ("Values", Doc::List(vec![Doc::Float(3.0)])),
            ("Timestamps", Doc::List(vec![Doc::Time(1_700_000_000)])),
        ]);
        let bytes = doc.to_cbor_bytes();
        let back: Cbor = ciborium::from_reader(bytes.as_slice()).unwrap();
        let Cbor::Map(pairs) = back else {
            panic!("not a map")
        };
        assert_eq!(pairs[0].1, Cbor::Array(vec![Cbor::Float(3.0)]));
        assert_eq!(
            pairs[1].1,
            Cbor::Array(vec![Cbor::Tag(
                1,
                Box::new(Cbor::Integer(1_700_000_000.into()))
            )])
        );
        // 3.0 is written as a float (major type 7, here half precision), never the integer 3.
        let list = Doc::List(vec![Doc::Float(3.0)]).to_cbor_bytes();
        assert_eq!(list, [0x81, 0xf9, 0x42, 0x00]);
    }

    #[test]
    fn a_cbor_request_with_float_timestamps_decodes() {
        let request = Cbor::Map(vec![
            (
                Cbor::Text("StartTime".into()),
                Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000.5))),
            ),
            (
                Cbor::Text("EndTime".into()),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_700_003_600.into()))),
            ),
            (
                Cbor::Text("MetricDataQueries".into()),
                Cbor::Array(vec![Cbor::Map(vec![
                    (Cbor::Text("Id".into()), Cbor::Text("m1".into())),
                    (Cbor::Text("Expression".into()), Cbor::Text("SUM(x)".into())),
                ])]),
            ),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&request, &mut bytes).unwrap();
        let req = parse_request(decode_cbor(&bytes).unwrap()).unwrap();
        assert_eq!(req.start_ms, 1_700_000_000_500);
        assert_eq!(req.end_ms, 1_700_003_600_000);
        assert_eq!(req.queries[0].expression.as_deref(), Some("SUM(x)"));
        assert_eq!(req.scan_by, ScanBy::TimestampDescending);
    }

    #[test]
    fn json_documents_write_timestamps_as_epoch_seconds() {
        let doc = Doc::Map(vec![("Timestamps", Doc::List(vec![Doc::Time(60)]))]);
        assert_eq!(doc.to_json().to_string(), r#"{"Timestamps":[60]}"#);
    }
}
