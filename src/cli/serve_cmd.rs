//! `memtune serve --config FILE`: the long-running service (scheduled fleet runs, HTTP API).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::aws_args::{platform_error, preflight_error, AwsArgs};
use super::fleet_cmd;
use super::fleet_targets;
use super::CliError;
use memtune::fleet::{self, schedule::Schedule};
use memtune::orchestrate::{self, organisation, service::ServiceRun};
use memtune::platform::aws::AwsLambda;
use memtune::preflight;
use memtune::serve::{self, fleet_runs, ServeOptions};
use memtune::sweep::journal;

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
at a time; with [[target]] entries, every target's regions at once, each as its role, as
`memtune fleet` does (each recorded as RUN-ACCOUNT-REGION). The API: GET /healthz, GET /metrics (Prometheus text), GET /api/runs,
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
    if config.targets.is_empty() {
        let api = AwsLambda::new(&sdk);
        let plan = fleet::plan(&api, &config, &fleet::jobs::memory_times_timeout)
            .await
            .map_err(|e| platform_error("checking the fleet config against the account", &e))?;
        preflight::check_plan(&api, &plan, orchestrate::applies_via_alias(&config))
            .await
            .map_err(preflight_error)?;
    } else {
        // Each run plans and checks every target anew; one that cannot be reached fails
        // alone, then as now.
        fleet_targets::check_regions_priced(&config, &book)?;
        for line in organisation::unreachable(&config, &sdk).await {
            eprintln!("warning: [[target]] {line}; each run leaves that account out, with one line, until the role can be assumed");
        }
    }
    init_logs(args.log_format);
    let service = ServiceRun {
        connect: args.aws.options(),
        book,
        config,
        config_path: args.config.clone(),
        state_dir: state_dir.clone(),
        region,
        production_days: (!args.no_production).then_some(args.days),
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
        fleet_runs::runner(service),
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
