//! `memtune fleet --config FILE`: tune every selected function of an account, many at once,
//! within one shared budget of invocations in flight.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::aws_args::{platform_error, preflight_error, AwsArgs};
use super::output::{self, OutputFile};
use super::recommend_cmd::new_run_id;
use super::report_cmd::{self, ReportFormat};
use super::CliError;
use memtune::apply::change::ApplyContext;
use memtune::apply::{ApplyAction, ApplyMode};
use memtune::fleet::autoapply;
use memtune::fleet::config::FleetConfig;
use memtune::fleet::jobs::{memory_times_timeout, monthly_spend_or_proxy, Job};
use memtune::fleet::outcome::{FleetRun, FunctionResult, RunTotals, Status};
use memtune::fleet::run::{OnProgress, Progress, RunSettings};
use memtune::fleet::{self, Plan, Planned};
use memtune::history::{History, HistoryError, RunStart, RunStatus};
use memtune::inspect::production;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::platform::FunctionConfig;
use memtune::preflight::{self, state, Needs};
use memtune::report::markdown::Markdown;
use memtune::report::Report;
use memtune::sweep::journal;
use memtune::sweep::restore::restore_run;
use memtune::tune::production::Production;
use memtune::tune::Search;
use memtune_facts::pricing::PriceBook;
use std::collections::BTreeMap;

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
2 bad config or input or a failed preflight, 130 interrupted (after restoring).")]
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
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    book.region(&region).map_err(|e| {
        CliError::usage(format!(
            "{e} (pass --pricing FILE with prices for {region})"
        ))
    })?;
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
    let api = AwsLambda::new(&sdk);
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
    let mut settings = settings(
        &config,
        region.clone(),
        state_dir,
        args.aws.options().endpoint_url,
    );
    settings.retune = Arc::new(retune);
    let inputs = RunInputs {
        sdk: &sdk,
        api: &api,
        book: &book,
        config: &config,
        config_path: &args.config,
        production_days: (!args.no_production).then_some(args.days),
    };
    let recorded = recorded_run(&inputs, settings, history, Sweep::ProgressBar).await?;
    let recorded_fully = recorded.history_trouble();
    let report = Report::Fleet(Box::new(recorded.run));
    let markdown = Markdown {
        command: Some(report_cmd::command_line()),
        ..Markdown::default()
    };
    args.output
        .write(&report_cmd::render(&report, args.format, markdown))?;
    recorded_fully?;
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
            functions(found.listed)
        ),
        (_, excluded) => format!(
            "{select} ({criteria}) excludes every function it matches ({}): check `exclude`",
            functions(excluded)
        ),
    };
    Err(CliError::usage(message))
}

/// "1 function", "14 functions".
fn functions(n: usize) -> String {
    match n {
        1 => "1 function".into(),
        n => format!("{n} functions"),
    }
}

/// What a fleet run needs besides its settings.
pub(super) struct RunInputs<'a> {
    pub sdk: &'a aws_config::SdkConfig,
    pub api: &'a AwsLambda,
    pub book: &'a PriceBook,
    pub config: &'a FleetConfig,
    pub config_path: &'a Path,
    /// Days of production data to read first; None to read none.
    pub production_days: Option<u32>,
}

/// How the sweep reports progress and meets interruptions.
pub(super) enum Sweep {
    /// A progress bar on stderr; Ctrl-C or SIGTERM restores the functions in flight.
    ProgressBar,
    /// Progress to a callback (a service's log); the caller cancels by dropping the future.
    Callback(OnProgress),
}

/// A finished run, and what could not be written to the history.
pub(super) struct Recorded {
    pub run: FleetRun,
    pub trouble: Vec<String>,
}

impl Recorded {
    /// A failed history write does not stop the run but fails its exit status.
    pub fn history_trouble(&self) -> Result<(), CliError> {
        match self.trouble.first() {
            None => Ok(()),
            Some(first) => Err(CliError::failed(format!(
                "the run was not fully recorded in the history ({} errors): {first}",
                self.trouble.len()
            ))),
        }
    }
}

/// The state directory can hold a run's journals and history: checked before anything runs.
pub(super) fn check_state_dir(state_dir: &Path) -> Result<(), CliError> {
    state::check_journals(state_dir)
        .and_then(|_| state::check_history(state_dir))
        .map_err(|e| CliError::usage(e.to_string()))
}

/// What a run with this config calls on each function, for the preflight.
pub(super) fn needs(config: &FleetConfig) -> Needs {
    Needs {
        sweep: true,
        update_alias: config.apply.mode == ApplyMode::Auto && config.apply.via_alias.is_some(),
    }
}

/// A whole fleet run as `memtune fleet` and `memtune serve` do it: production data first,
/// the plan and its preflight (nothing runs if a payload is too large or a permission is
/// missing), the sweep, auto-apply with its guards, and every step recorded in the history,
/// each function as soon as it finishes.
pub(super) async fn recorded_run(
    inputs: &RunInputs<'_>,
    mut settings: RunSettings,
    history: History,
    sweep: Sweep,
) -> Result<Recorded, CliError> {
    let (api, config) = (inputs.api, inputs.config);
    if let Some(days) = inputs.production_days {
        settings.production = Arc::new(
            read_production(inputs.sdk, api, inputs.book, config, &settings.region, days).await,
        );
    }
    let production = settings.production.clone();
    let spend = move |f: &FunctionConfig| monthly_spend_or_proxy(&production, f);
    let planned = fleet::prepare(api, config, &settings, &spend)
        .await
        .map_err(|e| platform_error("planning the fleet run", &e))?;
    preflight::check_plan(api, &planned.plan, needs(config))
        .await
        .map_err(preflight_error)?;
    let recorder = Arc::new(Mutex::new(Recorder {
        history,
        trouble: Vec::new(),
        so_far: RunTotals::default(),
        started: Instant::now(),
    }));
    let lock = || recorder.lock().unwrap_or_else(|e| e.into_inner());
    let config_text = std::fs::read(inputs.config_path).unwrap_or_default();
    {
        let mut r = lock();
        let begun = r.history.begin_run(&RunStart {
            id: settings.run_id.clone(),
            started_at: chrono::Utc::now().to_rfc3339(),
            region: settings.region.clone(),
            config_path: inputs.config_path.display().to_string(),
            config_sha256: hex_sha256(&config_text),
        });
        r.check(begun);
    }
    let record_each: OnProgress = {
        let (recorder, run_id) = (recorder.clone(), settings.run_id.clone());
        Arc::new(move |p: Progress| {
            if let Progress::Finished(result) = p {
                let mut r = recorder.lock().unwrap_or_else(|e| e.into_inner());
                r.finished(&run_id, result);
            }
        })
    };
    let swept = match sweep {
        Sweep::ProgressBar => {
            execute_with_progress(api, inputs.book, planned, &settings, record_each).await
        }
        Sweep::Callback(on_progress) => {
            let both: OnProgress = Arc::new(move |p: Progress| {
                on_progress(p);
                record_each(p);
            });
            Ok(fleet::execute(api, inputs.book, planned, &settings, &both).await)
        }
    };
    let mut run = match swept {
        Ok(run) => run,
        Err(e) => {
            let status = match e.code {
                130 => RunStatus::Interrupted,
                _ => RunStatus::Failed,
            };
            let _ = lock().history.end_run(&settings.run_id, status);
            return Err(e);
        }
    };
    if config.apply.mode == ApplyMode::Auto {
        let ctx = ApplyContext {
            run_id: &settings.run_id,
            state_dir: &settings.state_dir,
            region: Some(settings.region.clone()),
            endpoint_url: settings.endpoint_url.clone(),
        };
        let mut audit = Vec::new();
        autoapply::apply_recommendations(api, &mut run.functions, &config.apply, &ctx, |c| {
            audit.push(lock().history.record_applied(c).map(|_| ()))
        })
        .await;
        let mut recorder = lock();
        for result in audit {
            recorder.check(result);
        }
    }
    let mut recorder = lock();
    for r in &run.functions {
        let written = recorder.history.record_function(&run.run_id, r);
        recorder.check(written);
    }
    let fleet_json = serde_json::to_string(&run).expect("a run is plain data");
    let stored = recorder.history.store_report(&run.run_id, &fleet_json);
    recorder.check(stored);
    let finished = recorder
        .history
        .finish_run(&run.run_id, RunStatus::Finished, &run.totals);
    recorder.check(finished);
    let trouble = std::mem::take(&mut recorder.trouble);
    Ok(Recorded { run, trouble })
}

/// Writes to the history, keeping what failed.
struct Recorder {
    history: History,
    trouble: Vec<String>,
    /// The totals of the functions finished so far.
    so_far: RunTotals,
    started: Instant,
}

impl Recorder {
    fn check(&mut self, written: Result<(), HistoryError>) {
        if let Err(e) = written {
            self.trouble.push(e.to_string());
        }
    }

    /// Records a function the moment it finishes, and the run's totals so far.
    fn finished(&mut self, run_id: &str, result: &FunctionResult) {
        let written = self.history.record_function(run_id, result);
        self.check(written);
        self.so_far.add(result);
        self.so_far.wall_s = self.started.elapsed().as_secs_f64();
        let totals = self.history.record_totals(run_id, &self.so_far);
        self.check(totals);
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Production figures of the selected functions (batched CloudWatch and Logs reads); those
/// without any are simply absent, and the run orders and tunes them without.
pub(super) async fn read_production(
    sdk: &aws_config::SdkConfig,
    api: &AwsLambda,
    book: &PriceBook,
    config: &FleetConfig,
    region: &str,
    days: u32,
) -> BTreeMap<String, Production> {
    let Ok(found) = fleet::discover::discover(api, &config.selection).await else {
        return BTreeMap::new();
    };
    let names: Vec<String> = found
        .selected
        .iter()
        .map(|d| d.config.name.clone())
        .collect();
    let clients = (api, &AwsCloudWatch::new(sdk), &AwsLogs::new(sdk));
    let found: BTreeMap<String, Production> = production::read(
        clients,
        book,
        region,
        &names,
        days,
        Duration::from_secs(120),
    )
    .await
    .into_iter()
    .filter_map(|(name, p)| Some((name, p.ok()?)))
    .collect();
    eprintln!(
        "production data for {} of {} functions ({days} days)",
        found.len(),
        names.len()
    );
    found
}

/// The run settings a config and an environment give.
pub(super) fn settings(
    config: &FleetConfig,
    region: String,
    state_dir: PathBuf,
    endpoint_url: Option<String>,
) -> RunSettings {
    RunSettings {
        run_id: new_run_id(),
        region,
        state_dir,
        endpoint_url,
        settle_timeout: Duration::from_secs(180),
        concurrent_functions: config.limits.concurrent_functions as usize,
        cold_start_ratio: config.tuning.cold_start_ratio,
        seed: config.tuning.seed,
        max_usd: config.limits.max_usd,
        deadline: config.limits.deadline,
        production: Default::default(),
        retune: Default::default(),
    }
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
        (0, 0) => Ok(()),
        (0, n) => Err(CliError::failed(format!(
            "{n} recommendations could not be applied (see the reasons above)"
        ))),
        (n, _) => Err(CliError::failed(format!(
            "{n} of {} functions failed (see the reasons above)",
            totals.functions
        ))),
    }
}

/// Plans and runs the fleet with a progress bar (`memtune demo`).
pub(super) async fn run_with_progress(
    api: &AwsLambda,
    book: &PriceBook,
    config: &FleetConfig,
    settings: &RunSettings,
) -> Result<FleetRun, CliError> {
    let production = settings.production.clone();
    let spend = move |f: &FunctionConfig| monthly_spend_or_proxy(&production, f);
    let planned = fleet::prepare(api, config, settings, &spend)
        .await
        .map_err(|e| platform_error("planning the fleet run", &e))?;
    execute_with_progress(api, book, planned, settings, Arc::new(|_| {})).await
}

/// Runs a plan, functions with the largest production spend first, with a progress bar on
/// stderr and a line per finished function (also handed to `also`); on Ctrl-C or SIGTERM
/// restores every function this run has in flight.
async fn execute_with_progress(
    api: &AwsLambda,
    book: &PriceBook,
    planned: Planned,
    settings: &RunSettings,
    also: OnProgress,
) -> Result<FleetRun, CliError> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("fleet [{bar:30}] {pos}/{len} functions, {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let invocations = AtomicU64::new(0);
    let on_progress: OnProgress = {
        let bar = bar.clone();
        Arc::new(move |p: Progress| {
            also(p);
            match p {
                Progress::Planned { jobs, budget } => {
                    bar.set_length(jobs as u64);
                    bar.set_message(format!("at most {budget} invocations in flight"));
                }
                Progress::Invoked => {
                    let n = invocations.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(16) {
                        bar.set_message(format!("{n} invocations"));
                    }
                }
                Progress::Finished(result) => {
                    bar.inc(1);
                    let line = finished_line(result);
                    if bar.is_hidden() {
                        eprintln!("{line}");
                    } else {
                        bar.println(line);
                    }
                }
            }
        })
    };
    let run = tokio::select! {
        r = fleet::execute(api, book, planned, settings, &on_progress) => r,
        _ = super::shutdown_signal() => {
            bar.finish_and_clear();
            return Err(interrupted(api, &settings.state_dir, &settings.run_id).await);
        }
    };
    bar.finish_and_clear();
    Ok(run)
}

fn finished_line(r: &FunctionResult) -> String {
    let reason = r.reason.as_deref().unwrap_or("");
    match r.status {
        Status::Recommended => {
            let rec = r
                .document
                .as_deref()
                .and_then(|d| d.recommendation.as_ref())
                .map(|rec| rec.memory_mb)
                .unwrap_or_default();
            format!(
                "{}: recommended {rec} MB (now {} MB)",
                r.function, r.config.memory_mb
            )
        }
        Status::Skipped => format!("{}: skipped: {reason}", r.function),
        Status::Failed => format!("{}: failed: {reason}", r.function),
    }
}

async fn interrupted(api: &AwsLambda, state_dir: &Path, run_id: &str) -> CliError {
    eprintln!("interrupted: restoring every function in flight…");
    let lines = restore_run(api, state_dir, run_id).await;
    for line in &lines {
        eprintln!("{line}");
    }
    CliError {
        code: 130,
        message: format!(
            "interrupted; {} functions in flight were restored (see above)",
            lines.len()
        ),
    }
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
