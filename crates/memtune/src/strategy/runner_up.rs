//! Why the chosen size beat the runner-up (the size the objective picks once the chosen one is
//! taken away), in the objective's own terms.

use super::decide::{Candidate, Goal};

/// "2048 MB costs 15.0% more per invocation"; `fitted` labels the figures as the fitted
/// curve's estimates.
pub(super) fn why(goal: Goal, chosen: &Candidate, runner: &Candidate, fitted: bool) -> String {
    let cost = runner.cost.mean_usd / chosen.cost.mean_usd - 1.0;
    let duration = runner.duration_ms / chosen.duration_ms - 1.0;
    let r = runner.memory_mb;
    let pct = |x: f64| format!("{:.1}%", x.abs() * 100.0);
    let tol = |t: f64| format!("{}%", (t * 1000.0).round() / 10.0);
    let by_cost = |tolerance: f64| {
        if cost > tolerance {
            format!("{r} MB costs {} more per invocation", pct(cost))
        } else if duration > 0.0 {
            format!(
                "{r} MB costs {:+.1}% per invocation, as cheap within {}, but is {} slower",
                cost * 100.0,
                tol(tolerance),
                pct(duration)
            )
        } else {
            format!(
                "{r} MB is {} faster, but its cost is not confidently within {} of the cheapest",
                pct(duration),
                tol(tolerance)
            )
        }
    };
    let text = match goal {
        Goal::Cost { tolerance } => by_cost(tolerance),
        Goal::LatencySlo {
            slo_ms,
            cost_tolerance,
        } => {
            let ms = |c: &Candidate| c.percentile.map_or(f64::INFINITY, |q| q.ms);
            if ms(runner) > slo_ms && ms(chosen) <= slo_ms {
                format!(
                    "{r} MB misses the {slo_ms:.0} ms SLO ({:.1} ms)",
                    ms(runner)
                )
            } else {
                by_cost(cost_tolerance)
            }
        }
        Goal::Speed { tolerance } if duration > tolerance => {
            format!("{r} MB is {} slower", pct(duration))
        }
        Goal::Speed { tolerance } if r > chosen.memory_mb => format!(
            "{r} MB is as fast within {} but takes more memory",
            tol(tolerance)
        ),
        Goal::Speed { .. } => format!(
            "{r} MB: duration {:+.1}%, cost {:+.1}%",
            duration * 100.0,
            cost * 100.0
        ),
        Goal::Balanced { weight } => format!(
            "{r} MB balances worse ({:.0}% cost, {:.0}% speed): cost {:+.1}%, duration {:+.1}%",
            weight * 100.0,
            (1.0 - weight) * 100.0,
            cost * 100.0,
            duration * 100.0
        ),
    };
    if fitted {
        format!("{text} (fitted estimates)")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{CostEstimate, PercentileEstimate};

    fn c(memory_mb: u32, usd: f64, duration_ms: f64, p99: f64) -> Candidate {
        Candidate {
            memory_mb,
            cost: CostEstimate::point(usd),
            duration_ms,
            percentile: Some(PercentileEstimate {
                ms: p99,
                upper_ms: None,
            }),
        }
    }

    #[test]
    fn each_objective_says_why_in_its_own_terms() {
        let cost = Goal::Cost { tolerance: 0.02 };
        let chosen = c(1024, 1.0, 100.0, 120.0);
        assert_eq!(
            why(cost, &chosen, &c(2048, 1.15, 90.0, 100.0), false),
            "2048 MB costs 15.0% more per invocation"
        );
        assert_eq!(
            why(cost, &chosen, &c(512, 0.99, 190.0, 220.0), true),
            "512 MB costs -1.0% per invocation, as cheap within 2%, but is 90.0% slower (fitted estimates)"
        );
        let speed = Goal::Speed { tolerance: 0.05 };
        assert_eq!(
            why(speed, &chosen, &c(512, 0.99, 190.0, 220.0), false),
            "512 MB is 90.0% slower"
        );
        assert_eq!(
            why(speed, &chosen, &c(2048, 2.0, 99.0, 120.0), false),
            "2048 MB is as fast within 5% but takes more memory"
        );
        let slo = Goal::LatencySlo {
            slo_ms: 150.0,
            cost_tolerance: 0.02,
        };
        assert_eq!(
            why(slo, &chosen, &c(512, 0.9, 190.0, 220.0), false),
            "512 MB misses the 150 ms SLO (220.0 ms)"
        );
        let balanced = why(
            Goal::Balanced { weight: 0.5 },
            &chosen,
            &c(512, 0.9, 190.0, 220.0),
            false,
        );
        assert!(balanced.starts_with("512 MB balances worse (50% cost, 50% speed): cost -10.0%"));
    }
}
