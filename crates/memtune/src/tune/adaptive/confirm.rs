//! More invocations where the decision needs them: the choice until it is confirmed, a
//! cheaper rival, a size held out only by its tail's bound, sizes whose costs are too close to
//! rank.

use crate::fit::Fit;
use crate::measure::{self, SizeStats};
use crate::strategy::{Objective, Recommendation, SloVerdict, Strategy};
use crate::sweep::SizeRequest;

use super::estimates::anticipated_upper;
use super::limits::{bound_confidence, confirm_target, confirmation, AdaptiveLimits};
use super::{request, Objectives};

/// More invocations at the current choice, until it has the confirmation it needs. A latency
/// choice gets at most a first confirmation's worth (8) at a time: one left unconfirmed after
/// its first 4 goes to 12, 20, then 24, and stops as soon as its bound meets the SLO.
pub(super) fn confirm_batch(
    stats: &[SizeStats],
    fit: &Fit,
    choice: &Recommendation,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Option<SizeRequest> {
    if let Some(challenger) = slo_challenger(stats, fit, choice, o, limits) {
        return Some(challenger);
    }
    let target = if choice
        .slo
        .is_some_and(|slo| slo.status == SloVerdict::Unmet)
    {
        lowest_estimate(stats, o.strategy).unwrap_or(choice.memory_mb)
    } else {
        choice.memory_mb
    };
    let chosen = stats.iter().find(|s| s.memory_mb == target);
    let warm = chosen.and_then(|s| s.warm.as_ref());
    if choice.slo.is_none() && warm.is_some_and(|w| pinned_within_tolerance(w, o.strategy)) {
        return None;
    }
    let have = chosen.map_or(0, |s| s.invocations as u32);
    let unconfirmed_slo = choice.slo.is_some_and(|slo| slo.status != SloVerdict::Met);
    let mut wanted = confirmation(o.strategy.objective, limits, unconfirmed_slo);
    if o.strategy.objective == Objective::LatencySlo {
        wanted = wanted.min(have + confirm_target(o.strategy.objective, limits));
    }
    (have < wanted).then(|| request(target, wanted - have))
}

/// The feasible size whose SLO percentile estimate is lowest. When no size meets the SLO the
/// choice is the cheapest one that cannot be told apart from this one, so this is the size
/// whose samples the choice rests on: confirming it narrows its bound, or finds it meets the
/// SLO after all (a size at 4 samples whose wide bound let a size with three times its true
/// p99 pass as "as close" was recommended while the cheaper size got 24 samples).
fn lowest_estimate(stats: &[SizeStats], strategy: &Strategy) -> Option<u32> {
    let p = strategy.slo_percentile;
    stats
        .iter()
        .filter(|s| s.is_feasible())
        .filter_map(|s| Some((s.memory_mb, s.warm.as_ref()?.quantile(p).ms)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(memory_mb, _)| memory_mb)
}

/// Nothing measured is feasible, but some sizes fail only because a few samples cannot bound
/// their p99 below the timeout margin while their estimate lies below it: more invocations at
/// the best of them, to tell a heavy tail from a short sample, up to what an SLO left
/// unconfirmed would get (three times the SLO confirmation within the run's per-size limit:
/// 24 for `latency-slo`, 10 for the strategies whose `invocations` is 10). The best is the
/// cheapest (for speed: the fastest) that so many samples would bound below the margin if its
/// estimate holds, else the one whose estimate lies lowest.
pub(super) fn tail_confirmation(
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
pub(super) fn slo_challenger(
    stats: &[SizeStats],
    fit: &Fit,
    choice: &Recommendation,
    o: &Objectives<'_>,
    limits: &AdaptiveLimits,
) -> Option<SizeRequest> {
    let slo = choice.slo.filter(|slo| slo.status == SloVerdict::Met)?;
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

/// Whether the choice's own samples already pin its mean within the objective's tolerance
/// (one standard error, from at least three warm samples; two can agree by chance): more
/// invocations there could not move the decision by more than the strategy accepts anyway.
/// Latency SLOs always confirm, since they rest on a tail.
pub(super) fn pinned_within_tolerance(warm: &measure::WarmStats, strategy: &Strategy) -> bool {
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
pub(super) fn precision_batch(
    stats: &[SizeStats],
    sigma: f64,
    limits: &AdaptiveLimits,
) -> Vec<SizeRequest> {
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
