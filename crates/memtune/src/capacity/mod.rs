//! Provisioned and reserved concurrency from production: cold starts by hour of day and
//! their share of the p99, the provisioned level or hourly schedule that keeps cold starts
//! under a target at the least cost, and reserved-concurrency advice against the account's
//! limit (docs/commands.md, `memtune capacity`).
//!
//! select -> observe (CloudWatch at 1-minute resolution, Logs Insights) -> calibrate the idle
//! expiry -> search -> [`CapacityReport`], which the renderers only read.

pub mod cost;
pub mod latency;
pub mod observe;
pub mod reserved;
pub mod search;
pub mod simulate;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::cloudwatch::{MetricWindow, MetricsApi};
use crate::platform::logs::{LogsApi, QueryError};
use crate::platform::{LambdaApi, PlatformError};
use cost::CostModel;
use latency::{Quantiles, P99};
use memtune_facts::pricing::{billed_ms, PriceBook, PricingError};
use memtune_facts::Architecture;
use observe::Observation;
use reserved::{AccountAdvice, ReservedAdvice, Usage};
use search::PlanOutcome;
use simulate::{hour_of, simulate, ColdModel, Minute, Plan};

/// The idle expiries (minutes) the calibration tries.
const IDLE_MINUTES: std::ops::RangeInclusive<usize> = 1..=60;

#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error("{function}: {source}")]
    Platform {
        function: String,
        source: Box<PlatformError>,
    },
    #[error("{function}: reading REPORT lines: {source}")]
    Logs {
        function: String,
        source: Box<QueryError>,
    },
    #[error("{function}: {source}")]
    Pricing {
        function: String,
        source: PricingError,
    },
    #[error("reading the account's concurrency: {0}")]
    Account(Box<PlatformError>),
}

/// Cold starts at most 0.1% of invocations unless told otherwise.
pub const DEFAULT_COLD_START_TARGET: f64 = 0.001;

/// What a plan must achieve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The highest share of invocations that may start cold.
    ColdStartRate(f64),
    /// The highest p99 latency, INIT included, in ms.
    P99Ms(f64),
}

#[derive(Debug, Clone)]
pub struct CapacityOptions {
    /// 1-minute periods ([`observe::minute_window`]).
    pub window: MetricWindow,
    pub region: String,
    pub target: Target,
    pub max_connections: Option<u32>,
    pub query_limit: Duration,
}

/// The analysis of every function and of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    pub region: String,
    pub window_days: f64,
    pub target: Target,
    pub prices_as_of: String,
    pub account: AccountAdvice,
    pub functions: Vec<FunctionCapacity>,
}

/// What to do about provisioned concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Recommendation {
    /// On-demand meets the target at the least cost.
    None,
    /// Provision `plan` on `alias` (a schedule is for IaC and reports).
    Provision { alias: String, plan: Plan },
    /// The target needs provisioned concurrency, but production invokes no alias.
    NeedsAlias { plan: Plan },
    /// Not even the peak concurrency provisioned meets the target.
    Unreachable,
}

/// One hour of the day over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourRow {
    pub hour: u32,
    pub invocations: u64,
    /// Cold starts the REPORT lines show.
    pub cold_starts: u64,
    /// Cold starts the calibrated model gives without provisioned concurrency.
    pub modelled_cold_starts: u64,
    /// The highest ConcurrentExecutions of the hour over the window.
    pub peak_concurrency: u32,
    /// The mean of the per-minute maxima.
    pub mean_concurrency: f64,
    /// The recommended level in force in this hour.
    pub recommended_level: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCapacity {
    pub name: String,
    pub memory_mb: u32,
    pub architecture: String,
    /// The alias production invokes (the Invocations metric's Resource dimension).
    pub alias: Option<String>,
    pub invocations: u64,
    pub cold_starts: u64,
    pub cold_start_rate: f64,
    pub peak_concurrency: u32,
    /// Provisioned concurrency configured during the window, as its metrics show.
    pub current_provisioned: Option<u32>,
    /// The model calibrated to the cold starts logged: the idle expiry (minutes) and the
    /// cold starts rises in concurrency do not explain, per on-demand invocation.
    pub cold_model: ColdModel,
    pub init_avg_ms: f64,
    pub duration_avg_ms: f64,
    pub p99: P99,
    pub hours: Vec<HourRow>,
    /// No provisioned concurrency.
    pub on_demand: PlanOutcome,
    /// The cheapest constant level that meets the target.
    pub best_level: Option<PlanOutcome>,
    /// The cheapest schedule (up to 4 steps a day) that meets it.
    pub best_schedule: Option<PlanOutcome>,
    /// The plan recommended: the cheaper of the two.
    pub chosen: Option<PlanOutcome>,
    /// Its p99 with cold starts.
    pub chosen_p99_ms: Option<f64>,
    pub recommendation: Recommendation,
    pub reserved: ReservedAdvice,
}

impl FunctionCapacity {
    /// The level to apply on the alias when the recommendation is one level all day.
    pub fn chosen_level(&self) -> Option<u32> {
        match &self.recommendation {
            Recommendation::Provision {
                plan: Plan::Level(l),
                ..
            } => Some(*l),
            _ => None,
        }
    }
}

/// The idle expiry under which the model's cold starts by hour match the logged ones best
/// (least squares; the shorter expiry wins ties, so cold starts are not underestimated).
pub fn calibrate_idle(minutes: &[Minute], current: &Plan, logged_by_hour: &[u64]) -> usize {
    let mut best = (f64::INFINITY, *IDLE_MINUTES.start());
    for idle in IDLE_MINUTES {
        let mut by_hour = [0f64; 24];
        for (m, o) in minutes
            .iter()
            .zip(simulate(minutes, &ColdModel::pool_only(idle), current))
        {
            by_hour[hour_of(m.minute) as usize] += o.cold_starts as f64;
        }
        let error: f64 = by_hour
            .iter()
            .zip(logged_by_hour)
            .map(|(a, b)| (a - *b as f64).powi(2))
            .sum();
        if error < best.0 {
            best = (error, idle);
        }
    }
    best.1
}

fn warm_quantiles(o: &Observation) -> Quantiles {
    let d = &o.duration;
    Quantiles::new(&[
        (0.5, d.p50_ms),
        (0.9, d.p90_ms),
        (0.99, d.p99_ms),
        (0.999, d.p999_ms),
        (1.0, d.maximum_ms),
    ])
}

fn init_quantiles(o: &Observation) -> Quantiles {
    let l = &o.logs;
    Quantiles::new(&[
        (0.5, l.init_p50_ms),
        (0.9, l.init_p90_ms),
        (0.99, l.init_p99_ms),
    ])
}

/// What an observed function used, for the account's side.
pub fn usage(o: &Observation) -> Usage {
    Usage {
        name: o.config.name.clone(),
        peak_concurrency: o.minutes.iter().map(|m| m.concurrency).max().unwrap_or(0),
        reserved: o.reserved,
        throttles: o.throttles,
        invocations: o.minutes.iter().map(|m| m.invocations).sum(),
    }
}

/// Analyses one observed function, with its reserved-concurrency advice.
pub fn analyse_function(
    o: &Observation,
    book: &PriceBook,
    options: &CapacityOptions,
    reserved: ReservedAdvice,
) -> Result<FunctionCapacity, CapacityError> {
    let name = o.config.name.clone();
    let pricing = |source| CapacityError::Pricing {
        function: name.clone(),
        source,
    };
    let region = book.region(&options.region).map_err(pricing)?;
    let arch = if o.config.architecture == "arm64" {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    };
    let init_billed = book.init_billing.is_billed(
        &o.config.package_type,
        o.config.runtime.as_deref().unwrap_or(""),
        &book.as_of,
    );
    // Billing rounds each invocation up to the next ms: half a ms over the mean on average.
    let cost = CostModel::new(
        region,
        arch,
        o.config.memory_mb,
        o.duration.average_ms + 0.5,
        if init_billed {
            billed_ms(o.logs.init_avg_ms)
        } else {
            0.0
        },
    )
    .map_err(pricing)?;
    let current = Plan::Level(o.provisioned.unwrap_or(0));
    let model = calibrate(&o.minutes, &current, &o.logs);
    let peak = o.minutes.iter().map(|m| m.concurrency).max().unwrap_or(0);
    let warm = warm_quantiles(o);
    let init = init_quantiles(o);
    let max_rate = match options.target {
        Target::ColdStartRate(rate) => rate,
        Target::P99Ms(ms) => latency::max_cold_rate(&warm, &init, ms),
    };
    let on_demand = search::evaluate(&o.minutes, &model, &Plan::Level(0), &cost);
    let (best_level, best_schedule) = search::cheapest(&o.minutes, &model, peak, &cost, max_rate);
    let chosen = match (&best_level, &best_schedule) {
        (Some(l), Some(s)) if s.monthly_usd < l.monthly_usd => Some(s.clone()),
        (Some(l), _) => Some(l.clone()),
        (None, s) => s.clone(),
    };
    let recommendation = match (&chosen, &o.alias) {
        (None, _) => Recommendation::Unreachable,
        (Some(c), _) if c.plan == Plan::Level(0) => Recommendation::None,
        (Some(c), Some(alias)) => Recommendation::Provision {
            alias: alias.clone(),
            plan: c.plan.clone(),
        },
        (Some(c), None) => Recommendation::NeedsAlias {
            plan: c.plan.clone(),
        },
    };
    let invocations: u64 = o.minutes.iter().map(|m| m.invocations).sum();
    let logged_rate = o.logs.cold_starts as f64 / o.logs.reports.max(1) as f64;
    let modelled = simulate(&o.minutes, &model, &Plan::Level(0));
    let hours = (0..24u32)
        .map(|hour| {
            let in_hour: Vec<(&Minute, f64)> = o
                .minutes
                .iter()
                .zip(&modelled)
                .filter(|(m, _)| hour_of(m.minute) == hour)
                .map(|(m, out)| (m, out.all_cold_starts()))
                .collect();
            HourRow {
                hour,
                invocations: in_hour.iter().map(|(m, _)| m.invocations).sum(),
                cold_starts: o.logs.by_hour.get(hour as usize).copied().unwrap_or(0),
                modelled_cold_starts: in_hour.iter().map(|(_, c)| c).sum::<f64>().round() as u64,
                peak_concurrency: in_hour
                    .iter()
                    .map(|(m, _)| m.concurrency)
                    .max()
                    .unwrap_or(0),
                mean_concurrency: in_hour
                    .iter()
                    .map(|(m, _)| m.concurrency as f64)
                    .sum::<f64>()
                    / in_hour.len().max(1) as f64,
                recommended_level: chosen.as_ref().map_or(0, |c| c.plan.level_at_hour(hour)),
            }
        })
        .collect();
    let capacity = FunctionCapacity {
        name: name.clone(),
        memory_mb: o.config.memory_mb,
        architecture: o.config.architecture.clone(),
        alias: o.alias.clone(),
        invocations,
        cold_starts: o.logs.cold_starts,
        cold_start_rate: logged_rate,
        peak_concurrency: peak,
        current_provisioned: o.provisioned,
        cold_model: model,
        init_avg_ms: o.logs.init_avg_ms,
        duration_avg_ms: o.duration.average_ms,
        p99: latency::p99(&warm, &init, logged_rate),
        hours,
        chosen_p99_ms: chosen
            .as_ref()
            .map(|c| latency::p99(&warm, &init, c.cold_start_rate).with_cold_starts_ms),
        on_demand,
        best_level,
        best_schedule,
        chosen,
        recommendation,
        reserved,
    };
    Ok(capacity)
}

/// The idle expiry from the cold starts logged per hour, then the cold starts it leaves
/// unexplained (at the current plan) as a share of on-demand invocations.
pub fn calibrate(minutes: &[Minute], current: &Plan, logs: &observe::ColdStartLogs) -> ColdModel {
    let idle = calibrate_idle(minutes, current, &logs.by_hour);
    let out = simulate(minutes, &ColdModel::pool_only(idle), current);
    let explained: u64 = out.iter().map(|o| o.cold_starts).sum();
    let rest: u64 = out
        .iter()
        .map(|o| o.on_demand_invocations - o.cold_starts)
        .sum();
    let unexplained = logs.cold_starts.saturating_sub(explained);
    ColdModel {
        idle_minutes: idle,
        unexplained_per_on_demand: unexplained as f64 / rest.max(1) as f64,
    }
}

/// Reads and analyses every function, then the account.
pub async fn analyse<L: LambdaApi, M: MetricsApi, G: LogsApi>(
    lambda: &L,
    metrics: &M,
    logs: &G,
    book: &PriceBook,
    names: &[String],
    options: &CapacityOptions,
) -> Result<CapacityReport, CapacityError> {
    let mut observed = Vec::new();
    for name in names {
        observed.push(
            observe::observe(
                lambda,
                metrics,
                logs,
                name,
                &options.window,
                options.query_limit,
            )
            .await?,
        );
    }
    let (report, analysed) = report(lambda, book, &observed, options).await?;
    Ok(CapacityReport {
        functions: analysed.into_iter().collect::<Result<Vec<_>, _>>()?,
        ..report
    })
}

/// A fleet run's capacity findings (`[capacity]` in the fleet config): the report over the
/// functions that could be read, and why the others could not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetCapacity {
    /// The account, in a run over `[[target]]` accounts (the report names the region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// None when the analysis as a whole failed (`failed` says why).
    pub report: Option<CapacityReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_analysed: Vec<NotAnalysed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotAnalysed {
    pub function: String,
    pub reason: String,
}

/// As [`analyse`], but a function that cannot be read is set aside with its reason instead
/// of stopping the others (a fleet run's findings).
pub async fn analyse_fleet<L: LambdaApi, M: MetricsApi, G: LogsApi>(
    lambda: &L,
    metrics: &M,
    logs: &G,
    book: &PriceBook,
    names: &[String],
    options: &CapacityOptions,
) -> FleetCapacity {
    let mut observed = Vec::new();
    let mut not_analysed = Vec::new();
    for name in names {
        let read = observe::observe(
            lambda,
            metrics,
            logs,
            name,
            &options.window,
            options.query_limit,
        )
        .await;
        match read {
            Ok(o) => observed.push(o),
            Err(e) => not_analysed.push(NotAnalysed {
                function: name.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let (report, failed) = match report(lambda, book, &observed, options).await {
        Ok((mut report, analysed)) => {
            // A function without prices for its architecture is set aside like an unreadable one.
            for (o, a) in observed.iter().zip(analysed) {
                match a {
                    Ok(f) => report.functions.push(f),
                    Err(e) => not_analysed.push(NotAnalysed {
                        function: o.config.name.clone(),
                        reason: e.to_string(),
                    }),
                }
            }
            (Some(report), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    FleetCapacity {
        account: None,
        report,
        failed,
        not_analysed,
    }
}

/// The account's side (a report without functions yet) and each observed function's analysis.
async fn report<L: LambdaApi>(
    lambda: &L,
    book: &PriceBook,
    observed: &[Observation],
    options: &CapacityOptions,
) -> Result<(CapacityReport, Vec<Result<FunctionCapacity, CapacityError>>), CapacityError> {
    let account = lambda
        .account_settings()
        .await
        .map_err(|e| CapacityError::Account(Box::new(e)))?;
    let usage: Vec<Usage> = observed.iter().map(usage).collect();
    let (account, advice) = reserved::advise(
        &usage,
        account.limit,
        account.unreserved,
        options.max_connections,
    );
    let analysed = observed
        .iter()
        .zip(advice)
        .map(|(o, a)| analyse_function(o, book, options, a))
        .collect();
    let report = CapacityReport {
        region: options.region.clone(),
        window_days: options.window.days(),
        target: options.target,
        prices_as_of: book.as_of.clone(),
        account,
        functions: Vec::new(),
    };
    Ok((report, analysed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concurrency 1 most minutes, 4 for two minutes every 3 hours, idle for ten minutes
    /// half an hour later.
    fn minutes() -> Vec<Minute> {
        (0..2 * 1440)
            .map(|minute| {
                let concurrency = match minute % 180 {
                    0..=1 => 4,
                    30..=39 => 0,
                    _ => 1,
                };
                Minute {
                    minute,
                    invocations: 100 * concurrency as u64,
                    concurrency,
                }
            })
            .collect()
    }

    fn logs_of(minutes: &[Minute], model: &ColdModel, extra: u64) -> observe::ColdStartLogs {
        let mut by_hour = vec![0u64; 24];
        let out = simulate(minutes, model, &Plan::Level(0));
        for (m, o) in minutes.iter().zip(&out) {
            by_hour[hour_of(m.minute) as usize] += o.cold_starts;
        }
        by_hour[3] += extra;
        observe::ColdStartLogs {
            cold_starts: by_hour.iter().sum(),
            by_hour,
            ..Default::default()
        }
    }

    #[test]
    fn calibration_finds_the_idle_expiry_and_what_rises_do_not_explain() {
        let m = minutes();
        // After ten idle minutes the environment is cold under an expiry of 2 minutes, warm
        // under one of 60: the calibration tells them apart.
        for idle in [2, 60] {
            let logs = logs_of(&m, &ColdModel::pool_only(idle), 0);
            let model = calibrate(&m, &Plan::Level(0), &logs);
            assert_eq!(model.unexplained_per_on_demand, 0.0);
            assert_eq!(model.idle_minutes <= 10, idle == 2, "{model:?}");
            let again = simulate(&m, &model, &Plan::Level(0));
            let cold: u64 = again.iter().map(|o| o.cold_starts).sum();
            assert_eq!(cold, logs.cold_starts, "idle {idle}");
        }
        // 500 cold starts more than any expiry explains: a share of on-demand invocations.
        let logs = logs_of(&m, &ColdModel::pool_only(5), 500);
        let model = calibrate(&m, &Plan::Level(0), &logs);
        assert!(model.unexplained_per_on_demand > 0.0);
        let outcome = search::evaluate(&m, &model, &Plan::Level(0), &cost::CostModel::sample(512));
        assert!(
            (outcome.cold_starts as f64 - logs.cold_starts as f64).abs() <= 1.0,
            "{} {}",
            outcome.cold_starts,
            logs.cold_starts
        );
        // Provisioning the base takes the unexplained ones away with its invocations.
        let covered = search::evaluate(&m, &model, &Plan::Level(1), &cost::CostModel::sample(512));
        assert!(covered.cold_starts < outcome.cold_starts / 2);
    }
}
