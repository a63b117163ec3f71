//! `memtune inspect` against an in-process lab, checked against the backfill's known truth
//! (the lab's production traffic is a closed-form model: `Production`).

mod common;

use std::process::Output;
use std::time::Duration;

use common::{profiles, sdk_config, start_lab_with};
use memtune::inspect::{self, FunctionReport, InspectOptions, InspectReport, Status};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::{AwsCloudWatch, MetricWindow};
use memtune::platform::logs::AwsLogs;
use memtune_facts::pricing::PriceBook;
use memtune_facts::Architecture;
use memtune_lab::profiles::FunctionProfile;
use memtune_lab::{LabConfig, LabServer};
use tokio::process::Command;

const FLEET: &str = r#"
[[function]]
name = "api"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 40.0
io_ms = 30.0
working_set_mb = 80
init_ms = 300.0
error_rate = 0.02
outlier_rate = 0.005
[function.traffic]
requests_per_day = 50000
daily_amplitude = 0.5
cold_start_ratio = 0.02

[[function]]
name = "resize"
memory_mb = 1024
timeout_s = 30
architecture = "arm64"
log_format = "JSON"
[function.workload]
cpu_ms = 800.0
working_set_mb = 950
init_ms = 600.0
[function.traffic]
requests_per_day = 20000
cold_start_ratio = 0.05

[[function]]
name = "slow"
memory_mb = 1769
timeout_s = 3
[function.workload]
cpu_ms = 2200.0
working_set_mb = 200
init_ms = 150.0
[function.traffic]
requests_per_day = 3000

[[function]]
name = "crashing"
memory_mb = 256
timeout_s = 10
[function.workload]
cpu_ms = 50.0
working_set_mb = 300
[function.traffic]
requests_per_day = 2000

[[function]]
name = "idle"
[function.workload]
cpu_ms = 10.0
"#;

struct Env {
    lab: LabServer,
}

async fn env_with(configure: impl FnOnce(&mut LabConfig)) -> Env {
    let mut config = LabConfig::new(profiles(FLEET));
    configure(&mut config);
    Env {
        lab: start_lab_with(config).await,
    }
}

impl Env {
    fn profile(&self, name: &str) -> &FunctionProfile {
        &self.lab.lab.telemetry.profiles[name]
    }

    async fn inspect(&self, names: &[&str]) -> InspectReport {
        let config = sdk_config(&self.lab.endpoint()).await;
        let options = InspectOptions {
            window: MetricWindow::last_days(14, chrono::Utc::now().timestamp_millis()).unwrap(),
            region: "us-east-1".into(),
            query_limit: Duration::from_secs(30),
            sweeps: Default::default(),
        };
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        inspect::inspect(
            &AwsLambda::new(&config),
            &AwsCloudWatch::new(&config),
            &AwsLogs::new(&config),
            &PriceBook::builtin(),
            &names,
            &options,
        )
        .await
    }

    async fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_memtune"))
            .arg("inspect")
            .args(args)
            .env("AWS_ENDPOINT_URL", self.lab.endpoint())
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap()
    }
}

fn function<'a>(report: &'a InspectReport, name: &str) -> &'a FunctionReport {
    report.functions.iter().find(|f| f.name == name).unwrap()
}

fn assert_within(what: &str, got: f64, truth: f64, tolerance: f64) {
    let error = (got - truth).abs() / truth;
    assert!(
        error <= tolerance,
        "{what}: {got} vs truth {truth} ({:.2}% off, allowed {:.0}%)",
        error * 100.0,
        tolerance * 100.0
    );
}

/// Monthly USD at the configured memory, from the profile's known distributions.
fn truth_monthly_usd(
    p: &FunctionProfile,
    production: &memtune_lab::backfill::Production,
    monthly: f64,
) -> f64 {
    let region = PriceBook::builtin().region("us-east-1").unwrap().clone();
    let price = region.rate(p.architecture).unwrap().first_tier_price();
    let gb = p.memory_mb as f64 / 1024.0;
    let billed_ms = production.durations.mean() + 0.5;
    let init_ms = p.traffic.cold_start_ratio * production.init.mean();
    monthly * (region.request_price() + price * gb * (billed_ms + init_ms) / 1000.0)
}

#[tokio::test]
async fn figures_match_the_backfill_truth() {
    let env = env_with(|_| {}).await;
    let report = env.inspect(&["api", "resize", "slow"]).await;
    let backfill = env.lab.lab.telemetry.backfill();
    let (start, end) = (report.window.start_ms, report.window.end_ms);
    for name in ["api", "resize", "slow"] {
        let p = env.profile(name);
        let truth = backfill.production(p);
        let f = function(&report, name);
        let m = f
            .metrics
            .data
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: {:?}", f.metrics));
        let logs = f
            .logs
            .data
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: {:?}", f.logs));
        let d = f.derived.as_ref().unwrap();

        let invocations = truth.invocations_between(start, end) as f64;
        assert_within(
            &format!("{name} invocations"),
            m.invocations,
            invocations,
            0.02,
        );
        let monthly = invocations * 730.0 / (report.window.days * 24.0);
        assert_within(
            &format!("{name} monthly invocations"),
            d.monthly_invocations,
            monthly,
            0.02,
        );
        let cost = d.monthly_cost.as_ref().unwrap();
        assert_within(
            &format!("{name} monthly cost"),
            cost.total_usd,
            truth_monthly_usd(p, &truth, monthly),
            0.02,
        );
        assert!(
            cost.init_usd.unwrap() > 0.0,
            "{name}: INIT is billed since 2025-08-01"
        );
        assert_within(
            &format!("{name} p99"),
            m.duration_p99_ms.unwrap(),
            truth.durations.quantile(0.99),
            0.05,
        );
        let errors = truth.errors_between(start, end) as f64;
        assert_eq!(m.errors, errors, "{name} errors");
        assert_within(
            &format!("{name} cold-start ratio"),
            d.cold_start_ratio.unwrap(),
            p.traffic.cold_start_ratio,
            0.05,
        );
        assert_within(
            &format!("{name} REPORT lines"),
            logs.reports,
            invocations,
            0.02,
        );
        let working_set = p.workload.max_memory_used_mb(p.memory_mb) as f64;
        let max_used = logs.max_memory_used_mb.unwrap();
        assert!(
            max_used >= working_set && max_used <= (working_set * 1.03).min(p.memory_mb as f64),
            "{name}: max used {max_used} MB vs working set {working_set} MB"
        );
        assert_within(
            &format!("{name} init p50"),
            logs.init_p50_ms.unwrap(),
            truth.init.quantile(0.5),
            0.05,
        );
    }
    // Arm64 is priced as arm64.
    assert_eq!(env.profile("resize").architecture, Architecture::Arm64);

    let kinds = |name| -> Vec<&str> {
        function(&report, name)
            .findings
            .iter()
            .map(|f| f.kind.as_str())
            .collect()
    };
    assert_eq!(kinds("api"), ["over-provisioned"], "80 MB used of 512 MB");
    assert_eq!(
        kinds("resize"),
        ["under-provisioned"],
        "~950 MB used of 1024 MB"
    );
    assert!(
        kinds("slow").contains(&"timeout risk"),
        "{:?}",
        kinds("slow")
    );
    // Three functions, one GetMetricData call; one Insights query per log format.
    assert_eq!(report.calls.cloudwatch, 1);
    for name in ["api", "resize", "slow"] {
        let logs = function(&report, name).logs.data.as_ref().unwrap();
        assert_eq!(logs.out_of_memory, 0.0, "{name} never runs out of memory");
    }
    assert!(report.calls.logs <= 2 * 6, "{:?}", report.calls);
}

#[tokio::test]
async fn out_of_memory_kills_are_counted_from_report_lines() {
    let env = env_with(|_| {}).await;
    let report = env.inspect(&["crashing"]).await;
    let (start, end) = (report.window.start_ms, report.window.end_ms);
    let truth = env
        .lab
        .lab
        .telemetry
        .backfill()
        .production(env.profile("crashing"));
    let f = function(&report, "crashing");
    let logs = f.logs.data.as_ref().unwrap();
    // 300 MB working set in 256 MB: every invocation is killed.
    let invocations = truth.invocations_between(start, end) as f64;
    assert_within("OOM kills", logs.out_of_memory, invocations, 0.02);
    assert_eq!(f.findings.len(), 1, "{:?}", f.findings);
    assert!(
        f.findings[0]
            .reason
            .contains("killed for running out of memory"),
        "{}",
        f.findings[0].reason
    );
}

#[tokio::test]
async fn a_never_invoked_function_is_said_so_not_zero() {
    let env = env_with(|_| {}).await;
    let report = env.inspect(&["idle", "api"]).await;
    let idle = function(&report, "idle");
    assert_eq!(idle.metrics.status, Status::NeverInvoked);
    assert_eq!(idle.logs.status, Status::Skipped);
    assert!(idle.derived.is_none() && idle.findings.is_empty());
    assert_eq!(function(&report, "api").metrics.status, Status::Measured);

    let out = env.cli(&["idle"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("idle: metrics: never invoked in the last 14 days"),
        "{text}"
    );
}

#[tokio::test]
async fn aliases_that_serve_traffic_are_shown_per_resource() {
    let env = env_with(|_| {}).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&env.lab.endpoint()).await);
    let version = lambda
        .publish_version()
        .function_name("api")
        .send()
        .await
        .unwrap();
    lambda
        .create_alias()
        .function_name("api")
        .name("live")
        .function_version(version.version().unwrap())
        .send()
        .await
        .unwrap();
    for _ in 0..3 {
        lambda
            .invoke()
            .function_name("api")
            .qualifier("live")
            .send()
            .await
            .unwrap();
    }
    let report = env.inspect(&["api"]).await;
    let m = function(&report, "api").metrics.data.clone().unwrap();
    assert_eq!(m.resources.len(), 1, "{:?}", m.resources);
    assert_eq!(m.resources[0].resource, "api:live");
    assert_eq!(m.resources[0].invocations, 3.0);
}

#[tokio::test]
async fn denied_cloudwatch_and_logs_are_reported_per_function() {
    let env = env_with(|c| c.deny = "cloudwatch:GetMetricData,logs:*".parse().unwrap()).await;
    let report = env.inspect(&["api", "idle"]).await;
    for f in &report.functions {
        assert_eq!(f.config.status, Status::Measured, "{}", f.name);
        assert_eq!(f.metrics.status, Status::AccessDenied, "{}", f.name);
        assert_eq!(f.logs.status, Status::AccessDenied, "{}", f.name);
        assert!(f.derived.is_none());
    }
    let out = env.cli(&["api"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("access denied reading api") && stderr.contains("IAM policy"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("api: metrics: access denied"), "{stdout}");
}

#[tokio::test]
async fn without_metrics_a_missing_log_group_is_found_in_its_batch() {
    let env = env_with(|c| c.deny = "cloudwatch:GetMetricData".parse().unwrap()).await;
    let report = env.inspect(&["api", "idle", "slow"]).await;
    assert_eq!(function(&report, "idle").logs.status, Status::NoLogGroup);
    for name in ["api", "slow"] {
        let f = function(&report, name);
        assert_eq!(f.logs.status, Status::Measured, "{name}: {:?}", f.logs);
        assert_eq!(f.metrics.status, Status::AccessDenied);
    }
}

#[tokio::test]
async fn json_output_has_the_documented_shape() {
    let env = env_with(|_| {}).await;
    let out = env.cli(&["api", "idle", "--format", "json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["window"]["days"], 14.0);
    let api = &doc["functions"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["config"]["status"], "measured");
    assert_eq!(api["config"]["memory_mb"], 512);
    assert_eq!(api["metrics"]["status"], "measured");
    assert!(api["metrics"]["duration_p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(api["logs"]["status"], "measured");
    assert!(api["logs"]["max_memory_used_mb"].as_f64().unwrap() > 0.0);
    assert!(
        api["derived"]["monthly_cost"]["total_usd"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(api["findings"][0]["kind"], "over_provisioned");
    let idle = &doc["functions"][1];
    assert_eq!(idle["metrics"]["status"], "never_invoked");
    assert!(idle["metrics"]["detail"]
        .as_str()
        .unwrap()
        .contains("never invoked"));
    assert!(idle["derived"].is_null());
    assert!(doc["calls"]["cloudwatch"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn unknown_functions_and_bad_flags_exit_2_with_one_line() {
    let env = env_with(|_| {}).await;
    let out = env.cli(&["nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "memtune: no such function: nope");
    let out = env.cli(&["api", "--days", "0"]).await;
    assert_eq!(out.status.code(), Some(2));
}
