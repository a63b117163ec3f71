//! Where the fitted curve puts the strategy's choice, within the sizes that can be feasible.

use crate::fit::{Fit, InitCurve};
use crate::measure::SizeStats;
use crate::strategy::{self, Candidate, CostEstimate, Goal, Objective, PercentileEstimate, Why};

use super::estimates::anticipated_upper;
use super::limits::{bound_confidence, confirmation, AdaptiveLimits};
use super::Objectives;

/// The fit's prediction within the feasible range the data leave, and that range's floor.
pub(super) fn predicted(
    stats: &[SizeStats],
    fit: &Fit,
    objectives: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> (Prediction, u32) {
    let floor = feasible_floor(stats, limits);
    let init = InitCurve::new(
        stats
            .iter()
            .filter_map(|s| Some((s.memory_mb, s.mean_init_ms?))),
    );
    let most = confirmation(objectives.strategy.objective, limits, true);
    // A latency guard compares with the current size only while it is safe (as the final
    // choice does).
    let guard_at = objectives
        .current_mb
        .filter(|_| objectives.strategy.guards_latency())
        .filter(|&now| stats.iter().any(|s| s.memory_mb == now && s.is_feasible()));
    let prediction = predict(
        fit,
        &init,
        objectives,
        (floor, limits.max_mb),
        most,
        guard_at,
    );
    (prediction, floor)
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

/// What the fitted curve predicts: the size the strategy would choose.
pub struct Prediction {
    pub optimum: u32,
    /// For cost: the sizes around the optimum whose predicted cost is within [`FLAT_COST`] of
    /// it, where a measured size stands in for the optimum.
    pub flat_mb: Option<(u32, u32)>,
}

/// Predicted cost difference below which a measured size stands in for the predicted optimum.
const FLAT_COST: f64 = 0.01;

/// The run of `candidates` (ascending, on the 1 MB grid) around `optimum` whose cost is within
/// [`FLAT_COST`] of the optimum's: near the memory floor the cost curve can be steep, and a
/// size 5% away can cost 3% more.
pub(super) fn flat_around(candidates: &[Candidate], optimum: u32) -> Option<(u32, u32)> {
    let at = candidates.iter().position(|c| c.memory_mb == optimum)?;
    let limit = candidates[at].cost.mean_usd * (1.0 + FLAT_COST);
    let flat = |c: &&Candidate| c.cost.mean_usd <= limit;
    let low = candidates[..=at].iter().rev().take_while(flat).last()?;
    let high = candidates[at..].iter().take_while(flat).last()?;
    Some((low.memory_mb, high.memory_mb))
}

/// Predicts the strategy's choice on the 1 MB grid within [floor, max], by the rule the final
/// choice applies ([`strategy::decide`]) to the fitted curve's estimates, among the sizes its
/// latency guard allows against `guard_at` (the current size, when safe) by the fitted p99
/// and p50, so that the search samples where a guarded choice can land. Costs carry INIT,
/// weighted by the cold-start ratio as the measured sizes' costs do: with a heavy INIT that
/// shrinks slower than memory grows, a size below one vCPU can be markedly cheaper even where
/// warm cost is flat.
pub fn predict(
    fit: &Fit,
    init: &InitCurve,
    o: &Objectives<'_>,
    (floor, max_mb): (u32, u32),
    confirmations: u32,
    guard_at: Option<u32>,
) -> Prediction {
    let s = o.strategy;
    // A latency SLO without its target, which the final choice refuses, is searched as cost.
    let goal = Goal::of(s).unwrap_or(Goal::Cost {
        tolerance: s.cost_tolerance,
    });
    let tail_limit = s.timeout_fraction * o.timeout_ms;
    let init_usd = |m: u32| {
        init.init_ms(m).map_or(0.0, |ms| {
            o.stats.cold_start_ratio * ((o.cost_of)(m, ms.ceil()) - (o.cost_of)(m, 0.0))
        })
    };
    // Sizes whose p99 would be bounded within the timeout margin once confirmed, else those
    // whose estimate lies within it (the confirmation then decides).
    let ahead = fit.anticipating(confirmations as usize);
    let level = bound_confidence(o.stats.confidence);
    let candidate = |m: u32| {
        let mean_ms = fit.mean_ms(m);
        // An SLO's percentile: its estimate, and the bound it would have once confirmed (the
        // confirmation's samples narrow it; today's band, without them, would send the search
        // well above the crossing).
        let percentile = matches!(goal, Goal::LatencySlo { .. }).then(|| {
            let p = s.slo_percentile.fraction();
            PercentileEstimate {
                ms: fit.quantile_ms(m, p),
                upper_ms: Some(anticipated_upper(&ahead, m, None, confirmations, p, level)),
            }
        });
        Candidate {
            memory_mb: m,
            cost: CostEstimate::point((o.cost_of)(m, mean_ms + 0.5) + init_usd(m)),
            duration_ms: mean_ms,
            percentile,
        }
    };
    let within_guard = |m: u32| {
        guard_at.is_none_or(|now| {
            let allows = |p: f64, max: Option<f64>| {
                max.is_none_or(|x| fit.quantile_ms(m, p) <= (1.0 + x) * fit.quantile_ms(now, p))
            };
            allows(0.99, s.max_p99_increase) && allows(0.5, s.max_p50_increase)
        })
    };
    let safe =
        |m: &u32| anticipated_upper(&ahead, *m, None, confirmations, 0.99, level) <= tail_limit;
    let mut candidates: Vec<Candidate> = (floor..=max_mb)
        .filter(safe)
        .filter(|&m| within_guard(m))
        .map(candidate)
        .collect();
    if candidates.is_empty() {
        candidates = (floor..=max_mb).filter(safe).map(candidate).collect();
    }
    if candidates.is_empty() {
        candidates = (floor..=max_mb)
            .filter(|&m| fit.quantile_ms(m, 0.99) <= tail_limit)
            .map(candidate)
            .collect();
    }
    let Some(decision) = strategy::decide(goal, &candidates) else {
        return Prediction {
            optimum: max_mb,
            flat_mb: None,
        };
    };
    let optimum = match decision.why {
        // Nothing is predicted to meet the SLO: the size with the lowest estimate, which the
        // search measures to find the flat run whose cheapest size the final choice takes.
        Why::SloOutOfReach { lowest, .. } => candidates[lowest].memory_mb,
        _ => candidates[decision.chosen].memory_mb,
    };
    let flat_mb = match s.objective {
        Objective::Cost => flat_around(&candidates, optimum),
        _ => None,
    };
    Prediction { optimum, flat_mb }
}
