//! Per-size statistics of a sweep: counts, warm-duration summaries with confidence bounds,
//! cost per invocation with a bootstrap interval, and whether the size is feasible at all.
//!
//! Warm statistics use warm, successful invocations with a REPORT: cold starts add INIT and
//! failures end early or late, so either would distort the steady-state picture. Quantiles
//! use linear interpolation between order statistics (Hyndman-Fan type 7, the default of R
//! and NumPy); their upper confidence bounds are distribution-free order statistics.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

use super::failure::{classify, Failure, Outcome};
use memtune_facts::report_line::{parse_report, Report};

/// One invocation at one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub memory_mb: u32,
    /// Whether this invocation started a new execution environment.
    pub cold: bool,
    pub outcome: Outcome,
    pub report: Option<Report>,
}

impl Sample {
    /// One invocation as the invoke API returned it: the `X-Amz-Function-Error` header, the
    /// response payload and the decoded log tail. It counts as cold when its REPORT has an
    /// INIT or restore duration; without a REPORT the caller may know better.
    pub fn observe(
        memory_mb: u32,
        function_error: Option<&str>,
        payload: &[u8],
        log: &str,
    ) -> Sample {
        let report = parse_report(log);
        let outcome = classify(function_error, payload, report.as_ref(), log);
        let cold = report
            .as_ref()
            .is_some_and(|r| r.init_ms.is_some() || r.restore_ms.is_some());
        Sample {
            memory_mb,
            cold,
            outcome,
            report,
        }
    }
}

/// A latency percentile a strategy can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    P50,
    P90,
    P99,
}

impl Percentile {
    pub fn fraction(self) -> f64 {
        match self {
            Percentile::P50 => 0.50,
            Percentile::P90 => 0.90,
            Percentile::P99 => 0.99,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
        }
    }
}

/// How statistics are computed; a strategy supplies most of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsOptions {
    /// Fraction dropped from each end for the trimmed mean (0.2 = Power Tuning).
    pub trim_fraction: f64,
    /// The function's timeout, in ms.
    pub timeout_ms: f64,
    /// A size whose warm p99 exceeds this fraction of the timeout is infeasible.
    pub timeout_fraction: f64,
    /// Level of the cost interval and of the percentile upper bounds (e.g. 0.95).
    pub confidence: f64,
    /// Share of production invocations that are cold; weights the INIT cost. Zero when INIT
    /// is not billed or the share is unknown.
    pub cold_start_ratio: f64,
    /// Bootstrap resamples for the cost interval.
    pub resamples: usize,
    /// Seed of the bootstrap; the memory size is mixed in so sizes resample independently.
    pub seed: u64,
}

impl StatsOptions {
    /// Power Tuning's trimming, a 2/3 timeout margin, 95% confidence, 1000 resamples.
    pub fn new(timeout_ms: f64) -> Self {
        StatsOptions {
            trim_fraction: 0.2,
            timeout_ms,
            timeout_fraction: 2.0 / 3.0,
            confidence: 0.95,
            cold_start_ratio: 0.0,
            resamples: 1000,
            seed: 0x006d_656d_7475_6e65,
        }
    }
}

/// What a sweep learned about one memory size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeStats {
    pub memory_mb: u32,
    pub invocations: usize,
    pub successes: usize,
    pub failures: FailureCounts,
    pub cold_starts: usize,
    /// Invocations whose log tail held no readable REPORT.
    pub missing_reports: usize,
    /// Summary of warm successful durations; `None` without any.
    pub warm: Option<WarmStats>,
    /// Mean INIT duration of the cold samples.
    pub mean_init_ms: Option<f64>,
    /// SnapStart: mean Restore Duration of the cold samples (restored from a snapshot
    /// instead of running INIT).
    pub mean_restore_ms: Option<f64>,
    /// Largest `Max Memory Used` of any sample.
    pub max_memory_used_mb: Option<u32>,
    pub cost: Option<CostStats>,
    /// Why the size cannot be recommended; empty when it can.
    pub infeasible: Vec<Infeasibility>,
}

impl SizeStats {
    pub fn is_feasible(&self) -> bool {
        self.infeasible.is_empty()
    }

    /// Whether the size is infeasible only because its few samples cannot bound its p99 below
    /// the timeout margin (its estimate lies below it): more samples may admit it.
    pub fn held_out_by_its_bound(&self) -> bool {
        !self.infeasible.is_empty()
            && self
                .infeasible
                .iter()
                .all(|i| matches!(i, Infeasibility::UnboundedTail { .. }))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailureCounts {
    pub out_of_memory: usize,
    pub timeout: usize,
    /// Other errors by `errorType`.
    pub function_errors: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarmStats {
    pub samples: usize,
    pub mean_ms: f64,
    pub trimmed_mean_ms: f64,
    pub p50: QuantileEstimate,
    pub p90: QuantileEstimate,
    pub p99: QuantileEstimate,
    /// Coefficient of variation (sample standard deviation / mean).
    pub cv: f64,
    pub mean_billed_ms: f64,
}

impl WarmStats {
    pub fn quantile(&self, p: Percentile) -> &QuantileEstimate {
        match p {
            Percentile::P50 => &self.p50,
            Percentile::P90 => &self.p90,
            Percentile::P99 => &self.p99,
        }
    }
}

/// A sample quantile and a one-sided upper confidence bound on the true quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuantileEstimate {
    pub ms: f64,
    /// `None` when there are too few samples to bound it (p99 at 95% needs 299).
    pub upper_ms: Option<f64>,
    /// Confidence level of `upper_ms`: the sweep's for sample order statistics, higher for the
    /// adaptive search's fitted bounds.
    pub confidence: f64,
    /// The adaptive search took this percentile from the spread of the samples at and near
    /// the size, which proved wider than the function's tail elsewhere.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub own_spread: bool,
}

/// Cost per invocation in USD: the warm mean plus the cold-start-weighted INIT cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostStats {
    pub mean_usd: f64,
    /// Bootstrap percentile interval of `mean_usd` at the configured confidence.
    pub ci_low_usd: f64,
    pub ci_high_usd: f64,
    /// The INIT share of `mean_usd`.
    pub init_usd: f64,
}

/// Why a size cannot be recommended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Infeasibility {
    OutOfMemory {
        count: usize,
    },
    Timeout {
        count: usize,
    },
    AllFailed,
    /// Successes, but none warm with a REPORT: nothing to judge the latency by.
    NoWarmMeasurement,
    /// The warm p99 is too close to the timeout.
    SlowTail {
        p99_ms: f64,
        limit_ms: f64,
    },
    /// The warm p99 estimate is within the timeout margin, but its upper confidence bound is
    /// not: too few samples to rule out a tail that reaches past it.
    UnboundedTail {
        p99_ms: f64,
        upper_ms: f64,
        /// Confidence level of `upper_ms`.
        confidence: f64,
        limit_ms: f64,
    },
    /// A canary at this size served production worse than the alias's main version and was
    /// taken out (why).
    BackedOff {
        reason: String,
    },
}

/// Statistics per memory size, ascending. `cost_of(memory_mb, billed_ms)` is the USD cost of
/// one invocation (request price included) and must be affine in `billed_ms`.
pub fn size_stats(
    samples: &[Sample],
    options: &StatsOptions,
    cost_of: &dyn Fn(u32, f64) -> f64,
) -> Vec<SizeStats> {
    let mut by_size: BTreeMap<u32, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_size.entry(s.memory_mb).or_default().push(s);
    }
    by_size
        .into_iter()
        .map(|(memory_mb, group)| one_size(memory_mb, &group, options, cost_of))
        .collect()
}

fn one_size(
    memory_mb: u32,
    samples: &[&Sample],
    options: &StatsOptions,
    cost_of: &dyn Fn(u32, f64) -> f64,
) -> SizeStats {
    let failures = count_failures(samples);
    let warm_reports: Vec<&Report> = samples
        .iter()
        .filter(|s| !s.cold && s.outcome == Outcome::Success)
        .filter_map(|s| s.report.as_ref())
        .collect();
    let init: Vec<f64> = samples
        .iter()
        .filter(|s| s.cold)
        .filter_map(|s| s.report.as_ref()?.init_ms)
        .collect();
    let mean_init_ms = (!init.is_empty()).then(|| mean(&init));
    let restored: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.cold)
        .filter_map(|s| {
            let r = s.report.as_ref()?;
            Some((r.restore_ms?, r.billed_restore_ms.unwrap_or(0) as f64))
        })
        .collect();
    let mean_restore_ms = (!restored.is_empty())
        .then(|| mean(&restored.iter().map(|(ms, _)| *ms).collect::<Vec<_>>()));
    // What a cold start adds to the bill: INIT, or the billed part of a restore.
    let cold_billed_ms = mean_init_ms.map(f64::ceil).or_else(|| {
        (!restored.is_empty()).then(|| mean(&restored.iter().map(|(_, b)| *b).collect::<Vec<_>>()))
    });
    let warm = warm_stats(&warm_reports, options);
    let cost = (!warm_reports.is_empty()).then(|| {
        let costs: Vec<f64> = warm_reports
            .iter()
            .map(|r| cost_of(memory_mb, r.billed_ms as f64))
            .collect();
        let init_usd = cold_billed_ms.map_or(0.0, |cold_ms| {
            // Affine cost: the difference is INIT's duration cost without the request price.
            options.cold_start_ratio * (cost_of(memory_mb, cold_ms) - cost_of(memory_mb, 0.0))
        });
        cost_stats(&costs, init_usd, memory_mb, options)
    });
    let mut stats = SizeStats {
        memory_mb,
        invocations: samples.len(),
        successes: samples
            .iter()
            .filter(|s| s.outcome == Outcome::Success)
            .count(),
        failures,
        cold_starts: samples.iter().filter(|s| s.cold).count(),
        missing_reports: samples.iter().filter(|s| s.report.is_none()).count(),
        warm,
        mean_init_ms,
        mean_restore_ms,
        max_memory_used_mb: samples
            .iter()
            .filter_map(|s| Some(s.report.as_ref()?.max_memory_used_mb))
            .max(),
        cost,
        infeasible: Vec::new(),
    };
    stats.infeasible = infeasibility(&stats, options);
    stats
}

fn count_failures(samples: &[&Sample]) -> FailureCounts {
    let mut counts = FailureCounts::default();
    for s in samples {
        match &s.outcome {
            Outcome::Success => {}
            Outcome::Failure(Failure::OutOfMemory) => counts.out_of_memory += 1,
            Outcome::Failure(Failure::Timeout) => counts.timeout += 1,
            Outcome::Failure(Failure::FunctionError(kind)) => {
                *counts.function_errors.entry(kind.clone()).or_default() += 1;
            }
        }
    }
    counts
}

fn warm_stats(reports: &[&Report], options: &StatsOptions) -> Option<WarmStats> {
    if reports.is_empty() {
        return None;
    }
    let mut durations: Vec<f64> = reports.iter().map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let billed: Vec<f64> = reports.iter().map(|r| r.billed_ms as f64).collect();
    let estimate = |p: Percentile| QuantileEstimate {
        ms: quantile(&durations, p.fraction()),
        upper_ms: quantile_upper_bound(&durations, p.fraction(), options.confidence),
        confidence: options.confidence,
        own_spread: false,
    };
    let mean_ms = mean(&durations);
    Some(WarmStats {
        samples: durations.len(),
        mean_ms,
        trimmed_mean_ms: trimmed_mean(&durations, options.trim_fraction),
        p50: estimate(Percentile::P50),
        p90: estimate(Percentile::P90),
        p99: estimate(Percentile::P99),
        cv: if mean_ms > 0.0 {
            std_dev(&durations) / mean_ms
        } else {
            0.0
        },
        mean_billed_ms: mean(&billed),
    })
}

fn cost_stats(costs: &[f64], init_usd: f64, memory_mb: u32, options: &StatsOptions) -> CostStats {
    let seed = options.seed ^ u64::from(memory_mb).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (low, high) = bootstrap_mean_interval(costs, options.resamples, options.confidence, seed);
    CostStats {
        mean_usd: mean(costs) + init_usd,
        ci_low_usd: low + init_usd,
        ci_high_usd: high + init_usd,
        init_usd,
    }
}

fn infeasibility(stats: &SizeStats, options: &StatsOptions) -> Vec<Infeasibility> {
    let mut reasons = Vec::new();
    if stats.failures.out_of_memory > 0 {
        reasons.push(Infeasibility::OutOfMemory {
            count: stats.failures.out_of_memory,
        });
    }
    if stats.failures.timeout > 0 {
        reasons.push(Infeasibility::Timeout {
            count: stats.failures.timeout,
        });
    }
    match &stats.warm {
        _ if stats.successes == 0 => reasons.push(Infeasibility::AllFailed),
        None => reasons.push(Infeasibility::NoWarmMeasurement),
        Some(warm) => {
            let limit_ms = options.timeout_fraction * options.timeout_ms;
            if warm.p99.ms > limit_ms {
                reasons.push(Infeasibility::SlowTail {
                    p99_ms: warm.p99.ms,
                    limit_ms,
                });
            }
        }
    }
    reasons
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n - 1); zero for a single value.
fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m).powi(2)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

/// Mean after dropping `floor(n x fraction)` values from each end of sorted `xs`, keeping
/// at least one (Power Tuning's rule).
fn trimmed_mean(sorted: &[f64], fraction: f64) -> f64 {
    let n = sorted.len();
    let k = ((n as f64 * fraction.clamp(0.0, 0.5)).floor() as usize).min((n - 1) / 2);
    mean(&sorted[k..n - k])
}

/// Linear interpolation between order statistics at h = (n - 1) p (Hyndman-Fan type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A distribution-free one-sided upper bound on the p-quantile: the k-th order statistic for
/// the smallest k with P(Binomial(n, p) <= k - 1) >= confidence, i.e. the chance that fewer
/// than k samples fall below the true quantile. `None` when even the maximum is not enough.
fn quantile_upper_bound(sorted: &[f64], p: f64, confidence: f64) -> Option<f64> {
    let n = sorted.len() as u64;
    let binomial = Binomial::new(p, n).ok()?;
    (1..=n)
        .find(|&k| binomial.cdf(k - 1) >= confidence)
        .map(|k| sorted[(k - 1) as usize])
}

/// Percentile bootstrap interval of the mean, deterministic for a seed.
fn bootstrap_mean_interval(xs: &[f64], resamples: usize, confidence: f64, seed: u64) -> (f64, f64) {
    if xs.len() < 2 || resamples == 0 {
        let m = mean(xs);
        return (m, m);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let total: f64 = (0..xs.len())
                .map(|_| xs[rng.random_range(0..xs.len())])
                .sum();
            total / xs.len() as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    (quantile(&means, alpha), quantile(&means, 1.0 - alpha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use memtune_facts::report_line::ReportStatus;

    fn report(memory_mb: u32, duration_ms: f64, init_ms: Option<f64>) -> Report {
        Report {
            request_id: "r".into(),
            duration_ms,
            billed_ms: duration_ms.ceil() as u64,
            memory_mb,
            max_memory_used_mb: 70,
            init_ms,
            restore_ms: None,
            billed_restore_ms: None,
            status: ReportStatus::Success,
        }
    }

    fn warm(memory_mb: u32, duration_ms: f64) -> Sample {
        Sample {
            memory_mb,
            cold: false,
            outcome: Outcome::Success,
            report: Some(report(memory_mb, duration_ms, None)),
        }
    }

    fn failed(memory_mb: u32, failure: Failure) -> Sample {
        Sample {
            memory_mb,
            cold: false,
            outcome: Outcome::Failure(failure),
            report: None,
        }
    }

    fn per_ms(memory_mb: u32, billed_ms: f64) -> f64 {
        1e-7 + 1e-9 * f64::from(memory_mb) * billed_ms
    }

    #[test]
    fn observe_parses_classifies_and_spots_cold_starts() {
        let cold = "START RequestId: a Version: 2\nEND RequestId: a\n\
            REPORT RequestId: a\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB\tMax Memory Used: 70 MB\tInit Duration: 150.00 ms\t\n";
        let s = Sample::observe(256, None, br#"{"statusCode":200}"#, cold);
        assert!(s.cold);
        assert_eq!(s.outcome, Outcome::Success);
        assert_eq!(s.report.unwrap().billed_ms, 12);
        let oom = br#"{"errorMessage":"signal: killed","errorType":"Runtime.OutOfMemory"}"#;
        let s = Sample::observe(128, Some("Unhandled"), oom, "");
        assert!(!s.cold && s.report.is_none());
        assert_eq!(s.outcome, Outcome::Failure(Failure::OutOfMemory));
    }

    #[test]
    fn quantile_interpolates_linearly() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile(&xs, 0.5), 5.5);
        assert!((quantile(&xs, 0.9) - 9.1).abs() < 1e-12);
        assert!((quantile(&xs, 0.99) - 9.91).abs() < 1e-12);
        assert_eq!(quantile(&xs, 0.0), 1.0);
        assert_eq!(quantile(&xs, 1.0), 10.0);
        assert_eq!(quantile(&[4.0], 0.99), 4.0);
    }

    #[test]
    fn trimmed_mean_drops_a_fifth_from_each_end() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 1000.0];
        assert_eq!(trimmed_mean(&xs, 0.2), 5.5);
        assert_eq!(trimmed_mean(&[3.0, 100.0], 0.5), 51.5);
        assert_eq!(trimmed_mean(&[1.0, 2.0, 30.0], 0.5), 2.0);
    }

    #[test]
    fn quantile_upper_bound_uses_binomial_order_statistics() {
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        // P(Bin(10, .5) <= 7) = 0.945 < 0.95 <= P(.. <= 8) = 0.989: the 9th value.
        assert_eq!(quantile_upper_bound(&xs, 0.5, 0.95), Some(9.0));
        // 1 - 0.99^10 < 0.95: ten samples cannot bound a p99.
        assert_eq!(quantile_upper_bound(&xs, 0.99, 0.95), None);
        let many: Vec<f64> = (1..=299).map(f64::from).collect();
        assert_eq!(quantile_upper_bound(&many, 0.99, 0.95), Some(299.0));
    }

    #[test]
    fn cold_starts_are_counted_but_kept_out_of_warm_statistics() {
        let mut samples: Vec<Sample> = (0..10).map(|i| warm(512, 100.0 + f64::from(i))).collect();
        samples.push(Sample {
            memory_mb: 512,
            cold: true,
            outcome: Outcome::Success,
            report: Some(report(512, 900.0, Some(300.0))),
        });
        let stats = &size_stats(&samples, &StatsOptions::new(3000.0), &per_ms)[0];
        assert_eq!(stats.invocations, 11);
        assert_eq!(stats.successes, 11);
        assert_eq!(stats.cold_starts, 1);
        let w = stats.warm.as_ref().unwrap();
        assert_eq!(w.samples, 10);
        assert_eq!(w.mean_ms, 104.5);
        assert_eq!(w.trimmed_mean_ms, 104.5);
        assert_eq!(stats.mean_init_ms, Some(300.0));
        assert!(stats.is_feasible(), "{:?}", stats.infeasible);
    }

    #[test]
    fn cost_has_a_deterministic_bootstrap_interval_around_the_mean() {
        let samples: Vec<Sample> = (0..20)
            .map(|i| warm(1024, 100.0 + f64::from(i % 5) * 10.0))
            .collect();
        let options = StatsOptions::new(3000.0);
        let a = size_stats(&samples, &options, &per_ms)[0].cost.unwrap();
        let b = size_stats(&samples, &options, &per_ms)[0].cost.unwrap();
        assert_eq!(a, b);
        assert!(
            a.ci_low_usd < a.mean_usd && a.mean_usd < a.ci_high_usd,
            "{a:?}"
        );
        let expected = 1e-7 + 1e-9 * 1024.0 * 120.0;
        assert!((a.mean_usd - expected).abs() < 1e-15);
        assert_eq!(a.init_usd, 0.0);
    }

    #[test]
    fn init_cost_is_weighted_by_the_cold_start_ratio() {
        let mut samples = vec![warm(1024, 100.0), warm(1024, 100.0)];
        samples.push(Sample {
            memory_mb: 1024,
            cold: true,
            outcome: Outcome::Success,
            report: Some(report(1024, 100.0, Some(499.5))),
        });
        let options = StatsOptions {
            cold_start_ratio: 0.1,
            ..StatsOptions::new(3000.0)
        };
        let cost = size_stats(&samples, &options, &per_ms)[0].cost.unwrap();
        let init = 0.1 * 1e-9 * 1024.0 * 500.0;
        assert!((cost.init_usd - init).abs() < 1e-18);
        assert!((cost.mean_usd - (per_ms(1024, 100.0) + init)).abs() < 1e-15);
    }

    #[test]
    fn failures_make_a_size_infeasible_with_reasons() {
        let mut samples: Vec<Sample> = (0..8).map(|_| warm(128, 50.0)).collect();
        samples.push(failed(128, Failure::OutOfMemory));
        samples.push(failed(128, Failure::FunctionError("ValueError".into())));
        samples.extend((0..3).map(|_| failed(256, Failure::Timeout)));
        samples.extend((0..3).map(|_| failed(512, Failure::FunctionError("E".into()))));
        samples.extend((0..5).map(|_| warm(1024, 2500.0)));
        let stats = size_stats(&samples, &StatsOptions::new(3000.0), &per_ms);
        assert_eq!(stats.len(), 4);
        assert_eq!(
            stats[0].infeasible,
            vec![Infeasibility::OutOfMemory { count: 1 }]
        );
        assert_eq!(stats[0].failures.function_errors["ValueError"], 1);
        assert_eq!(
            stats[1].infeasible,
            vec![
                Infeasibility::Timeout { count: 3 },
                Infeasibility::AllFailed
            ]
        );
        assert_eq!(stats[2].infeasible, vec![Infeasibility::AllFailed]);
        assert_eq!(stats[2].missing_reports, 3);
        assert!(matches!(
            stats[3].infeasible[..],
            [Infeasibility::SlowTail { p99_ms, limit_ms }] if p99_ms == 2500.0 && limit_ms == 2000.0
        ));
    }

    #[test]
    fn handled_errors_alone_keep_a_size_feasible() {
        let mut samples: Vec<Sample> = (0..9).map(|_| warm(256, 80.0)).collect();
        samples.push(failed(256, Failure::FunctionError("Error".into())));
        let stats = &size_stats(&samples, &StatsOptions::new(3000.0), &per_ms)[0];
        assert!(stats.is_feasible());
        assert_eq!(stats.successes, 9);
    }

    #[test]
    fn successes_without_warm_reports_cannot_be_judged() {
        let samples = vec![Sample {
            memory_mb: 256,
            cold: false,
            outcome: Outcome::Success,
            report: None,
        }];
        let stats = &size_stats(&samples, &StatsOptions::new(3000.0), &per_ms)[0];
        assert_eq!(stats.infeasible, vec![Infeasibility::NoWarmMeasurement]);
        assert!(stats.cost.is_none());
    }
}
