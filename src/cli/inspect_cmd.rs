//! `memtune inspect FN...`: production figures and findings from CloudWatch, no invocations.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::aws_args::{region_prices, AwsArgs};
use super::output::{self, OutputFile};
use super::recommend_cmd::OutputFormat;
use super::CliError;
use memtune::history::History;
use memtune::inspect::{self, InspectOptions, InspectReport, Status};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::{AwsCloudWatch, MetricWindow};
use memtune::platform::logs::AwsLogs;
use memtune::sweep::journal;
use memtune::tune::document::FunctionDocument;
use memtune_facts::pricing::PriceBook;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune inspect orders-api
  memtune inspect orders-api image-resize --days 30 --format json

Reads CloudWatch metrics (GetMetricData, batched across functions) and the REPORT lines of
/aws/lambda/<function> (Logs Insights). Invokes nothing and changes nothing.

Exit codes: 0 inspected (including functions never invoked), 1 a CloudWatch or Logs call
failed or AWS could not be reached (one line, no report), 2 bad input, an unknown function or a missing permission (the report is still
printed).")]
pub struct InspectArgs {
    /// Function names or ARNs.
    #[arg(required = true)]
    functions: Vec<String>,
    /// Days of production to read (CloudWatch keeps 455).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=455))]
    days: u32,
    /// table or json.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<OutputFormat>)]
    format: OutputFormat,
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

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` -> NAME; metrics and log groups
/// are per function name.
pub(super) fn function_name(arg: &str) -> Result<String, CliError> {
    if !arg.starts_with("arn:") {
        return Ok(arg.to_string());
    }
    match arg.split(':').collect::<Vec<_>>().as_slice() {
        [_, _, "lambda", _, _, "function", name] => Ok(name.to_string()),
        [_, _, "lambda", _, _, "function", _, _] => Err(CliError::usage(format!(
            "{arg}: inspect reads whole functions; pass the ARN without a qualifier \
             (aliases that serve traffic are shown per alias)"
        ))),
        _ => Err(CliError::usage(format!(
            "{arg} is not a Lambda function ARN"
        ))),
    }
}

pub async fn run(args: InspectArgs) -> Result<(), CliError> {
    args.output.check()?;
    let names = args
        .functions
        .iter()
        .map(|f| function_name(f))
        .collect::<Result<Vec<_>, _>>()?;
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    let window = MetricWindow::last_days(args.days, chrono::Utc::now().timestamp_millis())
        .map_err(CliError::usage)?;
    let config = args.aws.load().await?;
    let (region, _) = region_prices(&book, &config)?;
    let options = InspectOptions {
        window,
        region,
        query_limit: Duration::from_secs(args.query_timeout),
        sweeps: latest_sweeps(&names),
    };
    let report = inspect::inspect(
        &AwsLambda::new(&config),
        &AwsCloudWatch::new(&config),
        &AwsLogs::new(&config),
        &book,
        &names,
        &options,
    )
    .await;
    if let Some(line) = unreachable(&report) {
        return Err(CliError::failed(line));
    }
    let text = match args.format {
        OutputFormat::Table => inspect::table::render(&report),
        OutputFormat::Json => serde_json::to_string_pretty(&report).expect("plain data") + "\n",
    };
    args.output.write(&text)?;
    outcome(&report)
}

/// Why no AWS service could be reached, when that happened: a report of dashes would only
/// hide it.
pub(super) fn unreachable(report: &InspectReport) -> Option<String> {
    report.functions.iter().find_map(|f| {
        [&f.config.status, &f.metrics.status, &f.logs.status]
            .into_iter()
            .zip([&f.config.detail, &f.metrics.detail, &f.logs.detail])
            .find(|(status, _)| **status == Status::Unreachable)
            .map(|(_, detail)| {
                format!(
                    "cannot inspect {}: {}",
                    f.name,
                    detail.as_deref().unwrap_or("")
                )
            })
    })
}

/// The exit code: what the user must fix first (exit 2), then what failed (exit 1).
pub(super) fn outcome(report: &InspectReport) -> Result<(), CliError> {
    let with = |status: Status| -> Vec<String> {
        report
            .functions
            .iter()
            .filter(|f| [f.config.status, f.metrics.status, f.logs.status].contains(&status))
            .map(|f| f.name.clone())
            .collect()
    };
    let not_found = with(Status::NotFound);
    if !not_found.is_empty() {
        return Err(CliError::usage(format!(
            "no such function: {}",
            not_found.join(", ")
        )));
    }
    let denied = with(Status::AccessDenied);
    if !denied.is_empty() {
        return Err(CliError::usage(format!(
            "access denied reading {}: grant the CloudWatch and Logs permissions listed in the \
             README's IAM policy",
            denied.join(", ")
        )));
    }
    let failed: Vec<String> = with(Status::Failed)
        .into_iter()
        .chain(with(Status::TimedOut))
        .collect();
    if !failed.is_empty() {
        return Err(CliError::failed(format!(
            "could not read everything for {}: see the report",
            failed.join(", ")
        )));
    }
    Ok(())
}

/// The latest sweep of each function from the history, when there is one. Never creates the
/// history; an unreadable one is said once and inspect goes on without it.
pub(super) fn latest_sweeps(names: &[String]) -> BTreeMap<String, FunctionDocument> {
    let read = History::open_existing(&journal::state_dir()).and_then(|found| {
        let Some(h) = found else {
            return Ok(BTreeMap::new());
        };
        names
            .iter()
            .filter_map(|n| match h.latest_recommendation(n) {
                Ok(Some(r)) => Some(Ok((n.clone(), r.document))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    });
    read.unwrap_or_else(|e| {
        eprintln!("memtune: not using earlier sweeps: {e}");
        BTreeMap::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_give_the_function_name() {
        assert_eq!(function_name("orders").unwrap(), "orders");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:orders").unwrap(),
            "orders"
        );
        let e = function_name("arn:aws:lambda:us-east-1:123456789012:function:orders:live");
        assert_eq!(e.unwrap_err().code, 2);
        assert_eq!(function_name("arn:aws:s3:::bucket").unwrap_err().code, 2);
    }
}
