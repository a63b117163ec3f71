//! The Logs Insights side: one `stats ... by @log` query over up to 50 functions' log groups
//! reads their REPORT lines (memory used, cold starts, INIT, billed duration). A missing log
//! group fails a whole query, so a failing batch is split in halves until the missing groups
//! are found; the others still get their figures.

use std::collections::HashMap;
use std::time::Duration;

use futures::{stream, StreamExt};
use serde::Serialize;

use super::{ByFunction, ConfigSummary, Section, Status};
use crate::platform::cloudwatch::MetricWindow;
use crate::platform::logs::{
    log_group_of, run_query, LogsApi, QueryError, ReportFields, Row, JSON_REPORT,
    MAX_LOG_GROUPS_PER_QUERY, TEXT_REPORT,
};
use crate::platform::PlatformError;

/// Logs Insights queries in flight at once (accounts have a limit on concurrent queries).
const QUERIES_IN_FLIGHT: usize = 8;
/// What the REPORT lines of the window say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportStats {
    pub reports: f64,
    pub max_memory_used_mb: Option<f64>,
    pub memory_used_p99_mb: Option<f64>,
    pub cold_starts: f64,
    pub init_p50_ms: Option<f64>,
    pub init_p99_ms: Option<f64>,
    pub init_avg_ms: Option<f64>,
    pub billed_avg_ms: Option<f64>,
    /// REPORT lines of invocations killed for running out of memory (`Runtime.OutOfMemory`).
    pub out_of_memory: f64,
}

/// A function's log format (`Text` or `JSON`), which decides the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

impl Format {
    fn of(log_format: &str) -> Format {
        if log_format.eq_ignore_ascii_case("json") {
            Format::Json
        } else {
            Format::Text
        }
    }

    fn fields(self) -> &'static ReportFields {
        match self {
            Format::Text => &TEXT_REPORT,
            Format::Json => &JSON_REPORT,
        }
    }
}

fn query_text(format: Format) -> String {
    let f = format.fields();
    format!(
        "filter {filter} | stats count(*) as reports, max({m}) as mem_max, pct({m}, 99) as mem_p99, \
         count({i}) as cold, pct({i}, 50) as init_p50, pct({i}, 99) as init_p99, \
         avg({i}) as init_avg, avg({b}) as billed_avg, \
         sum(strcontains(@message, \"Runtime.OutOfMemory\")) as oom by @log",
        filter = f.filter,
        m = f.memory,
        i = f.init,
        b = f.billed,
    )
}

/// `@log` is `account-id:log-group`; the function is the group's last part.
fn function_of_log(log: &str) -> Option<&str> {
    log.rsplit_once("/aws/lambda/").map(|(_, f)| f)
}

fn parse_row(row: &Row, format: Format) -> Option<(String, ReportStats)> {
    let get = |name: &str| {
        row.iter()
            .find(|(f, _)| f == name)
            .and_then(|(_, v)| v.parse::<f64>().ok())
    };
    let per_mb = format.fields().bytes_per_mb;
    let log = row.iter().find(|(f, _)| f == "@log")?;
    let stats = ReportStats {
        reports: get("reports").unwrap_or(0.0),
        max_memory_used_mb: get("mem_max").map(|b| b / per_mb),
        memory_used_p99_mb: get("mem_p99").map(|b| b / per_mb),
        cold_starts: get("cold").unwrap_or(0.0),
        init_p50_ms: get("init_p50"),
        init_p99_ms: get("init_p99"),
        init_avg_ms: get("init_avg"),
        billed_avg_ms: get("billed_avg"),
        out_of_memory: get("oom").unwrap_or(0.0),
    };
    Some((function_of_log(&log.1)?.to_string(), stats))
}

/// The section of a function the query covered, from its row (if any).
fn section(config: &ConfigSummary, stats: Option<ReportStats>) -> Section<ReportStats> {
    match stats.filter(|s| s.reports > 0.0) {
        Some(s) => Section::measured(s),
        None if config.reports_suppressed() => Section::missing(
            Status::ReportsSuppressed,
            format!(
                "no REPORT lines: the function's system log level is {} (REPORT is logged at \
                 INFO); set SystemLogLevel to INFO to get memory and cold-start figures",
                config.system_log_level.as_deref().unwrap_or_default()
            ),
        ),
        None => Section::missing(
            Status::NoReports,
            "the log group has no REPORT lines in the window",
        ),
    }
}

/// Functions of one log format queried together.
struct Batch<'a> {
    format: Format,
    functions: Vec<(&'a str, &'a ConfigSummary)>,
}

enum BatchOutcome<'a> {
    Done(Vec<(String, Section<ReportStats>)>),
    /// A log group is missing: try the halves.
    Split(Batch<'a>, Batch<'a>),
}

async fn run_batch<'a, G: LogsApi>(
    api: &G,
    batch: Batch<'a>,
    range: (i64, i64),
    limit: Duration,
) -> (BatchOutcome<'a>, u32) {
    let groups: Vec<String> = batch
        .functions
        .iter()
        .map(|(n, _)| log_group_of(n))
        .collect();
    let query = query_text(batch.format);
    let everyone = |section: &dyn Fn() -> Section<ReportStats>| {
        BatchOutcome::Done(
            batch
                .functions
                .iter()
                .map(|(n, _)| (n.to_string(), section()))
                .collect(),
        )
    };
    match run_query(api, &groups, &query, range, limit).await {
        Ok(out) => {
            let mut rows: HashMap<String, ReportStats> = out
                .rows
                .iter()
                .filter_map(|r| parse_row(r, batch.format))
                .collect();
            let sections = batch
                .functions
                .iter()
                .map(|(n, c)| (n.to_string(), section(c, rows.remove(*n))))
                .collect();
            (BatchOutcome::Done(sections), out.calls)
        }
        Err(QueryError::Platform(PlatformError::NotFound(m))) => {
            if batch.functions.len() == 1 {
                let detail = format!(
                    "no log group {} ({m}): the function has never logged, or its logs go elsewhere",
                    groups[0]
                );
                return (
                    everyone(&|| Section::missing(Status::NoLogGroup, detail.clone())),
                    1,
                );
            }
            let mut left = batch.functions;
            let right = left.split_off(left.len() / 2);
            let half = |functions| Batch {
                format: batch.format,
                functions,
            };
            (BatchOutcome::Split(half(left), half(right)), 1)
        }
        Err(QueryError::Platform(e)) => (everyone(&|| Section::from_platform_error(&e)), 1),
        Err(e @ QueryError::TimedOut(_)) => (
            everyone(&|| Section::missing(Status::TimedOut, e.to_string())),
            1,
        ),
        Err(e) => (
            everyone(&|| Section::missing(Status::Failed, e.to_string())),
            1,
        ),
    }
}

/// REPORT statistics of every function, and the Logs calls it took.
pub async fn measure<G: LogsApi>(
    api: &G,
    functions: &[(&str, &ConfigSummary)],
    window: &MetricWindow,
    limit: Duration,
) -> (ByFunction<ReportStats>, u32) {
    // Insights ranges are whole seconds with both ends included.
    let range = (window.start_ms / 1000, window.end_ms / 1000 - 1);
    let mut pending: Vec<Batch> = Vec::new();
    for format in [Format::Text, Format::Json] {
        let same: Vec<_> = functions
            .iter()
            .filter(|(_, c)| Format::of(&c.log_format) == format)
            .copied()
            .collect();
        pending.extend(same.chunks(MAX_LOG_GROUPS_PER_QUERY).map(|chunk| Batch {
            format,
            functions: chunk.to_vec(),
        }));
    }
    let mut sections = ByFunction::new();
    let mut calls = 0;
    while !pending.is_empty() {
        let outcomes: Vec<_> = stream::iter(std::mem::take(&mut pending))
            .map(|batch| run_batch(api, batch, range, limit))
            .buffer_unordered(QUERIES_IN_FLIGHT)
            .collect()
            .await;
        for (outcome, n) in outcomes {
            calls += n;
            match outcome {
                BatchOutcome::Done(done) => sections.extend(done),
                BatchOutcome::Split(a, b) => pending.extend([a, b]),
            }
        }
    }
    (sections, calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn text_rows_convert_bytes_and_json_rows_stay_in_mb() {
        let r = row(&[
            ("@log", "123456789012:/aws/lambda/api"),
            ("reports", "1000"),
            ("mem_max", "81500000"),
            ("cold", "20"),
            ("init_p99", "312.5"),
        ]);
        let (name, s) = parse_row(&r, Format::Text).unwrap();
        assert_eq!(name, "api");
        assert_eq!(s.max_memory_used_mb, Some(81.5));
        assert_eq!((s.reports, s.cold_starts), (1000.0, 20.0));
        assert_eq!(s.init_p50_ms, None);
        let r = row(&[
            ("@log", "1:/aws/lambda/j"),
            ("reports", "5"),
            ("mem_max", "81.5"),
        ]);
        assert_eq!(
            parse_row(&r, Format::Json).unwrap().1.max_memory_used_mb,
            Some(81.5)
        );
    }

    #[test]
    fn queries_read_the_format_s_fields() {
        assert!(query_text(Format::Text).contains("pct(@maxMemoryUsed, 99)"));
        assert!(query_text(Format::Json).starts_with(r#"filter type = "platform.report""#));
        assert!(query_text(Format::Json).contains("count(record.metrics.initDurationMs)"));
    }

    #[test]
    fn no_reports_says_why() {
        let mut c = ConfigSummary {
            memory_mb: 128,
            timeout_s: 3,
            architecture: "x86_64".into(),
            runtime: None,
            package_type: "Zip".into(),
            log_format: "JSON".into(),
            system_log_level: Some("WARN".into()),
            aliases: vec![],
        };
        assert_eq!(section(&c, None).status, Status::ReportsSuppressed);
        c.system_log_level = Some("INFO".into());
        assert_eq!(section(&c, None).status, Status::NoReports);
    }
}
