//! Warm-duration noise around the mean curve, pooled across memory sizes.
//!
//! Lambda's warm noise is roughly multiplicative (a few % CV whatever the size), so the log
//! of each sample minus its size's log-median is pooled over all sizes. Its spread `sigma`
//! comes from the median absolute deviation (robust to the occasional slow outlier); a
//! log-normal with that spread describes the body. The tail uses the pooled empirical
//! quantile whenever it lies further out than the log-normal's, so heavy tails are not
//! underestimated. Quantiles are offsets from the mean: `q_p(m) = mean(m) * exp(offset(p))`.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// MAD / sigma for a normal distribution.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Asymptotic efficiency of the MAD relative to the standard deviation for normal data: the
/// sigma interval uses this share of the degrees of freedom.
const MAD_EFFICIENCY: f64 = 0.37;
/// Sizes with fewer samples carry no usable spread information.
const MIN_SAMPLES: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NoiseModel {
    /// Log-normal sigma of the body.
    pub sigma: f64,
    /// Pooled residual degrees of freedom.
    pub dof: usize,
    /// Sorted pooled log residuals (sample over its size's median).
    residuals: Vec<f64>,
    /// ln(mean / median), estimated from the pooled residuals.
    log_mean_over_median: f64,
}

impl NoiseModel {
    /// Pools the log residuals of every size with at least three samples; with none the
    /// model knows no spread and every quantile equals the mean.
    pub fn from_sizes<'a>(sizes: impl Iterator<Item = &'a [f64]>) -> Self {
        let mut residuals = Vec::new();
        let mut dof = 0;
        for samples in sizes.filter(|s| s.len() >= MIN_SAMPLES) {
            let logs: Vec<f64> = samples.iter().map(|x| x.ln()).collect();
            let center = median(&logs);
            // Residuals about a sample median are a little too small; undo it like n - 1.
            let n = logs.len() as f64;
            let inflate = (n / (n - 1.0)).sqrt();
            residuals.extend(logs.iter().map(|l| (l - center) * inflate));
            dof += samples.len() - 1;
        }
        residuals.sort_by(f64::total_cmp);
        let abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
        let sigma = if abs.is_empty() {
            0.0
        } else {
            MAD_TO_SIGMA * median(&abs)
        };
        let log_mean_over_median = if residuals.is_empty() {
            0.0
        } else {
            (residuals.iter().map(|r| r.exp()).sum::<f64>() / residuals.len() as f64).ln()
        };
        NoiseModel {
            sigma,
            dof,
            residuals,
            log_mean_over_median,
        }
    }

    /// ln(q_p / mean) for 0 < p < 1.
    pub fn log_offset(&self, p: f64) -> f64 {
        if self.residuals.is_empty() {
            return 0.0;
        }
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        let lognormal = self.sigma * Normal::standard().inverse_cdf(p);
        let tail = match self.empirical(p) {
            Some(e) if p >= 0.5 => lognormal.max(e),
            Some(e) => lognormal.min(e),
            None => lognormal,
        };
        tail - self.log_mean_over_median
    }

    /// The pooled empirical p-quantile, when the pool reaches that far into the tail.
    fn empirical(&self, p: f64) -> Option<f64> {
        let n = self.residuals.len();
        if (n as f64) * p.min(1.0 - p) < 1.0 {
            return None;
        }
        let h = (n - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        Some(self.residuals[lo] + (h - lo as f64) * (self.residuals[hi] - self.residuals[lo]))
    }

    /// Factors by which sigma may be smaller or larger at `confidence` (chi-square interval
    /// on the effective degrees of freedom); `(1, 1)` without data.
    pub fn sigma_factors(&self, confidence: f64) -> (f64, f64) {
        let dof = MAD_EFFICIENCY * self.dof as f64;
        let Ok(chi) = ChiSquared::new(dof) else {
            return (1.0, 1.0);
        };
        let alpha = (1.0 - confidence) / 2.0;
        let low = (dof / chi.inverse_cdf(1.0 - alpha)).sqrt();
        let high = (dof / chi.inverse_cdf(alpha)).sqrt();
        (low, high)
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    fn lognormal_sizes(sigma: f64, sizes: usize, n: usize) -> Vec<Vec<f64>> {
        let mut rng = StdRng::seed_from_u64(7);
        (0..sizes)
            .map(|i| {
                let scale = 100.0 * (i + 1) as f64;
                let dist = LogNormal::new(scale.ln(), sigma).unwrap();
                (0..n).map(|_| dist.sample(&mut rng)).collect()
            })
            .collect()
    }

    fn model(sizes: &[Vec<f64>]) -> NoiseModel {
        NoiseModel::from_sizes(sizes.iter().map(Vec::as_slice))
    }

    #[test]
    fn pooled_sigma_matches_lognormal_data() {
        let noise = model(&lognormal_sizes(0.05, 10, 30));
        assert!((noise.sigma / 0.05 - 1.0).abs() < 0.15, "{}", noise.sigma);
        // p50 sits sigma^2 / 2 below the mean of a log-normal.
        assert!((noise.log_offset(0.5) + 0.05f64.powi(2) / 2.0).abs() < 0.01);
        let p90 = noise.log_offset(0.9);
        assert!((p90 - (1.2816 * 0.05 - 0.00125)).abs() < 0.015, "{p90}");
    }

    #[test]
    fn heavy_tail_raises_p99_above_the_lognormal() {
        let mut sizes = lognormal_sizes(0.03, 10, 30);
        for samples in &mut sizes {
            // Every 15th invocation is three times slower (~7% outliers).
            for x in samples.iter_mut().step_by(15) {
                *x *= 3.0;
            }
        }
        let noise = model(&sizes);
        let lognormal_p99 = noise.sigma * 2.326;
        assert!(noise.log_offset(0.99) > lognormal_p99 + 0.5, "{noise:?}");
        assert!(
            noise.sigma < 0.05,
            "MAD keeps the body narrow: {}",
            noise.sigma
        );
    }

    #[test]
    fn no_spread_without_enough_samples() {
        let noise = model(&[vec![100.0], vec![50.0, 51.0]]);
        assert_eq!(noise.log_offset(0.99), 0.0);
        assert_eq!(noise.sigma_factors(0.95), (1.0, 1.0));
    }

    #[test]
    fn sigma_interval_brackets_one_and_narrows_with_data() {
        let small = model(&lognormal_sizes(0.05, 2, 10)).sigma_factors(0.95);
        let large = model(&lognormal_sizes(0.05, 10, 30)).sigma_factors(0.95);
        assert!(small.0 < large.0 && large.0 < 1.0 && 1.0 < large.1 && large.1 < small.1);
    }
}
