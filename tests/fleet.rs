//! `memtune fleet` and `memtune demo` through the real binary (and the fleet planner through
//! the library) against labs on ephemeral ports: selection, the shared concurrency budget,
//! faults, interruption, and that every function is always left as it was.

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use common::{lambda_client, sdk_config, start_lab_with};
use memtune::fleet::config::FleetConfig;
use memtune::fleet::jobs::memory_times_timeout;
use memtune::fleet::{self, Plan};
use memtune::platform::aws::AwsLambda;
use memtune_lab::{self as lab, LabConfig, LabServer};
use serde_json::Value;
use tokio::process::Command;

struct Env {
    lab: LabServer,
    dir: tempfile::TempDir,
    /// Function -> configured memory, as the lab started.
    original: BTreeMap<String, i32>,
}

async fn env_with(configure: impl FnOnce(&mut LabConfig)) -> Env {
    let original = common::demo_memory();
    let mut config = LabConfig::new(lab::demo_profiles());
    configure(&mut config);
    Env {
        lab: start_lab_with(config).await,
        dir: tempfile::tempdir().unwrap(),
        original,
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

impl Env {
    fn write_config(&self, text: &str) -> String {
        let path = self.dir.path().join("fleet.toml");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        common::memtune(&self.lab.endpoint(), &self.dir.path().join("state"), args)
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.unwrap()
    }

    /// Runs `memtune fleet --format json` with this config; returns the exit code and run.
    async fn fleet_json(&self, config: &str) -> (Option<i32>, Value) {
        let path = self.write_config(config);
        let out = self
            .run(&["fleet", "--config", &path, "--format", "json"])
            .await;
        let run = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "fleet printed no JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), run)
    }

    async fn plan(&self, config: &str) -> Plan {
        let config = FleetConfig::parse(config, "test.toml", None).unwrap();
        let api = AwsLambda::new(&sdk_config(&self.lab.endpoint()).await);
        fleet::plan(&api, &config, &memory_times_timeout)
            .await
            .unwrap()
    }

    async fn assert_all_untouched(&self) {
        common::assert_untouched(&self.lab.endpoint(), &self.original).await;
    }
}

fn statuses(run: &Value) -> BTreeMap<String, (String, Option<String>)> {
    run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap().to_string(),
                (
                    f["status"].as_str().unwrap().to_string(),
                    f["reason"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

const ALL_WITH_BUDGET_4: &str = r#"
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [128, 512, 1024, 1769, 3008]
invocations = 6
warmup = 1

[limits]
concurrent_functions = 8
max_in_flight = 4
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_fleet_is_tuned_within_the_budget_and_left_as_it_was() {
    // Invocations take a little wall time (1/500 of the simulated), so they overlap.
    let env = env_with(|c| c.time_scale = 0.002).await;
    let (code, run) = env.fleet_json(ALL_WITH_BUDGET_4).await;
    let statuses = statuses(&run);
    assert_eq!(statuses.len(), env.original.len(), "{statuses:?}");
    for (name, (status, reason)) in &statuses {
        match status.as_str() {
            "recommended" => assert!(reason.is_none(), "{name}"),
            "skipped" | "failed" => assert!(reason.is_some(), "{name} has no reason"),
            other => panic!("{name}: status {other}"),
        }
    }
    let recommended = statuses
        .values()
        .filter(|(s, _)| s == "recommended")
        .count();
    assert!(recommended >= 12, "{statuses:?}");
    assert_eq!(
        code,
        Some(if recommended == statuses.len() { 0 } else { 1 })
    );
    let totals = &run["totals"];
    assert_eq!(totals["functions"], 15);
    assert!(totals["invocations"].as_u64().unwrap() >= 15 * 5 * 7 / 2);
    assert!(totals["usd"].as_f64().unwrap() > 0.0);
    // Each tuned function carries the same document as `recommend --format json`; one that
    // fits in every size has a row for each sampled size (the first tuned, price-quotes,
    // does not fit in 1 GB or less).
    let first = &run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "image-resize")
        .unwrap()["document"];
    assert_eq!(first["schema_version"], 1);
    assert!(first["recommendation"]["memory_mb"].as_u64().is_some());
    assert!(first["sizes"].as_array().unwrap().len() >= 3);

    assert_eq!(run["budget"]["ceiling"], 4);
    let peak = env.lab.lab.stats().peak_concurrency;
    assert!(
        peak <= 4,
        "the lab saw {peak} invocations at once with a budget of 4"
    );
    assert!(peak >= 3, "the run should use its budget (peak {peak})");
    env.assert_all_untouched().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn selection_by_tag_glob_regex_and_exclude() {
    let env = env().await;
    let names = |plan: &Plan| {
        let mut v: Vec<String> = plan.jobs.iter().map(|j| j.function.name.clone()).collect();
        v.sort();
        v
    };
    let plan = env
        .plan("[select]\ntags = { team = \"media\" }\n[tuning]\nallow_empty_payload = true\n")
        .await;
    assert_eq!(names(&plan), ["image-resize", "video-transcode"]);
    assert_eq!(plan.listed, 15);

    let plan = env
        .plan(
            "[select]\nnames = [\"*-api\", \"a*\"]\nname_regex = [\"^(pdf|fraud)-\"]\n\
             exclude = [\"auth-*\"]\n[tuning]\nallow_empty_payload = true\n",
        )
        .await;
    assert_eq!(
        names(&plan),
        [
            "avatar-thumbnails",
            "fraud-score",
            "orders-api",
            "pdf-render"
        ]
    );
    let skipped: Vec<(String, String)> = plan
        .not_tuned
        .iter()
        .map(|r| (r.function.clone(), r.reason.clone().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [("auth-token".to_string(), "excluded by 'auth-*'".to_string())]
    );

    let plan = env
        .plan("[select]\nruntimes = [\"nodejs*\"]\narchitectures = [\"arm64\"]\n[tuning]\nallow_empty_payload = true\n")
        .await;
    assert_eq!(names(&plan), ["avatar-thumbnails"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_without_payload_or_room_are_skipped_with_a_reason() {
    let env = env().await;
    let client = lambda_client(&env.lab.endpoint()).await;
    client
        .put_function_concurrency()
        .function_name("auth-token")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap();
    let plan = env
        .plan(
            "[select]\nnames = [\"orders-api\", \"image-resize\", \"auth-token\", \"email-dispatch\"]\n\
             [[function]]\nname = \"orders-api\"\npayload = { id = \"{{uuid}}\" }\n\
             [[function]]\nname = \"email-dispatch\"\npayload = '{}'\n\
             [[function]]\nname = \"auth-token\"\npayload = '{}'\n",
        )
        .await;
    let jobs: Vec<&str> = plan.jobs.iter().map(|j| j.function.name.as_str()).collect();
    assert_eq!(jobs, ["orders-api", "email-dispatch"], "by estimated spend");
    // email-dispatch has 50 reserved: 40 for tuning, 10 left to production.
    assert_eq!(plan.jobs[1].max_in_flight, Some(40));
    assert_eq!(plan.jobs[0].max_in_flight, None);
    let reasons: BTreeMap<&str, &str> = plan
        .not_tuned
        .iter()
        .map(|r| (r.function.as_str(), r.reason.as_deref().unwrap()))
        .collect();
    assert!(
        reasons["image-resize"].contains("no payload configured"),
        "{reasons:?}"
    );
    assert!(
        reasons["auth-token"].contains("reserved concurrency 1"),
        "{reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn max_functions_tunes_the_biggest_estimated_spenders_first() {
    let env = env().await;
    let plan = env
        .plan("[tuning]\nallow_empty_payload = true\n[limits]\nmax_functions = 3\n")
        .await;
    let mut by_spend: Vec<(f64, String)> = lab::demo_profiles()
        .functions
        .iter()
        .map(|f| (f.memory_mb as f64 * f.timeout_s as f64, f.name.clone()))
        .collect();
    by_spend.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<&str> = by_spend[..3].iter().map(|(_, n)| n.as_str()).collect();
    let jobs: Vec<&str> = plan.jobs.iter().map(|j| j.function.name.as_str()).collect();
    assert_eq!(jobs, expected);
    assert_eq!(plan.not_tuned.len(), 12);
    assert!(plan.not_tuned[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("max_functions = 3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn under_faults_every_function_ends_recommended_or_failed_and_is_restored() {
    let env = env_with(|c| {
        c.faults = "throttle=0.05,error5xx=0.02,stuck-update=0.01"
            .parse()
            .unwrap();
    })
    .await;
    let (code, run) = env.fleet_json(ALL_WITH_BUDGET_4).await;
    let statuses = statuses(&run);
    assert_eq!(statuses.len(), 15);
    for (name, (status, reason)) in &statuses {
        match status.as_str() {
            "recommended" => {}
            "failed" => assert!(reason.as_deref().is_some_and(|r| !r.is_empty()), "{name}"),
            other => panic!("{name} ended {other}: {reason:?}"),
        }
    }
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}");
    assert!(
        env.lab.lab.stats().throttles > 0,
        "the fault should have throttled something"
    );
    assert!(env.lab.lab.stats().peak_concurrency <= 4);
    env.assert_all_untouched().await;
}

/// Waits until the run has changed some function (mid-sweep).
async fn wait_until_something_changed(env: &Env) {
    common::wait_until_changed(&env.lab.endpoint(), &env.original).await;
}

fn slow_updates(config: &mut LabConfig) {
    // Updates stay InProgress ~150 ms and invocations take a tenth of their simulated time.
    config.time_scale = 0.1;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_then_restore_leaves_every_function_as_it_was() {
    let env = env_with(slow_updates).await;
    let path = env.write_config(ALL_WITH_BUDGET_4);
    let mut child = env
        .command(&["fleet", "--config", &path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_something_changed(&env).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await.unwrap(); // SIGKILL
    assert!(
        common::changed(&env.lab.endpoint(), &env.original).await,
        "the kill should land mid-run"
    );

    let out = env.run(&["restore"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.assert_all_untouched().await;
    let again = env.run(&["restore"]).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_restores_every_function_in_flight() {
    let env = env_with(slow_updates).await;
    let path = env.write_config(ALL_WITH_BUDGET_4);
    let child = env
        .command(&["fleet", "--config", &path])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    wait_until_something_changed(&env).await;
    common::signal(pid, "-TERM");
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    env.assert_all_untouched().await;
    let restore = env.run(&["restore"]).await;
    assert!(String::from_utf8_lossy(&restore.stdout).contains("nothing to restore"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_the_plan_and_invokes_nothing() {
    let env = env().await;
    let path = env.write_config(
        "[select]\ntags = { team = \"media\" }\n[tuning]\nallow_empty_payload = true\n",
    );
    let out = env.run(&["fleet", "--config", &path, "--dry-run"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 of 15 functions to tune"), "{stdout}");
    assert!(stdout.contains("video-transcode"), "{stdout}");
    assert!(stdout.contains("nothing was changed"), "{stdout}");
    assert_eq!(env.lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_config_is_one_line_with_file_and_line_and_exit_two() {
    let env = env().await;
    let path = env.write_config("[select]\nnames = [\"a\"]\n\n[limits]\nmax_inflight = 3\n");
    let out = env.run(&["fleet", "--config", &path]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{path}:5:")), "{stderr}");
    assert!(stderr.contains("max_inflight"), "{stderr}");
    let missing = env
        .run(&["fleet", "--config", "/nonexistent/fleet.toml"])
        .await;
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(env.lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_the_demo_fleet_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("reports");
    let out = Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["demo", "--out-dir", out_dir.to_str().unwrap()])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stdout}{stderr}");
    assert!(stdout.contains("confidence"), "{stdout}");
    assert!(stdout.contains("image-resize"), "{stdout}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(markdown.contains("| `image-resize` |"), "{markdown}");
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<svg"), "charts in the HTML report");
    assert_eq!(report["totals"]["functions"], 15);
    assert!(
        report["totals"]["recommended"].as_u64().unwrap() >= 12,
        "{stdout}{stderr}"
    );
    // The default strategy protects latency: no recommendation has a measured p99 more than
    // 20% above the current size's, unless the current size is unsafe; and every
    // recommendation states its trade-off, in the JSON and under the table.
    assert!(stdout.contains("trade-offs (measured):"), "{stdout}");
    for f in report["functions"].as_array().unwrap() {
        let Some(rec) = f["document"]["recommendation"].as_object() else {
            continue;
        };
        let name = f["function"].as_str().unwrap();
        let t = &rec["tradeoff"];
        let summary = t["summary"].as_str().unwrap();
        assert!(stdout.contains(&format!("  {name}: {summary}")), "{stdout}");
        let unsafe_now = rec
            .get("latency_guard")
            .is_some_and(|g| g["status"] == "current_unsafe");
        let (before, after) = (
            t["p99_ms"]["before"].as_f64(),
            t["p99_ms"]["after"].as_f64(),
        );
        if let (Some(before), Some(after), false) = (before, after, unsafe_now) {
            assert!(after <= 1.2 * before, "{name}: p99 {before} -> {after} ms");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn production_spend_orders_the_run_and_gives_monthly_savings() {
    let env = env().await;
    let (code, run) = env
        .fleet_json(
            "[select]\nnames = [\"orders-api\", \"nightly-etl\", \"video-transcode\"]\n\
             [tuning]\nallow_empty_payload = true\n[limits]\nmax_functions = 2\n",
        )
        .await;
    assert_eq!(code, Some(0), "{run}");
    let functions = run["functions"].as_array().unwrap();
    let tuned: Vec<&str> = functions
        .iter()
        .filter(|f| f["status"] == "recommended")
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    // By memory x timeout nightly-etl (4 GB x 900 s) would come first; by production spend
    // (CloudWatch) it is the smallest of the three.
    assert_eq!(tuned, ["video-transcode", "orders-api"], "{run}");
    for f in functions.iter().filter(|f| f["status"] == "recommended") {
        let doc = &f["document"];
        assert!(
            doc["production"]["monthly_cost_usd"].as_f64().unwrap() > 0.0,
            "{doc}"
        );
        assert!(
            doc["recommendation"]["monthly_savings_usd"].is_number(),
            "{doc}"
        );
    }
    env.assert_all_untouched().await;
}
