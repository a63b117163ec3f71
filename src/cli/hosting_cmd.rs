//! `memtune hosting FN...`: on-demand Lambda against provisioned concurrency, Lambda Managed
//! Instances and an always-on Fargate service, from production and memtune's sweeps.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::aws_args::AwsArgs;
use super::inspect_cmd::{function_name, latest_sweeps, outcome, unreachable};
use super::output::{self, OutputFile};
use super::CliError;
use memtune::hosting::fleet::{self, FunctionHosting};
use memtune::hosting::gather::{hourly_rps, load_of};
use memtune::hosting::{compare, Assumptions, Prices};
use memtune::inspect::{self, InspectOptions};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::{AwsCloudWatch, MetricWindow};
use memtune::platform::logs::AwsLogs;
use memtune::platform::LambdaApi;
use memtune::report::hosting::{self as render, HostingReport, SCHEMA_VERSION};
use memtune_facts::pricing::PriceBook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostingFormat {
    Table,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune hosting orders-api
  memtune hosting --all --group-by service --format html -o hosting.html
  memtune hosting auth-token --per-task-concurrency 20 --alb-share 0.25

Reads production like `memtune inspect` (CloudWatch metrics, hourly Invocations, REPORT lines)
and the latest sweep of each function from the history; invokes and changes nothing. Every
assumption is printed with the result.

Exit codes: 0 compared, 1 a CloudWatch or Logs call failed, 2 bad input or an unknown
function (the report is still printed).")]
pub struct HostingArgs {
    /// Function names or ARNs.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    functions: Vec<String>,
    /// Every function in the region.
    #[arg(long)]
    all: bool,
    /// Judge functions sharing this tag's value together (one container service for them).
    #[arg(long, value_name = "TAG")]
    group_by: Option<String>,
    /// Days of production to read.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=455))]
    days: u32,
    /// table, json, markdown or html.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<HostingFormat>)]
    format: HostingFormat,
    #[command(flatten)]
    output: OutputFile,
    /// Most requests one Fargate task serves at once.
    #[arg(long, default_value_t = 10)]
    per_task_concurrency: u32,
    /// Share of a task's or instance's vCPU the peak may use, in (0, 1].
    #[arg(long, default_value_t = 0.6)]
    utilisation_target: f64,
    /// Fargate tasks that always run (one per Availability Zone).
    #[arg(long, default_value_t = 2)]
    min_tasks: u32,
    /// Share of one load balancer's hourly price charged to each function (1 = its own).
    #[arg(long, default_value_t = 1.0)]
    alb_share: f64,
    /// Bytes the load balancer processes per request.
    #[arg(long, default_value_t = 10_000.0)]
    bytes_per_request: f64,
    /// New connections per request (1 = no keep-alive).
    #[arg(long, default_value_t = 1.0)]
    new_connections_per_request: f64,
    /// Another option is clearly better when it costs at least this share less, in [0, 1).
    #[arg(long, default_value_t = 0.2)]
    margin: f64,
    /// Provisioned concurrency level (default: the busiest hour's mean concurrency).
    #[arg(long)]
    provisioned_level: Option<u32>,
    /// Peak / busiest-hour mean concurrency, used only where CloudWatch serves no
    /// ConcurrentExecutions.
    #[arg(long, default_value_t = 2.0)]
    peak_to_mean: f64,
    /// Seconds one Logs Insights query may run.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    query_timeout: u64,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long)]
    pricing: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

impl HostingArgs {
    fn assumptions(&self) -> Result<Assumptions, CliError> {
        let a = Assumptions {
            per_task_concurrency: self.per_task_concurrency,
            utilisation_target: self.utilisation_target,
            min_tasks: self.min_tasks,
            alb_share: self.alb_share,
            bytes_per_request: self.bytes_per_request,
            new_connections_per_request: self.new_connections_per_request,
            margin: self.margin,
            provisioned_level: self.provisioned_level,
            peak_to_mean: self.peak_to_mean,
            ..Assumptions::default()
        };
        a.check().map_err(CliError::usage)?;
        Ok(a)
    }
}

pub async fn run(args: HostingArgs) -> Result<(), CliError> {
    args.output.check()?;
    let assumptions = args.assumptions()?;
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    let window = MetricWindow::last_days(args.days, chrono::Utc::now().timestamp_millis())
        .map_err(CliError::usage)?;
    let mut names = args
        .functions
        .iter()
        .map(|f| function_name(f))
        .collect::<Result<Vec<_>, _>>()?;
    let config = args.aws.load().await?;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let with_region = |e: memtune_facts::pricing::PricingError| {
        CliError::usage(format!(
            "{e} (pass --pricing FILE with prices for {region})"
        ))
    };
    let prices = Prices {
        lambda: book.region(&region).map_err(with_region)?,
        hosting: book.hosting(&region).map_err(with_region)?,
    };
    let lambda = AwsLambda::new(&config);
    let cloudwatch = AwsCloudWatch::new(&config);
    if args.all {
        let listed = lambda
            .list_functions()
            .await
            .map_err(|e| CliError::failed(format!("cannot list functions: {e}")))?;
        names = listed.into_iter().map(|f| f.name).collect();
    }
    let sweeps = latest_sweeps(&names);
    let options = InspectOptions {
        window,
        region: region.clone(),
        query_limit: Duration::from_secs(args.query_timeout),
        sweeps: sweeps.clone(),
    };
    let production = inspect::inspect(
        &lambda,
        &cloudwatch,
        &AwsLogs::new(&config),
        &book,
        &names,
        &options,
    )
    .await;
    if let Some(line) = unreachable(&production) {
        return Err(CliError::failed(line));
    }
    let hourly = hourly_rps(&cloudwatch, &names, &window)
        .await
        .map_err(|e| CliError::failed(format!("cannot read hourly Invocations: {e}")))?;
    let mut functions = Vec::new();
    for (report, rps) in production.functions.iter().zip(hourly) {
        let gathered = load_of(report, rps, sweeps.get(&report.name), &assumptions);
        let comparison = gathered
            .load
            .as_ref()
            .map(|load| compare(load, &prices, gathered.architecture, &assumptions));
        let group = match &args.group_by {
            Some(tag) if report.config.data.is_some() => group_of(&lambda, &report.name, tag).await,
            _ => None,
        };
        functions.push(FunctionHosting {
            gathered,
            comparison,
            group,
        });
    }
    let fleet = (functions.len() > 1)
        .then(|| fleet::judge(&functions, prices.hosting.alb.hour, &assumptions));
    let report = HostingReport {
        schema_version: SCHEMA_VERSION,
        region,
        days: window.days(),
        prices_as_of: prices.hosting.as_of.clone(),
        assumptions_line: assumptions.line(),
        assumptions,
        functions,
        fleet,
    };
    let text = match args.format {
        HostingFormat::Table => render::table::render(&report),
        HostingFormat::Json => serde_json::to_string_pretty(&report).expect("plain data") + "\n",
        HostingFormat::Markdown => render::markdown::render(&report),
        HostingFormat::Html => render::html::render(&report),
    };
    args.output.write(&text)?;
    outcome(&production)
}

/// The function's value of `tag`, when it has one (a function whose tags cannot be read is
/// judged alone).
async fn group_of(lambda: &AwsLambda, name: &str, tag: &str) -> Option<String> {
    let config = lambda.get_configuration(name, None).await.ok()?;
    let arn = config.arn.split(':').take(7).collect::<Vec<_>>().join(":");
    lambda.list_tags(&arn).await.ok()?.get(tag).cloned()
}
