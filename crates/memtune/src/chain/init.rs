//! INIT duration vs memory for the chain model, from the cold start opening each swept size.
//!
//! INIT is start-up work: a part that waits (loading from the network, flat in memory) and a
//! part that computes, which memory speeds up as it buys CPU, up to one vCPU at 1769 MB
//! (start-up runs on one thread). One cold sample per size carries the run's noise, so
//! rather than joining the samples the curve `flat + cpu * 1769 / min(memory, 1769)` is
//! fitted to all of them by least squares on relative errors (INIT's noise is proportional
//! to it, so a 9 s INIT at a small size must not outweigh a 2 s one), both parts
//! non-negative: each size's INIT then leans on every measurement.

/// Memory at which a function has one full vCPU.
const ONE_VCPU_MB: f64 = 1769.0;

/// INIT as a flat part plus a CPU part.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InitFit {
    /// (flat ms, ms of CPU at one vCPU); None when no cold start was measured.
    parts: Option<(f64, f64)>,
}

fn slowdown(memory_mb: u32) -> f64 {
    ONE_VCPU_MB / f64::from(memory_mb.max(1)).min(ONE_VCPU_MB)
}

impl InitFit {
    /// Fits `(memory_mb, init_ms)` samples; non-finite or negative durations are left out.
    pub fn new(samples: &[(u32, f64)]) -> InitFit {
        let points: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(m, ms)| *m > 0 && ms.is_finite() && *ms >= 0.0)
            .map(|&(m, ms)| (slowdown(m), ms))
            .collect();
        if points.is_empty() {
            return InitFit { parts: None };
        }
        // Weights 1/y²: relative errors (a zero INIT weighs as 1 ms).
        let w: Vec<f64> = points.iter().map(|p| 1.0 / p.1.max(1.0).powi(2)).collect();
        let total: f64 = w.iter().sum();
        let mean_x = points.iter().zip(&w).map(|(p, w)| w * p.0).sum::<f64>() / total;
        let mean_y = points.iter().zip(&w).map(|(p, w)| w * p.1).sum::<f64>() / total;
        let sxx: f64 = points
            .iter()
            .zip(&w)
            .map(|(p, w)| w * (p.0 - mean_x).powi(2))
            .sum();
        let sxy: f64 = points
            .iter()
            .zip(&w)
            .map(|(p, w)| w * (p.0 - mean_x) * (p.1 - mean_y))
            .sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let parts = if slope <= 0.0 {
            (mean_y, 0.0)
        } else if mean_y - slope * mean_x < 0.0 {
            // Through the origin: all CPU.
            let sx2: f64 = points.iter().zip(&w).map(|(p, w)| w * p.0 * p.0).sum();
            let sxy0: f64 = points.iter().zip(&w).map(|(p, w)| w * p.0 * p.1).sum();
            (0.0, sxy0 / sx2)
        } else {
            (mean_y - slope * mean_x, slope)
        };
        InitFit { parts: Some(parts) }
    }

    /// Predicted INIT at `memory_mb`; None when no cold start was measured.
    pub fn init_ms(&self, memory_mb: u32) -> Option<f64> {
        self.parts
            .map(|(flat, cpu)| flat + cpu * slowdown(memory_mb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_measured_predicts_nothing() {
        assert_eq!(InitFit::new(&[]).init_ms(1024), None);
        assert_eq!(InitFit::new(&[(512, f64::NAN)]).init_ms(1024), None);
    }

    #[test]
    fn separates_the_flat_part_from_the_cpu_part() {
        // 100 ms flat + 200 ms of CPU at one vCPU.
        let at = |m: u32| 100.0 + 200.0 * 1769.0 / f64::from(m).min(1769.0);
        let samples: Vec<(u32, f64)> = [128, 256, 512, 1024, 2048].map(|m| (m, at(m))).to_vec();
        let fit = InitFit::new(&samples);
        for m in [192, 700, 1769, 3008] {
            assert!((fit.init_ms(m).unwrap() - at(m)).abs() < 1e-6, "{m}");
        }
    }

    #[test]
    fn a_flat_or_noisy_decreasing_init_is_flat() {
        let fit = InitFit::new(&[(128, 300.0), (1024, 320.0), (2048, 310.0)]);
        let flat = fit.init_ms(512).unwrap();
        assert!((300.0..=320.0).contains(&flat), "{flat}");
        assert_eq!(fit.init_ms(3008), Some(flat));
    }
}
