//! `memtune demo`: a whole fleet run against the embedded lab, with nothing to set up.
//!
//! Starts the lab's demo fleet on an ephemeral loopback port, points the real aws-sdk client
//! at it (endpoint, region and dummy credentials set here, not taken from the environment),
//! reads the lab's production data, runs `config/fleet.demo.toml`, prints the fleet table and
//! writes the reports (JSON, markdown, HTML).

use std::path::{Path, PathBuf};

use clap::Args;

use super::fleet_cmd;
use super::fleet_progress::run_with_progress;
use super::output::{self, OutputFile};
use super::recommend_cmd::new_run_id;
use super::report_cmd::{self, ReportFormat};
use super::CliError;
use memtune::fleet::config::FleetConfig;
use memtune::fleet::run::RunSettings;
use memtune::orchestrate::RunInputs;
use memtune::platform::aws::AwsLambda;
use memtune::report::markdown::Markdown;
use memtune::report::Report;
use memtune_facts::pricing::PriceBook;
use memtune_lab::{self as lab, LabConfig};

const DEMO_CONFIG: &str = include_str!("../../config/fleet.demo.toml");
const DEMO_CONFIG_PATH: &str = "config/fleet.demo.toml";
const REGION: &str = "us-east-1";
/// Days of the lab's backfilled production traffic to read.
const PRODUCTION_DAYS: u32 = 14;
/// The reports written to `--out-dir`.
const REPORTS: [ReportFormat; 3] = [
    ReportFormat::Json,
    ReportFormat::Markdown,
    ReportFormat::Html,
];

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune demo                       # table on stdout, reports in ./memtune-demo/
  memtune demo --out-dir /tmp/demo --format json -o run.json

Nothing leaves this machine: the lab serves the Lambda API on 127.0.0.1 and is gone when the
demo ends. The same run against a real account is `memtune fleet --config FILE`.")]
pub struct DemoArgs {
    /// Directory for the reports (report.json, report.md, report.html).
    #[arg(long, value_name = "DIR", default_value = "memtune-demo")]
    out_dir: PathBuf,
    /// What goes to stdout (or -o): table, json, markdown, html or csv.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<ReportFormat>)]
    format: ReportFormat,
    #[command(flatten)]
    output: OutputFile,
}

pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    let config = FleetConfig::parse(DEMO_CONFIG, DEMO_CONFIG_PATH, None)
        .expect("the built-in demo config is valid (a test runs it)");
    args.output.check()?;
    if args.out_dir.is_file() {
        return Err(CliError::usage(format!(
            "--out-dir {} is a file: --out-dir takes a directory (-o FILE writes the stdout report)",
            args.out_dir.display()
        )));
    }
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", args.out_dir.display())))?;
    let server = lab::start(
        LabConfig::new(lab::demo_profiles()),
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
    let book = PriceBook::builtin();
    // Journals of a throwaway lab do not belong in the user's state directory.
    let state_dir = std::env::temp_dir().join(format!("memtune-demo-{}", std::process::id()));
    let settings = RunSettings::for_config(
        &config,
        new_run_id(),
        REGION.to_string(),
        state_dir.clone(),
        Some(server.endpoint()),
    );
    let inputs = RunInputs {
        sdk: &sdk,
        api: &api,
        book: &book,
        config: &config,
        config_path: Path::new(DEMO_CONFIG_PATH),
        production_days: Some(PRODUCTION_DAYS),
    };
    // A throwaway lab's run is not recorded in the user's history: in one in memory.
    let run = run_with_progress(&inputs, settings, None).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    let report = Report::Fleet(Box::new(fleet_cmd::read_back(&run?)?));
    let markdown = || Markdown {
        command: Some(report_cmd::command_line()),
        full_report: Some(args.out_dir.join("report.html").display().to_string()),
        ..Markdown::default()
    };
    for format in REPORTS {
        let path = args
            .out_dir
            .join(format!("report.{}", format.file_extension()));
        std::fs::write(&path, report_cmd::render(&report, format, markdown()))
            .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))?;
    }
    args.output
        .write(&report_cmd::render(&report, args.format, markdown()))?;
    eprintln!(
        "reports written to {}/report.{{json,md,html}}",
        args.out_dir.display()
    );
    fleet_cmd::exit_status(&report)
}
