//! Findings with their reasons, from one function's production figures.

use serde::Serialize;

use super::{ConfigSummary, FunctionMetrics, ReportStats};

/// Max memory used at or above this share of the configured memory is too close to the limit:
/// garbage collection slows the function there, and a larger input is killed.
pub const UNDER_PROVISIONED_SHARE: f64 = 0.9;
/// p99 memory used at or below this share leaves most of the memory unused.
pub const OVER_PROVISIONED_SHARE: f64 = 0.4;
/// A p99 above this share of the timeout is at risk (the same bound `recommend` uses).
pub const TIMEOUT_RISK_SHARE: f64 = 2.0 / 3.0;

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

fn memory(config: &ConfigSummary, reports: &ReportStats) -> Option<Finding> {
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
    (p99_used / configured <= OVER_PROVISIONED_SHARE && config.memory_mb > 128).then(|| {
        finding(
            FindingKind::OverProvisioned,
            format!(
                "p99 memory used {p99_used:.0} MB is {:.0}% of {configured:.0} MB; if duration \
                 does not depend on memory (I/O-bound work), a smaller size costs less: \
                 `memtune recommend` measures that",
                p99_used / configured * 100.0
            ),
        )
    })
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

pub fn find(
    config: &ConfigSummary,
    metrics: Option<&FunctionMetrics>,
    reports: Option<&ReportStats>,
) -> Vec<Finding> {
    let memory = reports.and_then(|r| memory(config, r));
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
    fn out_of_memory_errors_are_counted_in_the_finding() {
        let mut r = used(512.0, 512.0);
        r.out_of_memory = 25.0;
        let f = find(&config(512), None, Some(&r));
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
            kinds(find(&c, None, Some(&used(1024.0, 1024.0)))),
            [UnderProvisioned]
        );
        let near = find(&c, None, Some(&used(950.0, 940.0)));
        assert!(near[0].reason.contains("93%"), "{}", near[0].reason);
        assert_eq!(
            kinds(find(&c, None, Some(&used(420.0, 400.0)))),
            [OverProvisioned]
        );
        assert!(find(&c, None, Some(&used(600.0, 500.0))).is_empty());
        // 128 MB is the smallest size: nothing to shrink.
        assert!(find(&config(128), None, Some(&used(20.0, 20.0))).is_empty());
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
        let f = find(&config(512), Some(&m), None);
        assert_eq!(kinds(f.clone()), [FindingKind::TimeoutRisk]);
        assert!(
            f[0].reason.contains("70% of the 3 s timeout"),
            "{}",
            f[0].reason
        );
        m.duration_p99_ms = Some(1900.0);
        assert!(find(&config(512), Some(&m), None).is_empty());
    }
}
