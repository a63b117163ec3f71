//! `memtune bench ...`: benchmarks that print figures.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::CliError;
use crate::bench::lab_load::{self, LoadSpec};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Invocations per second the lab serves at time scale 0, and the latency it adds,
    /// through the real aws-sdk-lambda client over loopback (build with --release).
    Lab {
        /// Invocations in flight at once.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
        concurrency: u32,
        /// Seconds to measure, after 1 s of warm-up.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    match args.command {
        BenchCommand::Lab {
            concurrency,
            seconds,
            json,
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
            if json {
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
    }
}
