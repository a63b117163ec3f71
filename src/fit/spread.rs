//! Sizes whose own samples prove them noisier than the noise model says.
//!
//! The pooled noise model, like production's tail measured at one size, assumes the spread
//! scales with the duration: one p99/median ratio at every size. Real I/O-bound functions
//! break it: cebert's light workload on Node.js 22 arm64 has p99/mean 3.6 at 512 MB and 1.85
//! at 1024 MB (GC and CPU throttling at a fraction of a vCPU). A p99 taken from the 1024 MB
//! ratio puts 512 MB's at half its real value, and an SLO decision on it fails in production.
//!
//! So the log spread of the samples around each size (its measured neighbours within a factor
//! [`NEIGHBOURHOOD`] pooled with it) is tested against the model's: where its lower confidence
//! bound still exceeds the model's sigma, the size's own spread sets its upper percentiles.
//! The test only ever widens: a size that looks quieter than the model keeps the model's tail,
//! which a few samples rarely show in full.

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Measured sizes within this factor of a size, either way, share their spread with it.
const NEIGHBOURHOOD: f64 = 2.0;
/// One-sided confidence that a neighbourhood is noisier than the model before it widens.
const TEST_CONFIDENCE: f64 = 0.995;

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
    dof: usize,
}

impl WiderSpread {
    /// Upper bound on its sigma at one-sided `confidence` (chi-square).
    pub fn sigma_upper(&self, confidence: f64) -> f64 {
        match ChiSquared::new(self.dof as f64) {
            Ok(chi) => (self.sum_sq / chi.inverse_cdf(1.0 - confidence)).sqrt(),
            Err(_) => self.sigma,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LocalSpreads {
    sizes: Vec<SizeSpread>,
}

impl LocalSpreads {
    /// The log spread at each size with at least three samples. Residuals more than
    /// `outlier_cut` (in log units) above their size's median are the noise model's slow
    /// outliers, whose share it already carries; they are left out here.
    pub fn from_sizes(sizes: &BTreeMap<u32, Vec<f64>>, outlier_cut: f64) -> LocalSpreads {
        let sizes = sizes
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
        LocalSpreads { sizes }
    }

    /// The spread around `memory_mb` when it is wider than `model_sigma` at
    /// [`TEST_CONFIDENCE`]; `None` otherwise or with no measured size near.
    pub fn wider_than(&self, memory_mb: u32, model_sigma: f64) -> Option<WiderSpread> {
        let m = f64::from(memory_mb);
        let (sum_sq, dof) = self
            .sizes
            .iter()
            .filter(|s| {
                let ratio = f64::from(s.memory_mb) / m;
                (1.0 / NEIGHBOURHOOD..=NEIGHBOURHOOD).contains(&ratio)
            })
            .fold((0.0, 0), |(sq, dof), s| (sq + s.sum_sq, dof + s.dof));
        let chi = ChiSquared::new(dof as f64).ok()?;
        let lower = (sum_sq / chi.inverse_cdf(TEST_CONFIDENCE)).sqrt();
        (lower > model_sigma).then(|| WiderSpread {
            sigma: (sum_sq / dof as f64).sqrt(),
            sum_sq,
            dof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    fn spreads(sigmas: &[(u32, f64)], n: usize) -> LocalSpreads {
        let mut rng = StdRng::seed_from_u64(3);
        let sizes = sigmas
            .iter()
            .map(|&(m, sigma)| {
                let dist = LogNormal::new(3.0, sigma).unwrap();
                (m, (0..n).map(|_| dist.sample(&mut rng)).collect())
            })
            .collect();
        LocalSpreads::from_sizes(&sizes, 0.0)
    }

    #[test]
    fn a_size_much_noisier_than_the_model_widens_and_its_far_neighbours_do_not() {
        let s = spreads(&[(512, 0.6), (4096, 0.25)], 16);
        let wide = s
            .wider_than(512, 0.25)
            .expect("512 MB is noisier than 0.25");
        assert!((wide.sigma - 0.6).abs() < 0.2, "{}", wide.sigma);
        assert!(wide.sigma_upper(0.995) > wide.sigma);
        // 1024 MB has 512 MB within a factor 2; 2048 MB only 4096 MB.
        assert!(s.wider_than(1024, 0.25).is_some());
        assert!(s.wider_than(2048, 0.25).is_none());
        assert!(s.wider_than(4096, 0.25).is_none());
    }

    #[test]
    fn a_spread_like_the_models_does_not_widen() {
        let s = spreads(&[(256, 0.3), (512, 0.3), (1024, 0.3), (2048, 0.3)], 8);
        for m in [256, 512, 1024, 2048] {
            assert!(s.wider_than(m, 0.3).is_none(), "{m}");
        }
    }

    #[test]
    fn slow_outliers_are_left_to_the_noise_model() {
        let mut sizes = BTreeMap::new();
        sizes.insert(512, vec![100.0, 101.0, 99.0, 100.5, 99.5, 600.0]);
        let cut = 1.0;
        assert!(LocalSpreads::from_sizes(&sizes, cut)
            .wider_than(512, 0.02)
            .is_none());
        assert!(LocalSpreads::from_sizes(&sizes, 0.0)
            .wider_than(512, 0.02)
            .is_some());
    }
}
