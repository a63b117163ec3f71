//! What production says about one function, in the terms tuning needs: how often it runs,
//! how often it starts cold, how much memory it uses, and what it costs per month.

use serde::{Deserialize, Serialize};

use super::{FunctionReport, Section};

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
