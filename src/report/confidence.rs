//! How sure a recommendation is, as one number every rendering and the apply guard share.
//!
//! `confidence(doc)` is in 0..=1: the probability that the cost difference measured between
//! the current and the recommended size is real rather than noise, from their 95% cost
//! intervals (each mean taken as normal with sd = interval width / 3.92):
//! `2 x Phi(|mean_now - mean_rec| / sqrt(sd_now^2 + sd_rec^2)) - 1`. Two intervals that do not
//! overlap give 0.99 or more; identical means give 0. When the current size lies in the
//! recommendation's band (the strategy rates it as good as the recommended size within its
//! tolerance), moving gains nothing the strategy cares about, so confidence is at most 0.5.
//!
//! None when there is nothing to compare: no recommendation, the recommendation is the
//! current size, or either size has no measured cost interval.

use statrs::function::erf::erf;

use super::FunctionDocument;

/// At or above this, the table says `high`.
pub const HIGH: f64 = 0.95;

pub fn confidence(doc: &FunctionDocument) -> Option<f64> {
    let rec = doc.recommendation.as_ref()?;
    let now_mb = doc.current.memory_mb;
    if rec.memory_mb == now_mb {
        return None;
    }
    let interval = |mb: u32| {
        doc.sizes
            .iter()
            .find(|s| s.memory_mb == mb)
            .and_then(|s| Some((s.cost_per_invocation_usd?, s.cost_ci95_usd?)))
    };
    let (mean_now, [lo_now, hi_now]) = interval(now_mb)?;
    let (mean_rec, [lo_rec, hi_rec]) = interval(rec.memory_mb)?;
    let sd = |lo: f64, hi: f64| ((hi - lo) / 3.92).max(0.0);
    let spread = sd(lo_now, hi_now).hypot(sd(lo_rec, hi_rec));
    let gap = (mean_now - mean_rec).abs();
    let separated = if spread > 0.0 {
        // 2 Phi(z) - 1 = erf(z / sqrt 2)
        erf(gap / spread / std::f64::consts::SQRT_2)
    } else if gap > 0.0 {
        1.0
    } else {
        0.0
    };
    Some(if rec.band_mb.contains(&now_mb) {
        separated.min(0.5)
    } else {
        separated
    })
}

/// `high`, `low` or `-`, for tables.
pub fn label(doc: &FunctionDocument) -> &'static str {
    match confidence(doc) {
        Some(c) if c >= HIGH => "high",
        Some(_) => "low",
        None => "-",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{
        Current, ExplorationInfo, FunctionInfo, RecommendationInfo, SizeRow, StrategyInfo,
    };

    fn row(mb: u32, mean: f64, half_width: f64) -> SizeRow {
        SizeRow {
            memory_mb: mb,
            invocations: 10,
            successes: 10,
            cold_starts: 1,
            p50_ms: Some(100.0),
            p90_ms: Some(110.0),
            p99_ms: Some(120.0),
            mean_ms: Some(100.0),
            trimmed_mean_ms: Some(100.0),
            cv: Some(0.05),
            mean_billed_ms: Some(100.0),
            mean_init_ms: None,
            max_memory_used_mb: Some(64),
            cost_per_invocation_usd: Some(mean),
            cost_per_million_usd: Some(mean * 1e6),
            cost_ci95_usd: Some([mean - half_width, mean + half_width]),
            out_of_memory: 0,
            timeouts: 0,
            function_errors: 0,
            feasible: true,
            infeasible_reasons: vec![],
        }
    }

    /// A document with the current size `now_mb` and a recommendation of `rec_mb`, sizes
    /// given as (MB, mean cost, interval half width).
    pub(crate) fn doc(now_mb: u32, rec_mb: u32, sizes: &[(u32, f64, f64)]) -> FunctionDocument {
        let sizes: Vec<SizeRow> = sizes.iter().map(|&(mb, m, w)| row(mb, m, w)).collect();
        let at = |mb: u32| sizes.iter().find(|s| s.memory_mb == mb).cloned();
        FunctionDocument {
            schema_version: 1,
            run_id: "r".into(),
            generated_at: "2026-01-01T00:00:00Z".into(),
            function: FunctionInfo {
                name: "f".into(),
                arn: "arn".into(),
                runtime: None,
                architecture: "x86_64".into(),
                region: "us-east-1".into(),
                timeout_s: 30,
            },
            strategy: StrategyInfo {
                name: "cost".into(),
                objective: "cost".into(),
            },
            search: "grid".into(),
            current: Current {
                memory_mb: now_mb,
                cost_per_invocation_usd: at(now_mb).and_then(|s| s.cost_per_invocation_usd),
                p99_ms: at(now_mb).and_then(|s| s.p99_ms),
            },
            recommendation: Some(RecommendationInfo {
                memory_mb: rec_mb,
                reason: "cheapest".into(),
                band_mb: vec![rec_mb],
                cost_per_invocation_usd: at(rec_mb)
                    .and_then(|s| s.cost_per_invocation_usd)
                    .unwrap_or(0.0),
                cost_per_million_usd: at(rec_mb)
                    .and_then(|s| s.cost_per_million_usd)
                    .unwrap_or(0.0),
                p99_ms: at(rec_mb).and_then(|s| s.p99_ms),
                cost_change_pct: None,
                latency_change_pct: None,
                slo_met: None,
                monthly_savings_usd: None,
            }),
            no_recommendation: None,
            sizes,
            fit: None,
            exploration: ExplorationInfo {
                invocations: 20,
                gb_seconds: 1.0,
                usd: 0.001,
                platform_failures: 0,
            },
            restored: String::new(),
            warnings: vec![],
            production: None,
        }
    }

    #[test]
    fn separated_intervals_are_high_and_overlapping_ones_low() {
        let apart = doc(512, 1024, &[(512, 2.0e-6, 0.1e-6), (1024, 1.5e-6, 0.1e-6)]);
        let c = confidence(&apart).unwrap();
        assert!(c > 0.999, "{c}");
        assert_eq!(label(&apart), "high");
        let close = doc(512, 1024, &[(512, 2.0e-6, 0.5e-6), (1024, 1.9e-6, 0.5e-6)]);
        let c = confidence(&close).unwrap();
        assert!((0.05..0.5).contains(&c), "{c}");
        assert_eq!(label(&close), "low");
    }

    #[test]
    fn the_current_size_in_the_band_caps_confidence_at_one_half() {
        let mut d = doc(512, 1024, &[(512, 2.0e-6, 0.1e-6), (1024, 1.5e-6, 0.1e-6)]);
        d.recommendation.as_mut().unwrap().band_mb = vec![512, 1024];
        assert_eq!(confidence(&d), Some(0.5));
    }

    #[test]
    fn nothing_to_compare_is_none() {
        let same = doc(512, 512, &[(512, 2.0e-6, 0.1e-6)]);
        assert_eq!(confidence(&same), None);
        let unmeasured = doc(512, 1024, &[(1024, 1.5e-6, 0.1e-6)]);
        assert_eq!(confidence(&unmeasured), None);
        assert_eq!(label(&unmeasured), "-");
    }
}
