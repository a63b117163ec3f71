//! What production shows about a function's concurrency: its configuration and aliases
//! (Lambda), which alias production invokes and its minutes (CloudWatch at 1-minute
//! resolution), and cold starts by hour with their INIT (Logs Insights over REPORT lines).

use std::collections::HashMap;
use std::time::Duration;

use crate::platform::cloudwatch::{
    fetch_all, invocations_by_resource, MetricData, MetricQuery, MetricWindow, MetricsApi,
};
use crate::platform::logs::{log_group_of, report_fields, run_query, LogsApi, QueryError, Row};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};

use super::simulate::{dense, Minute};
use super::CapacityError;

const MINUTE_MS: i64 = 60_000;

/// Duration statistics of the window (CloudWatch's Duration excludes INIT).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct DurationStats {
    pub average_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub maximum_ms: f64,
}

/// What the REPORT lines say about cold starts.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ColdStartLogs {
    pub reports: u64,
    pub cold_starts: u64,
    /// Cold starts by hour of day (UTC).
    pub by_hour: Vec<u64>,
    pub init_avg_ms: f64,
    pub init_p50_ms: f64,
    pub init_p90_ms: f64,
    pub init_p99_ms: f64,
}

/// Everything the analysis needs about one function.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub config: FunctionConfig,
    /// The alias production invokes, by the Invocations metric's Resource dimension; None
    /// when production invokes the function unqualified.
    pub alias: Option<String>,
    /// Every minute of the window, idle ones included.
    pub minutes: Vec<Minute>,
    pub throttles: u64,
    pub reserved: Option<u32>,
    /// The provisioned level configured on the alias during the window, if any.
    pub provisioned: Option<u32>,
    pub duration: DurationStats,
    pub logs: ColdStartLogs,
}

/// The window of the last `days` whole minutes at 1-minute resolution.
pub fn minute_window(days: u32, now_ms: i64) -> MetricWindow {
    let end_ms = (now_ms.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
    MetricWindow {
        start_ms: end_ms - i64::from(days) * 1440 * MINUTE_MS,
        end_ms,
        period_s: 60,
    }
}

fn platform(function: &str, source: PlatformError) -> CapacityError {
    CapacityError::Platform {
        function: function.to_string(),
        source: Box::new(source),
    }
}

fn total(data: &MetricData, id: &str) -> f64 {
    data.values.get(id).map_or(0.0, |v| v.iter().sum())
}

fn first(data: &MetricData, id: &str) -> f64 {
    data.values
        .get(id)
        .and_then(|v| v.first().copied())
        .unwrap_or(0.0)
}

/// (minute since the epoch, value) of a per-minute series.
fn per_minute(data: &MetricData, id: &str) -> Vec<(i64, f64)> {
    let values = data.values.get(id).cloned().unwrap_or_default();
    let stamps = data.timestamps.get(id).cloned().unwrap_or_default();
    stamps
        .into_iter()
        .zip(values)
        .map(|(s, v)| (s.div_euclid(60), v))
        .collect()
}

/// Reads one function.
pub async fn observe<L: LambdaApi, M: MetricsApi, G: LogsApi>(
    lambda: &L,
    metrics: &M,
    logs: &G,
    name: &str,
    window: &MetricWindow,
    query_limit: Duration,
) -> Result<Observation, CapacityError> {
    let config = lambda
        .get_configuration(name, None)
        .await
        .map_err(|e| platform(name, e))?;
    let aliases = lambda
        .list_aliases(name)
        .await
        .map_err(|e| platform(name, e))?;
    let reserved = lambda
        .get_function_concurrency(name)
        .await
        .map_err(|e| platform(name, e))?;
    let alias = production_alias(metrics, name, &aliases, window).await?;
    let resource = match &alias {
        Some(a) => format!("{name}:{a}"),
        None => name.to_string(),
    };
    let by_resource = [("FunctionName", name), ("Resource", resource.as_str())];
    let function_wide = [("FunctionName", name)];
    let queries = vec![
        MetricQuery::new("inv", "Invocations", "Sum", &by_resource),
        MetricQuery::new("conc", "ConcurrentExecutions", "Maximum", &by_resource),
        MetricQuery::new("thr", "Throttles", "Sum", &function_wide),
        MetricQuery::new(
            "pce",
            "ProvisionedConcurrentExecutions",
            "Maximum",
            &by_resource,
        ),
        MetricQuery::new(
            "pcu",
            "ProvisionedConcurrencyUtilization",
            "Maximum",
            &by_resource,
        ),
    ];
    let data = fetch_all(metrics, &queries, window)
        .await
        .map_err(|e| platform(name, e))?;
    let first_minute = window.start_ms / MINUTE_MS;
    let last_minute = window.end_ms / MINUTE_MS;
    let concurrency: HashMap<i64, f64> = per_minute(&data, "conc").into_iter().collect();
    let observed: Vec<Minute> = per_minute(&data, "inv")
        .into_iter()
        .map(|(minute, n)| Minute {
            minute,
            invocations: n.round() as u64,
            concurrency: concurrency.get(&minute).copied().unwrap_or(0.0).round() as u32,
        })
        .collect();
    let minutes = dense(&observed, first_minute, last_minute);
    let utilisation: HashMap<i64, f64> = per_minute(&data, "pcu").into_iter().collect();
    // Busy provisioned environments over the utilisation is the level configured.
    let provisioned = per_minute(&data, "pce")
        .into_iter()
        .filter_map(|(m, busy)| {
            let u = utilisation.get(&m).copied()?;
            (u > 0.0).then(|| (busy / u).round() as u32)
        })
        .max();
    let duration = duration_stats(metrics, name, &resource, window).await?;
    let logs = cold_start_logs(logs, &config, window, query_limit).await?;
    Ok(Observation {
        config,
        alias,
        minutes,
        throttles: total(&data, "thr").round() as u64,
        reserved,
        provisioned,
        duration,
        logs,
    })
}

/// The alias with the most invocations in the window, unless unqualified calls have more.
async fn production_alias<M: MetricsApi>(
    metrics: &M,
    name: &str,
    aliases: &[crate::platform::AliasInfo],
    window: &MetricWindow,
) -> Result<Option<String>, CapacityError> {
    if aliases.is_empty() {
        return Ok(None);
    }
    let whole = MetricWindow {
        period_s: ((window.end_ms - window.start_ms) / 1000) as i32,
        ..*window
    };
    // Unqualified calls first, then each alias.
    let resources: Vec<String> = std::iter::once(name.to_string())
        .chain(aliases.iter().map(|a| format!("{name}:{}", a.name)))
        .collect();
    let counts = invocations_by_resource(metrics, name, &resources, &whole)
        .await
        .map_err(|e| platform(name, e))?;
    let unqualified = counts[0];
    let busiest = aliases
        .iter()
        .zip(&counts[1..])
        .map(|(a, &n)| (n, &a.name))
        .filter(|(n, _)| *n > 0.0)
        .max_by(|x, y| x.0.total_cmp(&y.0));
    Ok(match busiest {
        Some((n, alias)) if n >= unqualified => Some(alias.clone()),
        _ => None,
    })
}

async fn duration_stats<M: MetricsApi>(
    metrics: &M,
    name: &str,
    resource: &str,
    window: &MetricWindow,
) -> Result<DurationStats, CapacityError> {
    let whole = MetricWindow {
        period_s: ((window.end_ms - window.start_ms) / 1000) as i32,
        ..*window
    };
    let dims = [("FunctionName", name), ("Resource", resource)];
    let stats = [
        ("avg", "Average"),
        ("p50", "p50"),
        ("p90", "p90"),
        ("p99", "p99"),
        ("p999", "p99.9"),
        ("max", "Maximum"),
    ];
    let queries: Vec<MetricQuery> = stats
        .iter()
        .map(|(id, stat)| MetricQuery::new(*id, "Duration", stat, &dims))
        .collect();
    let data = fetch_all(metrics, &queries, &whole)
        .await
        .map_err(|e| platform(name, e))?;
    Ok(DurationStats {
        average_ms: first(&data, "avg"),
        p50_ms: first(&data, "p50"),
        p90_ms: first(&data, "p90"),
        p99_ms: first(&data, "p99"),
        p999_ms: first(&data, "p999"),
        maximum_ms: first(&data, "max"),
    })
}

fn number(row: &Row, field: &str) -> f64 {
    row.iter()
        .find(|(f, _)| f == field)
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

async fn cold_start_logs<G: LogsApi>(
    logs: &G,
    config: &FunctionConfig,
    window: &MetricWindow,
    limit: Duration,
) -> Result<ColdStartLogs, CapacityError> {
    let fields = report_fields(&config.log_format);
    let (filter, init) = (fields.filter, fields.init);
    let groups = [log_group_of(&config.name)];
    let range = (window.start_ms / 1000, window.end_ms / 1000 - 1);
    let failed = |source: QueryError| CapacityError::Logs {
        function: config.name.clone(),
        source: Box::new(source),
    };
    let hourly =
        format!("filter {filter} | stats count(*) as reports, count({init}) as cold by bin(1h)");
    let out = match run_query(logs, &groups, &hourly, range, limit).await {
        Ok(out) => out,
        // A function that never ran has no log group: nothing started cold.
        Err(QueryError::Platform(PlatformError::NotFound(_))) => {
            return Ok(ColdStartLogs {
                by_hour: vec![0; 24],
                ..ColdStartLogs::default()
            })
        }
        Err(e) => return Err(failed(e)),
    };
    let mut by_hour = vec![0u64; 24];
    let (mut reports, mut cold) = (0u64, 0u64);
    for row in &out.rows {
        let bin = row
            .iter()
            .find(|(f, _)| f.starts_with("bin("))
            .and_then(|(_, v)| {
                chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").ok()
            });
        let c = number(row, "cold").round() as u64;
        reports += number(row, "reports").round() as u64;
        cold += c;
        if let Some(t) = bin {
            by_hour[chrono::Timelike::hour(&t) as usize] += c;
        }
    }
    let init_stats = format!(
        "filter {filter} and ispresent({init}) | stats avg({init}) as avg, pct({init}, 50) as p50, \
         pct({init}, 90) as p90, pct({init}, 99) as p99"
    );
    let out = run_query(logs, &groups, &init_stats, range, limit)
        .await
        .map_err(failed)?;
    let row = out.rows.first().cloned().unwrap_or_default();
    Ok(ColdStartLogs {
        reports,
        cold_starts: cold,
        by_hour,
        init_avg_ms: number(&row, "avg"),
        init_p50_ms: number(&row, "p50"),
        init_p90_ms: number(&row, "p90"),
        init_p99_ms: number(&row, "p99"),
    })
}
