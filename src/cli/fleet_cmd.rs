//! `memtune fleet --config FILE`: tune every selected function of an account, many at once,
//! within one shared budget of invocations in flight.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::aws_args::{platform_error, region_prices, AwsArgs};
use super::fleet_progress::{finished_line, run_with_progress};
use super::fleet_targets;
use super::output::{self, OutputFile};
use super::recommend_cmd::new_run_id;
use super::report_cmd::{self, ReportFormat};
use super::CliError;
use memtune::apply::ApplyAction;
use memtune::fleet::config::FleetConfig;
use memtune::fleet::jobs::{memory_times_timeout, Job};
use memtune::fleet::outcome::FleetRun;
use memtune::fleet::run::{CanaryClients, RunSettings};
use memtune::fleet::{self, Plan};
use memtune::orchestrate::organisation::OrganisationInputs;
use memtune::orchestrate::{Finished, RunInputs};
use memtune::platform::aws::AwsLambda;
use memtune::platform::pacing::{self, ApiRates};
use memtune::preflight::state;
use memtune::report::markdown::Markdown;
use memtune::report::Report;
use memtune::strategy::SloVerdict;
use memtune::sweep::journal;
use memtune::tune::Search;
use memtune_facts::pricing::PriceBook;
use memtune_facts::Architecture;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune fleet --config fleet.toml
  memtune fleet --config fleet.toml --dry-run      # what would be tuned, in order
  memtune fleet --config fleet.toml --format json -o run.json
  memtune fleet --config fleet.toml --format markdown -o comment.md   # or html, csv

Every key of the config is documented in config/fleet.example.toml. Each selected function
is swept as by `memtune recommend` (journaled, restored afterwards); the run keeps the total
of invocations in flight under its budget and backs off when Lambda throttles. On Ctrl-C or
SIGTERM every function in flight is restored before exiting; after a crash, run
`memtune restore`.

Runs are recorded in the history ($MEMTUNE_STATE_DIR/history.sqlite3, see `memtune
history`): a function tuned less than `retune_after_days` ago and unchanged since (code,
memory, architecture, runtime, payload) is skipped unless --force. With `[apply] mode =
\"auto\"` recommendations that pass the guards are applied; `memtune rollback RUN_ID` reverts.

Before anything runs, the state directory must hold journals and the history, every
function's payload must be within Lambda's 6 MB Invoke limit and IAM must allow every call the
run makes on every function (checked by calls that change nothing); otherwise one line, exit 2.
Each function is recorded in the history as it finishes, so a killed run keeps its results.

Exit codes: 0 every function recommended or skipped, 1 some failed or could not be applied,
2 bad config or input or a failed preflight, 3 some function's latency SLO is unconfirmed,
4 some function's SLO is unmet (those sizes are reported, never applied), 130 interrupted
(after restoring).")]
pub struct FleetArgs {
    /// Fleet configuration (TOML).
    #[arg(long)]
    config: PathBuf,
    /// table, json, markdown, html or csv.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<ReportFormat>)]
    format: ReportFormat,
    #[command(flatten)]
    output: OutputFile,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long)]
    pricing: Option<PathBuf>,
    /// List the functions that would be tuned, in order, and the budget; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Days of production data (CloudWatch) to read first: functions are tuned in order of
    /// monthly spend, with their measured cold-start ratio and memory use.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=455))]
    days: u32,
    /// Do not read production data; order by memory x timeout instead.
    #[arg(long)]
    no_production: bool,
    /// Tune every selected function, even those unchanged since a recent run.
    #[arg(long)]
    force: bool,
    /// Pace Lambda calls per account and region to these request-rate quotas: aws (control
    /// plane 15/s, GetFunction 100/s) or none. Default: aws, none with a custom endpoint.
    #[arg(long, value_name = "aws|none")]
    quotas: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

/// A fleet config, the price book and the AWS configuration, checked against each other.
pub(super) struct Loaded {
    pub config: FleetConfig,
    pub book: PriceBook,
    pub sdk: aws_config::SdkConfig,
    pub region: String,
}

pub(super) async fn load(
    config: &Path,
    pricing: Option<&Path>,
    aws: &AwsArgs,
) -> Result<Loaded, CliError> {
    let config = FleetConfig::load(config).map_err(|e| CliError::usage(e.to_string()))?;
    let book = match pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    let sdk = aws.load().await?;
    let (region, prices) = region_prices(&book, &sdk)?;
    // [capacity] prices provisioned concurrency: refused now, not after the sweeps (a region
    // with x86_64 prices only sets its arm64 functions aside as not analysed).
    if config.capacity.is_some() {
        prices.provisioned(Architecture::X86_64).map_err(|e| {
            CliError::usage(format!(
                "[capacity]: {e} (pass --pricing FILE with them, or drop [capacity])"
            ))
        })?;
    }
    Ok(Loaded {
        config,
        book,
        sdk,
        region,
    })
}

pub async fn run(args: FleetArgs) -> Result<(), CliError> {
    args.output.check()?;
    let Loaded {
        config,
        book,
        sdk,
        region,
    } = load(&args.config, args.pricing.as_deref(), &args.aws).await?;
    let endpoint_url = args.aws.options().endpoint_url;
    let pacing = pacing::pacing(args.quotas.as_deref(), endpoint_url.as_deref())
        .map_err(|e| CliError::usage(format!("--quotas {e}")))?;
    if !config.targets.is_empty() {
        return run_targets(&args, &config, &book, &sdk, pacing).await;
    }
    let api = match pacing {
        Some(rates) => AwsLambda::paced(&sdk, rates),
        None => AwsLambda::new(&sdk),
    };
    check_selection(&api, &config, &args.config, &region).await?;
    let state_dir = journal::state_dir();
    if !args.dry_run {
        check_state_dir(&state_dir)?;
    }
    let history = state::open_history(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    let retune = history
        .retune_policy(config.tuning.retune_after_days, args.force)
        .map_err(|e| CliError::failed(e.to_string()))?;
    if args.dry_run {
        let mut plan = fleet::plan(&api, &config, &memory_times_timeout)
            .await
            .map_err(|e| platform_error("planning the fleet run", &e))?;
        retune.apply_to(&mut plan);
        print!("{}", describe_plan(&plan));
        return Ok(());
    }
    let mut settings = RunSettings::for_config(
        &config,
        new_run_id(),
        region.clone(),
        state_dir,
        args.aws.options().endpoint_url,
    );
    settings.retune = Arc::new(retune);
    settings.canary = Some(CanaryClients::new(&sdk, &config));
    let inputs = RunInputs {
        sdk: &sdk,
        api: &api,
        book: &book,
        config: &config,
        config_path: &args.config,
        production_days: (!args.no_production).then_some(args.days),
    };
    let finished = run_with_progress(&inputs, settings, Some(history)).await?;
    let recorded_fully = history_trouble(&finished.history_trouble);
    let report = Report::Fleet(Box::new(read_back(&finished)?));
    let markdown = Markdown {
        command: Some(report_cmd::command_line()),
        ..Markdown::default()
    };
    args.output
        .write(&report_cmd::render(&report, args.format, markdown))?;
    recorded_fully?;
    exit_status(&report)
}

/// A run over the config's `[[target]]` accounts and regions.
async fn run_targets(
    args: &FleetArgs,
    config: &FleetConfig,
    book: &PriceBook,
    sdk: &aws_config::SdkConfig,
    pacing: Option<ApiRates>,
) -> Result<(), CliError> {
    if args.dry_run {
        return Err(CliError::usage(
            "--dry-run does not cover [[target]] entries yet: remove them to plan one account",
        ));
    }
    let state_dir = journal::state_dir();
    check_state_dir(&state_dir)?;
    let settings = RunSettings::for_config(
        config,
        new_run_id(),
        String::new(),
        state_dir,
        args.aws.options().endpoint_url,
    );
    let inputs = OrganisationInputs {
        base: sdk,
        book,
        config,
        config_path: &args.config,
        production_days: (!args.no_production).then_some(args.days),
        pacing,
    };
    let (report, failed_targets) = fleet_targets::run(&inputs, settings, args.force).await?;
    let markdown = Markdown {
        command: Some(report_cmd::command_line()),
        ..Markdown::default()
    };
    args.output
        .write(&report_cmd::render(&report, args.format, markdown))?;
    let places: usize = config.targets.iter().map(|t| t.regions.len()).sum();
    if failed_targets > 0 {
        return Err(CliError::failed(format!(
            "{failed_targets} of {places} account-regions were not tuned (see the lines above)"
        )));
    }
    exit_status(&report)
}

/// A selection that matches nothing is a mistake in the config: said before anything is
/// recorded, instead of exit 0 with an empty table and an empty run in the history.
async fn check_selection(
    api: &AwsLambda,
    config: &FleetConfig,
    path: &Path,
    region: &str,
) -> Result<(), CliError> {
    let found = fleet::discover::discover(api, &config.selection)
        .await
        .map_err(|e| platform_error("selecting functions", &e))?;
    if !found.selected.is_empty() {
        return Ok(());
    }
    let select = format!("[select] in {}", path.display());
    let criteria = config.selection.describe();
    let message = match (found.listed, found.excluded.len()) {
        (0, _) => format!("{select}: there are no functions in {region} to select"),
        (_, 0) => format!(
            "{select} ({criteria}) matches none of the {} in {region}: `memtune list` shows them",
            memtune::report::count(found.listed, "function")
        ),
        (_, excluded) => format!(
            "{select} ({criteria}) excludes every function it matches ({}): check `exclude`",
            memtune::report::count(excluded, "function")
        ),
    };
    Err(CliError::usage(message))
}

/// The whole run, read back from the history its results went to.
pub(super) fn read_back(finished: &Finished) -> Result<FleetRun, CliError> {
    finished
        .fleet_run()
        .map_err(|e| CliError::failed(format!("reading the run's results back: {e}")))
}

/// A failed history write does not stop the run but fails its exit status.
fn history_trouble(trouble: &[String]) -> Result<(), CliError> {
    match trouble.first() {
        None => Ok(()),
        Some(first) => Err(CliError::failed(format!(
            "the run was not fully recorded in the history ({} errors): {first}",
            trouble.len()
        ))),
    }
}

/// The state directory can hold a run's journals and history: checked before anything runs.
pub(super) fn check_state_dir(state_dir: &Path) -> Result<(), CliError> {
    state::check_journals(state_dir)
        .and_then(|_| state::check_history(state_dir))
        .map_err(|e| CliError::usage(e.to_string()))
}

pub(super) fn exit_status(report: &Report) -> Result<(), CliError> {
    let totals = report.totals();
    let not_applied = match report {
        Report::Fleet(run) => run
            .functions
            .iter()
            .filter(|r| r.apply.as_ref().map(|a| a.action) == Some(ApplyAction::NotApplied))
            .count(),
        _ => 0,
    };
    match (totals.failed, not_applied) {
        (0, 0) => slo_status(report),
        (0, n) => Err(CliError::failed(format!(
            "{n} recommendations could not be applied (see the reasons above)"
        ))),
        (n, _) => Err(CliError::failed(format!(
            "{n} of {} functions failed (see the reasons above)",
            totals.functions
        ))),
    }
}

/// Exit 4 when some function's latency SLO is unmet, else 3 when some is unconfirmed: those
/// sizes were reported, never applied.
fn slo_status(report: &Report) -> Result<(), CliError> {
    let statuses: Vec<(&str, SloVerdict)> = report
        .rows()
        .iter()
        .filter_map(|row| {
            let slo = row.document?.recommendation.as_ref()?.slo?;
            Some((row.function, slo.status))
        })
        .filter(|(_, status)| *status != SloVerdict::Met)
        .collect();
    let worst = if statuses.iter().any(|(_, s)| *s == SloVerdict::Unmet) {
        SloVerdict::Unmet
    } else {
        SloVerdict::Unconfirmed
    };
    let names: Vec<&str> = statuses
        .iter()
        .filter(|(_, s)| *s == worst)
        .map(|(name, _)| *name)
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let message = format!(
        "latency SLO {} for {}: {} (reported, never applied)",
        worst.as_str(),
        memtune::report::count(names.len(), "function"),
        names.join(", ")
    );
    CliError::slo_not_met(worst, message).map_or(Ok(()), Err)
}

fn describe_plan(plan: &Plan) -> String {
    let mut out = format!(
        "fleet plan: {} of {} functions to tune, most expensive first; at most {} invocations in flight (account: {} unreserved of {})\n",
        plan.jobs.len(),
        plan.listed,
        plan.budget,
        plan.account.unreserved,
        plan.account.limit
    );
    for (i, job) in plan.jobs.iter().enumerate() {
        out.push_str(&format!("  {:>3}. {}\n", i + 1, describe_job(job)));
    }
    if !plan.not_tuned.is_empty() {
        out.push_str("not tuned:\n");
        for r in &plan.not_tuned {
            out.push_str(&format!("  {}\n", finished_line(r)));
        }
    }
    out.push_str("dry run: nothing was changed\n");
    out
}

fn describe_job(job: &Job) -> String {
    let f = &job.function;
    let search = match &job.search {
        Search::Grid(plan) => format!("grid {:?} MB", plan.sizes(f.memory_mb)),
        Search::Adaptive(limits) => {
            format!(
                "adaptive search within {}..{} MB",
                limits.min_mb, limits.max_mb
            )
        }
    };
    let reserved = job
        .max_in_flight
        .map(|n| format!(", at most {n} in flight (reserved concurrency)"))
        .unwrap_or_default();
    format!(
        "{} ({} MB, timeout {} s): strategy {}, {search}, {} invocations per size{reserved}",
        f.name, f.memory_mb, f.timeout_s, job.strategy.name, job.invocations
    )
}
