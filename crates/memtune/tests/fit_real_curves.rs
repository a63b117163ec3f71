//! The curve fitter against real AWS Lambda measurements in `data/measurements` (see its
//! README for sources and licences): predict each measured size from the others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use memtune::fit::{fit, Fit, SizeSamples};

/// Per series (name), per memory size, the durations.
type Series = BTreeMap<String, BTreeMap<u32, Vec<f64>>>;

fn read_csv(file: &str) -> Vec<BTreeMap<String, String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/measurements")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let fields = l.split(',').map(str::to_owned);
            header.iter().map(|h| h.to_string()).zip(fields).collect()
        })
        .collect()
}

/// cebert 2025, November run, warm rows: one mean per (workload, runtime, arch, size).
fn cebert_warm_means() -> Series {
    let mut series = Series::new();
    for row in read_csv("cebert_2025_aggregates.csv") {
        if row["run"] != "november-2025" || row["start"] != "warm" {
            continue;
        }
        let name = format!("{}/{}/{}", row["workload"], row["runtime"], row["arch"]);
        let mean: f64 = row["mean_duration_ms"].parse().unwrap();
        series
            .entry(name)
            .or_default()
            .insert(row["memory_mb"].parse().unwrap(), vec![mean]);
    }
    series
}

/// mbwilding 2023: per-invocation durations of cold invocations (nearly all of them; the
/// few warm ones are a different population).
fn mbwilding_cold_samples() -> Series {
    let mut series = Series::new();
    for row in read_csv("mbwilding_lambda_benchmark_raw.csv") {
        if row["init_duration_ms"].is_empty() {
            continue;
        }
        let name = format!(
            "{}/{}/{}",
            row["snapshot_commit"], row["runtime"], row["arch"]
        );
        series
            .entry(name)
            .or_default()
            .entry(row["memory_mb"].parse().unwrap())
            .or_default()
            .push(row["duration_ms"].parse().unwrap());
    }
    series
}

fn samples_without(sizes: &BTreeMap<u32, Vec<f64>>, left_out: Option<u32>) -> Vec<SizeSamples> {
    sizes
        .iter()
        .filter(|(&m, _)| Some(m) != left_out)
        .map(|(&memory_mb, xs)| SizeSamples {
            memory_mb,
            warm_ms: xs.clone(),
        })
        .collect()
}

fn fit_without(sizes: &BTreeMap<u32, Vec<f64>>, left_out: u32) -> Fit {
    fit(&samples_without(sizes, Some(left_out))).expect("three or more sizes remain")
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn median(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    0.5 * (sorted[(n - 1) / 2] + sorted[n / 2])
}

/// Held-out absolute percentage errors of one series, interior and end sizes apart.
struct HeldOut {
    interior: Vec<f64>,
    ends: Vec<f64>,
}

fn held_out_errors(sizes: &BTreeMap<u32, Vec<f64>>) -> HeldOut {
    let first = *sizes.keys().next().unwrap();
    let last = *sizes.keys().next_back().unwrap();
    let mut errors = HeldOut {
        interior: Vec::new(),
        ends: Vec::new(),
    };
    for (&m, xs) in sizes {
        let error = 100.0 * (fit_without(sizes, m).mean_ms(m) / mean(xs) - 1.0).abs();
        if m == first || m == last {
            errors.ends.push(error);
        } else {
            errors.interior.push(error);
        }
    }
    errors
}

/// The per-size means are fitted directly, one pseudo-sample per size: the table has no
/// per-invocation data, and spreading a mean into pseudo-samples would only invent a standard
/// error. Every size then weighs by the fitter's 2% relative floor alone.
///
/// Series need four sizes so that every training set keeps three. Interior sizes are
/// interpolation; left-out end sizes are extrapolation (e.g. 128 MB from 256..2048 MB, where
/// GC and runtime overheads kick in). This fitter reaches medians of about 2.3% (interior),
/// 6.7% (ends) and 3.4% (all); the bounds are about twice that, to catch regressions, and far
/// below reading the nearest grid point as AWS Lambda Power Tuning does (neighbouring sizes
/// differ 1.16..2x, so on a 1/m curve that is off by 8..50%).
#[test]
fn predicts_left_out_sizes_of_real_curves() {
    let series = cebert_warm_means();
    let mut interior = Vec::new();
    let mut ends = Vec::new();
    println!(
        "{:<36} {:>5} {:<11} {:>6}  held-out errors, % (ends in brackets)",
        "series", "sizes", "model", "cv %"
    );
    for (name, sizes) in series.iter().filter(|(_, s)| s.len() >= 4) {
        let full = fit(&samples_without(sizes, None)).unwrap();
        let errors = held_out_errors(sizes);
        let shown: Vec<String> = sizes
            .keys()
            .zip(errors_in_size_order(&errors))
            .map(|(m, (e, end))| {
                if end {
                    format!("{m}:[{e:.1}]")
                } else {
                    format!("{m}:{e:.1}")
                }
            })
            .collect();
        println!(
            "{name:<36} {:>5} {:<11} {:>6.1}  {}",
            sizes.len(),
            full.model().as_str(),
            100.0 * full.cv_error().unwrap_or(f64::NAN),
            shown.join(" ")
        );
        interior.extend(errors.interior);
        ends.extend(errors.ends);
    }
    let all: Vec<f64> = interior.iter().chain(&ends).copied().collect();
    println!(
        "median APE: interior {:.2}% (n={}), ends {:.2}% (n={}), all {:.2}% (n={})",
        median(&interior),
        interior.len(),
        median(&ends),
        ends.len(),
        median(&all),
        all.len()
    );
    assert!(interior.len() >= 100 && ends.len() >= 50);
    assert!(
        median(&interior) < 5.0,
        "interior {:.2}%",
        median(&interior)
    );
    assert!(median(&ends) < 12.0, "ends {:.2}%", median(&ends));
    assert!(median(&all) < 7.0, "all {:.2}%", median(&all));
}

/// Errors in size order, each flagged whether it was an end size.
fn errors_in_size_order(errors: &HeldOut) -> Vec<(f64, bool)> {
    let mut out = vec![(errors.ends[0], true)];
    out.extend(errors.interior.iter().map(|&e| (e, false)));
    out.extend(errors.ends.get(1).map(|&e| (e, true)));
    out
}

/// Quantiles predicted at a left-out size from the other sizes' samples: the share of the
/// left-out invocations at or below the predicted p50 and p90. Two predictions are checked:
/// the full one (fitted mean x noise offset) and the noise model alone (the left-out size's
/// own sample mean x the offset), which isolates the pooled spread and tail.
#[test]
fn quantile_predictions_are_calibrated_on_raw_invocations() {
    let series = mbwilding_cold_samples();
    let mut full = [0usize; 2];
    let mut noise_only = [0usize; 2];
    let mut errors = Vec::new();
    let mut total = 0;
    for sizes in series.values().filter(|s| s.len() >= 4) {
        for (&m, xs) in sizes {
            let fit = fit_without(sizes, m);
            let observed = mean(xs);
            errors.push(100.0 * (fit.mean_ms(m) / observed - 1.0).abs());
            for (i, p) in [0.5, 0.9].into_iter().enumerate() {
                let q = fit.quantile_ms(m, p);
                let q_noise = observed * q / fit.mean_ms(m);
                full[i] += xs.iter().filter(|&&x| x <= q).count();
                noise_only[i] += xs.iter().filter(|&&x| x <= q_noise).count();
            }
            total += xs.len();
        }
    }
    let share = |count: usize| count as f64 / total as f64;
    println!(
        "{total} left-out invocations: p50 coverage {:.3} (noise only {:.3}), p90 coverage \
         {:.3} (noise only {:.3}); median APE of the mean {:.2}%",
        share(full[0]),
        share(noise_only[0]),
        share(full[1]),
        share(noise_only[1]),
        median(&errors)
    );
    // With ~2,000 invocations the binomial standard error is ~1%; the bounds allow for the
    // between-size differences in spread that pooling ignores (CV 1.5..9% here).
    assert!(total > 1500);
    assert!((share(noise_only[0]) - 0.5).abs() < 0.06);
    assert!((share(noise_only[1]) - 0.9).abs() < 0.04);
    assert!((share(full[0]) - 0.5).abs() < 0.12);
    assert!((share(full[1]) - 0.9).abs() < 0.08);
    assert!(median(&errors) < 5.0, "{:.2}%", median(&errors));
}

/// The adaptive search refits after every batch: one fit must stay cheap even in a debug
/// build. The bounds are ~10x the targets (50 ms per fit, a few ms to predict every size) so
/// that a loaded machine does not fail the test while a pathological slowdown does.
#[test]
fn fitting_and_predicting_every_size_is_fast() {
    let sizes = [128u32, 256, 512, 1024, 1536, 2048, 3008, 4096, 6144, 10240];
    let samples: Vec<SizeSamples> = sizes
        .iter()
        .map(|&memory_mb| {
            let v = memtune::fit::vcpus(f64::from(memory_mb));
            let t = 25.0 + 800.0 / v.min(1.0) + 1600.0 / v.min(3.0);
            SizeSamples {
                memory_mb,
                // A deterministic +-4% wobble.
                warm_ms: (0..20)
                    .map(|i| t * (1.0 + 0.04 * (f64::from(i) * 2.3).sin()))
                    .collect(),
            }
        })
        .collect();
    let start = Instant::now();
    let fitted = fit(&samples).unwrap();
    let fit_time = start.elapsed();
    let start = Instant::now();
    let means: f64 = (128..=10240).map(|m| fitted.mean_ms(m)).sum();
    let mean_time = start.elapsed();
    let start = Instant::now();
    let curve = fitted.curve(128..=10240);
    let curve_time = start.elapsed();
    println!(
        "fit of {} sizes x 20 samples: {fit_time:?} ({}); mean at 10,113 sizes: {mean_time:?}; \
         curve with bands and quantiles: {curve_time:?}",
        sizes.len(),
        fitted.model().as_str()
    );
    assert!(means > 0.0 && curve.len() == 10113);
    assert!(fit_time.as_millis() < 500, "{fit_time:?}");
    assert!(mean_time.as_millis() < 50, "{mean_time:?}");
}
