//! What `/healthz` shows of a run's `[capacity]` findings.

use serde::Serialize;

use crate::capacity::{FleetCapacity, Recommendation};

/// One function's capacity recommendation, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityFinding {
    /// The account, in a run over `[[target]]`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region the analysis read.
    pub region: String,
    pub function: String,
    pub recommendation: Recommendation,
    pub cold_start_rate: f64,
    pub on_demand_monthly_usd: f64,
    pub recommended_monthly_usd: Option<f64>,
}

pub fn capacity_findings(capacity: &[FleetCapacity]) -> Vec<CapacityFinding> {
    capacity
        .iter()
        .filter_map(|c| Some((c.account.as_ref(), c.report.as_ref()?)))
        .flat_map(|(account, r)| r.functions.iter().map(move |f| (account, &r.region, f)))
        .map(|(account, region, f)| CapacityFinding {
            account: account.cloned(),
            region: region.clone(),
            function: f.name.clone(),
            recommendation: f.recommendation.clone(),
            cold_start_rate: f.cold_start_rate,
            on_demand_monthly_usd: f.on_demand.monthly_usd,
            recommended_monthly_usd: f.chosen.as_ref().map(|c| c.monthly_usd),
        })
        .collect()
}
