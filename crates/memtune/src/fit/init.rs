//! INIT duration vs memory, from the cold start that opens each sampled size.
//!
//! INIT work is mostly CPU-bound start-up (loading code and dependencies), so it shrinks as
//! memory buys CPU and flattens where it is dominated by I/O. One cold sample per size is all
//! a search gets, so the curve is the simplest one that honours them: piecewise linear in
//! log-memory between measured sizes, flat beyond the outermost ones.

/// Measured INIT durations, ascending by memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitCurve {
    points: Vec<(f64, f64)>,
}

impl InitCurve {
    /// `(memory_mb, init_ms)` pairs in any order; non-finite or negative durations are left
    /// out, and a size measured twice keeps the mean.
    pub fn new(measured: impl IntoIterator<Item = (u32, f64)>) -> InitCurve {
        let mut by_size: std::collections::BTreeMap<u32, (f64, usize)> = Default::default();
        for (memory_mb, init_ms) in measured {
            if init_ms.is_finite() && init_ms >= 0.0 && memory_mb > 0 {
                let entry = by_size.entry(memory_mb).or_default();
                entry.0 += init_ms;
                entry.1 += 1;
            }
        }
        InitCurve {
            points: by_size
                .into_iter()
                .map(|(m, (sum, n))| (f64::from(m).ln(), sum / n as f64))
                .collect(),
        }
    }

    /// Predicted INIT duration at `memory_mb`; `None` when no cold start was measured.
    pub fn init_ms(&self, memory_mb: u32) -> Option<f64> {
        let x = f64::from(memory_mb.max(1)).ln();
        let (first, last) = (self.points.first()?, self.points.last()?);
        if x <= first.0 {
            return Some(first.1);
        }
        if x >= last.0 {
            return Some(last.1);
        }
        let right = self.points.iter().position(|p| p.0 >= x)?;
        let (a, b) = (self.points[right - 1], self.points[right]);
        Some(a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_measured_predicts_nothing() {
        assert_eq!(InitCurve::new([]).init_ms(1024), None);
        assert_eq!(InitCurve::new([(512, f64::NAN)]).init_ms(1024), None);
    }

    #[test]
    fn interpolates_in_log_memory_and_is_flat_outside() {
        let curve = InitCurve::new([(2048, 200.0), (512, 400.0)]);
        assert_eq!(curve.init_ms(128), Some(400.0));
        assert_eq!(curve.init_ms(512), Some(400.0));
        // 1024 MB is halfway between 512 and 2048 in log-memory.
        assert!((curve.init_ms(1024).unwrap() - 300.0).abs() < 1e-9);
        assert_eq!(curve.init_ms(10240), Some(200.0));
    }

    #[test]
    fn a_size_measured_twice_keeps_the_mean() {
        let curve = InitCurve::new([(512, 300.0), (512, 500.0)]);
        assert_eq!(curve.init_ms(512), Some(400.0));
    }
}
