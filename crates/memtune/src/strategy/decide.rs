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
    /// No size's estimate meets `slo_ms`. The chosen size comes closest: the cheapest whose
    /// estimate cannot be told apart from `lowest`, the lowest estimate.
    SloOutOfReach {
        slo_ms: f64,
        lowest: usize,
    },
}

/// Where a size stands against a latency SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloVerdict {
    /// The percentile's upper confidence bound is under the SLO.
    Met,
    /// The estimate is under the SLO, its upper bound is not (or there are too few samples to
    /// give one): more invocations might confirm it, or not.
    Unconfirmed,
    /// The estimate itself is above the SLO.
    Unmet,
}

impl SloVerdict {
    pub fn of(percentile: &PercentileEstimate, slo_ms: f64) -> SloVerdict {
        if percentile.upper_ms.is_some_and(|u| u <= slo_ms) {
            SloVerdict::Met
        } else if percentile.ms <= slo_ms {
            SloVerdict::Unconfirmed
        } else {
            SloVerdict::Unmet
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SloVerdict::Met => "met",
            SloVerdict::Unconfirmed => "unconfirmed",
            SloVerdict::Unmet => "unmet",
        }
    }
}

/// How far above the lowest percentile an out-of-reach SLO's choice may lie, for a lower cost,
/// where the lowest has no upper bound to say how far it could be off.
pub const NEARLY_CLOSEST: f64 = 0.05;

/// The farthest above the lowest percentile an out-of-reach SLO's choice may lie, however wide
/// the lowest's bound: a noisy size's bound (1.6x its estimate at a CV of 0.5) would let sizes
/// far slower than the lowest pass as "as close".
pub const FARTHEST_CLOSE: f64 = 0.15;

/// How high a size's percentile estimate may lie and still count as the lowest one when an
/// SLO is out of reach: the lowest's upper bound, within [`NEARLY_CLOSEST`] and
/// [`FARTHEST_CLOSE`] above the lowest estimate.
pub fn closest_reach(lowest: &PercentileEstimate) -> f64 {
    lowest.upper_ms.unwrap_or(lowest.ms).clamp(
        lowest.ms * (1.0 + NEARLY_CLOSEST),
        lowest.ms * (1.0 + FARTHEST_CLOSE),
    )
}

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
    /// confidence bound meets it (`met`) over those where only the estimate does
    /// (`unconfirmed`); when none does, the size that comes closest ([`Rule::closest`]).
    fn by_slo(&self, pool: &[usize], slo_ms: f64, cost_tolerance: f64) -> Option<Decision> {
        let verdict = |i: usize| {
            self.at(i)
                .percentile
                .map_or(SloVerdict::Unmet, |q| SloVerdict::of(&q, slo_ms))
        };
        let with = |v: SloVerdict| -> Vec<usize> {
            pool.iter().copied().filter(|&i| verdict(i) == v).collect()
        };
        let confident = with(SloVerdict::Met);
        let confirmed = !confident.is_empty();
        let tier = if confirmed {
            confident
        } else {
            with(SloVerdict::Unconfirmed)
        };
        if tier.is_empty() {
            return self.closest(pool, slo_ms);
        }
        let by_cost = self.by_cost(&tier, cost_tolerance)?;
        Some(Decision {
            why: Why::SloMet { slo_ms, confirmed },
            ..by_cost
        })
    }

    /// An SLO out of reach: the cheapest size whose estimate cannot be told apart from the
    /// lowest one ([`closest_reach`]).
    /// Where the curve has flattened, every size on the flat run qualifies, so noise in their
    /// estimates does not move the choice: three runs of one function used to name 10240,
    /// 3538 and 1769 MB by whichever estimate came out lowest.
    fn closest(&self, pool: &[usize], slo_ms: f64) -> Option<Decision> {
        let estimate = |c: &Candidate| c.percentile.map_or(f64::INFINITY, |q| q.ms);
        let lowest = self.min_by(pool, estimate)?;
        let at_lowest = self.at(lowest).percentile?;
        let reach = closest_reach(&at_lowest);
        let close: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&i| estimate(self.at(i)) <= reach)
            .collect();
        Some(Decision {
            chosen: self.min_by(&close, |c| c.cost.mean_usd)?,
            band: Vec::new(),
            why: Why::SloOutOfReach { slo_ms, lowest },
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
    fn an_slo_is_met_by_its_bound_unconfirmed_by_its_estimate_else_unmet() {
        let q = |ms: f64, upper_ms: Option<f64>| PercentileEstimate { ms, upper_ms };
        assert_eq!(
            SloVerdict::of(&q(150.0, Some(190.0)), 200.0),
            SloVerdict::Met
        );
        assert_eq!(
            SloVerdict::of(&q(150.0, Some(230.0)), 200.0),
            SloVerdict::Unconfirmed
        );
        assert_eq!(
            SloVerdict::of(&q(150.0, None), 200.0),
            SloVerdict::Unconfirmed
        );
        assert_eq!(
            SloVerdict::of(&q(210.0, Some(250.0)), 200.0),
            SloVerdict::Unmet
        );
    }

    /// A curve flat from 1769 MB up, its p99 estimates ~480 ms with noise, each bounded at
    /// +10%: an SLO of 200 ms is out of reach.
    fn flat_top(noise: [f64; 4]) -> Vec<Candidate> {
        [
            (512, 806.0),
            (1769, 482.0),
            (2653, 482.0),
            (3538, 482.0),
            (10240, 482.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(memory_mb, p99))| {
            let ms = p99 * (1.0 + if i == 0 { 0.0 } else { noise[i - 1] });
            Candidate {
                memory_mb,
                cost: CostEstimate::point(f64::from(memory_mb) * 1e-9),
                duration_ms: ms / 7.0,
                percentile: Some(PercentileEstimate {
                    ms,
                    upper_ms: Some(ms * 1.1),
                }),
            }
        })
        .collect()
    }

    #[test]
    fn an_slo_out_of_reach_names_the_same_size_whichever_estimate_comes_out_lowest() {
        let goal = Goal::LatencySlo {
            slo_ms: 200.0,
            cost_tolerance: 0.02,
        };
        // The noise makes 10240, 3538 and then 2653 MB the lowest: the choice stays at the
        // cheapest size on the flat run.
        for noise in [
            [0.03, 0.02, 0.01, -0.03],
            [0.01, 0.02, -0.04, 0.0],
            [0.02, -0.03, 0.01, 0.03],
        ] {
            let candidates = flat_top(noise);
            let d = decide(goal, &candidates).unwrap();
            assert_eq!(candidates[d.chosen].memory_mb, 1769, "{noise:?}");
            let Why::SloOutOfReach { lowest, .. } = d.why else {
                panic!("{:?}", d.why)
            };
            assert!(candidates[lowest].memory_mb > 1769);
        }
    }

    #[test]
    fn a_wide_bound_at_the_lowest_estimate_does_not_stretch_how_close_counts() {
        let goal = Goal::LatencySlo {
            slo_ms: 100.0,
            cost_tolerance: 0.02,
        };
        let size = |memory_mb: u32, ms: f64, upper_ms: f64| Candidate {
            memory_mb,
            cost: CostEstimate::point(f64::from(memory_mb) * 1e-9),
            duration_ms: ms / 3.0,
            percentile: Some(PercentileEstimate {
                ms,
                upper_ms: Some(upper_ms),
            }),
        };
        // The lowest estimate (1024 MB, 105 ms) is noisy: its bound is 170 ms. 384 MB at
        // 135 ms is 29% above it, 768 MB at 112 ms 7%.
        let candidates = [
            size(384, 135.0, 160.0),
            size(768, 112.0, 140.0),
            size(1024, 105.0, 170.0),
        ];
        let d = decide(goal, &candidates).unwrap();
        assert_eq!(candidates[d.chosen].memory_mb, 768);
        assert_eq!(
            closest_reach(&candidates[2].percentile.unwrap()),
            105.0 * 1.15
        );
    }

    #[test]
    fn no_candidates_no_decision() {
        assert_eq!(decide(Goal::Speed { tolerance: 0.05 }, &[]), None);
    }
}
