//! `memtune lab` and `memtune lab truth`.

use std::net::SocketAddr;

use clap::{Args, Subcommand};

use super::lab_profiles::ProfileArgs;
use super::CliError;
use memtune_lab::faults::Faults;
use memtune_lab::iam::DenyList;
use memtune_lab::quotas::ApiQuotas;
use memtune_lab::tenancy::{self, sts::LabRole, TenancyConfig};
use memtune_lab::{self as lab, LabConfig};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(after_long_help = "Examples:
  memtune lab                                   # the demo fleet on 127.0.0.1:9001
  memtune lab --listen 127.0.0.1:0 --synthetic 1000 --seed 7
  memtune lab --fleet config/lab/calibrated.toml --time-scale 1
  memtune lab --faults throttle=0.05,error5xx=0.02,stuck-update=0.01
  memtune lab --accounts 111111111111,222222222222 --regions us-east-1,eu-west-1 \
      --role memtune-tuner:my-external-id
  AWS_ENDPOINT_URL=http://127.0.0.1:9001 aws lambda list-functions")]
pub struct LabArgs {
    #[command(subcommand)]
    command: Option<LabCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// HOST:PORT or a port (on 127.0.0.1) to listen on; port 0 picks a free port (the line
    /// printed at start says which).
    #[arg(long, default_value = "127.0.0.1:9001", value_parser = memtune::listen::parse)]
    listen: SocketAddr,
    #[command(flatten)]
    profiles: ProfileArgs,
    /// Wall-clock seconds slept per simulated second: 0 answers at once, 1 is real time.
    #[arg(long, default_value_t = 0.0, value_parser = parse_time_scale)]
    time_scale: f64,
    /// Faults to inject, as NAME=PROBABILITY,...: throttle, error5xx, slow, stuck-update,
    /// provisioned-failure.
    #[arg(long, value_parser = |s: &str| s.parse::<Faults>())]
    faults: Option<Faults>,
    /// Answer these actions with AccessDeniedException, e.g.
    /// lambda:UpdateFunctionConfiguration,cloudwatch:GetMetricData,logs:*,iam:PassRole
    /// (iam:PassRole: CreateFunction is refused for passing its role); s3:PutObject and other
    /// S3 actions get S3's 403 AccessDenied
    #[arg(long, value_parser = |s: &str| s.parse::<DenyList>())]
    deny: Option<DenyList>,
    /// Idle execution environments are reclaimed after this many seconds.
    #[arg(long, default_value_t = 300.0)]
    idle_seconds: f64,
    /// Serve these accounts, each with the whole fleet; the first is the lab's own (long-term
    /// keys act in it). Default: the fleet's [account].
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = tenancy::parse_account)]
    accounts: Vec<String>,
    /// Serve these regions in every account; a request goes to the region it was signed for.
    #[arg(long, value_delimiter = ',', value_name = "REGION,...", value_parser = tenancy::parse_region)]
    regions: Vec<String>,
    /// A role STS AssumeRole grants in every served account, as NAME or NAME:EXTERNAL_ID
    /// (repeatable).
    #[arg(long = "role", value_name = "NAME[:EXTERNAL_ID]", value_parser = |s: &str| s.parse::<LabRole>())]
    roles: Vec<LabRole>,
    /// Enforce Lambda's request-rate quotas per account and region (aws: control-plane APIs
    /// 15/s together, GetFunction 100/s, Invoke 10 x the concurrency quota per second),
    /// answering 429 TooManyRequestsException as Lambda does. Default: no rate quotas.
    #[arg(long, value_name = "aws", value_parser = |s: &str| s.parse::<ApiQuotas>())]
    quotas: Option<ApiQuotas>,
}

#[derive(Debug, Subcommand)]
enum LabCommand {
    /// Print the noise-free truth of a fleet: duration, p99, cost and feasibility per size.
    Truth(Box<super::truth_cmd::TruthArgs>),
}

fn parse_time_scale(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 100.0)
        .ok_or_else(|| format!("'{s}' is not a time scale between 0 and 100"))
}

pub async fn run(args: LabArgs) -> Result<(), CliError> {
    match args.command {
        Some(LabCommand::Truth(truth)) => super::truth_cmd::run(*truth),
        None => serve(args.serve).await,
    }
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let profiles = args.profiles.load()?;
    let functions = profiles.functions.len();
    let mut config = LabConfig::new(profiles);
    config.time_scale = args.time_scale;
    config.seed = args.profiles.seed;
    config.faults = args.faults.unwrap_or_default();
    config.environment_idle_s = args.idle_seconds;
    config.deny = args.deny.unwrap_or_default();
    config.tenancy = TenancyConfig {
        accounts: args.accounts,
        regions: args.regions,
        roles: args.roles,
    };
    config.quotas = args.quotas;
    let tenants = config.tenancy.accounts.len().max(1) * config.tenancy.regions.len().max(1);
    let faults = config.faults;
    lab::live::check(&config).map_err(CliError::usage)?;
    let server = lab::start(config, args.listen)
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on {}: {e}", args.listen)))?;
    println!("lab listening on {}", server.endpoint());
    let per = if tenants > 1 {
        format!(" in each of {tenants} accounts x regions")
    } else {
        String::new()
    };
    eprintln!(
        "serving {functions} functions{per} (time scale {}, seed {}{}); Ctrl-C stops",
        args.time_scale,
        args.profiles.seed,
        if faults.any() {
            format!(", faults {faults}")
        } else {
            String::new()
        }
    );
    super::shutdown_signal().await;
    server.stop().await;
    Ok(())
}
