//! A fleet run with the lab in its own process (`memtune lab` on an ephemeral loopback port),
//! so that this process's peak RSS is the tuner's alone: the run as `memtune fleet` makes it
//! (history on disk, each function recorded as it finishes), then the report rendered from
//! the history.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use memtune::fleet::config::FleetConfig;
use memtune::fleet::run::RunSettings;
use memtune::history::History;
use memtune::orchestrate::{self, OnEvent, RunInputs};
use memtune::platform::aws::AwsLambda;
use memtune::report::table::TableRenderer;
use memtune::report::{Renderer, Report};
use memtune_facts::pricing::PriceBook;

#[derive(Debug, Clone, Serialize)]
pub struct ProcessBenchReport {
    pub functions: usize,
    pub recommended: usize,
    pub skipped: usize,
    pub failed: usize,
    pub invocations: u64,
    pub seconds: f64,
    /// The lab's time scale (wall seconds per simulated second).
    pub time_scale: f64,
    pub concurrent_functions: u32,
    /// VmHWM of this process (the tuner alone) once the run had ended, before the report.
    pub peak_rss_run_mb: Option<f64>,
    /// VmHWM of this process after the table report was rendered from the history.
    pub peak_rss_mb: Option<f64>,
    /// Characters of that table.
    pub report_chars: usize,
}

/// The synthetic functions the lab generates, and nothing else of its demo fleet.
fn config(concurrent_functions: u32) -> FleetConfig {
    let text = format!(
        "[select]\nnames = [\"synthetic-*\"]\n[tuning]\nallow_empty_payload = true\n\
         sizes = [128, 256, 512, 1024, 1536, 3008]\ninvocations = 10\nwarmup = 0\n\
         [limits]\nconcurrent_functions = {concurrent_functions}\n"
    );
    FleetConfig::parse(&text, "bench fleet config", None).expect("the bench config is valid")
}

/// Starts `memtune lab` (this binary) serving `functions` synthetic functions; returns the
/// child and its endpoint.
async fn spawn_lab(
    functions: usize,
    seed: u64,
    time_scale: f64,
) -> std::io::Result<(Child, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["lab", "--listen", "127.0.0.1:0"])
        .args(["--synthetic", &functions.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--time-scale", &time_scale.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(endpoint) = line.strip_prefix("lab listening on ") {
            return Ok((child, endpoint.trim().to_string()));
        }
    }
    Err(std::io::Error::other("the lab exited before it listened"))
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIDLAB",
            "lab",
            None,
            None,
            "memtune-bench",
        ))
        .load()
        .await
}

pub async fn run(
    functions: usize,
    seed: u64,
    concurrent_functions: u32,
    time_scale: f64,
) -> std::io::Result<ProcessBenchReport> {
    let (mut lab, endpoint) = spawn_lab(functions, seed, time_scale).await?;
    let state_dir =
        std::env::temp_dir().join(format!("memtune-bench-process-{}", std::process::id()));
    let ran = tune(&endpoint, &state_dir, seed, concurrent_functions).await;
    let _ = lab.kill().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    let (report, seconds, peak_rss_run_mb) = ran?;
    let table = TableRenderer.render(&report);
    let totals = report.totals();
    Ok(ProcessBenchReport {
        functions: totals.functions,
        recommended: totals.recommended,
        skipped: totals.skipped,
        failed: totals.failed,
        invocations: totals.invocations,
        seconds,
        time_scale,
        concurrent_functions,
        peak_rss_run_mb,
        peak_rss_mb: super::fleet_run::peak_rss_mb(),
        report_chars: table.len(),
    })
}

/// The run, its wall time and the peak RSS when it ended.
async fn tune(
    endpoint: &str,
    state_dir: &Path,
    seed: u64,
    concurrent_functions: u32,
) -> std::io::Result<(Report, f64, Option<f64>)> {
    let sdk = sdk_config(endpoint).await;
    let api = AwsLambda::new(&sdk);
    let book = PriceBook::builtin();
    let config = config(concurrent_functions);
    let mut settings = RunSettings::for_config(
        &config,
        format!("bench-{}", std::process::id()),
        "us-east-1".into(),
        state_dir.to_path_buf(),
        Some(endpoint.to_string()),
    );
    settings.seed = seed;
    let history = History::open(state_dir).map_err(std::io::Error::other)?;
    let inputs = RunInputs {
        sdk: &sdk,
        api: &api,
        book: &book,
        config: &config,
        config_path: Path::new("bench fleet config"),
        production_days: None,
    };
    let started = Instant::now();
    let on_event: OnEvent = Arc::new(|_| {});
    let finished = orchestrate::run(
        &inputs,
        settings,
        Some(history),
        on_event,
        std::future::pending(),
    )
    .await
    .map_err(std::io::Error::other)?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = super::fleet_run::peak_rss_mb();
    let run = finished.fleet_run().map_err(std::io::Error::other)?;
    Ok((Report::Fleet(Box::new(run)), seconds, peak))
}
