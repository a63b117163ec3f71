//! The fitted curve, summarized for reports.

use serde::Serialize;

use crate::fit::Fit;

/// The fitted curve, for reports: points every few MB with the mean's band and the p99.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FitSummary {
    pub model: String,
    pub cv_error: Option<f64>,
    pub predicted_optimum_mb: u32,
    pub points: Vec<FitPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FitPoint {
    pub memory_mb: u32,
    pub mean_ms: f64,
    pub mean_low_ms: f64,
    pub mean_high_ms: f64,
    pub p99_ms: f64,
}

pub(super) fn summarize(fit: &Fit, optimum: u32, floor: u32, max_mb: u32) -> FitSummary {
    let mut sizes: Vec<u32> = (floor..=max_mb).step_by(64).collect();
    sizes.extend([floor, optimum, max_mb, 1769.clamp(floor, max_mb)]);
    sizes.sort_unstable();
    sizes.dedup();
    FitSummary {
        model: fit.model().as_str().to_string(),
        cv_error: fit.cv_error(),
        predicted_optimum_mb: optimum,
        points: sizes
            .into_iter()
            .map(|m| {
                let (lo, hi) = fit.mean_band(m);
                FitPoint {
                    memory_mb: m,
                    mean_ms: fit.mean_ms(m),
                    mean_low_ms: lo,
                    mean_high_ms: hi,
                    p99_ms: fit.quantile_ms(m, 0.99),
                }
            })
            .collect(),
    }
}
