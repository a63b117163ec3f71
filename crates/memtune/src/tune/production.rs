//! What production says about one function, in the terms tuning needs: how often it runs,
//! how often it starts cold, how much memory it uses, what it costs per month and how its
//! durations spread. `inspect::production` reads it from CloudWatch; tuning and its
//! document use it.

use serde::{Deserialize, Serialize};

use crate::fit::ProductionTail;

/// Production figures for tuning; each is None when its source had nothing to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    pub days: f64,
    /// Invocations seen in the window (the estimate's weight).
    pub invocations: f64,
    pub monthly_invocations: f64,
    pub monthly_cost_usd: Option<f64>,
    pub cold_start_ratio: Option<f64>,
    /// Median and p99 of the window's INIT durations (its cold starts' REPORT lines).
    #[serde(default)]
    pub init_p50_ms: Option<f64>,
    #[serde(default)]
    pub init_p99_ms: Option<f64>,
    /// The largest Max Memory Used in the window's REPORT lines.
    pub max_memory_used_mb: Option<f64>,
    #[serde(default)]
    pub mean_ms: Option<f64>,
    #[serde(default)]
    pub p50_ms: Option<f64>,
    #[serde(default)]
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Upper 97.5% confidence bounds on the true p90 and p99: the percentiles at the level
    /// that many invocations' order statistics reach (`inspect::production::bound_level`).
    #[serde(default)]
    pub p90_bound_ms: Option<f64>,
    #[serde(default)]
    pub p99_bound_ms: Option<f64>,
    /// Why a source is missing (no permission, never invoked, ...), for the user.
    pub gaps: Vec<String>,
}

/// Bound over p99 past which production's p99 is reported as ill-conditioned.
const ILL_CONDITIONED: f64 = 1.25;

impl Production {
    /// The smallest memory size that keeps `headroom` over the most memory production used.
    pub fn memory_floor_mb(&self, headroom: f64) -> Option<u32> {
        self.max_memory_used_mb
            .map(|used| (used * headroom).ceil() as u32)
    }

    /// A warning when production's p99 is ill-conditioned: its 97.5% bound lies more than a
    /// quarter above it, as when a slow class of about 1% of invocations puts the p99 on a
    /// cliff. Tuning then judges the p99 on the bound and may oversize.
    pub fn tail_warning(&self) -> Option<String> {
        self.tail()?;
        let (p99, bound) = (self.p99_ms?, self.p99_bound_ms?);
        (bound > ILL_CONDITIONED * p99).then(|| {
            format!(
                "production's p99 is ill-conditioned: {p99:.0} ms over {:.0} invocations, but its 97.5% bound is {bound:.0} ms ({:.0}% higher; a slow class near 1% of invocations puts the p99 on a cliff); p99 decisions use the bound and may oversize",
                self.invocations,
                (bound / p99 - 1.0) * 100.0
            )
        })
    }

    /// The durations relative to their average, p90 and p99 at their upper bounds, when
    /// there were enough invocations to trust a p99 ([`ProductionTail::MIN_INVOCATIONS`]).
    pub fn tail(&self) -> Option<ProductionTail> {
        ProductionTail::new(
            self.mean_ms?,
            self.p50_ms?,
            self.p90_bound_ms.or(self.p90_ms),
            self.p99_bound_ms?,
            self.invocations,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p99_whose_bound_lies_far_above_it_is_reported() {
        let production = |p99: f64, bound: f64| Production {
            days: 14.0,
            invocations: 4e6,
            monthly_invocations: 8e6,
            monthly_cost_usd: None,
            cold_start_ratio: None,
            init_p50_ms: None,
            init_p99_ms: None,
            max_memory_used_mb: None,
            mean_ms: Some(290.0),
            p50_ms: Some(279.0),
            p90_ms: Some(339.0),
            p99_ms: Some(p99),
            p90_bound_ms: Some(340.0),
            p99_bound_ms: Some(bound),
            gaps: Vec::new(),
        };
        // email-dispatch: 1% of invocations 4x slower; p99.01 reads inside the slow class.
        let warning = production(507.0, 789.0).tail_warning().unwrap();
        assert!(
            warning.contains("ill-conditioned") && warning.contains("56% higher"),
            "{warning}"
        );
        assert_eq!(production(507.0, 530.0).tail_warning(), None);
        // Without enough invocations there is no tail to judge on.
        let few = Production {
            invocations: 500.0,
            ..production(507.0, 789.0)
        };
        assert_eq!(few.tail_warning(), None);
    }
}
