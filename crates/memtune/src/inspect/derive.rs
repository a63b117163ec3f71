//! Monthly figures from the window's: invocations, cost at the current memory (requests,
//! duration, INIT), memory headroom, error, throttle and cold-start rates.

use serde::Serialize;

use super::{ConfigSummary, FunctionMetrics, ReportStats, Section};
use crate::platform::cloudwatch::MetricWindow;
use memtune_facts::pricing::{gb_seconds, PriceBook};
use memtune_facts::Architecture;

/// AWS prices a month as 730 hours.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Lambda bills each invocation's duration rounded up to the millisecond: half a millisecond
/// more than the mean duration on average.
const ROUNDING_MS: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    pub monthly_invocations: f64,
    /// At first-tier prices: the account's volume decides tiers, not one function's.
    pub monthly_cost: Option<MonthlyCost>,
    /// Max memory used / configured memory.
    pub memory_headroom: Option<f64>,
    pub error_rate: f64,
    /// Throttles / (invocations + throttles).
    pub throttle_rate: f64,
    /// Cold starts / REPORT lines.
    pub cold_start_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyCost {
    pub requests_usd: f64,
    pub duration_usd: f64,
    /// None when the REPORT lines (INIT durations) were unavailable; 0 when INIT is not billed.
    pub init_usd: Option<f64>,
    /// Requests + duration + INIT (when known).
    pub total_usd: f64,
}

/// Scales a count over the window to a month.
pub fn per_month(count: f64, window: &MetricWindow) -> f64 {
    count * HOURS_PER_MONTH / (window.days() * 24.0)
}

fn architecture(name: &str) -> Architecture {
    if name == "arm64" {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

fn monthly_cost(
    config: &ConfigSummary,
    metrics: &FunctionMetrics,
    reports: Option<&ReportStats>,
    monthly_invocations: f64,
    book: &PriceBook,
    region: &str,
    window: &MetricWindow,
) -> Option<MonthlyCost> {
    let prices = book.region(region).ok()?;
    let price_gb_s = prices
        .rate(architecture(&config.architecture))
        .ok()?
        .first_tier_price();
    let billed_ms = metrics.duration_avg_ms? + ROUNDING_MS;
    let usd_for = |ms_per_invocation: f64| {
        monthly_invocations * gb_seconds(config.memory_mb, ms_per_invocation) * price_gb_s
    };
    let end_date = chrono::DateTime::from_timestamp_millis(window.end_ms)?
        .format("%Y-%m-%d")
        .to_string();
    let init_billed = book.init_billing.is_billed(
        &config.package_type,
        config.runtime.as_deref().unwrap_or_default(),
        &end_date,
    );
    let init_usd = reports.map(|r| match (init_billed, r.init_avg_ms) {
        (true, Some(init_ms)) => usd_for(init_ms * r.cold_starts / r.reports),
        _ => 0.0,
    });
    let requests_usd = monthly_invocations * prices.request_price();
    let duration_usd = usd_for(billed_ms);
    Some(MonthlyCost {
        requests_usd,
        duration_usd,
        init_usd,
        total_usd: requests_usd + duration_usd + init_usd.unwrap_or(0.0),
    })
}

/// The derived figures, when the function has metrics.
pub fn derive(
    config: &ConfigSummary,
    metrics: &Section<FunctionMetrics>,
    reports: &Section<ReportStats>,
    book: &PriceBook,
    region: &str,
    window: &MetricWindow,
) -> Option<Derived> {
    let m = metrics.data.as_ref()?;
    let r = reports.data.as_ref();
    let monthly_invocations = per_month(m.invocations, window);
    Some(Derived {
        monthly_invocations,
        monthly_cost: monthly_cost(config, m, r, monthly_invocations, book, region, window),
        memory_headroom: r
            .and_then(|r| r.max_memory_used_mb)
            .map(|used| used / config.memory_mb as f64),
        error_rate: m.errors / m.invocations,
        throttle_rate: m.throttles / (m.invocations + m.throttles),
        cold_start_ratio: r.map(|r| r.cold_starts / r.reports),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConfigSummary {
        ConfigSummary {
            memory_mb: 1024,
            timeout_s: 10,
            architecture: "x86_64".into(),
            runtime: Some("python3.12".into()),
            package_type: "Zip".into(),
            log_format: "Text".into(),
            system_log_level: None,
            aliases: vec![],
        }
    }

    fn metrics(invocations: f64) -> FunctionMetrics {
        FunctionMetrics {
            invocations,
            errors: invocations / 100.0,
            throttles: 0.0,
            duration_avg_ms: Some(999.5),
            duration_p50_ms: None,
            duration_p90_ms: None,
            duration_p99_ms: None,
            max_concurrency: None,
            resources: vec![],
        }
    }

    #[test]
    fn a_month_of_one_second_at_one_gb_by_hand() {
        // A window of 730 hours ending in 2027 (when INIT is billed) is exactly a month.
        let end_ms = 1_800_000_000_000;
        let window = MetricWindow {
            start_ms: end_ms - HOURS_PER_MONTH as i64 * 3_600_000,
            end_ms,
            period_s: 0,
        };
        let reports = ReportStats {
            reports: 1000.0,
            max_memory_used_mb: Some(256.0),
            memory_used_p99_mb: Some(250.0),
            cold_starts: 10.0,
            init_p50_ms: Some(500.0),
            init_p99_ms: Some(900.0),
            init_avg_ms: Some(500.0),
            billed_avg_ms: Some(1005.0),
            out_of_memory: 0.0,
        };
        let d = derive(
            &config(),
            &Section::measured(metrics(1e6)),
            &Section::measured(reports),
            &PriceBook::builtin(),
            "us-east-1",
            &window,
        )
        .unwrap();
        assert!((d.monthly_invocations - 1e6).abs() < 1e-6);
        let cost = d.monthly_cost.unwrap();
        assert!((cost.requests_usd - 0.2).abs() < 1e-9);
        assert!(
            (cost.duration_usd - 16.6667).abs() < 1e-6,
            "{}",
            cost.duration_usd
        );
        // 1% of invocations add 500 ms of billed INIT (billed since 2025-08-01).
        assert!((cost.init_usd.unwrap() - 16.6667 * 0.005).abs() < 1e-6);
        assert_eq!(d.memory_headroom, Some(0.25));
        assert_eq!(d.cold_start_ratio, Some(0.01));
        assert!((d.error_rate - 0.01).abs() < 1e-12);
    }
}
