//! `memtune serve --config FILE`: the long-running service (scheduled fleet runs, HTTP API).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::aws_args::{platform_error, preflight_error, AwsArgs};
use super::fleet_cmd;
use super::fleet_cmd::{recorded_run, RunInputs, Sweep};
use super::CliError;
use memtune::fleet::run::Progress;
use memtune::fleet::schedule::Schedule;
use memtune::fleet::{self, outcome::Status};
use memtune::history::{History, RunStatus};
use memtune::platform::aws::load_config;
use memtune::platform::aws::AwsLambda;
use memtune::preflight;
use memtune::serve::runner::{on_own_thread, Launch, Restore, Runner};
use memtune::serve::{self, ServeOptions};
use memtune::sweep::journal;
use memtune::sweep::restore::restore_run;

/// The environment variable that holds the API token.
const TOKEN_ENV: &str = "MEMTUNE_API_TOKEN";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune serve --config fleet.toml --schedule '0 3 * * *'       # every day at 03:00 UTC
  MEMTUNE_API_TOKEN=s3cret memtune serve --config fleet.toml --listen 127.0.0.1:8787
  curl -s -H 'Authorization: Bearer s3cret' localhost:8787/healthz
  curl -s -X POST -H 'Authorization: Bearer s3cret' localhost:8787/api/runs

Runs `memtune fleet` with the config on the schedule (and when POST /api/runs asks), one run
at a time. The API: GET /healthz, GET /metrics (Prometheus text), GET /api/runs,
GET /api/runs/{id}, GET /api/functions/{name} (the history), POST /api/runs (needs
`Authorization: Bearer <token>`, the token from MEMTUNE_API_TOKEN or [serve] token; without
one, triggering is off). With a token, every request needs it, reads too. Listening beyond
loopback prints a warning. [serve] in the config may also set schedule and listen.
On SIGTERM or Ctrl-C the run in progress is stopped and every function it had in flight is
restored before exiting. Logs go to stderr (RUST_LOG filters them, default info).")]
pub struct ServeArgs {
    /// Fleet configuration (TOML), as for `memtune fleet`.
    #[arg(long)]
    config: PathBuf,
    /// When to run: a 5-field cron expression in UTC (default: [serve] schedule). Without
    /// one, runs start only over the API.
    #[arg(long)]
    schedule: Option<String>,
    /// Address of the HTTP API, HOST:PORT or a port on 127.0.0.1 (default: [serve] listen,
    /// else 127.0.0.1:8787).
    #[arg(long, value_parser = memtune::listen::parse)]
    listen: Option<SocketAddr>,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long)]
    pricing: Option<PathBuf>,
    /// Days of production data (CloudWatch) each run reads first.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=455))]
    days: u32,
    /// Do not read production data.
    #[arg(long)]
    no_production: bool,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(flatten)]
    aws: AwsArgs,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
}

pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let fleet_cmd::Loaded {
        config,
        book,
        sdk,
        region,
    } = fleet_cmd::load(&args.config, args.pricing.as_deref(), &args.aws).await?;
    let schedule = match args.schedule.as_deref() {
        Some(text) => Some(Schedule::parse(text).map_err(CliError::usage)?),
        None => config.serve.schedule.clone(),
    };
    let listen = args
        .listen
        .or(config.serve.listen)
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8787)));
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| config.serve.token.clone());
    // Fail now, not at 03:00: the state directory usable, the account reachable, the
    // selection valid, the payloads within Lambda's limit and every permission granted.
    let state_dir = journal::state_dir();
    fleet_cmd::check_state_dir(&state_dir)?;
    let api = AwsLambda::new(&sdk);
    let plan = fleet::plan(&api, &config, &fleet::jobs::memory_times_timeout)
        .await
        .map_err(|e| platform_error("checking the fleet config against the account", &e))?;
    preflight::check_plan(&api, &plan, fleet_cmd::needs(&config))
        .await
        .map_err(preflight_error)?;
    init_logs(args.log_format);
    let (days, no_production) = (args.days, args.no_production);
    let launch: Launch = {
        let (connect, state_dir) = (args.aws.options(), state_dir.clone());
        let config_path = args.config.clone();
        Arc::new(move |run_id: String| {
            let (connect, book, config) = (connect.clone(), book.clone(), config.clone());
            let (config_path, state_dir) = (config_path.clone(), state_dir.clone());
            let region = region.clone();
            on_own_thread(format!("run-{run_id}"), move || async move {
                let history = History::open(&state_dir).map_err(|e| e.to_string())?;
                let retune = history
                    .retune_policy(config.tuning.retune_after_days, false)
                    .map_err(|e| e.to_string())?;
                let mut settings =
                    fleet_cmd::settings(&config, region, state_dir, connect.endpoint_url.clone());
                settings.run_id = run_id;
                settings.retune = Arc::new(retune);
                // Clients of the run's own runtime.
                let sdk = load_config(&connect).await.map_err(|e| e.to_string())?;
                let api = AwsLambda::new(&sdk);
                let inputs = RunInputs {
                    sdk: &sdk,
                    api: &api,
                    book: &book,
                    config: &config,
                    config_path: &config_path,
                    production_days: (!no_production).then_some(days),
                };
                let sweep = Sweep::Callback(Arc::new(log_progress));
                let recorded = recorded_run(&inputs, settings, history, sweep)
                    .await
                    .map_err(|e| e.message)?;
                for trouble in &recorded.trouble {
                    tracing::error!(error = %trouble, "history write failed");
                }
                Ok(recorded.run)
            })
        })
    };
    let restore: Restore = {
        let (api, state_dir) = (api.clone(), state_dir.clone());
        Arc::new(move |run_id: String| {
            let (api, state_dir) = (api.clone(), state_dir.clone());
            Box::pin(async move {
                let lines = restore_run(&api, &state_dir, &run_id).await;
                let recorded = History::open(&state_dir)
                    .and_then(|h| h.end_run(&run_id, RunStatus::Interrupted));
                if let Err(e) = recorded {
                    tracing::error!(%run_id, error = %e, "cannot mark the run interrupted");
                }
                lines
            })
        })
    };
    if token.is_none() {
        tracing::warn!("{TOKEN_ENV} is not set: POST /api/runs is off");
    }
    let token_set = token.is_some();
    let options = ServeOptions {
        listen,
        schedule,
        token,
        state_dir,
    };
    serve::serve(
        options,
        Runner::new(launch, restore),
        |addr| {
            if let Some(warning) = serve::exposure_warning(addr, token_set) {
                eprintln!("{warning}");
            }
            // Scripts and tests read the bound address (port 0 picks one) from this line.
            eprintln!("memtune serve listening on http://{addr}");
        },
        super::shutdown_signal(),
    )
    .await
    .map_err(|e| CliError::usage(e.to_string()))
}

fn log_progress(p: Progress) {
    match p {
        Progress::Planned { jobs, budget } => {
            tracing::info!(
                functions = jobs,
                in_flight_budget = budget,
                "fleet run planned"
            )
        }
        Progress::Invoked => {}
        Progress::Finished(r) => match r.status {
            Status::Recommended => {
                let memory = r
                    .document
                    .as_deref()
                    .and_then(|d| d.recommendation.as_ref())
                    .map(|rec| rec.memory_mb);
                tracing::info!(function = %r.function, now_mb = r.config.memory_mb, recommended_mb = memory, "recommended")
            }
            Status::Skipped => {
                tracing::info!(function = %r.function, reason = r.reason.as_deref(), "skipped")
            }
            Status::Failed => {
                tracing::warn!(function = %r.function, reason = r.reason.as_deref(), "failed")
            }
        },
    }
}
