//! How sure a recommendation is: one number the apply guard uses and one label every rendering
//! shows (docs/reports.md).
//!
//! The strategy's measure is compared at the current and the recommended size, each with its
//! 95% interval: the bootstrap cost interval for `cost` and `latency-slo`, a normal interval
//! of the mean duration (mean +- 1.96 x CV x mean / sqrt(n)) for `speed`, either for
//! `balanced`. Each mean is taken as normal with sd = interval width / 3.92, and
//! `confidence(doc)` = 2 Phi(|mean_now - mean_rec| / sqrt(sd_now^2 + sd_rec^2)) - 1 is the
//! probability that the difference is real rather than noise: intervals that do not overlap
//! give 0.99 or more, identical means 0. When the current size lies in the recommendation's
//! band (the strategy rates it as good within its tolerance), moving gains nothing the
//! strategy cares about, so confidence is at most 0.5.
//!
//! Labels: `high` at 0.95 or more with a fitted curve (when there is one) that predicts
//! left-out sizes within 10%; `medium` at 0.95 or more with a looser fit; `low` below 0.95.
//! None (`-`) when there is nothing to compare: no recommendation, the recommendation is the
//! current size, or either size lacks the measure.

use statrs::function::erf::erf;

use super::document::{FunctionDocument, SizeRow};

/// At or above this, a change is `high` (or `medium` with a loose fit).
pub const HIGH: f64 = 0.95;
/// The fit's cross-validated error below which a curve counts as explaining the data.
const GOOD_FIT_ERROR: f64 = 0.10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// A measure at one size: its mean and 95% interval.
type Measure = fn(&SizeRow) -> Option<(f64, [f64; 2])>;

fn cost(s: &SizeRow) -> Option<(f64, [f64; 2])> {
    Some((s.cost_per_invocation_usd?, s.cost_ci95_usd?))
}

fn duration(s: &SizeRow) -> Option<(f64, [f64; 2])> {
    let mean = s.mean_ms?;
    let half = 1.96 * s.cv? * mean / (s.successes.max(1) as f64).sqrt();
    Some((mean, [mean - half, mean + half]))
}

/// The probability that the two means differ, from their intervals.
fn separation(
    (mean_a, [lo_a, hi_a]): (f64, [f64; 2]),
    (mean_b, [lo_b, hi_b]): (f64, [f64; 2]),
) -> f64 {
    let sd = |lo: f64, hi: f64| ((hi - lo) / 3.92).max(0.0);
    let spread = sd(lo_a, hi_a).hypot(sd(lo_b, hi_b));
    let gap = (mean_a - mean_b).abs();
    if spread > 0.0 {
        // 2 Phi(z) - 1 = erf(z / sqrt 2)
        erf(gap / spread / std::f64::consts::SQRT_2)
    } else if gap > 0.0 {
        1.0
    } else {
        0.0
    }
}

pub fn confidence(doc: &FunctionDocument) -> Option<f64> {
    let rec = doc.recommendation.as_ref()?;
    let now_mb = doc.current.memory_mb;
    if rec.memory_mb == now_mb {
        return None;
    }
    let row = |mb: u32| doc.sizes.iter().find(|s| s.memory_mb == mb);
    let (now, after) = (row(now_mb)?, row(rec.memory_mb)?);
    let measures: &[Measure] = match doc.strategy.objective.as_str() {
        "speed" => &[duration],
        "balanced" => &[cost, duration],
        _ => &[cost],
    };
    let separated = measures
        .iter()
        .filter_map(|m| Some(separation(m(now)?, m(after)?)))
        .reduce(f64::max)?;
    Some(if rec.band_mb.contains(&now_mb) {
        separated.min(0.5)
    } else {
        separated
    })
}

pub fn of(doc: &FunctionDocument) -> Option<Confidence> {
    let c = confidence(doc)?;
    if c < HIGH {
        return Some(Confidence::Low);
    }
    let loose_fit = doc
        .fit
        .as_ref()
        .and_then(|f| f.cv_error)
        .is_some_and(|e| e > GOOD_FIT_ERROR);
    Some(if loose_fit {
        Confidence::Medium
    } else {
        Confidence::High
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::sample;
    use crate::tune::document::{Current, SizeRow};

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
            mean_restore_ms: None,
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
        let mut d = sample::document("f", now_mb, rec_mb, 0);
        d.run_id = "r".into();
        d.search = "grid".into();
        d.current = Current {
            memory_mb: now_mb,
            cost_per_invocation_usd: at(now_mb).and_then(|s| s.cost_per_invocation_usd),
            p99_ms: at(now_mb).and_then(|s| s.p99_ms),
            unsafe_reasons: vec![],
        };
        let rec = d.recommendation.as_mut().expect("the sample recommends");
        rec.cost_per_invocation_usd = at(rec_mb)
            .and_then(|s| s.cost_per_invocation_usd)
            .unwrap_or(0.0);
        rec.cost_per_million_usd = at(rec_mb)
            .and_then(|s| s.cost_per_million_usd)
            .unwrap_or(0.0);
        rec.p99_ms = at(rec_mb).and_then(|s| s.p99_ms);
        rec.cost_change_pct = None;
        rec.latency_change_pct = None;
        rec.monthly_savings_usd = None;
        d.sizes = sizes;
        d.fit = None;
        d
    }

    #[test]
    fn separated_intervals_are_high_and_overlapping_ones_low() {
        let apart = doc(512, 1024, &[(512, 2.0e-6, 0.1e-6), (1024, 1.5e-6, 0.1e-6)]);
        let c = confidence(&apart).unwrap();
        assert!(c > 0.999, "{c}");
        assert_eq!(of(&apart), Some(Confidence::High));
        let close = doc(512, 1024, &[(512, 2.0e-6, 0.5e-6), (1024, 1.9e-6, 0.5e-6)]);
        let c = confidence(&close).unwrap();
        assert!((0.05..0.5).contains(&c), "{c}");
        assert_eq!(of(&close), Some(Confidence::Low));
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
        assert_eq!(of(&unmeasured), None);
    }

    #[test]
    fn apart_intervals_and_a_good_fit_are_high() {
        let d = sample::document("f", 1024, 512, 0);
        assert_eq!(of(&d), Some(Confidence::High));
    }

    #[test]
    fn a_loose_fit_lowers_it_to_medium() {
        let mut d = sample::document("f", 1024, 512, 0);
        d.fit.as_mut().unwrap().cv_error = Some(0.25);
        assert_eq!(of(&d), Some(Confidence::Medium));
    }

    #[test]
    fn overlapping_intervals_are_low() {
        let mut d = sample::document("f", 1024, 512, 0);
        for s in &mut d.sizes {
            let c = s.cost_per_invocation_usd.unwrap();
            s.cost_ci95_usd = Some([c * 0.5, c * 1.5]);
        }
        assert_eq!(of(&d), Some(Confidence::Low));
    }

    #[test]
    fn speed_compares_durations_not_costs() {
        let mut d = sample::document("f", 512, 1769, 0);
        d.strategy.objective = "speed".into();
        for s in &mut d.sizes {
            s.cost_ci95_usd = Some([0.0, 1.0]);
        }
        assert_eq!(of(&d), Some(Confidence::High), "durations differ 2.5x");
    }

    #[test]
    fn nothing_to_compare_has_none() {
        let keep = sample::document("f", 512, 512, 0);
        assert_eq!(of(&keep), None);
        let mut unmeasured = sample::document("f", 1000, 512, 0);
        unmeasured.current.memory_mb = 1000;
        assert_eq!(of(&unmeasured), None);
    }
}
