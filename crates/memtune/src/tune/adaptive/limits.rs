//! How far a search may go: its first sizes, the invocations a choice gets, and the most a
//! plan can expect.

use crate::fit::ProductionTail;
use crate::strategy::Objective;

/// Confirmations after the last round that move to other sizes (the choice moved, or a rival
/// is tried); more steps at the same sizes do not count, up to [`FINAL_BATCHES`] batches.
pub(super) const FINAL_CONFIRMATIONS: usize = 3;
/// Batches after the last round, at most.
pub(super) const FINAL_BATCHES: usize = 12;

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
    /// the test samples show, and each size located by its median ([`crate::fit::fit_with`]).
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

/// Invocations the chosen size needs. A latency SLO is judged on a tail percentile, which
/// needs more samples, though the pooled noise model (or production's tail) draws on every
/// size too: twice the first sampling; the other objectives decide on the fitted curve, which
/// pools every size, so the choice needs only a few more invocations as evidence that it
/// works (memory used, no failures).
pub(super) fn confirm_target(objective: Objective, limits: &AdaptiveLimits) -> u32 {
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
/// (`unconfirmed_invocations`; [`super::confirm::confirm_batch`] adds them a first target at
/// a time), as more samples narrow the bound: most sizes are confirmed at the first target,
/// and the few near the crossing get what a bound that tight needs.
pub(super) fn confirmation(
    objective: Objective,
    limits: &AdaptiveLimits,
    unconfirmed_slo: bool,
) -> u32 {
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
