//! A run over `[[target]]` accounts and regions: each (account, region) assumes its role and
//! runs as a fleet run of its own, all at once, each with its own budget of invocations in
//! flight (Lambda's concurrency is per account and region), its own run id in the history and
//! its own journals. A target that cannot be reached (the role cannot be assumed, a
//! permission is missing) fails with one line; the others go on.

use std::future::Future;
use std::path::Path;

use futures::future::join_all;
use tokio::sync::watch;

use super::{Finished, OnEvent, RunError, RunInputs};
use crate::fleet::budget::BudgetStats;
use crate::fleet::config::targets::Target;
use crate::fleet::config::FleetConfig;
use crate::fleet::outcome::{FleetRun, RunOverview, RunTotals, FLEET_SCHEMA_VERSION};
use crate::fleet::run::RunSettings;
use crate::history::{History, HistoryError};
use crate::platform::assume::assume_role;
use crate::platform::aws::AwsLambda;
use crate::platform::pacing::{ApiCalls, ApiRates};
use crate::platform::PlatformError;
use memtune_facts::pricing::PriceBook;

/// What an organisation run needs besides its settings.
pub struct OrganisationInputs<'a> {
    /// Whose credentials assume each target's role; its endpoint and HTTP settings are kept.
    pub base: &'a aws_config::SdkConfig,
    pub book: &'a PriceBook,
    pub config: &'a FleetConfig,
    pub config_path: &'a Path,
    pub production_days: Option<u32>,
    /// Pace each account and region's Lambda calls to these quotas.
    pub pacing: Option<ApiRates>,
}

/// One account and region of the run.
pub struct TargetRun {
    pub account: String,
    pub region: String,
    pub run_id: String,
    /// The run, or the one line saying why this target was not tuned.
    pub outcome: Result<Finished, TargetFailure>,
    /// Lambda calls made under each quota, when paced.
    pub api_calls: Option<ApiCalls>,
}

/// Why a target was not tuned (nothing was changed in it), or that it was interrupted.
#[derive(Debug)]
pub enum TargetFailure {
    /// The role could not be assumed, or a read the plan needs was refused.
    Unreachable(String),
    /// The preflight or the plan refused it.
    Refused(String),
    /// Interrupted: these lines say how each function in flight was restored.
    Interrupted(Vec<String>),
}

impl TargetFailure {
    pub fn line(&self) -> String {
        match self {
            TargetFailure::Unreachable(m) | TargetFailure::Refused(m) => m.clone(),
            TargetFailure::Interrupted(restored) => format!(
                "interrupted; {} functions in flight were restored",
                restored.len()
            ),
        }
    }
}

/// The run id of one account and region of an organisation run.
pub fn target_run_id(run_id: &str, account: &str, region: &str) -> String {
    format!("{run_id}-{account}-{region}")
}

/// Runs every target's regions at once. `settings` is the template (its run id is the
/// organisation run's); `history` opens one connection per target. Ends when every target
/// has ended; `interrupt` stops them all (each restores what it has in flight).
pub async fn run(
    inputs: &OrganisationInputs<'_>,
    settings: RunSettings,
    history: impl Fn() -> Option<History>,
    on_event: impl Fn(&str, &str) -> OnEvent,
    interrupt: impl Future<Output = ()>,
) -> Vec<TargetRun> {
    let (stop, stopped) = watch::channel(false);
    let places: Vec<(&Target, &String)> = inputs
        .config
        .targets
        .iter()
        .flat_map(|t| t.regions.iter().map(move |r| (t, r)))
        .collect();
    let runs = places.into_iter().map(|(target, region)| {
        let mut settings = settings.clone();
        settings.run_id = target_run_id(&settings.run_id, &target.account, region);
        settings.region = region.clone();
        settings.role = Some(target.role());
        let mut stopped = stopped.clone();
        let interrupt = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        run_target(
            inputs,
            target,
            settings,
            history(),
            on_event(&target.account, region),
            interrupt,
        )
    });
    let all = join_all(runs);
    tokio::pin!(all);
    tokio::select! {
        done = &mut all => done,
        _ = interrupt => {
            let _ = stop.send(true);
            all.await
        }
    }
}

async fn run_target(
    inputs: &OrganisationInputs<'_>,
    target: &Target,
    settings: RunSettings,
    history: Option<History>,
    on_event: OnEvent,
    interrupt: impl Future<Output = ()>,
) -> TargetRun {
    let (account, region, run_id) = (
        target.account.clone(),
        settings.region.clone(),
        settings.run_id.clone(),
    );
    let mut api_calls = None;
    let outcome = async {
        let sdk = assume_role(inputs.base, &target.role(), &region)
            .await
            .map_err(|e| TargetFailure::Unreachable(e.to_string()))?;
        let api = match inputs.pacing {
            Some(rates) => AwsLambda::paced(&sdk, rates),
            None => AwsLambda::new(&sdk),
        };
        let run_inputs = RunInputs {
            sdk: &sdk,
            api: &api,
            book: inputs.book,
            config: inputs.config,
            config_path: inputs.config_path,
            production_days: inputs.production_days,
        };
        let ran = super::run(&run_inputs, settings, history, on_event, interrupt).await;
        api_calls = api.api_calls();
        ran.map_err(|e| match e {
            RunError::Plan(p @ PlatformError::AccessDenied(_)) => {
                TargetFailure::Unreachable(format!("planning the fleet run: {p}"))
            }
            RunError::Interrupted { restored } => TargetFailure::Interrupted(restored),
            other => TargetFailure::Refused(other.to_string()),
        })
    }
    .await;
    TargetRun {
        account,
        region,
        run_id,
        outcome,
        api_calls,
    }
}

/// One line per target account whose role cannot be assumed now (tried in its first
/// region), all tried at once.
pub async fn unreachable(config: &FleetConfig, base: &aws_config::SdkConfig) -> Vec<String> {
    let checks = config.targets.iter().filter_map(|t| {
        let region = t.regions.first()?;
        Some(async move {
            assume_role(base, &t.role(), region)
                .await
                .err()
                .map(|e| format!("{}: {e}", t.account))
        })
    });
    join_all(checks).await.into_iter().flatten().collect()
}

/// One fleet run of every function of every target that ran, for one report, read back from
/// each target's history: each function named `ACCOUNT/REGION/NAME` and carrying its account
/// and region.
pub fn merged(run_id: &str, targets: &[TargetRun], wall_s: f64) -> Result<FleetRun, HistoryError> {
    let mut functions = Vec::new();
    let mut listed = 0;
    let mut regions: Vec<String> = Vec::new();
    let mut started_at: Option<String> = None;
    let mut budget: Option<BudgetStats> = None;
    let mut capacity = Vec::new();
    for t in targets {
        let Ok(finished) = &t.outcome else {
            continue;
        };
        let run = &finished.run;
        listed += run.listed;
        if !regions.contains(&t.region) {
            regions.push(t.region.clone());
        }
        if started_at.as_ref().is_none_or(|s| run.started_at < *s) {
            started_at = Some(run.started_at.clone());
        }
        let b = budget.get_or_insert(BudgetStats {
            ceiling: 0,
            limit: 0,
            lowest: usize::MAX,
            throttles: 0,
        });
        b.ceiling += run.budget.ceiling;
        b.limit += run.budget.limit;
        b.lowest = b.lowest.min(run.budget.lowest);
        b.throttles += run.budget.throttles;
        for c in &run.capacity {
            let mut c = c.clone();
            c.account = Some(t.account.clone());
            capacity.push(c);
        }
        for mut r in finished.history.results(&run.run_id)? {
            r.function = format!("{}/{}/{}", t.account, t.region, r.function);
            functions.push(r);
        }
    }
    regions.sort();
    let overview = RunOverview {
        schema_version: FLEET_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        region: regions.join(","),
        started_at: started_at.unwrap_or_default(),
        listed,
        totals: RunTotals::of(&functions, wall_s),
        budget: budget.unwrap_or(BudgetStats {
            ceiling: 0,
            limit: 0,
            lowest: 0,
            throttles: 0,
        }),
        capacity,
    };
    Ok(FleetRun::new(overview, functions))
}
