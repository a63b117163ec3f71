//! Adaptive search: sample a few sizes, fit the duration curve, predict the strategy's
//! objective for every size on the 1 MB grid, and sample where the decision is still open —
//! the predicted optimum, the out-of-memory edge — until the measured optimum agrees with the
//! prediction or the budget is spent.
//!
//! `explore` runs the rounds; `predict` says where the fit puts the choice, `probes` what to
//! sample next, `confirm` how many more invocations a choice and its rivals get, `estimates`
//! the fitted statistics the decision rests on, `limits` how far a search may go, and
//! `summary` the fitted curve for reports.

mod confirm;
mod estimates;
mod limits;
mod predict;
mod probes;
mod summary;
#[cfg(test)]
mod tests;

pub use estimates::smoothed;
pub use limits::{
    bound_confidence, expected_invocations, initial_sizes, reach, AdaptiveLimits, Reach,
};
pub use predict::{predict, Prediction};
pub use summary::{FitPoint, FitSummary};

use crate::fit::{self, Fit, ProductionTail, SizeSamples};
use crate::measure::{self, Sample, SizeStats, StatsOptions};
use crate::strategy::{Objective, Strategy};
use crate::sweep::{RawInvocation, Sampler, SizeRequest, SweepError};

use super::{observe, stop_when_failing, OnEvent};
use confirm::{confirm_batch, precision_batch};
use limits::{FINAL_BATCHES, FINAL_CONFIRMATIONS};
use predict::predicted;
use probes::{edge_probe, next_batch};
use summary::summarize;

/// What the search sampled, and the last fit.
pub struct Explored {
    pub raw: Vec<RawInvocation>,
    pub fit: Option<FitSummary>,
    pub model: Option<Fit>,
}

/// The context predictions need.
pub struct Objectives<'a> {
    pub strategy: &'a Strategy,
    pub cost_of: &'a (dyn Fn(u32, f64) -> f64 + Sync),
    pub stats: &'a StatsOptions,
    pub timeout_ms: f64,
    /// The function's size now, which a strategy's latency guard compares with.
    pub current_mb: Option<u32>,
}

pub async fn explore<S: Sampler>(
    sweeper: &mut S,
    objectives: &Objectives<'_>,
    limits: &AdaptiveLimits,
    on_event: &OnEvent,
) -> Result<Explored, SweepError> {
    let mut raw: Vec<RawInvocation> = Vec::new();
    let mut first = initial_sizes(objectives.strategy.objective, limits.min_mb, limits.max_mb);
    let current = sweeper.original().memory_mb;
    if limits.include_current && (limits.min_mb..=limits.max_mb).contains(&current) {
        first.push(current);
        first.sort_unstable();
        first.dedup();
    }
    let mut batch: Vec<SizeRequest> = first
        .into_iter()
        .map(|memory_mb| SizeRequest {
            memory_mb,
            invocations: limits.initial_invocations,
            warmup: 0,
        })
        .collect();
    let mut last_fit = None;
    let mut model = None;
    for _round in 0..limits.max_rounds {
        if batch.is_empty() || over_budget(&raw, objectives, limits) {
            break;
        }
        raw.extend(sweeper.sample(&batch, &stop_when_failing, on_event).await?);
        let (samples, stats) = measured(&raw, objectives);
        let Some(fit) = fit_feasible(&samples, &stats, limits.production_tail) else {
            batch = edge_probe(&stats, limits)
                .map(|m| vec![request(m, limits.initial_invocations)])
                .unwrap_or_default();
            continue;
        };
        let (next, summary) = plan_round(&stats, &fit, objectives, limits);
        batch = next;
        last_fit = Some(summary);
        model = Some(fit);
    }
    // The last batch changed the data: refit on everything for the decision. Rounds ran out
    // before the choice was confirmed: confirm it now (in steps, for a latency SLO), and again
    // when the new samples move the choice to a size that was not confirmed (a size with few
    // samples that came out cheapest by luck), a few times at most. A size the last round
    // planned but never sampled comes first: without it the choice is whatever happened to be
    // measured (a timeout-prone function whose rounds went to finding its edge was recommended
    // 10240 MB, the one size whose bound cleared the margin, at 478% regret).
    let mut confirmations_left = if batch.is_empty() {
        0
    } else {
        FINAL_CONFIRMATIONS
    };
    let mut batches_left = FINAL_BATCHES;
    let mut last_sizes: Vec<u32> = Vec::new();
    let unsampled = |r: &SizeRequest| !raw.iter().any(|i| i.memory_mb == r.memory_mb);
    if limits.max_rounds > 0
        && batch.iter().any(unsampled)
        && !over_budget(&raw, objectives, limits)
    {
        raw.extend(sweeper.sample(&batch, &stop_when_failing, on_event).await?);
        confirmations_left -= 1;
        batches_left -= 1;
        last_sizes = batch.iter().map(|r| r.memory_mb).collect();
    }
    loop {
        let (samples, stats) = measured(&raw, objectives);
        let Some(fit) = fit_feasible(&samples, &stats, limits.production_tail) else {
            break;
        };
        let open = confirmations_left > 0 && batches_left > 0;
        let confirm = if !open || over_budget(&raw, objectives, limits) {
            Vec::new()
        } else {
            let decide_on = smoothed(&stats, &fit, objectives.cost_of, objectives.stats);
            match crate::strategy::recommend(objectives.strategy, &decide_on, None) {
                Ok(choice) => confirm_batch(&decide_on, &fit, &choice, objectives, limits)
                    .into_iter()
                    .collect(),
                // Nothing is feasible yet: keep searching instead of confirming.
                Err(_) => plan_round(&stats, &fit, objectives, limits).0,
            }
        };
        model = Some(fit);
        if confirm.is_empty() {
            break;
        }
        let sizes: Vec<u32> = confirm.iter().map(|r| r.memory_mb).collect();
        if sizes != last_sizes {
            confirmations_left -= 1;
        }
        last_sizes = sizes;
        batches_left -= 1;
        raw.extend(
            sweeper
                .sample(&confirm, &stop_when_failing, on_event)
                .await?,
        );
    }
    // The report's curve comes from the fit the decision uses, not from the last round's: the
    // final phase's samples (a planned size, confirmations) are in it.
    let fit = match &model {
        Some(fit) => {
            let (_, stats) = measured(&raw, objectives);
            let (prediction, floor) = predicted(&stats, fit, objectives, limits);
            Some(summarize(fit, prediction.optimum, floor, limits.max_mb))
        }
        None => last_fit,
    };
    Ok(Explored { raw, fit, model })
}

/// One round's plan on the data so far: the fit's prediction, and what to sample next.
fn plan_round(
    stats: &[SizeStats],
    fit: &Fit,
    objectives: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> (Vec<SizeRequest>, FitSummary) {
    let (prediction, floor) = predicted(stats, fit, objectives, limits);
    let summary = summarize(fit, prediction.optimum, floor, limits.max_mb);
    let decide_on = smoothed(stats, fit, objectives.cost_of, objectives.stats);
    trace_sizes("round", &decide_on, objectives.strategy);
    tracing::debug!(optimum = prediction.optimum, floor, "adaptive: predicted");
    let mut batch = next_batch(&decide_on, fit, &prediction, floor, objectives, limits);
    if batch.is_empty() && objectives.strategy.objective == Objective::Cost {
        batch = precision_batch(&decide_on, fit.noise_sigma(), limits);
    }
    (batch, summary)
}

/// Each size as the decision sees it, for `-v`.
pub(crate) fn trace_sizes(stage: &str, stats: &[SizeStats], strategy: &Strategy) {
    for s in stats {
        let Some(warm) = &s.warm else { continue };
        let q = warm.quantile(strategy.slo_percentile);
        tracing::debug!(
            stage,
            memory_mb = s.memory_mb,
            invocations = s.invocations,
            feasible = s.is_feasible(),
            mean_ms = warm.trimmed_mean_ms,
            percentile_ms = q.ms,
            upper_ms = q.upper_ms,
            usd = s.cost.map(|c| c.mean_usd),
            "adaptive: size"
        );
    }
}

fn measured(raw: &[RawInvocation], o: &Objectives<'_>) -> (Vec<Sample>, Vec<SizeStats>) {
    let samples: Vec<Sample> = observe(raw).into_iter().flatten().collect();
    let stats = measure::size_stats(&samples, o.stats, o.cost_of);
    (samples, stats)
}

fn request(memory_mb: u32, invocations: u32) -> SizeRequest {
    SizeRequest {
        memory_mb,
        invocations,
        warmup: 0,
    }
}

fn over_budget(raw: &[RawInvocation], o: &Objectives<'_>, limits: &AdaptiveLimits) -> bool {
    let invocations = raw.len() as u64;
    if limits.budget_invocations.is_some_and(|b| invocations >= b) {
        return true;
    }
    limits.budget_usd.is_some_and(|b| {
        let spent: f64 = observe(raw)
            .iter()
            .zip(raw)
            .map(|(s, r)| {
                let billed = s
                    .as_ref()
                    .and_then(|s| s.report.as_ref())
                    .map(|rep| rep.billed_ms as f64)
                    .unwrap_or(0.0);
                (o.cost_of)(r.memory_mb, billed)
            })
            .sum();
        spent >= b
    })
}

/// Fits the warm durations of the sizes that passed screening, with production's tail when
/// there is one.
fn fit_feasible(
    samples: &[Sample],
    stats: &[SizeStats],
    production_tail: Option<ProductionTail>,
) -> Option<Fit> {
    let feasible: Vec<SizeSamples> = stats
        .iter()
        .filter(|s| s.is_feasible())
        .map(|s| SizeSamples {
            memory_mb: s.memory_mb,
            warm_ms: samples
                .iter()
                .filter(|x| x.memory_mb == s.memory_mb && !x.cold)
                .filter(|x| matches!(x.outcome, measure::Outcome::Success))
                .filter_map(|x| x.report.as_ref().map(|r| r.duration_ms))
                .collect(),
        })
        .filter(|s| !s.warm_ms.is_empty())
        .collect();
    if feasible.len() < 2 {
        return None;
    }
    fit::fit_with(&feasible, production_tail).ok()
}
