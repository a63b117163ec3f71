//! What production says about one function, in the terms tuning needs: how often it runs,
//! how often it starts cold, how much memory it uses, and what it costs per month.

use std::collections::BTreeMap;
use std::time::Duration;

use super::metrics::function_id;
use super::{FunctionReport, InspectOptions, Section};
use crate::fit::ProductionTail;
use crate::platform::cloudwatch::{fetch_all, MetricQuery, MetricWindow, MetricsApi};
use crate::platform::logs::LogsApi;
use crate::platform::LambdaApi;
use crate::tune::production::Production;
use memtune_facts::pricing::PriceBook;

fn gap<T>(what: &str, section: &Section<T>) -> Option<String> {
    section.data.is_none().then(|| {
        format!(
            "{what}: {}",
            section
                .detail
                .clone()
                .unwrap_or_else(|| format!("{:?}", section.status))
        )
    })
}

/// Production figures from an inspection, or why there are none at all.
pub fn production(report: &FunctionReport, days: f64) -> Result<Production, String> {
    let metrics = report.metrics.data.as_ref();
    let logs = report.logs.data.as_ref();
    if metrics.is_none() && logs.is_none() {
        let reasons: Vec<String> = [gap("metrics", &report.metrics), gap("logs", &report.logs)]
            .into_iter()
            .flatten()
            .collect();
        return Err(reasons.join("; "));
    }
    let derived = report.derived.as_ref();
    Ok(Production {
        days,
        invocations: metrics.map(|m| m.invocations).unwrap_or(0.0),
        monthly_invocations: derived.map(|d| d.monthly_invocations).unwrap_or(0.0),
        monthly_cost_usd: derived.and_then(|d| d.monthly_cost.as_ref().map(|c| c.total_usd)),
        cold_start_ratio: derived.and_then(|d| d.cold_start_ratio),
        init_p50_ms: logs.and_then(|l| l.init_p50_ms),
        init_p99_ms: logs.and_then(|l| l.init_p99_ms),
        max_memory_used_mb: logs.and_then(|l| l.max_memory_used_mb),
        mean_ms: metrics.and_then(|m| m.duration_avg_ms),
        p50_ms: metrics.and_then(|m| m.duration_p50_ms),
        p90_ms: metrics.and_then(|m| m.duration_p90_ms),
        p99_ms: metrics.and_then(|m| m.duration_p99_ms),
        p90_bound_ms: None,
        p99_bound_ms: None,
        gaps: [gap("metrics", &report.metrics), gap("logs", &report.logs)]
            .into_iter()
            .flatten()
            .collect(),
    })
}

/// Reads the production figures of `names` over the last `days` days in one batched
/// inspection; each function gets its figures or the reason there are none.
pub async fn read<L, M, G>(
    clients: (&L, &M, &G),
    book: &PriceBook,
    region: &str,
    names: &[String],
    days: u32,
    query_limit: Duration,
) -> BTreeMap<String, Result<Production, String>>
where
    L: LambdaApi,
    M: MetricsApi,
    G: LogsApi,
{
    let window = match MetricWindow::last_days(days, chrono::Utc::now().timestamp_millis()) {
        Ok(w) => w,
        Err(why) => {
            return names
                .iter()
                .map(|n| (n.clone(), Err(why.to_string())))
                .collect()
        }
    };
    let options = InspectOptions {
        window,
        region: region.to_string(),
        query_limit,
        sweeps: Default::default(),
    };
    let (lambda, metrics, logs) = clients;
    let report = super::inspect(lambda, metrics, logs, book, names, &options).await;
    let mut found: BTreeMap<String, Result<Production, String>> = report
        .functions
        .iter()
        .map(|f| (f.name.clone(), production(f, days as f64)))
        .collect();
    read_bounds(metrics, &window, &mut found).await;
    found
}

/// The level whose percentile bounds the true p-quantile from above at 97.5% confidence
/// over `n` invocations: the order statistic at p + 1.96 sqrt(p (1 - p) / n), rounded up to
/// CloudWatch's two decimals. A p99 over a few thousand invocations is then read as about
/// p99.5; over millions, as p99.01. It also guards against a slow class of exactly 1%,
/// where the p99 sits on a cliff and the point estimate can fall on either side. `n` is
/// rounded down to two significant digits first (a slightly wider bound), so that a few
/// invocations more or less do not change the statistic asked for.
pub fn bound_level(p: f64, n: f64) -> String {
    let n = round_down_significant(n.max(1.0), 2);
    let level = (p + 1.96 * (p * (1.0 - p) / n).sqrt()).min(1.0);
    let percent = ((level * 10_000.0).ceil() / 100.0).min(100.0);
    format!("p{percent:.2}")
}

fn round_down_significant(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(x.log10().floor() as i32 - digits + 1);
    (x / scale).floor() * scale
}

/// Second pass for the functions with enough invocations to trust a tail: their p90 and p99
/// upper bounds, which need the invocation count first. One GetMetricData batch; without
/// an answer the bounds stay empty and tuning uses no production tail.
async fn read_bounds<M: MetricsApi>(
    metrics: &M,
    window: &MetricWindow,
    found: &mut BTreeMap<String, Result<Production, String>>,
) {
    let wanted: Vec<(String, f64)> = found
        .iter()
        .filter_map(|(name, p)| {
            let p = p.as_ref().ok()?;
            (p.invocations >= ProductionTail::MIN_INVOCATIONS)
                .then(|| (name.clone(), p.invocations))
        })
        .collect();
    let queries: Vec<MetricQuery> = wanted
        .iter()
        .enumerate()
        .flat_map(|(i, (name, n))| {
            [("u90", 0.9), ("u99", 0.99)].map(|(suffix, p)| {
                let dims = [("FunctionName", name.as_str())];
                MetricQuery::new(
                    function_id(i, suffix),
                    "Duration",
                    &bound_level(p, *n),
                    &dims,
                )
            })
        })
        .collect();
    if queries.is_empty() {
        return;
    }
    let data = match fetch_all(metrics, &queries, window).await {
        Ok(data) => data,
        Err(e) => {
            for (name, _) in &wanted {
                if let Some(Ok(p)) = found.get_mut(name) {
                    p.gaps.push(format!("duration tail bounds (p90/p99): {e}"));
                }
            }
            return;
        }
    };
    let first = |id: String| data.values.get(&id).and_then(|v| v.first().copied());
    for (i, (name, _)) in wanted.iter().enumerate() {
        if let Some(Ok(p)) = found.get_mut(name) {
            p.p90_bound_ms = first(function_id(i, "u90"));
            p.p99_bound_ms = first(function_id(i, "u99"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_levels_reach_past_the_percentile_by_the_order_statistics_spread() {
        // p99 over 1400 invocations: 0.99 + 1.96 * sqrt(0.0099 / 1400) = 0.99521 -> p99.53.
        assert_eq!(bound_level(0.99, 1400.0), "p99.53");
        // Rounded down to two significant digits: 1449 and 1400 ask for the same statistic.
        assert_eq!(bound_level(0.99, 1449.0), "p99.53");
        // Millions of invocations: just past the percentile, never at it.
        assert_eq!(bound_level(0.99, 4.2e6), "p99.01");
        assert_eq!(bound_level(0.9, 7e4), "p90.23");
        assert_eq!(bound_level(0.99, 1.0), "p100.00");
    }
}
