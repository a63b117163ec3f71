//! GetMetricData over the lab's Lambda metrics (namespace AWS/Lambda), independent of the wire
//! protocol: period and statistic rules, dimension matching, per-period aggregation over the
//! backfill and the recorded invocations, ScanBy and NextToken paging.

use std::collections::HashSet;

use base64::Engine;

use super::backfill::{hash_of, Production, DAY_MS, MINUTE_MS};
use super::control::LATEST;
use super::mixture::Mixture;
use super::telemetry::Telemetry;
use super::workload::Outcome;

const MAX_QUERIES: usize = 500;
/// The default and largest MaxDatapoints of one GetMetricData call.
pub const MAX_DATAPOINTS: usize = 100_800;

/// Why a request is refused, in CloudWatch's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricDataError {
    /// `ValidationError`: a malformed request.
    Validation(String),
    /// `InvalidParameterValue`: a well-formed request the lab cannot serve.
    InvalidParameter(String),
    InvalidNextToken(String),
}

type Result<T> = std::result::Result<T, MetricDataError>;

fn validation<T>(message: impl Into<String>) -> Result<T> {
    Err(MetricDataError::Validation(message.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanBy {
    #[default]
    TimestampDescending,
    TimestampAscending,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub queries: Vec<Query>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub next_token: Option<String>,
    pub scan_by: ScanBy,
    pub max_datapoints: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: String,
    pub label: Option<String>,
    pub return_data: bool,
    pub metric_stat: Option<MetricStat>,
    pub expression: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricStat {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub period_s: i64,
    pub stat: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataResult {
    pub id: String,
    pub label: String,
    /// Epoch seconds of each period's start.
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
    /// `Complete`, or `PartialData` when more of this result is on a later page.
    pub status_code: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub results: Vec<MetricDataResult>,
    pub next_token: Option<String>,
}

/// A CloudWatch statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    Sum,
    SampleCount,
    Average,
    Minimum,
    Maximum,
    /// pNN: the fraction (0..=1).
    Percentile(f64),
    /// TM(a%:b%): mean of the values ranked between two fractions.
    TrimmedMean(f64, f64),
}

impl Statistic {
    pub fn parse(text: &str) -> std::result::Result<Statistic, String> {
        let percent = |s: &str| -> Option<f64> {
            let v: f64 = s.trim().trim_end_matches('%').parse().ok()?;
            (0.0..=100.0).contains(&v).then_some(v / 100.0)
        };
        let lower = text.to_ascii_lowercase();
        let simple = match text {
            "Sum" => Some(Statistic::Sum),
            "SampleCount" => Some(Statistic::SampleCount),
            "Average" => Some(Statistic::Average),
            "Minimum" => Some(Statistic::Minimum),
            "Maximum" => Some(Statistic::Maximum),
            "IQM" => Some(Statistic::TrimmedMean(0.25, 0.75)),
            _ => None,
        };
        if let Some(s) = simple {
            return Ok(s);
        }
        if let Some(p) = lower.strip_prefix('p').and_then(percent) {
            return Ok(Statistic::Percentile(p));
        }
        if let Some(p) = lower
            .strip_prefix("tm")
            .and_then(|r| (!r.starts_with('(')).then(|| percent(r)).flatten())
        {
            return Ok(Statistic::TrimmedMean(0.0, p));
        }
        if let Some(range) = lower.strip_prefix("tm(").and_then(|r| r.strip_suffix(')')) {
            return parse_trimmed_range(range);
        }
        Err(format!(
            "The lab does not support the statistic '{text}'. It serves Sum, SampleCount, Average, \
             Minimum, Maximum, pNN, tmNN, TM(a%:b%) and IQM."
        ))
    }
}

/// `10%:90%`, `:90%` or `10%:`; value bounds (without %) are not supported.
fn parse_trimmed_range(range: &str) -> std::result::Result<Statistic, String> {
    let (a, b) = range
        .split_once(':')
        .ok_or_else(|| format!("TM({range}) needs a range such as TM(10%:90%)"))?;
    let bound = |s: &str, default: f64| -> std::result::Result<f64, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(default);
        }
        let v: f64 = s
            .strip_suffix('%')
            .ok_or_else(|| {
                format!("The lab supports TM with percentage bounds only, not value bounds ('{s}')")
            })?
            .parse()
            .map_err(|_| format!("'{s}' is not a percentage"))?;
        if (0.0..=100.0).contains(&v) {
            Ok(v / 100.0)
        } else {
            Err(format!("'{s}' is not between 0% and 100%"))
        }
    };
    let (lo, hi) = (bound(a, 0.0)?, bound(b, 1.0)?);
    if lo >= hi {
        return Err(format!(
            "TM({range}): the lower bound must be below the upper bound"
        ));
    }
    Ok(Statistic::TrimmedMean(lo, hi))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Invocations,
    Errors,
    Throttles,
    Duration,
    ConcurrentExecutions,
    ProvisionedConcurrentExecutions,
    ProvisionedConcurrencyUtilization,
    ProvisionedConcurrencyInvocations,
    ProvisionedConcurrencySpilloverInvocations,
}

impl Metric {
    fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "Invocations" => Metric::Invocations,
            "Errors" => Metric::Errors,
            "Throttles" => Metric::Throttles,
            "Duration" => Metric::Duration,
            "ConcurrentExecutions" => Metric::ConcurrentExecutions,
            "ProvisionedConcurrentExecutions" => Metric::ProvisionedConcurrentExecutions,
            "ProvisionedConcurrencyUtilization" => Metric::ProvisionedConcurrencyUtilization,
            "ProvisionedConcurrencyInvocations" => Metric::ProvisionedConcurrencyInvocations,
            "ProvisionedConcurrencySpilloverInvocations" => {
                Metric::ProvisionedConcurrencySpilloverInvocations
            }
            _ => return None,
        })
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::Duration => "Milliseconds",
            Metric::ProvisionedConcurrencyUtilization => "None",
            _ => "Count",
        }
    }

    /// Refuses statistics the lab does not compute for this metric, rather than guess.
    fn check(self, stat: Statistic) -> std::result::Result<(), String> {
        let ok = match self {
            Metric::Duration => true,
            Metric::ConcurrentExecutions
            | Metric::ProvisionedConcurrentExecutions
            | Metric::ProvisionedConcurrencyUtilization => stat == Statistic::Maximum,
            _ => !matches!(stat, Statistic::Percentile(_) | Statistic::TrimmedMean(..)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "The lab does not compute {stat:?} for {self:?}: it serves percentiles and trimmed \
                 means for Duration only, and ConcurrentExecutions, \
                 ProvisionedConcurrentExecutions and ProvisionedConcurrencyUtilization as Maximum"
            ))
        }
    }
}

/// Which invocations a set of dimensions selects.
#[derive(Debug, Clone, PartialEq)]
struct Selection {
    function: String,
    filter: Filter,
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// FunctionName alone: everything.
    All,
    /// Resource = "name": unqualified invocations.
    Unqualified,
    /// Resource = "name:alias".
    Alias(String),
    /// Resource = "name:version".
    Version(String),
    /// ExecutedVersion alone (no Resource).
    Executed(String),
    /// Resource = "name:alias" and ExecutedVersion: the version an alias's invocations ran,
    /// as Lambda reports for weighted aliases.
    AliasExecuted(String, String),
}

impl Selection {
    fn from_dimensions(dims: &[(String, String)]) -> Option<Selection> {
        let get = |k: &str| dims.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let function = get("FunctionName")?.to_string();
        let filter = match (dims.len(), get("Resource"), get("ExecutedVersion")) {
            (1, _, _) => Filter::All,
            (2, Some(r), _) if r == function => Filter::Unqualified,
            (2, Some(r), _) => {
                let q = r.strip_prefix(function.as_str())?.strip_prefix(':')?;
                if q.chars().all(|c| c.is_ascii_digit()) || q == LATEST {
                    Filter::Version(q.to_string())
                } else {
                    Filter::Alias(q.to_string())
                }
            }
            (2, _, Some(v)) => Filter::Executed(v.to_string()),
            (3, Some(r), Some(v)) => {
                let a = r.strip_prefix(function.as_str())?.strip_prefix(':')?;
                if a.chars().all(|c| c.is_ascii_digit()) || a == LATEST {
                    return None;
                }
                Filter::AliasExecuted(a.to_string(), v.to_string())
            }
            _ => return None,
        };
        Some(Selection { function, filter })
    }

    /// Production traffic invoked the function unqualified (so it ran $LATEST), or the alias
    /// its environment model names.
    fn includes_backfill(&self, production_alias: Option<&str>) -> bool {
        match (&self.filter, production_alias) {
            (Filter::All, _) => true,
            (Filter::Unqualified, None) => true,
            (Filter::Executed(v), None) => v == LATEST,
            (Filter::Alias(a), Some(p)) => a == p,
            // The lab publishes production's alias on version 1, which ran all of it.
            (Filter::AliasExecuted(a, v), Some(p)) => a == p && v == "1",
            _ => false,
        }
    }

    /// Whether a request invoked through `alias` (if any) that ran (or was routed to)
    /// `version` belongs to the selection.
    fn matches(&self, alias: Option<&str>, version: &str) -> bool {
        match &self.filter {
            Filter::All => true,
            Filter::Unqualified => alias.is_none() && version == LATEST,
            Filter::Alias(a) => alias == Some(a.as_str()),
            Filter::Version(v) => alias.is_none() && version == v,
            Filter::Executed(v) => version == v,
            Filter::AliasExecuted(a, v) => alias == Some(a.as_str()) && version == v,
        }
    }
}

/// What a recorded invocation contributes to the metrics.
#[derive(Debug, Clone, Copy)]
struct Sample {
    end_ms: i64,
    duration_ms: f64,
    /// Time the environment was busy (INIT + handler).
    busy_ms: f64,
    error: bool,
}

/// Everything one MetricStat aggregates, gathered once.
struct Source<'a> {
    metric: Metric,
    production: Option<Production<'a>>,
    samples: Vec<Sample>,
    throttles: Vec<i64>,
    /// The query names the alias production invokes (provisioned metrics need it).
    resource_selected: bool,
}

impl Source<'_> {
    fn samples_in(&self, start_ms: i64, end_ms: i64) -> &[Sample] {
        let a = self.samples.partition_point(|s| s.end_ms < start_ms);
        let b = self.samples.partition_point(|s| s.end_ms < end_ms);
        &self.samples[a..b]
    }

    fn backfilled(&self, start_ms: i64, end_ms: i64) -> u64 {
        self.production
            .as_ref()
            .map_or(0, |p| p.invocations_between(start_ms, end_ms))
    }

    /// The statistic over one period, or None when the period has no data.
    fn value(&self, stat: Statistic, start_ms: i64, end_ms: i64) -> Option<f64> {
        let samples = self.samples_in(start_ms, end_ms);
        match self.metric {
            Metric::Invocations => {
                let n = self.backfilled(start_ms, end_ms) + samples.len() as u64;
                counted(stat, n as f64, n as f64)
            }
            Metric::Errors => {
                let n = self.backfilled(start_ms, end_ms) + samples.len() as u64;
                let backfill_errors = self
                    .production
                    .as_ref()
                    .map_or(0, |p| p.errors_between(start_ms, end_ms));
                let errors = backfill_errors + samples.iter().filter(|s| s.error).count() as u64;
                counted(stat, errors as f64, n as f64)
            }
            Metric::Throttles => {
                let a = self.throttles.partition_point(|t| *t < start_ms);
                let b = self.throttles.partition_point(|t| *t < end_ms);
                let backfill = self
                    .production
                    .as_ref()
                    .filter(|p| p.environments().is_some())
                    .map_or(0, |p| p.sum_loads(start_ms, end_ms, |l| l.throttles));
                let n = (b - a) as f64 + backfill as f64;
                counted(stat, n, n)
            }
            Metric::Duration => {
                // CloudWatch computes a period's statistics over the values it received: the
                // backfilled invocations' drawn durations (a subsample of a busy period, each
                // standing for its share) and the lab's own.
                let mut mixture = Mixture::new();
                if let Some(p) = &self.production {
                    let (values, weight) = p.duration_sample(start_ms, end_ms);
                    mixture.add_weighted_samples(values, weight);
                }
                mixture.add_samples(samples.iter().map(|s| s.duration_ms));
                distribution_stat(&mixture, stat)
            }
            Metric::ProvisionedConcurrentExecutions
            | Metric::ProvisionedConcurrencyUtilization
            | Metric::ProvisionedConcurrencyInvocations
            | Metric::ProvisionedConcurrencySpilloverInvocations => {
                self.provisioned(start_ms, end_ms)
            }
            Metric::ConcurrentExecutions => {
                let backfill = self
                    .production
                    .as_ref()
                    .map_or(0, |p| p.peak_concurrency_between(start_ms, end_ms));
                let peak = backfill.max(peak_overlap(samples));
                (peak > 0).then_some(peak as f64)
            }
        }
    }
}

impl Source<'_> {
    /// Provisioned-concurrency metrics exist only for minutes with a level configured, on the
    /// alias or version (Resource) it is configured on. The lab's own invocations never run on
    /// provisioned environments.
    fn provisioned(&self, start_ms: i64, end_ms: i64) -> Option<f64> {
        let loads = self.production.as_ref()?.loads_between(start_ms, end_ms);
        let loads: Vec<_> = loads.iter().filter(|l| l.provisioned > 0).collect();
        if loads.is_empty() || !self.resource_selected {
            return None;
        }
        Some(match self.metric {
            Metric::ProvisionedConcurrentExecutions => {
                loads.iter().map(|l| l.provisioned_busy).max().unwrap_or(0) as f64
            }
            Metric::ProvisionedConcurrencyUtilization => loads
                .iter()
                .map(|l| l.provisioned_busy as f64 / l.provisioned as f64)
                .fold(0.0, f64::max),
            Metric::ProvisionedConcurrencyInvocations => {
                loads.iter().map(|l| l.provisioned_invocations).sum::<u64>() as f64
            }
            _ => loads.iter().map(|l| l.on_demand_invocations).sum::<u64>() as f64,
        })
    }
}

/// A count metric: each event is a sample of 1 (or 0 for an invocation without an error).
fn counted(stat: Statistic, sum: f64, samples: f64) -> Option<f64> {
    if samples == 0.0 {
        return None;
    }
    Some(match stat {
        Statistic::Sum => sum,
        Statistic::SampleCount => samples,
        Statistic::Average => sum / samples,
        Statistic::Minimum => f64::from(sum == samples),
        Statistic::Maximum => f64::from(sum > 0.0),
        Statistic::Percentile(_) | Statistic::TrimmedMean(..) => {
            unreachable!("Metric::check refuses these for count metrics")
        }
    })
}

fn distribution_stat(m: &Mixture, stat: Statistic) -> Option<f64> {
    if m.is_empty() {
        return None;
    }
    match stat {
        Statistic::Sum => Some(m.sum()),
        Statistic::SampleCount => Some(m.count()),
        Statistic::Average => Some(m.mean()),
        Statistic::Minimum => Some(m.minimum()),
        Statistic::Maximum => Some(m.maximum()),
        Statistic::Percentile(p) => Some(m.quantile(p)),
        Statistic::TrimmedMean(a, b) => m.trimmed_mean(a, b),
    }
}

/// The most invocations running at once among these.
fn peak_overlap(samples: &[Sample]) -> u32 {
    let mut edges: Vec<(f64, i32)> = samples
        .iter()
        .flat_map(|s| [(s.end_ms as f64 - s.busy_ms, 1), (s.end_ms as f64, -1)])
        .collect();
    // Ends sort before starts at the same instant: back-to-back calls reuse one environment.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut running = 0i32;
    let mut peak = 0i32;
    for (_, delta) in edges {
        running += delta;
        peak = peak.max(running);
    }
    peak as u32
}

/// CloudWatch rounds StartTime down to the resolution it keeps for data of that age.
fn rounded_start(start_ms: i64, now_ms: i64) -> i64 {
    let age = now_ms - start_ms;
    let unit = if age <= 15 * DAY_MS {
        MINUTE_MS
    } else if age <= 63 * DAY_MS {
        5 * MINUTE_MS
    } else {
        60 * MINUTE_MS
    };
    start_ms.div_euclid(unit) * unit
}

/// Whether a period can return data for a start time of this age. Lambda's metrics have
/// one-minute resolution, kept 15 days; then 5-minute data for 63 days; then hourly.
fn period_has_data(period_s: i64, start_ms: i64, now_ms: i64) -> bool {
    let age = now_ms - start_ms;
    let needed = if age > 63 * DAY_MS {
        3600
    } else if age > 15 * DAY_MS {
        300
    } else {
        60
    };
    period_s % needed == 0
}

fn validate(req: &Request) -> Result<()> {
    if req.queries.is_empty() {
        return validation("The parameter MetricDataQueries is required.");
    }
    if req.queries.len() > MAX_QUERIES {
        return validation(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        ));
    }
    if req.start_ms >= req.end_ms {
        return validation("The parameter StartTime must be less than the parameter EndTime.");
    }
    if req.max_datapoints.is_some_and(|m| m < 1) {
        return validation("The parameter MaxDatapoints must be greater than 0.");
    }
    let mut ids = HashSet::new();
    for (i, q) in req.queries.iter().enumerate() {
        let n = i + 1;
        let mut chars = q.id.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return validation(format!(
                "The value {} for parameter MetricDataQueries.member.{n}.Id is invalid: it must \
                 start with a lowercase letter and contain only letters, numbers and underscores.",
                q.id
            ));
        }
        if !ids.insert(q.id.as_str()) {
            return validation("The values for parameter id in MetricDataQueries are not unique.");
        }
        match (&q.metric_stat, &q.expression) {
            (Some(stat), None) => validate_period(stat.period_s, n)?,
            (None, Some(_)) => {
                return Err(MetricDataError::InvalidParameter(format!(
                    "MetricDataQueries.member.{n}: the lab does not evaluate metric math or \
                     Metrics Insights expressions; ask for each metric with a MetricStat"
                )))
            }
            _ => {
                return validation(format!(
                    "Exactly one of MetricStat and Expression must be set in \
                     MetricDataQueries.member.{n}."
                ))
            }
        }
    }
    if !req.queries.iter().any(|q| q.return_data) {
        return validation("At least one MetricDataQuery must have ReturnData set to true.");
    }
    Ok(())
}

fn validate_period(period_s: i64, n: usize) -> Result<()> {
    if period_s < 1 {
        return validation(format!(
            "The parameter MetricDataQueries.member.{n}.MetricStat.Period must be greater than 0."
        ));
    }
    if period_s % 60 != 0 && ![1, 5, 10, 20, 30].contains(&period_s) {
        return validation(format!(
            "The parameter MetricDataQueries.member.{n}.MetricStat.Period must be 1, 5, 10, 20, \
             30 or a multiple of 60."
        ));
    }
    Ok(())
}

/// Answers a GetMetricData request at time `now_ms`.
pub fn get_metric_data(telemetry: &Telemetry, req: &Request, now_ms: i64) -> Result<Page> {
    validate(req)?;
    let start_ms = rounded_start(req.start_ms, now_ms);
    let mut series = Vec::new();
    for q in req.queries.iter().filter(|q| q.return_data) {
        let stat = q.metric_stat.as_ref().expect("validated: a MetricStat");
        let mut points = evaluate(telemetry, stat, start_ms, req.end_ms, now_ms)?;
        if req.scan_by == ScanBy::TimestampDescending {
            points.reverse();
        }
        let label = q.label.clone().unwrap_or_else(|| stat.metric_name.clone());
        series.push(Series {
            id: q.id.clone(),
            label,
            points,
        });
    }
    paginate(req, series)
}

/// The (period start in epoch seconds, value) points of one MetricStat, oldest first.
fn evaluate(
    telemetry: &Telemetry,
    stat: &MetricStat,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
) -> Result<Vec<(i64, f64)>> {
    let statistic = Statistic::parse(&stat.stat).map_err(MetricDataError::InvalidParameter)?;
    let (Some(metric), Some(selection)) = (
        Metric::parse(&stat.metric_name),
        Selection::from_dimensions(&stat.dimensions),
    ) else {
        return Ok(Vec::new());
    };
    metric
        .check(statistic)
        .map_err(MetricDataError::InvalidParameter)?;
    let unit_matches = stat.unit.as_deref().is_none_or(|u| u == metric.unit());
    if stat.namespace != "AWS/Lambda"
        || !unit_matches
        || !period_has_data(stat.period_s, start_ms, now_ms)
    {
        return Ok(Vec::new());
    }
    let source = gather(telemetry, metric, &selection, start_ms, end_ms);
    let period_ms = stat.period_s * 1000;
    let first_data = telemetry.backfill().start_ms.max(start_ms);
    let skip = (first_data - start_ms) / period_ms;
    let last = end_ms.min(now_ms + period_ms);
    let points = (skip..)
        .map(|k| start_ms + k * period_ms)
        .take_while(|t| *t < last)
        .filter_map(|t| {
            source
                .value(statistic, t, (t + period_ms).min(end_ms))
                .map(|v| (t.div_euclid(1000), v))
        })
        .collect();
    Ok(points)
}

fn gather<'a>(
    telemetry: &'a Telemetry,
    metric: Metric,
    selection: &Selection,
    start_ms: i64,
    end_ms: i64,
) -> Source<'a> {
    let profile = telemetry.profiles.get(&selection.function);
    let production_alias = profile
        .and_then(|p| p.traffic.environments.as_ref())
        .and_then(|e| e.alias.as_deref());
    // Backfilled throttles are known function-wide only.
    let throttles_only_function_wide =
        metric == Metric::Throttles && selection.filter != Filter::All;
    let production = profile
        .filter(|_| selection.includes_backfill(production_alias) && !throttles_only_function_wide)
        .map(|p| telemetry.backfill().production(p));
    let resource_selected =
        matches!(&selection.filter, Filter::Alias(a) if Some(a.as_str()) == production_alias);
    let mut samples: Vec<Sample> = telemetry.with_invocations(&selection.function, |records| {
        records
            .iter()
            .filter(|r| r.timestamp_ms >= start_ms && r.timestamp_ms < end_ms)
            .filter(|r| selection.matches(r.alias.as_deref(), &r.version))
            .map(|r| Sample {
                end_ms: r.timestamp_ms,
                duration_ms: r.duration_ms,
                busy_ms: r.duration_ms + r.init_ms.unwrap_or(0.0),
                error: r.outcome != Outcome::Success,
            })
            .collect()
    });
    samples.sort_by_key(|s| s.end_ms);
    // The lab's own throttles count where their request was routed: an alias's throttled
    // requests are in its Resource and in the ExecutedVersion it would have run.
    let mut throttles: Vec<i64> = telemetry
        .throttles(&selection.function, start_ms, end_ms)
        .into_iter()
        .filter(|t| selection.matches(t.alias.as_deref(), &t.version))
        .map(|t| t.timestamp_ms)
        .collect();
    throttles.sort_unstable();
    Source {
        metric,
        production,
        samples,
        throttles,
        resource_selected,
    }
}

/// A token names the request it continues and how many datapoints were already returned.
fn fingerprint(req: &Request) -> u64 {
    let ids: Vec<&str> = req.queries.iter().map(|q| q.id.as_str()).collect();
    hash_of(
        req.start_ms as u64,
        &ids.join(","),
        &[req.end_ms as u64, req.scan_by as u64],
    )
}

fn encode_token(req: &Request, offset: usize) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("lab1:{:016x}:{offset}", fingerprint(req)))
}

fn decode_token(req: &Request, token: &str) -> Result<usize> {
    let invalid = || MetricDataError::InvalidNextToken("The NextToken is invalid.".into());
    let text = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.split(':');
    let (Some("lab1"), Some(fp), Some(offset), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if fp != format!("{:016x}", fingerprint(req)) {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

/// Serves the datapoints of all results, in query order, MaxDatapoints at a time.
/// One query's datapoints, in the order they are returned.
struct Series {
    id: String,
    label: String,
    points: Vec<(i64, f64)>,
}

fn paginate(req: &Request, series: Vec<Series>) -> Result<Page> {
    let offset = match req.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => decode_token(req, t)?,
        None => 0,
    };
    let max = req.max_datapoints.map_or(MAX_DATAPOINTS, |m| {
        m.clamp(1, MAX_DATAPOINTS as i64) as usize
    });
    let page_end = offset.saturating_add(max);
    let mut seen = 0usize;
    let mut results = Vec::with_capacity(series.len());
    for Series { id, label, points } in series {
        let (first, last) = (seen, seen + points.len());
        seen = last;
        let from = offset.clamp(first, last) - first;
        let to = page_end.clamp(first, last) - first;
        results.push(MetricDataResult {
            id,
            label,
            timestamps: points[from..to].iter().map(|p| p.0).collect(),
            values: points[from..to].iter().map(|p| p.1).collect(),
            status_code: if last > page_end {
                "PartialData"
            } else {
                "Complete"
            },
        });
    }
    let next_token = (seen > page_end).then(|| encode_token(req, page_end));
    Ok(Page {
        results,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_parse_like_cloudwatch() {
        assert_eq!(Statistic::parse("p99"), Ok(Statistic::Percentile(0.99)));
        let Ok(Statistic::Percentile(p)) = Statistic::parse("p99.9") else {
            panic!("p99.9 is a percentile")
        };
        assert!((p - 0.999).abs() < 1e-12);
        assert_eq!(
            Statistic::parse("tm90"),
            Ok(Statistic::TrimmedMean(0.0, 0.9))
        );
        assert_eq!(
            Statistic::parse("TM(10%:90%)"),
            Ok(Statistic::TrimmedMean(0.1, 0.9))
        );
        assert_eq!(
            Statistic::parse("TM(:95%)"),
            Ok(Statistic::TrimmedMean(0.0, 0.95))
        );
        assert_eq!(
            Statistic::parse("IQM"),
            Ok(Statistic::TrimmedMean(0.25, 0.75))
        );
        assert!(Statistic::parse("TM(100:200)")
            .unwrap_err()
            .contains("value bounds"));
        assert!(Statistic::parse("p101").is_err());
        assert!(Statistic::parse("Median").is_err());
    }

    #[test]
    fn dimensions_select_versions_and_aliases() {
        let dims = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let sel = |pairs| Selection::from_dimensions(&dims(pairs)).map(|s| s.filter);
        assert_eq!(sel(&[("FunctionName", "f")]), Some(Filter::All));
        assert_eq!(
            sel(&[("FunctionName", "f"), ("Resource", "f")]),
            Some(Filter::Unqualified)
        );
        assert_eq!(
            sel(&[("FunctionName", "f"), ("Resource", "f:live")]),
            Some(Filter::Alias("live".into()))
        );
        assert_eq!(
            sel(&[("FunctionName", "f"), ("Resource", "f:3")]),
            Some(Filter::Version("3".into()))
        );
        assert_eq!(
            sel(&[("FunctionName", "f"), ("ExecutedVersion", "2")]),
            Some(Filter::Executed("2".into()))
        );
        assert_eq!(sel(&[("FunctionName", "f"), ("Resource", "g:1")]), None);
        assert_eq!(sel(&[("Resource", "f")]), None);
    }

    #[test]
    fn periods_follow_the_resolution_of_old_data() {
        let now = 100 * DAY_MS;
        assert!(validate_period(45, 1).is_err());
        assert!(validate_period(30, 1).is_ok());
        assert!(period_has_data(60, now - DAY_MS, now));
        assert!(!period_has_data(30, now - DAY_MS, now));
        assert!(!period_has_data(60, now - 20 * DAY_MS, now));
        assert!(period_has_data(300, now - 20 * DAY_MS, now));
        assert!(!period_has_data(300, now - 70 * DAY_MS, now));
        assert_eq!(rounded_start(now - DAY_MS + 12_345, now), now - DAY_MS);
    }

    #[test]
    fn concurrency_counts_overlapping_invocations() {
        let s = |end_ms: i64, busy_ms: f64| Sample {
            end_ms,
            duration_ms: busy_ms,
            busy_ms,
            error: false,
        };
        assert_eq!(peak_overlap(&[s(100, 50.0), s(150, 50.0)]), 1);
        assert_eq!(peak_overlap(&[s(100, 50.0), s(120, 50.0), s(130, 50.0)]), 3);
        assert_eq!(peak_overlap(&[]), 0);
    }

    fn one_stat(metric: &str, dims: &[(&str, &str)], stat: &str, period_s: i64) -> Query {
        Query {
            id: "q".into(),
            label: None,
            return_data: true,
            metric_stat: Some(MetricStat {
                namespace: "AWS/Lambda".into(),
                metric_name: metric.into(),
                dimensions: dims
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                period_s,
                stat: stat.into(),
                unit: None,
            }),
            expression: None,
        }
    }

    #[test]
    fn provisioned_metrics_follow_the_environment_model_on_the_production_alias() {
        let profile = crate::profiles::ProfileSet::parse(
            "[[function]]\nname = \"api\"\nmemory_mb = 512\n[function.workload]\n\
             io_ms = 400.0\ninit_ms = 500.0\n[function.traffic]\nrequests_per_day = 200000\n\
             bursts_per_day = 4\nburst_factor = 10.0\n[function.traffic.environments]\n\
             alias = \"live\"\nprovisioned = 3\n",
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0);
        let started = 1_760_000_123_456;
        let telemetry = Telemetry::new(5, started, std::slice::from_ref(&profile));
        let backfill = telemetry.backfill();
        let loads = backfill
            .production(&profile)
            .loads_between(backfill.start_ms, backfill.end_ms);
        let ask = |metric: &str, dims: &[(&str, &str)], stat: &str, period_s: i64| {
            let req = Request {
                queries: vec![one_stat(metric, dims, stat, period_s)],
                start_ms: backfill.start_ms,
                end_ms: backfill.end_ms,
                next_token: None,
                scan_by: ScanBy::TimestampAscending,
                max_datapoints: None,
            };
            get_metric_data(&telemetry, &req, started).unwrap().results[0]
                .values
                .clone()
        };
        let alias = [("FunctionName", "api"), ("Resource", "api:live")];
        let whole = 14 * 86_400;
        let served: u64 = loads.iter().map(|l| l.provisioned_invocations).sum();
        let spilled: u64 = loads.iter().map(|l| l.on_demand_invocations).sum();
        assert_eq!(
            ask("ProvisionedConcurrencyInvocations", &alias, "Sum", whole),
            vec![served as f64]
        );
        assert_eq!(
            ask(
                "ProvisionedConcurrencySpilloverInvocations",
                &alias,
                "Sum",
                whole
            ),
            vec![spilled as f64]
        );
        assert_eq!(
            ask("ProvisionedConcurrentExecutions", &alias, "Maximum", whole),
            vec![3.0]
        );
        let per_minute = ask("ProvisionedConcurrencyUtilization", &alias, "Maximum", 60);
        assert_eq!(per_minute.len(), loads.len());
        assert!(per_minute.iter().all(|u| (0.0..=1.0).contains(u)));
        let peak = loads.iter().map(|l| l.concurrency).max().unwrap();
        assert_eq!(
            ask("ConcurrentExecutions", &alias, "Maximum", whole),
            vec![peak as f64]
        );
        // Production invokes the alias: unqualified and function-only provisioned series are
        // empty, the function-wide invocations are the alias's.
        let unqualified = [("FunctionName", "api"), ("Resource", "api")];
        assert!(ask("Invocations", &unqualified, "Sum", whole).is_empty());
        assert!(ask(
            "ProvisionedConcurrencyInvocations",
            &[("FunctionName", "api")],
            "Sum",
            whole
        )
        .is_empty());
        assert_eq!(
            ask("Invocations", &[("FunctionName", "api")], "Sum", whole),
            ask("Invocations", &alias, "Sum", whole)
        );
    }
}
