//! Measuring a chain: each function swept alone at a few sizes with its hop payload (the
//! sweep's own journal, restore and RevisionId checks), each caller's own work recovered
//! from its `CALL` lines and its callees' REPORT lines (Logs Insights), and one curve fitted
//! per function to its own work, with its INIT from the cold start opening each size.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::init::InitFit;
use super::own_work::{calls, own_ms, Call};
use crate::fit::{fit, Fit, FitError, SizeSamples};
use crate::fleet::config::chains::Chain;
use crate::measure::parse_report;
use crate::platform::logs::{log_group_of, run_query, LogsApi, QueryError};
use crate::platform::{FunctionConfig, LambdaApi};
use crate::sweep::sampling::Sampling;
use crate::sweep::{RawInvocation, SizeRequest, SweepError, SweepEvent, SweepSetup, Sweeper};

/// How each function of the chain is measured.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub run_id: String,
    pub region: String,
    pub state_dir: PathBuf,
    pub endpoint_url: Option<String>,
    pub role: Option<crate::platform::assume::AssumedRole>,
    pub settle_timeout: Duration,
    pub seed: u64,
    /// Sizes each function is swept at.
    pub sizes: Vec<u32>,
    /// Warm invocations per size (after the cold one that opens it).
    pub invocations: u32,
    pub sampling: Sampling,
    /// How long a Logs Insights query for the callees' REPORT lines may run.
    pub query_limit: Duration,
}

/// One function of the chain as measured.
#[derive(Debug, Clone)]
pub struct HopMeasurement {
    pub function: String,
    /// Its configuration before the sweep (what apply changes and rollback restores).
    pub config: FunctionConfig,
    /// Fitted to its own work.
    pub fit: Fit,
    pub init: InitFit,
    /// Warm invocations whose own work was measured, and those left out with why.
    pub samples: usize,
    pub left_out: Vec<String>,
    pub invocations: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("{function}: {source}")]
    Sweep {
        function: String,
        source: SweepError,
    },
    #[error(
        "{function}: the sweep's changes could not all be undone: {message}; run `memtune restore`"
    )]
    Restore { function: String, message: String },
    #[error("{function}: reading its callees' REPORT lines: {source}")]
    Query {
        function: String,
        source: QueryError,
    },
    #[error("{function}: {source}")]
    Fit { function: String, source: FitError },
    #[error("{function}: own work measured for {measured} of {total} invocations ({example}): check that it logs one CALL line per call")]
    TooFewMatched {
        function: String,
        measured: usize,
        total: usize,
        example: String,
    },
}

/// Sweeps each function of the chain, callers before their callees (`Chain::functions`);
/// each is restored before the next starts.
pub async fn measure<A: LambdaApi, G: LogsApi>(
    api: &A,
    logs: &G,
    chain: &Chain,
    options: &MeasureOptions,
    in_flight: Arc<Semaphore>,
    on_event: &(dyn Fn(&str, SweepEvent) + Send + Sync),
) -> Result<Vec<HopMeasurement>, MeasureError> {
    let mut hops = Vec::new();
    for function in chain.functions() {
        let on = |e: SweepEvent| on_event(function, e);
        let stages = chain.stages_of(function);
        hops.push(
            measure_one(
                api,
                logs,
                chain,
                function,
                stages,
                options,
                in_flight.clone(),
                &on,
            )
            .await?,
        );
    }
    Ok(hops)
}

#[allow(clippy::too_many_arguments)]
async fn measure_one<A: LambdaApi, G: LogsApi>(
    api: &A,
    logs: &G,
    chain: &Chain,
    function: &str,
    stages: &[Vec<String>],
    options: &MeasureOptions,
    in_flight: Arc<Semaphore>,
    on_event: &(dyn Fn(SweepEvent) + Send + Sync),
) -> Result<HopMeasurement, MeasureError> {
    let sweep_err = |source| MeasureError::Sweep {
        function: function.to_string(),
        source,
    };
    let setup = SweepSetup {
        state_dir: &options.state_dir,
        run_id: &options.run_id,
        function,
        region: Some(options.region.clone()),
        endpoint_url: options.endpoint_url.clone(),
        role: options.role.clone(),
        payloads: chain.payloads[function].clone(),
        in_flight,
        settle_timeout: options.settle_timeout,
        seed: options.seed,
        sampling: options.sampling.clone(),
    };
    let started = chrono::Utc::now().timestamp();
    let mut sweeper = Sweeper::begin(api, setup).await.map_err(sweep_err)?;
    let config = sweeper.original().clone();
    // No warm-up: the first invocation of each freshly published size is its cold start.
    let batch: Vec<SizeRequest> = options
        .sizes
        .iter()
        .map(|&memory_mb| SizeRequest {
            memory_mb,
            invocations: options.invocations + 1,
            warmup: 0,
        })
        .collect();
    let sampled = sweeper.sample(&batch, &|_| false, on_event).await;
    let restored = sweeper.finish().await;
    let raw = sampled.map_err(sweep_err)?;
    restored.map_err(|e| MeasureError::Restore {
        function: function.to_string(),
        message: e.to_string(),
    })?;
    let ended = chrono::Utc::now().timestamp();
    let callees: Vec<String> = stages.iter().flatten().cloned().collect();
    let callee_ms = if callees.is_empty() {
        HashMap::new()
    } else {
        callee_durations(
            logs,
            &callees,
            (started - 60, ended + 60),
            options.query_limit,
        )
        .await
        .map_err(|source| MeasureError::Query {
            function: function.to_string(),
            source,
        })?
    };
    let own = own_work(&raw, stages, &callee_ms);
    if own.measured.len() * 2 < own.total {
        return Err(MeasureError::TooFewMatched {
            function: function.to_string(),
            measured: own.measured.len(),
            total: own.total,
            example: own.left_out.first().cloned().unwrap_or_default(),
        });
    }
    let samples: Vec<SizeSamples> = options
        .sizes
        .iter()
        .map(|&memory_mb| SizeSamples {
            memory_mb,
            warm_ms: own
                .measured
                .iter()
                .filter(|(m, _)| *m == memory_mb)
                .map(|(_, ms)| *ms)
                .collect(),
        })
        .filter(|s| !s.warm_ms.is_empty())
        .collect();
    let fitted = fit(&samples).map_err(|source| MeasureError::Fit {
        function: function.to_string(),
        source,
    })?;
    Ok(HopMeasurement {
        function: function.to_string(),
        config,
        fit: fitted,
        init: InitFit::new(&own.inits),
        samples: own.measured.len(),
        left_out: own.left_out,
        invocations: raw.len() as u64,
    })
}

/// Own work per warm invocation, INIT per cold one, and what was left out.
struct OwnWork {
    measured: Vec<(u32, f64)>,
    inits: Vec<(u32, f64)>,
    left_out: Vec<String>,
    total: usize,
}

fn own_work(
    raw: &[RawInvocation],
    stages: &[Vec<String>],
    callee_ms: &HashMap<String, f64>,
) -> OwnWork {
    let mut work = OwnWork {
        measured: Vec::new(),
        inits: Vec::new(),
        left_out: Vec::new(),
        total: 0,
    };
    for r in raw {
        let Ok(response) = &r.result else {
            continue;
        };
        let log = response.log_tail.as_deref().unwrap_or("");
        let Some(report) = parse_report(log) else {
            continue;
        };
        if response.function_error.is_some() {
            continue;
        }
        if let Some(init) = report.init_ms {
            work.inits.push((r.memory_mb, init));
            continue;
        }
        work.total += 1;
        let made: Vec<Call> = calls(log);
        match own_ms(report.duration_ms, &made, callee_ms, stages) {
            Ok(ms) => work.measured.push((r.memory_mb, ms)),
            Err(why) => work.left_out.push(format!("{}: {why}", report.request_id)),
        }
    }
    work
}

/// What each callee request took (its Duration plus its INIT when cold: the caller waited
/// for both), by request id, from the callees' REPORT lines.
async fn callee_durations<G: LogsApi>(
    logs: &G,
    callees: &[String],
    window: (i64, i64),
    limit: Duration,
) -> Result<HashMap<String, f64>, QueryError> {
    let groups: Vec<String> = callees.iter().map(|c| log_group_of(c)).collect();
    let query =
        "fields @requestId, @duration, @initDuration | filter @type = \"REPORT\" | limit 10000";
    let output = run_query(logs, &groups, query, window, limit).await?;
    Ok(output
        .rows
        .iter()
        .filter_map(|row| {
            let field = |name: &str| row.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
            let id = field("@requestId")?.to_string();
            let duration: f64 = field("@duration")?.parse().ok()?;
            let init: f64 = field("@initDuration")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            Some((id, duration + init))
        })
        .collect())
}

/// What was measured of one function, for the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeasuredHop {
    pub function: String,
    pub invocations: u64,
    /// Warm invocations whose own work was measured.
    pub samples: usize,
    /// Those left out, each with why.
    pub left_out: Vec<String>,
    pub model: String,
}

impl From<&HopMeasurement> for MeasuredHop {
    fn from(m: &HopMeasurement) -> MeasuredHop {
        MeasuredHop {
            function: m.function.clone(),
            invocations: m.invocations,
            samples: m.samples,
            left_out: m.left_out.clone(),
            model: m.fit.model().as_str().to_string(),
        }
    }
}

/// A chain run as the reports render it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChainRun {
    pub run_id: String,
    pub region: String,
    pub decision: super::ChainDecision,
    pub measured: Vec<MeasuredHop>,
}
