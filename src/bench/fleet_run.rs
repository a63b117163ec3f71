//! A fleet run over many synthetic lab functions at time scale 0 (a grid of 6 sizes x 10
//! invocations each): wall time, invocations per second and peak memory of the process
//! (tuner and lab together).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use memtune::fleet::budget::BudgetStats;
use memtune::fleet::config::FleetConfig;
use memtune::fleet::jobs::memory_times_timeout;
use memtune::fleet::run::{OnProgress, Progress, RunSettings};
use memtune::fleet::{self};
use memtune::platform::aws::AwsLambda;
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, synthetic, LabConfig};

#[derive(Debug, Clone, Serialize)]
pub struct FleetBenchReport {
    pub functions: usize,
    pub recommended: usize,
    pub skipped: usize,
    pub failed: usize,
    pub invocations: u64,
    pub seconds: f64,
    pub invocations_per_second: f64,
    /// VmHWM of this process (tuner and lab), when /proc tells it.
    pub peak_rss_mb: Option<f64>,
    pub concurrent_functions: u32,
    pub budget: BudgetStats,
    pub lab_peak_concurrency: u32,
}

/// Power Tuning's default grid, 10 invocations each, no warm-up: the benchmark.
fn config(concurrent_functions: u32) -> FleetConfig {
    let text = format!(
        "[tuning]\nallow_empty_payload = true\nsizes = [128, 256, 512, 1024, 1536, 3008]\n\
         invocations = 10\nwarmup = 0\n[limits]\nconcurrent_functions = {concurrent_functions}\n"
    );
    FleetConfig::parse(&text, "bench fleet config", None).expect("the bench config is valid")
}

pub async fn run(
    functions: usize,
    seed: u64,
    concurrent_functions: u32,
) -> std::io::Result<FleetBenchReport> {
    let profiles = ProfileSet {
        functions: synthetic::generate(functions, seed),
        ..ProfileSet::default()
    };
    let mut lab_config = LabConfig::new(profiles);
    lab_config.seed = seed;
    let server = lab::start(lab_config, "127.0.0.1:0".parse().expect("literal")).await?;
    let sdk = server.client_config().await;
    let state_dir =
        std::env::temp_dir().join(format!("memtune-bench-fleet-{}", std::process::id()));
    let config = config(concurrent_functions);
    let settings = RunSettings {
        run_id: format!("bench-{}", std::process::id()),
        region: "us-east-1".into(),
        state_dir: state_dir.clone(),
        endpoint_url: Some(server.endpoint()),
        role: None,
        settle_timeout: Duration::from_secs(120),
        concurrent_functions: concurrent_functions as usize,
        cold_start_ratio: config.tuning.cold_start_ratio,
        seed,
        max_usd: None,
        deadline: None,
        production: Default::default(),
        retune: Default::default(),
        canary: None,
    };
    let started = Instant::now();
    let result = fleet::run(
        &AwsLambda::new(&sdk),
        &PriceBook::builtin(),
        &config,
        &settings,
        &memory_times_timeout,
        &(Arc::new(|_: Progress| {}) as OnProgress),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let lab_peak_concurrency = server.lab.stats().peak_concurrency;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    let run = result.map_err(std::io::Error::other)?;
    let t = &run.totals;
    Ok(FleetBenchReport {
        functions: t.functions,
        recommended: t.recommended,
        skipped: t.skipped,
        failed: t.failed,
        invocations: t.invocations,
        seconds,
        invocations_per_second: t.invocations as f64 / seconds,
        peak_rss_mb: peak_rss_mb(),
        concurrent_functions,
        budget: run.budget,
        lab_peak_concurrency,
    })
}

/// The process's peak resident set (VmHWM), in MB.
pub(super) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
