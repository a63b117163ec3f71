//! `memtune inspect` over a lab of many synthetic functions: wall time, and how few
//! CloudWatch and Logs calls batching needs.

use std::time::{Duration, Instant};

use serde::Serialize;

use memtune::inspect::{self, InspectOptions, Status};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::{AwsCloudWatch, MetricWindow};
use memtune::platform::logs::AwsLogs;
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, synthetic, LabConfig};

#[derive(Debug, Clone, Serialize)]
pub struct InspectBenchReport {
    pub functions: usize,
    pub seconds: f64,
    pub lambda_calls: u32,
    pub cloudwatch_calls: u32,
    pub logs_calls: u32,
    /// Functions that got both metrics and REPORT statistics.
    pub fully_measured: usize,
}

/// Starts a lab with `functions` synthetic functions and inspects all of them.
pub async fn run(functions: usize, seed: u64) -> std::io::Result<InspectBenchReport> {
    let profiles = ProfileSet {
        functions: synthetic::generate(functions, seed),
        ..ProfileSet::default()
    };
    let names: Vec<String> = profiles.functions.iter().map(|f| f.name.clone()).collect();
    let mut lab_config = LabConfig::new(profiles);
    lab_config.seed = seed;
    let server = lab::start(lab_config, "127.0.0.1:0".parse().expect("literal")).await?;
    let config = server.client_config().await;
    let options = InspectOptions {
        window: MetricWindow::last_days(14, chrono::Utc::now().timestamp_millis())
            .expect("14 days are within retention"),
        region: "us-east-1".into(),
        query_limit: Duration::from_secs(120),
        sweeps: Default::default(),
    };
    let started = Instant::now();
    let report = inspect::inspect(
        &AwsLambda::new(&config),
        &AwsCloudWatch::new(&config),
        &AwsLogs::new(&config),
        &PriceBook::builtin(),
        &names,
        &options,
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    server.stop().await;
    Ok(InspectBenchReport {
        functions,
        seconds,
        lambda_calls: report.calls.lambda,
        cloudwatch_calls: report.calls.cloudwatch,
        logs_calls: report.calls.logs,
        fully_measured: report
            .functions
            .iter()
            .filter(|f| f.metrics.status == Status::Measured && f.logs.status == Status::Measured)
            .count(),
    })
}
