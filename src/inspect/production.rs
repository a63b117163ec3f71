//! What production says about one function, in the terms tuning needs: how often it runs,
//! how often it starts cold, how much memory it uses, and what it costs per month.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FunctionReport, InspectOptions, Section};
use crate::platform::cloudwatch::{MetricWindow, MetricsApi};
use crate::platform::logs::LogsApi;
use crate::platform::LambdaApi;
use crate::pricing::PriceBook;

/// Production figures for tuning; each is None when its source had nothing to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    pub days: f64,
    /// Invocations seen in the window (the estimate's weight).
    pub invocations: f64,
    pub monthly_invocations: f64,
    pub monthly_cost_usd: Option<f64>,
    pub cold_start_ratio: Option<f64>,
    /// The largest Max Memory Used in the window's REPORT lines.
    pub max_memory_used_mb: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Why a source is missing (no permission, never invoked, ...), for the user.
    pub gaps: Vec<String>,
}

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
        max_memory_used_mb: logs.and_then(|l| l.max_memory_used_mb),
        p99_ms: metrics.and_then(|m| m.duration_p99_ms),
        gaps: [gap("metrics", &report.metrics), gap("logs", &report.logs)]
            .into_iter()
            .flatten()
            .collect(),
    })
}

impl Production {
    /// The smallest memory size that keeps `headroom` over the most memory production used.
    pub fn memory_floor_mb(&self, headroom: f64) -> Option<u32> {
        self.max_memory_used_mb
            .map(|used| (used * headroom).ceil() as u32)
    }
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
                .map(|n| (n.clone(), Err(why.clone())))
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
    report
        .functions
        .iter()
        .map(|f| (f.name.clone(), production(f, days as f64)))
        .collect()
}
