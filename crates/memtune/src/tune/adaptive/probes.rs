//! What to sample next: sizes that tell the curve's shape, the predicted optimum, and the
//! edges of the measured choice.

use crate::fit::Fit;
use crate::measure::{Percentile, SizeStats};
use crate::strategy::{Objective, SloVerdict, Strategy};
use crate::sweep::SizeRequest;

use super::confirm::{confirm_batch, tail_confirmation};
use super::limits::AdaptiveLimits;
use super::predict::Prediction;
use super::{request, Objectives};

/// Nothing measured is safe (every size ran out of memory, timed out, or has a tail too close
/// to the timeout): twice the largest size measured, up to the search's largest. A function
/// whose current size is barely safe used to end with no recommendation: the fit put the
/// cost optimum at or below the current size, whose bound then failed the timeout margin, and
/// nothing above it was ever measured.
pub(super) fn upward_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
    if stats.iter().any(SizeStats::is_feasible) {
        return None;
    }
    let largest = stats.iter().map(|s| s.memory_mb).max()?;
    let probe = (2 * largest).min(limits.max_mb);
    (probe > largest && measured_near(stats, probe).is_none()).then_some(probe)
}

/// With fewer than two feasible sizes, probe upward from the largest infeasible one.
pub(super) fn edge_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
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

/// A measured size close enough to `m` that measuring `m` too would tell little new: near an
/// optimum the objective is flat, so a size within 8% of it costs a fraction of a percent.
pub(super) fn measured_near(stats: &[SizeStats], m: u32) -> Option<&SizeStats> {
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
pub(super) fn next_batch(
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
        // Nothing is safe yet: narrow the bound of the best size held out by its tail, and
        // look further up at the same time.
        let upward = upward_probe(stats, limits).map(|m| request(m, limits.initial_invocations));
        return tail_confirmation(stats, fit, o, limits)
            .into_iter()
            .chain(upward)
            .collect();
    };
    // Cost-minded objectives settle on the cheapest size and speed on the fastest: their
    // edges are what to check.
    let anchor = match o.strategy.objective {
        Objective::Cost => cheapest_of(stats, &choice.band).unwrap_or(choice.memory_mb),
        Objective::Speed => fastest_of(stats).unwrap_or(choice.memory_mb),
        _ => choice.memory_mb,
    };
    let unmet_slo = choice
        .slo
        .is_some_and(|slo| slo.status == SloVerdict::Unmet);
    let probe = if unmet_slo {
        slo_probe(stats, limits).filter(|_| !flat_at_the_top(stats, o.strategy.slo_percentile))
    } else {
        bracket_probe(stats, anchor, o.strategy.objective, limits).or_else(|| {
            match o.strategy.objective {
                Objective::Cost => floor_probe(stats, anchor, floor),
                Objective::LatencySlo => crossing_probe(stats, anchor, o.strategy),
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

/// The predicted optimum when nothing measured lies near it (for cost: within its flat run
/// too); on an infeasible edge, a size just above that edge.
pub(super) fn optimum_probe(
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

/// Whether probing a cost optimum could buy little but speed: a measured feasible size already lies
/// in its flat run (within 1% of its predicted cost, [`Prediction::flat_mb`]), so beyond that the
/// optimum is only the fastest size within the cost tolerance. On a flat cost curve (CPU-bound work
/// below one vCPU) that tie-break moves with every refit, and the search used to walk after it
/// (382, 437, 574, 820 ... MB), each probe costing as much as a grid point and most of them never
/// chosen, since the choice needs a size *confidently* within the tolerance. Optima below
/// [`COST_DIP_MB`] are still probed; one vCPU may be instead ([`one_vcpu_probe`]).
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
pub(super) fn bracket_probe(
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
pub(super) fn flat_at_the_top(stats: &[SizeStats], p: Percentile) -> bool {
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
pub(super) fn slo_probe(stats: &[SizeStats], limits: &AdaptiveLimits) -> Option<u32> {
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
pub(super) fn floor_probe(stats: &[SizeStats], anchor: u32, floor: u32) -> Option<u32> {
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

/// A latency SLO's choice whose next measured size below is well cheaper but does not meet
/// the SLO by its bound: the cheapest size that meets it lies somewhere in between, and the
/// fit alone cannot place it when the curve is flat or of no model's shape (a flat stretch
/// leaves the choice at 2-5x the memory of the crossing). Probe the geometric middle, halving
/// the gap as the grid would fill it, until the two sizes around the crossing cost within
/// [`CROSSING_GAP`] of each other.
pub(super) fn crossing_probe(stats: &[SizeStats], anchor: u32, strategy: &Strategy) -> Option<u32> {
    let slo_ms = strategy.slo_ms?;
    let p = strategy.slo_percentile;
    let cost = |s: &SizeStats| s.cost.map(|c| c.mean_usd);
    let chosen = stats.iter().find(|s| s.memory_mb == anchor)?;
    let below = stats
        .iter()
        .filter(|s| s.is_feasible() && s.memory_mb < anchor)
        .max_by_key(|s| s.memory_mb)?;
    let below_met = below
        .warm
        .as_ref()
        .is_some_and(|w| SloVerdict::of(&w.quantile(p).into(), slo_ms) == SloVerdict::Met);
    let gap = cost(chosen)? / cost(below)?;
    let middle = (f64::from(anchor) * f64::from(below.memory_mb))
        .sqrt()
        .round() as u32;
    let fresh = measured_within(stats, middle, 0.02 * f64::from(middle)).is_none();
    (!below_met && gap > 1.0 + CROSSING_GAP && fresh).then_some(middle)
}

/// The cost ratio between the sizes around an SLO's crossing below which the search stops
/// narrowing it: at most this much is paid above the crossing's size.
const CROSSING_GAP: f64 = 0.2;

/// How close a measured size must be to the floor probe to stand in for it. Tighter than
/// [`measured_near`]'s 8%: just above the working set, garbage collection makes cost fall
/// steeply, and a size 8% above the floor can cost 3% more.
const FLOOR_REACH: f64 = 0.02;

/// Whether the largest feasible measured size meets a latency SLO by its estimate: the
/// crossing lies below it, where the optimum probe looks next; a size above it is cheaper
/// only where duration falls faster than memory grows, which the fit would show there.
pub(super) fn largest_meets_the_slo(stats: &[SizeStats], strategy: &Strategy) -> bool {
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
