//! The command line: clap definitions and thin glue over the library. Only this module prints
//! or parses flags.

mod accuracy_cmd;
mod aws_args;
mod bench_cmd;
mod capacity_cmd;
mod chain_cmd;
mod chain_truth_cmd;
mod check_cmd;
mod demo_cmd;
mod fleet_cmd;
mod fleet_progress;
mod fleet_targets;
mod history_cmd;
mod hosting_cmd;
mod iac_args;
mod inspect_cmd;
mod lab_cmd;
mod lab_profiles;
mod list_cmd;
mod output;
mod parse_error;
mod patch_cmd;
mod provision_cmd;
mod recommend_cmd;
mod report_cmd;
mod restore_cmd;
mod rollback_cmd;
mod serve_cmd;
mod truth_cmd;

use std::process::ExitCode;

use clap::{error::ErrorKind, Parser, Subcommand};
use memtune::strategy::SloVerdict;

/// Auto-tuning memory optimizer for AWS Lambda.
#[derive(Debug, Parser)]
#[command(name = "memtune", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Debug logs on stderr, with the AWS SDK's full errors (as RUST_LOG=memtune=debug).
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The functions in the account and region (or the lab): memory, runtime, last tuned.
    List(list_cmd::ListArgs),
    /// Serve a local Lambda + CloudWatch + CloudWatch Logs with simulated functions.
    Lab(lab_cmd::LabArgs),
    /// Sweep one function's memory sizes safely and recommend one.
    Recommend(Box<recommend_cmd::RecommendArgs>),
    /// Put back what an interrupted run changed: original memory, no leftover versions.
    Restore(restore_cmd::RestoreArgs),
    /// Tune every function a fleet config selects, within one concurrency budget.
    Fleet(fleet_cmd::FleetArgs),
    /// The runs recorded so far (fleet runs, recommend --apply), or one function's entries.
    History(history_cmd::HistoryArgs),
    /// Revert what a run applied (from the history's audit log).
    Rollback(rollback_cmd::RollbackArgs),
    /// Set provisioned concurrency on the alias production invokes (journaled, undoable).
    Provision(provision_cmd::ProvisionArgs),
    /// A whole fleet run against the embedded lab, with nothing to set up.
    Demo(demo_cmd::DemoArgs),
    /// The long-running service: scheduled fleet runs and an HTTP API over them.
    Serve(serve_cmd::ServeArgs),
    /// Production figures and findings from CloudWatch metrics and logs; invokes nothing.
    Inspect(inspect_cmd::InspectArgs),
    /// Provisioned and reserved concurrency from production: cold starts by hour, the level or
    /// schedule that meets a cold-start target at the least cost; invokes nothing.
    Capacity(capacity_cmd::CapacityArgs),
    /// Functions that call each other ([[chain]] in a fleet config): every function's memory
    /// chosen together for the cheapest end-to-end objective met.
    Chain(chain_cmd::ChainArgs),
    /// Lambda on-demand vs provisioned vs Managed Instances vs Fargate: cost, p99, break-even.
    Hosting(hosting_cmd::HostingArgs),
    /// Benchmarks that print figures (lab throughput, ...).
    Bench(bench_cmd::BenchArgs),
    /// Set a run's recommended memory, and given concurrency levels, in SAM/CloudFormation,
    /// Serverless and Terraform files.
    Patch(patch_cmd::PatchArgs),
    /// CI gate: fail when template memory differs from a run's recommendation.
    Check(check_cmd::CheckArgs),
    /// Render a stored run again: table, json, markdown, html or csv.
    Report(report_cmd::ReportArgs),
}

/// A failure the user sees as one line, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Bad input: exit 2. The message is a line of text or a library error.
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 2,
            message: message.to_string(),
        }
    }

    /// The run itself failed: exit 1.
    pub fn failed(message: impl std::fmt::Display) -> CliError {
        CliError {
            code: 1,
            message: message.to_string(),
        }
    }

    /// A recommendation whose latency SLO is not `met`: exit 3 (`unconfirmed`) or 4
    /// (`unmet`); nothing was applied. `None` for `met`.
    pub fn slo_not_met(status: SloVerdict, message: impl std::fmt::Display) -> Option<CliError> {
        let code = match status {
            SloVerdict::Met => return None,
            SloVerdict::Unconfirmed => 3,
            SloVerdict::Unmet => 4,
        };
        Some(CliError {
            code,
            message: message.to_string(),
        })
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version and a bare `memtune`: clap's own help text.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            eprintln!("memtune: {}", parse_error::for_this_process::<Cli>(&e));
            return ExitCode::from(2);
        }
    };
    // `serve` sets up its own logs.
    if !matches!(cli.command, Command::Serve(_)) {
        init_debug_logs(cli.verbose);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("memtune: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Lab(args) => lab_cmd::run(args).await,
            Command::List(args) => list_cmd::run(args).await,
            Command::Recommend(args) => recommend_cmd::run(*args).await,
            Command::Restore(args) => restore_cmd::run(args).await,
            Command::Fleet(args) => fleet_cmd::run(args).await,
            Command::History(args) => history_cmd::run(args).await,
            Command::Rollback(args) => rollback_cmd::run(args).await,
            Command::Provision(args) => provision_cmd::run(args).await,
            Command::Demo(args) => demo_cmd::run(args).await,
            Command::Inspect(args) => inspect_cmd::run(args).await,
            Command::Hosting(args) => hosting_cmd::run(args).await,
            Command::Serve(args) => serve_cmd::run(args).await,
            Command::Bench(args) => bench_cmd::run(args).await,
            Command::Capacity(args) => capacity_cmd::run(args).await,
            Command::Chain(args) => chain_cmd::run(args).await,
            Command::Patch(args) => patch_cmd::run(args).await,
            Command::Check(args) => check_cmd::run(args).await,
            Command::Report(args) => report_cmd::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memtune: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Logs on stderr only when asked for (`-v`, `RUST_LOG`): one-line errors otherwise.
fn init_debug_logs(verbose: bool) {
    let filter = match tracing_subscriber::EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) if verbose => tracing_subscriber::EnvFilter::new("memtune=debug"),
        Err(_) => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
