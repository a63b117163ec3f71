//! `memtune demo`: a whole fleet run against the embedded lab, with nothing to set up.
//!
//! Starts the lab's demo fleet on an ephemeral loopback port, points the real aws-sdk client
//! at it (endpoint, region and dummy credentials set here, not taken from the environment),
//! runs `config/fleet.demo.toml`, prints the fleet table and writes the reports.

use std::path::PathBuf;

use clap::Args;

use super::fleet_cmd;
use super::recommend_cmd::OutputFormat;
use super::CliError;
use crate::fleet::config::FleetConfig;
use crate::lab::{self, LabConfig};
use crate::platform::aws::AwsLambda;
use crate::pricing::PriceBook;
use crate::report;

const DEMO_CONFIG: &str = include_str!("../../config/fleet.demo.toml");
const REGION: &str = "us-east-1";

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  memtune demo                       # table on stdout, reports in ./memtune-demo/
  memtune demo --out /tmp/demo --output json

Nothing leaves this machine: the lab serves the Lambda API on 127.0.0.1 and is gone when the
demo ends. The same run against a real account is `memtune fleet --config FILE`.")]
pub struct DemoArgs {
    /// Directory for the reports (fleet.json).
    #[arg(long, default_value = "memtune-demo")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
}

pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    let config = FleetConfig::parse(DEMO_CONFIG, "config/fleet.demo.toml", None)
        .expect("the built-in demo config is valid (a test runs it)");
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", args.out.display())))?;
    let server = lab::start(
        LabConfig::new(lab::demo_fleet()),
        "127.0.0.1:0".parse().expect("literal address"),
    )
    .await
    .map_err(|e| CliError::failed(format!("cannot start the lab on loopback: {e}")))?;
    eprintln!(
        "lab serving the demo fleet on {} (simulated Lambda, time scale 0)",
        server.endpoint()
    );
    let sdk = server.client_config().await;
    let api = AwsLambda::new(&sdk);
    // Journals of a throwaway lab do not belong in the user's state directory.
    let state_dir = std::env::temp_dir().join(format!("memtune-demo-{}", std::process::id()));
    let settings = fleet_cmd::settings(
        &config,
        REGION.to_string(),
        state_dir.clone(),
        Some(server.endpoint()),
    );
    let run = fleet_cmd::run_with_progress(&api, &PriceBook::builtin(), &config, &settings).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    let run = run?;
    let json_path = args.out.join("fleet.json");
    std::fs::write(&json_path, report::fleet::json(&run))
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", json_path.display())))?;
    print!("{}", fleet_cmd::render(&run, args.output));
    eprintln!("report written to {}", json_path.display());
    fleet_cmd::exit_status(&run)
}
