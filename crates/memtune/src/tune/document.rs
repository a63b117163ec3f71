//! What a tuning run produced, as one versioned document per function.
//!
//! `document` turns a [`TuneOutcome`] into the plain [`FunctionDocument`] that every format
//! renders (`--format json` is that document as is; scripts and PR bots rely on it, see
//! docs/json-schema.md). The renderers live in `report/`; the apply guard, the history and
//! the fleet's results read the document from here.

use serde::{Deserialize, Serialize};

use super::adaptive::FitSummary;
use super::production::Production;
use super::{Exploration, TuneOutcome};
use crate::measure::SizeStats;
use crate::strategy::{
    Estimate, HeldBack, LatencyGuard, Recommendation, Rejection, SloStatus, SloVerdict, Tradeoff,
};
use crate::sweep::payload::PayloadKind;

/// Bumped on any change that could break a reader of the JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// One function's tuning result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDocument {
    pub schema_version: u32,
    pub run_id: String,
    pub generated_at: String,
    pub function: FunctionInfo,
    pub strategy: StrategyInfo,
    pub search: String,
    pub current: Current,
    /// None when no size was feasible; `no_recommendation` says why.
    pub recommendation: Option<RecommendationInfo>,
    pub no_recommendation: Option<String>,
    pub sizes: Vec<SizeRow>,
    /// The fitted duration curve and its band (adaptive search only).
    pub fit: Option<FitSummary>,
    pub exploration: ExplorationInfo,
    /// What was put back after sampling.
    pub restored: String,
    pub warnings: Vec<String>,
    /// Production figures read before tuning (CloudWatch), when available.
    #[serde(default)]
    pub production: Option<Production>,
    /// What the function was invoked with (`one` in documents from before this field).
    #[serde(default)]
    pub payload: PayloadKind,
    /// Architecture and memory chosen together (`--architectures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architectures: Option<crate::strategy::architecture::ArchitectureComparison>,
    /// Measured on an alias's production traffic (`--traffic`), not by test invocations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<super::canary::TrafficReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionInfo {
    pub name: String,
    pub arn: String,
    pub runtime: Option<String>,
    pub architecture: String,
    pub region: String,
    pub timeout_s: u32,
    /// The CloudFormation stack that deployed it (its `aws:cloudformation:stack-name` tag),
    /// so that `patch` can resolve `!Sub "${AWS::StackName}-..."` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyInfo {
    pub name: String,
    pub objective: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Current {
    pub memory_mb: u32,
    /// Measured at the current size, when it was sampled.
    pub cost_per_invocation_usd: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Why the decision found the current size unsafe (out of memory, timeouts, its tail too
    /// close to the timeout, memory headroom); empty when it is safe or was not measured.
    #[serde(default)]
    pub unsafe_reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationInfo {
    pub memory_mb: u32,
    pub reason: String,
    /// Sizes the strategy considers as good, within its tolerance.
    pub band_mb: Vec<u32>,
    pub cost_per_invocation_usd: f64,
    pub cost_per_million_usd: f64,
    pub p99_ms: Option<f64>,
    /// Relative to the current size, when it was measured; negative is cheaper or faster.
    pub cost_change_pct: Option<f64>,
    pub latency_change_pct: Option<f64>,
    /// `slo.status` is `met`; kept for readers of version 1, where it said the estimate met
    /// the SLO.
    pub slo_met: Option<bool>,
    /// The recommended size against the strategy's SLO, when it has one.
    #[serde(default)]
    pub slo: Option<SloStatus>,
    /// (cost now - cost recommended) x monthly invocations from production data.
    #[serde(default)]
    pub monthly_savings_usd: Option<f64>,
    /// Which estimate the decision ranked sizes by; the costs above are measured either way.
    #[serde(default)]
    pub estimate: Estimate,
    /// The cost per 1M invocations the decision used at this size.
    #[serde(default)]
    pub decision_cost_per_million_usd: Option<f64>,
    /// What the change trades, measured before -> after, and why this size beat the
    /// runner-up (absent in documents from before it).
    #[serde(default)]
    pub tradeoff: Option<Tradeoff>,
    /// What the strategy's latency guard did, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_guard: Option<LatencyGuard>,
    /// The objective's choice, held back as worth less than the strategy's minimum change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_back: Option<HeldBack>,
    /// Why the fitted curve's predicted optimum (`fit.predicted_optimum_mb`) is not the
    /// recommended size, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_optimum_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    pub memory_mb: u32,
    pub invocations: usize,
    pub successes: usize,
    pub cold_starts: usize,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub trimmed_mean_ms: Option<f64>,
    pub cv: Option<f64>,
    pub mean_billed_ms: Option<f64>,
    pub mean_init_ms: Option<f64>,
    /// SnapStart: mean Restore Duration of the cold samples; absent without a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_restore_ms: Option<f64>,
    pub max_memory_used_mb: Option<u32>,
    pub cost_per_invocation_usd: Option<f64>,
    pub cost_per_million_usd: Option<f64>,
    pub cost_ci95_usd: Option<[f64; 2]>,
    pub out_of_memory: usize,
    pub timeouts: usize,
    pub function_errors: usize,
    pub feasible: bool,
    pub infeasible_reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorationInfo {
    pub invocations: u64,
    pub gb_seconds: f64,
    pub usd: f64,
    pub platform_failures: u64,
}

impl From<&Exploration> for ExplorationInfo {
    fn from(e: &Exploration) -> ExplorationInfo {
        ExplorationInfo {
            invocations: e.invocations,
            gb_seconds: e.gb_seconds,
            usd: e.usd,
            platform_failures: e.platform_failures,
        }
    }
}

fn size_row(s: &SizeStats) -> SizeRow {
    let warm = s.warm.as_ref();
    SizeRow {
        memory_mb: s.memory_mb,
        invocations: s.invocations,
        successes: s.successes,
        cold_starts: s.cold_starts,
        p50_ms: warm.map(|w| w.p50.ms),
        p90_ms: warm.map(|w| w.p90.ms),
        p99_ms: warm.map(|w| w.p99.ms),
        mean_ms: warm.map(|w| w.mean_ms),
        trimmed_mean_ms: warm.map(|w| w.trimmed_mean_ms),
        cv: warm.map(|w| w.cv),
        mean_billed_ms: warm.map(|w| w.mean_billed_ms),
        mean_init_ms: s.mean_init_ms,
        mean_restore_ms: s.mean_restore_ms,
        max_memory_used_mb: s.max_memory_used_mb,
        cost_per_invocation_usd: s.cost.as_ref().map(|c| c.mean_usd),
        cost_per_million_usd: s.cost.as_ref().map(|c| c.mean_usd * 1e6),
        cost_ci95_usd: s.cost.as_ref().map(|c| [c.ci_low_usd, c.ci_high_usd]),
        out_of_memory: s.failures.out_of_memory,
        timeouts: s.failures.timeout,
        function_errors: s.failures.function_errors.values().sum(),
        feasible: s.is_feasible(),
        infeasible_reasons: s
            .infeasible
            .iter()
            .map(|i| Rejection::Infeasible(i.clone()).to_string())
            .collect(),
    }
}

/// The stack that deployed a function, from its tags; None when it has none or they cannot
/// be read (ListTags denied: `patch` then matches by the other rules).
pub async fn stack_name<A: crate::platform::LambdaApi>(api: &A, arn: &str) -> Option<String> {
    let tags = api.list_tags(arn).await.ok()?;
    tags.get("aws:cloudformation:stack-name").cloned()
}

/// SnapStart: how long the published versions waited for their snapshots.
fn snapshot_note(waits: &[(u32, std::time::Duration)]) -> Option<String> {
    let seconds: Vec<f64> = waits.iter().map(|(_, d)| d.as_secs_f64()).collect();
    let longest = seconds
        .iter()
        .copied()
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))?;
    let total: f64 = seconds.iter().sum();
    Some(format!(
        "SnapStart: each of the {} published versions was invoked once its snapshot was ready: {:.1} s waited in all, {:.1} s at most",
        seconds.len(),
        total,
        longest
    ))
}

/// The document of one tuned function.
pub fn document(outcome: &TuneOutcome, region: &str) -> FunctionDocument {
    let o = &outcome.original;
    let sizes: Vec<SizeRow> = outcome.sizes.iter().map(size_row).collect();
    let at_current = sizes.iter().find(|s| s.memory_mb == o.memory_mb);
    let (recommendation, no_recommendation) = match &outcome.recommendation {
        Ok(r) => {
            // Measured figures throughout, like `sizes[]`; the decision's own estimate is
            // reported beside them.
            let row = sizes.iter().find(|s| s.memory_mb == r.memory_mb);
            let cost = row
                .and_then(|s| s.cost_per_invocation_usd)
                .unwrap_or(r.cost.mean_usd);
            let change = |new: Option<f64>, old: Option<f64>| Some(100.0 * (new? / old? - 1.0));
            (
                Some(RecommendationInfo {
                    memory_mb: r.memory_mb,
                    reason: r.reason.clone(),
                    band_mb: r.band.clone(),
                    cost_per_invocation_usd: cost,
                    cost_per_million_usd: cost * 1e6,
                    p99_ms: row.and_then(|s| s.p99_ms),
                    cost_change_pct: change(
                        Some(cost),
                        at_current.and_then(|s| s.cost_per_invocation_usd),
                    ),
                    latency_change_pct: change(
                        row.and_then(|s| s.trimmed_mean_ms),
                        at_current.and_then(|s| s.trimmed_mean_ms),
                    ),
                    slo_met: r.slo.map(|s| s.is_met()),
                    slo: r.slo,
                    monthly_savings_usd: None,
                    estimate: r.estimate,
                    decision_cost_per_million_usd: Some(r.cost.mean_usd * 1e6),
                    tradeoff: Some(r.tradeoff.clone()),
                    latency_guard: r.latency_guard.clone(),
                    held_back: r.held_back.clone(),
                    predicted_optimum_note: outcome
                        .fit
                        .as_ref()
                        .and_then(|f| predicted_optimum_note(f.predicted_optimum_mb, r)),
                }),
                None,
            )
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let mut warnings = Vec::new();
    if let Some(w) = outcome
        .recommendation
        .as_ref()
        .ok()
        .and_then(|r| slo_warning(r, &sizes))
    {
        warnings.push(w);
    }
    if let Some(m) = &outcome.missing_report {
        warnings.push(m.clone());
    }
    if let Ok(r) = &outcome.recommendation {
        if r.latency_guard == Some(LatencyGuard::CurrentNotMeasured) {
            warnings.push(format!(
                "the latency guard had nothing to compare with: the current size ({} MB) was not sampled (--sizes without it), so no size was held back for being slower",
                o.memory_mb
            ));
        }
    }
    if let Some(line) = snapshot_note(&outcome.snapshot_waits) {
        warnings.push(line);
    }
    if outcome.exploration.platform_failures > 0 {
        warnings.push(format!(
            "{} invocations failed outside the function (throttling, service errors): not counted in the statistics",
            outcome.exploration.platform_failures
        ));
    }
    FunctionDocument {
        schema_version: SCHEMA_VERSION,
        run_id: outcome.run_id.clone(),
        generated_at: chrono::Utc::now().to_rfc3339(),
        function: FunctionInfo {
            name: o.name.clone(),
            arn: o.arn.clone(),
            runtime: o.runtime.clone(),
            architecture: o.architecture.clone(),
            region: region.to_string(),
            timeout_s: o.timeout_s,
            stack_name: None,
        },
        strategy: StrategyInfo {
            name: outcome.strategy.name.clone(),
            objective: outcome.strategy.objective.as_str().to_string(),
        },
        search: outcome.search.to_string(),
        current: Current {
            memory_mb: o.memory_mb,
            cost_per_invocation_usd: at_current.and_then(|s| s.cost_per_invocation_usd),
            p99_ms: at_current.and_then(|s| s.p99_ms),
            unsafe_reasons: outcome
                .recommendation
                .as_ref()
                .map(|r| r.current_unsafe.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        },
        recommendation,
        no_recommendation,
        sizes,
        fit: outcome.fit.clone(),
        exploration: ExplorationInfo::from(&outcome.exploration),
        restored: crate::sweep::restore::describe(&outcome.restore),
        warnings,
        production: None,
        payload: outcome.payload,
        architectures: None,
        traffic: None,
    }
}

/// The warning an SLO that is not `met` gets: the size is reported, never applied. When a
/// measured percentile lies under the SLO while the decision's estimate does not, says why
/// the two differ.
fn slo_warning(r: &crate::strategy::Recommendation, sizes: &[SizeRow]) -> Option<String> {
    let slo = r.slo?;
    let p = slo.percentile.as_str();
    let head = match slo.status {
        SloVerdict::Met => return None,
        SloVerdict::Unconfirmed => format!(
            "SLO unconfirmed: {} MB's {p} estimate ({:.1} ms) is under the {:.0} ms SLO, but {}; --apply and auto-apply leave the function as it is",
            r.memory_mb,
            slo.estimate_ms,
            slo.slo_ms,
            match slo.upper_bound_ms {
                Some(upper) => format!(
                    "its upper bound ({upper:.1} ms) is not, after the invocations the search allows (`--invocations N` allows more)"
                ),
                None => "too few samples to bound it (`--invocations N` allows more)".into(),
            }
        ),
        SloVerdict::Unmet => format!(
            "SLO unmet: no size's {p} estimate is under the {:.0} ms SLO; {} MB comes closest ({:.1} ms); --apply and auto-apply leave the function as it is",
            slo.slo_ms, r.memory_mb, slo.estimate_ms
        ),
    };
    let measured = |s: &SizeRow| match slo.percentile {
        crate::measure::Percentile::P50 => s.p50_ms,
        crate::measure::Percentile::P90 => s.p90_ms,
        crate::measure::Percentile::P99 => s.p99_ms,
    };
    let under: Vec<String> = sizes
        .iter()
        .filter(|s| measured(s).is_some_and(|ms| ms <= slo.slo_ms))
        .map(|s| s.memory_mb.to_string())
        .collect();
    if slo.status == SloVerdict::Unmet && !under.is_empty() {
        return Some(format!(
            "{head}. The measured {p} at {} MB is under the SLO, but from a few samples each, which rarely show a slow tail; the estimate comes from the fitted curve (and production's tail, when read)",
            under.join(", ")
        ));
    }
    Some(head)
}

/// Why the fitted curve's optimum is not the recommendation: the curve is a prediction on the
/// 1 MB grid, the recommendation a size that was measured (and passed the screen, the latency
/// guard and the minimum change).
fn predicted_optimum_note(predicted_mb: u32, r: &Recommendation) -> Option<String> {
    if predicted_mb == r.memory_mb {
        return None;
    }
    let mut why = vec![format!(
        "{predicted_mb} MB is where the fitted curve puts the objective's optimum, a prediction; \
         memtune recommends only sizes it measured, and of those {} MB came out best",
        r.memory_mb
    )];
    if let Some(LatencyGuard::Applied { excluded_mb, .. }) = &r.latency_guard {
        if !excluded_mb.is_empty() {
            let sizes: Vec<String> = excluded_mb.iter().map(u32::to_string).collect();
            why.push(format!(
                "the latency guard set aside {} MB",
                sizes.join(", ")
            ));
        }
    }
    if let Some(held) = &r.held_back {
        why.push(format!(
            "the change to {} MB was worth less than the minimum change",
            held.memory_mb
        ));
    }
    Some(why.join("; "))
}

/// Attaches production figures, and the monthly savings they imply when the current size
/// was measured.
pub fn add_production(doc: &mut FunctionDocument, production: &Production) {
    if let (Some(r), Some(now)) = (
        doc.recommendation.as_mut(),
        doc.current.cost_per_invocation_usd,
    ) {
        if production.monthly_invocations > 0.0 {
            r.monthly_savings_usd =
                Some((now - r.cost_per_invocation_usd) * production.monthly_invocations);
        }
    }
    doc.warnings.extend(production.tail_warning());
    doc.production = Some(production.clone());
}
