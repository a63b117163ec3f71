//! Adaptive search: sample a few sizes, fit the duration curve, predict the strategy's
//! objective for every size on the 1 MB grid, and sample where the decision is still open —
//! the predicted optimum, the out-of-memory edge — until the measured optimum agrees with the
//! prediction or the budget is spent.

use serde::Serialize;

use crate::fit::{self, Fit, InitCurve, ProductionTail, SizeSamples};
use crate::measure::{self, Infeasibility, Percentile, Sample, SizeStats, StatsOptions};
use crate::platform::LambdaApi;
use crate::strategy::{
    self, Candidate, CostEstimate, Goal, Objective, PercentileEstimate, Recommendation, Strategy,
    Why,
};
use crate::sweep::{RawInvocation, SizeRequest, SweepError, Sweeper};

use super::{observe, stop_when_failing, OnEvent};

/// Confirmations after the last round that move to other sizes (the choice moved, or a rival
/// is tried); more steps at the same sizes do not count, up to [`FINAL_BATCHES`] batches.
const FINAL_CONFIRMATIONS: usize = 3;
/// Batches after the last round, at most.
const FINAL_BATCHES: usize = 12;

/// Sizes a search weighs against each other near an SLO's crossing, for [`bound_confidence`].
const SIZES_COMPARED: f64 = 10.0;

/// Confidence of the upper bounds on a size's percentiles, which an SLO and the timeout
/// margin are judged on, for a strategy's `confidence`. The search settles on the cheapest of
/// the sizes near the crossing whose bound meets the SLO, so a bound at the strategy's level
/// would let a size just over the SLO through about once in 1 / (1 - confidence) searches
/// (a 97.5% bound let one function in forty through). Each bound takes that level's error
/// divided among [`SIZES_COMPARED`] sizes (Bonferroni): 95% gives 99.5%, 99% gives 99.9%.
pub fn bound_confidence(confidence: f64) -> f64 {
    1.0 - (1.0 - confidence) / SIZES_COMPARED
}

/// Limits of an adaptive search.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveLimits {
    /// Invocations at a size when it is first sampled (the first is cold).
    pub initial_invocations: u32,
    /// Invocations the chosen size (and its close rivals) get before the search stops.
    pub confirm_invocations: u32,
    /// The most a latency SLO's choice (or a size held out only by its tail's bound) gets while
    /// its bound does not confirm it; `None`: three times the first confirmation, within
    /// `confirm_invocations` ([`confirmation`]). `recommend --invocations N` sets N.
    pub unconfirmed_invocations: Option<u32>,
    /// Rounds of sampling where the fit leaves the choice open; a size the last one planned is
    /// still sampled before the choice is confirmed.
    pub max_rounds: u32,
    pub budget_invocations: Option<u64>,
    pub budget_usd: Option<f64>,
    pub min_mb: u32,
    pub max_mb: u32,
    /// Also sample the function's current size, for a before/after comparison.
    pub include_current: bool,
    /// Production's durations: p50/p90/p99 at their ratios to its average, in place of what
    /// the test samples show, and each size located by its median ([`fit::fit_with`]).
    pub production_tail: Option<ProductionTail>,
}

impl AdaptiveLimits {
    /// The defaults: 4 invocations at a size first sampled (the first is cold), up to 8
    /// rounds, no budget, the current size sampled too.
    pub fn new(min_mb: u32, max_mb: u32, confirm_invocations: u32) -> AdaptiveLimits {
        AdaptiveLimits {
            initial_invocations: 4,
            confirm_invocations,
            unconfirmed_invocations: None,
            max_rounds: 8,
            budget_invocations: None,
            budget_usd: None,
            min_mb,
            max_mb,
            include_current: true,
            production_tail: None,
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

/// First sizes. Cost starts cheap and dense at the bottom, where garbage collection puts the
/// optimum of memory-hungry functions, and climbs only where the fit says cost keeps
/// falling. Latency and speed need the curve's shape up to 1769 MB (one full vCPU, where
/// single-threaded work stops getting faster); speed-minded objectives also look past it.
pub fn initial_sizes(objective: Objective, min_mb: u32, max_mb: u32) -> Vec<u32> {
    let mut sizes = match objective {
        Objective::Cost => vec![min_mb, 2 * min_mb, 4 * min_mb],
        Objective::LatencySlo => vec![min_mb.max(128), 512, 1769],
        Objective::Speed | Objective::Balanced => vec![min_mb.max(128), 512, 1769, 4096],
    };
    sizes = sizes.into_iter().map(|s| s.clamp(min_mb, max_mb)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < 2 && min_mb < max_mb {
        // A curve needs two sizes.
        sizes = vec![min_mb, max_mb];
    }
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
    let mut batch = next_batch(&decide_on, fit, &prediction, floor, objectives, limits);
    if batch.is_empty() && objectives.strategy.objective == Objective::Cost {
        batch = precision_batch(&decide_on, fit.noise_sigma(), limits);
    }
    (batch, summary)
}

/// The fit's prediction within the feasible range the data leave, and that range's floor.
fn predicted(
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
    let prediction = predict(fit, &init, objectives, (floor, limits.max_mb), most);
    (prediction, floor)
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
fn flat_around(candidates: &[Candidate], optimum: u32) -> Option<(u32, u32)> {
    let at = candidates.iter().position(|c| c.memory_mb == optimum)?;
    let limit = candidates[at].cost.mean_usd * (1.0 + FLAT_COST);
    let flat = |c: &&Candidate| c.cost.mean_usd <= limit;
    let low = candidates[..=at].iter().rev().take_while(flat).last()?;
    let high = candidates[at..].iter().take_while(flat).last()?;
    Some((low.memory_mb, high.memory_mb))
}

/// Predicts the strategy's choice on the 1 MB grid within [floor, max], by the rule the final
/// choice applies ([`strategy::decide`]) to the fitted curve's estimates. Costs carry INIT,
/// weighted by the cold-start ratio as the measured sizes' costs do: with a heavy INIT that
/// shrinks slower than memory grows, a size below one vCPU can be markedly cheaper even where
/// warm cost is flat.
pub fn predict(
    fit: &Fit,
    init: &InitCurve,
    o: &Objectives<'_>,
    (floor, max_mb): (u32, u32),
    confirmations: u32,
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
    let mut candidates: Vec<Candidate> = (floor..=max_mb)
        .filter(|&m| anticipated_upper(&ahead, m, None, confirmations, 0.99, level) <= tail_limit)
        .map(candidate)
        .collect();
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
        // Nothing is predicted to meet the SLO: the size that comes closest, which the search
        // measures to find the flat run whose cheapest size the final choice takes.
        Why::SloOutOfReach { closest, .. } => candidates[closest].memory_mb,
        _ => candidates[decision.chosen].memory_mb,
    };
    let flat_mb = match s.objective {
        Objective::Cost => flat_around(&candidates, optimum),
        _ => None,
    };
    Prediction { optimum, flat_mb }
}

/// A measured size close enough to `m` that measuring `m` too would tell little new: near an
/// optimum the objective is flat, so a size within 8% of it costs a fraction of a percent.
fn measured_near(stats: &[SizeStats], m: u32) -> Option<&SizeStats> {
    measured_within(stats, m, (f64::from(m) * 0.08).max(16.0))
}

/// The measured size closest to `m`, if one lies within `reach_mb` of it.
fn measured_within(stats: &[SizeStats], m: u32, reach_mb: f64) -> Option<&SizeStats> {
    stats
        .iter()
        .filter(|s| f64::from(s.memory_mb.abs_diff(m)) <= reach_mb)
        .min_by_key(|s| s.memory_mb.abs_diff(m))
}

/// What to sample next: too few sizes to tell the curve's shape, then the predicted optimum,
/// then the edges of the measured choice (is anything cheaper above or below it?), then more
/// invocations at the choice until it is confirmed.
fn next_batch(
    stats: &[SizeStats],
    fit: &Fit,
    prediction: &Prediction,
    floor: u32,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Vec<SizeRequest> {
    let probe = extrapolation_probe(stats, limits)
        .filter(|_| !largest_meets_the_slo(stats, o.strategy))
        .or_else(|| optimum_probe(stats, prediction, floor, limits));
    if let Some(probe) = probe {
        return vec![request(probe, limits.initial_invocations)];
    }
    let Ok(choice) = crate::strategy::recommend(o.strategy, stats, None) else {
        return tail_confirmation(stats, fit, o, limits)
            .into_iter()
            .collect();
    };
    // Cost-minded objectives settle on the cheapest size and speed on the fastest: their
    // edges are what to check.
    let anchor = match o.strategy.objective {
        Objective::Cost => cheapest_of(stats, &choice.band).unwrap_or(choice.memory_mb),
        Objective::Speed => fastest_of(stats).unwrap_or(choice.memory_mb),
        _ => choice.memory_mb,
    };
    let unmet_slo = choice.slo.is_some_and(|slo| !slo.met);
    let probe = if unmet_slo {
        slo_probe(stats, limits).filter(|_| !flat_at_the_top(stats, o.strategy.slo_percentile))
    } else {
        bracket_probe(stats, anchor, o.strategy.objective, limits).or_else(|| {
            match o.strategy.objective {
                Objective::Cost => floor_probe(stats, anchor, floor),
                _ => None,
            }
        })
    };
    if let Some(probe) = probe {
        return vec![request(probe, limits.initial_invocations)];
    }
    confirm_batch(stats, fit, &choice, o, limits)
        .into_iter()
        .collect()
}

/// More invocations at the current choice, until it has the confirmation it needs. A latency
/// choice gets at most a first confirmation's worth (8) at a time: one left unconfirmed after
/// its first 4 goes to 12, 20, then 24, and stops as soon as its bound meets the SLO.
fn confirm_batch(
    stats: &[SizeStats],
    fit: &Fit,
    choice: &Recommendation,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Option<SizeRequest> {
    if let Some(challenger) = slo_challenger(stats, fit, choice, o, limits) {
        return Some(challenger);
    }
    let chosen = stats.iter().find(|s| s.memory_mb == choice.memory_mb);
    let warm = chosen.and_then(|s| s.warm.as_ref());
    if choice.slo.is_none() && warm.is_some_and(|w| pinned_within_tolerance(w, o.strategy)) {
        return None;
    }
    let have = chosen.map_or(0, |s| s.invocations as u32);
    let unconfirmed_slo = choice.slo.is_some_and(|slo| !slo.met_with_confidence);
    let mut wanted = confirmation(o.strategy.objective, limits, unconfirmed_slo);
    if o.strategy.objective == Objective::LatencySlo {
        wanted = wanted.min(have + confirm_target(o.strategy.objective, limits));
    }
    (have < wanted).then(|| request(choice.memory_mb, wanted - have))
}

/// Nothing measured is feasible, but some sizes fail only because a few samples cannot bound
/// their p99 below the timeout margin while their estimate lies below it: more invocations at
/// the best of them, to tell a heavy tail from a short sample, up to what an SLO left
/// unconfirmed would get (three times the SLO confirmation within the run's per-size limit:
/// 24 for `latency-slo`, 10 for the strategies whose `invocations` is 10). The best is the
/// cheapest (for speed: the fastest) that so many samples would bound below the margin if its
/// estimate holds, else the one whose estimate lies lowest.
fn tail_confirmation(
    stats: &[SizeStats],
    fit: &Fit,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Option<SizeRequest> {
    let most = confirmation(Objective::LatencySlo, limits, true);
    let limit_ms = o.strategy.timeout_fraction * o.timeout_ms;
    let open: Vec<(&SizeStats, &measure::WarmStats, f64)> = stats
        .iter()
        .filter(|s| s.held_out_by_its_bound())
        .filter(|s| (s.invocations as u32) < most)
        .filter_map(|s| Some((s, s.warm.as_ref()?, s.cost?.mean_usd)))
        .collect();
    let level = bound_confidence(o.stats.confidence);
    let promising = open.iter().filter(|(s, warm, _)| {
        let ahead = fit.anticipating((most as usize).saturating_sub(s.invocations));
        anticipated_upper(&ahead, s.memory_mb, Some(warm), most, 0.99, level) <= limit_ms
    });
    let best = match o.strategy.objective {
        Objective::Speed => {
            promising.min_by(|a, b| a.1.trimmed_mean_ms.total_cmp(&b.1.trimmed_mean_ms))
        }
        _ => promising.min_by(|a, b| a.2.total_cmp(&b.2)),
    }
    .or_else(|| open.iter().min_by(|a, b| a.1.p99.ms.total_cmp(&b.1.p99.ms)))?;
    Some(confirmation_step(
        best.0,
        confirm_target(Objective::LatencySlo, limits),
        most,
    ))
}

/// A latency choice confirmed at some size can still have a cheaper rival: a measured size
/// whose p99 estimate meets the SLO but whose few samples cannot yet bound it. More
/// invocations there, up to the unconfirmed confirmation count, when that many would bound it
/// below the SLO if its estimate holds: the cheapest such rival first, one at a time, so the
/// search settles on the cheapest size that its own samples confirm.
fn slo_challenger(
    stats: &[SizeStats],
    fit: &Fit,
    choice: &Recommendation,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Option<SizeRequest> {
    let slo = choice.slo.filter(|slo| slo.met_with_confidence)?;
    let chosen_cost = stats
        .iter()
        .find(|s| s.memory_mb == choice.memory_mb)?
        .cost?
        .mean_usd;
    let most = confirmation(o.strategy.objective, limits, true);
    let p = o.strategy.slo_percentile;
    let level = bound_confidence(o.stats.confidence);
    stats
        .iter()
        .filter(|s| s.is_feasible() && (s.invocations as u32) < most)
        .filter_map(|s| Some((s, s.warm.as_ref()?, s.cost?.mean_usd)))
        .filter(|&(_, _, cost)| cost < chosen_cost * (1.0 - o.strategy.cost_tolerance))
        .filter(|&(_, warm, _)| warm.quantile(p).ms <= slo.slo_ms)
        .filter(|&(s, warm, _)| {
            let ahead = fit.anticipating((most as usize).saturating_sub(s.invocations));
            anticipated_upper(&ahead, s.memory_mb, Some(warm), most, p.fraction(), level)
                <= slo.slo_ms
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(s, _, _)| confirmation_step(s, confirm_target(o.strategy.objective, limits), most))
}

/// More invocations at a size under test: up to `first`, then up to `most`.
fn confirmation_step(size: &SizeStats, first: u32, most: u32) -> SizeRequest {
    let have = size.invocations as u32;
    let wanted = if have < first { first } else { most };
    request(size.memory_mb, wanted - have)
}

/// The upper bound a size's p-quantile would have with `n` warm samples whose mean came out
/// as its present estimate (the fitted curve's, pooled with its own samples when measured).
/// `ahead` is the fit anticipating the samples still to come ([`Fit::anticipating`]), so the
/// noise spread's band narrows with them too; callers make it once for many sizes.
fn anticipated_upper(
    ahead: &Fit,
    memory_mb: u32,
    own: Option<&measure::WarmStats>,
    n: u32,
    p: f64,
    confidence: f64,
) -> f64 {
    let fitted = ahead.mean_ms(memory_mb);
    let cv = own.map_or(0.0, |w| w.cv).max(ahead.noise_sigma());
    let estimate = own.map_or(fitted, |w| w.trimmed_mean_ms);
    let sample_se = cv * estimate / f64::from(n.max(1)).sqrt();
    let (mean, band) = combine_means(fitted, ahead.mean_band(memory_mb), estimate, sample_se);
    ahead.quantile_upper(memory_mb, p, mean, band, confidence)
}

/// Whether the choice's own samples already pin its mean within the objective's tolerance
/// (one standard error, from at least three warm samples; two can agree by chance): more
/// invocations there could not move the decision by more than the strategy accepts anyway.
/// Latency SLOs always confirm, since they rest on a tail.
fn pinned_within_tolerance(warm: &measure::WarmStats, strategy: &Strategy) -> bool {
    let tolerance = match strategy.objective {
        Objective::Speed => strategy.speed_tolerance,
        _ => strategy.cost_tolerance,
    };
    warm.samples >= 3 && warm.cv / (warm.samples as f64).sqrt() <= tolerance
}

/// Relative standard error a size's mean should reach before cost decisions rest on it.
const MEAN_PRECISION: f64 = 0.05;

/// With noisy durations a few invocations cannot rank sizes whose costs differ by a few
/// percent: more invocations at the sizes in contention (the lower bound of their cost within
/// 10% of the cheapest feasible size's), enough for the mean's standard error at the pooled
/// noise level to reach [`MEAN_PRECISION`], at most the confirmation count. A size held out
/// only by its tail's bound is in contention too: the same invocations narrow that bound (a
/// heavy-tailed function's cheapest size, 4 samples and a p99 bound past the timeout margin,
/// was left out while its neighbours got 10 each, and a size 13% dearer won).
fn precision_batch(stats: &[SizeStats], sigma: f64, limits: &AdaptiveLimits) -> Vec<SizeRequest> {
    let needed =
        ((sigma / MEAN_PRECISION).powi(2).ceil() as u32 + 1).min(limits.confirm_invocations);
    let cheapest = stats
        .iter()
        .filter(|s| s.is_feasible())
        .filter_map(|s| Some(s.cost?.mean_usd))
        .fold(f64::INFINITY, f64::min);
    if !cheapest.is_finite() {
        // Nothing feasible to compare with: `tail_confirmation` picks the size to confirm.
        return Vec::new();
    }
    stats
        .iter()
        .filter(|s| s.is_feasible() || s.held_out_by_its_bound())
        .filter_map(|s| Some((s.memory_mb, s.invocations as u32, s.cost?)))
        .filter(|&(_, n, cost)| cost.ci_low_usd <= 1.1 * cheapest && n < needed)
        .map(|(m, n, _)| request(m, needed - n))
        .collect()
}

/// Invocations the chosen size needs. A latency SLO is judged on a tail percentile, which
/// needs more samples, though the pooled noise model (or production's tail) draws on every
/// size too: twice the first sampling; the other objectives decide on the fitted curve, which
/// pools every size, so the choice needs only a few more invocations as evidence that it
/// works (memory used, no failures).
fn confirm_target(objective: Objective, limits: &AdaptiveLimits) -> u32 {
    match objective {
        Objective::LatencySlo => limits
            .confirm_invocations
            .min(2 * limits.initial_invocations),
        _ => limits
            .confirm_invocations
            .min(limits.initial_invocations + 2),
    }
}

/// Invocations the chosen size gets in all (within the run's per-size limit); a latency SLO
/// met by the estimate only gets up to three times the usual, or what the user asked for
/// (`unconfirmed_invocations`; [`confirm_batch`] adds them a first target at a time), as more
/// samples narrow the bound: most sizes are confirmed at the first target, and the few near
/// the crossing get what a bound that tight needs.
fn confirmation(objective: Objective, limits: &AdaptiveLimits, unconfirmed_slo: bool) -> u32 {
    let target = confirm_target(objective, limits);
    match (unconfirmed_slo, objective) {
        (false, _) => target,
        (true, Objective::LatencySlo) => limits
            .unconfirmed_invocations
            .unwrap_or((3 * target).min(limits.confirm_invocations))
            .max(target),
        // Other objectives only report on an SLO: twice their few confirmations.
        (true, _) => (2 * target).min(limits.confirm_invocations.max(target)),
    }
}

/// The most a search can sample, for a plan's worst case: its first sizes, and how many more
/// sizes it may add (at most one probe per round, the size the last round planned, one per
/// final batch), each size at most `per_size` invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub first: Vec<u32>,
    pub further_sizes: u32,
    pub per_size: u32,
}

pub fn reach(objective: Objective, limits: &AdaptiveLimits, current_mb: u32) -> Reach {
    let mut first = initial_sizes(objective, limits.min_mb, limits.max_mb);
    if limits.include_current && (limits.min_mb..=limits.max_mb).contains(&current_mb) {
        first.push(current_mb);
        first.sort_unstable();
        first.dedup();
    }
    let per_size = limits
        .confirm_invocations
        .max(confirmation(objective, limits, true))
        .max(limits.initial_invocations);
    Reach {
        first,
        further_sizes: limits.max_rounds + 1 + FINAL_BATCHES as u32,
        per_size,
    }
}

/// Invocations a search is expected to make before it samples beyond its first sizes: the
/// first sizes, and the choice's confirmation at most (for progress and plans).
pub fn expected_invocations(objective: Objective, limits: &AdaptiveLimits) -> u64 {
    let first = initial_sizes(objective, limits.min_mb, limits.max_mb).len() as u64;
    let confirm = confirmation(objective, limits, objective == Objective::LatencySlo);
    first * u64::from(limits.initial_invocations)
        + u64::from(confirm.saturating_sub(limits.initial_invocations))
}

/// The predicted optimum when nothing measured lies near it (for cost: within its flat run
/// too); on an infeasible edge, a size just above that edge.
fn optimum_probe(
    stats: &[SizeStats],
    prediction: &Prediction,
    floor: u32,
    limits: &AdaptiveLimits,
) -> Option<u32> {
    let optimum = prediction.optimum;
    if chases_speed_only(stats, prediction) {
        return one_vcpu_probe(stats, optimum, limits);
    }
    let near = measured_near(stats, optimum).filter(|near| {
        prediction
            .flat_mb
            .is_none_or(|(low, high)| (low..=high).contains(&near.memory_mb))
    });
    match near {
        None => Some(optimum),
        Some(near) if !near.is_feasible() => {
            let probe = (near.memory_mb + (near.memory_mb / 8).max(32)).min(limits.max_mb);
            measured_near(stats, probe)
                .is_none()
                .then_some(probe.max(floor))
        }
        Some(_) => None,
    }
}

/// Whether probing a cost optimum could buy little but speed: a measured feasible size already
/// lies in its flat run (within [`FLAT_COST`] of its predicted cost), so beyond that the
/// optimum is only the fastest size within the cost tolerance. On a flat cost curve (CPU-bound
/// work below one vCPU) that tie-break moves with every refit, and the search used to walk
/// after it (382, 437, 574, 820 ... MB), each probe costing as much as a grid point and most of
/// them never chosen, since the choice needs a size *confidently* within the tolerance. Optima
/// below [`COST_DIP_MB`] are still probed; one vCPU may be instead ([`one_vcpu_probe`]).
fn chases_speed_only(stats: &[SizeStats], prediction: &Prediction) -> bool {
    let Some((low, high)) = prediction.flat_mb else {
        return false;
    };
    prediction.optimum >= COST_DIP_MB
        && stats
            .iter()
            .any(|s| s.is_feasible() && (low..=high).contains(&s.memory_mb))
}

/// Below this size a cost optimum is probed even where a measured size costs the same by the
/// fit: real I/O-bound functions' cost dips between 128 and 256 MB as CPU starvation ends (the
/// calibrated `light` series are cheapest at 186-219 MB), a dip no model family has, and such
/// probes cost little.
const COST_DIP_MB: u32 = 256;

/// The one speed-only probe a cost search makes: one vCPU (1769 MB), where single-threaded
/// work stops speeding up, when the optimum lies at or above it (less a twelfth, about
/// [`measured_near`]'s reach) and no size near it is measured yet; a multi-threaded function's
/// optimum further up is not followed.
fn one_vcpu_probe(stats: &[SizeStats], optimum: u32, limits: &AdaptiveLimits) -> Option<u32> {
    let one_vcpu = (crate::fit::ONE_VCPU_MB as u32).min(limits.max_mb);
    let reaches = optimum + one_vcpu / 12 >= one_vcpu;
    (reaches && measured_near(stats, one_vcpu).is_none()).then_some(one_vcpu)
}

/// The cheapest of `sizes` by measured (or fitted) cost.
fn cheapest_of(stats: &[SizeStats], sizes: &[u32]) -> Option<u32> {
    stats
        .iter()
        .filter(|s| sizes.contains(&s.memory_mb))
        .filter_map(|s| Some((s.memory_mb, s.cost?.mean_usd)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m)
}

/// The fastest feasible size by (smoothed) mean duration.
fn fastest_of(stats: &[SizeStats]) -> Option<u32> {
    stats
        .iter()
        .filter(|s| s.is_feasible())
        .filter_map(|s| Some((s.memory_mb, s.warm.as_ref()?.trimmed_mean_ms)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(m, _)| m)
}

/// A size with no measured size above it may sit on a curve that keeps paying off (GC
/// pressure fading with memory, CPU speeding up to one full vCPU): below 1769 MB measure
/// 1769 MB, where single-threaded work stops speeding up; above it, a size a quarter up,
/// except for a met latency SLO: there a larger size is cheaper only where duration falls
/// faster than memory grows, which the fit shows and the optimum probe follows. Speed stops
/// once the median duration no longer falls ([`flat_at_the_top`]): on a flat curve noise
/// makes the largest size the fastest half the time, and each new one invites the next.
fn bracket_probe(
    stats: &[SizeStats],
    anchor: u32,
    objective: Objective,
    limits: &AdaptiveLimits,
) -> Option<u32> {
    let above = stats.iter().any(|s| s.memory_mb > anchor);
    let one_vcpu = crate::fit::ONE_VCPU_MB as u32;
    let done = match objective {
        Objective::LatencySlo => anchor >= one_vcpu,
        Objective::Speed => flat_at_the_top(stats, Percentile::P50),
        _ => false,
    };
    if done {
        return None;
    }
    let probe = if anchor < one_vcpu {
        one_vcpu
    } else {
        anchor + anchor / 4
    }
    .min(limits.max_mb);
    (!above && probe > anchor && measured_near(stats, probe).is_none()).then_some(probe)
}

/// Improvement of a percentile from the second-largest to the largest feasible measured size
/// below which the curve counts as flat at the top: an unmet SLO stops probing higher, and so
/// does speed.
const FLAT_GAIN: f64 = 0.05;

/// Whether the two largest feasible measured sizes, at least one vCPU apart in memory, show
/// percentile `p` no longer falling (by less than [`FLAT_GAIN`]): more memory will not
/// buy the latency an SLO asks for, nor more speed.
fn flat_at_the_top(stats: &[SizeStats], p: Percentile) -> bool {
    let mut top: Vec<(u32, f64)> = stats
        .iter()
        .filter(|s| s.is_feasible())
        .filter_map(|s| Some((s.memory_mb, s.warm.as_ref()?.quantile(p).ms)))
        .collect();
    top.sort_by_key(|t| t.0);
    match top.as_slice() {
        [.., (m1, q1), (m2, q2)] => {
            f64::from(m2 - m1) >= crate::fit::ONE_VCPU_MB && *q2 > (1.0 - FLAT_GAIN) * q1
        }
        _ => false,
    }
}

/// No measured size meets the SLO and the fit sees no size that would: twice the largest
/// feasible size measured, where the next fit can place the crossing in between.
fn slo_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
    let largest = stats
        .iter()
        .filter(|s| s.is_feasible())
        .map(|s| s.memory_mb)
        .max()?;
    let probe = (2 * largest).min(limits.max_mb);
    (probe > largest && measured_near(stats, probe).is_none()).then_some(probe)
}

/// A cheapest size with no feasible measured size below it, well above the smallest size that
/// can be feasible: the optimum may lie in between (GC pressure near the working set makes
/// the cost curve steep there). Probe the geometric middle, or the floor itself when close.
fn floor_probe(stats: &[SizeStats], anchor: u32, floor: u32) -> Option<u32> {
    let below = stats
        .iter()
        .any(|s| s.is_feasible() && s.memory_mb < anchor);
    let gap = f64::from(anchor) / f64::from(floor.max(1));
    let probe = if gap > 1.5 {
        (f64::from(floor) * f64::from(anchor)).sqrt().round() as u32
    } else {
        floor
    };
    let measured = measured_within(stats, probe, FLOOR_REACH * f64::from(probe)).is_some();
    (!below && probe < anchor && !measured).then_some(probe)
}

/// How close a measured size must be to the floor probe to stand in for it. Tighter than
/// [`measured_near`]'s 8%: just above the working set, garbage collection makes cost fall
/// steeply, and a size 8% above the floor can cost 3% more.
const FLOOR_REACH: f64 = 0.02;

/// Whether the largest feasible measured size meets a latency SLO by its estimate: the
/// crossing lies below it, where the optimum probe looks next; a size above it is cheaper
/// only where duration falls faster than memory grows, which the fit would show there.
fn largest_meets_the_slo(stats: &[SizeStats], strategy: &Strategy) -> bool {
    let (Objective::LatencySlo, Some(slo_ms)) = (strategy.objective, strategy.slo_ms) else {
        return false;
    };
    stats
        .iter()
        .filter(|s| s.is_feasible())
        .max_by_key(|s| s.memory_mb)
        .and_then(|s| s.warm.as_ref())
        .is_some_and(|w| w.quantile(strategy.slo_percentile).ms <= slo_ms)
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
/// (cost from the fitted mean; percentiles from the pooled noise model, or from production's
/// tail when the fit has one, or from the spread around the size where that proves wider
/// ([`Fit::spread_is_wider_at`]), with upper bounds from the band around the size's pooled mean,
/// which its own samples narrow). A size whose pooled
/// p99 estimate reaches past the timeout margin is infeasible even when its own few samples
/// looked fine: a handful of invocations cannot show a tail.
/// Only measured sizes remain candidates.
pub fn smoothed(
    stats: &[SizeStats],
    fit: &Fit,
    cost_of: &dyn Fn(u32, f64) -> f64,
    options: &StatsOptions,
) -> Vec<SizeStats> {
    let tail_limit_ms = options.timeout_fraction * options.timeout_ms;
    let level = bound_confidence(options.confidence);
    stats
        .iter()
        .cloned()
        .map(|mut s| {
            if !s.is_feasible() {
                return s;
            }
            let m = s.memory_mb;
            if let (Some(warm), Some(cost)) = (s.warm.as_mut(), s.cost.as_mut()) {
                let fitted = fit.mean_ms(m);
                let cv = warm.cv.max(fit.noise_sigma());
                let own = own_estimate(fit, warm, cv);
                let (mean, (low, high)) = match pooled_mean(own, fitted, fit.mean_band(m)) {
                    Some(pooled) => pooled,
                    // The curve misses this size's own data: its own estimate stands, and with
                    // production's tail its percentiles still come from production (its few
                    // samples may have missed the slow class).
                    None => match (own, fit.production_tail()) {
                        (Some((own_ms, se)), Some(_)) => {
                            (own_ms, ((own_ms - 1.96 * se).max(0.0), own_ms + 1.96 * se))
                        }
                        _ => return s,
                    },
                };
                let cost_at = |ms: f64| cost_of(m, ms + 0.5) + cost.init_usd;
                cost.mean_usd = cost_at(mean);
                cost.ci_low_usd = cost_at(low);
                cost.ci_high_usd = cost_at(high);
                warm.trimmed_mean_ms = mean;
                for percentile in [Percentile::P50, Percentile::P90, Percentile::P99] {
                    let p = percentile.fraction();
                    let q = match percentile {
                        Percentile::P50 => &mut warm.p50,
                        Percentile::P90 => &mut warm.p90,
                        Percentile::P99 => &mut warm.p99,
                    };
                    // The noise model's offsets (or the spread around this size, where it
                    // proves wider), around this size's mean; the bound carries that mean's
                    // uncertainty, which the size's own samples narrow.
                    let scale = mean / fitted;
                    let upper = fit.quantile_upper(m, p, mean, (low, high), level);
                    q.ms = q.ms.max(fit.quantile_ms(m, p) * scale);
                    q.upper_ms = Some(upper.max(q.ms));
                    q.confidence = level;
                    q.own_spread = fit.spread_is_wider_at(m, p);
                }
                let upper_ms = warm.p99.upper_ms.unwrap_or(warm.p99.ms);
                if warm.p99.ms > tail_limit_ms {
                    s.infeasible.push(Infeasibility::SlowTail {
                        p99_ms: warm.p99.ms,
                        limit_ms: tail_limit_ms,
                    });
                } else if upper_ms > tail_limit_ms {
                    s.infeasible.push(Infeasibility::UnboundedTail {
                        p99_ms: warm.p99.ms,
                        upper_ms,
                        confidence: level,
                        limit_ms: tail_limit_ms,
                    });
                }
            }
            s
        })
        .collect()
}

/// What a size's own samples say about its mean, with its standard error at coefficient of
/// variation `cv`; `None` with fewer than two samples. As the fit does: with production's
/// tail, the median times production's mean over median (a median's error is 1.25 times a
/// mean's; `cv` is the size's own, which a slow sample inflates: that errs wide, on the safe
/// side of an SLO); else the sample mean.
fn own_estimate(fit: &Fit, warm: &measure::WarmStats, cv: f64) -> Option<(f64, f64)> {
    if warm.samples < 2 {
        return None;
    }
    let root_n = (warm.samples as f64).sqrt();
    Some(match fit.production_tail() {
        Some(tail) => {
            let mean = warm.p50.ms * tail.mean_over_median();
            (mean, fit::MEDIAN_SE_FACTOR * cv * mean / root_n)
        }
        None => (warm.mean_ms, cv * warm.mean_ms / root_n),
    })
}

/// A size's mean estimate from the fitted curve and its own samples' (`own`: estimate and
/// standard error), weighted by their precision, with its 95% band. `None` when the two
/// disagree by more than two standard errors of their difference: the curve misfits here.
fn pooled_mean(
    own: Option<(f64, f64)>,
    fitted_ms: f64,
    band: (f64, f64),
) -> Option<(f64, (f64, f64))> {
    let Some((own_ms, own_se)) = own else {
        return Some((fitted_ms, band));
    };
    let fit_se = (band.1 - band.0) / (2.0 * 1.96);
    if (own_ms - fitted_ms).abs() > 2.0 * own_se.hypot(fit_se) {
        return None;
    }
    Some(combine_means(fitted_ms, band, own_ms, own_se))
}

/// The precision-weighted mean of the fitted curve's estimate (with its 95% band) and a
/// sample mean (with its standard error), and the 95% band of the result.
fn combine_means(
    fitted_ms: f64,
    band: (f64, f64),
    sample_mean_ms: f64,
    sample_se: f64,
) -> (f64, (f64, f64)) {
    let fit_se = (band.1 - band.0) / (2.0 * 1.96);
    if fit_se <= 0.0 || sample_se <= 0.0 {
        return (fitted_ms, band);
    }
    let (w_fit, w_sample) = (fit_se.powi(-2), sample_se.powi(-2));
    let mean = (w_fit * fitted_ms + w_sample * sample_mean_ms) / (w_fit + w_sample);
    let half = 1.96 / (w_fit + w_sample).sqrt();
    (mean, ((mean - half).max(0.0), mean + half))
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
    use crate::measure::{Failure, Outcome, QuantileEstimate, Report, ReportStatus, WarmStats};

    /// Four invocations at each size: warm successes using 100 MB, or out-of-memory kills.
    fn sized(sizes: &[(u32, bool)]) -> Vec<SizeStats> {
        let samples: Vec<Sample> = sizes
            .iter()
            .flat_map(|&(memory_mb, ok)| {
                (0..4).map(move |i| Sample {
                    memory_mb,
                    cold: false,
                    outcome: if ok {
                        Outcome::Success
                    } else {
                        Outcome::Failure(Failure::OutOfMemory)
                    },
                    report: ok.then(|| Report {
                        request_id: format!("{memory_mb}-{i}"),
                        duration_ms: 100.0 + i as f64,
                        billed_ms: 101 + i,
                        memory_mb,
                        max_memory_used_mb: 100,
                        init_ms: None,
                        restore_ms: None,
                        status: ReportStatus::Success,
                    }),
                })
            })
            .collect();
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        measure::size_stats(&samples, &StatsOptions::new(10_000.0), &cost_of)
    }

    /// The latency-slo strategy with a p99 SLO.
    fn latency_slo(slo_ms: f64) -> Strategy {
        Strategy::load("latency-slo")
            .unwrap()
            .with_slo(Some(slo_ms), Some(Percentile::P99))
    }

    /// What a test search weighs sizes by, for a function whose timeout is 10 s.
    fn objectives<'a>(
        strategy: &'a Strategy,
        cost_of: &'a (dyn Fn(u32, f64) -> f64 + Sync),
        stats: &'a StatsOptions,
    ) -> Objectives<'a> {
        Objectives {
            strategy,
            cost_of,
            stats,
            timeout_ms: 10_000.0,
        }
    }

    /// The fit of what [`sized`] measures at feasible sizes: 100-103 ms everywhere.
    fn sized_fit(sizes: &[u32]) -> Fit {
        let samples: Vec<SizeSamples> = sizes
            .iter()
            .map(|&memory_mb| SizeSamples {
                memory_mb,
                warm_ms: vec![100.0, 101.0, 102.0, 103.0],
            })
            .collect();
        fit::fit(&samples).unwrap()
    }

    fn warm(samples: usize, mean_ms: f64, cv: f64) -> WarmStats {
        let q = QuantileEstimate {
            ms: mean_ms,
            upper_ms: None,
            confidence: 0.95,
            own_spread: false,
        };
        WarmStats {
            samples,
            mean_ms,
            trimmed_mean_ms: mean_ms,
            p50: q,
            p90: q,
            p99: q,
            cv,
            mean_billed_ms: mean_ms,
        }
    }

    fn limits() -> AdaptiveLimits {
        AdaptiveLimits::new(128, 10240, 30)
    }

    #[test]
    fn pooled_mean_weighs_fit_and_samples_by_precision() {
        // Fit 100 with se 1; four samples averaging 104 with se 2 (cv 4/104): weights 4:1.
        let (mean, (low, high)) = pooled_mean(Some((104.0, 2.0)), 100.0, (98.04, 101.96)).unwrap();
        assert!((mean - 100.8).abs() < 1e-9, "{mean}");
        let half = 1.96 / 1.25f64.sqrt();
        assert!((high - low - 2.0 * half).abs() < 1e-9);
    }

    #[test]
    fn pooled_mean_lets_the_samples_stand_where_the_fit_misses_them() {
        // Samples at 130 with se 2 against a fit of 100 with se 1: the curve misfits here.
        assert_eq!(
            pooled_mean(Some((130.0, 2.0)), 100.0, (98.04, 101.96)),
            None
        );
        // Without an estimate of its own (a single sample): the fit stands.
        assert_eq!(
            pooled_mean(None, 100.0, (98.0, 102.0)),
            Some((100.0, (98.0, 102.0)))
        );
    }

    #[test]
    fn with_a_production_tail_a_sizes_own_mean_is_its_median_scaled() {
        let sizes = [
            SizeSamples {
                memory_mb: 512,
                warm_ms: vec![100.0, 104.0, 96.0, 102.0],
            },
            SizeSamples {
                memory_mb: 1024,
                warm_ms: vec![50.0, 52.0, 48.0, 51.0],
            },
        ];
        let tail = ProductionTail::new(130.0, 100.0, Some(150.0), 800.0, 1e6).unwrap();
        let plain = fit::fit(&sizes).unwrap();
        let robust = fit::fit_with(&sizes, Some(tail)).unwrap();
        // Nine samples near 100 and one slow one (8x): the mean moves 70%, the median not.
        let mut w = warm(10, 170.0, 1.3);
        w.p50.ms = 100.0;
        let (mean, se) = own_estimate(&plain, &w, 1.3).unwrap();
        assert_eq!(mean, 170.0);
        assert!((se - 1.3 * 170.0 / 10f64.sqrt()).abs() < 1e-9);
        let (mean, se) = own_estimate(&robust, &w, 0.1).unwrap();
        assert!((mean - 130.0).abs() < 1e-9, "{mean}");
        assert!((se - fit::MEDIAN_SE_FACTOR * 0.1 * 130.0 / 10f64.sqrt()).abs() < 1e-9);
        assert_eq!(own_estimate(&robust, &warm(1, 100.0, 0.0), 0.1), None);
    }

    #[test]
    fn the_flat_run_around_the_optimum_stops_where_cost_rises_by_one_percent() {
        // Cost falls steeply to 200 MB, then rises slowly.
        let candidates: Vec<Candidate> = (160..=400)
            .map(|m| Candidate {
                memory_mb: m,
                duration_ms: 0.0,
                cost: CostEstimate::point(if m < 200 {
                    1.0 + 0.01 * f64::from(200 - m)
                } else {
                    1.0 + 0.0001 * f64::from(m - 200)
                }),
                percentile: None,
            })
            .collect();
        assert_eq!(flat_around(&candidates, 200), Some((199, 300)));
        assert_eq!(flat_around(&candidates, 500), None);
    }

    /// Four sizes whose means wobble by a few percent around a flat curve, so the curve's band
    /// has some width.
    fn wobbling_flat_fit() -> Fit {
        let samples: Vec<SizeSamples> = [(128, 100.0), (256, 104.0), (512, 99.0), (1024, 103.0)]
            .map(|(memory_mb, base)| SizeSamples {
                memory_mb,
                warm_ms: vec![base, base + 1.0, base + 2.0, base + 3.0],
            })
            .to_vec();
        fit::fit(&samples).unwrap()
    }

    #[test]
    fn own_samples_narrow_a_sizes_p99_bound() {
        // 256 MB's own samples sit on the curve.
        let fit = wobbling_flat_fit();
        let mut stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
        stats[1].warm.as_mut().unwrap().mean_ms = fit.mean_ms(256);
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let options = StatsOptions::new(10_000.0);
        let p99_bound = |stats: &[SizeStats]| {
            let smooth = smoothed(stats, &fit, &cost_of, &options);
            let warm = smooth[1].warm.as_ref().unwrap();
            (warm.p99.ms, warm.p99.upper_ms.unwrap())
        };
        let (point, few) = p99_bound(&stats);
        let mut confirmed = stats.clone();
        confirmed[1].warm.as_mut().unwrap().samples = 40;
        let (same_point, many) = p99_bound(&confirmed);
        assert!(point <= many && many < few, "{point} {many} {few}");
        assert!(
            (same_point / point - 1.0).abs() < 0.01,
            "{same_point} {point}"
        );
    }

    #[test]
    fn a_size_noisier_than_productions_tail_is_bounded_by_its_own_spread() {
        // 256 and 512 MB spread like cebert's light Node.js function there (p99/mean ~3.5);
        // production, at 1024 MB, is much quieter (p99/mean 1.6), as are 1024-4096 MB.
        let spread = |ratios: [f64; 8]| ratios.map(|r| 20.0 * r).to_vec();
        let noisy = spread([0.45, 0.6, 0.75, 0.9, 1.1, 1.4, 1.9, 2.6]);
        let quiet = spread([0.9, 0.95, 0.98, 1.0, 1.0, 1.03, 1.06, 1.12]);
        let samples: Vec<SizeSamples> = [256, 512, 1024, 2048, 4096]
            .into_iter()
            .map(|memory_mb| SizeSamples {
                memory_mb,
                warm_ms: if memory_mb <= 512 {
                    noisy.clone()
                } else {
                    quiet.clone()
                },
            })
            .collect();
        let tail = ProductionTail::new(20.5, 20.0, Some(24.0), 32.0, 1e6).unwrap();
        let fit = fit::fit_with(&samples, Some(tail)).unwrap();
        let stats = sized(&[(256, true), (512, true), (1024, true), (2048, true)]);
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0));
        let p99 = |i: usize| smooth[i].warm.as_ref().unwrap().p99;
        assert!(p99(1).own_spread && !p99(3).own_spread);
        assert!(
            p99(1).upper_ms.unwrap() > 2.0 * fit.mean_ms(512) * tail.p99_ms / tail.mean_ms,
            "{:?}",
            p99(1)
        );
    }

    #[test]
    fn a_higher_requested_confidence_widens_and_labels_the_bounds() {
        assert_eq!(bound_confidence(0.95), 0.995);
        assert!((bound_confidence(0.99) - 0.999).abs() < 1e-12);
        let fit = wobbling_flat_fit();
        let stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let p99_at = |confidence: f64| {
            let options = StatsOptions {
                confidence,
                ..StatsOptions::new(10_000.0)
            };
            smoothed(&stats, &fit, &cost_of, &options)[1]
                .warm
                .as_ref()
                .unwrap()
                .p99
        };
        let (usual, strict) = (p99_at(0.95), p99_at(0.99));
        assert_eq!(usual.ms, strict.ms);
        assert!(
            usual.upper_ms.unwrap() < strict.upper_ms.unwrap(),
            "{usual:?} {strict:?}"
        );
        assert_eq!(
            (usual.confidence, strict.confidence),
            (0.995, bound_confidence(0.99))
        );
    }

    #[test]
    fn an_unconfirmed_latency_choice_gets_its_invocations_a_confirmation_at_a_time() {
        let fit = sized_fit(&[256, 512]);
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let options = StatsOptions::new(10_000.0);
        let smooth = smoothed(
            &sized(&[(256, true), (512, true)]),
            &fit,
            &cost_of,
            &options,
        );
        // An SLO that 256 MB meets by its estimate, but not by its upper bound.
        let p99 = smooth[0].warm.as_ref().unwrap().p99;
        let slo = p99.ms * 1.001;
        assert!(p99.upper_ms.unwrap() > slo, "{p99:?}");
        let strategy = latency_slo(slo);
        let objectives = objectives(&strategy, &cost_of, &options);
        let next_at = |have: usize| {
            let mut stats = smooth.clone();
            stats[0].invocations = have;
            let choice = crate::strategy::recommend(&strategy, &stats, None).unwrap();
            assert_eq!(choice.memory_mb, 256);
            confirm_batch(&stats, &fit, &choice, &objectives, &limits())
                .map(|r| (r.memory_mb, r.invocations))
        };
        // 8 more at a time up to 24, so a bound that meets the SLO at 12 or 20 stops there.
        assert_eq!(next_at(4), Some((256, 8)));
        assert_eq!(next_at(12), Some((256, 8)));
        assert_eq!(next_at(20), Some((256, 4)));
        assert_eq!(next_at(24), None);
    }

    #[test]
    fn asked_for_invocations_let_an_unconfirmed_latency_choice_go_further() {
        let usual = limits();
        let asked = AdaptiveLimits {
            unconfirmed_invocations: Some(60),
            ..AdaptiveLimits::new(128, 10240, 60)
        };
        assert_eq!(confirmation(Objective::LatencySlo, &usual, true), 24);
        assert_eq!(confirmation(Objective::LatencySlo, &asked, true), 60);
        // A confirmed choice and other objectives are not affected.
        assert_eq!(confirmation(Objective::LatencySlo, &asked, false), 8);
        assert_eq!(confirmation(Objective::Cost, &asked, true), 12);
    }

    #[test]
    fn a_cheaper_size_that_meets_the_slo_by_its_estimate_is_confirmed_before_settling() {
        // Noisy durations around 100 ms everywhere: 256 MB costs half of 512 MB. 512 MB has 24
        // samples, so its p99 is bounded tighter than 256 MB's from four.
        let mut samples = vec![SizeSamples {
            memory_mb: 256,
            warm_ms: vec![85.0, 95.0, 105.0, 115.0],
        }];
        samples.extend(
            [(512, 100.0), (1024, 94.0), (2048, 106.0)].map(|(memory_mb, center)| SizeSamples {
                memory_mb,
                warm_ms: (0..30).map(|i| center - 15.0 + f64::from(i)).collect(),
            }),
        );
        let fit = fit::fit(&samples).unwrap();
        let mut stats = sized(&[(256, true), (512, true)]);
        for s in &mut stats {
            s.warm.as_mut().unwrap().cv = 0.13;
        }
        stats[1].invocations = 24;
        stats[1].warm.as_mut().unwrap().samples = 24;
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let options = StatsOptions::new(10_000.0);
        let smooth = smoothed(&stats, &fit, &cost_of, &options);
        let upper = |i: usize| smooth[i].warm.as_ref().unwrap().p99.upper_ms.unwrap();
        let point = smooth[0].warm.as_ref().unwrap().p99.ms;
        let at_24 = anticipated_upper(
            &fit,
            256,
            smooth[0].warm.as_ref(),
            24,
            0.99,
            bound_confidence(options.confidence),
        );
        assert!(point < at_24 && at_24 < upper(0) && upper(1) < upper(0));
        // An SLO that 512 MB meets with confidence and 256 MB only by its estimate.
        let slo = at_24.max(upper(1)) * 1.001;
        assert!(slo < upper(0));
        let strategy = latency_slo(slo);
        let objectives = objectives(&strategy, &cost_of, &options);
        let choice = crate::strategy::recommend(&strategy, &smooth, None).unwrap();
        assert_eq!(choice.memory_mb, 512);
        let next = slo_challenger(&smooth, &fit, &choice, &objectives, &limits()).unwrap();
        assert_eq!((next.memory_mb, next.invocations), (256, 8 - 4));
        // Once it has had its most, it is no longer a challenger.
        let mut tried = smooth.clone();
        tried[0].invocations = 24;
        assert_eq!(
            slo_challenger(&tried, &fit, &choice, &objectives, &limits()),
            None
        );
        // Nor is a size whose bound would stay above the SLO with that many samples.
        let at_4 = anticipated_upper(
            &fit,
            256,
            smooth[0].warm.as_ref(),
            4,
            0.99,
            bound_confidence(options.confidence),
        );
        assert!(at_4 > slo, "{at_4} {slo}");
    }

    #[test]
    fn sizes_failed_only_by_their_tails_bound_are_confirmed_cheapest_first() {
        let fit = sized_fit(&[512, 1024, 2048]);
        let mut stats = sized(&[(512, true), (1024, true), (2048, true)]);
        let unbounded = Infeasibility::UnboundedTail {
            p99_ms: 110.0,
            upper_ms: 7000.0,
            confidence: bound_confidence(0.95),
            limit_ms: 6667.0,
        };
        for s in &mut stats {
            s.infeasible = vec![unbounded.clone()];
        }
        let strategy = Strategy::load("cost").unwrap();
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let options = StatsOptions::new(10_000.0);
        let o = objectives(&strategy, &cost_of, &options);
        let next = tail_confirmation(&stats, &fit, &o, &limits()).unwrap();
        assert_eq!((next.memory_mb, next.invocations), (512, 8 - 4));
        // Past the first step it goes on to the most a latency SLO gets.
        stats[0].invocations = 8;
        let next = tail_confirmation(&stats, &fit, &o, &limits()).unwrap();
        assert_eq!((next.memory_mb, next.invocations), (512, 24 - 8));
        // A size that also ran out of memory, or had its most, is not confirmed.
        stats[0]
            .infeasible
            .push(Infeasibility::OutOfMemory { count: 1 });
        stats[1].invocations = 24;
        assert_eq!(
            tail_confirmation(&stats, &fit, &o, &limits())
                .unwrap()
                .memory_mb,
            2048
        );
        stats[2].infeasible = vec![Infeasibility::SlowTail {
            p99_ms: 7000.0,
            limit_ms: 6667.0,
        }];
        assert_eq!(tail_confirmation(&stats, &fit, &o, &limits()), None);
    }

    #[test]
    fn a_p99_estimate_within_the_margin_whose_bound_is_not_keeps_the_size_out() {
        let fit = sized_fit(&[512, 1024]);
        let stats = sized(&[(512, true), (1024, true)]);
        let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
        let at = |timeout_ms: f64| {
            let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(timeout_ms));
            smooth[0].infeasible.clone()
        };
        let warm = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0))[0]
            .warm
            .clone()
            .unwrap();
        let (point, upper) = (warm.p99.ms, warm.p99.upper_ms.unwrap());
        assert!(point < upper, "{point} {upper}");
        // A 2/3 margin between the estimate and the bound.
        let between = 1.5 * (point + upper) / 2.0;
        assert!(matches!(
            at(between)[..],
            [Infeasibility::UnboundedTail { .. }]
        ));
        assert!(at(1.5 * upper * 1.01).is_empty());
        assert!(matches!(
            at(1.5 * point * 0.99)[..],
            [Infeasibility::SlowTail { .. }]
        ));
    }

    #[test]
    fn measured_near_reaches_eight_percent() {
        let stats = sized(&[(1000, true)]);
        assert!(measured_near(&stats, 1075).is_some());
        assert!(measured_near(&stats, 1090).is_none());
        assert!(measured_near(&sized(&[(128, true)]), 143).is_some());
    }

    #[test]
    fn bracket_probe_checks_one_vcpu_then_a_quarter_up() {
        let stats = sized(&[(128, true), (256, true), (512, true)]);
        let cost = Objective::Cost;
        assert_eq!(bracket_probe(&stats, 512, cost, &limits()), Some(1769));
        assert_eq!(bracket_probe(&stats, 256, cost, &limits()), None);
        let stats = sized(&[(1024, true), (2048, true)]);
        assert_eq!(bracket_probe(&stats, 2048, cost, &limits()), Some(2560));
        assert_eq!(
            bracket_probe(&stats, 2048, Objective::Speed, &limits()),
            Some(2560)
        );
        // A latency SLO met at one vCPU or more is not bracketed; below it, it is.
        let slo = Objective::LatencySlo;
        assert_eq!(bracket_probe(&stats, 2048, slo, &limits()), None);
        let stats = sized(&[(128, true), (512, true)]);
        assert_eq!(bracket_probe(&stats, 512, slo, &limits()), Some(1769));
        // Speed stops above a vCPU that bought no speed (all sizes here run ~101 ms), and goes
        // on where it did.
        let speed = Objective::Speed;
        let mut stats = sized(&[(512, true), (1769, true), (4096, true)]);
        assert_eq!(bracket_probe(&stats, 4096, speed, &limits()), None);
        stats[2].warm.as_mut().unwrap().p50.ms = 60.0;
        assert_eq!(bracket_probe(&stats, 4096, speed, &limits()), Some(5120));
    }

    #[test]
    fn a_latency_slo_met_at_the_largest_size_needs_no_extrapolation() {
        let strategy = latency_slo(150.0);
        let p99_at = |p99: [f64; 2]| {
            let mut stats = sized(&[(512, true), (1769, true)]);
            for (s, p99) in stats.iter_mut().zip(p99) {
                s.warm.as_mut().unwrap().p99.ms = p99;
            }
            stats
        };
        assert!(largest_meets_the_slo(&p99_at([400.0, 140.0]), &strategy));
        assert!(!largest_meets_the_slo(&p99_at([400.0, 160.0]), &strategy));
        // An out-of-memory size above the largest feasible one does not count.
        let mut stats = p99_at([400.0, 140.0]);
        stats.extend(sized(&[(3008, false)]));
        assert!(largest_meets_the_slo(&stats, &strategy));
        // Other objectives always extrapolate.
        let cost = Strategy::load("cost").unwrap();
        assert!(!largest_meets_the_slo(&p99_at([400.0, 140.0]), &cost));
    }

    #[test]
    fn an_unmet_slo_probes_twice_the_largest_feasible_size() {
        let stats = sized(&[(512, true), (1769, true)]);
        assert_eq!(slo_probe(&stats, &limits()), Some(3538));
        let stats = sized(&[(512, true), (6144, true)]);
        assert_eq!(slo_probe(&stats, &limits()), Some(10240));
        assert_eq!(slo_probe(&sized(&[(10240, true)]), &limits()), None);
    }

    #[test]
    fn an_unmet_slo_stops_climbing_where_a_vcpu_more_buys_no_latency() {
        let p99_at = |sizes: &[(u32, f64)]| -> Vec<SizeStats> {
            let mut stats = sized(&sizes.iter().map(|&(m, _)| (m, true)).collect::<Vec<_>>());
            for (s, &(_, p99)) in stats.iter_mut().zip(sizes) {
                s.warm.as_mut().unwrap().p99.ms = p99;
            }
            stats
        };
        // 1769 -> 3538 MB: 2% faster at the p99; nothing to gain higher up.
        assert!(flat_at_the_top(
            &p99_at(&[(512, 900.0), (1769, 430.0), (3538, 422.0)]),
            Percentile::P99
        ));
        // 40% faster: parallel work still pays off.
        assert!(!flat_at_the_top(
            &p99_at(&[(1769, 430.0), (3538, 260.0)]),
            Percentile::P99
        ));
        // Close sizes say nothing about the trend.
        assert!(!flat_at_the_top(
            &p99_at(&[(1769, 430.0), (2211, 425.0)]),
            Percentile::P99
        ));
        assert!(!flat_at_the_top(&p99_at(&[(1769, 430.0)]), Percentile::P99));
    }

    #[test]
    fn a_cost_optimum_that_only_buys_speed_is_not_probed_except_at_one_vcpu() {
        let stats = sized(&[(128, true), (256, true), (512, true)]);
        let probe = |optimum: u32, flat_mb: (u32, u32)| {
            let prediction = Prediction {
                optimum,
                flat_mb: Some(flat_mb),
            };
            optimum_probe(&stats, &prediction, 128, &limits())
        };
        // A flat cost curve: 512 MB costs what 574 MB does, which is only faster.
        assert_eq!(probe(574, (128, 786)), None);
        // Nothing measured costs what the optimum does: probe it.
        assert_eq!(probe(574, (540, 610)), Some(574));
        // One vCPU is probed instead of an optimum at or above it, once: with a size near it
        // measured, not again, and not further up either.
        assert_eq!(probe(1769, (128, 1787)), Some(1769));
        assert_eq!(probe(3000, (128, 3100)), Some(1769));
        let with_one_vcpu = sized(&[(128, true), (256, true), (512, true), (1769, true)]);
        for optimum in [1151, 2000, 3900] {
            let prediction = Prediction {
                optimum,
                flat_mb: Some((128, optimum + 100)),
            };
            assert_eq!(
                optimum_probe(&with_one_vcpu, &prediction, 128, &limits()),
                None
            );
        }
        // Below 256 MB the dip of I/O-bound functions' cost is worth a probe.
        assert_eq!(probe(186, (128, 215)), Some(186));
    }

    #[test]
    fn floor_probe_looks_between_the_feasible_floor_and_the_cheapest() {
        // 128 MB ran out of memory; 512 MB is the cheapest and nothing feasible lies below.
        let stats = sized(&[(128, false), (512, true), (1024, true)]);
        assert_eq!(floor_probe(&stats, 512, 129), Some(257));
        // Close to the floor: probe the floor itself.
        assert_eq!(floor_probe(&stats, 512, 400), Some(400));
        // A feasible size below the cheapest already brackets it.
        let stats = sized(&[(256, true), (512, true)]);
        assert_eq!(floor_probe(&stats, 512, 129), None);
    }

    #[test]
    fn the_floor_probe_is_not_skipped_for_a_size_a_few_percent_above_the_floor() {
        // 168 MB is 5% above a floor of 160 MB: near enough for other probes, not this one.
        let stats = sized(&[(128, false), (168, true), (256, true)]);
        assert_eq!(floor_probe(&stats, 168, 160), Some(160));
        let stats = sized(&[(128, false), (162, true), (256, true)]);
        assert_eq!(floor_probe(&stats, 162, 160), None);
    }

    #[test]
    fn a_choice_known_within_tolerance_needs_no_confirmation() {
        let strategy = Strategy::load("cost").unwrap();
        let stats = sized(&[(128, true), (256, true)]);
        let mut warm = stats[0].warm.clone().unwrap();
        // Four samples at 100..103 ms: cv ~1.3%, standard error ~0.6% of a 2% tolerance.
        assert!(pinned_within_tolerance(&warm, &strategy));
        // A spread of 10%: the standard error (5%) is above the tolerance.
        warm.cv = 0.1;
        assert!(!pinned_within_tolerance(&warm, &strategy));
        // Two samples can agree by chance.
        warm.cv = 0.0;
        warm.samples = 2;
        assert!(!pinned_within_tolerance(&warm, &strategy));
    }

    #[test]
    fn noisy_durations_get_more_invocations_where_costs_are_close() {
        // Every size sampled 4 times; 100 ms everywhere, so 128 MB is the cheapest and 256 MB
        // costs twice as much: only 128 MB is in contention.
        let stats = sized(&[(128, true), (256, true)]);
        assert!(precision_batch(&stats, 0.05, &limits()).is_empty());
        let batch = precision_batch(&stats, 0.5, &limits());
        assert_eq!(batch.len(), 1);
        assert_eq!((batch[0].memory_mb, batch[0].invocations), (128, 26));
        // sigma 0.1 needs 4 + 1 invocations.
        assert_eq!(precision_batch(&stats, 0.1, &limits())[0].invocations, 1);
    }

    #[test]
    fn a_size_held_out_only_by_its_tails_bound_is_in_contention_too() {
        // 128 MB is the cheapest, but its p99 bound reaches past the timeout margin; 160 MB
        // is the cheapest feasible size.
        let mut stats = sized(&[(128, true), (160, true)]);
        stats[0].infeasible.push(Infeasibility::UnboundedTail {
            p99_ms: 2_900.0,
            upper_ms: 4_400.0,
            confidence: 0.995,
            limit_ms: 4_000.0,
        });
        let batch = precision_batch(&stats, 0.5, &limits());
        let sizes: Vec<(u32, u32)> = batch.iter().map(|r| (r.memory_mb, r.invocations)).collect();
        assert_eq!(sizes, [(128, 26), (160, 26)]);
        // With nothing feasible there is no cost to be close to (the tail's confirmation
        // picks a size instead).
        let mut unbounded = stats.clone();
        unbounded[1].infeasible = unbounded[0].infeasible.clone();
        assert!(precision_batch(&unbounded, 0.5, &limits()).is_empty());
        // Held out by its estimate itself: no more invocations there.
        stats[0].infeasible[0] = Infeasibility::SlowTail {
            p99_ms: 4_100.0,
            limit_ms: 4_000.0,
        };
        let batch = precision_batch(&stats, 0.5, &limits());
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].memory_mb, 160);
    }

    #[test]
    fn only_a_latency_slo_confirms_with_many_invocations() {
        let l = limits();
        assert_eq!(confirm_target(Objective::LatencySlo, &l), 8);
        assert_eq!(confirm_target(Objective::Cost, &l), 6);
        let few = AdaptiveLimits::new(128, 10240, 5);
        assert_eq!(confirm_target(Objective::LatencySlo, &few), 5);
        assert_eq!(confirm_target(Objective::Speed, &few), 5);
    }

    #[test]
    fn expected_invocations_count_first_sizes_and_the_confirmation() {
        let l = limits();
        // Three sizes x 4, and the choice topped up to 6.
        assert_eq!(expected_invocations(Objective::Cost, &l), 3 * 4 + 2);
        // An SLO choice may need three times its 8 when the estimate alone meets it.
        assert_eq!(expected_invocations(Objective::LatencySlo, &l), 3 * 4 + 20);
        assert_eq!(expected_invocations(Objective::Speed, &l), 4 * 4 + 2);
    }

    #[test]
    fn initial_sizes_respect_bounds_and_objective() {
        assert_eq!(initial_sizes(Objective::Cost, 128, 10240), [128, 256, 512]);
        assert_eq!(
            initial_sizes(Objective::Speed, 128, 10240),
            [128, 512, 1769, 4096]
        );
        assert_eq!(initial_sizes(Objective::Cost, 1024, 2048), [1024, 2048]);
        assert_eq!(
            initial_sizes(Objective::LatencySlo, 2048, 3008),
            [2048, 3008]
        );
    }
}
