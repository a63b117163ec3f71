//! The decide rule: which of the feasible sizes a strategy's objective picks, over plain
//! estimates per size. The final choice applies it to each measured size's statistics
//! ([`super::recommend`]); the adaptive search applies it to the fitted curve's predictions on
//! the 1 MB grid, to know where to sample next. One rule, so the search aims where the final
//! choice will land.

use super::spec::{Objective, Strategy};

/// A strategy's objective with the parameters the rule needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The fastest size confidently within `tolerance` of the cheapest.
    Cost { tolerance: f64 },
    /// The smallest size within `tolerance` of the fastest.
    Speed { tolerance: f64 },
    /// The best `weight x cost/max_cost + (1 - weight) x duration/max_duration`.
    Balanced { weight: f64 },
    /// The cheapest size (within `cost_tolerance`) whose percentile meets `slo_ms`.
    LatencySlo { slo_ms: f64, cost_tolerance: f64 },
}

impl Goal {
    /// The strategy's goal; `None` for a latency SLO without its target.
    pub fn of(strategy: &Strategy) -> Option<Goal> {
        Some(match strategy.objective {
            Objective::Cost => Goal::Cost {
                tolerance: strategy.cost_tolerance,
            },
            Objective::Speed => Goal::Speed {
                tolerance: strategy.speed_tolerance,
            },
            Objective::Balanced => Goal::Balanced {
                weight: strategy.balanced_weight,
            },
            Objective::LatencySlo => Goal::LatencySlo {
                slo_ms: strategy.slo_ms?,
                cost_tolerance: strategy.cost_tolerance,
            },
        })
    }
}

/// A feasible size as the rule sees it: measured statistics, or the fitted curve's prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub memory_mb: u32,
    pub cost: CostEstimate,
    /// Mean duration (ms).
    pub duration_ms: f64,
    /// The strategy's SLO percentile; `None` where no SLO is judged (such a size neither meets
    /// an SLO nor comes closest to one).
    pub percentile: Option<PercentileEstimate>,
}

/// Cost per invocation in USD, with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostEstimate {
    pub mean_usd: f64,
    pub low_usd: f64,
    pub high_usd: f64,
}

impl CostEstimate {
    /// An estimate without an interval (a prediction).
    pub fn point(usd: f64) -> CostEstimate {
        CostEstimate {
            mean_usd: usd,
            low_usd: usd,
            high_usd: usd,
        }
    }
}

/// A duration percentile (ms) and its upper confidence bound, when one can be given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentileEstimate {
    pub ms: f64,
    pub upper_ms: Option<f64>,
}

/// What the rule chose. Sizes are indices into the candidates it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub chosen: usize,
    /// The sizes the objective considered equally good (within tolerance), ascending.
    pub band: Vec<u32>,
    pub why: Why,
}

/// Why the chosen size won, with what the explanation refers to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// The cheapest size, or the fastest size confidently within tolerance of it.
    Cost {
        cheapest: usize,
    },
    /// The fastest size, or the smallest size within tolerance of it.
    Speed {
        fastest: usize,
    },
    Balanced {
        score: f64,
    },
    /// The percentile meets `slo_ms`: by its upper bound (`confirmed`), else by the estimate.
    SloMet {
        slo_ms: f64,
        confirmed: bool,
    },
    /// No size meets `slo_ms`: the cheapest size nearly as close as `closest`.
    SloOutOfReach {
        slo_ms: f64,
        closest: usize,
    },
}

/// How far above the lowest percentile an out-of-reach SLO's choice may lie, for a lower cost.
pub const NEARLY_CLOSEST: f64 = 0.05;

/// Applies `goal` to `candidates` (feasible sizes, ascending by memory); `None` when there
/// are none. Ties go to the smaller size.
pub fn decide(goal: Goal, candidates: &[Candidate]) -> Option<Decision> {
    let all: Vec<usize> = (0..candidates.len()).collect();
    let rule = Rule { candidates };
    match goal {
        Goal::Cost { tolerance } => rule.by_cost(&all, tolerance),
        Goal::Speed { tolerance } => rule.by_speed(&all, tolerance),
        Goal::Balanced { weight } => rule.by_balance(&all, weight),
        Goal::LatencySlo {
            slo_ms,
            cost_tolerance,
        } => rule.by_slo(&all, slo_ms, cost_tolerance),
    }
}

/// The candidates; pools of them are index lists in ascending memory order.
struct Rule<'a> {
    candidates: &'a [Candidate],
}

impl Rule<'_> {
    fn at(&self, i: usize) -> &Candidate {
        &self.candidates[i]
    }

    /// The first (smallest) of `pool` minimising `key`.
    fn min_by(&self, pool: &[usize], key: impl Fn(&Candidate) -> f64) -> Option<usize> {
        pool.iter()
            .copied()
            .min_by(|&a, &b| key(self.at(a)).total_cmp(&key(self.at(b))))
    }

    /// The members of `pool` whose `key` is within `tolerance` of the best.
    fn within(
        &self,
        pool: &[usize],
        tolerance: f64,
        key: impl Fn(&Candidate) -> f64,
    ) -> Vec<usize> {
        let Some(best) = self.min_by(pool, &key) else {
            return Vec::new();
        };
        let best = key(self.at(best));
        pool.iter()
            .copied()
            .filter(|&i| key(self.at(i)) <= best * (1.0 + tolerance))
            .collect()
    }

    fn band(&self, pool: &[usize]) -> Vec<u32> {
        pool.iter().map(|&i| self.at(i).memory_mb).collect()
    }

    /// The fastest size that is confidently within `tolerance` of the cheapest: its cost's
    /// upper confidence bound must lie within the tolerance of the cheapest's lower bound, so
    /// estimation error cannot buy speed at more than the tolerance.
    fn by_cost(&self, pool: &[usize], tolerance: f64) -> Option<Decision> {
        let cheapest = self.min_by(pool, |c| c.cost.mean_usd)?;
        let cheapest_mb = self.at(cheapest).memory_mb;
        let limit = self.at(cheapest).cost.low_usd * (1.0 + tolerance);
        let band: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| {
                let c = self.at(i);
                c.memory_mb == cheapest_mb || c.cost.high_usd <= limit
            })
            .collect();
        Some(Decision {
            chosen: self.min_by(&band, |c| c.duration_ms)?,
            band: self.band(&band),
            why: Why::Cost { cheapest },
        })
    }

    fn by_speed(&self, pool: &[usize], tolerance: f64) -> Option<Decision> {
        let fastest = self.min_by(pool, |c| c.duration_ms)?;
        let band = self.within(pool, tolerance, |c| c.duration_ms);
        Some(Decision {
            // The pool is in ascending memory order: the first in the band is the smallest.
            chosen: *band.first()?,
            band: self.band(&band),
            why: Why::Speed { fastest },
        })
    }

    fn by_balance(&self, pool: &[usize], weight: f64) -> Option<Decision> {
        let members = || pool.iter().map(|&i| self.at(i));
        let max_cost = members().map(|c| c.cost.mean_usd).fold(0.0, f64::max);
        let max_duration = members().map(|c| c.duration_ms).fold(0.0, f64::max);
        // A zero maximum (every size free, or instant) leaves that term out instead of NaN.
        let ratio = |x: f64, max: f64| if max > 0.0 { x / max } else { 0.0 };
        let score = |c: &Candidate| {
            weight * ratio(c.cost.mean_usd, max_cost)
                + (1.0 - weight) * ratio(c.duration_ms, max_duration)
        };
        let chosen = self.min_by(pool, score)?;
        Some(Decision {
            chosen,
            band: vec![self.at(chosen).memory_mb],
            why: Why::Balanced {
                score: score(self.at(chosen)),
            },
        })
    }

    /// The cheapest size whose percentile meets the SLO, preferring sizes where the upper
    /// confidence bound meets it; when none does, the cheapest size within
    /// [`NEARLY_CLOSEST`] of the one that comes closest.
    fn by_slo(&self, pool: &[usize], slo_ms: f64, cost_tolerance: f64) -> Option<Decision> {
        let observed = |c: &Candidate| c.percentile.map_or(f64::INFINITY, |q| q.ms);
        let confident: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| {
                let upper = self.at(i).percentile.and_then(|q| q.upper_ms);
                upper.is_some_and(|u| u <= slo_ms)
            })
            .collect();
        let met: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| observed(self.at(i)) <= slo_ms)
            .collect();
        let tier = if confident.is_empty() {
            &met
        } else {
            &confident
        };
        if tier.is_empty() {
            // Out of reach: the size that comes closest, or a cheaper one whose percentile is
            // nearly as low (where the curve has flattened, more memory buys nothing).
            let closest = self.min_by(pool, observed)?;
            let nearly = self.within(pool, NEARLY_CLOSEST, observed);
            return Some(Decision {
                chosen: self.min_by(&nearly, |c| c.cost.mean_usd)?,
                band: Vec::new(),
                why: Why::SloOutOfReach { slo_ms, closest },
            });
        }
        let by_cost = self.by_cost(tier, cost_tolerance)?;
        Some(Decision {
            why: Why::SloMet {
                slo_ms,
                confirmed: !confident.is_empty(),
            },
            ..by_cost
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(memory_mb: u32, usd: f64, duration_ms: f64) -> Candidate {
        Candidate {
            memory_mb,
            cost: CostEstimate::point(usd),
            duration_ms,
            percentile: None,
        }
    }

    #[test]
    fn balanced_with_a_zero_maximum_scores_without_nan() {
        let free = [candidate(128, 0.0, 200.0), candidate(256, 0.0, 100.0)];
        let d = decide(Goal::Balanced { weight: 0.5 }, &free).unwrap();
        assert_eq!(d.chosen, 1);
        assert_eq!(d.why, Why::Balanced { score: 0.25 });
    }

    #[test]
    fn no_candidates_no_decision() {
        assert_eq!(decide(Goal::Speed { tolerance: 0.05 }, &[]), None);
    }
}
