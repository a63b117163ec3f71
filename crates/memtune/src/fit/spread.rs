//! Sizes whose own samples prove them noisier than the noise model says.
//!
//! The pooled noise model, like production's tail measured at one size, assumes the spread
//! scales with the duration: one p99/median ratio at every size. Real I/O-bound functions
//! break it: cebert's light workload on Node.js 22 arm64 has p99/mean 3.6 at 512 MB and 1.85
//! at 1024 MB (GC and CPU throttling at a fraction of a vCPU). A p99 taken from the 1024 MB
//! ratio puts 512 MB's at half its real value, and an SLO decision on it fails in production.
//!
//! So the log spread of the samples around each size (its measured neighbours within a factor
//! [`NEIGHBOURHOOD`] pooled with it, weighted by closeness) is tested against the model's: where its lower confidence
//! bound still exceeds the model's sigma, the size's own spread sets its upper percentiles.
//! The test only ever widens: a size that looks quieter than the model keeps the model's tail,
//! which a few samples rarely show in full.

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Measured sizes within this factor of a size, either way, share their spread with it,
/// weighted by closeness in log memory: a size's own samples count fully, a neighbour at 2x
/// half, one at 4x not at all. The estimate then changes smoothly with memory instead of
/// jumping where a measured size enters or leaves the neighbourhood. A narrower kernel (0 at
/// 2x) lost the power to see 512 MB's spread from its 8-16 samples on the benchmark's
/// cebert-light-nodejs22-arm64.
const NEIGHBOURHOOD: f64 = 4.0;
/// One-sided confidence that a neighbourhood is noisier than the model before it widens.
const TEST_CONFIDENCE: f64 = 0.995;
/// The test is worked out at memory sizes this factor apart over 128..=10240 MB (222 sizes)
/// and read at the nearest: the weights change by under 3% between two of them.
const GRID_STEP: f64 = 1.02;
const GRID_FROM_MB: f64 = 128.0;
const GRID_TO_MB: f64 = 10240.0;

/// The log spread measured at one size: the sum of squared log deviations from their mean and
/// its degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SizeSpread {
    memory_mb: u32,
    sum_sq: f64,
    dof: usize,
}

/// The spread of the measured sizes around a size, where it proves wider than the model's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WiderSpread {
    /// Its log-normal sigma.
    pub sigma: f64,
    sum_sq: f64,
    /// Degrees of freedom, weighted as the squared deviations are.
    dof: f64,
}

impl WiderSpread {
    /// Upper bound on its sigma at one-sided `confidence` (chi-square).
    pub fn sigma_upper(&self, confidence: f64) -> f64 {
        match ChiSquared::new(self.dof) {
            Ok(chi) => (self.sum_sq / chi.inverse_cdf(1.0 - confidence)).sqrt(),
            Err(_) => self.sigma,
        }
    }
}

/// The test's outcome around every size, worked out once per fit on a grid of memory sizes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LocalSpreads {
    /// At `GRID_FROM_MB * GRID_STEP^i`: the spread there when it is wider than the model's.
    grid: Vec<Option<WiderSpread>>,
}

impl LocalSpreads {
    /// Tests the log spread around every grid size, from the sizes with at least three samples,
    /// against `model_sigma`. Residuals more than `outlier_cut` (in log units) above their
    /// size's median are the noise model's slow outliers, whose share it already carries;
    /// they are left out here.
    pub fn new(
        sizes: &BTreeMap<u32, Vec<f64>>,
        outlier_cut: f64,
        model_sigma: f64,
    ) -> LocalSpreads {
        let spreads: Vec<SizeSpread> = sizes
            .iter()
            .filter_map(|(&memory_mb, xs)| {
                let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
                let center = super::noise::median(&logs);
                let body: Vec<f64> = logs
                    .into_iter()
                    .filter(|l| outlier_cut <= 0.0 || l - center <= outlier_cut)
                    .collect();
                if body.len() < 3 {
                    return None;
                }
                let mean = body.iter().sum::<f64>() / body.len() as f64;
                Some(SizeSpread {
                    memory_mb,
                    sum_sq: body.iter().map(|l| (l - mean).powi(2)).sum(),
                    dof: body.len() - 1,
                })
            })
            .collect();
        let points = ((GRID_TO_MB / GRID_FROM_MB).ln() / GRID_STEP.ln()).ceil() as usize + 1;
        let grid = (0..points)
            .map(|i| {
                let m = GRID_FROM_MB * GRID_STEP.powi(i as i32);
                let (sum_sq, dof) = spreads.iter().fold((0.0, 0.0), |(sq, dof), s| {
                    let w = weight(f64::from(s.memory_mb) / m);
                    (sq + w * s.sum_sq, dof + w * s.dof as f64)
                });
                wider(sum_sq, dof, model_sigma)
            })
            .collect();
        LocalSpreads { grid }
    }

    /// The spread of the measured sizes around `memory_mb` when it is wider than the model's;
    /// `None` otherwise or with no measured size near.
    pub fn wider_than_model(&self, memory_mb: u32) -> Option<WiderSpread> {
        let steps = (f64::from(memory_mb) / GRID_FROM_MB).ln() / GRID_STEP.ln();
        let i = (steps.round().max(0.0) as usize).min(self.grid.len().saturating_sub(1));
        self.grid.get(i).copied().flatten()
    }
}

/// A neighbour's weight at `ratio` times the size's memory: 1 at itself, falling linearly in
/// log memory to 0 at [`NEIGHBOURHOOD`] either way.
fn weight(ratio: f64) -> f64 {
    (1.0 - ratio.ln().abs() / NEIGHBOURHOOD.ln()).max(0.0)
}

/// The spread of `dof` degrees of freedom and squared deviations `sum_sq` when its lower bound
/// at [`TEST_CONFIDENCE`] is above `model_sigma`.
fn wider(sum_sq: f64, dof: f64, model_sigma: f64) -> Option<WiderSpread> {
    if dof < 1.0 {
        return None;
    }
    let chi = ChiSquared::new(dof).ok()?;
    let lower = (sum_sq / chi.inverse_cdf(TEST_CONFIDENCE)).sqrt();
    (lower > model_sigma).then(|| WiderSpread {
        sigma: (sum_sq / dof).sqrt(),
        sum_sq,
        dof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    fn spreads(sigmas: &[(u32, f64)], n: usize, model_sigma: f64) -> LocalSpreads {
        let mut rng = StdRng::seed_from_u64(3);
        let sizes = sigmas
            .iter()
            .map(|&(m, sigma)| {
                let dist = LogNormal::new(3.0, sigma).unwrap();
                (m, (0..n).map(|_| dist.sample(&mut rng)).collect())
            })
            .collect();
        LocalSpreads::new(&sizes, 0.0, model_sigma)
    }

    #[test]
    fn a_size_much_noisier_than_the_model_widens_and_its_far_neighbours_do_not() {
        let s = spreads(&[(512, 0.6), (4096, 0.25)], 16, 0.25);
        let wide = s
            .wider_than_model(512)
            .expect("512 MB is noisier than 0.25");
        assert!((wide.sigma - 0.6).abs() < 0.2, "{}", wide.sigma);
        assert!(wide.sigma_upper(0.995) > wide.sigma);
        // 512 MB counts three quarters at 724 MB; at 2048 MB it counts nothing, and 4096 MB
        // (as quiet as the model) half.
        assert!(s.wider_than_model(724).is_some());
        assert!(s.wider_than_model(2048).is_none());
        assert!(s.wider_than_model(4096).is_none());
    }

    #[test]
    fn the_spread_changes_smoothly_with_memory() {
        let s = spreads(&[(256, 0.6), (512, 0.6), (1024, 0.35)], 16, 0.1);
        let sigma = |m| s.wider_than_model(m).expect("all wider than 0.1").sigma;
        for m in (300..2000).step_by(7) {
            let step = sigma(m + 7) / sigma(m) - 1.0;
            assert!(step.abs() < 0.03, "{m}: {step}");
        }
    }

    #[test]
    fn a_spread_like_the_models_does_not_widen() {
        let s = spreads(&[(256, 0.3), (512, 0.3), (1024, 0.3), (2048, 0.3)], 8, 0.3);
        for m in [256, 512, 1024, 2048] {
            assert!(s.wider_than_model(m).is_none(), "{m}");
        }
    }

    #[test]
    fn slow_outliers_are_left_to_the_noise_model() {
        let mut sizes = BTreeMap::new();
        sizes.insert(512, vec![100.0, 101.0, 99.0, 100.5, 99.5, 600.0]);
        let cut = 1.0;
        assert!(LocalSpreads::new(&sizes, cut, 0.02)
            .wider_than_model(512)
            .is_none());
        assert!(LocalSpreads::new(&sizes, 0.0, 0.02)
            .wider_than_model(512)
            .is_some());
    }
}
