//! Statistics over a mix of described populations and recorded samples.
//!
//! Logs Insights describes backfilled production traffic as a count times a known
//! distribution; CloudWatch's metrics see a finite sample of it, each value standing for the
//! invocations it was drawn among; the lab's own invocations are individual values. Statistics
//! (percentiles, trimmed means) over all of them are computed on the mixture in which each
//! population weighs its count and each sample its weight: quantiles by nearest rank over
//! samples alone and by bisection on the mixture's CDF otherwise, trimmed means from partial
//! expectations.

use super::workload::DurationDistribution;

/// A distribution known by its CDF on a bounded support.
pub trait Continuous: Send + Sync {
    fn cdf(&self, x: f64) -> f64;
    /// An interval holding (all but a negligible part of) the mass.
    fn support(&self) -> (f64, f64);
    fn mean(&self) -> f64 {
        let (lo, hi) = self.support();
        lo + integrate(|x| 1.0 - self.cdf(x), lo, hi)
    }
}

impl Continuous for DurationDistribution {
    fn cdf(&self, x: f64) -> f64 {
        DurationDistribution::cdf(self, x)
    }
    fn support(&self) -> (f64, f64) {
        (0.0, self.quantile(1.0 - 1e-12))
    }
    fn mean(&self) -> f64 {
        DurationDistribution::mean(self)
    }
}

/// Uniform on [lo, hi].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uniform(pub f64, pub f64);

impl Continuous for Uniform {
    fn cdf(&self, x: f64) -> f64 {
        if self.1 <= self.0 {
            return if x >= self.0 { 1.0 } else { 0.0 };
        }
        ((x - self.0) / (self.1 - self.0)).clamp(0.0, 1.0)
    }
    fn support(&self) -> (f64, f64) {
        (self.0, self.1)
    }
    fn mean(&self) -> f64 {
        0.5 * (self.0 + self.1)
    }
}

/// Simpson's rule with enough panels for the smooth CDFs used here.
pub fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let n = 256;
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + f(b) + inner) * h / 3.0
}

/// E[X; a < X <= b] for a distribution, by parts: b F(b) - a F(a) - ∫ F.
fn partial_expectation(d: &dyn Continuous, a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    b * d.cdf(b) - a * d.cdf(a) - integrate(|x| d.cdf(x), a, b)
}

/// Populations (count, distribution) plus individual samples, each of weight 1 (the lab's own
/// invocations) or standing for several invocations (a subsample of backfilled traffic).
#[derive(Default)]
pub struct Mixture<'a> {
    populations: Vec<(f64, &'a dyn Continuous)>,
    /// (value, weight), sorted by value.
    samples: Vec<(f64, f64)>,
    /// Running sums of the samples' weights: `cumulative[i]` is the weight of samples 0..=i.
    cumulative: Vec<f64>,
}

impl<'a> Mixture<'a> {
    pub fn new() -> Mixture<'a> {
        Mixture::default()
    }

    pub fn add_population(&mut self, count: f64, dist: &'a dyn Continuous) {
        if count > 0.0 {
            self.populations.push((count, dist));
        }
    }

    pub fn add_samples(&mut self, values: impl IntoIterator<Item = f64>) {
        self.add_weighted_samples(values, 1.0);
    }

    /// Samples that each stand for `weight` invocations.
    pub fn add_weighted_samples(&mut self, values: impl IntoIterator<Item = f64>, weight: f64) {
        self.samples.extend(values.into_iter().map(|v| (v, weight)));
        self.samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut total = 0.0;
        self.cumulative = self
            .samples
            .iter()
            .map(|(_, w)| {
                total += w;
                total
            })
            .collect();
    }

    fn sample_weight(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    pub fn count(&self) -> f64 {
        self.populations.iter().map(|p| p.0).sum::<f64>() + self.sample_weight()
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0.0
    }

    pub fn sum(&self) -> f64 {
        self.populations
            .iter()
            .map(|(n, d)| n * d.mean())
            .sum::<f64>()
            + self.samples.iter().map(|(v, w)| v * w).sum::<f64>()
    }

    /// Weighted by each part's share of the count, so that a single population's mean is its
    /// distribution's exactly, whatever its count.
    pub fn mean(&self) -> f64 {
        let total = self.count();
        self.populations
            .iter()
            .map(|(n, d)| n / total * d.mean())
            .sum::<f64>()
            + self.samples.iter().map(|(v, w)| v * w).sum::<f64>() / total
    }

    /// Weight of the samples at or below x.
    fn sample_weight_below(&self, x: f64) -> f64 {
        match self.samples.partition_point(|s| s.0 <= x) {
            0 => 0.0,
            i => self.cumulative[i - 1],
        }
    }

    /// Share of the weight at or below x; count-free for a single population, as [`Self::mean`].
    fn share_below(&self, x: f64, total: f64) -> f64 {
        let populations: f64 = self
            .populations
            .iter()
            .map(|(n, d)| n / total * d.cdf(x))
            .sum();
        populations + self.sample_weight_below(x) / total
    }

    fn support(&self) -> (f64, f64) {
        let mut lo = self.samples.first().map_or(f64::INFINITY, |s| s.0);
        let mut hi = self.samples.last().map_or(f64::NEG_INFINITY, |s| s.0);
        for (_, d) in &self.populations {
            let (a, b) = d.support();
            lo = lo.min(a);
            hi = hi.max(b);
        }
        (lo, hi)
    }

    /// The smallest x with at least a fraction p (0..=1) of the weight at or below it.
    pub fn quantile(&self, p: f64) -> f64 {
        let total = self.count();
        let p = p.clamp(0.0, 1.0);
        if self.populations.is_empty() {
            // Nearest rank, as CloudWatch does for raw samples; a sample standing for several
            // invocations holds that many ranks.
            let rank = (p * total).ceil().max(1.0);
            let i = self
                .cumulative
                .partition_point(|c| *c < rank * (1.0 - 1e-12));
            return self.samples[i.min(self.samples.len() - 1)].0;
        }
        let (mut lo, mut hi) = self.support();
        if self.share_below(lo, total) >= p {
            return lo;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.share_below(mid, total) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// The smallest value. For populations, the expected minimum of `count` draws is near the
    /// 1/(count+1) quantile, which is what is reported.
    pub fn minimum(&self) -> f64 {
        let sample = self.samples.first().map_or(f64::INFINITY, |s| s.0);
        self.populations
            .iter()
            .map(|(c, d)| single_quantile(*d, 1.0 / (c + 1.0)))
            .fold(sample, f64::min)
    }

    /// The largest value; populations contribute their count/(count+1) quantile.
    pub fn maximum(&self) -> f64 {
        let sample = self.samples.last().map_or(f64::NEG_INFINITY, |s| s.0);
        self.populations
            .iter()
            .map(|(c, d)| single_quantile(*d, c / (c + 1.0)))
            .fold(sample, f64::max)
    }

    /// Mean of the values ranked between the lo and hi fractions (CloudWatch's TM(lo:hi)).
    pub fn trimmed_mean(&self, lo: f64, hi: f64) -> Option<f64> {
        let a = if lo <= 0.0 {
            f64::NEG_INFINITY
        } else {
            self.quantile(lo)
        };
        let b = self.quantile(hi);
        let in_range = |s: &&(f64, f64)| s.0 > a && s.0 <= b;
        let mut weight: f64 = self.samples.iter().filter(in_range).map(|s| s.1).sum();
        let mut sum: f64 = self
            .samples
            .iter()
            .filter(in_range)
            .map(|s| s.0 * s.1)
            .sum();
        for (n, d) in &self.populations {
            let a = a.max(d.support().0);
            weight += n * (d.cdf(b) - d.cdf(a));
            sum += n * partial_expectation(*d, a, b);
        }
        (weight > 0.0).then(|| sum / weight)
    }
}

fn single_quantile(d: &dyn Continuous, p: f64) -> f64 {
    let mut m = Mixture::new();
    m.add_population(1.0, d);
    m.quantile(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_alone_use_nearest_rank() {
        let mut m = Mixture::new();
        m.add_samples((1..=100).map(f64::from));
        assert_eq!(m.quantile(0.99), 99.0);
        assert_eq!(m.quantile(0.5), 50.0);
        assert_eq!(m.trimmed_mean(0.1, 0.9), Some(50.5));
        assert_eq!((m.minimum(), m.maximum()), (1.0, 100.0));
    }

    #[test]
    fn a_population_alone_matches_its_distribution() {
        let d = DurationDistribution::new(100.0, 0.1, 0.01, 3.0, f64::INFINITY);
        let mut m = Mixture::new();
        m.add_population(1e6, &d);
        let q = m.quantile(0.99);
        assert!((q - d.quantile(0.99)).abs() < 1e-6 * q, "{q}");
        assert!((m.mean() - d.mean()).abs() < 1e-9);
        // The central 80% of a symmetric-ish narrow log-normal averages close to its median.
        let tm = m.trimmed_mean(0.1, 0.9).unwrap();
        assert!((tm - d.quantile(0.5)).abs() < 1.0, "{tm}");
    }

    #[test]
    fn a_population_alone_reads_the_same_whatever_its_count() {
        // Windows a minute apart hold 1,481,023 or 1,481,024 backfilled invocations; what a
        // single population reports must not move in its last bits with that.
        let d = DurationDistribution::new(393.9, 0.02, 0.0, 1.0, f64::INFINITY);
        let read = |count: f64| {
            let mut m = Mixture::new();
            m.add_population(count, &d);
            (m.mean(), m.quantile(0.5), m.quantile(0.99))
        };
        let (mean, p50, p99) = read(1_481_023.0);
        assert_eq!(mean, d.mean());
        for count in [1_481_024.0, 1_481_025.0, 999_999.0, 7.0] {
            assert_eq!(read(count), (mean, p50, p99), "{count}");
        }
    }

    #[test]
    fn weighted_samples_hold_as_many_ranks_as_they_stand_for() {
        let mut m = Mixture::new();
        // 100 samples standing for 1000 invocations, plus 10 of the lab's own at 1000 ms.
        m.add_weighted_samples((1..=100).map(f64::from), 10.0);
        m.add_samples(std::iter::repeat_n(1000.0, 10));
        assert_eq!(m.count(), 1010.0);
        assert_eq!(m.quantile(0.5), 51.0);
        // The top 10 of 1010 ranks are the lab's: the p99 (rank 1000) is the last weighted one.
        assert_eq!(m.quantile(0.99), 100.0);
        assert_eq!(m.quantile(0.995), 1000.0);
        assert!((m.mean() - (50.5 * 1000.0 + 10_000.0) / 1010.0).abs() < 1e-9);
        assert_eq!((m.minimum(), m.maximum()), (1.0, 1000.0));
    }

    #[test]
    fn trimmed_mean_of_uniform_is_the_middle() {
        let u = Uniform(0.0, 100.0);
        let mut m = Mixture::new();
        m.add_population(1000.0, &u);
        let tm = m.trimmed_mean(0.1, 0.5).unwrap();
        assert!((tm - 30.0).abs() < 1e-6, "{tm}");
    }

    #[test]
    fn samples_shift_a_mixture_quantile_by_their_weight() {
        let u = Uniform(0.0, 100.0);
        let mut m = Mixture::new();
        m.add_population(90.0, &u);
        m.add_samples(std::iter::repeat_n(1000.0, 10));
        // 90% of the weight is uniform on 0..100: the 0.45 quantile is its median.
        assert!((m.quantile(0.45) - 50.0).abs() < 1e-6);
        assert_eq!(m.quantile(0.95), 1000.0);
        assert_eq!(m.maximum(), 1000.0);
    }
}
