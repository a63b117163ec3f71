//! `memtune recommend FN`: sweep one function safely and recommend a memory size.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Semaphore;

use super::aws_args::{platform_error, preflight_error, region_prices, AwsArgs};
use super::output::{self, OutputFile};
use super::report_cmd::{self, ReportFormat};
use super::CliError;
use memtune::apply::change::ApplyContext;
use memtune::fleet::outcome::FunctionResult;
use memtune::history::RunStart;
use memtune::inspect::production;
use memtune::measure::Percentile;
use memtune::orchestrate::one_function::apply_recorded;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::platform::{FunctionConfig, LambdaApi, PlatformError};
use memtune::preflight::{self, state, Needs};
use memtune::report::markdown::Markdown;
use memtune::report::Report;
use memtune::strategy::{Objective, SearchMode, Strategy};
use memtune::sweep::journal;
use memtune::sweep::payload::Payloads;
use memtune::sweep::restore::restore_run;
use memtune::sweep::sampling::Sampling;
use memtune::sweep::SweepEvent;
use memtune::tune::adaptive::{self, AdaptiveLimits};
use memtune::tune::architectures::tune_architectures;
use memtune::tune::document;
use memtune::tune::plan::{parse_sizes, SizePlan};
use memtune::tune::production::Production;
use memtune::tune::{self, Isolation, Search, TuneError, TuneOptions};
use memtune_facts::pricing::PriceBook;

#[path = "recommend_traffic.rs"]
mod traffic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// AWS Lambda Power Tuning's default powerValues, for `--search grid`.
const POWER_TUNING_GRID: [u32; 6] = [128, 256, 512, 1024, 1536, 3008];

/// Where a sweep samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IsolateArg {
    /// Versions of the function itself ($LATEST changes for seconds per batch).
    InPlace,
    /// A temporary copy of the function; the function itself is only read.
    Clone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SearchArg {
    Grid,
    Adaptive,
}

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune recommend orders-api --payload '{\"id\": \"{{uuid}}\"}'
  memtune recommend orders-api --payload @event.json --strategy speed
  memtune recommend orders-api --strategy cost   # the cheapest size, however slow
  memtune recommend resize --sizes 512,1024,1769,3008 --invocations 20 --format json
  memtune recommend api --strategy latency-slo --slo-ms 250 --slo-percentile p99
  memtune recommend api --search grid     # AWS Lambda Power Tuning's grid, for comparison
  memtune recommend api --dry-run         # the plan and its cost; changes nothing
  memtune recommend api --apply --yes     # set the recommended memory
  memtune recommend api --format markdown -o comment.md   # or html, csv

How it works: for each size memtune sets $LATEST's memory, publishes a version
(description memtune:<run-id>:<MB>), puts $LATEST's original memory back as soon as all
versions are published, invokes the versions, and deletes them. Every change is journaled
first; on Ctrl-C it restores at once, and `memtune restore` finishes the job after a crash.

Before it changes or invokes anything, memtune checks the payload against Lambda's 6 MB
Invoke limit, that the state directory can hold its journal, that no other run's journal on
the function is unfinished or unreadable, and every IAM permission the sweep needs (by calls
that change nothing); any of these failing is one line and exit 2.

Exit codes: 0 recommended, 1 the run failed (or no size was feasible), 2 bad input or a
failed preflight (nothing was changed), 3 the latency SLO is unconfirmed (its estimate is
under the SLO, its upper bound is not), 4 the SLO is unmet (no size's estimate is under
it); with 3 or 4 the report names the closest size and --apply changes nothing.")]
pub struct RecommendArgs {
    /// Function name or ARN.
    function: String,
    /// Event to send, as JSON or @FILE (default: {}).
    ///
    /// {{uuid}}, {{seq}} and {{now}} are filled in per invocation.
    #[arg(long, value_name = "JSON", conflicts_with = "payloads")]
    payload: Option<String>,
    /// Weighted events, as JSON or @FILE.
    ///
    /// [{"weight": 3, "payload": {...}}, ...].
    #[arg(long, value_name = "JSON")]
    payloads: Option<String>,
    /// Sizes to sample in MB, or `auto`.
    ///
    /// 128..10240, comma separated; `auto`: the strategy's sizes plus the current one.
    #[arg(long, default_value = "auto")]
    sizes: String,
    /// Smallest size to consider.
    #[arg(long, value_name = "MB")]
    min_mb: Option<u32>,
    /// Largest size to consider.
    #[arg(long, value_name = "MB")]
    max_mb: Option<u32>,
    /// Measured invocations per size (default: the strategy's).
    ///
    /// With the adaptive search, the most any size gets; a latency SLO choice whose upper
    /// bound does not yet confirm it gets up to this many (8 at a time; by default 24), so a
    /// noisy function can be confirmed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    invocations: Option<u32>,
    /// Extra invocations per size before measuring (default: the strategy's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    warmup: Option<u32>,
    /// Invocations in flight at once.
    ///
    /// Each size runs its own invocations one after another.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    parallel: u32,
    /// cost-guarded, cost, speed, balanced, latency-slo, or a strategy file.
    ///
    /// cost-guarded (the default) is the cheapest size whose p99 and p50 stay within 20% of
    /// the current size's (unless the current size is unsafe), and keeps the current size for
    /// a change worth less than 5% or $1 a month; `cost` is the cheapest size, however slow.
    #[arg(long, default_value = memtune::strategy::DEFAULT_STRATEGY)]
    strategy: String,
    /// Latency objective in ms, for latency-slo.
    #[arg(long, value_name = "MS")]
    slo_ms: Option<f64>,
    /// Which percentile the SLO applies to: p50, p90 or p99.
    #[arg(long, value_name = "P", value_parser = parse_percentile)]
    slo_percentile: Option<Percentile>,
    /// How to choose sizes (default: the strategy's, adaptive).
    ///
    /// `adaptive` fits the duration curve and samples where the decision is open; `grid`
    /// samples exactly AWS Lambda Power Tuning's sizes (128,256,512,1024,1536,3008), or
    /// --sizes (plus the current size, the reference of a strategy's latency guard, unless
    /// --sizes names them).
    #[arg(long, value_enum)]
    search: Option<SearchArg>,
    /// Where to sample: `in-place` or `clone`.
    ///
    /// `clone` creates a temporary copy of the function (same code, role, environment,
    /// layers, VPC, timeout, storage and logging), tunes the copy and deletes it with its log
    /// group: the function itself never changes. The copy runs the same code with the same
    /// environment, so its side effects (writes, messages, calls) are the function's.
    #[arg(long, value_enum, default_value = "in-place")]
    isolate: IsolateArg,
    /// S3 bucket for a copy's code larger than 50 MB (--isolate clone, --architectures).
    ///
    /// CreateFunction takes a .zip of up to 50 MB inline; a larger one is put in this bucket
    /// (in the function's region) under memtune-staging/<run>/, the copy is created from
    /// there, and the object is deleted once the copy is Active (or by `memtune restore`).
    /// Needs s3:PutObject, s3:GetObject and s3:DeleteObject on it.
    #[arg(long, value_name = "BUCKET")]
    staging_bucket: Option<String>,
    /// Architectures to compare: x86_64, arm64 or both (default: the function's own).
    ///
    /// Each architecture the function does not have is swept on a temporary copy (as with
    /// --isolate clone); architecture and memory are recommended together, with what the
    /// other architecture would trade. Code that fails at INIT on the other architecture (a
    /// native dependency) is reported as not portable.
    /// Not with --apply, which sets memory only: set the architecture in your template.
    #[arg(long, value_delimiter = ',', value_parser = ["x86_64", "arm64"])]
    architectures: Vec<String>,
    /// Function errors that count as successful invocations, by errorType (comma separated).
    ///
    /// For a function whose test event is expected to fail (a validation error, a record
    /// not found): its duration is measured like a success's.
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',')]
    allowed_errors: Vec<String>,
    /// The least time between two invocations of the function, in milliseconds.
    ///
    /// For a function that calls a rate-limited downstream; all sizes together keep it.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    min_interval_ms: u64,
    /// Measure cold starts only: every sample on a fresh execution environment.
    ///
    /// Sample i of a size runs on a version of its own, published at the size plus i MB,
    /// and is its first invocation: the statistics are of INIT plus that invocation. Needs
    /// the grid search (--search grid or --sizes); publishes a version per sample, so use it
    /// with --isolate clone where $LATEST must not change for that long.
    #[arg(long, conflicts_with = "warmup")]
    cold_starts: bool,
    /// Stop exploring once this many invocations were made (adaptive search).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    budget_invocations: Option<u64>,
    /// Stop exploring once this many USD were spent (adaptive search).
    #[arg(long, value_name = "USD")]
    budget_usd: Option<f64>,
    /// Share of invocations that start cold, for INIT cost.
    ///
    /// Default: as measured in production over --days, else 0.01.
    #[arg(long, value_name = "RATIO")]
    cold_start_ratio: Option<f64>,
    /// Days of production data to read first.
    ///
    /// CloudWatch metrics and REPORT lines: cold-start ratio, memory used (a floor for the
    /// sizes), monthly invocations (savings per month).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=455))]
    days: u32,
    /// Do not read production data from CloudWatch.
    #[arg(long, conflicts_with = "passive")]
    no_production: bool,
    /// Invoke nothing: estimate from production data at the current size only.
    #[arg(long, conflicts_with_all = ["apply", "dry_run"])]
    passive: bool,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long, value_name = "FILE")]
    pricing: Option<PathBuf>,
    /// Print the plan and its worst-case cost; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Set the recommended memory on the function afterwards.
    #[arg(long)]
    apply: bool,
    /// Do not ask before applying.
    #[arg(long, requires = "apply")]
    yes: bool,
    /// table, json, markdown, html or csv.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<ReportFormat>)]
    format: ReportFormat,
    #[command(flatten)]
    output: OutputFile,
    /// Seed for payload choice and statistics (bootstrap).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    traffic: traffic::TrafficArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

fn parse_percentile(s: &str) -> Result<Percentile, String> {
    match s.trim_start_matches(['p', 'P']) {
        "50" => Ok(Percentile::P50),
        "90" => Ok(Percentile::P90),
        "99" => Ok(Percentile::P99),
        _ => Err(format!("'{s}' is not a percentile: use p50, p90 or p99")),
    }
}

/// Reads `@file` arguments; anything else is the value itself, unless it is a file name
/// given without its `@` (it would fail as JSON with a message about column 1).
fn value_or_file(arg: &str, flag: &str) -> Result<String, CliError> {
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("{flag}: cannot read {path}: {e}"))),
        None if looks_like_a_file(arg) => Err(CliError::usage(format!(
            "{flag} {arg} is not JSON: to read a file, write @{arg}"
        ))),
        None => Ok(arg.to_string()),
    }
}

/// Not JSON, and named like a file or naming one that exists.
fn looks_like_a_file(arg: &str) -> bool {
    if serde_json::from_str::<serde_json::Value>(arg).is_ok() {
        return false;
    }
    let starts_like_json = arg.trim_start().starts_with([
        '{', '[', '"', '-', 't', 'f', 'n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
    ]);
    !starts_like_json || arg.ends_with(".json") || std::path::Path::new(arg).is_file()
}

/// An SLO flag given to a strategy that does not choose by latency target (it would be
/// silently ignored).
fn ignored_slo_flag(args: &RecommendArgs, strategy: &Strategy) -> Option<&'static str> {
    if strategy.objective == Objective::LatencySlo {
        return None;
    }
    if args.slo_ms.is_some() {
        Some("--slo-ms")
    } else if args.slo_percentile.is_some() {
        Some("--slo-percentile")
    } else {
        None
    }
}

/// Everything checked before any AWS call.
struct Checked {
    strategy: Strategy,
    search: Search,
    payloads: Payloads,
    invocations: u32,
    warmup: u32,
    book: PriceBook,
}

fn check_input(args: &RecommendArgs) -> Result<Checked, CliError> {
    if args.apply && !args.architectures.is_empty() {
        return Err(CliError::usage(
            "--architectures recommends an architecture and --apply sets memory only: drop --apply, then set the architecture and memory the report names in your template",
        ));
    }
    if args.staging_bucket.is_some()
        && args.isolate == IsolateArg::InPlace
        && args.architectures.is_empty()
    {
        return Err(CliError::usage(
            "--staging-bucket stages the code of a temporary copy: use it with --isolate clone or --architectures",
        ));
    }
    if args.apply && !args.yes && !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "--apply asks before it changes the function, and there is no terminal to ask on: add --yes, or run it in a terminal",
        ));
    }
    args.output.check()?;
    if args.passive && !matches!(args.format, ReportFormat::Table | ReportFormat::Json) {
        return Err(CliError::usage(
            "--passive prints an estimate as a table or JSON: use --format table or --format json",
        ));
    }
    let strategy = Strategy::load(&args.strategy)
        .map_err(|e| CliError::usage(e.to_string()))?
        .with_slo(args.slo_ms, args.slo_percentile);
    if let Some(slo) = args.slo_ms {
        if !(slo.is_finite() && slo > 0.0) {
            return Err(CliError::usage(
                "--slo-ms must be a positive number of milliseconds",
            ));
        }
    }
    if strategy.objective == Objective::LatencySlo && strategy.slo_ms.is_none() {
        return Err(CliError::usage(format!(
            "strategy '{}' needs a latency target: pass --slo-ms MS (and --slo-percentile p50|p90|p99)",
            strategy.name
        )));
    }
    if let Some(flag) = ignored_slo_flag(args, &strategy) {
        return Err(CliError::usage(format!(
            "{flag} sets a latency target, which strategy '{}' does not use (it chooses by \
             {}): use --strategy latency-slo {flag} ..., or drop {flag}",
            strategy.name,
            strategy.objective.as_str()
        )));
    }
    if args.budget_usd.is_some_and(|b| !(b.is_finite() && b > 0.0)) {
        return Err(CliError::usage(
            "--budget-usd must be a positive amount of USD",
        ));
    }
    if args
        .cold_start_ratio
        .is_some_and(|r| !(0.0..=1.0).contains(&r))
    {
        return Err(CliError::usage(
            "--cold-start-ratio must be between 0 and 1",
        ));
    }
    let search = match args.search {
        Some(SearchArg::Grid) => SearchMode::Grid,
        Some(SearchArg::Adaptive) => SearchMode::Adaptive,
        None => strategy.search.mode,
    };
    let explicit = args.sizes.trim() != "auto";
    if args.cold_starts && search == SearchMode::Adaptive && !explicit {
        return Err(CliError::usage(
            "--cold-starts samples a grid: add --search grid or --sizes MB,...",
        ));
    }
    if explicit && args.search == Some(SearchArg::Adaptive) {
        return Err(CliError::usage(
            "--sizes fixes the sizes, adaptive search picks its own: drop --sizes or use --search grid",
        ));
    }
    let min_mb = args.min_mb.unwrap_or(strategy.search.min_mb);
    let max_mb = args.max_mb.unwrap_or(strategy.search.max_mb);
    let search = if search == SearchMode::Adaptive && !explicit {
        let plan = SizePlan::new(vec![min_mb], min_mb, max_mb, false).map_err(CliError::usage)?;
        Search::Adaptive(AdaptiveLimits {
            budget_invocations: args.budget_invocations,
            budget_usd: args.budget_usd,
            unconfirmed_invocations: args.invocations,
            ..AdaptiveLimits::new(
                plan.min_mb,
                plan.max_mb,
                args.invocations.unwrap_or(strategy.search.invocations),
            )
        })
    } else {
        let sizes = if explicit {
            parse_sizes(&args.sizes).map_err(CliError::usage)?
        } else if args.search == Some(SearchArg::Grid) {
            POWER_TUNING_GRID.to_vec()
        } else {
            strategy.search.sizes.clone()
        };
        // The current size is added unless the user named the sizes or asked for the bare grid;
        // a latency guard needs it even then, as its reference.
        let include_current =
            !explicit && (args.search != Some(SearchArg::Grid) || strategy.guards_latency());
        Search::Grid(
            SizePlan::new(sizes, min_mb, max_mb, include_current).map_err(CliError::usage)?,
        )
    };
    let (payloads, flag) = match (&args.payload, &args.payloads) {
        (_, Some(file)) => (
            Payloads::weighted(&value_or_file(file, "--payloads")?),
            "--payloads",
        ),
        (Some(p), None) => (
            Payloads::single(&value_or_file(p, "--payload")?),
            "--payload",
        ),
        (None, None) => (Payloads::single("{}"), "--payload"),
    };
    let payloads = payloads.map_err(CliError::usage)?;
    preflight::check_payload_size(&payloads, flag).map_err(preflight_error)?;
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    Ok(Checked {
        invocations: args.invocations.unwrap_or(strategy.search.invocations),
        warmup: args.warmup.unwrap_or(strategy.search.warmup),
        strategy,
        search,
        payloads,
        book,
    })
}

pub(super) use memtune::sweep::journal::new_run_id;

pub async fn run(args: RecommendArgs) -> Result<(), CliError> {
    let checked = check_input(&args)?;
    if let Some(canary) = traffic::check(&args.traffic)? {
        return traffic::run(&args, checked, canary).await;
    }
    // Only a sweep writes journals and calls more than GetFunctionConfiguration.
    let sweeps = !(args.dry_run || args.passive);
    let state_dir = journal::state_dir();
    if sweeps {
        state::check_journals(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    }
    // --apply records the run in the history (for `memtune rollback`): usable before anything
    // is spent.
    if args.apply && sweeps {
        state::check_history(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let config = args.aws.load().await?;
    let (region, _) = region_prices(&checked.book, &config)?;
    let api = AwsLambda::new(&config);
    let function = api
        .get_configuration(&args.function, None)
        .await
        .map_err(|e| platform_error(&format!("cannot read {}", args.function), &e))?;
    if sweeps {
        // The function's own architecture runs as --isolate says; any other on a copy.
        let own =
            args.architectures.is_empty() || args.architectures.contains(&function.architecture);
        let other = args
            .architectures
            .iter()
            .any(|a| *a != function.architecture);
        let in_place = own && args.isolate == IsolateArg::InPlace;
        let copies = other || (own && args.isolate == IsolateArg::Clone);
        preflight_sweep(&api, &state_dir, &function, in_place, copies).await?;
        if let Some(bucket) = args.staging_bucket.as_deref().filter(|_| copies) {
            preflight::check_staging_bucket(&api, bucket, &region)
                .await
                .map_err(preflight_error)?;
        }
    }

    let production = if args.no_production {
        Err("not read (--no-production)".to_string())
    } else {
        read_production(&config, &checked.book, &region, &function.name, args.days).await
    };
    if args.passive {
        return args
            .output
            .write(&passive(&function, production, args.format)?);
    }
    let mut checked = checked;
    let (cold_start_ratio, production_warning) = apply_production(&production, &args, &mut checked);

    if args.dry_run {
        print_plan(&checked, &function, &region);
        return Ok(());
    }

    let options = TuneOptions {
        run_id: new_run_id(),
        strategy: checked.strategy.clone(),
        search: checked.search.clone(),
        invocations: checked.invocations,
        warmup: checked.warmup,
        payloads: checked.payloads.clone(),
        region: region.clone(),
        cold_start_ratio,
        state_dir,
        endpoint_url: args.aws.options().endpoint_url,
        role: None,
        settle_timeout: Duration::from_secs(180),
        seed: args.seed,
        monthly_invocations: production.as_ref().ok().map(|p| p.monthly_invocations),
        cold_starts: args.cold_starts,
        isolation: match args.isolate {
            IsolateArg::InPlace => Isolation::InPlace,
            IsolateArg::Clone => Isolation::Clone { architecture: None },
        },
        sampling: Sampling {
            allowed_errors: args.allowed_errors.clone(),
            min_interval: Duration::from_millis(args.min_interval_ms),
        },
        staging_bucket: args.staging_bucket.clone(),
    };
    let total = match &checked.search {
        Search::Grid(plan) => {
            plan.sizes(function.memory_mb).len() as u64
                * (checked.invocations + checked.warmup) as u64
        }
        // A first estimate; the bar grows if the search samples more.
        Search::Adaptive(limits) => {
            adaptive::expected_invocations(checked.strategy.objective, limits)
        }
    };
    let bar = progress_bar(total, &function.name);
    let on_event = {
        let bar = bar.clone();
        move |e: SweepEvent| match e {
            SweepEvent::Configuring { memory_mb } => {
                bar.set_message(format!("publishing {memory_mb} MB"))
            }
            SweepEvent::LatestRestored { memory_mb } => {
                bar.set_message(format!("$LATEST back at {memory_mb} MB; invoking"))
            }
            SweepEvent::Invoked { .. } => {
                bar.inc(1);
                if bar.position() >= bar.length().unwrap_or(0) {
                    bar.inc_length(1);
                }
            }
            SweepEvent::Published { .. } => {}
        }
    };
    let in_flight = Arc::new(Semaphore::new(args.parallel as usize));
    let started = Instant::now();
    let mut architectures: Vec<String> = Vec::new();
    for a in &args.architectures {
        if !architectures.contains(a) {
            architectures.push(a.clone());
        }
    }
    let tuned = tokio::select! {
        r = tune_architectures(&api, &checked.book, &function, &options, &architectures, in_flight, &on_event) => r,
        _ = super::shutdown_signal() => {
            bar.finish_and_clear();
            return Err(interrupted(&api, &options.run_id).await);
        }
    };
    bar.finish_and_clear();
    let (outcome, architectures) = tuned.map_err(|e| tune_error(e, &function))?;
    let mut doc = document::document(&outcome, &region);
    doc.architectures = architectures;
    if args.cold_starts {
        doc.warnings.push(tune::cold::WARNING.into());
    }
    doc.function.stack_name = document::stack_name(&api, &function.arn).await;
    if let Ok(p) = &production {
        document::add_production(&mut doc, p);
    }
    doc.warnings.extend(production_warning);
    let recommended = doc.recommendation.as_ref().map(|r| r.memory_mb);
    let slo = doc.recommendation.as_ref().and_then(|r| r.slo);
    let no_recommendation = doc.no_recommendation.clone();
    let markdown = Markdown {
        command: Some(report_cmd::command_line()),
        ..Markdown::default()
    };
    let report = Report::Function(Box::new(doc.clone()));
    args.output
        .write(&report_cmd::render(&report, args.format, markdown))?;
    let Some(recommended) = recommended else {
        return Err(CliError::failed(format!(
            "no recommendation for {}: {}",
            function.name,
            no_recommendation.as_deref().unwrap_or("no feasible size")
        )));
    };
    // Only a confirmed SLO is applied; the report's warning says why this one is not.
    if let Some(not_met) = slo.and_then(|slo| {
        CliError::slo_not_met(
            slo.status,
            format!(
                "{}: SLO {} at {recommended} MB ({} estimate {:.1} ms, SLO {:.0} ms){}",
                function.name,
                slo.status.as_str(),
                slo.percentile.as_str(),
                slo.estimate_ms,
                slo.slo_ms,
                if args.apply { "; not applied" } else { "" }
            ),
        )
    }) {
        return Err(not_met);
    }
    if args.apply {
        let run = AppliedRun {
            run_id: &options.run_id,
            region: &region,
            endpoint_url: options.endpoint_url.clone(),
            state_dir: &options.state_dir,
            started,
        };
        let result = FunctionResult::tuned(outcome.original.clone(), doc);
        apply(&api, &run, &result, recommended, args.yes).await?;
    }
    Ok(())
}

/// What a sweep of `function` needs, checked before anything is changed or invoked: no
/// other run's journal in the way (unfinished, or unreadable), and every permission.
async fn preflight_sweep(
    api: &AwsLambda,
    state_dir: &std::path::Path,
    function: &FunctionConfig,
    in_place: bool,
    copies: bool,
) -> Result<(), CliError> {
    memtune::sweep::refuse_if_unfinished(state_dir, function)
        .map_err(|e| CliError::usage(e.to_string()))?;
    for (wanted, copy) in [(in_place, false), (copies, true)] {
        if !wanted {
            continue;
        }
        let needs = Needs {
            sweep: true,
            update_alias: false,
            copy,
        };
        preflight::permissions::check(api, &[function], needs)
            .await
            .map_err(preflight_error)?;
    }
    Ok(())
}

/// Reads production figures for one function; tuning goes on without them.
async fn read_production(
    config: &aws_config::SdkConfig,
    book: &PriceBook,
    region: &str,
    name: &str,
    days: u32,
) -> Result<Production, String> {
    let clients = (
        &AwsLambda::new(config),
        &AwsCloudWatch::new(config),
        &AwsLogs::new(config),
    );
    let names = [name.to_string()];
    production::read(clients, book, region, &names, days, Duration::from_secs(60))
        .await
        .remove(name)
        .unwrap_or_else(|| Err("no inspection result".to_string()))
}

/// Applies production data: the cold-start ratio to use (flag, else measured, else 0.01) and a
/// floor of memory headroom over the memory production uses. Returns the ratio and, when
/// there is no production data, a warning for the report.
fn apply_production(
    production: &Result<Production, String>,
    args: &RecommendArgs,
    checked: &mut Checked,
) -> (f64, Option<String>) {
    let fallback = 0.01;
    let p = match production {
        Ok(p) => p,
        Err(why) => {
            let ratio = args.cold_start_ratio.unwrap_or(fallback);
            return (
                ratio,
                Some(format!(
                    "no production data ({why}): cold-start ratio {ratio} assumed, no monthly savings"
                )),
            );
        }
    };
    if let Some(floor) = p.memory_floor_mb(checked.strategy.memory_headroom) {
        checked.search.raise_min_mb(floor);
    }
    checked.search.use_production_tail(p.tail());
    let ratio = args
        .cold_start_ratio
        .or(p.cold_start_ratio)
        .unwrap_or(fallback);
    (ratio, None)
}

/// `--passive`: production figures at the current size, labelled as an estimate.
fn passive(
    function: &FunctionConfig,
    production: Result<Production, String>,
    format: ReportFormat,
) -> Result<String, CliError> {
    let p = production.map_err(|why| {
        CliError::failed(format!(
            "no production data for {}: {why}; run without --passive to measure",
            function.name
        ))
    })?;
    if format == ReportFormat::Json {
        let doc = serde_json::json!({
            "schema_version": document::SCHEMA_VERSION,
            "function": function.name,
            "estimate": true,
            "current": { "memory_mb": function.memory_mb },
            "production": p,
        });
        return Ok(serde_json::to_string_pretty(&doc).expect("plain data") + "\n");
    }
    // Other formats than table are refused by check_input.
    let opt = |v: Option<f64>, unit: &str| {
        v.map(|v| format!("{v:.2}{unit}"))
            .unwrap_or_else(|| "unknown".into())
    };
    let mut lines = vec![
        format!(
            "{} at {} MB — ESTIMATE from {} days of production data (no invocations made; based on {:.0} invocations)",
            function.name, function.memory_mb, p.days, p.invocations
        ),
        format!("  monthly invocations: {:.0}", p.monthly_invocations),
        format!("  monthly cost: {}", opt(p.monthly_cost_usd, " USD")),
        format!("  p99 duration: {}", opt(p.p99_ms, " ms")),
        format!("  cold-start ratio: {}", opt(p.cold_start_ratio, "")),
        format!("  max memory used: {}", opt(p.max_memory_used_mb, " MB")),
    ];
    lines.extend(p.gaps.iter().map(|g| format!("  missing: {g}")));
    lines.push(
        "  a passive estimate is never applied: run without --passive to measure and recommend"
            .into(),
    );
    Ok(lines.join("\n") + "\n")
}

fn progress_bar(total: u64, name: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} invocations {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

fn print_plan(checked: &Checked, function: &FunctionConfig, region: &str) {
    println!(
        "plan for {} ({} MB now, timeout {} s, {}):",
        function.name, function.memory_mb, function.timeout_s, function.architecture
    );
    let (name, objective) = (&checked.strategy.name, checked.strategy.objective.as_str());
    if name == objective {
        println!("  strategy {name}");
    } else {
        println!("  strategy {name} (objective {objective})");
    }
    let (sizes, what) = match &checked.search {
        Search::Grid(plan) => {
            let sizes = plan.sizes(function.memory_mb);
            let per_size = (checked.invocations + checked.warmup) as u64;
            println!(
                "  grid search: sizes {sizes:?} MB, {per_size} invocations each (incl. {} warm-up), {} versions published and deleted",
                checked.warmup,
                sizes.len()
            );
            let worst: Vec<(u32, u64)> = sizes.iter().map(|&m| (m, per_size)).collect();
            (worst, "these sizes".to_string())
        }
        Search::Adaptive(limits) => {
            let sizes =
                adaptive::initial_sizes(checked.strategy.objective, limits.min_mb, limits.max_mb);
            println!(
                "  adaptive search within {}..{} MB: starts with {sizes:?} MB x {} invocations, then samples where the fitted curve leaves the choice open (up to {} rounds{}{}); about {} invocations before that",
                limits.min_mb,
                limits.max_mb,
                limits.initial_invocations,
                limits.max_rounds,
                limits
                    .budget_invocations
                    .map(|b| format!(", at most {b} invocations"))
                    .unwrap_or_default(),
                limits
                    .budget_usd
                    .map(|b| format!(", at most ${b}"))
                    .unwrap_or_default(),
                adaptive::expected_invocations(checked.strategy.objective, limits),
            );
            // Every size the search may sample: its first sizes, and the further ones
            // counted at the largest size it may choose, each with the most a size can get.
            let reach = adaptive::reach(checked.strategy.objective, limits, function.memory_mb);
            let per_size = u64::from(reach.per_size);
            let mut worst: Vec<(u32, u64)> = reach.first.iter().map(|&m| (m, per_size)).collect();
            worst.push((limits.max_mb, u64::from(reach.further_sizes) * per_size));
            let what = format!(
                "every size it may sample ({} first, up to {} more counted at {} MB; at most {per_size} invocations each{})",
                reach.first.len(),
                reach.further_sizes,
                limits.max_mb,
                limits
                    .budget_invocations
                    .map(|b| format!("; --budget-invocations stops new batches after {b}"))
                    .unwrap_or_default(),
            );
            (worst, what)
        }
    };
    // Without measurements, bound the cost by the function's timeout.
    let gb_s_bound: f64 = sizes
        .iter()
        .map(|&(m, n)| n as f64 * m as f64 / 1024.0 * function.timeout_s as f64)
        .sum();
    let arch = tune::architecture(function);
    let usd_bound: f64 = tune::cost_fn(&checked.book, region, arch)
        .map(|cost| {
            sizes
                .iter()
                .map(|&(m, n)| n as f64 * cost(m, function.timeout_s as f64 * 1000.0))
                .sum()
        })
        .unwrap_or(f64::NAN);
    println!(
        "  worst case, {per_size_note}: at most {gb_s_bound:.1} GB-s, ${usd_bound:.4} (if every invocation ran to its timeout)",
        per_size_note = what
    );
    println!("dry run: nothing was changed");
}

/// Ctrl-C or SIGTERM mid-sweep: restore from the journal, then report.
async fn interrupted(api: &AwsLambda, run_id: &str) -> CliError {
    eprintln!("interrupted: restoring the function…");
    let mut lines = restore_run(api, &journal::state_dir(), run_id).await;
    if lines.is_empty() {
        lines.push("nothing had been changed yet".into());
    }
    CliError {
        code: 130,
        message: format!("interrupted; {}", lines.join("; ")),
    }
}

fn tune_error(e: TuneError, function: &FunctionConfig) -> CliError {
    let context = format!("tuning {}", function.name);
    match (&e, e.platform_cause()) {
        (_, Some(p @ (PlatformError::AccessDenied(_) | PlatformError::InvalidParameter(_)))) => {
            let mut err = platform_error(&context, p);
            if let TuneError::SweepThenRestored { restored, .. } = &e {
                err.message = format!("{}; {restored}", err.message);
            }
            err
        }
        (TuneError::Sweep(memtune::sweep::SweepError::Refused(m)), _) => CliError::usage(m.clone()),
        _ => CliError::failed(format!("{context} failed: {e}")),
    }
}

/// Where and when the run that `--apply` records began.
struct AppliedRun<'a> {
    run_id: &'a str,
    region: &'a str,
    endpoint_url: Option<String>,
    state_dir: &'a std::path::Path,
    started: Instant,
}

/// Sets the recommended memory, if the function is still as memtune found it, and records
/// the run in the history so `memtune rollback RUN_ID` can undo it.
async fn apply(
    api: &AwsLambda,
    run: &AppliedRun<'_>,
    result: &FunctionResult,
    memory_mb: u32,
    yes: bool,
) -> Result<(), CliError> {
    let original = &result.config;
    if memory_mb == original.memory_mb {
        println!(
            "{} already has {memory_mb} MB: nothing to apply",
            original.name
        );
        return Ok(());
    }
    // Without a terminal, --yes was required before anything ran.
    if !yes {
        eprint!(
            "set {} from {} MB to {memory_mb} MB? [y/N] ",
            original.name, original.memory_mb
        );
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("not applied");
            return Ok(());
        }
    }
    let mut history =
        state::open_history(run.state_dir).map_err(|e| CliError::failed(e.to_string()))?;
    let command_line = report_cmd::command_line();
    let start = RunStart::now(
        run.run_id,
        run.region,
        command_line.clone(),
        command_line.as_bytes(),
    );
    let ctx = ApplyContext {
        run_id: run.run_id,
        state_dir: run.state_dir,
        region: Some(run.region.to_string()),
        endpoint_url: run.endpoint_url.clone(),
        role: None,
    };
    apply_recorded(
        api,
        &ctx,
        &mut history,
        &start,
        result,
        memory_mb,
        run.started,
    )
    .await
    .map_err(|e| CliError::failed(format!("{}: {e}", original.name)))?;
    println!(
        "applied: {} now has {memory_mb} MB (was {} MB); undo with `memtune rollback {}`",
        original.name, original.memory_mb, run.run_id
    );
    Ok(())
}
