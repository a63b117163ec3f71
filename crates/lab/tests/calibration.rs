//! The calibrated lab profiles (config/lab/calibrated.toml) reproduce real AWS Lambda curves:
//! the lab's expected warm mean is within 10% of the measured mean, and its p99 within 15% of
//! the measured p99, at every memory size the source measured. Data: data/measurements/cebert_2025_aggregates.csv (cebert/
//! aws-lambda-performance-benchmarks, MIT, Copyright (c) 2025 AWS Lambda ARM vs x86 Benchmark
//! Project).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use memtune_lab::profiles::{FunctionProfile, ProfileSet};
use memtune_lab::workload::Expectation;

const MEAN_TOLERANCE: f64 = 0.10;
/// A p99 from 300-500 invocations is itself only good to several percent.
const P99_TOLERANCE: f64 = 0.15;

/// A measured warm cell: mean and, where the source gives it, p99.
#[derive(Clone, Copy)]
struct Cell {
    mean_ms: f64,
    p99_ms: Option<f64>,
}

/// Warm cells by series ("run/workload/runtime/arch") and memory size.
type Series = BTreeMap<String, BTreeMap<u32, Cell>>;

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn measured_warm_cells() -> Series {
    let path = manifest_path("../../data/measurements/cebert_2025_aggregates.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name} missing from {}", path.display()))
    };
    let (run, workload, start, runtime, arch) = (
        col("run"),
        col("workload"),
        col("start"),
        col("runtime"),
        col("arch"),
    );
    let (memory, mean, p99) = (
        col("memory_mb"),
        col("mean_duration_ms"),
        col("p99_duration_ms"),
    );
    let mut series = Series::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        if f[start] != "warm" {
            continue;
        }
        let key = format!("{}/{}/{}/{}", f[run], f[workload], f[runtime], f[arch]);
        let memory_mb: u32 = f[memory].parse().expect("memory_mb is an integer");
        let mean_ms: f64 = f[mean].parse().expect("mean_duration_ms is a number");
        let p99_ms = (!f[p99].is_empty()).then(|| f[p99].parse().expect("p99 is a number"));
        series
            .entry(key)
            .or_default()
            .insert(memory_mb, Cell { mean_ms, p99_ms });
    }
    series
}

fn calibrated_profiles() -> ProfileSet {
    ProfileSet::load(&manifest_path("../../config/lab/calibrated.toml"))
        .expect("calibrated.toml loads")
}

fn calibration_tag(profile: &FunctionProfile) -> &str {
    profile
        .tags
        .get("calibration")
        .unwrap_or_else(|| panic!("{} has no `calibration` tag", profile.name))
}

/// A statistic of a measured cell and the lab's expectation of it.
struct Statistic {
    name: &'static str,
    tolerance: f64,
    measured: fn(&Cell) -> Option<f64>,
    lab: fn(&Expectation) -> f64,
}

/// Prints the lab against every measured cell and fails on those outside the tolerance.
fn check(statistic: Statistic) {
    let measured = measured_warm_cells();
    let profiles = calibrated_profiles();
    let mut failures = Vec::new();
    println!(
        "{:<30} {:>6} {:>11} {:>11} {:>7}   ({})",
        "profile", "MB", "measured", "lab", "error", statistic.name
    );
    for profile in &profiles.functions {
        let series = calibration_tag(profile);
        let cells = measured
            .get(series)
            .unwrap_or_else(|| panic!("{}: no warm series {series} in the data", profile.name));
        assert!(
            cells.len() >= 4,
            "{}: {series} has only {} sizes",
            profile.name,
            cells.len()
        );
        let mut worst: f64 = 0.0;
        for (&memory_mb, cell) in cells {
            let Some(real) = (statistic.measured)(cell) else {
                continue;
            };
            let expected =
                profile
                    .workload
                    .expectation(memory_mb, profile.architecture, profile.timeout_ms());
            let lab = (statistic.lab)(&expected);
            let err = lab / real - 1.0;
            worst = worst.max(err.abs());
            println!(
                "{:<30} {memory_mb:>6} {real:>11.1} {lab:>11.1} {:>+6.1}%",
                profile.name,
                err * 100.0
            );
            if err.abs() > statistic.tolerance {
                failures.push(format!(
                    "{} at {memory_mb} MB: {:+.1}%",
                    profile.name,
                    err * 100.0
                ));
            }
        }
        println!("{:<30} max error {:.1}%\n", profile.name, worst * 100.0);
    }
    assert!(
        failures.is_empty(),
        "{} outside {:.0}%: {failures:?}",
        statistic.name,
        statistic.tolerance * 100.0
    );
}

#[test]
fn calibrated_profiles_reproduce_measured_means_within_10_percent() {
    check(Statistic {
        name: "mean",
        tolerance: MEAN_TOLERANCE,
        measured: |c| Some(c.mean_ms),
        lab: |e| e.mean_ms,
    });
}

#[test]
fn calibrated_profiles_reproduce_measured_p99s_within_15_percent() {
    check(Statistic {
        name: "p99",
        tolerance: P99_TOLERANCE,
        measured: |c| c.p99_ms,
        lab: |e| e.p99_ms,
    });
}

#[test]
fn calibrated_profiles_cover_workloads_runtimes_and_architectures() {
    let profiles = calibrated_profiles();
    assert!(profiles.functions.len() >= 6);
    let mut workloads = BTreeSet::new();
    let mut runtimes = BTreeSet::new();
    let mut archs = BTreeSet::new();
    for profile in &profiles.functions {
        let parts: Vec<&str> = calibration_tag(profile).split('/').collect();
        assert_eq!(
            parts.len(),
            4,
            "{}: tag is run/workload/runtime/arch",
            profile.name
        );
        assert_eq!(
            parts[3],
            profile.architecture.as_str(),
            "{}: the profile's architecture differs from its series",
            profile.name
        );
        assert!(
            profile.name.starts_with("cebert-"),
            "{} does not name its source",
            profile.name
        );
        workloads.insert(parts[1].to_string());
        runtimes.insert(
            parts[2]
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
                .to_string(),
        );
        archs.insert(parts[3].to_string());
    }
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        workloads,
        set(&["cpu-intensive", "light", "memory-intensive"])
    );
    assert_eq!(runtimes, set(&["nodejs", "python", "rust"]));
    assert_eq!(archs, set(&["arm64", "x86_64"]));
}
