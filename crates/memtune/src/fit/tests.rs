//! Synthetic curves with known shapes and seeded log-normal noise.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};

use super::*;

const GRID: [u32; 8] = [128, 256, 512, 1024, 1536, 2048, 3008, 4096];

/// `n` samples per size of `truth` times mean-one log-normal noise with the given sigma.
fn measure(truth: impl Fn(f64) -> f64, sizes: &[u32], n: usize, sigma: f64) -> Vec<SizeSamples> {
    measure_seeded(truth, sizes, n, sigma, 42)
}

fn measure_seeded(
    truth: impl Fn(f64) -> f64,
    sizes: &[u32],
    n: usize,
    sigma: f64,
    seed: u64,
) -> Vec<SizeSamples> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = LogNormal::new(-sigma * sigma / 2.0, sigma).unwrap();
    sizes
        .iter()
        .map(|&memory_mb| SizeSamples {
            memory_mb,
            warm_ms: (0..n)
                .map(|_| truth(f64::from(memory_mb)) * noise.sample(&mut rng))
                .collect(),
        })
        .collect()
}

fn relative_error(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

fn cost(fit: &Fit, memory_mb: u32) -> f64 {
    f64::from(memory_mb) * fit.mean_ms(memory_mb)
}

#[test]
fn single_threaded_curve_recovers_the_1769_mb_knee() {
    let truth = |m: f64| 4000.0 / vcpus(m).min(1.0);
    let fit = fit(&measure(truth, &GRID, 20, 0.04)).unwrap();
    for m in [300, 1769, 2500, 6000, 10240] {
        let predicted = fit.mean_ms(m);
        assert!(
            relative_error(predicted, truth(f64::from(m))) < 0.03,
            "{m}: {predicted}"
        );
    }
    // Cost is flat up to one vCPU and grows with memory after it.
    let below: Vec<f64> = (128..=1769).step_by(64).map(|m| cost(&fit, m)).collect();
    let (lo, hi) = below
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    assert!(hi / lo < 1.03, "cost below the knee varies {lo}..{hi}");
    assert!(cost(&fit, 2500) > 1.3 * cost(&fit, 1769));
    assert!(cost(&fit, 10240) > 5.0 * cost(&fit, 1769));
}

#[test]
fn io_bound_curve_predicts_flat() {
    let fit = fit(&measure(|_| 180.0, &GRID, 20, 0.05)).unwrap();
    for m in [128, 700, 1769, 5000, 10240] {
        assert!(
            relative_error(fit.mean_ms(m), 180.0) < 0.03,
            "{m}: {}",
            fit.mean_ms(m)
        );
    }
    assert!(cost(&fit, 10240) > 50.0 * cost(&fit, 128));
}

#[test]
fn parallel_curve_keeps_improving_past_1769() {
    let truth = |m: f64| {
        let v = vcpus(m);
        30.0 + 600.0 / v.min(1.0) + 2400.0 / v.min(4.0)
    };
    let sizes = [128, 512, 1024, 2048, 3008, 4096, 6144, 10240];
    let fit = fit(&measure(truth, &sizes, 20, 0.03)).unwrap();
    assert!(fit.mean_ms(7076) < 0.5 * fit.mean_ms(1769));
    for m in [1769, 5000, 8000] {
        let predicted = fit.mean_ms(m);
        assert!(
            relative_error(predicted, truth(f64::from(m))) < 0.05,
            "{m}: {predicted}"
        );
    }
}

#[test]
fn quantiles_follow_the_noise() {
    let sigma: f64 = 0.06;
    let truth = |m: f64| 50.0 + 2000.0 / vcpus(m).min(1.0);
    let fit = fit(&measure(truth, &GRID, 30, sigma)).unwrap();
    assert!((fit.noise_sigma() / sigma - 1.0).abs() < 0.15);
    for (p, z) in [(0.5, 0.0), (0.9, 1.2816), (0.99, 2.3263)] {
        let expected = truth(1000.0) * (z * sigma - sigma * sigma / 2.0).exp();
        let predicted = fit.quantile_ms(1000, p);
        assert!(
            relative_error(predicted, expected) < 0.03,
            "p{p}: {predicted} vs {expected}"
        );
        let (lo, hi) = fit.quantile_band(1000, p);
        assert!(lo < predicted && predicted < hi);
        // The mean's and the offset's widths add in quadrature: wider than either alone,
        // narrower than both stacked.
        let mean = fit.mean_ms(1000);
        let (_, mean_high) = fit.mean_band(1000);
        let offset = fit.noise.log_offset(p);
        let (_, offset_high) = fit.noise.log_offset_band(p, 0.95);
        let stacked = mean_high * offset_high.exp();
        let widest_alone = predicted * (mean_high / mean).max((offset_high - offset).exp());
        let slack = 1e-9 * stacked;
        assert!(
            widest_alone <= hi + slack && hi <= stacked + slack,
            "{widest_alone} {hi} {stacked}"
        );
        if offset_high > offset && mean_high > mean {
            assert!(hi < stacked - slack, "{hi} {stacked}");
        }
    }
}

#[test]
fn quantile_band_around_a_narrower_mean_band_narrows_to_the_noise_band() {
    let truth = |m: f64| 50.0 + 2000.0 / vcpus(m).min(1.0);
    let fit = fit(&measure(truth, &GRID, 5, 0.06)).unwrap();
    let (m, p) = (1000, 0.99);
    let mean = fit.mean_ms(m);
    let band = fit.mean_band(m);
    // Around the fit's own mean band it is the quantile band.
    assert_eq!(
        fit.quantile_band_around(m, p, mean, band),
        fit.quantile_band(m, p)
    );
    // A mean known more precisely (a size's own samples pooled in) narrows it...
    let half = (band.1 - mean) / 4.0;
    let (low, high) = fit.quantile_band_around(m, p, mean, (mean - half, mean + half));
    let (wide_low, wide_high) = fit.quantile_band(m, p);
    assert!(wide_low < low && high < wide_high, "{low} {high}");
    // ...down to the noise offset's band alone for an exactly known mean.
    let (_, exact_high) = fit.quantile_band_around(m, p, mean, (mean, mean));
    let offset = fit.noise.log_offset(p);
    let (_, offset_high) = fit.noise.log_offset_band(p, 0.95);
    let alone = mean * offset_high.exp();
    assert!(
        (exact_high / alone - 1.0).abs() < 1e-9,
        "{exact_high} {alone}"
    );
    assert!(exact_high < high && fit.quantile_ms(m, p) < exact_high);
    assert!((fit.quantile_ms(m, p) / (mean * offset.exp()) - 1.0).abs() < 1e-9);
}

#[test]
fn mean_band_covers_the_truth_and_widens_when_extrapolating() {
    let truth = |m: f64| 20.0 + 3000.0 * (-m / 600.0).exp();
    let sizes = [512, 640, 768, 1024, 1536, 2048];
    let (mut covered, mut total) = (0, 0);
    for seed in 0..40 {
        let fit = fit(&measure_seeded(truth, &sizes, 10, 0.05, seed)).unwrap();
        for m in [700, 1200, 1800] {
            let (lo, hi) = fit.mean_band(m);
            let t = truth(f64::from(m));
            covered += usize::from(lo <= t && t <= hi);
            total += 1;
        }
    }
    // Nominal 95%; 40 fits x 3 sizes put a binomial 2-sigma at about 4%.
    assert!(covered * 100 >= 88 * total, "covered {covered} of {total}");
    let fit = fit(&measure(truth, &sizes, 10, 0.05)).unwrap();
    let width = |m| {
        let (lo, hi) = fit.mean_band(m);
        (hi - lo) / fit.mean_ms(m)
    };
    assert!(
        width(128) > 2.0 * width(1024),
        "{} vs {}",
        width(128),
        width(1024)
    );
}

#[test]
fn two_sizes_fit_the_cpu_knee_model_exactly() {
    let samples = [
        SizeSamples {
            memory_mb: 512,
            warm_ms: vec![400.0, 410.0, 390.0],
        },
        SizeSamples {
            memory_mb: 1024,
            warm_ms: vec![210.0, 200.0, 205.0],
        },
    ];
    let fit = fit(&samples).unwrap();
    assert_eq!(fit.model(), ModelKind::CpuKnee);
    assert_eq!(fit.cv_error(), None);
    assert!(relative_error(fit.mean_ms(512), 400.0) < 1e-6);
    assert!(relative_error(fit.mean_ms(1024), 205.0) < 1e-6);
    let (lo, hi) = fit.mean_band(512);
    assert!(lo < 400.0 && 400.0 < hi);
}

#[test]
fn rejects_unusable_input() {
    let one = SizeSamples {
        memory_mb: 128,
        warm_ms: vec![1.0],
    };
    assert_eq!(
        fit(&[one.clone(), one.clone()]).unwrap_err(),
        FitError::TooFewSizes { found: 1 }
    );
    let empty = SizeSamples {
        memory_mb: 256,
        warm_ms: Vec::new(),
    };
    assert_eq!(
        fit(&[one.clone(), empty]).unwrap_err(),
        FitError::NoSamples { memory_mb: 256 }
    );
    let bad = SizeSamples {
        memory_mb: 256,
        warm_ms: vec![f64::NAN],
    };
    assert!(matches!(
        fit(&[one, bad]),
        Err(FitError::InvalidDuration { memory_mb: 256, .. })
    ));
}

#[test]
fn fits_are_deterministic_and_expose_every_score() {
    let truth = |m: f64| 15.0 + 900.0 / vcpus(m).min(1.0);
    let samples = measure(truth, &GRID, 15, 0.05);
    let a = fit(&samples).unwrap();
    assert_eq!(a, fit(&samples).unwrap());
    assert_eq!(a.scores().len(), ModelKind::ALL.len());
    assert!(a.cv_error().unwrap() < 0.03);
    let points = a.curve(128..=10240);
    assert_eq!(points.len(), 10113);
    assert!(points
        .iter()
        .all(|p| p.mean_low_ms <= p.mean_ms && p.mean_ms <= p.mean_high_ms && p.p50_ms < p.p99_ms));
}

#[test]
fn anticipating_more_samples_narrows_the_p99_band_but_not_its_estimate() {
    let truth = |m: f64| 4000.0 / vcpus(m).min(1.0);
    let fit = fit(&measure(truth, &[256, 512, 1024], 4, 0.1)).unwrap();
    let (point, band) = (fit.quantile_ms(768, 0.99), fit.quantile_band(768, 0.99));
    let ahead = fit.anticipating(24);
    assert_eq!(ahead.quantile_ms(768, 0.99), point);
    let narrower = ahead.quantile_band(768, 0.99);
    assert!(
        narrower.1 < band.1 && narrower.0 > band.0,
        "{band:?} {narrower:?}"
    );
    assert!(narrower.1 > point);
}

#[test]
fn a_production_tail_keeps_a_seen_slow_invocation_from_dragging_the_curve() {
    // 11 samples per size of a CPU-bound curve (sigma 0.1); at 1024 MB one of them is 8x
    // slower, as a slow class of 3% would make it. Truth: mean = median x 1.3 with the class.
    let truth = |m: f64| 100.0 * 1769.0 / m.min(1769.0);
    let mut samples = measure(truth, &[256, 512, 1024, 1769], 11, 0.1);
    samples[2].warm_ms[0] *= 8.0;
    let tail = ProductionTail::new(130.0, 100.0, Some(115.0), 800.0, 1e6).unwrap();
    let plain = fit(&samples).unwrap();
    let robust = fit_with(&samples, Some(tail)).unwrap();
    // The robust fit puts every size at its median times production's mean over median.
    for m in [256, 512, 1024, 1769] {
        let want = 1.3 * truth(f64::from(m));
        assert!(
            relative_error(robust.mean_ms(m), want) < 0.08,
            "{m}: {}",
            robust.mean_ms(m)
        );
    }
    // The plain fit sees the class only at 1024 MB: at 512 MB it sits near the body's mean,
    // some 23% under the mean with the class.
    assert!(relative_error(plain.mean_ms(512), 1.3 * truth(512.0)) > 0.15);
    // p99 at production's ratio to the mean.
    let ratio = robust.quantile_ms(1024, 0.99) / robust.mean_ms(1024);
    assert!((ratio - 800.0 / 130.0).abs() < 1e-9, "{ratio}");
    assert_eq!(robust.production_tail(), Some(tail));
    assert_eq!(plain.production_tail(), None);
}

#[test]
fn a_quantiles_upper_bound_widens_with_its_level() {
    let truth = |m: f64| 50.0 + 2000.0 / vcpus(m).min(1.0);
    let fit = fit(&measure(truth, &GRID, 5, 0.06)).unwrap();
    let (m, p) = (1000, 0.99);
    let (mean, band) = (fit.mean_ms(m), fit.mean_band(m));
    let (_, top) = fit.quantile_band_around(m, p, mean, band);
    // At 97.5% one-sided it is the 95% band's top.
    let at_975 = fit.quantile_upper(m, p, mean, band, 0.975);
    assert!((at_975 / top - 1.0).abs() < 1e-6, "{at_975} {top}");
    // At 99.5% the mean's part widens by 2.576 / 1.96 and the offset's by its own 99% band.
    let quantile = mean * fit.noise.log_offset(p).exp();
    let wide = fit.quantile_upper(m, p, mean, band, 0.995);
    let mean_up = (band.1 / mean).ln() * 2.5758 / 1.96;
    let offset_up = fit.noise.log_offset_band(p, 0.99).1 - fit.noise.log_offset(p);
    let expected = quantile * mean_up.hypot(offset_up).exp();
    assert!(
        top < wide && (wide / expected - 1.0).abs() < 1e-4,
        "{wide} {expected}"
    );
}

#[test]
fn sizes_proven_noisier_than_productions_tail_get_their_own_p99() {
    // An I/O-bound function as cebert measured it: p99/mean ~3.5 at 256-512 MB, ~1.7 from
    // 1024 MB, where production runs and its tail was measured.
    let truth = |m: f64| 10.0 + 3000.0 / m;
    let mut samples = measure_seeded(truth, &[256, 512], 8, 0.6, 5);
    samples.extend(measure_seeded(truth, &[1024, 2048, 4096], 8, 0.22, 6));
    let (median, mean) = (truth(1024.0), truth(1024.0) * 1.025);
    let tail = ProductionTail::new(mean, median, Some(median * 1.3), median * 1.67, 1e6).unwrap();
    let fit = fit_with(&samples, Some(tail)).unwrap();
    let p99_over_mean = |m| fit.quantile_ms(m, 0.99) / fit.mean_ms(m);
    let production = tail.p99_ms / tail.mean_ms;
    assert!((p99_over_mean(2048) / production - 1.0).abs() < 1e-9);
    assert!(
        p99_over_mean(512) > 1.5 * production,
        "{}",
        p99_over_mean(512)
    );
    // Its bound is wider still, and a fit of the quiet sizes alone does not widen at all.
    let band = fit.mean_band(512);
    let upper = fit.quantile_upper(512, 0.99, fit.mean_ms(512), band, 0.995);
    assert!(upper > fit.quantile_ms(512, 0.99));
    // With the mean known exactly, the bound is the spread's chi-square upper bound at the
    // matching level, and at 97.5% it is the 95% band's top.
    let wide = fit.spreads.wider_than_model(512).expect("512 MB is wider");
    let mean = fit.mean_ms(512);
    let exact = fit.quantile_upper(512, 0.99, mean, (mean, mean), 0.995);
    let z = Normal::standard().inverse_cdf(0.99);
    let expected = mean * (fit.noise.log_offset(0.5) + z * wide.sigma_upper(0.995)).exp();
    assert!(relative_error(exact, expected) < 1e-9, "{exact} {expected}");
    let (a, b) = (
        fit.quantile_upper(512, 0.99, mean, band, 0.975),
        fit.quantile_band_around(512, 0.99, mean, band).1,
    );
    // (1.96 against the exact 1.959964 for the mean band: a few ppm.)
    assert!(relative_error(a, b) < 1e-4, "{a} {b}");
    let quiet = fit_with(&samples[2..], Some(tail)).unwrap();
    assert!((quiet.quantile_ms(1024, 0.99) / quiet.mean_ms(1024) / production - 1.0).abs() < 1e-9);
}
