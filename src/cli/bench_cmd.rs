//! `memtune bench ...`: benchmarks that print figures.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::recommend_cmd::OutputFormat;
use super::CliError;
use crate::bench::chains;
use crate::bench::fleet_process;
use crate::bench::fleet_run;
use crate::bench::inspect_fleet;
use crate::bench::lab_load::{self, LoadSpec};
use crate::bench::org_fleet;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Recommendation quality vs the lab's truth, adaptive vs grid search, per strategy.
    Accuracy(super::accuracy_cmd::AccuracyArgs),
    /// `memtune chain` on the lab's three call chains (config/lab/chains.toml), judged by the
    /// lab's truth: true end-to-end p99 vs the objective, cost vs the cheapest assignment on
    /// the 64 MB grid and vs the equal split.
    Chains {
        /// Seed of the lab and of the tuner's draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Warm invocations per swept size.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(3..=1000))]
        invocations: u32,
        /// table (text) or json.
        #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = super::output::format::<OutputFormat>)]
        format: OutputFormat,
    },
    /// Invocations per second the lab serves at time scale 0, and the latency it adds,
    /// through the real aws-sdk-lambda client over loopback (build with --release).
    Lab {
        /// Invocations in flight at once.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
        concurrency: u32,
        /// Seconds to measure, after 1 s of warm-up.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// table (text) or json.
        #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = super::output::format::<OutputFormat>)]
        format: OutputFormat,
    },
    /// A fleet run over synthetic lab functions at time scale 0 (6 sizes x 10 invocations
    /// each): wall time, invocations/s, peak RSS (build with --release).
    Fleet {
        /// Synthetic functions in the lab.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=20000))]
        functions: u32,
        /// Seed of the generated fleet.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Functions swept at the same time (per account and region with --accounts).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=256))]
        concurrent_functions: u32,
        /// Spread the functions over this many accounts, reached through an assumed role.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        accounts: Option<u32>,
        /// ... and this many regions in each (us-east-1, eu-west-1, us-west-2, us-east-2).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4), requires = "accounts")]
        regions: u32,
        /// The lab enforces Lambda's request-rate quotas and memtune paces to them (aws);
        /// the report gives the wall time against the floor they set.
        #[arg(long, value_name = "aws", value_parser = ["aws"], requires = "accounts")]
        quotas: Option<String>,
        /// Run the lab as a separate process (`memtune lab` on a loopback port) and the fleet
        /// as `memtune fleet` does (history on disk, the report rendered from it), so that the
        /// peak RSS is the tuner's alone.
        #[arg(long, conflicts_with = "accounts")]
        lab_process: bool,
        /// With --lab-process: the lab's wall seconds per simulated second.
        #[arg(long, default_value_t = 0.0, requires = "lab_process")]
        time_scale: f64,
        /// table (text) or json.
        #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = super::output::format::<OutputFormat>)]
        format: OutputFormat,
    },
    /// `memtune inspect` over a lab of synthetic functions: wall time and the number of
    /// CloudWatch and Logs calls (build with --release).
    Inspect {
        /// Synthetic functions in the lab.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=20000))]
        functions: u32,
        /// Seed of the generated fleet.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// table (text) or json.
        #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = super::output::format::<OutputFormat>)]
        format: OutputFormat,
    },
}

pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    match args.command {
        BenchCommand::Accuracy(a) => super::accuracy_cmd::run(a).await,
        BenchCommand::Lab {
            concurrency,
            seconds,
            format,
        } => {
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
                return Err(CliError::usage("--seconds must be between 0 and 3600"));
            }
            let spec = LoadSpec {
                concurrency: concurrency as usize,
                duration: Duration::from_secs_f64(seconds),
                warmup: Duration::from_secs(1),
            };
            let r = lab_load::run(&spec)
                .await
                .map_err(|e| CliError::failed(format!("cannot start the lab: {e}")))?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r).expect("plain data"));
            } else {
                println!(
                    "lab throughput: {:.0} invocations/s ({} in {:.1} s, {} errors, {} in flight)",
                    r.invocations_per_second, r.invocations, r.seconds, r.errors, r.concurrency
                );
                println!(
                    "latency per invocation (client-observed, ms): p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
                    r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms, r.latency_max_ms
                );
            }
            Ok(())
        }
        BenchCommand::Fleet {
            functions,
            seed,
            concurrent_functions,
            accounts: Some(accounts),
            regions,
            quotas,
            format,
            ..
        } => {
            let r = org_fleet::run(
                functions as usize,
                accounts as usize,
                regions as usize,
                quotas.is_some(),
                seed,
                concurrent_functions,
            )
            .await
            .map_err(|e| CliError::failed(format!("fleet benchmark failed: {e}")))?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r).expect("plain data"));
            } else {
                let floor = match r.floor_seconds {
                    Some(f) => format!(
                        "; floor {f:.1} s (control-plane calls of the busiest account-region / 15 per s), {:.2}x the floor",
                        r.seconds / f
                    ),
                    None => String::new(),
                };
                println!(
                    "fleet run over {} functions in {} accounts x {} regions: {:.1} s wall time{floor}",
                    r.functions, r.accounts, r.regions, r.seconds
                );
                println!(
                    "{} recommended, {} skipped, {} failed ({} for quota reasons); {} control-plane and {} GetFunction calls; the lab refused {} control-plane and {} GetFunction calls (429)",
                    r.recommended,
                    r.skipped,
                    r.failed,
                    r.failed_for_quota,
                    r.control_plane_calls,
                    r.get_function_calls,
                    r.lab_refused_control_plane,
                    r.lab_refused_get_function
                );
            }
            Ok(())
        }
        BenchCommand::Fleet {
            functions,
            seed,
            concurrent_functions,
            lab_process: true,
            time_scale,
            format,
            ..
        } => {
            if !(time_scale.is_finite() && (0.0..=1.0).contains(&time_scale)) {
                return Err(CliError::usage("--time-scale must be between 0 and 1"));
            }
            let r = fleet_process::run(functions as usize, seed, concurrent_functions, time_scale)
                .await
                .map_err(|e| CliError::failed(format!("fleet benchmark failed: {e}")))?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r).expect("plain data"));
            } else {
                let mb =
                    |v: Option<f64>| v.map_or_else(|| "unknown".into(), |mb| format!("{mb:.0} MB"));
                println!(
                    "fleet run over {} lab functions, lab in its own process (time scale {}): {:.1} s wall time, {} invocations",
                    r.functions, r.time_scale, r.seconds, r.invocations
                );
                println!(
                    "tuner peak RSS {} at the end of the run, {} after rendering the report from the history ({} characters)",
                    mb(r.peak_rss_run_mb),
                    mb(r.peak_rss_mb),
                    r.report_chars
                );
                println!(
                    "{} recommended, {} skipped, {} failed; {} functions at once",
                    r.recommended, r.skipped, r.failed, r.concurrent_functions
                );
            }
            Ok(())
        }
        BenchCommand::Fleet {
            functions,
            seed,
            concurrent_functions,
            accounts: None,
            format,
            ..
        } => {
            let r = fleet_run::run(functions as usize, seed, concurrent_functions)
                .await
                .map_err(|e| CliError::failed(format!("fleet benchmark failed: {e}")))?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r).expect("plain data"));
            } else {
                let rss = r
                    .peak_rss_mb
                    .map(|mb| format!("{mb:.0} MB"))
                    .unwrap_or_else(|| "unknown".into());
                println!(
                    "fleet run over {} lab functions: {:.1} s wall time, {} invocations ({:.0}/s), peak RSS {rss}",
                    r.functions, r.seconds, r.invocations, r.invocations_per_second
                );
                println!(
                    "{} recommended, {} skipped, {} failed; {} functions at once, at most {} invocations in flight (lab peak {})",
                    r.recommended,
                    r.skipped,
                    r.failed,
                    r.concurrent_functions,
                    r.budget.ceiling,
                    r.lab_peak_concurrency
                );
            }
            Ok(())
        }
        BenchCommand::Chains {
            seed,
            invocations,
            format,
        } => {
            let rows = chains::run(seed, invocations)
                .await
                .map_err(CliError::failed)?;
            if format == OutputFormat::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("plain data")
                );
            } else {
                print!("{}", chains::render(&rows));
            }
            Ok(())
        }
        BenchCommand::Inspect {
            functions,
            seed,
            format,
        } => {
            let r = inspect_fleet::run(functions as usize, seed)
                .await
                .map_err(|e| CliError::failed(format!("cannot start the lab: {e}")))?;
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&r).expect("plain data"));
            } else {
                println!(
                    "inspect over {} lab functions: {:.2} s wall time, {} fully measured",
                    r.functions, r.seconds, r.fully_measured
                );
                println!(
                    "calls: {} CloudWatch GetMetricData, {} CloudWatch Logs (StartQuery + GetQueryResults), {} Lambda",
                    r.cloudwatch_calls, r.logs_calls, r.lambda_calls
                );
            }
            Ok(())
        }
    }
}
