//! `memtune capacity FN...`: provisioned and reserved concurrency from production.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::aws_args::{platform_error, region_prices, AwsArgs};
use super::output::{self, OutputFile};
use super::CliError;
use memtune::capacity::{self, observe, CapacityError, CapacityOptions, Target};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::report::capacity as render;
use memtune_facts::pricing::PriceBook;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune capacity orders-api
  memtune capacity orders-api search-api --cold-start-target 0.001 --format html -o capacity.html
  memtune capacity orders-api --p99-target-ms 300 --max-connections 100 --format json

Reads CloudWatch metrics at 1-minute resolution (kept 15 days, so --days is at most 14), the
REPORT lines of /aws/lambda/<function> (Logs Insights), the function's aliases and reserved
concurrency and the account's concurrency limit. Invokes nothing and changes nothing.

Exit codes: 0 analysed, 1 a call failed or AWS could not be reached, 2 bad input, an unknown
function or a missing permission.")]
pub struct CapacityArgs {
    /// Function names.
    #[arg(required = true)]
    functions: Vec<String>,
    /// Days of production to read (1-minute metrics are kept 15 days).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=14))]
    days: u32,
    /// The highest share of invocations that may start cold, 0..1 (0.001 = 0.1%).
    #[arg(long, conflicts_with = "p99_target_ms")]
    cold_start_target: Option<f64>,
    /// Instead: the highest p99 latency, INIT included, in ms.
    #[arg(long, value_name = "MS")]
    p99_target_ms: Option<f64>,
    /// Connections a downstream (a database) takes: each function's reserved concurrency is
    /// capped at its share, in proportion to its peak.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// table, json, markdown or html.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<Format>)]
    format: Format,
    #[command(flatten)]
    output: OutputFile,
    /// Seconds one Logs Insights query may run before it is stopped.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    query_timeout: u64,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long)]
    pricing: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
    Html,
}

fn target(args: &CapacityArgs) -> Result<Target, CliError> {
    if let Some(ms) = args.p99_target_ms {
        if !(ms.is_finite() && ms > 0.0) {
            return Err(CliError::usage(format!(
                "--p99-target-ms {ms} must be a positive number of milliseconds"
            )));
        }
        return Ok(Target::P99Ms(ms));
    }
    let rate = args
        .cold_start_target
        .unwrap_or(capacity::DEFAULT_COLD_START_TARGET);
    if !(0.0..1.0).contains(&rate) {
        return Err(CliError::usage(format!(
            "--cold-start-target {rate} must be a share within 0..1 (0.001 = 0.1% of invocations)"
        )));
    }
    Ok(Target::ColdStartRate(rate))
}

pub async fn run(args: CapacityArgs) -> Result<(), CliError> {
    args.output.check()?;
    let target = target(&args)?;
    if let Some(bad) = args
        .functions
        .iter()
        .find(|f| f.starts_with("arn:") || f.contains(':'))
    {
        return Err(CliError::usage(format!(
            "{bad}: pass the function's name; capacity finds the alias production invokes itself"
        )));
    }
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    let config = args.aws.load().await?;
    let (region, _) = region_prices(&book, &config)?;
    let options = CapacityOptions {
        window: observe::minute_window(args.days, chrono::Utc::now().timestamp_millis()),
        region,
        target,
        max_connections: args.max_connections,
        query_limit: Duration::from_secs(args.query_timeout),
    };
    let report = capacity::analyse(
        &AwsLambda::new(&config),
        &AwsCloudWatch::new(&config),
        &AwsLogs::new(&config),
        &book,
        &args.functions,
        &options,
    )
    .await
    .map_err(|e| match &e {
        CapacityError::Platform { function, source } => platform_error(function, source),
        CapacityError::Account(source) => platform_error("GetAccountSettings", source),
        CapacityError::Pricing { .. } => CliError::usage(e.to_string()),
        CapacityError::Logs { .. } => CliError::failed(e.to_string()),
    })?;
    let text = match args.format {
        Format::Table => render::table::render(&report),
        Format::Json => render::json(&report),
        Format::Markdown => render::markdown::render(&report),
        Format::Html => render::html::render(&report),
    };
    args.output.write(&text)
}
