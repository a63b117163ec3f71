//! Fleet runs: select functions -> plan each one (settings, payload, reserved concurrency) ->
//! order by estimated spend -> tune many at once within one shared budget of invocations in
//! flight -> one result per function.
//!
//! [`plan`] and [`run`] take plain data in and return plain data ([`RunOverview`]); each
//! function's result goes to the progress callback as it finishes (the history keeps it) and
//! is not held; printing and signals are the caller's. Every function in the selection ends
//! recommended, skipped with a reason, or failed with a reason.

pub mod autoapply;
pub mod budget;
pub mod budgeted;
pub mod config;
pub mod discover;
pub mod glob;
pub mod jobs;
pub mod outcome;
pub mod retune;
pub mod run;
pub mod schedule;
pub mod select;

use std::sync::Arc;
use std::time::Instant;

use budget::InvocationBudget;
use config::{FleetConfig, Limits};
use jobs::{Job, NoJob, SpendEstimate};
use outcome::{FunctionResult, RunOverview, RunTotals, FLEET_SCHEMA_VERSION};
use run::{OnProgress, Progress, RunSettings};

use crate::platform::{AccountConcurrency, LambdaApi, PlatformError};
use memtune_facts::pricing::PriceBook;

/// What a run will do, before it does anything.
#[derive(Debug, Clone)]
pub struct Plan {
    pub listed: usize,
    /// In priority order.
    pub jobs: Vec<Job>,
    /// Functions that will not be tuned, with why.
    pub not_tuned: Vec<FunctionResult>,
    /// Invocations in flight at most, across the fleet.
    pub budget: usize,
    pub account: AccountConcurrency,
}

/// The run's ceiling on invocations in flight: a share of the account's unreserved
/// concurrency, capped by `max_in_flight`, at least 1.
pub fn budget_ceiling(account: AccountConcurrency, limits: &Limits) -> usize {
    let share = (account.unreserved as f64 * limits.unreserved_fraction).floor() as usize;
    let capped = match limits.max_in_flight {
        Some(cap) => share.min(cap as usize),
        None => share,
    };
    capped.max(1)
}

/// Discovers and plans the run; reads only.
pub async fn plan<A: LambdaApi>(
    api: &A,
    config: &FleetConfig,
    estimate: SpendEstimate<'_>,
) -> Result<Plan, PlatformError> {
    let found = discover::discover(api, &config.selection).await?;
    let account = api.account_settings().await?;
    let mut jobs = Vec::new();
    let mut not_tuned = Vec::new();
    for d in &found.selected {
        match jobs::resolve(d, config) {
            Ok(job) => jobs.push(job),
            Err(NoJob::Skip(reason)) => {
                not_tuned.push(FunctionResult::skipped(d.config.clone(), reason))
            }
            Err(NoJob::Invalid(reason)) => {
                not_tuned.push(FunctionResult::failed(d.config.clone(), reason))
            }
        }
    }
    let (jobs, beyond_cap) = jobs::prioritise(jobs, estimate, config.limits.max_functions);
    for job in beyond_cap {
        let cap = config.limits.max_functions.unwrap_or_default();
        not_tuned.push(FunctionResult::skipped(
            job.function,
            format!(
                "not tuned: max_functions = {cap} went to functions with a higher estimated spend"
            ),
        ));
    }
    for (config, pattern) in found.excluded {
        not_tuned.push(FunctionResult::skipped(
            config,
            format!("excluded by '{pattern}'"),
        ));
    }
    Ok(Plan {
        listed: found.listed,
        jobs,
        not_tuned,
        budget: budget_ceiling(account, &config.limits),
        account,
    })
}

/// A plan about to run, with when it was made (the run's start).
pub struct Planned {
    pub plan: Plan,
    started_at: String,
    clock: Instant,
}

/// Plans a run and leaves out what the re-tune policy skips; reads only.
pub async fn prepare<A: LambdaApi>(
    api: &A,
    config: &FleetConfig,
    settings: &RunSettings,
    estimate: SpendEstimate<'_>,
) -> Result<Planned, PlatformError> {
    let started_at = chrono::Utc::now().to_rfc3339();
    let clock = Instant::now();
    let mut plan = plan(api, config, estimate).await?;
    settings.retune.apply_to(&mut plan);
    Ok(Planned {
        plan,
        started_at,
        clock,
    })
}

/// Runs a prepared plan: the functions it leaves out go to `on_progress` first (after the
/// jobs in the run's order), then each tuned function as it finishes.
pub async fn execute<A: LambdaApi + Clone + 'static>(
    api: &A,
    book: &PriceBook,
    planned: Planned,
    settings: &RunSettings,
    on_progress: &OnProgress,
) -> RunOverview {
    let Planned {
        plan,
        started_at,
        clock,
    } = planned;
    let Plan {
        listed,
        jobs,
        not_tuned,
        budget,
        ..
    } = plan;
    on_progress(Progress::Planned {
        jobs: jobs.len(),
        budget,
    });
    let mut left_out = RunTotals::default();
    for (i, mut result) in not_tuned.into_iter().enumerate() {
        settings.place(&mut result);
        on_progress(Progress::NotTuned {
            position: jobs.len() + i,
            result: &result,
        });
        left_out.add(&result);
    }
    let budget = Arc::new(InvocationBudget::new(budget));
    let mut totals = run::execute(api, book, jobs, budget.clone(), settings, on_progress).await;
    totals.merge(&left_out);
    totals.wall_s = clock.elapsed().as_secs_f64();
    RunOverview {
        schema_version: FLEET_SCHEMA_VERSION,
        run_id: settings.run_id.clone(),
        region: settings.region.clone(),
        started_at,
        listed,
        totals,
        budget: budget.stats(),
        capacity: Vec::new(),
    }
}

/// Plans and runs a fleet run.
pub async fn run<A: LambdaApi + Clone + 'static>(
    api: &A,
    book: &PriceBook,
    config: &FleetConfig,
    settings: &RunSettings,
    estimate: SpendEstimate<'_>,
    on_progress: &OnProgress,
) -> Result<RunOverview, PlatformError> {
    let planned = prepare(api, config, settings, estimate).await?;
    Ok(execute(api, book, planned, settings, on_progress).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_share_of_unreserved_concurrency_capped_by_config() {
        let account = AccountConcurrency {
            limit: 1000,
            unreserved: 900,
        };
        let mut limits = Limits::default();
        assert_eq!(budget_ceiling(account, &limits), 90);
        limits.max_in_flight = Some(4);
        assert_eq!(budget_ceiling(account, &limits), 4);
        let starved = AccountConcurrency {
            limit: 10,
            unreserved: 5,
        };
        assert_eq!(budget_ceiling(starved, &Limits::default()), 1);
    }
}
