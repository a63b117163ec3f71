//! The real-curve corpora of `memtune bench accuracy`: one lab function per measured series of
//! `data/measurements`, served by the lab's measured-curve model (`memtune_lab::measured`),
//! so the truth is the measurements interpolated between sizes, not a curve of the fitter's
//! family. Every series is kept, the ones no physical model fits included.
//!
//! - cebert 2025: the warm series (run/workload/runtime/arch) with at least 2 measured sizes:
//!   mean and p99 per size, INIT from the same run's cold rows. The tables give no memory use.
//! - mbwilding: one series per snapshot/runtime/arch, ~10 invocations per size, nearly all
//!   cold starts (their `Duration` excludes INIT but carries first-run effects): mean, p99
//!   (nearest rank: the slowest of so few), mean INIT and the largest `Max Memory Used`.
//!
//! The development set is cebert's november run with mbwilding 328c27e; the report set,
//! never tuned on, cebert's december run with mbwilding 062d640.

use std::collections::BTreeMap;

use memtune_facts::Architecture;
use memtune_lab::measured::{MeasuredCurve, MeasuredPoint, DEFAULT_MAX_MEMORY_USED_MB};
use memtune_lab::profiles::{FunctionProfile, LogFormat, Traffic};
use memtune_lab::workload::Workload;

const CEBERT: &str = include_str!("../../data/measurements/cebert_2025_aggregates.csv");
const MBWILDING: &str = include_str!("../../data/measurements/mbwilding_lambda_benchmark_raw.csv");

/// Which half of the measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealSet {
    /// cebert november-2025 and mbwilding 328c27e: tune on these.
    Dev,
    /// cebert december-2025 and mbwilding 062d640: report on these only.
    Report,
}

impl RealSet {
    fn cebert_run(self) -> &'static str {
        match self {
            RealSet::Dev => "november-2025",
            RealSet::Report => "december-2025",
        }
    }

    fn mbwilding_snapshot(self) -> &'static str {
        match self {
            RealSet::Dev => "328c27e",
            RealSet::Report => "062d640",
        }
    }
}

/// Every series of the set, cebert's first, each in name order.
pub fn corpus(set: RealSet) -> Vec<FunctionProfile> {
    let mut profiles = cebert(set.cebert_run());
    profiles.extend(mbwilding(set.mbwilding_snapshot()));
    pair_architectures(&mut profiles);
    profiles
}

/// Sets each curve's `arm64_factor` from its series on the other architecture (the same name
/// ending `-arm64` instead of `-x86`): the geometric mean of arm64 over x86_64 mean durations
/// at the sizes both measured. A series without a pair keeps 1.0.
fn pair_architectures(profiles: &mut [FunctionProfile]) {
    let means = |p: &FunctionProfile| -> BTreeMap<u32, f64> {
        p.curve
            .iter()
            .flat_map(|c| c.points.iter().map(|pt| (pt.memory_mb, pt.mean_ms)))
            .collect()
    };
    let mut factors: BTreeMap<String, f64> = BTreeMap::new();
    for x86 in profiles.iter().filter(|p| p.name.ends_with("-x86")) {
        let partner = format!("{}-arm64", x86.name.trim_end_matches("-x86"));
        let Some(arm) = profiles.iter().find(|p| p.name == partner) else {
            continue;
        };
        let (on_x86, on_arm) = (means(x86), means(arm));
        let logs: Vec<f64> = on_x86
            .iter()
            .filter_map(|(m, x)| on_arm.get(m).map(|a| (a / x).ln()))
            .collect();
        if logs.is_empty() {
            continue;
        }
        let factor = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        factors.insert(x86.name.clone(), factor.clamp(0.1, 10.0));
        factors.insert(partner, factor.clamp(0.1, 10.0));
    }
    for p in profiles.iter_mut() {
        if let (Some(curve), Some(f)) = (p.curve.as_mut(), factors.get(&p.name)) {
            curve.arm64_factor = *f;
        }
    }
}

/// A series' identity and its measured points.
struct Series {
    name: String,
    runtime: &'static str,
    architecture: Architecture,
    description: String,
    source: &'static str,
    points: Vec<MeasuredPoint>,
    /// `Max Memory Used` where the points do not say.
    memory_used_mb: Option<f64>,
}

fn rows(text: &'static str) -> impl Iterator<Item = BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .expect("the measurement files have a header (a test reads them)")
        .clone();
    reader.into_records().map(move |record| {
        let record = record.expect("the measurement files are valid CSV (a test reads them)");
        headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect()
    })
}

fn number(row: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    row.get(key).and_then(|v| v.parse().ok())
}

fn cebert(run: &str) -> Vec<FunctionProfile> {
    // (workload, runtime, arch) -> memory -> (mean, p99); the same key's cold INIT by memory.
    type Key = (String, String, String);
    let mut warm: BTreeMap<Key, BTreeMap<u32, (f64, f64)>> = BTreeMap::new();
    let mut init: BTreeMap<Key, BTreeMap<u32, f64>> = BTreeMap::new();
    for row in rows(CEBERT).filter(|r| r["run"] == run) {
        let key = (
            row["workload"].clone(),
            row["runtime"].clone(),
            row["arch"].clone(),
        );
        let memory = number(&row, "memory_mb").expect("a memory size") as u32;
        if row["start"] == "warm" {
            let mean = number(&row, "mean_duration_ms").expect("a mean");
            let p99 = number(&row, "p99_duration_ms").expect("a p99");
            warm.entry(key).or_default().insert(memory, (mean, p99));
        } else if let Some(i) = number(&row, "mean_init_ms") {
            init.entry(key).or_default().insert(memory, i);
        }
    }
    let short_run = &run[..3];
    warm.into_iter()
        .filter(|(_, sizes)| sizes.len() >= 2)
        .map(|((workload, runtime, arch), sizes)| {
            let key = (workload.clone(), runtime.clone(), arch.clone());
            let inits = init.get(&key);
            let points: Vec<MeasuredPoint> = sizes
                .iter()
                .map(|(&memory_mb, &(mean_ms, p99_ms))| MeasuredPoint {
                    memory_mb,
                    mean_ms,
                    p99_ms,
                    init_ms: inits.and_then(|i| i.get(&memory_mb)).copied(),
                    max_memory_used_mb: None,
                })
                .collect();
            // No memory use is published; a series that never ran below a size above 128 MB
            // needed most of it (the calibrated fleet's fit put Python memory-intensive's
            // working set at 822 MB of 1024): 80% of it keeps that size safe under memtune's
            // 20% headroom.
            let smallest = points[0].memory_mb;
            let memory_used_mb = (smallest > 128).then_some(0.8 * smallest as f64);
            let short_workload = workload.split('-').next().unwrap_or(&workload);
            Series {
                name: format!(
                    "cebert-{short_run}-{short_workload}-{}-{}",
                    runtime.replace('.', ""),
                    if arch == "x86_64" { "x86" } else { "arm64" }
                ),
                runtime: cebert_runtime(&runtime),
                architecture: architecture(&arch),
                description: format!(
                    "Measured: cebert 2025 {run}/{workload}/{runtime}/{arch}, warm"
                ),
                source: "cebert-2025",
                points,
                memory_used_mb,
            }
        })
        .map(profile)
        .collect()
}

fn mbwilding(snapshot: &str) -> Vec<FunctionProfile> {
    #[derive(Default)]
    struct Size {
        durations: Vec<f64>,
        inits: Vec<f64>,
        max_used: f64,
    }
    let mut series: BTreeMap<(String, String), BTreeMap<u32, Size>> = BTreeMap::new();
    for row in rows(MBWILDING).filter(|r| r["snapshot_commit"] == snapshot) {
        let memory = number(&row, "memory_mb").expect("a memory size") as u32;
        let size = series
            .entry((row["runtime"].clone(), row["arch"].clone()))
            .or_default()
            .entry(memory)
            .or_default();
        size.durations
            .push(number(&row, "duration_ms").expect("a duration"));
        size.inits.extend(number(&row, "init_duration_ms"));
        size.max_used = size
            .max_used
            .max(number(&row, "max_memory_used_mb").unwrap_or(0.0));
    }
    series
        .into_iter()
        .map(|((runtime, arch), sizes)| {
            let points = sizes
                .into_iter()
                .map(|(memory_mb, mut s)| {
                    s.durations.sort_by(f64::total_cmp);
                    let n = s.durations.len();
                    let rank = ((n as f64 * 0.99).ceil() as usize).clamp(1, n);
                    MeasuredPoint {
                        memory_mb,
                        mean_ms: s.durations.iter().sum::<f64>() / n as f64,
                        p99_ms: s.durations[rank - 1],
                        init_ms: (!s.inits.is_empty())
                            .then(|| s.inits.iter().sum::<f64>() / s.inits.len() as f64),
                        max_memory_used_mb: (s.max_used > 0.0).then_some(s.max_used),
                    }
                })
                .collect();
            Series {
                name: format!(
                    "mbwilding-{snapshot}-{runtime}-{}",
                    if arch == "x86_64" { "x86" } else { "arm64" }
                ),
                runtime: mbwilding_runtime(&runtime),
                architecture: architecture(&arch),
                description: format!(
                    "Measured: mbwilding lambda-benchmark {snapshot}/{runtime}/{arch}, cold"
                ),
                source: "mbwilding",
                points,
                memory_used_mb: None,
            }
        })
        .map(profile)
        .collect()
}

/// The lab function of a series: configured at 1024 MB (or its smallest measured size, if
/// larger), a timeout of three times its slowest p99, and the calibrated fleet's traffic.
fn profile(series: Series) -> FunctionProfile {
    let slowest_p99 = series.points.iter().map(|p| p.p99_ms).fold(0.0, f64::max);
    let timeout_s = ((3.0 * slowest_p99 / 1000.0).ceil() as u32).clamp(3, 900);
    let memory_mb = series.points[0].memory_mb.max(1024);
    let curve = MeasuredCurve {
        max_memory_used_mb: series.memory_used_mb.unwrap_or(DEFAULT_MAX_MEMORY_USED_MB),
        arm64_factor: 1.0,
        points: series.points,
    };
    FunctionProfile {
        name: series.name,
        runtime: series.runtime.to_string(),
        architecture: series.architecture,
        memory_mb,
        timeout_s,
        log_format: LogFormat::Text,
        package_type: "Zip".into(),
        description: series.description,
        reserved_concurrency: None,
        tags: BTreeMap::from([
            ("source".to_string(), series.source.to_string()),
            ("env".to_string(), "lab".to_string()),
        ]),
        workload: Workload::default(),
        curve: Some(curve),
        traffic: Traffic {
            requests_per_day: 5000.0,
            daily_amplitude: 0.3,
            cold_start_ratio: 0.02,
            ..Traffic::default()
        },
        portable: true,
        code_mb: None,
        production_mix: Vec::new(),
        live: None,
        calls: Vec::new(),
    }
}

fn architecture(arch: &str) -> Architecture {
    if arch == "arm64" {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

/// cebert's runtime names as Lambda's runtime identifiers.
fn cebert_runtime(runtime: &str) -> &'static str {
    match runtime {
        "nodejs20" => "nodejs20.x",
        "nodejs22" => "nodejs22.x",
        "python3.11" => "python3.11",
        "python3.12" => "python3.12",
        "python3.13" => "python3.13",
        "python3.14" => "python3.14",
        _ => "provided.al2023",
    }
}

/// mbwilding's runtime names as Lambda's runtime identifiers.
fn mbwilding_runtime(runtime: &str) -> &'static str {
    match runtime {
        "dotnet6" => "dotnet6",
        "nodejs18x" => "nodejs18.x",
        "python311" => "python3.11",
        _ => "provided.al2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memtune_facts::pricing::PriceBook;
    use memtune_lab::profiles::ProfileSet;
    use memtune_lab::truth;

    #[test]
    fn the_sets_hold_every_series_with_two_sizes() {
        let count = |set, source: &str| {
            corpus(set)
                .iter()
                .filter(|p| p.tags["source"] == source)
                .count()
        };
        // cebert: 38 of november's 41 warm series have 2 sizes or more, all 42 of december's.
        assert_eq!(count(RealSet::Dev, "cebert-2025"), 38);
        assert_eq!(count(RealSet::Report, "cebert-2025"), 42);
        assert_eq!(count(RealSet::Dev, "mbwilding"), 8);
        assert_eq!(count(RealSet::Report, "mbwilding"), 8);
    }

    #[test]
    fn paired_series_carry_their_measured_arm64_factor() {
        let profiles = corpus(RealSet::Dev);
        let factor = |name: &str| {
            profiles
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.curve.as_ref())
                .unwrap_or_else(|| panic!("{name}"))
                .arm64_factor
        };
        // Python's SHA-256 loop runs ~15-20% faster on Graviton at every size; Node's about
        // as fast. Both series of a pair carry the same factor.
        let python = factor("cebert-nov-cpu-python314-x86");
        assert!((0.7..0.92).contains(&python), "{python}");
        assert_eq!(factor("cebert-nov-cpu-python314-arm64"), python);
        let node = factor("cebert-nov-cpu-nodejs22-x86");
        assert!((0.9..1.1).contains(&node), "{node}");
        let paired = profiles
            .iter()
            .filter(|p| p.curve.as_ref().is_some_and(|c| c.arm64_factor != 1.0))
            .count();
        assert!(
            paired * 10 >= profiles.len() * 8,
            "{paired} of {}",
            profiles.len()
        );
    }

    #[test]
    fn every_profile_is_a_valid_lab_function_and_names_are_unique() {
        for set in [RealSet::Dev, RealSet::Report] {
            let functions = corpus(set);
            let text = toml::to_string(&BTreeMap::from([("function", &functions)])).unwrap();
            let parsed = ProfileSet::parse(&text, "real.toml").unwrap();
            assert_eq!(parsed.functions, functions);
        }
    }

    #[test]
    fn the_truth_is_the_measurement_at_measured_sizes() {
        let book = PriceBook::builtin();
        let prices = book.region("us-east-1").unwrap();
        let profiles = corpus(RealSet::Dev);
        let node = profiles
            .iter()
            .find(|p| p.name == "cebert-nov-light-nodejs20-x86")
            .unwrap();
        let t = truth::function_truth(node, &[128, 512, 2048, 4096], &book, prices).unwrap();
        // november-2025,light,warm,nodejs20,x86_64: 128 MB 81.14 / 259.42 ms, 2048 MB
        // 11.56 / 16.97 ms, held flat above.
        assert!((t.sizes[0].mean_ms - 81.14).abs() < 1e-6);
        assert!((t.sizes[0].p99_ms - 259.42).abs() < 1e-6);
        assert!((t.sizes[2].mean_ms - 11.56).abs() < 1e-6);
        assert_eq!(t.sizes[3].p99_ms, t.sizes[2].p99_ms);
        // Python's memory-intensive series never ran below 1024 MB.
        let python = profiles
            .iter()
            .find(|p| p.name == "cebert-nov-memory-python312-x86")
            .unwrap();
        let t = truth::function_truth(python, &[512, 1024], &book, prices).unwrap();
        assert!(t.sizes[0].out_of_memory && !t.sizes[1].out_of_memory);
        // mbwilding: the slowest of ~10 cold invocations is the p99, memory use as reported.
        let dotnet = profiles
            .iter()
            .find(|p| p.name == "mbwilding-328c27e-dotnet6-x86")
            .unwrap();
        let curve = dotnet.curve.as_ref().unwrap();
        assert!(curve.points[0].p99_ms > curve.points[0].mean_ms);
        assert!(curve.points.iter().all(|p| p.max_memory_used_mb.is_some()));
        assert!(curve.points.iter().all(|p| p.init_ms.is_some()));
    }
}
