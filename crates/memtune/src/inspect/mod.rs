//! `memtune inspect`: what functions do in production, from CloudWatch metrics and the REPORT
//! lines in their logs, without invoking anything.
//!
//! Stages, each plain data in and out: read configurations (Lambda) -> metrics for all
//! functions in few GetMetricData calls ([`metrics`]) -> Logs Insights over REPORT lines, up to
//! 50 log groups per query ([`insights`]) -> monthly figures and cost ([`derive`]) ->
//! findings with reasons ([`findings`]). A source that cannot answer (no permission, no log
//! group, REPORT lines suppressed, never invoked) is reported as such, never as zero.

pub mod derive;
pub mod findings;
pub mod insights;
pub mod metrics;
pub mod production;
pub mod table;

use std::collections::HashMap;
use std::time::Duration;

use futures::{stream, StreamExt};
use serde::Serialize;

use crate::platform::cloudwatch::{MetricWindow, MetricsApi};
use crate::platform::logs::LogsApi;
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};
use memtune_facts::pricing::PriceBook;

pub use derive::Derived;
pub use findings::{Finding, FindingKind};
pub use insights::ReportStats;
pub use metrics::{FunctionMetrics, ResourceMetrics};

/// The version of the `--format json` document (docs/json-schema.md).
pub const SCHEMA_VERSION: u32 = 1;
/// Lambda calls (GetFunctionConfiguration, ListAliases) in flight at once.
const LAMBDA_CALLS_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone)]
pub struct InspectOptions {
    pub window: MetricWindow,
    pub region: String,
    /// How long one Logs Insights query may run.
    pub query_limit: Duration,
    /// Each function's latest memtune sweep (from the history), by name: it tells whether
    /// duration depends on memory.
    pub sweeps: std::collections::BTreeMap<String, crate::tune::document::FunctionDocument>,
}

/// Whether a source answered, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Measured,
    NotFound,
    NeverInvoked,
    NoLogGroup,
    ReportsSuppressed,
    NoReports,
    AccessDenied,
    /// The service could not be reached at all (connection, credentials).
    Unreachable,
    TimedOut,
    Failed,
    /// Not asked, because an earlier stage already said why there is nothing to read.
    Skipped,
}

/// One source's answer for one function: its data, or a status and a sentence saying why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section<T> {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub data: Option<T>,
}

impl<T> Section<T> {
    pub fn measured(data: T) -> Section<T> {
        Section {
            status: Status::Measured,
            detail: None,
            data: Some(data),
        }
    }

    pub fn missing(status: Status, detail: impl Into<String>) -> Section<T> {
        Section {
            status,
            detail: Some(detail.into()),
            data: None,
        }
    }

    pub fn from_platform_error(e: &PlatformError) -> Section<T> {
        let status = match e {
            PlatformError::AccessDenied(_) => Status::AccessDenied,
            PlatformError::NotFound(_) => Status::NotFound,
            PlatformError::Unreachable(_) | PlatformError::Setup(_) => Status::Unreachable,
            _ => Status::Failed,
        };
        Section::missing(status, e.to_string())
    }
}

/// A function's configuration, as far as inspect uses it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigSummary {
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: String,
    pub runtime: Option<String>,
    pub package_type: String,
    pub log_format: String,
    pub system_log_level: Option<String>,
    pub aliases: Vec<String>,
}

impl ConfigSummary {
    fn new(c: &FunctionConfig, aliases: Vec<String>) -> ConfigSummary {
        ConfigSummary {
            memory_mb: c.memory_mb,
            timeout_s: c.timeout_s,
            architecture: c.architecture.clone(),
            runtime: c.runtime.clone(),
            package_type: c.package_type.clone(),
            log_format: c.log_format.clone(),
            system_log_level: c.system_log_level.clone(),
            aliases,
        }
    }

    /// Lambda writes REPORT lines at INFO; a WARN or stricter system log level drops them.
    pub fn reports_suppressed(&self) -> bool {
        matches!(
            self.system_log_level.as_deref(),
            Some("WARN" | "ERROR" | "FATAL")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionReport {
    pub name: String,
    pub config: Section<ConfigSummary>,
    pub metrics: Section<FunctionMetrics>,
    pub logs: Section<ReportStats>,
    pub derived: Option<Derived>,
    pub findings: Vec<Finding>,
}

/// AWS calls the inspection made, by service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Calls {
    pub lambda: u32,
    pub cloudwatch: u32,
    pub logs: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSummary {
    pub start: String,
    pub end: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub days: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectReport {
    pub schema_version: u32,
    pub region: String,
    pub window: WindowSummary,
    pub functions: Vec<FunctionReport>,
    pub calls: Calls,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Reads a function's configuration and aliases (2 calls).
async fn read_config<L: LambdaApi>(lambda: &L, name: &str) -> Section<ConfigSummary> {
    let config = match lambda.get_configuration(name, None).await {
        Ok(c) => c,
        Err(e) => return Section::from_platform_error(&e),
    };
    match lambda.list_aliases(name).await {
        Ok(aliases) => Section::measured(ConfigSummary::new(
            &config,
            aliases.into_iter().map(|a| a.name).collect(),
        )),
        Err(e) => Section::from_platform_error(&e),
    }
}

/// Inspects `names` over `options.window`.
pub async fn inspect<L, M, G>(
    lambda: &L,
    cloudwatch: &M,
    logs: &G,
    book: &PriceBook,
    names: &[String],
    options: &InspectOptions,
) -> InspectReport
where
    L: LambdaApi,
    M: MetricsApi,
    G: LogsApi,
{
    let mut calls = Calls::default();
    let configs: Vec<Section<ConfigSummary>> = stream::iter(names)
        .map(|name| read_config(lambda, name))
        .buffered(LAMBDA_CALLS_IN_FLIGHT)
        .collect()
        .await;
    calls.lambda = configs
        .iter()
        .map(|c| if c.data.is_some() { 2 } else { 1 })
        .sum();

    let known: Vec<(&str, &ConfigSummary)> = names
        .iter()
        .zip(&configs)
        .filter_map(|(n, c)| c.data.as_ref().map(|c| (n.as_str(), c)))
        .collect();
    let (mut measured, metric_calls) = metrics::measure(cloudwatch, &known, &options.window).await;
    calls.cloudwatch = metric_calls;

    // Logs only for functions that ran (or whose metrics could not say).
    let to_query: Vec<(&str, &ConfigSummary)> = known
        .iter()
        .filter(|(n, _)| measured[*n].status != Status::NeverInvoked)
        .copied()
        .collect();
    let (mut reports, log_calls) =
        insights::measure(logs, &to_query, &options.window, options.query_limit).await;
    calls.logs = log_calls;

    let functions = names
        .iter()
        .zip(configs)
        .map(|(name, config)| {
            let metrics = measured.remove(name.as_str()).unwrap_or_else(|| {
                Section::missing(Status::Skipped, "no configuration to inspect")
            });
            let logs = reports.remove(name.as_str()).unwrap_or_else(|| {
                Section::missing(
                    Status::Skipped,
                    match metrics.status {
                        Status::NeverInvoked => {
                            "never invoked in the window: no REPORT lines to read"
                        }
                        _ => "no configuration to inspect",
                    },
                )
            });
            let derived = config.data.as_ref().and_then(|c| {
                derive::derive(c, &metrics, &logs, book, &options.region, &options.window)
            });
            let findings = config
                .data
                .as_ref()
                .map(|c| {
                    let sweep = options.sweeps.get(name);
                    findings::find(c, metrics.data.as_ref(), logs.data.as_ref(), sweep)
                })
                .unwrap_or_default();
            FunctionReport {
                name: name.clone(),
                config,
                metrics,
                logs,
                derived,
                findings,
            }
        })
        .collect();
    InspectReport {
        schema_version: SCHEMA_VERSION,
        region: options.region.clone(),
        window: WindowSummary {
            start: rfc3339(options.window.start_ms),
            end: rfc3339(options.window.end_ms),
            start_ms: options.window.start_ms,
            end_ms: options.window.end_ms,
            days: options.window.days(),
        },
        functions,
        calls,
    }
}

/// Function name -> its section, for the functions a stage handled.
pub type ByFunction<T> = HashMap<String, Section<T>>;
