//! The lab's model of how a Lambda function's duration depends on its memory size.
//!
//! Lambda gives a function CPU in proportion to its memory (1769 MB = 1 vCPU, 6 vCPU at
//! 10240 MB). A workload is described by the time it spends in single-threaded CPU work,
//! parallel CPU work, fixed I/O waits and network transfer, plus its working set (below it the
//! function is killed; close above it garbage collection slows it down), its INIT cost and its
//! noise. Everything here is pure: the server draws samples from it, `lab truth` reads the
//! noise-free expectations.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use memtune_facts::{vcpus, Architecture, ONE_VCPU_MB};

/// How the function's work splits into CPU, parallel CPU, waits and memory use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// CPU time of one invocation at one full x86_64 vCPU, in ms.
    #[serde(default)]
    pub cpu_ms: f64,
    /// Fraction of `cpu_ms` that runs in parallel (Amdahl), 0..=1.
    #[serde(default)]
    pub parallel_fraction: f64,
    /// Threads the parallel part can use; more vCPUs than this do not help.
    #[serde(default = "one")]
    pub threads: u32,
    /// Fixed wait per invocation (database, downstream API), in ms; independent of memory.
    #[serde(default)]
    pub io_ms: f64,
    /// Data moved over the network per invocation, in MB.
    #[serde(default)]
    pub transfer_mb: f64,
    /// Network bandwidth at 1769 MB, in MB/s; it grows with the square root of memory.
    #[serde(default = "default_bandwidth")]
    pub bandwidth_mb_s: f64,
    /// Memory the function needs, in MB: below it the function is killed (out of memory).
    #[serde(default = "default_working_set")]
    pub working_set_mb: f64,
    /// Garbage-collection slowdown of the CPU work at twice the working set. GC cost grows
    /// with live data over free heap, so the multiplier is 1 + gc_pressure x working_set /
    /// (memory - working_set): it fades with more memory and explodes right above the
    /// working set (the death spiral before an out-of-memory kill).
    #[serde(default)]
    pub gc_pressure: f64,
    /// CPU time multiplier on arm64 (Graviton) relative to x86_64.
    #[serde(default = "one_f")]
    pub arm64_cpu_factor: f64,
    /// INIT (cold start) duration at 1 vCPU, in ms.
    #[serde(default)]
    pub init_ms: f64,
    /// Fraction of INIT that is CPU work and so speeds up with memory (up to 1 vCPU).
    #[serde(default)]
    pub init_cpu_fraction: f64,
    /// Coefficient of variation of the log-normal noise on warm durations.
    #[serde(default = "default_cv")]
    pub noise_cv: f64,
    /// Measured noise by memory size, `[[memory_mb, cv], ...]`, replacing `noise_cv` where
    /// the spread depends on memory: real I/O-bound functions have p99/mean ratios of ~3.5 at
    /// 128-512 MB and ~1.7 at 2 GB. Interpolated linearly in log memory between the listed
    /// sizes and flat beyond the first and last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noise_cv_by_memory: Vec<(u32, f64)>,
    /// A multiplier on the duration by memory size, `[[memory_mb, factor], ...]`, for shapes
    /// no term above gives: steps (two sizes 1 MB apart with different factors), plateaus and
    /// non-monotone stretches, as real measurements show (a runtime switching code paths,
    /// CPU allocation in steps). Interpolated linearly in log memory between the listed sizes,
    /// flat beyond the first and last; none: 1 everywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duration_factor_by_memory: Vec<(u32, f64)>,
    /// Probability that an invocation is a slow outlier.
    #[serde(default)]
    pub outlier_rate: f64,
    /// How much slower an outlier is.
    #[serde(default = "default_outlier_factor")]
    pub outlier_factor: f64,
    /// Probability that an invocation fails with a handled function error.
    #[serde(default)]
    pub error_rate: f64,
    /// The error rate by memory size, `[[memory_mb, rate], ...]`, replacing `error_rate` where
    /// some sizes fail more (code that breaks with more parallelism, a size-dependent
    /// dependency). Interpolated like `noise_cv_by_memory`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_rate_by_memory: Vec<(u32, f64)>,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn default_bandwidth() -> f64 {
    75.0
}
fn default_working_set() -> f64 {
    64.0
}
fn default_cv() -> f64 {
    0.05
}
fn default_outlier_factor() -> f64 {
    3.0
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            cpu_ms: 0.0,
            parallel_fraction: 0.0,
            threads: 1,
            io_ms: 0.0,
            transfer_mb: 0.0,
            bandwidth_mb_s: default_bandwidth(),
            working_set_mb: default_working_set(),
            gc_pressure: 0.0,
            arm64_cpu_factor: 1.0,
            init_ms: 0.0,
            init_cpu_fraction: 0.0,
            noise_cv: default_cv(),
            noise_cv_by_memory: Vec::new(),
            duration_factor_by_memory: Vec::new(),
            outlier_rate: 0.0,
            outlier_factor: default_outlier_factor(),
            error_rate: 0.0,
            error_rate_by_memory: Vec::new(),
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A handled error thrown by the function's code.
    FunctionError,
    /// Killed for exceeding its memory.
    OutOfMemory,
    /// Ran into the function's timeout.
    Timeout,
}

/// One simulated invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub outcome: Outcome,
    /// Handler duration as REPORT's `Duration` (excludes INIT), in ms.
    pub duration_ms: f64,
    /// INIT duration when this invocation started a new execution environment.
    pub init_ms: Option<f64>,
    pub max_memory_used_mb: u32,
}

/// The noise-free expectation at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expectation {
    pub memory_mb: u32,
    /// The duration without noise or outliers.
    pub base_ms: f64,
    /// Mean warm duration including noise and outliers (capped at the timeout).
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// Expected billed duration (1 ms granularity).
    pub mean_billed_ms: f64,
    pub init_ms: f64,
    pub max_memory_used_mb: u32,
    pub out_of_memory: bool,
    /// Probability that a warm invocation runs into the timeout.
    pub timeout_probability: f64,
}

impl Expectation {
    /// The figures of a warm-duration distribution at one size, with what the model says of
    /// INIT and memory there.
    pub fn of(
        memory_mb: u32,
        dist: &DurationDistribution,
        timeout_ms: f64,
        init_ms: f64,
        max_memory_used_mb: u32,
        out_of_memory: bool,
    ) -> Expectation {
        Expectation {
            memory_mb,
            base_ms: dist.base_ms,
            mean_ms: dist.mean(),
            p50_ms: dist.quantile(0.50),
            p90_ms: dist.quantile(0.90),
            p99_ms: dist.quantile(0.99),
            // Billing rounds up to the next ms: on average half a ms more than the mean.
            mean_billed_ms: dist.mean() + 0.5,
            init_ms,
            max_memory_used_mb,
            out_of_memory,
            timeout_probability: 1.0 - dist.cdf_uncapped(timeout_ms),
        }
    }
}

impl Workload {
    /// Duration without noise, in ms, at a memory size and architecture.
    pub fn base_duration_ms(&self, memory_mb: u32, arch: Architecture) -> f64 {
        let v = vcpus(f64::from(memory_mb));
        let arch_factor = match arch {
            Architecture::X86_64 => 1.0,
            Architecture::Arm64 => self.arm64_cpu_factor,
        };
        let p = self.parallel_fraction.clamp(0.0, 1.0);
        let serial = (1.0 - p) / v.min(1.0);
        let parallel = p / v.min(self.threads.max(1) as f64);
        let cpu = self.cpu_ms * arch_factor * (serial + parallel);
        let bandwidth = self.bandwidth_mb_s * (memory_mb as f64 / ONE_VCPU_MB).sqrt();
        let network = if self.transfer_mb > 0.0 {
            1000.0 * self.transfer_mb / bandwidth
        } else {
            0.0
        };
        let total = cpu * self.gc_multiplier(memory_mb) + self.io_ms + network;
        let factor = interpolate_in_log_memory(&self.duration_factor_by_memory, memory_mb);
        (total * factor.unwrap_or(1.0)).max(0.5)
    }

    fn gc_multiplier(&self, memory_mb: u32) -> f64 {
        if self.gc_pressure == 0.0 {
            return 1.0;
        }
        // At least 1 MB of headroom keeps the multiplier finite right at the working set.
        let headroom = (memory_mb as f64 - self.working_set_mb).max(1.0);
        1.0 + self.gc_pressure * self.working_set_mb / headroom
    }

    /// Probability of a handled function error at a memory size.
    pub fn error_rate_at(&self, memory_mb: u32) -> f64 {
        interpolate_in_log_memory(&self.error_rate_by_memory, memory_mb).unwrap_or(self.error_rate)
    }

    /// The noise's coefficient of variation at a memory size.
    pub fn noise_cv_at(&self, memory_mb: u32) -> f64 {
        interpolate_in_log_memory(&self.noise_cv_by_memory, memory_mb).unwrap_or(self.noise_cv)
    }

    pub fn out_of_memory(&self, memory_mb: u32) -> bool {
        (memory_mb as f64) < self.working_set_mb
    }

    /// INIT duration at a memory size: its CPU part speeds up with memory up to 1 vCPU.
    pub fn init_duration_ms(&self, memory_mb: u32, arch: Architecture) -> f64 {
        let arch_factor = match arch {
            Architecture::X86_64 => 1.0,
            Architecture::Arm64 => self.arm64_cpu_factor,
        };
        let f = self.init_cpu_fraction.clamp(0.0, 1.0);
        self.init_ms * ((1.0 - f) + f * arch_factor / vcpus(f64::from(memory_mb)).min(1.0))
    }

    pub fn max_memory_used_mb(&self, memory_mb: u32) -> u32 {
        (self.working_set_mb.round() as u32).clamp(1, memory_mb)
    }

    /// The distribution of warm durations at a memory size.
    pub fn distribution(
        &self,
        memory_mb: u32,
        arch: Architecture,
        timeout_ms: f64,
    ) -> DurationDistribution {
        DurationDistribution::new(
            self.base_duration_ms(memory_mb, arch),
            self.noise_cv_at(memory_mb),
            self.outlier_rate,
            self.outlier_factor,
            timeout_ms,
        )
    }

    pub fn expectation(&self, memory_mb: u32, arch: Architecture, timeout_ms: f64) -> Expectation {
        Expectation::of(
            memory_mb,
            &self.distribution(memory_mb, arch, timeout_ms),
            timeout_ms,
            self.init_duration_ms(memory_mb, arch),
            self.max_memory_used_mb(memory_mb),
            self.out_of_memory(memory_mb),
        )
    }

    /// Draws one invocation. `cold` adds INIT; durations are capped by the timeout.
    pub fn execute<R: Rng + ?Sized>(
        &self,
        memory_mb: u32,
        arch: Architecture,
        timeout_ms: f64,
        cold: bool,
        rng: &mut R,
    ) -> Execution {
        let init_ms = cold.then(|| {
            let noise = lognormal_factor(self.noise_cv_at(memory_mb), rng);
            self.init_duration_ms(memory_mb, arch) * noise
        });
        if self.out_of_memory(memory_mb) {
            // The runtime grows past its limit part way through and is killed.
            let d = self.base_duration_ms(memory_mb, arch) * rng.random_range(0.05..0.6);
            return Execution {
                outcome: Outcome::OutOfMemory,
                duration_ms: d.min(timeout_ms),
                init_ms,
                max_memory_used_mb: memory_mb,
            };
        }
        let dist = self.distribution(memory_mb, arch, timeout_ms);
        let raw = dist.sample_uncapped(rng);
        let (outcome, duration_ms) = if raw >= timeout_ms {
            (Outcome::Timeout, timeout_ms)
        } else if rng.random::<f64>() < self.error_rate_at(memory_mb) {
            (Outcome::FunctionError, raw)
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
}

/// A `[[memory_mb, value], ...]` table (sizes rising) at a memory size: linear in log memory
/// between the listed sizes, flat beyond the first and last; None for an empty table.
fn interpolate_in_log_memory(table: &[(u32, f64)], memory_mb: u32) -> Option<f64> {
    let (first, last) = (table.first()?, table.last()?);
    if memory_mb <= first.0 {
        return Some(first.1);
    }
    if memory_mb >= last.0 {
        return Some(last.1);
    }
    let above = table.partition_point(|&(m, _)| m <= memory_mb);
    let ((m0, v0), (m1, v1)) = (table[above - 1], table[above]);
    let t = (memory_mb as f64 / m0 as f64).ln() / (m1 as f64 / m0 as f64).ln();
    Some(v0 + t * (v1 - v0))
}

/// Multiplicative log-normal noise with mean 1 and the given coefficient of variation.
fn lognormal_factor<R: Rng + ?Sized>(cv: f64, rng: &mut R) -> f64 {
    if cv <= 0.0 {
        return 1.0;
    }
    let sigma = (1.0 + cv * cv).ln().sqrt();
    let z: f64 = StandardNormal.sample(rng);
    (z * sigma - sigma * sigma / 2.0).exp()
}

/// Warm durations: base x log-normal noise (mean 1), with a fraction of outliers that are
/// `outlier_factor` times slower, capped at the timeout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationDistribution {
    pub base_ms: f64,
    sigma: f64,
    outlier_rate: f64,
    outlier_factor: f64,
    cap_ms: f64,
}

impl DurationDistribution {
    pub fn new(base_ms: f64, cv: f64, outlier_rate: f64, outlier_factor: f64, cap_ms: f64) -> Self {
        DurationDistribution {
            base_ms,
            sigma: (1.0 + cv.max(0.0).powi(2)).ln().sqrt(),
            outlier_rate: outlier_rate.clamp(0.0, 1.0),
            outlier_factor: outlier_factor.max(1.0),
            cap_ms,
        }
    }

    fn mu(&self) -> f64 {
        -self.sigma * self.sigma / 2.0
    }

    fn component_cdf(&self, x: f64, scale: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if self.sigma == 0.0 {
            return if x >= scale { 1.0 } else { 0.0 };
        }
        let z = ((x / scale).ln() - self.mu()) / self.sigma;
        Normal::standard().cdf(z)
    }

    /// CDF ignoring the timeout cap.
    pub fn cdf_uncapped(&self, x: f64) -> f64 {
        let r = self.outlier_rate;
        (1.0 - r) * self.component_cdf(x, self.base_ms)
            + r * self.component_cdf(x, self.base_ms * self.outlier_factor)
    }

    /// CDF of the reported duration (which the timeout caps).
    pub fn cdf(&self, x: f64) -> f64 {
        if x >= self.cap_ms {
            1.0
        } else {
            self.cdf_uncapped(x)
        }
    }

    /// The p-quantile (0 < p < 1) of the reported (capped) duration.
    pub fn quantile(&self, p: f64) -> f64 {
        let lo = self.component_quantile(p, self.base_ms);
        let raw = if self.outlier_rate == 0.0 {
            lo
        } else if self.sigma == 0.0 {
            // Two point masses: the outliers hold the top `outlier_rate` of the mass.
            if p <= 1.0 - self.outlier_rate {
                lo
            } else {
                self.base_ms * self.outlier_factor
            }
        } else {
            // A mixture's quantile lies between the quantiles of its components.
            let hi = self.component_quantile(p, self.base_ms * self.outlier_factor);
            self.mixture_quantile(p, lo, hi)
        };
        raw.min(self.cap_ms)
    }

    fn component_quantile(&self, p: f64, scale: f64) -> f64 {
        if self.sigma == 0.0 {
            return scale;
        }
        scale * (self.mu() + self.sigma * Normal::standard().inverse_cdf(p)).exp()
    }

    /// Solves F(e^y) = p for y = ln(x) by Newton steps kept inside the bracket [lo, hi]
    /// (bisecting when a step would leave it). In log space F is a mixture of normal CDFs, so
    /// the derivative is cheap and a handful of steps reach machine precision.
    fn mixture_quantile(&self, p: f64, lo: f64, hi: f64) -> f64 {
        let (mut lo, mut hi) = (lo.ln(), hi.ln());
        let mut y = 0.5 * (lo + hi);
        for _ in 0..100 {
            let (f, slope) = self.log_cdf_and_slope(y);
            let f = f - p;
            if f < 0.0 {
                lo = y;
            } else {
                hi = y;
            }
            let newton = y - f / slope;
            let next = if slope > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if (next - y).abs() < 1e-13 * y.abs().max(1.0) {
                return next.exp();
            }
            y = next;
        }
        y.exp()
    }

    /// The uncapped CDF at e^y and its derivative with respect to y.
    fn log_cdf_and_slope(&self, y: f64) -> (f64, f64) {
        let normal = Normal::standard();
        let r = self.outlier_rate;
        let z = |scale: f64| (y - scale.ln() - self.mu()) / self.sigma;
        let (z1, z2) = (z(self.base_ms), z(self.base_ms * self.outlier_factor));
        let cdf = (1.0 - r) * normal.cdf(z1) + r * normal.cdf(z2);
        let slope = ((1.0 - r) * normal.pdf(z1) + r * normal.pdf(z2)) / self.sigma;
        (cdf, slope)
    }

    /// Mean of the capped distribution, in closed form.
    pub fn mean(&self) -> f64 {
        let r = self.outlier_rate;
        (1.0 - r) * self.component_capped_mean(self.base_ms)
            + r * self.component_capped_mean(self.base_ms * self.outlier_factor)
    }

    /// E[min(X, cap)] for X = scale x log-normal noise with mean 1:
    /// scale * Phi(d - sigma) + cap * (1 - Phi(d)), d = (ln(cap / scale) - mu) / sigma.
    fn component_capped_mean(&self, scale: f64) -> f64 {
        if !self.cap_ms.is_finite() {
            return scale;
        }
        if self.sigma == 0.0 {
            return scale.min(self.cap_ms);
        }
        let normal = Normal::standard();
        let d = ((self.cap_ms / scale).ln() - self.mu()) / self.sigma;
        scale * normal.cdf(d - self.sigma) + self.cap_ms * (1.0 - normal.cdf(d))
    }

    /// The reported (capped) duration for a standard normal draw `z` and a uniform draw `u`
    /// (below `outlier_rate`: an outlier): [`Self::sample_uncapped`] with its draws given.
    pub fn at_draw(&self, z: f64, u: f64) -> f64 {
        let scale = if u < self.outlier_rate {
            self.outlier_factor
        } else {
            1.0
        };
        (self.base_ms * scale * (self.mu() + self.sigma * z).exp()).min(self.cap_ms)
    }

    pub fn sample_uncapped<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        let noise = (self.mu() + self.sigma * z).exp();
        let scale = if rng.random::<f64>() < self.outlier_rate {
            self.outlier_factor
        } else {
            1.0
        };
        self.base_ms * scale * noise
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cpu_bound() -> Workload {
        Workload {
            cpu_ms: 1000.0,
            working_set_mb: 100.0,
            ..Workload::default()
        }
    }

    #[test]
    fn single_threaded_cpu_scales_until_one_vcpu_then_flat() {
        let w = cpu_bound();
        let a = w.base_duration_ms(884, Architecture::X86_64);
        let b = w.base_duration_ms(1769, Architecture::X86_64);
        let c = w.base_duration_ms(4096, Architecture::X86_64);
        assert!((a / b - 2.0).abs() < 0.01, "{a} {b}");
        assert!((b - c).abs() < 1e-9);
    }

    #[test]
    fn parallel_work_keeps_improving_past_one_vcpu() {
        let w = Workload {
            parallel_fraction: 0.9,
            threads: 6,
            ..cpu_bound()
        };
        let b = w.base_duration_ms(1769, Architecture::X86_64);
        let c = w.base_duration_ms(10240, Architecture::X86_64);
        assert!(c < b * 0.3, "{b} {c}");
    }

    #[test]
    fn quantiles_invert_the_cdf_and_mean_is_one_times_base() {
        let d = DurationDistribution::new(100.0, 0.1, 0.0, 3.0, f64::INFINITY);
        let q = d.quantile(0.99);
        assert!((d.cdf(q) - 0.99).abs() < 1e-6);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let n = 20000;
        let mean = (0..n).map(|_| d.sample_uncapped(&mut rng)).sum::<f64>() / n as f64;
        assert!((mean - 100.0).abs() < 1.0, "{mean}");
        assert!((d.mean() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn quantiles_with_outliers_invert_the_mixture_cdf() {
        let d = DurationDistribution::new(100.0, 0.2, 0.05, 4.0, f64::INFINITY);
        for p in [0.5, 0.9, 0.96, 0.99] {
            let q = d.quantile(p);
            assert!((d.cdf(q) - p).abs() < 1e-9, "p {p}: q {q} cdf {}", d.cdf(q));
        }
        let points = DurationDistribution::new(100.0, 0.0, 0.05, 3.0, f64::INFINITY);
        assert_eq!(points.quantile(0.5), 100.0);
        assert_eq!(points.quantile(0.99), 300.0);
    }

    #[test]
    fn capped_mean_matches_numeric_integral_of_survival() {
        let d = DurationDistribution::new(100.0, 0.3, 0.1, 3.0, 150.0);
        let steps = 200_000;
        let h = 150.0 / steps as f64;
        let numeric: f64 = (0..steps)
            .map(|i| 1.0 - d.cdf_uncapped((i as f64 + 0.5) * h))
            .sum::<f64>()
            * h;
        assert!((d.mean() - numeric).abs() < 1e-3, "{} {numeric}", d.mean());
        assert!(d.mean() < 150.0);
    }

    #[test]
    fn gc_pressure_slows_near_the_working_set_and_fades() {
        let w = Workload {
            gc_pressure: 0.5,
            working_set_mb: 500.0,
            ..cpu_bound()
        };
        let plain = cpu_bound();
        let ratio = |m| {
            w.base_duration_ms(m, Architecture::X86_64)
                / plain.base_duration_ms(m, Architecture::X86_64)
        };
        assert!((ratio(1000) - 1.5).abs() < 1e-9);
        assert!(ratio(510) > 20.0);
        assert!(ratio(10240) < 1.03);
    }

    #[test]
    fn below_working_set_is_out_of_memory_and_timeouts_cap_duration() {
        let w = cpu_bound();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let e = w.execute(64, Architecture::X86_64, 3000.0, false, &mut rng);
        assert_eq!(e.outcome, Outcome::OutOfMemory);
        let e = w.execute(128, Architecture::X86_64, 3000.0, false, &mut rng);
        assert_eq!(e.outcome, Outcome::Timeout);
        assert_eq!(e.duration_ms, 3000.0);
        let x = w.expectation(128, Architecture::X86_64, 3000.0);
        assert!(x.timeout_probability > 0.99);
    }

    #[test]
    fn a_noise_table_sets_the_spread_by_memory() {
        let w = Workload {
            noise_cv: 0.05,
            noise_cv_by_memory: vec![(256, 0.6), (1024, 0.2), (2048, 0.3)],
            ..cpu_bound()
        };
        assert_eq!(w.noise_cv_at(128), 0.6);
        assert_eq!(w.noise_cv_at(256), 0.6);
        // Halfway between 256 and 1024 MB in log memory.
        assert!((w.noise_cv_at(512) - 0.4).abs() < 1e-12);
        assert_eq!(w.noise_cv_at(1024), 0.2);
        assert_eq!(w.noise_cv_at(10240), 0.3);
        let p99_over_mean = |m| {
            let x = w.expectation(m, Architecture::X86_64, 1e9);
            x.p99_ms / x.mean_ms
        };
        assert!(p99_over_mean(256) > 2.5 && p99_over_mean(1024) < 1.6);
        assert_eq!(Workload::default().noise_cv_at(512), 0.05);
    }

    #[test]
    fn a_duration_factor_table_makes_steps_and_bumps() {
        let plain = Workload {
            io_ms: 100.0,
            noise_cv: 0.0,
            ..Workload::default()
        };
        let shaped = Workload {
            // A bump of 30% around 1024 MB, then a step down to 60% above 2048 MB.
            duration_factor_by_memory: vec![(512, 1.0), (1024, 1.3), (2048, 1.0), (2049, 0.6)],
            ..plain.clone()
        };
        let at = |w: &Workload, m| w.base_duration_ms(m, Architecture::X86_64);
        assert_eq!(at(&shaped, 256), at(&plain, 256));
        assert!((at(&shaped, 1024) / at(&plain, 1024) - 1.3).abs() < 1e-12);
        assert!(at(&shaped, 1024) > 1.2 * at(&shaped, 600), "non-monotone");
        assert!((at(&shaped, 2048) - 100.0).abs() < 1e-9);
        assert!((at(&shaped, 4096) - 60.0).abs() < 1e-9);
        // The truth's percentiles follow the shape.
        let p99 = |m| shaped.expectation(m, Architecture::X86_64, 1e9).p99_ms;
        assert!(p99(1024) > p99(512) && p99(4096) < p99(2048));
    }
}
