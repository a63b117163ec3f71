//! A duration model read from a measurement table instead of derived from physics: a real
//! function's mean and p99 duration measured at a few memory sizes, with its INIT and memory
//! use where the table has them. The lab interpolates between the measured sizes, so the curve
//! keeps whatever steps, plateaus and non-monotone stretches the measurements have, which no
//! fitted family need reproduce (the tuner's fitter models the physics of `workload`).
//!
//! Between two measured sizes the mean and the p99 are interpolated linearly in log duration
//! over log memory (a power law, exact for CPU work that scales as 1/memory); INIT and memory
//! use linearly in log memory. Above the largest measured size everything is held flat (more
//! memory is assumed to buy nothing more). Below the smallest the function is treated as out
//! of memory: it was never seen to run there, and a real table's missing small sizes are
//! usually the ones that failed.
//!
//! The noise at a size is log-normal with the interpolated mean and the spread that puts its
//! p99 at the interpolated p99, so the lab's mean and p99 equal the measured ones at every
//! measured size.

use std::borrow::Cow;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::workload::{DurationDistribution, Execution, Expectation, Outcome};
use memtune_facts::{Architecture, MAX_MEMORY_MB, MIN_MEMORY_MB};

/// The 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874_040_840_8;

/// The largest p99/mean a log-normal with that mean can have: e^(z99^2 / 2), about 15.
pub fn max_p99_over_mean() -> f64 {
    (Z99 * Z99 / 2.0).exp()
}

/// Coefficient of variation of INIT durations around their measured mean (the tables give a
/// mean only).
const INIT_CV: f64 = 0.1;

/// Memory a function reports using when the table does not say, in MB (the default working set
/// of a physical workload).
pub const DEFAULT_MAX_MEMORY_USED_MB: f64 = 64.0;

fn default_memory_used() -> f64 {
    DEFAULT_MAX_MEMORY_USED_MB
}

/// One measured memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredPoint {
    pub memory_mb: u32,
    /// Mean `Duration` (INIT excluded), in ms.
    pub mean_ms: f64,
    /// 99th percentile of `Duration`, in ms.
    pub p99_ms: f64,
    /// Mean INIT of a cold start at this size, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<f64>,
    /// `Max Memory Used` at this size, in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_used_mb: Option<f64>,
}

/// A function's measured duration curve: `[function.curve]` in a profile file, in place of
/// `[function.workload]`. The curve is the function's on its own architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredCurve {
    /// `Max Memory Used` where no point gives one, in MB.
    #[serde(default = "default_memory_used")]
    pub max_memory_used_mb: f64,
    /// Durations (mean, p99, INIT) on arm64 over those on x86_64, for a copy of the function
    /// on the architecture the curve was not measured on: the curve is divided by it on
    /// x86_64 when measured on arm64, multiplied on arm64 when measured on x86_64. 1.0 (the
    /// default) when the measurements have no pair on the other architecture.
    #[serde(default = "no_architecture_difference")]
    pub arm64_factor: f64,
    /// The measured sizes, in rising memory order.
    pub points: Vec<MeasuredPoint>,
}

fn no_architecture_difference() -> f64 {
    1.0
}

impl MeasuredCurve {
    /// The curve on `arch`, when it was measured on `own`: durations scaled by
    /// `arm64_factor` across architectures.
    pub fn on_architecture(&self, own: Architecture, arch: Architecture) -> Cow<'_, Self> {
        let scale = match (own, arch) {
            (Architecture::X86_64, Architecture::Arm64) => self.arm64_factor,
            (Architecture::Arm64, Architecture::X86_64) => 1.0 / self.arm64_factor,
            _ => 1.0,
        };
        if scale == 1.0 {
            return Cow::Borrowed(self);
        }
        let mut scaled = self.clone();
        for p in &mut scaled.points {
            p.mean_ms *= scale;
            p.p99_ms *= scale;
            p.init_ms = p.init_ms.map(|i| i * scale);
        }
        Cow::Owned(scaled)
    }

    /// The first impossible value, as (key, message).
    pub fn validate(&self) -> Option<(&'static str, String)> {
        if self.points.is_empty() {
            return Some(("points", "a curve needs at least one measured point".into()));
        }
        if !(0.1..=10.0).contains(&self.arm64_factor) {
            return Some((
                "arm64_factor",
                format!("arm64_factor = {} is outside 0.1..=10", self.arm64_factor),
            ));
        }
        if !(1.0..=MAX_MEMORY_MB as f64).contains(&self.max_memory_used_mb) {
            return Some((
                "max_memory_used_mb",
                format!(
                    "max_memory_used_mb = {} is outside 1..={MAX_MEMORY_MB}",
                    self.max_memory_used_mb
                ),
            ));
        }
        let mut previous = 0;
        for p in &self.points {
            let at = p.memory_mb;
            if at <= previous || !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&at) {
                return Some((
                    "points",
                    "curve points' memory_mb must rise strictly within 128..=10240 MB".into(),
                ));
            }
            previous = at;
            if !(p.mean_ms.is_finite() && p.mean_ms > 0.0 && p.mean_ms <= 1e8) {
                return Some(("mean_ms", format!("mean_ms at {at} MB must be in (0, 1e8]")));
            }
            let ratio = p.p99_ms / p.mean_ms;
            if !(1.0..=max_p99_over_mean()).contains(&ratio) {
                return Some((
                    "p99_ms",
                    format!(
                        "p99_ms at {at} MB must be 1 to {:.1} times mean_ms (log-normal noise)",
                        max_p99_over_mean()
                    ),
                ));
            }
            if p.init_ms.is_some_and(|i| !(0.0..=1e7).contains(&i)) {
                return Some(("init_ms", format!("init_ms at {at} MB is outside 0..=1e7")));
            }
            if p.max_memory_used_mb
                .is_some_and(|m| !(1.0..=at as f64).contains(&m))
            {
                return Some((
                    "max_memory_used_mb",
                    format!("max_memory_used_mb at {at} MB must be within 1..={at}"),
                ));
            }
        }
        None
    }

    /// The mean duration at a memory size, in ms.
    pub fn mean_ms(&self, memory_mb: u32) -> f64 {
        log_log(&self.series(|p| Some(p.mean_ms)), memory_mb)
    }

    /// The p99 duration at a memory size, in ms.
    pub fn p99_ms(&self, memory_mb: u32) -> f64 {
        log_log(&self.series(|p| Some(p.p99_ms)), memory_mb)
    }

    /// The coefficient of variation of the log-normal noise whose p99 over mean is the curve's.
    pub fn noise_cv_at(&self, memory_mb: u32) -> f64 {
        let ratio = (self.p99_ms(memory_mb) / self.mean_ms(memory_mb)).max(1.0);
        // With mean 1, ln p99 = -sigma^2/2 + z99 sigma: the smaller root is the spread.
        let discriminant = (Z99 * Z99 - 2.0 * ratio.ln()).max(0.0);
        let sigma = Z99 - discriminant.sqrt();
        ((sigma * sigma).exp() - 1.0).sqrt()
    }

    /// Mean INIT at a memory size, in ms; 0 when the table has none.
    pub fn init_duration_ms(&self, memory_mb: u32) -> f64 {
        let series = self.series(|p| p.init_ms);
        if series.is_empty() {
            return 0.0;
        }
        log_linear(&series, memory_mb)
    }

    /// The distribution of INIT durations at a memory size.
    pub fn init_distribution(&self, memory_mb: u32) -> DurationDistribution {
        DurationDistribution::new(
            self.init_duration_ms(memory_mb),
            INIT_CV,
            0.0,
            1.0,
            f64::INFINITY,
        )
    }

    /// Below the smallest measured size the function never ran: it is killed there.
    pub fn out_of_memory(&self, memory_mb: u32) -> bool {
        self.points.first().is_none_or(|p| memory_mb < p.memory_mb)
    }

    pub fn max_memory_used_mb(&self, memory_mb: u32) -> u32 {
        let series = self.series(|p| p.max_memory_used_mb);
        let used = if series.is_empty() {
            self.max_memory_used_mb
        } else {
            log_linear(&series, memory_mb)
        };
        (used.round() as u32).clamp(1, memory_mb)
    }

    /// The distribution of warm durations at a memory size, capped at the timeout.
    pub fn distribution(&self, memory_mb: u32, timeout_ms: f64) -> DurationDistribution {
        DurationDistribution::new(
            self.mean_ms(memory_mb),
            self.noise_cv_at(memory_mb),
            0.0,
            1.0,
            timeout_ms,
        )
    }

    pub fn expectation(&self, memory_mb: u32, timeout_ms: f64) -> Expectation {
        Expectation::of(
            memory_mb,
            &self.distribution(memory_mb, timeout_ms),
            timeout_ms,
            self.init_duration_ms(memory_mb),
            self.max_memory_used_mb(memory_mb),
            self.out_of_memory(memory_mb),
        )
    }

    /// Draws one invocation. `cold` adds INIT; durations are capped by the timeout.
    pub fn execute<R: Rng + ?Sized>(
        &self,
        memory_mb: u32,
        timeout_ms: f64,
        cold: bool,
        rng: &mut R,
    ) -> Execution {
        let init_ms = cold.then(|| self.init_distribution(memory_mb).sample_uncapped(rng));
        if self.out_of_memory(memory_mb) {
            // Killed part way through, as a physical workload below its working set is.
            let d = self.mean_ms(memory_mb) * rng.random_range(0.05..0.6);
            return Execution {
                outcome: Outcome::OutOfMemory,
                duration_ms: d.min(timeout_ms),
                init_ms,
                max_memory_used_mb: memory_mb,
            };
        }
        let raw = self
            .distribution(memory_mb, timeout_ms)
            .sample_uncapped(rng);
        let (outcome, duration_ms) = if raw >= timeout_ms {
            (Outcome::Timeout, timeout_ms)
        } else {
            (Outcome::Success, raw)
        };
        let used = self.max_memory_used_mb(memory_mb) as f64 * rng.random_range(0.97..1.03);
        Execution {
            outcome,
            duration_ms,
            init_ms,
            max_memory_used_mb: (used.round() as u32).clamp(1, memory_mb),
        }
    }

    /// `(memory_mb, value)` of the points that have the value.
    fn series(&self, value: impl Fn(&MeasuredPoint) -> Option<f64>) -> Vec<(u32, f64)> {
        self.points
            .iter()
            .filter_map(|p| value(p).map(|v| (p.memory_mb, v)))
            .collect()
    }
}

/// Where `memory_mb` falls between two neighbours of `series` (sorted by memory, non-empty):
/// their values and the fraction of the way in log memory; flat beyond either end.
fn bracket(series: &[(u32, f64)], memory_mb: u32) -> (f64, f64, f64) {
    let above = series.partition_point(|&(m, _)| m <= memory_mb);
    if above == 0 {
        return (series[0].1, series[0].1, 0.0);
    }
    if above == series.len() {
        let last = series[above - 1].1;
        return (last, last, 0.0);
    }
    let ((m0, v0), (m1, v1)) = (series[above - 1], series[above]);
    let t = (memory_mb as f64 / m0 as f64).ln() / (m1 as f64 / m0 as f64).ln();
    (v0, v1, t)
}

/// Linear in log value over log memory (positive values); a measured size's value exactly.
fn log_log(series: &[(u32, f64)], memory_mb: u32) -> f64 {
    let (v0, v1, t) = bracket(series, memory_mb);
    if t == 0.0 {
        return v0;
    }
    (v0.ln() + t * (v1.ln() - v0.ln())).exp()
}

/// Linear in value over log memory.
fn log_linear(series: &[(u32, f64)], memory_mb: u32) -> f64 {
    let (v0, v1, t) = bracket(series, memory_mb);
    v0 + t * (v1 - v0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use statrs::distribution::{ContinuousCDF, Normal};

    /// The p99 of a log-normal with mean 1 and this coefficient of variation.
    fn p99_over_mean(cv: f64) -> f64 {
        let sigma = (1.0 + cv * cv).ln().sqrt();
        (-sigma * sigma / 2.0 + sigma * Normal::standard().inverse_cdf(0.99)).exp()
    }

    fn point(memory_mb: u32, mean_ms: f64, p99_ms: f64) -> MeasuredPoint {
        MeasuredPoint {
            memory_mb,
            mean_ms,
            p99_ms,
            init_ms: None,
            max_memory_used_mb: None,
        }
    }

    /// A light-workload-like curve: steep, heavy-tailed at small sizes, a bump at 1024 MB.
    fn curve() -> MeasuredCurve {
        MeasuredCurve {
            max_memory_used_mb: default_memory_used(),
            arm64_factor: 1.0,
            points: vec![
                MeasuredPoint {
                    init_ms: Some(300.0),
                    ..point(256, 80.0, 280.0)
                },
                point(512, 20.0, 60.0),
                MeasuredPoint {
                    init_ms: Some(200.0),
                    ..point(1024, 24.0, 40.0)
                },
                point(2048, 10.0, 15.0),
            ],
        }
    }

    #[test]
    fn measured_sizes_are_served_exactly() {
        let c = curve();
        for p in &c.points {
            let e = c.expectation(p.memory_mb, 1e9);
            assert!((e.mean_ms / p.mean_ms - 1.0).abs() < 1e-9, "{e:?}");
            assert!((e.p99_ms / p.p99_ms - 1.0).abs() < 1e-9, "{e:?}");
            assert!(!e.out_of_memory);
        }
    }

    #[test]
    fn between_sizes_the_curve_is_a_power_law_and_keeps_its_bumps() {
        let c = curve();
        // Halfway from 256 to 512 MB in log memory: the geometric mean of 80 and 20 ms.
        let at = (256.0f64 * 512.0).sqrt().round() as u32;
        assert!((c.mean_ms(at) - 40.0).abs() < 0.1, "{}", c.mean_ms(at));
        // Non-monotone: 1024 MB is slower than 512 MB, as measured.
        assert!(c.mean_ms(1024) > c.mean_ms(700));
        // INIT is linear in log memory between the points that have it, flat beyond.
        assert!((c.init_duration_ms(512) - 250.0).abs() < 1e-9);
        assert_eq!(c.init_duration_ms(4096), 200.0);
    }

    #[test]
    fn beyond_the_largest_size_it_is_flat_and_below_the_smallest_it_never_ran() {
        let c = curve();
        assert_eq!(c.mean_ms(10240), 10.0);
        assert_eq!(c.p99_ms(10240), 15.0);
        assert!(c.out_of_memory(255) && !c.out_of_memory(256));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let e = c.execute(128, 1e9, false, &mut rng);
        assert_eq!(e.outcome, Outcome::OutOfMemory);
        assert_eq!(e.max_memory_used_mb, 128);
    }

    #[test]
    fn the_noise_spread_reproduces_each_sizes_p99() {
        let c = curve();
        for m in [256, 300, 512, 1024, 2048] {
            let ratio = c.p99_ms(m) / c.mean_ms(m);
            assert!((p99_over_mean(c.noise_cv_at(m)) / ratio - 1.0).abs() < 1e-9);
        }
        // Draws have the measured mean and p99.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut d: Vec<f64> = (0..40_000)
            .map(|_| c.execute(256, 1e9, false, &mut rng).duration_ms)
            .collect();
        d.sort_by(f64::total_cmp);
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((mean / 80.0 - 1.0).abs() < 0.03, "{mean}");
        assert!((d[(d.len() * 99) / 100] / 280.0 - 1.0).abs() < 0.05);
    }

    #[test]
    fn memory_use_comes_from_the_points_or_the_curves_default() {
        let mut c = curve();
        assert_eq!(c.max_memory_used_mb(1024), 64);
        c.points[0].max_memory_used_mb = Some(100.0);
        c.points[3].max_memory_used_mb = Some(140.0);
        assert_eq!(c.max_memory_used_mb(256), 100);
        assert_eq!(c.max_memory_used_mb(4096), 140);
        assert_eq!(c.max_memory_used_mb(724), 120);
    }

    #[test]
    fn the_other_architecture_runs_the_curve_scaled_by_the_arm64_factor() {
        let c = MeasuredCurve {
            arm64_factor: 0.8,
            ..curve()
        };
        let (x86, arm) = (Architecture::X86_64, Architecture::Arm64);
        assert_eq!(c.on_architecture(x86, x86).mean_ms(512), 20.0);
        let on_arm = c.on_architecture(x86, arm);
        assert!((on_arm.mean_ms(512) - 16.0).abs() < 1e-9);
        assert!((on_arm.p99_ms(256) - 224.0).abs() < 1e-9);
        assert!((on_arm.init_duration_ms(1024) - 160.0).abs() < 1e-9);
        // The spread is the same: only the scale moves.
        assert!((on_arm.noise_cv_at(700) - c.noise_cv_at(700)).abs() < 1e-12);
        // Measured on arm64, x86_64 is the slower one.
        assert!((c.on_architecture(arm, x86).mean_ms(512) - 25.0).abs() < 1e-9);
        assert_eq!(curve().on_architecture(x86, arm).mean_ms(512), 20.0);
    }

    #[test]
    fn impossible_tables_are_rejected() {
        let mut c = curve();
        assert_eq!(c.validate(), None);
        c.points.swap(0, 1);
        assert_eq!(c.validate().map(|e| e.0), Some("points"));
        let mut c = curve();
        c.points[1].p99_ms = 10.0;
        assert_eq!(c.validate().map(|e| e.0), Some("p99_ms"));
        c.points[1].p99_ms = 20.0 * 16.0;
        assert_eq!(c.validate().map(|e| e.0), Some("p99_ms"));
        let mut c = curve();
        c.points[2].max_memory_used_mb = Some(2000.0);
        assert_eq!(c.validate().map(|e| e.0), Some("max_memory_used_mb"));
        c.points.clear();
        assert_eq!(c.validate().map(|e| e.0), Some("points"));
        let c = MeasuredCurve {
            arm64_factor: 0.0,
            ..curve()
        };
        assert_eq!(c.validate().map(|e| e.0), Some("arm64_factor"));
    }
}
