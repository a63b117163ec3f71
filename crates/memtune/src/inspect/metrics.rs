//! The CloudWatch side: which metric statistics to ask for, per function and per alias, and
//! how to read them back. All functions' queries go out together, 500 per call.

use serde::Serialize;

use super::{ByFunction, ConfigSummary, Section, Status};
use crate::platform::cloudwatch::{fetch_all, MetricData, MetricQuery, MetricWindow, MetricsApi};

/// Production figures of one function over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionMetrics {
    pub invocations: f64,
    pub errors: f64,
    pub throttles: f64,
    pub duration_avg_ms: Option<f64>,
    pub duration_p50_ms: Option<f64>,
    pub duration_p90_ms: Option<f64>,
    pub duration_p99_ms: Option<f64>,
    pub max_concurrency: Option<f64>,
    /// Aliases that served traffic in the window (Resource = name:alias).
    pub resources: Vec<ResourceMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceMetrics {
    pub resource: String,
    pub invocations: f64,
    pub errors: f64,
    pub duration_p99_ms: Option<f64>,
}

/// How a statistic's datapoints combine. The window is one period, so there is normally one
/// datapoint; should there be several, counts add up and maxima take the largest.
#[derive(Debug, Clone, Copy)]
enum Combine {
    Sum,
    Max,
    Single,
}

/// (id suffix, metric, statistic, how to combine).
const FUNCTION_STATS: [(&str, &str, &str, Combine); 8] = [
    ("inv", "Invocations", "Sum", Combine::Sum),
    ("err", "Errors", "Sum", Combine::Sum),
    ("thr", "Throttles", "Sum", Combine::Sum),
    ("avg", "Duration", "Average", Combine::Single),
    ("p50", "Duration", "p50", Combine::Single),
    ("p90", "Duration", "p90", Combine::Single),
    ("p99", "Duration", "p99", Combine::Single),
    ("conc", "ConcurrentExecutions", "Maximum", Combine::Max),
];

const RESOURCE_STATS: [(&str, &str, &str, Combine); 3] = [
    ("inv", "Invocations", "Sum", Combine::Sum),
    ("err", "Errors", "Sum", Combine::Sum),
    ("p99", "Duration", "p99", Combine::Single),
];

/// Query ids are positional (`f12_p99`, `f12_a0_inv`): function names may hold characters
/// an id may not.
pub(super) fn function_id(i: usize, suffix: &str) -> String {
    format!("f{i}_{suffix}")
}

fn alias_id(i: usize, a: usize, suffix: &str) -> String {
    format!("f{i}_a{a}_{suffix}")
}

pub fn queries(functions: &[(&str, &ConfigSummary)]) -> Vec<MetricQuery> {
    let mut all = Vec::new();
    for (i, (name, config)) in functions.iter().enumerate() {
        let dims = [("FunctionName", *name)];
        for (suffix, metric, stat, _) in FUNCTION_STATS {
            all.push(MetricQuery::new(
                function_id(i, suffix),
                metric,
                stat,
                &dims,
            ));
        }
        for (a, alias) in config.aliases.iter().enumerate() {
            let resource = format!("{name}:{alias}");
            let dims = [("FunctionName", *name), ("Resource", resource.as_str())];
            for (suffix, metric, stat, _) in RESOURCE_STATS {
                all.push(MetricQuery::new(
                    alias_id(i, a, suffix),
                    metric,
                    stat,
                    &dims,
                ));
            }
        }
    }
    all
}

fn value(data: &MetricData, id: &str, combine: Combine) -> Option<f64> {
    let values = data.values.get(id).filter(|v| !v.is_empty())?;
    Some(match combine {
        Combine::Sum => values.iter().sum(),
        Combine::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Combine::Single => values[0],
    })
}

fn stat(data: &MetricData, id: String) -> Option<f64> {
    let suffix = id.rsplit('_').next().unwrap_or_default();
    let combine = FUNCTION_STATS
        .iter()
        .find(|s| s.0 == suffix)
        .map_or(Combine::Single, |s| s.3);
    value(data, &id, combine)
}

/// Reads one function's figures; `None` when it was never invoked in the window.
fn read(
    data: &MetricData,
    i: usize,
    name: &str,
    config: &ConfigSummary,
) -> Option<FunctionMetrics> {
    let get = |suffix: &str| stat(data, function_id(i, suffix));
    let invocations = get("inv").unwrap_or(0.0);
    if invocations <= 0.0 {
        return None;
    }
    let resources = config
        .aliases
        .iter()
        .enumerate()
        .filter_map(|(a, alias)| {
            let get = |suffix: &str| stat(data, alias_id(i, a, suffix));
            let invocations = get("inv").filter(|n| *n > 0.0)?;
            Some(ResourceMetrics {
                resource: format!("{name}:{alias}"),
                invocations,
                errors: get("err").unwrap_or(0.0),
                duration_p99_ms: get("p99"),
            })
        })
        .collect();
    Some(FunctionMetrics {
        invocations,
        errors: get("err").unwrap_or(0.0),
        throttles: get("thr").unwrap_or(0.0),
        duration_avg_ms: get("avg"),
        duration_p50_ms: get("p50"),
        duration_p90_ms: get("p90"),
        duration_p99_ms: get("p99"),
        max_concurrency: get("conc"),
        resources,
    })
}

/// Every function's metrics, and the GetMetricData calls it took.
pub async fn measure<M: MetricsApi>(
    api: &M,
    functions: &[(&str, &ConfigSummary)],
    window: &MetricWindow,
) -> (ByFunction<FunctionMetrics>, u32) {
    if functions.is_empty() {
        return (ByFunction::new(), 0);
    }
    let data = fetch_all(api, &queries(functions), window).await;
    let calls = data.as_ref().map_or(1, |d| d.calls);
    let sections = functions
        .iter()
        .enumerate()
        .map(|(i, (name, config))| {
            let section = match &data {
                Err(e) => Section::from_platform_error(e),
                Ok(data) => match read(data, i, name, config) {
                    Some(m) => Section::measured(m),
                    None => Section::missing(
                        Status::NeverInvoked,
                        format!(
                            "never invoked in the last {:.0} days (CloudWatch has no invocations)",
                            window.days()
                        ),
                    ),
                },
            };
            (name.to_string(), section)
        })
        .collect();
    (sections, calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(aliases: &[&str]) -> ConfigSummary {
        ConfigSummary {
            memory_mb: 512,
            timeout_s: 10,
            architecture: "x86_64".into(),
            runtime: Some("python3.12".into()),
            package_type: "Zip".into(),
            log_format: "Text".into(),
            system_log_level: None,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn ids_are_valid_and_unique_across_functions_and_aliases() {
        let (a, b) = (config(&["live", "beta"]), config(&[]));
        let qs = queries(&[("my-fn.v2", &a), ("other", &b)]);
        assert_eq!(qs.len(), 8 + 2 * 3 + 8);
        let ids: std::collections::HashSet<&str> = qs.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids.len(), qs.len());
        assert!(qs.iter().all(|q| q.id.starts_with('f')
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
        let live = qs.iter().find(|q| q.id == "f0_a0_inv").unwrap();
        assert_eq!(
            live.dimensions[1],
            ("Resource".into(), "my-fn.v2:live".into())
        );
    }

    #[test]
    fn no_invocations_reads_as_never_invoked_and_counts_add_up() {
        let c = config(&["live"]);
        let mut data = MetricData::default();
        assert_eq!(read(&data, 0, "f", &c), None);
        data.values.insert("f0_inv".into(), vec![10.0, 5.0]);
        data.values.insert("f0_conc".into(), vec![3.0, 7.0]);
        data.values.insert("f0_p99".into(), vec![120.0]);
        data.values.insert("f0_a0_inv".into(), vec![4.0]);
        let m = read(&data, 0, "f", &c).unwrap();
        assert_eq!(m.invocations, 15.0);
        assert_eq!(m.max_concurrency, Some(7.0));
        assert_eq!(m.duration_p99_ms, Some(120.0));
        assert_eq!(m.duration_avg_ms, None);
        assert_eq!(m.resources.len(), 1);
        assert_eq!(m.resources[0].resource, "f:live");
    }
}
