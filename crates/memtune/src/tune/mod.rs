//! Tuning one function end to end: plan sizes -> sample (sweep) -> measure -> decide.
//!
//! Takes plain options in, returns a plain [`TuneOutcome`]; printing is the caller's.

pub mod adaptive;
pub mod architectures;
pub mod canary;
pub mod cold;
pub mod confidence;
pub mod document;
pub mod plan;
pub mod production;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;

use crate::measure::{self, Failure, Outcome, Sample, SizeStats};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};
use crate::strategy::{self, RecommendError, Recommendation, Strategy};
use crate::sweep::payload::Payloads;
use crate::sweep::restore::{RestoreError, RestoreReport};
use crate::sweep::sampling::Sampling;
use crate::sweep::settle::SettleError;
use crate::sweep::{
    clone, RawInvocation, SizeRequest, SweepError, SweepEvent, SweepSetup, Sweeper,
};
use memtune_facts::pricing::{self, PriceBook};
use memtune_facts::Architecture;
use plan::SizePlan;

/// Everything a tuning run of one function needs to know.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    pub run_id: String,
    pub strategy: Strategy,
    pub search: Search,
    pub invocations: u32,
    pub warmup: u32,
    pub payloads: Payloads,
    /// Region whose prices apply.
    pub region: String,
    /// Fraction of production invocations that start cold, for weighting INIT cost.
    pub cold_start_ratio: f64,
    pub state_dir: std::path::PathBuf,
    pub endpoint_url: Option<String>,
    /// The role the sweep acts as, for its journal.
    pub role: Option<crate::platform::assume::AssumedRole>,
    pub settle_timeout: Duration,
    pub seed: u64,
    /// Production's invocations per month, for the savings per month a change is worth.
    pub monthly_invocations: Option<f64>,
    /// Every sample on a fresh execution environment (grid search only): the statistics are
    /// of INIT plus the first invocation.
    pub cold_starts: bool,
    /// Where the sweep runs: the function itself, or a temporary copy of it.
    pub isolation: Isolation,
    /// Pauses between invocations and errors that count as successes.
    pub sampling: Sampling,
    /// The S3 bucket a copy's package larger than CreateFunction takes inline is staged in.
    pub staging_bucket: Option<String>,
}

/// Where a sweep samples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Versions of the function itself ($LATEST changes for seconds per batch).
    #[default]
    InPlace,
    /// A temporary copy, on this architecture (None: the function's own); the function is
    /// only read.
    Clone { architecture: Option<String> },
}

/// How sizes are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// Exactly these sizes (AWS Lambda Power Tuning's way).
    Grid(SizePlan),
    /// Fit the curve and sample where the decision is open.
    Adaptive(adaptive::AdaptiveLimits),
}

impl Search {
    /// Raises the smallest size considered (memory headroom over what production uses),
    /// unless that would leave nothing to sample.
    pub fn raise_min_mb(&mut self, floor: u32) {
        let (min_mb, max_mb) = match self {
            Search::Grid(plan) => (&mut plan.min_mb, plan.max_mb),
            Search::Adaptive(limits) => (&mut limits.min_mb, limits.max_mb),
        };
        if floor > *min_mb && floor <= max_mb {
            *min_mb = floor;
        }
    }

    /// Lets an adaptive search take its percentiles from production's durations and locate
    /// sizes by their medians (a grid reports what it measured).
    pub fn use_production_tail(&mut self, tail: Option<crate::fit::ProductionTail>) {
        if let Search::Adaptive(limits) = self {
            limits.production_tail = tail;
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Search::Grid(_) => "grid",
            Search::Adaptive(_) => "adaptive",
        }
    }
}

/// What the exploration itself cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exploration {
    pub invocations: u64,
    pub gb_seconds: f64,
    pub usd: f64,
    /// Invocations that failed for reasons outside the function (throttles, 5xx, network).
    pub platform_failures: u64,
}

/// The result of tuning one function.
#[derive(Debug)]
pub struct TuneOutcome {
    pub run_id: String,
    pub original: FunctionConfig,
    /// The architecture the sizes were measured on.
    pub architecture: Architecture,
    /// The temporary copy sampled instead of the function (`--isolate clone`), now deleted.
    pub copy: Option<String>,
    /// SnapStart: how long each published version took to be ready (its snapshot), by size.
    pub snapshot_waits: Vec<(u32, Duration)>,
    pub strategy: Strategy,
    pub search: &'static str,
    pub sizes: Vec<SizeStats>,
    /// The fitted duration curve (adaptive search).
    pub fit: Option<adaptive::FitSummary>,
    pub recommendation: Result<Recommendation, RecommendError>,
    pub exploration: Exploration,
    pub restore: RestoreReport,
    /// Why REPORT lines were missing, when they were.
    pub missing_report: Option<String>,
    pub payload: crate::sweep::payload::PayloadKind,
}

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("{0}")]
    Sweep(#[from] SweepError),
    #[error("restoring failed: {0}")]
    Restore(#[from] RestoreError),
    #[error("{0}")]
    Pricing(#[from] pricing::PricingError),
    #[error("sampling failed ({sweep}); restored: {restored}")]
    SweepThenRestored { sweep: SweepError, restored: String },
    #[error("{function} failed at every size: {detail}")]
    FailedEverywhere {
        function: String,
        detail: String,
        /// What the failing invocations still cost.
        exploration: Exploration,
    },
    #[error("{0}")]
    Invalid(String),
    /// The copy on another architecture fails at INIT: the code is not portable to it.
    #[error(
        "{function} does not run on {architecture}: INIT fails with {error_type} (not portable)"
    )]
    NotPortable {
        function: String,
        architecture: String,
        error_type: String,
        exploration: Exploration,
    },
}

/// What was sampled, once the sweep's changes are put back: a failed restore outranks a failed
/// sweep, and a failed sweep says what was restored.
// The async tune functions return the same TuneError unboxed; only a sync fn trips the lint.
#[allow(clippy::result_large_err)]
fn sampled_then_restored<T>(
    sampled: Result<T, SweepError>,
    restore: Result<RestoreReport, RestoreError>,
) -> Result<(T, RestoreReport), TuneError> {
    match (sampled, restore) {
        (Ok(sampled), Ok(restore)) => Ok((sampled, restore)),
        (Err(sweep), Ok(restore)) => Err(TuneError::SweepThenRestored {
            sweep,
            restored: crate::sweep::restore::describe(&restore),
        }),
        (_, Err(e)) => Err(e.into()),
    }
}

impl TuneError {
    /// What was spent before the failure, when it is known.
    pub fn exploration(&self) -> Option<&Exploration> {
        match self {
            TuneError::FailedEverywhere { exploration, .. }
            | TuneError::NotPortable { exploration, .. } => Some(exploration),
            _ => None,
        }
    }

    /// The AWS error at the root of this failure, if there is one.
    pub fn platform_cause(&self) -> Option<&PlatformError> {
        let sweep = match self {
            TuneError::Sweep(s) | TuneError::SweepThenRestored { sweep: s, .. } => s,
            _ => return None,
        };
        match sweep {
            SweepError::Platform(p) | SweepError::Settle(SettleError::Platform(p)) => Some(p),
            _ => None,
        }
    }
}

/// Progress callback: the sweep's events.
pub type OnEvent = dyn Fn(SweepEvent) + Send + Sync;

pub fn architecture(config: &FunctionConfig) -> Architecture {
    if config.architecture == "arm64" {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

/// The USD cost of one invocation at `memory_mb` billed for `billed_ms`, request included.
pub fn cost_fn<'a>(
    book: &'a PriceBook,
    region: &'a str,
    arch: Architecture,
) -> Result<impl Fn(u32, f64) -> f64 + 'a, pricing::PricingError> {
    let prices = book.region(region)?;
    prices.rate(arch)?;
    Ok(move |memory_mb: u32, billed_ms: f64| {
        prices
            .invocation_cost(memory_mb, billed_ms, 0.0, arch)
            .unwrap_or(f64::NAN)
    })
}

/// Tunes one function: the sweep runs between `Sweeper::begin` and `Sweeper::finish`, and
/// `finish` (restore and clean-up) runs whatever happens in between.
pub async fn tune<A: LambdaApi>(
    api: &A,
    book: &PriceBook,
    function: &str,
    options: &TuneOptions,
    in_flight: Arc<Semaphore>,
    on_event: &OnEvent,
) -> Result<TuneOutcome, TuneError> {
    let setup = SweepSetup {
        state_dir: &options.state_dir,
        run_id: &options.run_id,
        function,
        region: Some(options.region.clone()),
        endpoint_url: options.endpoint_url.clone(),
        role: options.role.clone(),
        payloads: options.payloads.clone(),
        in_flight,
        settle_timeout: options.settle_timeout,
        seed: options.seed,
        sampling: options.sampling.clone(),
    };
    // With a copy, `sampled_on` is the copy and `original` the function it copies, which
    // the recommendation is about.
    let (mut sweeper, original) = match &options.isolation {
        Isolation::InPlace => {
            let sweeper = Sweeper::begin(api, setup).await?;
            let original = sweeper.original().clone();
            (sweeper, original)
        }
        Isolation::Clone { architecture } => {
            let copy = clone::create(
                api,
                &setup,
                architecture.as_deref(),
                options.staging_bucket.as_deref(),
            )
            .await?;
            let sweeper = Sweeper::with_journal(api, setup, copy.journal, copy.config);
            (sweeper, copy.source)
        }
    };
    let sampled_on = sweeper.original().clone();
    let arch = architecture(&sampled_on);
    let cost_of = cost_fn(book, &options.region, arch)?;
    let mut stats_options = options
        .strategy
        .stats_options(original.timeout_s as f64 * 1000.0);
    stats_options.cold_start_ratio = options.cold_start_ratio;
    stats_options.seed = options.seed;
    let sampled = match &options.search {
        Search::Grid(plan) if options.cold_starts => {
            let (batch, _) = cold::plan(&plan.sizes(original.memory_mb), options.invocations);
            sweeper
                .sample(&batch, &stop_when_failing, on_event)
                .await
                .map(|raw| adaptive::Explored {
                    raw,
                    fit: None,
                    model: None,
                })
        }
        Search::Adaptive(_) if options.cold_starts => Err(SweepError::Refused(
            "--cold-starts samples a grid: use --search grid or --sizes".into(),
        )),
        Search::Grid(plan) => {
            let batch: Vec<SizeRequest> = plan
                .sizes(original.memory_mb)
                .into_iter()
                .map(|memory_mb| SizeRequest {
                    memory_mb,
                    invocations: options.invocations,
                    warmup: options.warmup,
                })
                .collect();
            sweeper
                .sample(&batch, &stop_when_failing, on_event)
                .await
                .map(|raw| adaptive::Explored {
                    raw,
                    fit: None,
                    model: None,
                })
        }
        Search::Adaptive(limits) => {
            let objectives = adaptive::Objectives {
                strategy: &options.strategy,
                cost_of: &cost_of,
                stats: &stats_options,
                timeout_ms: original.timeout_s as f64 * 1000.0,
                current_mb: Some(original.memory_mb),
            };
            adaptive::explore(&mut sweeper, &objectives, limits, on_event).await
        }
    };
    let snapshot_waits = sweeper.snapshot_waits().to_vec();
    let raw = sampled_then_restored(sampled, sweeper.finish().await)?;
    let (adaptive::Explored { raw, fit, model }, restore) = raw;
    let samples = observe(&raw);
    let exploration = exploration_cost(&raw, &samples, &cost_of);
    let measured: Vec<Sample> = samples.into_iter().flatten().collect();
    let sizes = match &options.search {
        Search::Grid(plan) if options.cold_starts => {
            let (_, nominal) = cold::plan(&plan.sizes(original.memory_mb), options.invocations);
            let (measured, init) = cold::as_measurements(measured, &nominal);
            // INIT is in each measurement (and its billed duration) already.
            stats_options.cold_start_ratio = 0.0;
            let mut sizes = measure::size_stats(&measured, &stats_options, &cost_of);
            cold::restore_init(&mut sizes, &init);
            sizes
        }
        _ => measure::size_stats(&measured, &stats_options, &cost_of),
    };
    let missing_report = missing_report(&raw, &original);
    if sizes.iter().all(|s| s.successes == 0) {
        if let Some(error_type) = init_failure_elsewhere(&sizes, &sampled_on, &original) {
            return Err(TuneError::NotPortable {
                function: original.name.clone(),
                architecture: sampled_on.architecture.clone(),
                error_type,
                exploration,
            });
        }
        return Err(TuneError::FailedEverywhere {
            function: original.name.clone(),
            detail: missing_report.unwrap_or_else(|| failure_summary(&sizes, &raw)),
            exploration,
        });
    }
    let decide_on = match &model {
        Some(model) => adaptive::smoothed(&sizes, model, &cost_of, &stats_options),
        None => sizes.clone(),
    };
    adaptive::trace_sizes("decision", &decide_on, &options.strategy);
    let baseline = strategy::Baseline {
        memory_mb: original.memory_mb,
        measured: &sizes,
        monthly_invocations: options.monthly_invocations,
    };
    let recommendation = strategy::recommend(&options.strategy, &decide_on, Some(&baseline));
    Ok(TuneOutcome {
        run_id: options.run_id.clone(),
        copy: (sampled_on.name != original.name).then(|| sampled_on.name.clone()),
        snapshot_waits,
        architecture: arch,
        original,
        strategy: options.strategy.clone(),
        search: options.search.name(),
        sizes,
        fit,
        recommendation,
        exploration,
        restore,
        missing_report,
        payload: options.payloads.kind(),
    })
}

/// The errors with which a runtime that cannot load code fails INIT.
const INIT_LOAD_ERRORS: [&str; 2] = ["Runtime.InvalidEntrypoint", "Runtime.ImportModuleError"];

/// On a copy on another architecture than the original's, every invocation failed at INIT
/// loading the code: the error type, as not-portable code fails.
fn init_failure_elsewhere(
    sizes: &[SizeStats],
    sampled_on: &FunctionConfig,
    original: &FunctionConfig,
) -> Option<String> {
    if sampled_on.architecture == original.architecture {
        return None;
    }
    let mut types = sizes.iter().flat_map(|s| {
        let f = &s.failures;
        let other = f.out_of_memory + f.timeout;
        let kinds = f.function_errors.keys().map(String::as_str);
        kinds.chain((other > 0).then_some("other"))
    });
    let first = types.next()?;
    let all_same = types.all(|t| t == first);
    (all_same && INIT_LOAD_ERRORS.contains(&first)).then(|| first.to_string())
}

/// Stops sampling a size after two out-of-memory kills or timeouts: it is infeasible, and
/// more invocations would only cost money.
pub(crate) fn stop_when_failing(so_far: &[RawInvocation]) -> bool {
    let failing = so_far
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|r| {
            let log = r.log_tail.as_deref().unwrap_or("");
            let report = measure::parse_report(log);
            measure::classify(
                r.function_error.as_deref(),
                &r.payload,
                report.as_ref(),
                log,
            )
        })
        .filter(|o| {
            matches!(
                o,
                Outcome::Failure(Failure::OutOfMemory) | Outcome::Failure(Failure::Timeout)
            )
        })
        .count();
    failing >= 2
}

/// Parses each invocation; warm-ups and platform failures yield no sample.
pub(crate) fn observe(raw: &[RawInvocation]) -> Vec<Option<Sample>> {
    raw.iter()
        .map(|r| match (&r.result, r.warmup) {
            (Ok(resp), false) => Some(Sample::observe(
                r.memory_mb,
                resp.function_error.as_deref(),
                &resp.payload,
                resp.log_tail.as_deref().unwrap_or(""),
            )),
            _ => None,
        })
        .collect()
}

fn exploration_cost(
    raw: &[RawInvocation],
    samples: &[Option<Sample>],
    cost_of: &dyn Fn(u32, f64) -> f64,
) -> Exploration {
    let mut e = Exploration::default();
    for (r, sample) in raw.iter().zip(samples) {
        e.invocations += 1;
        let billed = match (&r.result, sample) {
            (Err(_), _) => {
                e.platform_failures += 1;
                continue;
            }
            (Ok(_), Some(s)) => s.report.as_ref().map(|rep| rep.billed_ms as f64),
            (Ok(resp), None) => measure::parse_report(resp.log_tail.as_deref().unwrap_or(""))
                .map(|rep| rep.billed_ms as f64),
        };
        let billed = billed.unwrap_or(0.0);
        e.gb_seconds += pricing::gb_seconds(r.memory_mb, billed);
        e.usd += cost_of(r.memory_mb, billed);
    }
    e
}

fn missing_report(raw: &[RawInvocation], original: &FunctionConfig) -> Option<String> {
    let answered: Vec<&str> = raw
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|r| r.log_tail.as_deref().unwrap_or(""))
        .collect();
    let without = answered
        .iter()
        .filter(|log| measure::parse_report(log).is_none())
        .count();
    if answered.is_empty() || without < answered.len() {
        return None;
    }
    let diagnosis = measure::diagnose_missing_report(
        answered[0],
        &original.log_format,
        original.system_log_level.as_deref(),
    );
    Some(format!("no invocation returned a REPORT line: {diagnosis}"))
}

fn failure_summary(sizes: &[SizeStats], raw: &[RawInvocation]) -> String {
    let platform: Vec<String> = raw
        .iter()
        .filter_map(|r| r.result.as_ref().err())
        .map(PlatformError::to_string)
        .take(1)
        .collect();
    if let Some(first) = platform.first() {
        return format!("invocations failed: {first}");
    }
    sizes
        .iter()
        .map(|s| {
            let f = &s.failures;
            format!(
                "{} MB: {} out of memory, {} timed out, {} errors",
                s.memory_mb,
                f.out_of_memory,
                f.timeout,
                f.function_errors.values().sum::<usize>()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
