//! A function's [`Load`] from production (`inspect`: CloudWatch metrics and REPORT lines) and
//! memtune's own sweep when there is one, with every figure that had to be assumed said.

use serde::Serialize;

use super::load::{Load, PeakSource};
use super::Assumptions;
use crate::inspect::{FunctionReport, Status};
use crate::platform::cloudwatch::{fetch_all, MetricQuery, MetricWindow, MetricsApi};
use crate::platform::PlatformResult;
use crate::tune::document::FunctionDocument;
use memtune_facts::{vcpus, Architecture};

const HOUR_S: i32 = 3600;

/// What the comparison runs on for one function, or why there is nothing to compare.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gathered {
    pub name: String,
    pub architecture: Architecture,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<Load>,
    /// Where each figure came from, and what was assumed.
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The hourly Invocations queries, one per function, over `window` in 1-hour periods.
pub fn hourly_queries(names: &[String]) -> Vec<MetricQuery> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            MetricQuery::new(
                format!("h{i}"),
                "Invocations",
                "Sum",
                &[("FunctionName", name)],
            )
        })
        .collect()
}

/// Requests per second of each hour of the window, per function (in `names` order); hours
/// without a datapoint had no invocations.
pub async fn hourly_rps<M: MetricsApi>(
    cloudwatch: &M,
    names: &[String],
    window: &MetricWindow,
) -> PlatformResult<Vec<Vec<f64>>> {
    let hourly = MetricWindow {
        period_s: HOUR_S,
        ..*window
    };
    let hours = ((window.end_ms - window.start_ms) / (1000 * i64::from(HOUR_S))).max(1) as usize;
    let data = fetch_all(cloudwatch, &hourly_queries(names), &hourly).await?;
    Ok((0..names.len())
        .map(|i| {
            let mut rps: Vec<f64> = data
                .values
                .get(&format!("h{i}"))
                .map(|v| v.iter().map(|n| n / f64::from(HOUR_S)).collect())
                .unwrap_or_default();
            rps.resize(hours.max(rps.len()), 0.0);
            rps
        })
        .collect())
}

/// The smallest measured size whose mean duration is within `tolerance` of the fastest:
/// beyond it, added memory (and the vCPU that comes with it) stops helping.
pub fn cpu_knee_mb(sweep: &FunctionDocument, tolerance: f64) -> Option<u32> {
    let rows: Vec<(u32, f64)> = sweep
        .sizes
        .iter()
        .filter(|r| r.feasible)
        .filter_map(|r| r.mean_ms.map(|ms| (r.memory_mb, ms)))
        .collect();
    let fastest = rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    rows.iter()
        .filter(|r| r.1 <= fastest * (1.0 + tolerance))
        .map(|r| r.0)
        .min()
}

fn architecture(name: &str) -> Architecture {
    if name == "arm64" {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

/// One function's load: the tuned size and its duration when a sweep recommends one, else
/// production's; production's traffic, peak, memory used and cold starts.
pub fn load_of(
    report: &FunctionReport,
    hourly_rps: Vec<f64>,
    sweep: Option<&FunctionDocument>,
    assumptions: &Assumptions,
) -> Gathered {
    let skipped = |architecture, why: String| Gathered {
        name: report.name.clone(),
        architecture,
        load: None,
        notes: Vec::new(),
        skipped: Some(why),
    };
    let Some(config) = report.config.data.as_ref() else {
        let why = report
            .config
            .detail
            .clone()
            .unwrap_or_else(|| "no configuration".into());
        return skipped(Architecture::X86_64, why);
    };
    let arch = architecture(&config.architecture);
    let Some(metrics) = report.metrics.data.as_ref() else {
        let why = match report.metrics.status {
            Status::NeverInvoked => "never invoked in the window: nothing to host".to_string(),
            _ => report
                .metrics
                .detail
                .clone()
                .unwrap_or_else(|| "no metrics".into()),
        };
        return skipped(arch, why);
    };
    let Some(production_ms) = metrics.duration_avg_ms else {
        return skipped(arch, "CloudWatch served no Duration average".into());
    };
    let mut notes = Vec::new();
    let tuned = sweep.and_then(|s| {
        let rec = s.recommendation.as_ref()?;
        let row = s.sizes.iter().find(|r| r.memory_mb == rec.memory_mb)?;
        Some((rec.memory_mb, row.mean_ms?, row.p99_ms?))
    });
    let (memory_mb, duration_ms, p99_ms) = match tuned {
        Some((mb, ms, p99)) => {
            notes.push(format!(
                "tuned size {mb} MB: {ms:.1} ms mean, {p99:.1} ms p99 (sweep)"
            ));
            (mb, ms, p99)
        }
        None => {
            let p99 = metrics.duration_p99_ms.unwrap_or(production_ms);
            notes.push(format!(
                "no sweep: production's {} MB, {production_ms:.1} ms mean, {p99:.1} ms p99",
                config.memory_mb
            ));
            (config.memory_mb, production_ms, p99)
        }
    };
    let cpu_need_vcpus = match sweep.and_then(|s| cpu_knee_mb(s, assumptions.cpu_knee_tolerance)) {
        Some(knee) => {
            notes.push(format!(
                "CPU need {:.2} vCPU: more memory than {knee} MB stops shortening it (sweep)",
                vcpus(f64::from(knee))
            ));
            vcpus(f64::from(knee))
        }
        None => {
            let need = vcpus(f64::from(memory_mb)).min(1.0);
            notes.push(format!(
                "CPU need {need:.2} vCPU: the vCPU share of {memory_mb} MB, capped at 1 \
                 (no sweep: an upper bound)"
            ));
            need
        }
    };
    let logs = report.logs.data.as_ref();
    let memory_used_mb = match logs.and_then(|l| l.max_memory_used_mb) {
        Some(used) => used,
        None => {
            notes.push(format!(
                "no REPORT lines: memory used taken as all {memory_mb} MB"
            ));
            f64::from(memory_mb)
        }
    };
    let cold_start_ratio = logs
        .filter(|l| l.reports > 0.0)
        .map_or(0.0, |l| l.cold_starts / l.reports);
    let init_ms = logs.and_then(|l| l.init_avg_ms).unwrap_or(0.0);
    if logs.is_none() {
        notes.push("no REPORT lines: cold starts unknown, taken as none".into());
    }
    let mut load = Load {
        hourly_rps,
        peak_concurrency: 0.0,
        peak_source: PeakSource::Measured,
        memory_mb,
        duration_ms,
        p99_ms,
        memory_used_mb,
        cpu_need_vcpus,
        cold_start_ratio,
        init_ms,
        runtime: config.runtime.clone(),
    };
    let speedup = duration_ms / production_ms;
    match metrics.max_concurrency {
        Some(peak) => {
            load.peak_concurrency = peak * speedup;
            notes.push(if tuned.is_some() {
                format!("peak {peak:.0} in flight (ConcurrentExecutions), x {speedup:.2} at the tuned duration")
            } else {
                format!("peak {peak:.0} in flight (ConcurrentExecutions)")
            });
        }
        None => {
            let factor = assumptions.peak_to_mean;
            load.peak_concurrency = load.peak_hourly_concurrency() * factor;
            load.peak_source = PeakSource::Derived {
                peak_to_mean: factor,
            };
            notes.push(format!(
                "ASSUMED peak: no ConcurrentExecutions; busiest hour's mean concurrency x {factor}"
            ));
        }
    }
    Gathered {
        name: report.name.clone(),
        architecture: arch,
        load: Some(load),
        notes,
        skipped: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{ConfigSummary, FunctionMetrics, ReportStats, Section};
    use crate::report::sample;

    fn report(max_concurrency: Option<f64>) -> FunctionReport {
        FunctionReport {
            name: "api".into(),
            config: Section::measured(ConfigSummary {
                memory_mb: 1024,
                timeout_s: 30,
                architecture: "arm64".into(),
                runtime: Some("nodejs22.x".into()),
                package_type: "Zip".into(),
                log_format: "Text".into(),
                system_log_level: None,
                aliases: vec![],
            }),
            metrics: Section::measured(FunctionMetrics {
                invocations: 1000.0,
                errors: 0.0,
                throttles: 0.0,
                duration_avg_ms: Some(100.0),
                duration_p50_ms: Some(90.0),
                duration_p90_ms: Some(150.0),
                duration_p99_ms: Some(300.0),
                max_concurrency,
                resources: vec![],
            }),
            logs: Section::measured(ReportStats {
                reports: 1000.0,
                max_memory_used_mb: Some(200.0),
                memory_used_p99_mb: Some(180.0),
                cold_starts: 20.0,
                init_p50_ms: Some(400.0),
                init_p99_ms: Some(600.0),
                init_avg_ms: Some(450.0),
                billed_avg_ms: Some(101.0),
                out_of_memory: 0.0,
            }),
            derived: None,
            findings: vec![],
        }
    }

    #[test]
    fn the_knee_is_where_more_memory_stops_helping() {
        // The sample sweep runs 1.02 x scale x (20 + 512,000 / MB): 3008 MB is fastest
        // (190.2 x k); within 5% only itself; within 100% (380.4 x k) also 1769 MB (309.4 x k)
        // but not 1024 MB (520 x k).
        let sweep = sample::document("api", 1024, 1769, 0);
        assert_eq!(cpu_knee_mb(&sweep, 0.05), Some(3008));
        assert_eq!(cpu_knee_mb(&sweep, 1.0), Some(1769));
    }

    #[test]
    fn a_missing_peak_is_derived_and_said() {
        let hours = vec![2.0, 10.0, 4.0];
        let g = load_of(&report(None), hours, None, &Assumptions::default());
        let load = g.load.unwrap();
        // Busiest hour 10/s x 0.1 s = 1 in flight on average, x 2 (the default factor).
        assert_eq!(load.peak_concurrency, 2.0);
        assert_eq!(load.peak_source, PeakSource::Derived { peak_to_mean: 2.0 });
        assert!(
            g.notes.iter().any(|n| n.starts_with("ASSUMED peak")),
            "{:?}",
            g.notes
        );
        assert_eq!(g.architecture, Architecture::Arm64);
        assert_eq!((load.cold_start_ratio, load.init_ms), (0.02, 450.0));
        // No sweep: production's size, its CPU share (1024 / 1769) said to be an upper bound.
        assert_eq!(load.memory_mb, 1024);
        assert!((load.cpu_need_vcpus - 1024.0 / 1769.0).abs() < 1e-9);
        assert!(g.notes.iter().any(|n| n.contains("upper bound")));
    }

    #[test]
    fn a_sweep_brings_the_tuned_size_and_scales_the_measured_peak() {
        // The sample recommends 1769 MB: mean 1.02 x (20 + 512,000 / 1769) = 315.6 ms against
        // production's 100 ms, so the measured peak of 4 becomes 12.6.
        let sweep = sample::document("api", 1024, 1769, 0);
        let g = load_of(
            &report(Some(4.0)),
            vec![1.0],
            Some(&sweep),
            &Assumptions::default(),
        );
        let load = g.load.unwrap();
        assert_eq!(load.memory_mb, 1769);
        let mean = 1.02 * (20.0 + 512_000.0 / 1769.0);
        assert!((load.duration_ms - mean).abs() < 1e-6);
        assert!((load.peak_concurrency - 4.0 * mean / 100.0).abs() < 1e-6);
        assert_eq!(load.peak_source, PeakSource::Measured);
    }
}
