//! Adaptive search: sample a few sizes, fit the duration curve, predict the strategy's
//! objective for every size on the 1 MB grid, and sample where the decision is still open —
//! the predicted optimum, the out-of-memory edge — until the measured optimum agrees with the
//! prediction or the budget is spent.

use serde::Serialize;

use crate::fit::{self, Fit, SizeSamples};
use crate::measure::{self, Sample, SizeStats, StatsOptions};
use crate::platform::LambdaApi;
use crate::strategy::{Objective, Strategy};
use crate::sweep::{RawInvocation, SizeRequest, SweepError, Sweeper};

use super::{observe, stop_when_failing, OnEvent};

/// Limits of an adaptive search.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveLimits {
    /// Invocations at a size when it is first sampled (the first is cold).
    pub initial_invocations: u32,
    /// Invocations the chosen size (and its close rivals) get before the search stops.
    pub confirm_invocations: u32,
    pub max_rounds: u32,
    pub budget_invocations: Option<u64>,
    pub budget_usd: Option<f64>,
    pub min_mb: u32,
    pub max_mb: u32,
    /// Also sample the function's current size, for a before/after comparison.
    pub include_current: bool,
}

impl AdaptiveLimits {
    /// The defaults: 4 invocations at a size first sampled (the first is cold), up to 8
    /// rounds, no budget, the current size sampled too.
    pub fn new(min_mb: u32, max_mb: u32, confirm_invocations: u32) -> AdaptiveLimits {
        AdaptiveLimits {
            initial_invocations: 4,
            confirm_invocations,
            max_rounds: 8,
            budget_invocations: None,
            budget_usd: None,
            min_mb,
            max_mb,
            include_current: true,
        }
    }
}

/// The fitted curve, for reports: points every few MB with the mean's band and the p99.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FitSummary {
    pub model: String,
    pub cv_error: Option<f64>,
    pub predicted_optimum_mb: u32,
    pub points: Vec<FitPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FitPoint {
    pub memory_mb: u32,
    pub mean_ms: f64,
    pub mean_low_ms: f64,
    pub mean_high_ms: f64,
    pub p99_ms: f64,
}

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
}

/// First sizes: spread over the range, with 1769 MB (one full vCPU) where single-threaded work
/// stops getting faster; speed-minded objectives also look past it.
pub fn initial_sizes(objective: Objective, min_mb: u32, max_mb: u32) -> Vec<u32> {
    let mut sizes = vec![min_mb.max(128), 512, 1769];
    if objective != Objective::Cost {
        sizes.push(4096);
    }
    let mut sizes: Vec<u32> = sizes.into_iter().map(|s| s.clamp(min_mb, max_mb)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

pub async fn explore<A: LambdaApi>(
    sweeper: &mut Sweeper<'_, A>,
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
        let samples: Vec<Sample> = observe(&raw).into_iter().flatten().collect();
        let stats = measure::size_stats(&samples, objectives.stats, objectives.cost_of);
        let Some(fit) = fit_feasible(&samples, &stats) else {
            batch = edge_probe(&stats, limits)
                .map(|m| vec![request(m, limits.initial_invocations)])
                .unwrap_or_default();
            continue;
        };
        let floor = feasible_floor(&stats, limits);
        let prediction = predict(&fit, objectives, floor, limits.max_mb);
        last_fit = Some(summarize(&fit, prediction.optimum, floor, limits.max_mb));
        batch = next_batch(&stats, &prediction, floor, objectives, limits);
        model = Some(fit);
    }
    // The last batch changed the data: refit on everything for the decision.
    let samples: Vec<Sample> = observe(&raw).into_iter().flatten().collect();
    let stats = measure::size_stats(&samples, objectives.stats, objectives.cost_of);
    if let Some(fit) = fit_feasible(&samples, &stats) {
        model = Some(fit);
    }
    Ok(Explored {
        raw,
        fit: last_fit,
        model,
    })
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

/// Fits the warm durations of the sizes that passed screening.
fn fit_feasible(samples: &[Sample], stats: &[SizeStats]) -> Option<Fit> {
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
    fit::fit(&feasible).ok()
}

/// The smallest size that can be feasible: above every measured size that ran out of memory,
/// and at least the memory headroom over the memory used.
fn feasible_floor(stats: &[SizeStats], limits: &AdaptiveLimits) -> u32 {
    let above_oom = stats
        .iter()
        .filter(|s| s.failures.out_of_memory > 0)
        .map(|s| s.memory_mb + 1)
        .max()
        .unwrap_or(limits.min_mb);
    let headroom = stats
        .iter()
        .filter_map(|s| s.max_memory_used_mb)
        .max()
        .map(|used| (used as f64 * 1.2).ceil() as u32)
        .unwrap_or(0);
    above_oom.max(headroom).max(limits.min_mb)
}

/// With fewer than two feasible sizes, probe upward from the largest infeasible one.
fn edge_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
    let highest_bad = stats
        .iter()
        .filter(|s| !s.is_feasible())
        .map(|s| s.memory_mb)
        .max()?;
    let lowest_good_above = stats
        .iter()
        .filter(|s| s.is_feasible() && s.memory_mb > highest_bad)
        .map(|s| s.memory_mb)
        .min();
    let next = match lowest_good_above {
        Some(good) => highest_bad + (good - highest_bad) / 2,
        None => (highest_bad * 2).min(limits.max_mb),
    };
    (next > highest_bad && !stats.iter().any(|s| s.memory_mb == next)).then_some(next)
}

/// What the fitted curve predicts: the best size, and every size whose objective is within
/// the strategy's tolerance of the best (choosing any of those costs at most the tolerance).
pub struct Prediction {
    pub optimum: u32,
    acceptable: Vec<u32>,
}

impl Prediction {
    pub fn accepts(&self, memory_mb: u32) -> bool {
        self.acceptable.binary_search(&memory_mb).is_ok()
    }
}

/// One candidate size as the fit sees it.
struct Candidate {
    memory_mb: u32,
    mean_ms: f64,
    cost_usd: f64,
}

/// Predicts the strategy's choice on the 1 MB grid within [floor, max].
pub fn predict(fit: &Fit, o: &Objectives<'_>, floor: u32, max_mb: u32) -> Prediction {
    let s = o.strategy;
    let tail_limit = s.timeout_fraction * o.timeout_ms;
    let candidates: Vec<Candidate> = (floor..=max_mb)
        .filter(|&m| fit.quantile_ms(m, 0.99) <= tail_limit)
        .map(|m| {
            let mean_ms = fit.mean_ms(m);
            Candidate {
                memory_mb: m,
                mean_ms,
                cost_usd: (o.cost_of)(m, mean_ms + 0.5),
            }
        })
        .collect();
    if candidates.is_empty() {
        return Prediction {
            optimum: max_mb,
            acceptable: Vec::new(),
        };
    }
    let pool: Vec<&Candidate> = match (s.objective, s.slo_ms) {
        (Objective::LatencySlo, Some(slo)) => {
            let p = s.slo_percentile.fraction();
            let meeting: Vec<&Candidate> = candidates
                .iter()
                .filter(|c| fit.quantile_band(c.memory_mb, p).1 <= slo)
                .collect();
            if meeting.is_empty() {
                candidates.iter().collect()
            } else {
                meeting
            }
        }
        _ => candidates.iter().collect(),
    };
    let (acceptable, optimum) = match s.objective {
        Objective::Cost | Objective::LatencySlo => {
            let cheapest = pool
                .iter()
                .map(|c| c.cost_usd)
                .fold(f64::INFINITY, f64::min);
            let ok: Vec<&Candidate> = pool
                .iter()
                .copied()
                .filter(|c| c.cost_usd <= cheapest * (1.0 + s.cost_tolerance))
                .collect();
            let optimum = fastest(&ok);
            (ok, optimum)
        }
        Objective::Speed => {
            let best = pool.iter().map(|c| c.mean_ms).fold(f64::INFINITY, f64::min);
            let ok: Vec<&Candidate> = pool
                .iter()
                .copied()
                .filter(|c| c.mean_ms <= best * (1.0 + s.speed_tolerance))
                .collect();
            let optimum = ok.first().map(|c| c.memory_mb).unwrap_or(max_mb);
            (ok, optimum)
        }
        Objective::Balanced => {
            let max_cost = pool.iter().map(|c| c.cost_usd).fold(0.0, f64::max);
            let max_mean = pool.iter().map(|c| c.mean_ms).fold(0.0, f64::max);
            let w = s.balanced_weight;
            let score =
                |c: &Candidate| w * c.cost_usd / max_cost + (1.0 - w) * c.mean_ms / max_mean;
            let best = pool.iter().map(|c| score(c)).fold(f64::INFINITY, f64::min);
            // Scores are normalised to 0..1: within 0.01 of the best is a tie.
            let ok: Vec<&Candidate> = pool
                .iter()
                .copied()
                .filter(|c| score(c) <= best + 0.01)
                .collect();
            let optimum = pool
                .iter()
                .min_by(|a, b| score(a).total_cmp(&score(b)))
                .map(|c| c.memory_mb)
                .unwrap_or(max_mb);
            (ok, optimum)
        }
    };
    Prediction {
        optimum,
        acceptable: acceptable.iter().map(|c| c.memory_mb).collect(),
    }
}

fn fastest(pool: &[&Candidate]) -> u32 {
    pool.iter()
        .min_by(|a, b| a.mean_ms.total_cmp(&b.mean_ms))
        .map(|c| c.memory_mb)
        .unwrap_or(MAX_MB)
}

const MAX_MB: u32 = crate::lab::workload::MAX_MEMORY_MB;

/// A measured size close enough to `m` that measuring `m` too would tell nothing new.
fn measured_near(stats: &[SizeStats], m: u32) -> Option<&SizeStats> {
    let reach = (m as f64 * 0.02).max(16.0);
    stats
        .iter()
        .filter(|s| (s.memory_mb as f64 - m as f64).abs() <= reach)
        .min_by_key(|s| s.memory_mb.abs_diff(m))
}

/// What to sample next: the predicted optimum, unless a measured choice already lies within
/// the strategy's tolerance of it by the fit; then more invocations at that choice until it
/// is confirmed.
fn next_batch(
    stats: &[SizeStats],
    prediction: &Prediction,
    floor: u32,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Vec<SizeRequest> {
    if let Some(probe) = extrapolation_probe(stats, limits) {
        return vec![request(probe, limits.initial_invocations)];
    }
    let choice = crate::strategy::recommend(o.strategy, stats, None).ok();
    let settled = choice
        .as_ref()
        .is_some_and(|c| prediction.accepts(c.memory_mb));
    if !settled {
        match measured_near(stats, prediction.optimum) {
            None => return vec![request(prediction.optimum, limits.initial_invocations)],
            Some(near) if !near.is_feasible() => {
                // The optimum sits on the out-of-memory edge: probe just above it.
                let probe = (near.memory_mb + (near.memory_mb / 8).max(32)).min(limits.max_mb);
                if measured_near(stats, probe).is_none() {
                    return vec![request(probe.max(floor), limits.initial_invocations)];
                }
            }
            Some(_) => {}
        }
    }
    let Some(choice) = choice else {
        return Vec::new();
    };
    if let Some(probe) = bracket_probe(stats, choice.memory_mb, limits) {
        return vec![request(probe, limits.initial_invocations)];
    }
    let have = stats
        .iter()
        .find(|s| s.memory_mb == choice.memory_mb)
        .map(|s| s.invocations as u32)
        .unwrap_or(0);
    if have < limits.confirm_invocations {
        vec![request(choice.memory_mb, limits.confirm_invocations - have)]
    } else {
        Vec::new()
    }
}

/// A choice with no measured size above it may sit on a curve that keeps paying off (GC
/// pressure fading with memory): measure one size a quarter above it before settling.
fn bracket_probe(stats: &[SizeStats], choice: u32, limits: &AdaptiveLimits) -> Option<u32> {
    let above = stats.iter().any(|s| s.memory_mb > choice);
    let probe = (choice + choice / 4).min(limits.max_mb);
    (!above && probe > choice && measured_near(stats, probe).is_none()).then_some(probe)
}

/// Two feasible sizes cannot tell a curve that flattens from one that keeps falling: probe
/// above the largest one.
fn extrapolation_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
    let feasible: Vec<u32> = stats
        .iter()
        .filter(|s| s.is_feasible())
        .map(|s| s.memory_mb)
        .collect();
    let largest = *feasible.iter().max()?;
    let probe = (largest + largest / 2).min(limits.max_mb);
    (feasible.len() < 3 && probe > largest && measured_near(stats, probe).is_none())
        .then_some(probe)
}

/// The statistics the decision uses after an adaptive search: at each measured feasible size
/// the fitted curve's estimates, which pool every sample instead of the few taken at that size
/// (cost from the fitted mean; percentile bounds from the fitted noise band). Only measured
/// sizes remain candidates.
pub fn smoothed(
    stats: &[SizeStats],
    fit: &Fit,
    cost_of: &dyn Fn(u32, f64) -> f64,
    confidence_percentiles: [(crate::measure::Percentile, f64); 3],
) -> Vec<SizeStats> {
    stats
        .iter()
        .cloned()
        .map(|mut s| {
            if !s.is_feasible() {
                return s;
            }
            let m = s.memory_mb;
            if let (Some(warm), Some(cost)) = (s.warm.as_mut(), s.cost.as_mut()) {
                let mean = fit.mean_ms(m);
                let fitted = cost_of(m, mean + 0.5) + cost.init_usd;
                let shift = fitted - cost.mean_usd;
                cost.mean_usd = fitted;
                cost.ci_low_usd += shift;
                cost.ci_high_usd += shift;
                warm.trimmed_mean_ms = mean;
                for (percentile, p) in confidence_percentiles {
                    let q = match percentile {
                        crate::measure::Percentile::P50 => &mut warm.p50,
                        crate::measure::Percentile::P90 => &mut warm.p90,
                        crate::measure::Percentile::P99 => &mut warm.p99,
                    };
                    let (_, high) = fit.quantile_band(m, p);
                    q.upper_ms = Some(high.max(q.ms));
                }
            }
            s
        })
        .collect()
}

fn summarize(fit: &Fit, optimum: u32, floor: u32, max_mb: u32) -> FitSummary {
    let mut sizes: Vec<u32> = (floor..=max_mb).step_by(64).collect();
    sizes.extend([floor, optimum, max_mb, 1769.clamp(floor, max_mb)]);
    sizes.sort_unstable();
    sizes.dedup();
    FitSummary {
        model: fit.model().as_str().to_string(),
        cv_error: fit.cv_error(),
        predicted_optimum_mb: optimum,
        points: sizes
            .into_iter()
            .map(|m| {
                let (lo, hi) = fit.mean_band(m);
                FitPoint {
                    memory_mb: m,
                    mean_ms: fit.mean_ms(m),
                    mean_low_ms: lo,
                    mean_high_ms: hi,
                    p99_ms: fit.quantile_ms(m, 0.99),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_sizes_respect_bounds_and_objective() {
        assert_eq!(initial_sizes(Objective::Cost, 128, 10240), [128, 512, 1769]);
        assert_eq!(
            initial_sizes(Objective::Speed, 128, 10240),
            [128, 512, 1769, 4096]
        );
        assert_eq!(initial_sizes(Objective::Cost, 1024, 2048), [1024, 1769]);
    }
}
