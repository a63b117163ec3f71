//! How sure a recommendation is, from what the document measured (docs/reports.md).
//!
//! The strategy's measure is compared at the current and the recommended size with 95%
//! intervals: the bootstrap cost interval for `cost` and `latency-slo`, a normal interval of
//! the mean duration (mean ± 1.96 x CV x mean / √n) for `speed`; `balanced` uses either.
//! - `high`: the intervals do not overlap (the change is beyond sampling noise) and the
//!   fitted curve, when there is one, predicts left-out sizes within 10%.
//! - `medium`: the intervals do not overlap but the fit is looser than that.
//! - `low`: the intervals overlap: the difference may be noise.
//! - none: nothing to compare (keep the current size, no recommendation, or the current size
//!   was not sampled).

use super::{FunctionDocument, SizeRow};

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

/// A 95% interval of one measure at one size.
type Interval = fn(&SizeRow) -> Option<[f64; 2]>;

fn cost_interval(s: &SizeRow) -> Option<[f64; 2]> {
    s.cost_ci95_usd
}

fn duration_interval(s: &SizeRow) -> Option<[f64; 2]> {
    let mean = s.mean_ms?;
    let half = 1.96 * s.cv? * mean / (s.successes.max(1) as f64).sqrt();
    Some([mean - half, mean + half])
}

fn apart(a: [f64; 2], b: [f64; 2]) -> bool {
    a[1] < b[0] || b[1] < a[0]
}

pub fn of(d: &FunctionDocument) -> Option<Confidence> {
    let rec = d.recommendation.as_ref()?;
    if rec.memory_mb == d.current.memory_mb {
        return None;
    }
    let row = |mb: u32| d.sizes.iter().find(|s| s.memory_mb == mb);
    let (now, after) = (row(d.current.memory_mb)?, row(rec.memory_mb)?);
    let separated =
        |interval: fn(&SizeRow) -> Option<[f64; 2]>| Some(apart(interval(now)?, interval(after)?));
    let measures: &[Interval] = match d.strategy.objective.as_str() {
        "speed" => &[duration_interval],
        "balanced" => &[cost_interval, duration_interval],
        _ => &[cost_interval],
    };
    let compared: Vec<bool> = measures.iter().filter_map(|&m| separated(m)).collect();
    if compared.is_empty() {
        return None;
    }
    if !compared.contains(&true) {
        return Some(Confidence::Low);
    }
    let loose_fit = d
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
mod tests {
    use super::*;
    use crate::report::sample;

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
