//! Running the jobs: many functions at once, every invocation within the shared budget, the
//! biggest spenders first, and no new function started once the deadline or `max_usd` is
//! reached (functions in flight finish).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::budget::InvocationBudget;
use super::budgeted::Budgeted;
use super::config::FleetConfig;
use super::jobs::Job;
use super::outcome::{FunctionResult, RunTotals};
use super::retune::RetunePolicy;
use crate::platform::assume::AssumedRole;
use crate::platform::cloudwatch::AwsCloudWatch;
use crate::platform::logs::AwsLogs;
use crate::platform::LambdaApi;
use crate::sweep::{SweepError, SweepEvent};
use crate::tune::architectures::tune_architectures;
use crate::tune::canary::backoff::BackOffLimits;
use crate::tune::canary::plan::DEFAULT_SAMPLES;
use crate::tune::canary::sampler::CanarySettings;
use crate::tune::canary::traffic::Traffic;
use crate::tune::canary::{self, PrepareError};
use crate::tune::production::Production;
use crate::tune::{self, document, TuneError, TuneOptions};
use memtune_facts::pricing::PriceBook;

/// Where and how the run works; the same for every function.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub run_id: String,
    pub region: String,
    pub state_dir: PathBuf,
    pub endpoint_url: Option<String>,
    /// The role the run acts as (a `[[target]]`), for the journals.
    pub role: Option<AssumedRole>,
    pub settle_timeout: Duration,
    pub concurrent_functions: usize,
    pub cold_start_ratio: f64,
    pub seed: u64,
    pub max_usd: Option<f64>,
    pub deadline: Option<Duration>,
    /// Production figures by function name (CloudWatch), where they could be read: the
    /// measured cold-start ratio wins over `cold_start_ratio`, max memory used sets a floor,
    /// monthly invocations give savings per month.
    pub production: Arc<BTreeMap<String, Production>>,
    /// Which functions are not tuned again (history).
    pub retune: Arc<RetunePolicy>,
    /// What functions tuned on production traffic (`traffic = ...`) read it with; without
    /// them such functions are skipped.
    pub canary: Option<CanaryClients>,
}

/// CloudWatch and Logs for canary runs, and when a canary is taken out.
#[derive(Debug, Clone)]
pub struct CanaryClients {
    pub metrics: AwsCloudWatch,
    pub logs: AwsLogs,
    pub limits: BackOffLimits,
}

impl CanaryClients {
    pub fn new(sdk: &aws_config::SdkConfig, config: &FleetConfig) -> CanaryClients {
        CanaryClients {
            metrics: AwsCloudWatch::new(sdk),
            logs: AwsLogs::new(sdk),
            limits: config.tuning.canary_limits,
        }
    }
}

impl RunSettings {
    /// The settings a fleet config gives a run with this id, in this region and state
    /// directory; no production figures and no re-tune policy yet.
    pub fn for_config(
        config: &FleetConfig,
        run_id: String,
        region: String,
        state_dir: PathBuf,
        endpoint_url: Option<String>,
    ) -> RunSettings {
        RunSettings {
            run_id,
            region,
            state_dir,
            endpoint_url,
            role: None,
            settle_timeout: Duration::from_secs(180),
            concurrent_functions: config.limits.concurrent_functions as usize,
            cold_start_ratio: config.tuning.cold_start_ratio,
            seed: config.tuning.seed,
            max_usd: config.limits.max_usd,
            deadline: config.limits.deadline,
            production: Default::default(),
            retune: Default::default(),
            canary: None,
        }
    }
}

impl RunSettings {
    /// Marks a result of a `[[target]]` run with the account (its role's) and the region.
    pub fn place(&self, result: &mut FunctionResult) {
        if let Some(role) = &self.role {
            // arn:aws:iam::ACCOUNT:role/NAME
            result.account = role.role_arn.split(':').nth(4).map(str::to_string);
            result.region = Some(self.region.clone());
        }
    }
}

/// Progress, for a bar or a log.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The plan is made: this many functions to tune, this many invocations in flight at most.
    Planned {
        jobs: usize,
        budget: usize,
    },
    Invoked,
    /// A function finished (tuned, failed, or skipped when its turn came). `position` is its
    /// place in the run's order (priority first); nothing keeps the result after this.
    Finished {
        position: usize,
        result: &'a FunctionResult,
    },
    /// A function the plan leaves out (excluded, beyond `max_functions`, not due again),
    /// told once before the sweep starts.
    NotTuned {
        position: usize,
        result: &'a FunctionResult,
    },
}

/// Shared with every sweep's event callback, which must own what it holds.
pub type OnProgress = Arc<dyn Fn(Progress) + Send + Sync>;

/// What every function's task shares.
struct Shared<A: LambdaApi> {
    api: Budgeted<A>,
    book: PriceBook,
    settings: RunSettings,
    on_progress: OnProgress,
    started: Instant,
    spent_usd: Mutex<f64>,
}

/// Tunes `jobs` (already in priority order), `concurrent_functions` at a time, each in its own
/// task so a slow step of one sweep (an fsync, a burst of statistics) holds up no other.
/// Each result goes to `on_progress` as [`Progress::Finished`] and is dropped: only the
/// functions in flight and the totals stay in memory.
pub async fn execute<A: LambdaApi + Clone + 'static>(
    api: &A,
    book: &PriceBook,
    jobs: Vec<Job>,
    budget: Arc<InvocationBudget>,
    settings: &RunSettings,
    on_progress: &OnProgress,
) -> RunTotals {
    let shared = Arc::new(Shared {
        api: Budgeted {
            inner: api.clone(),
            budget,
        },
        book: book.clone(),
        settings: settings.clone(),
        on_progress: on_progress.clone(),
        started: Instant::now(),
        spent_usd: Mutex::new(0.0),
    });
    let mut pending = jobs.into_iter().enumerate();
    // Dropping the set (Ctrl-C) aborts every task; the caller restores from the journals.
    let mut tasks = JoinSet::new();
    let mut totals = RunTotals::default();
    loop {
        while tasks.len() < settings.concurrent_functions.max(1) {
            let Some((i, job)) = pending.next() else {
                break;
            };
            tasks.spawn(run_job(shared.clone(), i, job));
        }
        match tasks.join_next().await {
            None => break,
            Some(Ok(done)) => totals.add(&done),
            Some(Err(e)) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Cancelled: the runtime is shutting down.
                Err(_) => break,
            },
        }
    }
    totals
}

async fn run_job<A: LambdaApi>(shared: Arc<Shared<A>>, index: usize, job: Job) -> FunctionResult {
    let spent = |add: f64| {
        let mut total = shared.spent_usd.lock().unwrap_or_else(|e| e.into_inner());
        *total += add;
        *total
    };
    let payload_sha256 = job.payloads.digest();
    let mut result = match stop_reason(&shared.settings, shared.started.elapsed(), spent(0.0)) {
        Some(reason) => FunctionResult::skipped(job.function, reason),
        None => tune_one(&shared, job, index as u64).await,
    };
    result.payload_sha256 = Some(payload_sha256);
    shared.settings.place(&mut result);
    if let Some(d) = &result.document {
        spent(d.exploration.usd);
    }
    (shared.on_progress)(Progress::Finished {
        position: index,
        result: &result,
    });
    result
}

/// Why no further function may start, if a limit is reached.
fn stop_reason(settings: &RunSettings, elapsed: Duration, spent_usd: f64) -> Option<String> {
    if let Some(deadline) = settings.deadline.filter(|d| elapsed >= *d) {
        return Some(format!(
            "not started: the run's deadline ({} s) had passed",
            deadline.as_secs()
        ));
    }
    settings
        .max_usd
        .filter(|max| spent_usd >= *max)
        .map(|max| format!("not started: the run had spent ${spent_usd:.4} of max_usd ${max}"))
}

/// Tunes one function on its alias's production traffic (`traffic = "ALIAS:SHARE"`).
async fn canary_one<A: LambdaApi>(
    shared: &Shared<A>,
    function: crate::platform::FunctionConfig,
    traffic: &Traffic,
    options: &TuneOptions,
    production: Option<&Production>,
) -> FunctionResult {
    let Some(clients) = &shared.settings.canary else {
        return FunctionResult::skipped(
            function,
            "traffic = ... needs CloudWatch and Logs, which this run does not read",
        );
    };
    let prepared = match canary::prepare(
        &shared.api,
        &clients.metrics,
        &function.name,
        &traffic.alias,
    )
    .await
    {
        Ok(p) => p,
        Err(PrepareError::Platform(e)) => return FunctionResult::failed(function, e.to_string()),
        Err(refused) => return FunctionResult::skipped(function, refused.to_string()),
    };
    let mut settings = CanarySettings::new(traffic, clients.limits, DEFAULT_SAMPLES);
    let plan = canary::plan(&prepared, &settings, &options.strategy, &options.search);
    if settings.wait_for(&plan).is_none() {
        return FunctionResult::skipped(
            function,
            format!(
                "alias {} served no requests in the last hour: a canary needs production traffic",
                traffic.alias
            ),
        );
    }
    let clients3 = (&shared.api, &clients.metrics, &clients.logs);
    match canary::tune(
        clients3,
        &shared.book,
        &prepared,
        options,
        settings,
        &|_| {},
    )
    .await
    {
        Ok(outcome) => {
            let mut doc = document::document(&outcome.tuned, &shared.settings.region);
            doc.traffic = Some(outcome.traffic);
            if let Some(p) = production {
                document::add_production(&mut doc, p);
            }
            FunctionResult::tuned(function, doc)
        }
        Err(TuneError::Sweep(SweepError::Refused(reason))) => {
            FunctionResult::skipped(function, reason)
        }
        Err(e) => FunctionResult::failed(function, e.to_string()),
    }
}

async fn tune_one<A: LambdaApi>(shared: &Shared<A>, mut job: Job, index: u64) -> FunctionResult {
    let settings = &shared.settings;
    let production = settings.production.get(&job.function.name);
    if let Some(floor) = production.and_then(|p| p.memory_floor_mb(job.strategy.memory_headroom)) {
        job.search.raise_min_mb(floor);
    }
    job.search
        .use_production_tail(production.and_then(|p| p.tail()));
    let options = TuneOptions {
        run_id: settings.run_id.clone(),
        strategy: job.strategy,
        search: job.search,
        invocations: job.invocations,
        warmup: job.warmup,
        payloads: job.payloads,
        region: settings.region.clone(),
        cold_start_ratio: production
            .and_then(|p| p.cold_start_ratio)
            .unwrap_or(settings.cold_start_ratio),
        state_dir: settings.state_dir.clone(),
        endpoint_url: settings.endpoint_url.clone(),
        role: settings.role.clone(),
        settle_timeout: settings.settle_timeout,
        seed: settings.seed.wrapping_add(index),
        monthly_invocations: production.map(|p| p.monthly_invocations),
        cold_starts: job.cold_starts,
        isolation: job.isolation,
        sampling: job.sampling,
        staging_bucket: job.staging_bucket,
    };
    if let Some(traffic) = job.traffic.take() {
        return canary_one(shared, job.function, &traffic, &options, production).await;
    }
    // The fleet budget bounds the total; this bounds one function (its reservation).
    let own_limit = job.max_in_flight.unwrap_or(Semaphore::MAX_PERMITS);
    let in_flight = Arc::new(Semaphore::new(own_limit));
    let on_event = {
        let on_progress = shared.on_progress.clone();
        move |e: SweepEvent| {
            if let SweepEvent::Invoked { .. } = e {
                on_progress(Progress::Invoked);
            }
        }
    };
    let tuned = tune_architectures(
        &shared.api,
        &shared.book,
        &job.function,
        &options,
        &job.architectures,
        in_flight,
        &on_event,
    );
    match tuned.await {
        Ok((outcome, architectures)) => {
            let mut doc = document::document(&outcome, &settings.region);
            doc.architectures = architectures;
            if job.cold_starts {
                doc.warnings.push(tune::cold::WARNING.into());
            }
            doc.function.stack_name =
                document::stack_name(&shared.api, &outcome.original.arn).await;
            if let Some(p) = production {
                document::add_production(&mut doc, p);
            }
            FunctionResult::tuned(job.function, doc)
        }
        // Refused before anything changed (not Active, an update in progress, another run).
        Err(TuneError::Sweep(SweepError::Refused(reason))) => {
            FunctionResult::skipped(job.function, reason)
        }
        Err(e) => {
            let spent = e.exploration().map(document::ExplorationInfo::from);
            let mut failed = FunctionResult::failed(job.function, e.to_string());
            failed.exploration = spent;
            failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_usd: Option<f64>, deadline: Option<Duration>) -> RunSettings {
        RunSettings {
            run_id: "r".into(),
            region: "us-east-1".into(),
            state_dir: PathBuf::new(),
            endpoint_url: None,
            role: None,
            settle_timeout: Duration::from_secs(1),
            concurrent_functions: 1,
            cold_start_ratio: 0.01,
            seed: 1,
            max_usd,
            deadline,
            production: Default::default(),
            retune: Default::default(),
            canary: None,
        }
    }

    #[test]
    fn limits_stop_new_functions() {
        let none = settings(None, None);
        assert_eq!(stop_reason(&none, Duration::from_secs(9999), 1e9), None);
        let capped = settings(Some(0.5), Some(Duration::from_secs(60)));
        assert_eq!(stop_reason(&capped, Duration::from_secs(1), 0.4), None);
        assert!(stop_reason(&capped, Duration::from_secs(1), 0.5)
            .unwrap()
            .contains("max_usd"));
        assert!(stop_reason(&capped, Duration::from_secs(60), 0.0)
            .unwrap()
            .contains("deadline"));
    }
}
