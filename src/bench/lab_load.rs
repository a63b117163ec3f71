//! How many invocations per second the lab serves at time scale 0, and the latency it adds,
//! measured through the real aws-sdk-lambda client over loopback.

use std::time::{Duration, Instant};

use serde::Serialize;

use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, LabConfig};

#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Invocations in flight at once.
    pub concurrency: usize,
    /// How long to measure, after the warm-up.
    pub duration: Duration,
    pub warmup: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub invocations: u64,
    pub errors: u64,
    pub seconds: f64,
    pub invocations_per_second: f64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub concurrency: usize,
    pub lab_peak_concurrency: u32,
}

const BENCH_FLEET: &str = r#"
[[function]]
name = "bench-echo"
memory_mb = 1024
[function.workload]
cpu_ms = 20.0
io_ms = 5.0
"#;

/// Starts a lab on an ephemeral loopback port and drives it with `spec.concurrency` workers.
pub async fn run(spec: &LoadSpec) -> std::io::Result<LoadReport> {
    let profiles = ProfileSet::parse(BENCH_FLEET, "bench fleet").expect("the bench fleet is valid");
    let server = lab::start(
        LabConfig::new(profiles),
        "127.0.0.1:0".parse().expect("literal"),
    )
    .await?;
    let config = server.client_config().await;
    let client = aws_sdk_lambda::Client::new(&config);

    drive(&client, spec.concurrency, spec.warmup).await;
    let started = Instant::now();
    let samples = drive(&client, spec.concurrency, spec.duration).await;
    let seconds = started.elapsed().as_secs_f64();

    let errors = samples.iter().filter(|s| s.is_none()).count() as u64;
    let mut latencies: Vec<f64> = samples.into_iter().flatten().collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    let invocations = latencies.len() as u64 + errors;
    let report = LoadReport {
        invocations,
        errors,
        seconds,
        invocations_per_second: invocations as f64 / seconds,
        latency_p50_ms: pct(0.50),
        latency_p90_ms: pct(0.90),
        latency_p99_ms: pct(0.99),
        latency_max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        concurrency: spec.concurrency,
        lab_peak_concurrency: server.lab.stats().peak_concurrency,
    };
    server.stop().await;
    Ok(report)
}

/// Runs workers until `duration` is over; each sample is a latency in ms, or None on error.
async fn drive(
    client: &aws_sdk_lambda::Client,
    concurrency: usize,
    duration: Duration,
) -> Vec<Option<f64>> {
    let deadline = Instant::now() + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        workers.spawn(async move {
            let mut samples = Vec::new();
            let payload = aws_sdk_lambda::primitives::Blob::new(r#"{"bench":true}"#);
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = client
                    .invoke()
                    .function_name("bench-echo")
                    .payload(payload.clone())
                    .send()
                    .await
                    .is_ok();
                samples.push(ok.then(|| t.elapsed().as_secs_f64() * 1000.0));
            }
            samples
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done.unwrap_or_default());
    }
    all
}
