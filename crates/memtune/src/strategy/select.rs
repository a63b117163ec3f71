//! The decision: from per-size statistics to one recommended memory size.
//!
//! Sizes that failed (out of memory, timeouts, a tail too close to the timeout) or leave too
//! little memory headroom are set aside with their reasons; the objective then picks among
//! the rest, so the recommendation is always a measured, feasible size.

use std::fmt;

use serde::Serialize;

use super::decide::{
    closest_reach, decide, Candidate, CostEstimate, Decision, Goal, PercentileEstimate, SloVerdict,
    Why,
};
use super::guard::{self, Baseline, CurrentSize, Forgone, HeldBack, LatencyGuard};
use super::runner_up;
use super::spec::{Objective, Strategy};
use super::tradeoff::{tradeoff, RunnerUp, Tradeoff};
use crate::measure::{
    CostStats, Infeasibility, Percentile, QuantileEstimate, SizeStats, WarmStats,
};

/// The size a strategy recommends, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub memory_mb: u32,
    pub objective: Objective,
    pub value: ObjectiveValue,
    /// One sentence for a human.
    pub reason: String,
    /// The sizes the objective considered equally good (within tolerance), ascending.
    pub band: Vec<u32>,
    pub cost: CostStats,
    pub trimmed_mean_ms: f64,
    /// The SLO verdict for the recommended size, whenever the strategy has an SLO.
    pub slo: Option<SloStatus>,
    /// Change from the current size, when the current size was measured.
    pub vs_current: Option<Comparison>,
    /// Sizes set aside before the objective was applied.
    pub rejected: Vec<Rejected>,
    /// Why the current size is unsafe (it is among `rejected`); empty when it is safe or was
    /// not measured. The recommendation then fixes it, and its reason says so first.
    pub current_unsafe: Vec<Rejection>,
    /// Which estimate the decision ranked sizes by.
    pub estimate: Estimate,
    /// What the change trades (measured, before -> after) and why this size beat the runner-up.
    pub tradeoff: Tradeoff,
    /// What the latency guard did, when the strategy has one (`max_p99_increase`).
    pub latency_guard: Option<LatencyGuard>,
    /// The objective's choice, held back as worth less than the minimum change: the current
    /// size is kept.
    pub held_back: Option<HeldBack>,
}

/// The statistics a decision rested on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimate {
    /// Each size's own samples.
    #[default]
    Measured,
    /// The fitted curve pooled with the size's own samples (adaptive search).
    Fitted,
}

/// The objective's value at the recommended size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ObjectiveValue {
    CostPerInvocationUsd(f64),
    TrimmedMeanMs(f64),
    /// `w x cost/max_cost + (1 - w) x duration/max_duration`, 0..=1.
    BalancedScore(f64),
    /// The targeted warm percentile.
    PercentileMs(f64),
}

/// The recommended size against the strategy's latency SLO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct SloStatus {
    pub slo_ms: f64,
    pub percentile: Percentile,
    /// The percentile's estimate the decision used (the sample percentile, or the adaptive
    /// search's fitted one).
    pub estimate_ms: f64,
    /// Upper confidence bound on the true percentile; `None` with too few samples.
    pub upper_bound_ms: Option<f64>,
    pub confidence: f64,
    /// `met` only when the upper bound is under the SLO; only then is the size applied.
    pub status: SloVerdict,
}

impl SloStatus {
    /// Whether the size may be applied: only a confirmed SLO is.
    pub fn is_met(&self) -> bool {
        self.status == SloVerdict::Met
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    pub current_memory_mb: u32,
    /// Positive = the recommendation costs more per invocation.
    pub cost_change_pct: f64,
    /// Trimmed-mean duration; positive = the recommendation is slower.
    pub latency_change_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub memory_mb: u32,
    pub reasons: Vec<Rejection>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Rejection {
    Infeasible(Infeasibility),
    /// Less than `memory_headroom` x max memory used.
    Headroom {
        max_used_mb: u32,
        required_mb: u32,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    #[error("{0}")]
    NoFeasibleSize(NoFeasibleSize),
    #[error("strategy '{strategy}' targets a latency SLO but sets none: pass --slo-ms MS or set slo_ms in the strategy file")]
    MissingSlo { strategy: String },
}

/// Every measured size was set aside.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoFeasibleSize {
    pub rejected: Vec<Rejected>,
}

impl fmt::Display for NoFeasibleSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rejected.is_empty() {
            return write!(f, "no memory size was measured");
        }
        write!(f, "no measured memory size is feasible:")?;
        for r in &self.rejected {
            let reasons: Vec<String> = r.reasons.iter().map(ToString::to_string).collect();
            write!(f, " {} MB: {};", r.memory_mb, reasons.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Infeasible(Infeasibility::OutOfMemory { count }) => {
                write!(f, "{count} out-of-memory kill(s)")
            }
            Rejection::Infeasible(Infeasibility::Timeout { count }) => {
                write!(f, "{count} timeout(s)")
            }
            Rejection::Infeasible(Infeasibility::AllFailed) => write!(f, "every invocation failed"),
            Rejection::Infeasible(Infeasibility::NoWarmMeasurement) => {
                write!(f, "no warm invocation with a REPORT line")
            }
            Rejection::Infeasible(Infeasibility::SlowTail { p99_ms, limit_ms }) => write!(
                f,
                "p99 {p99_ms:.0} ms is above {limit_ms:.0} ms (too close to the timeout)"
            ),
            Rejection::Infeasible(Infeasibility::UnboundedTail {
                p99_ms,
                upper_ms,
                confidence,
                limit_ms,
            }) => write!(
                f,
                "p99 {p99_ms:.0} ms may be as high as {upper_ms:.0} ms ({} bound), above {limit_ms:.0} ms (too close to the timeout)",
                level(*confidence)
            ),
            Rejection::Infeasible(Infeasibility::BackedOff { reason }) => {
                write!(f, "taken out of production: {reason}")
            }
            Rejection::Headroom {
                max_used_mb,
                required_mb,
            } => write!(
                f,
                "uses up to {max_used_mb} MB; the headroom rule needs at least {required_mb} MB"
            ),
        }
    }
}

/// A feasible size with what the recommendation reports about it.
#[derive(Debug, Clone, Copy)]
struct Feasible<'a> {
    memory_mb: u32,
    warm: &'a WarmStats,
    cost: CostStats,
}

impl Feasible<'_> {
    fn cost(&self) -> f64 {
        self.cost.mean_usd
    }
    fn duration(&self) -> f64 {
        self.warm.trimmed_mean_ms
    }

    /// The size as the decide rule sees it, with the SLO's percentile `p`.
    fn candidate(&self, p: Percentile) -> Candidate {
        let q = self.warm.quantile(p);
        Candidate {
            memory_mb: self.memory_mb,
            cost: CostEstimate {
                mean_usd: self.cost.mean_usd,
                low_usd: self.cost.ci_low_usd,
                high_usd: self.cost.ci_high_usd,
            },
            duration_ms: self.duration(),
            percentile: Some(q.into()),
        }
    }
}

/// Recommends a measured, feasible size for `strategy`. `baseline` is the function's size
/// before tuning with what was measured: with it the result says what changes, and the
/// strategy's latency guard and minimum change compare with it. Fails when no size is
/// feasible, or when a `latency-slo` strategy has no `slo_ms`.
pub fn recommend(
    strategy: &Strategy,
    sizes: &[SizeStats],
    baseline: Option<&Baseline>,
) -> Result<Recommendation, RecommendError> {
    let mut sorted: Vec<&SizeStats> = sizes.iter().collect();
    sorted.sort_by_key(|s| s.memory_mb);
    let (feasible, rejected) = screen(&sorted, strategy.memory_headroom);
    if feasible.is_empty() {
        return Err(RecommendError::NoFeasibleSize(NoFeasibleSize { rejected }));
    }
    let goal = Goal::of(strategy).ok_or_else(|| RecommendError::MissingSlo {
        strategy: strategy.name.clone(),
    })?;
    let current = baseline.map_or(CurrentSize::NotMeasured, |b| {
        current_size(b, &feasible, &rejected)
    });
    // The latency guard's pool: every feasible size no slower than it allows. The current
    // size is within its own limit, so the pool is never empty when the guard applies.
    let limits = guard::limits(strategy, &current);
    let allowed: Vec<Feasible> = match (baseline, &limits) {
        (Some(b), Some(limits)) => feasible
            .iter()
            .filter(|f| guard::exceeds(b, f.memory_mb, limits).is_none())
            .copied()
            .collect(),
        _ => feasible.clone(),
    };
    let p = strategy.slo_percentile;
    let candidates =
        |pool: &[Feasible]| -> Vec<Candidate> { pool.iter().map(|f| f.candidate(p)).collect() };
    let Some(decision) = decide(goal, &candidates(&allowed)) else {
        return Err(RecommendError::NoFeasibleSize(NoFeasibleSize { rejected }));
    };
    let latency_guard = strategy.guards_latency().then(|| {
        latency_guard(LatencyGuardInput {
            goal,
            strategy,
            current: &current,
            limits,
            feasible: &feasible,
            allowed: &allowed,
            baseline,
            p,
        })
    });
    let objective_choice = allowed[decision.chosen];
    // A change worth less than the minimum keeps the current size (which the pool holds:
    // only a safe current size is kept).
    let kept = baseline
        .and_then(|b| guard::held_back(strategy, b, &current, objective_choice.memory_mb))
        .and_then(|held| {
            let at = allowed
                .iter()
                .position(|f| Some(f.memory_mb) == baseline.map(|b| b.memory_mb))?;
            Some((held, at))
        });
    let chosen_at = kept.as_ref().map_or(decision.chosen, |(_, at)| *at);
    let chosen = allowed[chosen_at];
    let estimate = match baseline.and_then(|b| b.at(chosen.memory_mb)) {
        Some((_, measured)) if measured.mean_usd != chosen.cost() => Estimate::Fitted,
        _ => Estimate::Measured,
    };
    let fitted = estimate == Estimate::Fitted;
    let runner_up = match &kept {
        Some((held, _)) => Some(RunnerUp {
            memory_mb: held.memory_mb,
            why: held.note(),
        }),
        None => runner_up(goal, &allowed, chosen_at, p, fitted),
    };
    // The pool the objective chose from, as the reason names it.
    let pool = if allowed.len() < feasible.len() {
        "feasible size the latency guard allows"
    } else {
        "feasible size"
    };
    let mut reason = reason(&decision, &allowed, strategy, Wording { fitted, pool });
    let current_memory_mb = baseline.map(|b| b.memory_mb);
    let current_unsafe: Vec<Rejection> = rejected
        .iter()
        .find(|r| Some(r.memory_mb) == current_memory_mb)
        .map(|r| r.reasons.clone())
        .unwrap_or_default();
    if let Some(current) = current_memory_mb.filter(|_| !current_unsafe.is_empty()) {
        let fix = unsafe_current_reason(current, &current_unsafe, &chosen, &sorted);
        reason = format!("{fix}; {reason}");
    }
    if let Some((held, _)) = &kept {
        reason = format!(
            "{} MB is kept: {}; the objective alone: {reason}",
            chosen.memory_mb,
            held.note()
        );
    }
    let guard_note = latency_guard.as_ref().and_then(LatencyGuard::note);
    if let Some(note) = &guard_note {
        reason = format!("{reason}; {note}");
    }
    let measured = baseline.map_or(sizes, |b| b.measured);
    let current_mb = baseline.map_or(chosen.memory_mb, |b| b.memory_mb);
    let notes: Vec<String> = guard_note.into_iter().collect();
    Ok(Recommendation {
        memory_mb: chosen.memory_mb,
        objective: strategy.objective,
        value: value(&decision, &chosen, strategy),
        reason,
        band: decision.band,
        cost: chosen.cost,
        trimmed_mean_ms: chosen.duration(),
        slo: slo_status(chosen.warm, strategy),
        vs_current: baseline.and_then(|b| compare(&chosen, b.memory_mb, &sorted)),
        rejected,
        current_unsafe,
        estimate,
        tradeoff: tradeoff(
            measured,
            current_mb,
            chosen.memory_mb,
            baseline.and_then(|b| b.monthly_invocations),
            runner_up,
            &notes,
        ),
        latency_guard,
        held_back: kept.map(|(held, _)| held),
    })
}

/// How the current size stands: feasible and measured, set aside by the screen, or not
/// sampled.
fn current_size(baseline: &Baseline, feasible: &[Feasible], rejected: &[Rejected]) -> CurrentSize {
    let now = baseline.memory_mb;
    if let Some(r) = rejected.iter().find(|r| r.memory_mb == now) {
        return CurrentSize::Unsafe {
            reasons: r.reasons.iter().map(ToString::to_string).collect(),
        };
    }
    match (
        feasible.iter().any(|f| f.memory_mb == now),
        baseline.at(now),
    ) {
        (true, Some((warm, _))) => CurrentSize::Safe {
            p50_ms: warm.p50.ms,
            p99_ms: warm.p99.ms,
        },
        _ => CurrentSize::NotMeasured,
    }
}

struct LatencyGuardInput<'a> {
    goal: Goal,
    strategy: &'a Strategy,
    current: &'a CurrentSize,
    limits: Option<guard::Limits>,
    feasible: &'a [Feasible<'a>],
    allowed: &'a [Feasible<'a>],
    baseline: Option<&'a Baseline<'a>>,
    p: Percentile,
}

/// What the guard did: the sizes it set aside and, when the objective would have chosen one
/// of them, what that size would have saved.
fn latency_guard(g: LatencyGuardInput) -> LatencyGuard {
    let (Some(limits), Some(baseline)) = (g.limits, g.baseline) else {
        return match g.current {
            CurrentSize::Unsafe { reasons } => LatencyGuard::CurrentUnsafe {
                reasons: reasons.clone(),
            },
            _ => LatencyGuard::CurrentNotMeasured,
        };
    };
    let excluded_mb: Vec<u32> = g
        .feasible
        .iter()
        .map(|f| f.memory_mb)
        .filter(|m| !g.allowed.iter().any(|a| a.memory_mb == *m))
        .collect();
    let all: Vec<Candidate> = g.feasible.iter().map(|f| f.candidate(g.p)).collect();
    let forgone = decide(g.goal, &all)
        .map(|d| g.feasible[d.chosen].memory_mb)
        .filter(|m| excluded_mb.contains(m))
        .and_then(|m| {
            let (percentile, ms) = guard::exceeds(baseline, m, &limits)?;
            let (current_ms, max_increase) = match percentile {
                Percentile::P50 => (limits.current_p50_ms, g.strategy.max_p50_increase?),
                _ => (limits.current_p99_ms, g.strategy.max_p99_increase?),
            };
            Some(Forgone {
                memory_mb: m,
                percentile,
                ms,
                current_ms,
                max_increase,
                saving: baseline.saving(m),
            })
        });
    LatencyGuard::Applied {
        max_p99_increase: g.strategy.max_p99_increase,
        max_p50_increase: g.strategy.max_p50_increase,
        current_p50_ms: limits.current_p50_ms,
        current_p99_ms: limits.current_p99_ms,
        p99_limit_ms: limits.p99_ms,
        p50_limit_ms: limits.p50_ms,
        excluded_mb,
        forgone,
    }
}

/// The size the objective picks once `chosen` is taken away, and why `chosen` beat it.
fn runner_up(
    goal: Goal,
    pool: &[Feasible],
    chosen: usize,
    p: Percentile,
    fitted: bool,
) -> Option<RunnerUp> {
    let rest: Vec<Feasible> = pool
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .map(|(_, f)| *f)
        .collect();
    let candidates: Vec<Candidate> = rest.iter().map(|f| f.candidate(p)).collect();
    let second = decide(goal, &candidates)?;
    let runner = &candidates[second.chosen];
    Some(RunnerUp {
        memory_mb: runner.memory_mb,
        why: runner_up::why(goal, &pool[chosen].candidate(p), runner, fitted),
    })
}

/// "current size is unsafe: <why>; increase to N MB: p99 from X to Y ms".
fn unsafe_current_reason(
    current_mb: u32,
    why: &[Rejection],
    chosen: &Feasible,
    sizes: &[&SizeStats],
) -> String {
    let why: Vec<String> = why.iter().map(ToString::to_string).collect();
    let direction = if chosen.memory_mb > current_mb {
        "increase"
    } else {
        "decrease"
    };
    let p99_now = sizes
        .iter()
        .find(|s| s.memory_mb == current_mb)
        .and_then(|s| s.warm.as_ref())
        .map(|w| w.p99.ms);
    let p99_after = chosen.warm.p99.ms;
    let change = match p99_now {
        Some(now) => format!("p99 from {now:.0} to {p99_after:.0} ms"),
        None => format!("p99 {p99_after:.0} ms"),
    };
    format!(
        "current size is unsafe: {}; {direction} to {} MB: {change}",
        why.join(", "),
        chosen.memory_mb
    )
}

/// Splits sizes into feasible ones and rejections (feasibility, then memory headroom).
fn screen<'a>(sizes: &[&'a SizeStats], headroom: f64) -> (Vec<Feasible<'a>>, Vec<Rejected>) {
    let mut feasible = Vec::new();
    let mut rejected = Vec::new();
    for s in sizes {
        let mut reasons: Vec<Rejection> = s
            .infeasible
            .iter()
            .cloned()
            .map(Rejection::Infeasible)
            .collect();
        if let Some(max_used_mb) = s.max_memory_used_mb {
            let required_mb = (headroom * f64::from(max_used_mb)).ceil() as u32;
            if s.memory_mb < required_mb {
                reasons.push(Rejection::Headroom {
                    max_used_mb,
                    required_mb,
                });
            }
        }
        match (&s.warm, s.cost) {
            (Some(warm), Some(cost)) if reasons.is_empty() => feasible.push(Feasible {
                memory_mb: s.memory_mb,
                warm,
                cost,
            }),
            _ => rejected.push(Rejected {
                memory_mb: s.memory_mb,
                reasons,
            }),
        }
    }
    (feasible, rejected)
}

/// The objective's value at the chosen size.
fn value(decision: &Decision, chosen: &Feasible, strategy: &Strategy) -> ObjectiveValue {
    match decision.why {
        Why::Cost { .. } => ObjectiveValue::CostPerInvocationUsd(chosen.cost()),
        Why::Speed { .. } => ObjectiveValue::TrimmedMeanMs(chosen.duration()),
        Why::Balanced { score } => ObjectiveValue::BalancedScore(score),
        Why::SloMet { .. } | Why::SloOutOfReach { .. } => {
            ObjectiveValue::PercentileMs(chosen.warm.quantile(strategy.slo_percentile).ms)
        }
    }
}

/// How a reason words its figures and the sizes it chose from.
struct Wording {
    /// The figures are the fitted curve's estimates (which pool every size), not a size's own
    /// samples.
    fitted: bool,
    /// "feasible size", or narrower when the latency guard set sizes aside.
    pool: &'static str,
}

/// One sentence for a human on why the decision chose its size.
fn reason(decision: &Decision, feasible: &[Feasible], strategy: &Strategy, w: Wording) -> String {
    let chosen = &feasible[decision.chosen];
    let fitted = w.fitted;
    let pool = w.pool;
    let est = if fitted { " (fitted estimate)" } else { "" };
    match decision.why {
        Why::Cost { cheapest } => {
            let cheapest = &feasible[cheapest];
            if chosen.memory_mb == cheapest.memory_mb {
                format!(
                    "{} MB is the cheapest {pool} at ${:.9} per invocation{est}",
                    chosen.memory_mb,
                    chosen.cost()
                )
            } else {
                format!(
                    "{} MB is the fastest size confidently within {} of the cheapest ({} MB at ${:.9} per invocation{est})",
                    chosen.memory_mb,
                    percent(strategy.cost_tolerance),
                    cheapest.memory_mb,
                    cheapest.cost()
                )
            }
        }
        Why::Speed { fastest } => {
            let fastest = &feasible[fastest];
            if chosen.memory_mb == fastest.memory_mb {
                format!(
                    "{} MB is the fastest {pool} ({:.1} ms trimmed mean{est})",
                    chosen.memory_mb,
                    chosen.duration()
                )
            } else {
                format!(
                    "{} MB is the smallest size within {} of the fastest ({} MB at {:.1} ms{est}); more memory does not help",
                    chosen.memory_mb,
                    percent(strategy.speed_tolerance),
                    fastest.memory_mb,
                    fastest.duration()
                )
            }
        }
        Why::Balanced { .. } => {
            let weight = strategy.balanced_weight;
            format!(
                "{} MB has the best balance ({:.0}% cost, {:.0}% speed): ${:.9} per invocation, {:.1} ms{est}",
                chosen.memory_mb,
                weight * 100.0,
                (1.0 - weight) * 100.0,
                chosen.cost(),
                chosen.duration()
            )
        }
        Why::SloMet { slo_ms, confirmed } => {
            slo_reason(chosen, strategy, slo_ms, !confirmed) + slo_est(fitted)
        }
        Why::SloOutOfReach { slo_ms, lowest } => {
            out_of_reach_reason(chosen, &feasible[lowest], strategy, slo_ms) + slo_est(fitted)
        }
    }
}

/// The label of an SLO reason's percentiles when they are the fitted curve's.
fn slo_est(fitted: bool) -> &'static str {
    if fitted {
        " (percentiles are fitted estimates)"
    } else {
        ""
    }
}

fn out_of_reach_reason(
    chosen: &Feasible,
    lowest: &Feasible,
    strategy: &Strategy,
    slo_ms: f64,
) -> String {
    let p = strategy.slo_percentile;
    let estimate = |c: &Feasible| c.warm.quantile(p).ms;
    let mut reason = format!(
        "SLO unmet: no size's {} estimate is under {slo_ms:.0} ms; {} MB comes closest at {:.1} ms",
        p.as_str(),
        chosen.memory_mb,
        estimate(chosen)
    );
    if chosen.memory_mb != lowest.memory_mb {
        let q = lowest.warm.quantile(p);
        let saving = percent(1.0 - chosen.cost() / lowest.cost());
        let reach = closest_reach(&q.into());
        reason.push_str(&match q.upper_ms {
            Some(upper) if upper <= reach => format!(
                ": the lowest estimate, {:.1} ms at {} MB, may be as high as {upper:.1} ms ({} bound), so the two cannot be told apart, and {} MB costs {saving} less",
                q.ms,
                lowest.memory_mb,
                level(q.confidence),
                chosen.memory_mb
            ),
            _ => format!(
                ": within {} of the lowest estimate ({:.1} ms at {} MB), at {saving} less cost",
                percent(reach / q.ms - 1.0),
                q.ms,
                lowest.memory_mb
            ),
        });
    }
    reason
}

fn slo_reason(chosen: &Feasible, strategy: &Strategy, slo_ms: f64, unconfirmed: bool) -> String {
    let p = strategy.slo_percentile;
    let q = chosen.warm.quantile(p);
    let head = if unconfirmed {
        format!(
            "SLO unconfirmed: {} MB's {} estimate ({:.1} ms) is under the {slo_ms:.0} ms SLO, the lowest cost of such sizes (within {})",
            chosen.memory_mb,
            p.as_str(),
            q.ms,
            percent(strategy.cost_tolerance)
        )
    } else {
        format!(
            "{} MB meets the {slo_ms:.0} ms {} SLO ({:.1} ms) at the lowest cost (within {})",
            chosen.memory_mb,
            p.as_str(),
            q.ms,
            percent(strategy.cost_tolerance)
        )
    };
    let head = if q.own_spread {
        format!(
            "{head}; its {} comes from the samples at and near it, which spread wider than \
             the function's tail elsewhere",
            p.as_str()
        )
    } else {
        head
    };
    match (unconfirmed, q.upper_ms) {
        (true, None) => format!(
            "{head}, but {} warm samples cannot confirm it at {} confidence (that needs at least {})",
            chosen.warm.samples,
            level(q.confidence),
            samples_to_bound(p.fraction(), q.confidence)
        ),
        (true, Some(upper)) => format!(
            "{head}, but its {} upper bound ({upper:.1} ms) does not confirm it",
            level(q.confidence)
        ),
        (false, upper) => format!(
            "{head}, confirmed at {} confidence (upper bound {:.1} ms)",
            level(q.confidence),
            upper.unwrap_or(q.ms)
        ),
    }
}

/// Fewest samples whose maximum bounds the p-quantile at `confidence`: 1 - p^n >= confidence.
fn samples_to_bound(p: f64, confidence: f64) -> u64 {
    ((1.0 - confidence).ln() / p.ln()).ceil() as u64
}

impl From<&QuantileEstimate> for PercentileEstimate {
    fn from(q: &QuantileEstimate) -> PercentileEstimate {
        PercentileEstimate {
            ms: q.ms,
            upper_ms: q.upper_ms,
        }
    }
}

fn slo_status(warm: &WarmStats, strategy: &Strategy) -> Option<SloStatus> {
    let slo_ms = strategy.slo_ms?;
    let q = warm.quantile(strategy.slo_percentile);
    let estimate = PercentileEstimate::from(q);
    Some(SloStatus {
        slo_ms,
        percentile: strategy.slo_percentile,
        estimate_ms: q.ms,
        upper_bound_ms: q.upper_ms,
        confidence: q.confidence,
        status: SloVerdict::of(&estimate, slo_ms),
    })
}

fn compare(chosen: &Feasible, current_mb: u32, sizes: &[&SizeStats]) -> Option<Comparison> {
    let current = sizes.iter().find(|s| s.memory_mb == current_mb)?;
    let (warm, cost) = (current.warm.as_ref()?, current.cost?);
    let change = |new: f64, old: f64| 100.0 * (new - old) / old;
    Some(Comparison {
        current_memory_mb: current_mb,
        cost_change_pct: change(chosen.cost(), cost.mean_usd),
        latency_change_pct: change(chosen.duration(), warm.trimmed_mean_ms),
    })
}

fn percent(fraction: f64) -> String {
    format!("{}%", (fraction * 1000.0).round() / 10.0)
}

/// A confidence level as a percentage: one decimal, or two where one would round a level
/// below 1 up to 100% (a strategy's `confidence` of 0.999 gives 99.99% bounds).
fn level(confidence: f64) -> String {
    let one = (confidence * 1000.0).round() / 10.0;
    if one >= 100.0 && confidence < 1.0 {
        format!("{}%", (confidence * 10_000.0).round() / 100.0)
    } else {
        format!("{one}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confidence_level_never_reads_100_percent() {
        assert_eq!(level(0.95), "95%");
        assert_eq!(level(0.995), "99.5%");
        assert_eq!(level(0.9999), "99.99%");
    }
    use crate::measure::{
        size_stats, Failure, Outcome, QuantileEstimate, Report, ReportStatus, Sample, StatsOptions,
    };
    use memtune_facts::report_line;

    const TIMEOUT_MS: f64 = 30_000.0;

    /// $0.20 per million requests and $0.0000166667 per GB-s (test data, not a price book).
    fn cost_of(memory_mb: u32, billed_ms: f64) -> f64 {
        0.2e-6 + 0.000_016_666_7 * f64::from(memory_mb) / 1024.0 * billed_ms / 1000.0
    }

    /// `n` warm successes around `duration_ms` with a small deterministic spread.
    fn warm(memory_mb: u32, duration_ms: f64, used_mb: u32, n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let jitter = 1.0 + 0.01 * ((i * 7 % 11) as f64 / 10.0 - 0.5);
                let d = duration_ms * jitter;
                Sample {
                    memory_mb,
                    cold: false,
                    outcome: Outcome::Success,
                    report: Some(Report {
                        request_id: format!("{memory_mb}-{i}"),
                        duration_ms: d,
                        billed_ms: d.ceil() as u64,
                        memory_mb,
                        max_memory_used_mb: used_mb.min(memory_mb),
                        init_ms: None,
                        restore_ms: None,
                        billed_restore_ms: None,
                        status: ReportStatus::Success,
                    }),
                }
            })
            .collect()
    }

    /// A function doing `cpu_ms` of single-threaded work at one vCPU (slower in proportion
    /// below 1769 MB, flat above) and waiting `io_ms`, killed below `working_set_mb`.
    struct Function {
        cpu_ms: f64,
        io_ms: f64,
        working_set_mb: u32,
        init_ms: f64,
    }

    /// Invocation `i` at `memory_mb` as the invoke API returns it (function-error header,
    /// payload, log tail with its REPORT line), with a deterministic +-2.5% spread.
    fn invoke_response(f: &Function, memory_mb: u32, i: usize) -> Sample {
        let jitter = 1.0 + 0.05 * (((i * 7 + memory_mb as usize / 128) % 11) as f64 / 10.0 - 0.5);
        let duration_ms = (f.io_ms + f.cpu_ms * 1769.0 / f64::from(memory_mb.min(1769))) * jitter;
        let out_of_memory = memory_mb < f.working_set_mb;
        let report = Report {
            request_id: format!("{memory_mb}-{i}"),
            duration_ms,
            billed_ms: duration_ms.ceil() as u64,
            memory_mb,
            max_memory_used_mb: f.working_set_mb.min(memory_mb),
            init_ms: (i == 0).then_some(f.init_ms),
            restore_ms: None,
            billed_restore_ms: None,
            status: if out_of_memory {
                ReportStatus::Error(Some("Runtime.OutOfMemory".into()))
            } else {
                ReportStatus::Success
            },
        };
        let (header, payload) = if out_of_memory {
            (Some("Unhandled"), r#"{"errorType":"Runtime.OutOfMemory"}"#)
        } else {
            (None, r#"{"statusCode":200}"#)
        };
        let log = format!(
            "START RequestId: r Version: 1\nEND RequestId: r\n{}",
            report_line::text(&report)
        );
        Sample::observe(memory_mb, header, payload.as_bytes(), &log)
    }

    /// 1 cold and 10 warm invocations per size.
    fn sweep(f: &Function) -> Vec<SizeStats> {
        let samples: Vec<Sample> = SIZES
            .iter()
            .flat_map(|&m| (0..11).map(move |i| (m, i)))
            .map(|(m, i)| invoke_response(f, m, i))
            .collect();
        stats(&samples)
    }

    #[test]
    fn invoke_responses_land_where_lambda_physics_says() {
        let cpu = Function {
            cpu_ms: 1000.0,
            io_ms: 0.0,
            working_set_mb: 100,
            init_ms: 300.0,
        };
        let sizes = sweep(&cpu);
        assert!(sizes
            .iter()
            .all(|s| s.cold_starts == 1 && s.warm.as_ref().unwrap().samples == 10));
        // Flat from one vCPU up: speed takes the smallest size within 5% of the fastest;
        // balanced trades the last 15% of speed below it for cost.
        let speed = recommend(&strategy("speed"), &sizes, None).unwrap();
        assert!([1769, 2048].contains(&speed.memory_mb), "{}", speed.reason);
        let balanced = recommend(&strategy("balanced"), &sizes, None).unwrap();
        assert!(
            [1536, 1769].contains(&balanced.memory_mb),
            "{}",
            balanced.reason
        );
        let io = Function {
            cpu_ms: 20.0,
            io_ms: 200.0,
            working_set_mb: 150,
            init_ms: 300.0,
        };
        let r = recommend(&strategy("cost"), &sweep(&io), None).unwrap();
        assert_eq!(r.memory_mb, 256, "{}", r.reason);
        assert_eq!(
            r.rejected[0].reasons[0],
            Rejection::Infeasible(Infeasibility::OutOfMemory { count: 11 })
        );
    }

    fn failing(memory_mb: u32, failure: Failure, n: usize) -> Vec<Sample> {
        (0..n)
            .map(|_| Sample {
                memory_mb,
                cold: false,
                outcome: Outcome::Failure(failure.clone()),
                report: None,
            })
            .collect()
    }

    fn stats(samples: &[Sample]) -> Vec<SizeStats> {
        size_stats(samples, &StatsOptions::new(TIMEOUT_MS), &cost_of)
    }

    const SIZES: [u32; 9] = [128, 256, 512, 1024, 1536, 1769, 2048, 3008, 4096];

    /// Single-threaded CPU work: 1 s at one vCPU, ~1/memory below 1769 MB, flat above, with
    /// a +-0.5% per-size wobble so that flat sizes are not exact ties (3008 MB is fastest).
    fn cpu_bound() -> Vec<SizeStats> {
        let duration = |m: u32| {
            let wobble = 1.0 + 0.005 * f64::from(m).sin();
            1000.0 * 1769.0 / f64::from(m.min(1769)) * wobble
        };
        let samples: Vec<Sample> = SIZES
            .iter()
            .flat_map(|&m| warm(m, duration(m), 90, 10))
            .collect();
        stats(&samples)
    }

    /// Waits 300 ms on a database; a little CPU.
    fn io_bound(samples_at: impl Fn(u32) -> Vec<Sample>) -> Vec<SizeStats> {
        let samples: Vec<Sample> = SIZES.iter().flat_map(|&m| samples_at(m)).collect();
        stats(&samples)
    }

    fn io_duration(m: u32) -> f64 {
        300.0 + 20.0 * 1769.0 / f64::from(m.min(1769))
    }

    fn strategy(name: &str) -> Strategy {
        Strategy::load(name).unwrap()
    }

    #[test]
    fn cpu_bound_speed_stops_at_one_vcpu() {
        let r = recommend(&strategy("speed"), &cpu_bound(), None).unwrap();
        assert_eq!(r.memory_mb, 1769, "{}", r.reason);
        assert_eq!(r.band, vec![1769, 2048, 3008, 4096]);
        assert!(r.reason.contains("smallest size within 5%"), "{}", r.reason);
    }

    #[test]
    fn cpu_bound_balanced_lands_at_one_vcpu() {
        let r = recommend(&strategy("balanced"), &cpu_bound(), None).unwrap();
        assert_eq!(r.memory_mb, 1769, "{}", r.reason);
        assert!(matches!(r.value, ObjectiveValue::BalancedScore(s) if s > 0.0 && s < 1.0));
    }

    #[test]
    fn cpu_bound_cost_takes_the_fastest_of_the_equally_cheap() {
        // Below one vCPU, memory x duration is constant: every size up to 1769 MB costs the same.
        let r = recommend(&strategy("cost"), &cpu_bound(), None).unwrap();
        assert_eq!(r.memory_mb, 1769, "{}", r.reason);
        assert!(
            r.band.contains(&128) && !r.band.contains(&2048),
            "{:?}",
            r.band
        );
    }

    #[test]
    fn cost_takes_a_faster_size_only_when_confidently_within_tolerance() {
        let mut sizes = cpu_bound();
        let cheapest_low = sizes
            .iter()
            .map(|s| s.cost.unwrap().ci_low_usd)
            .fold(f64::INFINITY, f64::min);
        // 1769 MB may cost 5% more than the cheapest: not confidently within 2%.
        for s in sizes.iter_mut().filter(|s| s.memory_mb == 1769) {
            s.cost.as_mut().unwrap().ci_high_usd = cheapest_low * 1.05;
        }
        let r = recommend(&strategy("cost"), &sizes, None).unwrap();
        assert_eq!(r.memory_mb, 1536, "{}", r.reason);
        assert!(!r.band.contains(&1769), "{:?}", r.band);
    }

    #[test]
    fn io_bound_cost_lands_on_the_smallest_feasible_size() {
        let sizes = io_bound(|m| warm(m, io_duration(m), 90, 10));
        let r = recommend(&strategy("cost"), &sizes, None).unwrap();
        assert_eq!(r.memory_mb, 128, "{}", r.reason);
        assert!(r.reason.contains("cheapest feasible size"), "{}", r.reason);
        assert!(matches!(r.value, ObjectiveValue::CostPerInvocationUsd(c) if c == r.cost.mean_usd));
    }

    #[test]
    fn out_of_memory_and_timeout_sizes_are_skipped() {
        let sizes = io_bound(|m| match m {
            128 => {
                let mut s = warm(m, io_duration(m), 120, 8);
                s.extend(failing(m, Failure::OutOfMemory, 2));
                s
            }
            256 => {
                let mut s = warm(m, io_duration(m), 120, 9);
                s.extend(failing(m, Failure::Timeout, 1));
                s
            }
            _ => warm(m, io_duration(m), 120, 10),
        });
        let r = recommend(&strategy("cost"), &sizes, None).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        assert_eq!(r.rejected.len(), 2);
        assert_eq!(
            r.rejected[0].reasons[0],
            Rejection::Infeasible(Infeasibility::OutOfMemory { count: 2 })
        );
        assert_eq!(
            r.rejected[1].reasons[0],
            Rejection::Infeasible(Infeasibility::Timeout { count: 1 })
        );
    }

    #[test]
    fn headroom_sets_aside_sizes_too_close_to_their_memory_use() {
        // 240 MB used: 1.2 x 240 = 288 MB needed, so 256 MB is out even though it ran.
        let sizes = io_bound(|m| warm(m, io_duration(m), 240, 10));
        let r = recommend(&strategy("cost"), &sizes, None).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        assert!(r.rejected.iter().any(|x| x.memory_mb == 256
            && x.reasons
                == vec![Rejection::Headroom {
                    max_used_mb: 240,
                    required_mb: 288
                }]));
    }

    #[test]
    fn no_feasible_size_explains_every_rejection() {
        let mut samples = failing(128, Failure::OutOfMemory, 3);
        samples.extend(warm(256, 25_000.0, 100, 5));
        let err = recommend(&strategy("cost"), &stats(&samples), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("128 MB: 3 out-of-memory kill(s)"), "{text}");
        assert!(text.contains("256 MB: p99"), "{text}");
        assert!(matches!(err, RecommendError::NoFeasibleSize(n) if n.rejected.len() == 2));
        let empty = recommend(&strategy("cost"), &[], None).unwrap_err();
        assert_eq!(empty.to_string(), "no memory size was measured");
    }

    /// p90 at 40 warm samples can be bounded at 95% confidence (29 suffice).
    fn slo_sizes() -> Vec<SizeStats> {
        io_bound(|m| warm(m, io_duration(m), 90, 40))
    }

    /// [`slo_sizes`] with each size's p99 estimate edited as the adaptive search leaves it.
    fn slo_sizes_with_p99(edit: impl Fn(u32, &mut QuantileEstimate)) -> Vec<SizeStats> {
        let mut sizes = slo_sizes();
        for size in &mut sizes {
            edit(size.memory_mb, &mut size.warm.as_mut().unwrap().p99);
        }
        sizes
    }

    #[test]
    fn latency_slo_picks_the_cheapest_size_meeting_the_slo() {
        // io_duration: 128 MB ~576 ms, 256 ~438, 512 ~369, 1024 ~335 ms.
        let s = strategy("latency-slo").with_slo(Some(400.0), Some(Percentile::P90));
        let r = recommend(&s, &slo_sizes(), None).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        let slo = r.slo.unwrap();
        assert_eq!(slo.status, SloVerdict::Met, "{slo:?}");
        assert!(slo.upper_bound_ms.unwrap() >= slo.estimate_ms);
        assert!(
            r.reason.contains("confirmed at 95% confidence"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn latency_slo_without_enough_samples_says_it_is_unconfirmed() {
        let s = strategy("latency-slo").with_slo(Some(400.0), Some(Percentile::P99));
        let r = recommend(&s, &slo_sizes(), None).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        let slo = r.slo.unwrap();
        assert!(slo.status == SloVerdict::Unconfirmed && slo.upper_bound_ms.is_none());
        assert!(
            r.reason
                .starts_with("SLO unconfirmed: 512 MB's p99 estimate")
                && r.reason.contains("needs at least 299"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_percentile_from_the_sizes_own_spread_says_so() {
        let s = strategy("latency-slo").with_slo(Some(400.0), Some(Percentile::P99));
        let sizes = slo_sizes_with_p99(|memory_mb, p99| {
            p99.upper_ms = Some(p99.ms);
            p99.own_spread = memory_mb == 512;
        });
        let r = recommend(&s, &sizes, None).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        assert!(
            r.reason
                .contains("its p99 comes from the samples at and near it")
                && r.reason.contains("confirmed at"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_fitted_bound_says_its_own_level() {
        // As the adaptive search leaves them: every size's p99 bounded at 99.5% (its default
        // level), none below the SLO.
        let s = strategy("latency-slo").with_slo(Some(400.0), Some(Percentile::P99));
        let sizes = slo_sizes_with_p99(|_, p99| {
            p99.upper_ms = Some(p99.ms * 1.5);
            p99.confidence = 0.995;
        });
        let r = recommend(&s, &sizes, None).unwrap();
        let slo = r.slo.unwrap();
        assert!(slo.status == SloVerdict::Unconfirmed && slo.confidence == 0.995);
        assert!(
            r.reason.contains("its 99.5% upper bound") && !r.reason.contains("needs at least"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn latency_slo_out_of_reach_returns_the_cheapest_size_nearly_as_close() {
        let s = strategy("latency-slo").with_slo(Some(100.0), None);
        let r = recommend(&s, &slo_sizes(), None).unwrap();
        // 1769 MB has the lowest p99 (320 ms) and no bound (40 samples): 1024 MB is 4.5%
        // slower at a lower cost, 512 MB 15%.
        assert_eq!(r.memory_mb, 1024, "{}", r.reason);
        assert_eq!(r.slo.unwrap().status, SloVerdict::Unmet);
        assert!(r.band.is_empty());
        assert!(
            r.reason
                .starts_with("SLO unmet: no size's p99 estimate is under 100 ms")
                && r.reason.contains("1024 MB comes closest")
                && r.reason.contains("within 5% of the lowest estimate")
                && r.reason.contains("at 1769 MB"),
            "{}",
            r.reason
        );
        // With the curve still falling steeply, the closest it is.
        let steep = io_bound(|m| warm(m, 4000.0 / f64::from(m.min(1769)) * 100.0, 90, 40));
        let r = recommend(&s, &steep, None).unwrap();
        assert_eq!(r.memory_mb, 1769, "{}", r.reason);
    }

    #[test]
    fn an_unsafe_current_size_is_fixed_and_says_so_first() {
        // 128 MB times out; 256 MB is the current size, its p99 too close to the timeout.
        let sizes = io_bound(|m| match m {
            128 => failing(m, Failure::Timeout, 2),
            256 => warm(m, 22_000.0, 90, 10),
            _ => warm(m, io_duration(m), 90, 10),
        });
        let r = recommend(&strategy("cost"), &sizes, Some(&baseline(&sizes, 256))).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        assert!(matches!(
            r.current_unsafe[..],
            [Rejection::Infeasible(Infeasibility::SlowTail { .. })]
        ));
        assert!(
            r.reason.starts_with("current size is unsafe: p99 22")
                && r.reason
                    .contains("(too close to the timeout); increase to 512 MB: p99 from 22")
                && r.reason.contains(" to 37")
                && r.reason
                    .contains(" ms; 512 MB is the cheapest feasible size"),
            "{}",
            r.reason
        );
        // A safe current size says nothing of the kind.
        let safe = recommend(&strategy("cost"), &sizes, Some(&baseline(&sizes, 1024))).unwrap();
        assert!(safe.current_unsafe.is_empty());
        assert!(!safe.reason.contains("unsafe"), "{}", safe.reason);
    }

    #[test]
    fn latency_slo_needs_an_slo() {
        let err = recommend(&strategy("latency-slo"), &slo_sizes(), None).unwrap_err();
        assert!(err.to_string().contains("--slo-ms"), "{err}");
    }

    #[test]
    fn comparison_with_the_measured_current_size() {
        let sizes = io_bound(|m| warm(m, io_duration(m), 90, 10));
        let r = recommend(&strategy("cost"), &sizes, Some(&baseline(&sizes, 1024))).unwrap();
        let c = r.vs_current.unwrap();
        assert_eq!(c.current_memory_mb, 1024);
        assert!(c.cost_change_pct < -70.0, "{c:?}");
        assert!(c.latency_change_pct > 60.0, "{c:?}");
        assert!(
            recommend(&strategy("cost"), &sizes, Some(&baseline(&sizes, 640)))
                .unwrap()
                .vs_current
                .is_none()
        );
    }

    fn baseline(sizes: &[SizeStats], memory_mb: u32) -> Baseline<'_> {
        Baseline {
            memory_mb,
            measured: sizes,
            monthly_invocations: None,
        }
    }

    fn guarded() -> Strategy {
        strategy(crate::strategy::DEFAULT_STRATEGY)
    }

    #[test]
    fn the_guard_keeps_p99_within_its_limit_and_says_what_it_forgoes() {
        // io_duration: 128 MB ~576 ms, 256 ~438, 512 ~369, 1024 ~335 ms.
        let sizes = io_bound(|m| warm(m, io_duration(m), 90, 10));
        let now = baseline(&sizes, 1024);
        let pure = recommend(&strategy("cost"), &sizes, Some(&now)).unwrap();
        assert_eq!(pure.memory_mb, 128, "{}", pure.reason);
        assert_eq!(pure.latency_guard, None);
        let r = recommend(&guarded(), &sizes, Some(&now)).unwrap();
        assert_eq!(r.memory_mb, 512, "{}", r.reason);
        let p99 = r.tradeoff.p99_ms;
        assert!(p99.after.unwrap() <= 1.2 * p99.before.unwrap(), "{p99:?}");
        let Some(LatencyGuard::Applied {
            excluded_mb,
            forgone: Some(forgone),
            ..
        }) = &r.latency_guard
        else {
            panic!("{:?}", r.latency_guard)
        };
        assert_eq!(excluded_mb, &vec![128, 256]);
        assert_eq!(forgone.memory_mb, 128);
        assert!(forgone.saving.unwrap().fraction > 0.5, "{forgone:?}");
        assert!(
            r.reason.contains("128 MB would save") && r.reason.contains("--strategy cost"),
            "{}",
            r.reason
        );
        assert!(
            r.reason
                .starts_with("512 MB is the cheapest feasible size the latency guard allows"),
            "{}",
            r.reason
        );
        // The trade-off: before -> after, the runner-up, and the guard's note.
        let t = &r.tradeoff;
        assert_eq!((t.current_mb, t.recommended_mb), (1024, 512));
        assert!(t.summary.starts_with("1024 -> 512 MB: $"), "{}", t.summary);
        assert!(t.summary.contains("it beat 1024 MB"), "{}", t.summary);
        assert!(t.summary.contains("128 MB would save"), "{}", t.summary);
        assert_eq!(r.held_back, None);
    }

    #[test]
    fn an_unsafe_current_size_is_not_held_back_by_the_guard() {
        let sizes = io_bound(|m| match m {
            128 => {
                let mut s = warm(m, io_duration(m), 100, 8);
                s.extend(failing(m, Failure::OutOfMemory, 2));
                s
            }
            _ => warm(m, io_duration(m), 100, 10),
        });
        let r = recommend(&guarded(), &sizes, Some(&baseline(&sizes, 128))).unwrap();
        assert_eq!(r.memory_mb, 256, "{}", r.reason);
        assert!(
            matches!(&r.latency_guard, Some(LatencyGuard::CurrentUnsafe { reasons }) if reasons[0].contains("out-of-memory")),
            "{:?}",
            r.latency_guard
        );
        assert!(
            r.reason.contains("the current size is unsafe"),
            "{}",
            r.reason
        );
        assert_eq!(r.held_back, None);
        // Not sampled: nothing to guard against, and the trade-off says so.
        let r = recommend(&guarded(), &sizes, Some(&baseline(&sizes, 640))).unwrap();
        assert_eq!(r.latency_guard, Some(LatencyGuard::CurrentNotMeasured));
        assert!(
            r.tradeoff.summary.starts_with("640 -> "),
            "{}",
            r.tradeoff.summary
        );
        assert!(r.tradeoff.summary.contains("n/m"), "{}", r.tradeoff.summary);
    }

    #[test]
    fn a_change_worth_less_than_the_minimum_keeps_the_current_size() {
        // 980 MB is about 3% cheaper than 1024 MB and 1% slower: the pure objective takes it.
        let samples: Vec<Sample> = warm(980, 101.0, 90, 20)
            .into_iter()
            .chain(warm(1024, 100.0, 90, 20))
            .collect();
        let sizes = stats(&samples);
        let now = baseline(&sizes, 1024);
        assert_eq!(
            recommend(&strategy("cost"), &sizes, Some(&now))
                .unwrap()
                .memory_mb,
            980
        );
        let r = recommend(&guarded(), &sizes, Some(&now)).unwrap();
        assert_eq!(r.memory_mb, 1024, "{}", r.reason);
        let held = r.held_back.as_ref().unwrap();
        assert_eq!(held.memory_mb, 980);
        assert!(held.saving.fraction > 0.02 && held.saving.fraction < 0.05);
        assert!(
            r.reason.starts_with("1024 MB is kept: 980 MB would save"),
            "{}",
            r.reason
        );
        assert!(
            r.tradeoff.summary.starts_with("keep 1024 MB"),
            "{}",
            r.tradeoff.summary
        );
        assert_eq!(r.tradeoff.runner_up.as_ref().unwrap().memory_mb, 980);
    }
}
