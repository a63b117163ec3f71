//! Duration-vs-memory curves fitted to measured sizes, to predict every size in
//! 128..=10240 MB from a few.
//!
//! [`fit`] takes the warm durations measured at two or more memory sizes and returns a
//! [`Fit`]: the mean-duration curve of the family that predicted left-out sizes best (see
//! [`ModelKind`] for the families), a pooled noise model for percentiles, and 95% bands for
//! both. The models are generic: they assume only how Lambda allocates CPU (1769 MB = 1 vCPU)
//! and are fitted to data, so they work the same against the lab and real AWS.
//!
//! Pipeline: per-size means, weighted by their standard error plus a 2% floor for what no
//! family captures -> robust non-negative fit of every family (`solver`) -> leave-one-size-out
//! selection (`select`) -> pooled noise: a log-normal body plus slow outliers (`noise`) ->
//! each size's upper percentiles widened where the samples around it prove noisier than that
//! (`spread`).

mod init;
mod models;
mod noise;
mod select;
mod solver;
mod spread;

use std::collections::BTreeMap;

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use thiserror::Error;

pub use init::InitCurve;
pub use models::{vcpus, Curve, ModelKind, ONE_VCPU_MB};
pub use noise::ProductionTail;
pub use select::ModelScore;

use noise::NoiseModel;
use solver::Point;
use spread::LocalSpreads;

/// Relative standard deviation added to every size's mean for model misfit: without it ten
/// tight samples would pin the curve to one size's quirks.
const MISFIT_FLOOR: f64 = 0.02;
/// Coverage of the mean and quantile bands.
const BAND_CONFIDENCE: f64 = 0.95;

/// Warm, successful durations measured at one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeSamples {
    pub memory_mb: u32,
    pub warm_ms: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FitError {
    #[error("need warm durations at two or more memory sizes to fit a curve, got {found}")]
    TooFewSizes { found: usize },
    #[error("no warm durations at {memory_mb} MB: leave sizes without measurements out")]
    NoSamples { memory_mb: u32 },
    #[error("invalid duration {value} ms at {memory_mb} MB: durations must be finite and > 0")]
    InvalidDuration { memory_mb: u32, value: f64 },
}

/// Predictions at one memory size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub memory_mb: u32,
    pub mean_ms: f64,
    pub mean_low_ms: f64,
    pub mean_high_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

/// A fitted duration-vs-memory curve with its noise model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    curve: Curve,
    /// The chosen family refitted without each size, for the jackknife band.
    replicates: Vec<Curve>,
    scores: Vec<ModelScore>,
    noise: NoiseModel,
    /// Each size's own spread, for the sizes noisier than `noise` says.
    spreads: LocalSpreads,
    /// Pooled relative standard error of the size means: the band when there are no
    /// replicates.
    relative_se: f64,
    /// Two-sided quantile of the mean band's distribution.
    band_quantile: f64,
}

/// Fits mean warm duration vs memory to the samples (several entries for one size are
/// pooled). Deterministic: the same samples give the same fit.
pub fn fit(samples: &[SizeSamples]) -> Result<Fit, FitError> {
    fit_with(samples, None)
}

/// [`fit`], with production's tail when there is one: p50, p90 and p99 then stand at
/// production's ratios to the mean (wherever the samples do not prove a size noisier; see
/// [`spread`]), and each size's mean is its median times production's
/// mean over median. A slow class of a few percent, which a dozen samples see zero, one or
/// two times, would otherwise swing a size's mean (and every quantile with it) by tens of
/// percent; the median barely moves.
pub fn fit_with(samples: &[SizeSamples], tail: Option<ProductionTail>) -> Result<Fit, FitError> {
    let sizes = group(samples)?;
    if sizes.len() < 2 {
        return Err(FitError::TooFewSizes { found: sizes.len() });
    }
    let samples_noise = NoiseModel::from_sizes(sizes.values().map(Vec::as_slice));
    let (noise, points): (NoiseModel, Vec<Point>) = match tail {
        Some(tail) => {
            let sigma = samples_noise.sigma;
            let points = sizes
                .iter()
                .map(|(&m, xs)| median_point(m, xs, sigma, tail.mean_over_median()))
                .collect();
            (samples_noise.with_production_tail(tail), points)
        }
        None => {
            let points = sizes.iter().map(|(&m, xs)| point(m, xs)).collect();
            (samples_noise, points)
        }
    };
    let selection = select::select(&points);
    let relative_se = match tail {
        // The medians' own errors: a slow sample would inflate the means'.
        Some(_) => {
            (points.iter().map(|p| (p.sd / p.y).powi(2)).sum::<f64>() / points.len() as f64).sqrt()
        }
        None => (sizes
            .values()
            .map(|xs| {
                let (mean, se) = mean_and_se(xs);
                (se / mean).powi(2)
            })
            .sum::<f64>()
            / sizes.len() as f64)
            .sqrt(),
    };
    let spreads = LocalSpreads::new(&sizes, noise.outlier_cut, model_sigma(&noise));
    Ok(Fit {
        curve: selection.curve,
        band_quantile: band_quantile(selection.replicates.len()),
        replicates: selection.replicates,
        scores: selection.scores,
        noise,
        spreads,
        relative_se,
    })
}

fn group(samples: &[SizeSamples]) -> Result<BTreeMap<u32, Vec<f64>>, FitError> {
    let mut sizes: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for s in samples {
        if s.warm_ms.is_empty() {
            return Err(FitError::NoSamples {
                memory_mb: s.memory_mb,
            });
        }
        if let Some(&value) = s.warm_ms.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
            return Err(FitError::InvalidDuration {
                memory_mb: s.memory_mb,
                value,
            });
        }
        sizes
            .entry(s.memory_mb)
            .or_default()
            .extend_from_slice(&s.warm_ms);
    }
    Ok(sizes)
}

/// A size's mean, weighted by its standard error plus the misfit floor.
fn point(memory_mb: u32, xs: &[f64]) -> Point {
    let (mean, se) = mean_and_se(xs);
    Point {
        m: f64::from(memory_mb),
        y: mean,
        sd: se.hypot(MISFIT_FLOOR * mean),
    }
}

/// A size's mean as its median times `mean_over_median`, weighted by the median's standard
/// error under log-normal noise of spread `sigma` (1.2533 times the mean's) plus the misfit
/// floor.
fn median_point(memory_mb: u32, xs: &[f64], sigma: f64, mean_over_median: f64) -> Point {
    let y = noise::median(xs) * mean_over_median;
    let se = MEDIAN_SE_FACTOR * sigma * y / (xs.len() as f64).sqrt();
    Point {
        m: f64::from(memory_mb),
        y,
        sd: se.hypot(MISFIT_FLOOR * y),
    }
}

/// The median's standard error over the mean's, for normal data: sqrt(pi / 2).
pub const MEDIAN_SE_FACTOR: f64 = 1.2533;

/// Mean and its standard error (zero for a single sample).
fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let variance = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}

impl Fit {
    /// Predicted mean warm duration at a memory size, in ms.
    pub fn mean_ms(&self, memory_mb: u32) -> f64 {
        self.curve.eval(f64::from(memory_mb))
    }

    /// Predicted p-quantile (0 < p < 1) of the warm duration at a memory size, in ms.
    pub fn quantile_ms(&self, memory_mb: u32, p: f64) -> f64 {
        self.mean_ms(memory_mb) * self.offset_at(memory_mb, p).exp()
    }

    /// ln(q_p / mean) at a memory size: the noise model's, or where the samples around the
    /// size prove it noisier ([`spread`]), its own spread's.
    fn offset_at(&self, memory_mb: u32, p: f64) -> f64 {
        let offset = self.noise.log_offset(p);
        match self.wider_spread(memory_mb, p) {
            Some(wide) => offset.max(self.offset_for_sigma(p, wide.sigma)),
            None => offset,
        }
    }

    /// The upper end of ln(q_p / mean)'s band at two-sided `confidence` at a memory size.
    fn offset_high_at(&self, memory_mb: u32, p: f64, confidence: f64) -> f64 {
        let (_, high) = self.noise.log_offset_band(p, confidence);
        match self.wider_spread(memory_mb, p) {
            Some(wide) => {
                let sigma = wide.sigma_upper(0.5 + confidence / 2.0);
                high.max(self.offset_for_sigma(p, sigma))
            }
            None => high,
        }
    }

    /// Whether the p-quantile at a size comes from the spread of the samples around it, which
    /// proved wider than the noise model's (see [`spread`]).
    pub fn spread_is_wider_at(&self, memory_mb: u32, p: f64) -> bool {
        self.wider_spread(memory_mb, p)
            .is_some_and(|wide| self.offset_for_sigma(p, wide.sigma) > self.noise.log_offset(p))
    }

    /// The spread around a size when it is wider than the noise model's (upper percentiles
    /// only: the median is the curve's).
    fn wider_spread(&self, memory_mb: u32, p: f64) -> Option<spread::WiderSpread> {
        if p <= 0.5 {
            return None;
        }
        self.spreads.wider_than_model(memory_mb)
    }

    /// ln(q_p / mean) for log-normal noise of spread `sigma` around the model's median.
    fn offset_for_sigma(&self, p: f64, sigma: f64) -> f64 {
        self.noise.log_offset(0.5) + Normal::standard().inverse_cdf(p) * sigma
    }

    /// 95% band for the mean at a memory size: a jackknife over the leave-one-size-out refits
    /// (Student t with one degree of freedom fewer than sizes), or the measurements' own
    /// standard error with only two sizes.
    pub fn mean_band(&self, memory_mb: u32) -> (f64, f64) {
        let mean = self.mean_ms(memory_mb);
        let half = self.band_quantile * self.mean_sd(memory_mb, mean);
        ((mean - half).max(0.0), mean + half)
    }

    /// 95% band for the p-quantile: the mean band and the band of the quantile's
    /// offset from the mean (body spread and outlier share, or the size's own wider spread;
    /// see [`spread`]). The two errors are independent,
    /// so their log widths add in quadrature; stacking both extremes would be a ~99.9% band.
    pub fn quantile_band(&self, memory_mb: u32, p: f64) -> (f64, f64) {
        self.quantile_band_around(
            memory_mb,
            p,
            self.mean_ms(memory_mb),
            self.mean_band(memory_mb),
        )
    }

    /// 95% band for the p-quantile at a size whose mean is estimated as `mean_ms` with the 95%
    /// band `mean_band` (e.g. the curve pooled with the size's own samples): combined with the
    /// noise model's band of the quantile's offset as in [`Fit::quantile_band`]; its top is
    /// [`Fit::quantile_upper`] at 97.5%.
    pub fn quantile_band_around(
        &self,
        memory_mb: u32,
        p: f64,
        mean_ms: f64,
        mean_band: (f64, f64),
    ) -> (f64, f64) {
        if mean_ms <= 0.0 {
            return (0.0, 0.0);
        }
        let high = self.upper_at(memory_mb, p, mean_ms, mean_band.1, 1.96, BAND_CONFIDENCE);
        let low = mean_band.0;
        if low <= 0.0 {
            return (0.0, high);
        }
        let offset = self.offset_at(memory_mb, p);
        let (offset_low, _) = self.noise.log_offset_band(p, BAND_CONFIDENCE);
        let down = (mean_ms / low).ln().hypot(offset - offset_low);
        (mean_ms * offset.exp() * (-down).exp(), high)
    }

    /// Upper bound at one-sided `confidence` on the p-quantile at a size whose mean is
    /// estimated as `mean_ms` with the 95% band `mean_band`: the mean's normal error widened
    /// from the band's 1.96 to this level's normal quantile, and the noise offset's own band at
    /// the matching two-sided level (its spread and outlier share are not normal), their log
    /// widths added in quadrature as in [`Fit::quantile_band`].
    pub fn quantile_upper(
        &self,
        memory_mb: u32,
        p: f64,
        mean_ms: f64,
        mean_band: (f64, f64),
        confidence: f64,
    ) -> f64 {
        let z = Normal::standard().inverse_cdf(confidence);
        self.upper_at(
            memory_mb,
            p,
            mean_ms,
            mean_band.1,
            z,
            2.0 * confidence - 1.0,
        )
    }

    /// The p-quantile's upper bound around `mean_ms`: the mean band's top `mean_high` (a 1.96
    /// half-width) widened to `z`, and the offset's band at two-sided `offset_confidence` (the
    /// noise model's, or the size's own wider spread's), in quadrature.
    fn upper_at(
        &self,
        memory_mb: u32,
        p: f64,
        mean_ms: f64,
        mean_high: f64,
        z: f64,
        offset_confidence: f64,
    ) -> f64 {
        if mean_ms <= 0.0 {
            return 0.0;
        }
        let offset = self.offset_at(memory_mb, p);
        let offset_high = self.offset_high_at(memory_mb, p, offset_confidence);
        let mean_up = (mean_high / mean_ms).ln().max(0.0) * z / 1.96;
        mean_ms * offset.exp() * mean_up.hypot(offset_high - offset).exp()
    }

    /// The fit as it would be after `samples` more warm invocations at one size, if they
    /// agreed with it: the noise spread's band narrows with their degrees of freedom.
    pub fn anticipating(&self, samples: usize) -> Fit {
        Fit {
            noise: self.noise.with_extra_dof(samples.saturating_sub(1)),
            ..self.clone()
        }
    }

    /// Production's tail, when the fit stands on it ([`fit_with`]).
    pub fn production_tail(&self) -> Option<ProductionTail> {
        self.noise.production_tail()
    }

    /// The chosen model family.
    pub fn model(&self) -> ModelKind {
        self.curve.kind
    }

    /// The chosen curve's parameters.
    pub fn fitted_curve(&self) -> &Curve {
        &self.curve
    }

    /// Cross-validated error of the chosen family (mean absolute relative error on left-out
    /// sizes); `None` with fewer than four sizes, where the simplest adequate family is used.
    pub fn cv_error(&self) -> Option<f64> {
        self.score(self.curve.kind)
    }

    /// Cross-validated error of every family.
    pub fn scores(&self) -> &[ModelScore] {
        &self.scores
    }

    /// Log-normal sigma of the warm noise (0 when no size had three samples).
    pub fn noise_sigma(&self) -> f64 {
        self.noise.sigma
    }

    /// Predictions at each size.
    pub fn curve(&self, sizes: impl Iterator<Item = u32>) -> Vec<CurvePoint> {
        sizes
            .map(|memory_mb| {
                let offsets = [0.5, 0.9, 0.99].map(|p| self.offset_at(memory_mb, p).exp());
                let mean_ms = self.mean_ms(memory_mb);
                let (mean_low_ms, mean_high_ms) = self.mean_band(memory_mb);
                CurvePoint {
                    memory_mb,
                    mean_ms,
                    mean_low_ms,
                    mean_high_ms,
                    p50_ms: mean_ms * offsets[0],
                    p90_ms: mean_ms * offsets[1],
                    p99_ms: mean_ms * offsets[2],
                }
            })
            .collect()
    }

    fn score(&self, kind: ModelKind) -> Option<f64> {
        self.scores
            .iter()
            .find(|s| s.kind == kind)
            .and_then(|s| s.cv_error)
    }

    fn mean_sd(&self, memory_mb: u32, mean: f64) -> f64 {
        let n = self.replicates.len();
        if n == 0 {
            return self.relative_se * mean;
        }
        // Welford's running variance: no allocation per size.
        let m = f64::from(memory_mb);
        let (mut center, mut spread) = (0.0, 0.0);
        for (i, curve) in self.replicates.iter().enumerate() {
            let value = curve.eval(m);
            let delta = value - center;
            center += delta / (i + 1) as f64;
            spread += delta * (value - center);
        }
        ((n - 1) as f64 / n as f64 * spread).sqrt()
    }
}

/// The log-normal sigma the noise model implies from its p50 to its p99 (production's tail
/// or the pooled samples'): what a size's own spread is tested against.
fn model_sigma(noise: &NoiseModel) -> f64 {
    (noise.log_offset(0.99) - noise.log_offset(0.5)) / Normal::standard().inverse_cdf(0.99)
}

/// Student t quantile for a jackknife over `replicates`, normal without replicates.
fn band_quantile(replicates: usize) -> f64 {
    let p = 0.5 + BAND_CONFIDENCE / 2.0;
    match StudentsT::new(0.0, 1.0, replicates.saturating_sub(1) as f64) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => Normal::standard().inverse_cdf(p),
    }
}

#[cfg(test)]
mod tests;
