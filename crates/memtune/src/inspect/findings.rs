//! Findings with their reasons, from one function's production figures.

use serde::Serialize;

use super::{ConfigSummary, FunctionMetrics, ReportStats};
use crate::tune::document::{FunctionDocument, SizeRow};

/// Max memory used at or above this share of the configured memory is too close to the limit:
/// garbage collection slows the function there, and a larger input is killed.
pub const UNDER_PROVISIONED_SHARE: f64 = 0.9;
/// p99 memory used at or below this share leaves most of the memory unused.
pub const OVER_PROVISIONED_SHARE: f64 = 0.4;
/// A p99 above this share of the timeout is at risk (the same bound `recommend` uses).
pub const TIMEOUT_RISK_SHARE: f64 = 2.0 / 3.0;
/// Max memory used from this share of the configured memory up is checked for GC-bound
/// behaviour against an earlier sweep.
const GC_CHECK_SHARE: f64 = 0.5;
/// A larger size must save more than this share of compute to count as superlinear (noise).
const SUPERLINEAR_MARGIN: f64 = 0.05;
/// A smaller size whose median duration is within this much of the current size's: duration
/// does not depend on memory there.
const INSENSITIVE_SLOWDOWN: f64 = 0.10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    UnderProvisioned,
    OverProvisioned,
    TimeoutRisk,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::UnderProvisioned => "under-provisioned",
            FindingKind::OverProvisioned => "over-provisioned",
            FindingKind::TimeoutRisk => "timeout risk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub reason: String,
}

fn finding(kind: FindingKind, reason: String) -> Finding {
    Finding { kind, reason }
}

fn memory(
    config: &ConfigSummary,
    reports: &ReportStats,
    sweep: Option<&FunctionDocument>,
) -> Option<Finding> {
    let configured = config.memory_mb as f64;
    if reports.out_of_memory > 0.0 {
        return Some(finding(
            FindingKind::UnderProvisioned,
            format!(
                "{:.0} of {:.0} invocations ({:.2}%) were killed for running out of memory \
                 (Runtime.OutOfMemory) at {configured:.0} MB",
                reports.out_of_memory,
                reports.reports,
                reports.out_of_memory / reports.reports.max(1.0) * 100.0
            ),
        ));
    }
    let max_used = reports.max_memory_used_mb?;
    let share = max_used / configured;
    if max_used >= configured {
        return Some(finding(
            FindingKind::UnderProvisioned,
            format!(
                "max memory used reached the {configured:.0} MB limit: invocations were killed \
                 for running out of memory (OOM)"
            ),
        ));
    }
    if share >= GC_CHECK_SHARE {
        if let Some(pair) = sweep.and_then(|d| superlinear_speedup(d, config.memory_mb)) {
            return Some(finding(
                FindingKind::UnderProvisioned,
                format!(
                    "GC-bound: max memory used {max_used:.0} MB is {:.0}% of {configured:.0} MB, \
                     and more memory runs faster than it costs: {}, {:.0}% less compute per \
                     invocation; garbage collection near the limit is the usual cause",
                    share * 100.0,
                    pair.describe(),
                    pair.saving() * 100.0
                ),
            ));
        }
    }
    if share >= UNDER_PROVISIONED_SHARE {
        return Some(finding(
            FindingKind::UnderProvisioned,
            format!(
                "max memory used {max_used:.0} MB is {:.0}% of {configured:.0} MB: garbage \
                 collection slows it this close to the limit, and a larger input runs out of memory",
                share * 100.0
            ),
        ));
    }
    let p99_used = reports.memory_used_p99_mb?;
    if p99_used / configured > OVER_PROVISIONED_SHARE || config.memory_mb <= 128 {
        return None;
    }
    let used = format!(
        "p99 memory used {p99_used:.0} MB is {:.0}% of {configured:.0} MB",
        p99_used / configured * 100.0
    );
    let Some(pair) = sweep.and_then(|d| smaller_size(d, config.memory_mb, p99_used)) else {
        let smaller_failed = sweep.is_some_and(|d| {
            d.sizes
                .iter()
                .any(|s| s.memory_mb < config.memory_mb && !s.feasible)
        });
        if smaller_failed {
            // The sweep tried smaller sizes and they failed (timeouts, OOM): not over-provisioned.
            return None;
        }
        return Some(finding(
            FindingKind::OverProvisioned,
            format!(
                "{used}; if duration does not depend on memory (I/O-bound work), a smaller size \
                 costs less: `memtune recommend` measures that"
            ),
        ));
    };
    if pair.slowdown() <= INSENSITIVE_SLOWDOWN {
        Some(finding(
            FindingKind::OverProvisioned,
            format!(
                "{used}, and duration does not depend on memory: {}",
                pair.describe()
            ),
        ))
    } else if pair.saving() > 0.0 {
        Some(finding(
            FindingKind::OverProvisioned,
            format!(
                "{used}; duration grows less than memory shrinks: {}, {:.0}% less compute per \
                 invocation",
                pair.describe(),
                pair.saving() * 100.0
            ),
        ))
    } else {
        // Smaller sizes are slower by more than they save: the memory pays for CPU.
        None
    }
}

/// Two sizes an earlier sweep measured: one near the current memory and another.
struct SweepPair {
    run_id: String,
    current_mb: u32,
    current_p50_ms: f64,
    other_mb: u32,
    other_p50_ms: f64,
}

impl SweepPair {
    /// How much slower the other size runs (negative: faster).
    fn slowdown(&self) -> f64 {
        self.other_p50_ms / self.current_p50_ms - 1.0
    }

    /// Share of compute (GB-ms per invocation) the other size saves (negative: costs more).
    fn saving(&self) -> f64 {
        1.0 - f64::from(self.other_mb) * self.other_p50_ms
            / (f64::from(self.current_mb) * self.current_p50_ms)
    }

    fn describe(&self) -> String {
        format!(
            "p50 {:.0} ms at {} MB vs {:.0} ms at {} MB (run {})",
            self.other_p50_ms, self.other_mb, self.current_p50_ms, self.current_mb, self.run_id
        )
    }
}

/// The sizes a sweep measured warm (feasible, with a p50), and among them the one nearest the
/// current memory (within 25%).
fn measured_sizes(sweep: &FunctionDocument, current_mb: u32) -> Option<(Vec<&SizeRow>, &SizeRow)> {
    let measured: Vec<&SizeRow> = sweep
        .sizes
        .iter()
        .filter(|s| s.feasible && s.p50_ms.is_some())
        .collect();
    let current = *measured
        .iter()
        .filter(|s| s.memory_mb.abs_diff(current_mb) * 4 <= current_mb)
        .min_by_key(|s| s.memory_mb.abs_diff(current_mb))?;
    Some((measured, current))
}

fn pair(sweep: &FunctionDocument, current: &SizeRow, other: &SizeRow) -> Option<SweepPair> {
    Some(SweepPair {
        run_id: sweep.run_id.clone(),
        current_mb: current.memory_mb,
        current_p50_ms: current.p50_ms?,
        other_mb: other.memory_mb,
        other_p50_ms: other.p50_ms?,
    })
}

/// The smallest measured size below the current one that still leaves half again the memory
/// the function uses.
fn smaller_size(sweep: &FunctionDocument, current_mb: u32, used_mb: f64) -> Option<SweepPair> {
    let (measured, current) = measured_sizes(sweep, current_mb)?;
    let smaller = measured
        .into_iter()
        .filter(|s| f64::from(s.memory_mb) >= used_mb * 1.5 && s.memory_mb < current.memory_mb)
        .min_by_key(|s| s.memory_mb)?;
    pair(sweep, current, smaller)
}

/// The larger measured size that saves the most compute: more memory that runs faster than it
/// costs means something beyond the CPU share, which at most speeds it up in proportion.
fn superlinear_speedup(sweep: &FunctionDocument, current_mb: u32) -> Option<SweepPair> {
    let (measured, current) = measured_sizes(sweep, current_mb)?;
    measured
        .into_iter()
        .filter(|s| s.memory_mb > current.memory_mb)
        .filter_map(|larger| pair(sweep, current, larger))
        .filter(|p| p.saving() > SUPERLINEAR_MARGIN)
        .max_by(|a, b| a.saving().total_cmp(&b.saving()))
}

fn timeout(config: &ConfigSummary, metrics: &FunctionMetrics) -> Option<Finding> {
    let p99 = metrics.duration_p99_ms?;
    let timeout_ms = config.timeout_s as f64 * 1000.0;
    (p99 > TIMEOUT_RISK_SHARE * timeout_ms).then(|| {
        finding(
            FindingKind::TimeoutRisk,
            format!(
                "p99 duration {p99:.0} ms is {:.0}% of the {} s timeout",
                p99 / timeout_ms * 100.0,
                config.timeout_s
            ),
        )
    })
}

/// `sweep`: the function's latest memtune sweep (from the history), which tells whether
/// duration depends on memory.
pub fn find(
    config: &ConfigSummary,
    metrics: Option<&FunctionMetrics>,
    reports: Option<&ReportStats>,
    sweep: Option<&FunctionDocument>,
) -> Vec<Finding> {
    let memory = reports.and_then(|r| memory(config, r, sweep));
    let timeout = metrics.and_then(|m| timeout(config, m));
    memory.into_iter().chain(timeout).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(memory_mb: u32) -> ConfigSummary {
        ConfigSummary {
            memory_mb,
            timeout_s: 3,
            architecture: "x86_64".into(),
            runtime: None,
            package_type: "Zip".into(),
            log_format: "Text".into(),
            system_log_level: None,
            aliases: vec![],
        }
    }

    fn used(max: f64, p99: f64) -> ReportStats {
        ReportStats {
            reports: 100.0,
            max_memory_used_mb: Some(max),
            memory_used_p99_mb: Some(p99),
            cold_starts: 1.0,
            init_p50_ms: None,
            init_p99_ms: None,
            init_avg_ms: None,
            billed_avg_ms: None,
            out_of_memory: 0.0,
        }
    }

    #[test]
    fn an_earlier_sweep_decides_whether_low_memory_use_is_over_provisioning() {
        use crate::tune::confidence::tests::doc;
        let c = config(1024);
        let low_use = used(100.0, 100.0);
        // Every size runs at 100 ms: memory buys nothing.
        let flat = doc(
            1024,
            256,
            &[(256, 1e-6, 1e-8), (512, 1e-6, 1e-8), (1024, 2e-6, 1e-8)],
        );
        let f = find(&c, None, Some(&low_use), Some(&flat));
        assert_eq!(kinds(f.clone()), [FindingKind::OverProvisioned]);
        assert!(
            f[0].reason
                .contains("p50 100 ms at 256 MB vs 100 ms at 1024 MB (run r)"),
            "{}",
            f[0].reason
        );
        // Slower, but by less than the memory saved.
        let mut slower = flat.clone();
        slower.sizes[0].p50_ms = Some(200.0);
        let f = find(&c, None, Some(&low_use), Some(&slower));
        assert!(f[0].reason.contains("50% less compute"), "{}", f[0].reason);
        // Smaller sizes are slower than they are smaller: CPU needs the memory.
        let mut steep = flat.clone();
        steep.sizes[0].p50_ms = Some(400.0);
        assert!(find(&c, None, Some(&low_use), Some(&steep)).is_empty());
        // Smaller sizes the sweep tried failed: nothing to gain below.
        let mut failing = flat.clone();
        failing.sizes[0].feasible = false;
        failing.sizes[1].feasible = false;
        assert!(find(&c, None, Some(&low_use), Some(&failing)).is_empty());
        // A sweep that did not measure near the current size says nothing.
        let far = doc(1024, 256, &[(256, 1e-6, 1e-8), (512, 1e-6, 1e-8)]);
        let f = find(&c, None, Some(&low_use), Some(&far));
        assert!(f[0].reason.contains("`memtune recommend` measures that"));
    }

    #[test]
    fn more_memory_that_runs_faster_than_it_costs_is_gc_bound() {
        use crate::tune::confidence::tests::doc;
        let c = config(1024);
        let busy = used(600.0, 590.0);
        let mut sweep = doc(1024, 2048, &[(1024, 2e-6, 1e-8), (2048, 1e-6, 1e-8)]);
        sweep.sizes[1].p50_ms = Some(40.0);
        let f = find(&c, None, Some(&busy), Some(&sweep));
        assert_eq!(kinds(f.clone()), [FindingKind::UnderProvisioned]);
        assert!(
            f[0].reason
                .starts_with("GC-bound: max memory used 600 MB is 59% of 1024 MB")
                && f[0]
                    .reason
                    .contains("p50 40 ms at 2048 MB vs 100 ms at 1024 MB (run r), 20% less"),
            "{}",
            f[0].reason
        );
        // Twice the memory, not twice as fast: the CPU share at most, no finding.
        sweep.sizes[1].p50_ms = Some(55.0);
        assert!(find(&c, None, Some(&busy), Some(&sweep)).is_empty());
        // Without a sweep nothing is claimed at 59%.
        assert!(find(&c, None, Some(&busy), None).is_empty());
    }

    #[test]
    fn out_of_memory_errors_are_counted_in_the_finding() {
        let mut r = used(512.0, 512.0);
        r.out_of_memory = 25.0;
        let f = find(&config(512), None, Some(&r), None);
        assert_eq!(kinds(f.clone()), [FindingKind::UnderProvisioned]);
        assert!(
            f[0].reason
                .starts_with("25 of 100 invocations (25.00%) were killed"),
            "{}",
            f[0].reason
        );
    }

    fn kinds(f: Vec<Finding>) -> Vec<FindingKind> {
        f.into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn memory_use_decides_under_and_over_provisioning() {
        use FindingKind::*;
        let c = config(1024);
        assert_eq!(
            kinds(find(&c, None, Some(&used(1024.0, 1024.0)), None)),
            [UnderProvisioned]
        );
        let near = find(&c, None, Some(&used(950.0, 940.0)), None);
        assert!(near[0].reason.contains("93%"), "{}", near[0].reason);
        assert_eq!(
            kinds(find(&c, None, Some(&used(420.0, 400.0)), None)),
            [OverProvisioned]
        );
        assert!(find(&c, None, Some(&used(600.0, 500.0)), None).is_empty());
        // 128 MB is the smallest size: nothing to shrink.
        assert!(find(&config(128), None, Some(&used(20.0, 20.0)), None).is_empty());
    }

    #[test]
    fn a_p99_near_the_timeout_is_a_risk() {
        let mut m = FunctionMetrics {
            invocations: 10.0,
            errors: 0.0,
            throttles: 0.0,
            duration_avg_ms: None,
            duration_p50_ms: None,
            duration_p90_ms: None,
            duration_p99_ms: Some(2100.0),
            max_concurrency: None,
            resources: vec![],
        };
        let f = find(&config(512), Some(&m), None, None);
        assert_eq!(kinds(f.clone()), [FindingKind::TimeoutRisk]);
        assert!(
            f[0].reason.contains("70% of the 3 s timeout"),
            "{}",
            f[0].reason
        );
        m.duration_p99_ms = Some(1900.0);
        assert!(find(&config(512), Some(&m), None, None).is_empty());
    }
}
