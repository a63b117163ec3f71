//! `memtune hosting` against an in-process lab: production read through the real SDK
//! clients, a busy tiny handler that a container serves cheaper, a rare function that stays
//! on Lambda, the demo fleet with a function on each side, and bad input refused before
//! anything is read.

mod common;

use common::{memtune, profiles, start_lab};
use serde_json::Value;

const FLEET: &str = r#"
[[function]]
name = "busy"
runtime = "nodejs22.x"
memory_mb = 256
timeout_s = 10
tags = { service = "edge" }
[function.workload]
cpu_ms = 6.0
io_ms = 10.0
working_set_mb = 70
init_ms = 200.0
[function.traffic]
requests_per_day = 40000000
daily_amplitude = 0.3
cold_start_ratio = 0.0005

[[function]]
name = "rare"
runtime = "python3.12"
memory_mb = 1024
timeout_s = 30
tags = { service = "edge" }
[function.workload]
cpu_ms = 300.0
working_set_mb = 150
init_ms = 500.0
[function.traffic]
requests_per_day = 1000
cold_start_ratio = 0.3

[[function]]
name = "idle"
[function.workload]
cpu_ms = 10.0
"#;

fn function<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_goes_to_a_container_rare_stays_on_lambda() {
    let lab = start_lab(profiles(FLEET)).await;
    let state = tempfile::tempdir().unwrap();
    let out = memtune(
        &lab.endpoint(),
        state.path(),
        &[
            "hosting",
            "busy",
            "rare",
            "idle",
            "--group-by",
            "service",
            "--format",
            "json",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    let busy = function(&report, "busy");
    // The hourly Invocations add up to the lab's traffic: 40M a day = 463 requests/s.
    let rps = busy["comparison"]["current_rps"].as_f64().unwrap();
    assert!((rps / (40e6 / 86_400.0) - 1.0).abs() < 0.05, "{rps}");
    assert_eq!(busy["load"]["peak_source"]["kind"], "measured");
    assert_eq!(busy["comparison"]["verdict"]["best"], "fargate");
    assert_eq!(busy["comparison"]["verdict"]["stays_on_lambda"], false);
    let be = busy["comparison"]["break_evens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["a"] == "on_demand" && b["b"] == "fargate" && b["architecture"] == "x86_64")
        .unwrap();
    let be_rps = be["rps"].as_f64().unwrap();
    assert!(be_rps < rps, "break-even {be_rps} below today's {rps}");

    let rare = function(&report, "rare");
    assert_eq!(rare["comparison"]["verdict"]["best"], "on_demand");
    let lmi = rare["comparison"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["option"] == "managed_instances")
        .unwrap();
    assert!(lmi["not_supported"]
        .as_str()
        .unwrap()
        .contains("python3.12"));

    let idle = function(&report, "idle");
    assert!(idle["skipped"].as_str().unwrap().contains("never invoked"));

    let fleet = &report["fleet"];
    assert_eq!(
        fleet["clearly_better_elsewhere"],
        serde_json::json!(["busy"])
    );
    assert_eq!(fleet["groups"][0]["group"], "edge");
    assert!(report["assumptions_line"]
        .as_str()
        .unwrap()
        .contains("10 requests per task"));

    // The other formats: the assumptions printed, the chart drawn.
    for (format, needle) in [
        ("table", "Assumptions:"),
        ("markdown", "| busy |"),
        ("html", "<svg"),
    ] {
        let out = memtune(
            &lab.endpoint(),
            state.path(),
            &["hosting", "busy", "--format", format],
        )
        .output()
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(needle),
            "{format}: {text}"
        );
    }
}

/// The demo fleet (`memtune lab`, `memtune demo`) shows both sides: price-quotes, a busy
/// steady 2 GB API, is clearly cheaper on Fargate; auth-token, busy but tiny, stays on Lambda
/// below its break-even; and the fleet line says what is compared with what.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_fleet_has_a_function_better_on_each_side() {
    let lab = start_lab(memtune_lab::demo_profiles()).await;
    let state = tempfile::tempdir().unwrap();
    let run = |format: &'static str| {
        memtune(
            &lab.endpoint(),
            state.path(),
            &["hosting", "--all", "--format", format],
        )
        .output()
    };
    let out = run("json").await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |name: &str| function(&report, name)["comparison"]["verdict"].clone();

    let container = verdict("price-quotes");
    assert_eq!(container["best"], "fargate", "{container}");
    assert_eq!(container["stays_on_lambda"], false);
    assert!(container["saving_share"].as_f64().unwrap() >= 0.2);
    let reason = container["reason"].as_str().unwrap();
    assert!(
        reason.contains("Fargate + ALB") && reason.contains("less than on-demand"),
        "{reason}"
    );

    let lambda = verdict("auth-token");
    assert_eq!(lambda["best"], "on_demand", "{lambda}");
    let reason = lambda["reason"].as_str().unwrap();
    assert!(reason.contains("stay on Lambda"), "{reason}");
    // Today's rate is below the break-even with Fargate: the reason a reader can check.
    let auth = &function(&report, "auth-token")["comparison"];
    let today = auth["current_rps"].as_f64().unwrap();
    let break_even = auth["break_evens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["a"] == "on_demand" && b["b"] == "fargate" && b["architecture"] == "x86_64")
        .and_then(|b| b["rps"].as_f64())
        .unwrap();
    assert!(today < break_even, "{today} vs {break_even}");

    assert_eq!(
        report["fleet"]["clearly_better_elsewhere"],
        serde_json::json!(["price-quotes"])
    );
    let table = run("table").await.unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(
            "Another option costs at least 20% less than on-demand Lambda (at its cheaper \
             architecture) for: price-quotes (Fargate + ALB)"
        ),
        "{text}"
    );
    let html = run("html").await.unwrap();
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(html.matches("<svg").count() >= 2, "a chart per function");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_one_line_and_exit_2() {
    let lab = start_lab(profiles(FLEET)).await;
    let state = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            vec!["hosting", "busy", "--utilisation-target", "1.5"],
            "--utilisation-target",
        ),
        (vec!["hosting", "busy", "--margin", "1"], "--margin"),
        (vec!["hosting", "nope"], "no such function: nope"),
    ] {
        let out = memtune(&lab.endpoint(), state.path(), &args)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
