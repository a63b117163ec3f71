//! CloudWatch Logs (awsJson1_1): FilterLogEvents, StartQuery, GetQueryResults and StopQuery
//! over the log groups of the lab's functions.
//!
//! A log group holds the lab's own log events plus REPORT lines of the backfilled production
//! traffic, which FilterLogEvents synthesizes a minute at a time and pages through with a
//! token that records where it stopped. Like the real service, a page may come back short (even
//! empty) with a token when the scan budget of one call runs out.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::aws_error::AwsError;
use super::backfill::{hash_of, Production, MINUTE_MS};
use super::filter_pattern::FilterPattern;
use super::logs_insights::{self, Event, GroupData};
use super::telemetry::Telemetry;
use super::Lab;

const JSON_1_1: &str = "application/x-amz-json-1.1";
const MAX_EVENTS: usize = 10_000;
/// Events one FilterLogEvents call examines before it returns what it has and a token.
const SCAN_BUDGET: u64 = 100_000;
/// Milliseconds between an event and its ingestion.
const INGESTION_DELAY_MS: i64 = 150;

pub async fn aws_json_1_1(lab: &Lab, operation: &str, body: &[u8]) -> Response {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let result = serde_json::from_slice::<Value>(body)
        .map_err(|e| invalid(format!("The request body is not JSON: {e}")))
        .and_then(|json| match operation {
            "FilterLogEvents" => filter_log_events(lab, json),
            "StartQuery" => start_query(lab, json),
            "GetQueryResults" => get_query_results(&lab.telemetry, json),
            "StopQuery" => stop_query(&lab.telemetry, json),
            "DeleteLogGroup" => delete_log_group(&lab.telemetry, json),
            _ => Err(AwsError::new(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                format!(
                    "the lab's CloudWatch Logs serves FilterLogEvents, StartQuery, \
                     GetQueryResults, StopQuery and DeleteLogGroup, not {operation}"
                ),
            )),
        });
    let mut response = match result {
        Ok(doc) => (
            StatusCode::OK,
            [("content-type", JSON_1_1)],
            doc.to_string(),
        )
            .into_response(),
        Err(e) => e.aws_json(JSON_1_1),
    };
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// DeleteLogGroup: `{}` on success; ResourceNotFoundException when there is no such group.
fn delete_log_group(telemetry: &Telemetry, json: Value) -> Result<Value, AwsError> {
    let group = json
        .get("logGroupName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null"))?;
    let function = function_of(telemetry, group)?;
    telemetry.delete_log_group(function);
    Ok(serde_json::json!({}))
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "InvalidParameterException",
        message,
    )
}

fn group_not_found() -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn parse<T: for<'de> Deserialize<'de>>(json: Value) -> Result<T, AwsError> {
    serde_json::from_value(json).map_err(|e| invalid(format!("1 validation error detected: {e}")))
}

/// The function whose log group a name or ARN names, if the group exists.
fn function_of<'a>(telemetry: &Telemetry, group: &'a str) -> Result<&'a str, AwsError> {
    let name = group
        .split_once(":log-group:")
        .map_or(group, |(_, rest)| rest.trim_end_matches(":*"));
    name.strip_prefix("/aws/lambda/")
        .filter(|f| telemetry.has_log_group(f))
        .ok_or_else(group_not_found)
}

/// The lab's own events of a function within [start_ms, end_ms), oldest first.
fn lab_events(telemetry: &Telemetry, function: &str, start_ms: i64, end_ms: i64) -> Vec<Event> {
    let mut events: Vec<Event> = telemetry.with_invocations(function, |records| {
        records
            .iter()
            .filter(|r| r.timestamp_ms >= start_ms && r.timestamp_ms < end_ms)
            .flat_map(|r| {
                r.log_lines.iter().map(|line| Event {
                    timestamp_ms: r.timestamp_ms,
                    log_stream: r.log_stream.clone(),
                    message: line.clone(),
                })
            })
            .collect()
    });
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

fn production<'a>(telemetry: &'a Telemetry, function: &str) -> Option<Production<'a>> {
    telemetry
        .profiles
        .get(function)
        .filter(|p| p.traffic.requests_per_day > 0.0)
        .map(|p| telemetry.backfill().production(p))
}

// ---- FilterLogEvents ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

/// Where a scan stands: a minute of backfill and an index in it, or an index into the lab's
/// own events (which all come after the backfill).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    Backfill { minute: i64, index: usize },
    Lab(usize),
}

struct Scan<'a> {
    production: Option<Production<'a>>,
    lab: Vec<Event>,
    start_ms: i64,
    end_ms: i64,
    streams: StreamFilter,
    pattern: FilterPattern,
}

enum StreamFilter {
    All,
    Names(Vec<String>),
    Prefix(String),
}

impl StreamFilter {
    fn matches(&self, stream: &str) -> bool {
        match self {
            StreamFilter::All => true,
            StreamFilter::Names(names) => names.iter().any(|n| n == stream),
            StreamFilter::Prefix(p) => stream.starts_with(p.as_str()),
        }
    }
}

impl Scan<'_> {
    fn keeps(&self, e: &Event) -> bool {
        e.timestamp_ms >= self.start_ms
            && e.timestamp_ms < self.end_ms
            && self.streams.matches(&e.log_stream)
            && self.pattern.matches(&e.message)
    }

    fn first(&self) -> Cursor {
        match &self.production {
            Some(p) => Cursor::Backfill {
                minute: self.start_ms.max(p.window.start_ms).div_euclid(MINUTE_MS),
                index: 0,
            },
            None => Cursor::Lab(0),
        }
    }

    /// Collects up to `limit` matching events from `cursor`; returns them and where to go on
    /// (None when the scan is complete).
    fn run(&self, mut cursor: Cursor, limit: usize) -> (Vec<(String, Event)>, Option<Cursor>) {
        let mut found = Vec::new();
        let mut scanned = 0u64;
        loop {
            if found.len() >= limit || scanned >= SCAN_BUDGET {
                return (found, Some(cursor));
            }
            match cursor {
                Cursor::Backfill { minute, index } => {
                    let p = self
                        .production
                        .as_ref()
                        .expect("backfill cursors need production");
                    if minute * MINUTE_MS >= self.end_ms.min(p.window.end_ms) {
                        cursor = Cursor::Lab(0);
                        continue;
                    }
                    let reports = p.reports_in_minute(minute);
                    let mut next = Cursor::Backfill {
                        minute: minute + 1,
                        index: 0,
                    };
                    for (i, r) in reports.into_iter().enumerate().skip(index) {
                        scanned += 1;
                        let event = Event {
                            timestamp_ms: r.timestamp_ms,
                            log_stream: r.log_stream,
                            message: r.message,
                        };
                        if self.keeps(&event) {
                            found.push((
                                format!("{:020}{:020}{:016}", event.timestamp_ms, minute, i),
                                event,
                            ));
                            if found.len() >= limit {
                                next = Cursor::Backfill {
                                    minute,
                                    index: i + 1,
                                };
                                break;
                            }
                        }
                    }
                    scanned += 1;
                    cursor = next;
                }
                Cursor::Lab(i) => {
                    let Some(event) = self.lab.get(i) else {
                        return (found, None);
                    };
                    scanned += 1;
                    if self.keeps(event) {
                        found.push((
                            format!("{:020}{:036}", event.timestamp_ms, i),
                            event.clone(),
                        ));
                    }
                    cursor = Cursor::Lab(i + 1);
                }
            }
        }
    }
}

/// Tokens carry the cursor and a fingerprint of the request they continue.
fn encode_token(fingerprint: u64, cursor: Cursor) -> String {
    let text = match cursor {
        Cursor::Backfill { minute, index } => format!("{fingerprint:016x}:b:{minute}:{index}"),
        Cursor::Lab(i) => format!("{fingerprint:016x}:l:{i}"),
    };
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decode_token(fingerprint: u64, token: &str) -> Result<Cursor, AwsError> {
    let bad = || invalid("The specified nextToken is invalid.");
    let text = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let parts: Vec<&str> = text.split(':').collect();
    if parts.first() != Some(&format!("{fingerprint:016x}").as_str()) {
        return Err(bad());
    }
    match parts[1..] {
        ["b", minute, index] => Ok(Cursor::Backfill {
            minute: minute.parse().map_err(|_| bad())?,
            index: index.parse().map_err(|_| bad())?,
        }),
        ["l", i] => Ok(Cursor::Lab(i.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

fn filter_log_events(lab: &Lab, json: Value) -> Result<Value, AwsError> {
    let input: FilterLogEventsInput = parse(json)?;
    let telemetry = &lab.telemetry;
    let group = input
        .log_group_name
        .as_deref()
        .or(input.log_group_identifier.as_deref())
        .ok_or_else(|| invalid("Either logGroupName or logGroupIdentifier is required."))?;
    let function = function_of(telemetry, group)?;
    let streams = match (input.log_stream_names, input.log_stream_name_prefix) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix cannot both be specified.",
            ))
        }
        (Some(names), None) => StreamFilter::Names(names),
        (None, Some(prefix)) => StreamFilter::Prefix(prefix),
        (None, None) => StreamFilter::All,
    };
    let limit = match input.limit {
        None => MAX_EVENTS,
        Some(n) if (1..=MAX_EVENTS as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(invalid(format!(
                "limit {n} is not between 1 and {MAX_EVENTS}."
            )))
        }
    };
    let pattern_text = input.filter_pattern.unwrap_or_default();
    let pattern = FilterPattern::parse(&pattern_text).map_err(invalid)?;
    let start_ms = input.start_time.unwrap_or(0);
    let end_ms = input
        .end_time
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis() + 1);
    let fingerprint = hash_of(
        start_ms as u64,
        &format!("{group}\n{pattern_text}"),
        &[end_ms as u64],
    );
    let scan = Scan {
        production: production(telemetry, function),
        lab: lab_events(telemetry, function, start_ms, end_ms),
        start_ms,
        end_ms,
        streams,
        pattern,
    };
    let cursor = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => decode_token(fingerprint, t)?,
        None => scan.first(),
    };
    let (found, next) = scan.run(cursor, limit);
    let events: Vec<Value> = found
        .into_iter()
        .map(|(id, e)| {
            json!({
                "logStreamName": e.log_stream,
                "timestamp": e.timestamp_ms,
                "message": e.message,
                "ingestionTime": e.timestamp_ms + INGESTION_DELAY_MS,
                "eventId": id,
            })
        })
        .collect();
    let mut doc = json!({ "events": events, "searchedLogStreams": [] });
    if let Some(c) = next {
        doc["nextToken"] = json!(encode_token(fingerprint, c));
    }
    Ok(doc)
}

// ---- Logs Insights ------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartQueryInput {
    query_language: Option<String>,
    log_group_name: Option<String>,
    log_group_names: Option<Vec<String>>,
    log_group_identifiers: Option<Vec<String>>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    query_string: Option<String>,
    limit: Option<i64>,
}

fn start_query(lab: &Lab, json: Value) -> Result<Value, AwsError> {
    let input: StartQueryInput = parse(json)?;
    let telemetry = &lab.telemetry;
    if input.query_language.as_deref().is_some_and(|l| l != "CWLI") {
        return Err(invalid("The lab supports the CWLI query language only."));
    }
    let (Some(start), Some(end), Some(text)) =
        (input.start_time, input.end_time, input.query_string)
    else {
        return Err(invalid("startTime, endTime and queryString are required."));
    };
    if end < start {
        return Err(invalid(
            "endTime must be greater than or equal to startTime.",
        ));
    }
    let limit = match input.limit {
        None => None,
        Some(n) if (1..=logs_insights::MAX_ROWS as i64).contains(&n) => Some(n as usize),
        Some(n) => return Err(invalid(format!("limit {n} is not between 1 and 10000."))),
    };
    let names: Vec<String> = input
        .log_group_name
        .into_iter()
        .chain(input.log_group_names.unwrap_or_default())
        .chain(input.log_group_identifiers.unwrap_or_default())
        .collect();
    if names.is_empty() {
        return Err(invalid(
            "Specify logGroupName, logGroupNames or logGroupIdentifiers.",
        ));
    }
    let query = logs_insights::query::parse(&text).map_err(|e| {
        AwsError::new(
            StatusCode::BAD_REQUEST,
            "MalformedQueryException",
            format!("Query is malformed: {e}"),
        )
    })?;
    // Insights time ranges are whole seconds, both ends included.
    let (start_ms, end_ms) = (start * 1000, (end + 1) * 1000);
    let account = &lab.account.account_id;
    let groups = names
        .iter()
        .map(|name| {
            let function = function_of(telemetry, name)?;
            Ok(GroupData {
                log: format!("{account}:/aws/lambda/{function}"),
                production: production(telemetry, function),
                events: lab_events(telemetry, function, start_ms, end_ms),
            })
        })
        .collect::<Result<Vec<_>, AwsError>>()?;
    let outcome = logs_insights::run(&query, &groups, start_ms, end_ms, limit)
        .map_err(|m| invalid(format!("The lab cannot evaluate this query: {m}")))?;
    let id = uuid::Uuid::new_v4().to_string();
    telemetry.store_query(&id, outcome);
    Ok(json!({ "queryId": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryIdInput {
    query_id: String,
}

fn query_not_found(id: &str) -> AwsError {
    AwsError::new(
        StatusCode::BAD_REQUEST,
        "ResourceNotFoundException",
        format!("The query {id} does not exist."),
    )
}

fn get_query_results(telemetry: &Telemetry, json: Value) -> Result<Value, AwsError> {
    let QueryIdInput { query_id } = parse(json)?;
    let (status, outcome) = telemetry
        .poll_query(&query_id)
        .ok_or_else(|| query_not_found(&query_id))?;
    let results: Vec<Value> = outcome
        .rows
        .iter()
        .map(|row| {
            Value::Array(
                row.iter()
                    .map(|(field, value)| json!({ "field": field, "value": value }))
                    .collect(),
            )
        })
        .collect();
    Ok(json!({
        "results": results,
        "statistics": {
            "recordsMatched": outcome.records_matched.round(),
            "recordsScanned": outcome.records_scanned.round(),
            "bytesScanned": outcome.bytes_scanned.round(),
        },
        "status": status.as_str(),
    }))
}

fn stop_query(telemetry: &Telemetry, json: Value) -> Result<Value, AwsError> {
    let QueryIdInput { query_id } = parse(json)?;
    let stopped = telemetry
        .stop_query(&query_id)
        .ok_or_else(|| query_not_found(&query_id))?;
    Ok(json!({ "success": stopped }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_other_requests() {
        for cursor in [
            Cursor::Backfill {
                minute: 29_000_000,
                index: 17,
            },
            Cursor::Lab(3),
        ] {
            let token = encode_token(42, cursor);
            assert_eq!(decode_token(42, &token), Ok(cursor));
            assert!(decode_token(43, &token).is_err());
        }
        assert!(decode_token(42, "not a token").is_err());
    }
}
