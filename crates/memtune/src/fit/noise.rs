//! Warm-duration noise around the mean curve, pooled across memory sizes.
//!
//! Lambda's warm noise is roughly multiplicative (a few % CV whatever the size), so the log
//! of each sample minus its size's log-median is pooled over all sizes. The model is a
//! mixture: a log-normal body and a share of slow outliers — residuals more than 3.5 sigmas
//! (by the median absolute deviation, which the outliers cannot inflate) above their size's
//! median — with their own offset and spread. The body's `sigma` is the root mean square of
//! the other residuals: the MAD would ignore two thirds of the information, and a band on it
//! would be about twice as wide. Both are pooled across sizes: the body scales with the
//! fitted mean, and the outlier rate rarely depends on memory. A p99 set by
//! rare outliers follows from their share, which the body alone would miss; bands use the
//! share's binomial confidence interval. The pooled empirical quantile is a floor for the
//! upper tail when the pool reaches that far. Quantiles are offsets from the mean:
//! `q_p(m) = mean(m) * exp(offset(p))`.

use statrs::distribution::{Beta, ChiSquared, ContinuousCDF, Normal};

/// MAD / sigma for a normal distribution.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Sizes with fewer samples carry no usable spread information.
const MIN_SAMPLES: usize = 3;
/// A residual this many body sigmas above its size's median is an outlier: a log-normal
/// body puts 2.3e-4 of its mass there.
const OUTLIER_Z: f64 = 3.5;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NoiseModel {
    /// Log-normal sigma of the body.
    pub sigma: f64,
    /// Pooled residual degrees of freedom.
    pub dof: usize,
    /// Log residuals above their size's median beyond this are slow outliers (0: none known).
    pub outlier_cut: f64,
    /// Sorted pooled log residuals (sample over its size's median).
    residuals: Vec<f64>,
    /// ln(mean / median), estimated from the pooled residuals.
    log_mean_over_median: f64,
    outliers: Outliers,
    /// Production's durations, whose p50/p90/p99 offsets from the mean stand in for those the
    /// pooled test samples would give.
    production: Option<ProductionTail>,
}

/// Production's durations relative to their average, from CloudWatch's Duration statistics
/// over many invocations (cold ones included, which at a few percent barely move them). A
/// few dozen test invocations rarely see a slow class of a few percent; weeks of production
/// traffic have seen thousands of them. Like the pooled noise model, it assumes the tail
/// scales with the duration: its ratios hold at every size, except where the fit finds the
/// samples around a size provably noisier (`super::spread`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProductionTail {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: Option<f64>,
    pub p99_ms: f64,
    /// Invocations the percentiles were computed over.
    pub invocations: f64,
}

impl ProductionTail {
    /// Invocations below which production percentiles are not used: with 1000 the p99 has ten
    /// invocations above it, and its sampling error is a few percent.
    pub const MIN_INVOCATIONS: f64 = 1000.0;

    /// The tail when the percentiles are usable (enough invocations, positive and ordered).
    pub fn new(
        mean_ms: f64,
        p50_ms: f64,
        p90_ms: Option<f64>,
        p99_ms: f64,
        invocations: f64,
    ) -> Option<ProductionTail> {
        let ordered = p50_ms > 0.0
            && mean_ms > 0.0
            && mean_ms.is_finite()
            && p99_ms >= p50_ms
            && p90_ms.is_none_or(|p90| (p50_ms..=p99_ms).contains(&p90));
        (ordered && invocations >= Self::MIN_INVOCATIONS && p99_ms.is_finite()).then_some(
            ProductionTail {
                mean_ms,
                p50_ms,
                p90_ms,
                p99_ms,
                invocations,
            },
        )
    }

    /// ln(q_p / mean) for the percentiles production reports (p50, p90, p99); None otherwise.
    fn log_offset(&self, p: f64) -> Option<f64> {
        let q = if (p - 0.99).abs() < 1e-9 {
            Some(self.p99_ms)
        } else if (p - 0.9).abs() < 1e-9 {
            self.p90_ms
        } else if (p - 0.5).abs() < 1e-9 {
            Some(self.p50_ms)
        } else {
            None
        }?;
        Some((q / self.mean_ms).ln())
    }

    /// Mean over median: turns a size's median, which a slow class cannot drag, into its mean.
    pub fn mean_over_median(&self) -> f64 {
        self.mean_ms / self.p50_ms
    }
}

/// Slow outliers among the pooled residuals.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outliers {
    count: usize,
    /// Residuals they were counted among.
    total: usize,
    /// Mean log residual of the outliers.
    center: f64,
    /// Their log spread (the body's with fewer than three).
    spread: f64,
}

impl Outliers {
    /// Residuals more than [`OUTLIER_Z`] `screen` sigmas (the MAD's) above their size's median;
    /// with fewer than three their spread is taken as the body's `sigma`.
    fn find(residuals: &[f64], screen: f64, sigma: f64) -> Outliers {
        let slow: Vec<f64> = if screen > 0.0 {
            residuals
                .iter()
                .copied()
                .filter(|&r| r > OUTLIER_Z * screen)
                .collect()
        } else {
            Vec::new()
        };
        let count = slow.len();
        let center = if count == 0 {
            0.0
        } else {
            slow.iter().sum::<f64>() / count as f64
        };
        let spread = if count >= 3 {
            (slow.iter().map(|r| (r - center).powi(2)).sum::<f64>() / (count - 1) as f64).sqrt()
        } else {
            sigma
        };
        Outliers {
            count,
            total: residuals.len(),
            center,
            spread,
        }
    }

    fn share(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.count as f64 / self.total as f64
        }
    }

    /// Clopper-Pearson interval of the share at `confidence`. With no outlier seen there is
    /// nothing to place one at, so the interval is empty (0, 0).
    fn share_interval(&self, confidence: f64) -> (f64, f64) {
        let (k, n) = (self.count as f64, self.total as f64);
        if self.count == 0 {
            return (0.0, 0.0);
        }
        let alpha = (1.0 - confidence) / 2.0;
        let low = Beta::new(k, n - k + 1.0).map_or(0.0, |b| b.inverse_cdf(alpha));
        let high = if self.count == self.total {
            1.0
        } else {
            Beta::new(k + 1.0, n - k).map_or(1.0, |b| b.inverse_cdf(1.0 - alpha))
        };
        (low, high)
    }
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
        // The MAD screens out the outliers (residuals it puts more than OUTLIER_Z sigmas out);
        // the body's spread is then the root mean square of the rest, which uses every degree
        // of freedom where the MAD alone uses about a third. With few samples per size the MAD
        // of residuals about their medians runs low and the screen trims the body's own edge
        // too; what it trims on the slow side joins the outliers, whose share and spread the
        // p99 then carries.
        let screen = if abs.is_empty() {
            0.0
        } else {
            MAD_TO_SIGMA * median(&abs)
        };
        let body: Vec<f64> = residuals
            .iter()
            .copied()
            .filter(|r| screen == 0.0 || r.abs() <= OUTLIER_Z * screen)
            .collect();
        let sigma = if body.is_empty() {
            0.0
        } else {
            (body.iter().map(|r| r * r).sum::<f64>() / body.len() as f64).sqrt()
        };
        let dof = dof.saturating_sub(residuals.len() - body.len());
        let log_mean_over_median = if residuals.is_empty() {
            0.0
        } else {
            (residuals.iter().map(|r| r.exp()).sum::<f64>() / residuals.len() as f64).ln()
        };
        NoiseModel {
            sigma,
            dof,
            outlier_cut: OUTLIER_Z * screen,
            outliers: Outliers::find(&residuals, screen, sigma),
            residuals,
            log_mean_over_median,
            production: None,
        }
    }

    /// The model with production's p50/p90/p99 offsets standing in for the pooled samples'.
    pub fn with_production_tail(&self, tail: ProductionTail) -> NoiseModel {
        NoiseModel {
            production: Some(tail),
            ..self.clone()
        }
    }

    pub fn production_tail(&self) -> Option<ProductionTail> {
        self.production
    }

    /// ln(q_p / mean) from production's percentiles.
    fn production_offset(&self, p: f64) -> Option<f64> {
        self.production?.log_offset(p)
    }

    /// The model as it would be with `extra` more pooled residuals of the same spread: a
    /// narrower band on the body's sigma (the outlier share's interval is left as it is).
    pub fn with_extra_dof(&self, extra: usize) -> NoiseModel {
        let mut more = self.clone();
        if more.dof > 0 {
            more.dof += extra;
        }
        more
    }

    /// ln(q_p / mean) for 0 < p < 1.
    pub fn log_offset(&self, p: f64) -> f64 {
        if let Some(offset) = self.production_offset(p) {
            return offset;
        }
        if self.residuals.is_empty() {
            return 0.0;
        }
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        let mixture = self.mixture_quantile(p, self.sigma, self.outliers.share());
        self.with_empirical(p, mixture) - self.log_mean_over_median
    }

    /// Band of ln(q_p / mean) at `confidence`: the body's sigma over its chi-square interval
    /// and the outlier share over its binomial one, whichever combination lies furthest out.
    /// Production's offsets are taken as known: the mean's band carries the uncertainty.
    pub fn log_offset_band(&self, p: f64, confidence: f64) -> (f64, f64) {
        if let Some(offset) = self.production_offset(p) {
            return (offset, offset);
        }
        if self.residuals.is_empty() {
            return (0.0, 0.0);
        }
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        let (narrow, wide) = self.sigma_factors(confidence);
        let (share_low, share_high) = self.outliers.share_interval(confidence);
        let share_low = share_low.min(self.outliers.share());
        let share_high = share_high.max(self.outliers.share());
        let offsets = [
            (narrow, share_low),
            (narrow, share_high),
            (wide, share_low),
            (wide, share_high),
        ]
        .map(|(factor, share)| self.mixture_quantile(p, self.sigma * factor, share));
        let low = offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let high = offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let point = self.with_empirical(
            p,
            self.mixture_quantile(p, self.sigma, self.outliers.share()),
        );
        (
            low.min(point) - self.log_mean_over_median,
            high.max(point) - self.log_mean_over_median,
        )
    }

    /// The mixture's p-quantile of the log residual, for a body spread `sigma` and an outlier
    /// `share`: it lies between the two components' quantiles, found by bisection there.
    fn mixture_quantile(&self, p: f64, sigma: f64, share: f64) -> f64 {
        let z = Normal::standard().inverse_cdf(p);
        let body = sigma * z;
        let o = &self.outliers;
        if share <= 0.0 || o.count == 0 {
            return body;
        }
        let spread = o.spread.max(1e-9);
        let sigma = sigma.max(1e-9);
        let normal = Normal::standard();
        let above = |x: f64| {
            (1.0 - share) * (1.0 - normal.cdf(x / sigma))
                + share * (1.0 - normal.cdf((x - o.center) / spread))
        };
        let outlier = o.center + spread * z;
        let (mut lo, mut hi) = (body.min(outlier), body.max(outlier));
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if above(mid) > 1.0 - p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// An upper-tail quantile no lower than the pooled empirical one, when the pool reaches
    /// that far.
    fn with_empirical(&self, p: f64, model: f64) -> f64 {
        match self.empirical(p) {
            Some(e) if p >= 0.5 => model.max(e),
            _ => model,
        }
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
        let dof = self.dof as f64;
        let Ok(chi) = ChiSquared::new(dof) else {
            return (1.0, 1.0);
        };
        let alpha = (1.0 - confidence) / 2.0;
        let low = (dof / chi.inverse_cdf(1.0 - alpha)).sqrt();
        let high = (dof / chi.inverse_cdf(alpha)).sqrt();
        (low, high)
    }
}

pub(crate) fn median(xs: &[f64]) -> f64 {
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
    fn a_production_tail_sets_the_offsets_that_the_samples_cannot_see() {
        // Twenty tight samples show no slow class; production has 3% of them at 8x.
        let sizes = lognormal_sizes(0.05, 2, 10);
        let tail = ProductionTail::new(120.0, 100.0, Some(115.0), 800.0, 1e6).unwrap();
        let plain = model(&sizes);
        let with = plain.with_production_tail(tail);
        assert!(
            plain.log_offset(0.99).exp() < 1.2,
            "{}",
            plain.log_offset(0.99)
        );
        assert!((with.log_offset(0.99) - (800.0f64 / 120.0).ln()).abs() < 1e-12);
        assert!((with.log_offset(0.9) - (115.0f64 / 120.0).ln()).abs() < 1e-12);
        assert!((with.log_offset(0.5) - (100.0f64 / 120.0).ln()).abs() < 1e-12);
        // Known offsets: the band is the point; other levels come from the samples.
        let offset = with.log_offset(0.99);
        assert_eq!(with.log_offset_band(0.99, 0.95), (offset, offset));
        assert_eq!(with.log_offset(0.75), plain.log_offset(0.75));
    }

    #[test]
    fn production_tails_need_enough_ordered_percentiles() {
        assert!(ProductionTail::new(120.0, 100.0, None, 800.0, 999.0).is_none());
        assert!(ProductionTail::new(120.0, 100.0, None, 90.0, 1e6).is_none());
        assert!(ProductionTail::new(120.0, 100.0, Some(900.0), 800.0, 1e6).is_none());
        assert!(ProductionTail::new(0.0, 100.0, None, 800.0, 1e6).is_none());
        let tail = ProductionTail::new(120.0, 100.0, None, 800.0, 1000.0).unwrap();
        assert!((tail.mean_over_median() - 1.2).abs() < 1e-12);
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
            "screened outliers keep the body narrow: {}",
            noise.sigma
        );
    }

    /// Ten sizes of 30 log-normal samples; `every`-th sample of each `factor` times slower.
    fn with_outliers(every: usize, factor: f64) -> NoiseModel {
        let mut sizes = lognormal_sizes(0.1, 10, 30);
        for samples in &mut sizes {
            for x in samples.iter_mut().skip(3).step_by(every) {
                *x *= factor;
            }
        }
        model(&sizes)
    }

    #[test]
    fn rare_outliers_set_the_p99_the_body_misses() {
        // 3% of invocations 8x slower: the true p99 sits among the outliers, near ln 8 above
        // the median, where a log-normal body puts its p99 at 2.33 sigma.
        let noise = with_outliers(34, 8.0);
        assert_eq!(noise.outliers.count, 10, "{:?}", noise.outliers);
        let p99 = noise.log_offset(0.99) + noise.log_mean_over_median;
        assert!(p99 > 8f64.ln() - 0.25, "{p99}");
        let (low, high) = noise.log_offset_band(0.99, 0.95);
        assert!(low < noise.log_offset(0.99) && noise.log_offset(0.99) < high);
        // The body is still the body: the median does not move.
        assert!(
            noise.log_offset(0.5).abs() < 0.3,
            "{}",
            noise.log_offset(0.5)
        );
    }

    #[test]
    fn an_outlier_share_below_one_percent_widens_the_p99_band_only() {
        // One outlier in 300: the point p99 stays in the body, but the share could be a few
        // percent, so the band's upper end reaches the outliers.
        let mut sizes = lognormal_sizes(0.1, 10, 30);
        sizes[4][7] *= 6.0;
        let noise = model(&sizes);
        assert_eq!(noise.outliers.count, 1);
        let point = noise.log_offset(0.99) + noise.log_mean_over_median;
        assert!(point < 0.4, "{point}");
        let (_, high) = noise.log_offset_band(0.99, 0.95);
        assert!(
            high + noise.log_mean_over_median > 6f64.ln() - 0.3,
            "{high}"
        );
    }

    #[test]
    fn without_outliers_the_band_is_the_body_spread() {
        let noise = model(&lognormal_sizes(0.05, 10, 30));
        assert_eq!(noise.outliers.count, 0);
        let (low, high) = noise.log_offset_band(0.99, 0.95);
        let (narrow, wide) = noise.sigma_factors(0.95);
        let z = 2.326;
        let shift = noise.log_mean_over_median;
        assert!((low + shift - 0.05 * narrow * z).abs() < 0.03, "{low}");
        assert!((high + shift - 0.05 * wide * z).abs() < 0.03, "{high}");
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
