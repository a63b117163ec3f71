//! What production shows of an alias and its versions: the alias's request rate, each
//! version's traffic over a window (CloudWatch, dimensions FunctionName, Resource and
//! ExecutedVersion, 1-minute data), and each version's REPORT lines (Logs Insights, by the
//! version in the log stream's name: `YYYY/MM/DD/[VERSION]id`).

use std::collections::HashMap;
use std::time::Duration;

use super::backoff::VersionTraffic;
use crate::platform::cloudwatch::{MetricQuery, MetricWindow, MetricsApi};
use crate::platform::logs::{log_group_of, report_fields, run_query, LogsApi, QueryError};
use crate::platform::PlatformResult;

const MINUTE_MS: i64 = 60_000;
/// How far back the alias's rate is read.
const RATE_LOOKBACK_MS: i64 = 60 * MINUTE_MS;
/// The most rows a Logs Insights query returns.
const MAX_ROWS: u32 = 10_000;
const QUERY_LIMIT: Duration = Duration::from_secs(120);

/// The metric's Resource dimension of an alias's invocations.
pub fn resource(function: &str, alias: &str) -> String {
    format!("{function}:{alias}")
}

/// [start, end) widened to whole minutes, as ONE period: every statistic covers all of it.
pub fn window(start_ms: i64, end_ms: i64) -> MetricWindow {
    let start_ms = start_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let end_ms = (end_ms.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
    MetricWindow {
        start_ms,
        end_ms,
        period_s: ((end_ms - start_ms) / 1000) as i32,
    }
}

/// The alias's requests per second over the last hour.
pub async fn alias_rate<M: MetricsApi>(
    metrics: &M,
    function: &str,
    alias: &str,
    now_ms: i64,
) -> PlatformResult<f64> {
    let w = window(now_ms - RATE_LOOKBACK_MS, now_ms);
    let resource = resource(function, alias);
    let dims = [("FunctionName", function), ("Resource", resource.as_str())];
    let query = MetricQuery::new("r", "Invocations", "Sum", &dims);
    let values = fetch(metrics, &[query], &w).await?;
    let invocations: f64 = values.get("r").map_or(0.0, |v| v.iter().sum());
    Ok(invocations / ((w.end_ms - w.start_ms) as f64 / 1000.0))
}

/// A few queries: one call, paged here (`cloudwatch::fetch_all`'s stream of calls is not
/// `Send` in the generic futures a fleet run spawns).
async fn fetch<M: MetricsApi>(
    metrics: &M,
    queries: &[MetricQuery],
    window: &MetricWindow,
) -> PlatformResult<HashMap<String, Vec<f64>>> {
    let mut values: HashMap<String, Vec<f64>> = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = metrics
            .get_metric_data(queries, window, token.as_deref())
            .await?;
        for (id, v) in page.series {
            values.entry(id).or_default().extend(v);
        }
        match page.next_token {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(values),
        }
    }
}

/// What each of `versions` served through the alias over `window`, in order.
pub async fn version_traffic<M: MetricsApi>(
    metrics: &M,
    function: &str,
    alias: &str,
    versions: &[&str],
    window: &MetricWindow,
) -> PlatformResult<Vec<VersionTraffic>> {
    let resource = resource(function, alias);
    let stats = [
        ("inv", "Invocations", "Sum"),
        ("err", "Errors", "Sum"),
        ("thr", "Throttles", "Sum"),
        ("p99", "Duration", "p99"),
    ];
    let mut queries = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let dims = [
            ("FunctionName", function),
            ("Resource", resource.as_str()),
            ("ExecutedVersion", version),
        ];
        for (id, metric, stat) in stats {
            queries.push(MetricQuery::new(format!("{id}{i}"), metric, stat, &dims));
        }
    }
    let values = fetch(metrics, &queries, window).await?;
    let sum = |id: String| values.get(&id).map_or(0.0, |v| v.iter().sum());
    Ok((0..versions.len())
        .map(|i| VersionTraffic {
            invocations: sum(format!("inv{i}")),
            errors: sum(format!("err{i}")),
            throttles: sum(format!("thr{i}")),
            p99_ms: values
                .get(&format!("p99{i}"))
                .and_then(|v| v.iter().copied().reduce(f64::max)),
        })
        .collect())
}

/// The Logs Insights query for one version's REPORT lines.
pub fn report_query(log_format: &str, version: &str) -> String {
    format!(
        "fields @message | filter {} and @logStream like \"[{version}]\" | limit {MAX_ROWS}",
        report_fields(log_format).filter
    )
}

/// The REPORT lines `version` wrote over [start_s, end_s].
pub async fn report_lines<L: LogsApi>(
    logs: &L,
    function: &str,
    log_format: &str,
    version: &str,
    (start_s, end_s): (i64, i64),
) -> Result<Vec<String>, QueryError> {
    let groups = [log_group_of(function)];
    let query = report_query(log_format, version);
    let out = run_query(logs, &groups, &query, (start_s, end_s), QUERY_LIMIT).await?;
    Ok(out
        .rows
        .into_iter()
        .filter_map(|row| {
            row.into_iter()
                .find(|(field, _)| field == "@message")
                .map(|(_, line)| line)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_whole_minutes_in_one_period() {
        let w = window(1_000_030_500, 1_000_100_000);
        assert_eq!(w.start_ms % MINUTE_MS, 0);
        assert_eq!(w.end_ms % MINUTE_MS, 0);
        assert!(w.start_ms <= 1_000_030_500 && w.end_ms > 1_000_100_000);
        assert_eq!(i64::from(w.period_s) * 1000, w.end_ms - w.start_ms);
    }

    #[test]
    fn a_version_is_found_by_its_log_streams() {
        assert_eq!(
            report_query("Text", "12"),
            r#"fields @message | filter @type = "REPORT" and @logStream like "[12]" | limit 10000"#
        );
        assert!(report_query("JSON", "3").contains(r#"type = "platform.report""#));
    }
}
