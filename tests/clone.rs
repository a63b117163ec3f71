//! `memtune recommend --isolate clone` through the real binary against a lab: the function is
//! only read (its RevisionId never moves), the temporary copy and its log group are gone
//! afterwards, also after kill -9 and `memtune restore`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::clones::CloneEnv as Env;
use common::text;
use common::{lambda_client, profiles};
use memtune_lab::LabConfig;

const FLEET: &str = r#"
[[function]]
name = "cpu"
memory_mb = 512
timeout_s = 60
[function.workload]
cpu_ms = 1000.0
working_set_mb = 100
noise_cv = 0.03
arm64_cpu_factor = 0.8

[[function]]
name = "x86-bound"
memory_mb = 512
timeout_s = 60
[function.workload]
cpu_ms = 1000.0
working_set_mb = 100
noise_cv = 0.03
arm64_cpu_factor = 1.5

[[function]]
name = "measured"
memory_mb = 1024
timeout_s = 30
[function.curve]
arm64_factor = 0.7
points = [
    { memory_mb = 512, mean_ms = 400.0, p99_ms = 440.0 },
    { memory_mb = 1024, mean_ms = 200.0, p99_ms = 220.0 },
    { memory_mb = 2048, mean_ms = 110.0, p99_ms = 121.0 },
]

[[function]]
name = "native"
memory_mb = 512
timeout_s = 60
portable = false
[function.workload]
cpu_ms = 400.0
working_set_mb = 100
noise_cv = 0.03
"#;

async fn env_with(time_scale: f64) -> Env {
    env_denying(time_scale, "").await
}

async fn env_denying(time_scale: f64, deny: &str) -> Env {
    let mut config = LabConfig::new(profiles(FLEET));
    config.time_scale = time_scale;
    config.deny = deny.parse().unwrap();
    Env::start(config).await
}

impl Env {
    /// The copies the journals (finished or not) name.
    fn journaled_copies(&self) -> Vec<String> {
        let dir: PathBuf = self.state.path().join("journal");
        let mut names = Vec::new();
        for sub in [dir.clone(), dir.join("done")] {
            for entry in std::fs::read_dir(sub).into_iter().flatten().flatten() {
                let file = entry.file_name().to_string_lossy().to_string();
                if let Some((_, function)) = file.trim_end_matches(".jsonl").split_once("--") {
                    if function.contains("-memtune-clone-") {
                        names.push(function.to_string());
                    }
                }
            }
        }
        names
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_sweep_never_changes_the_function_and_leaves_no_copy() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "cpu").await;
    let out = env
        .run(&[
            "recommend",
            "cpu",
            "--isolate",
            "clone",
            "--sizes",
            "1024,2048",
            "--invocations",
            "5",
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["function"]["name"], "cpu",
        "the report is about the original"
    );
    common::assert_never_changed(&client, "cpu", &before).await;
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    let journaled = env.journaled_copies();
    let [copy] = journaled.as_slice() else {
        panic!("one copy should have been journaled: {journaled:?}")
    };
    assert!(copy.starts_with("cpu-memtune-clone-x86-"), "{copy}");
    assert!(
        !env.lab.lab.telemetry.has_log_group(copy),
        "the copy's log group was left behind"
    );
    // The copy ran the sizes; the original ran nothing.
    let stats = env.lab.lab.stats();
    assert_eq!(stats.functions.get("cpu").map_or(0, |f| f.invocations), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_clone_sweep_then_restore_deletes_the_copy() {
    // Updates and creation take ~100-150 ms: time to kill the run while the copy exists.
    let env = env_with(0.1).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "cpu").await;
    let mut child = env
        .command(&[
            "recommend",
            "cpu",
            "--isolate",
            "clone",
            "--sizes",
            "1024,2048,3008",
        ])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while env.copies().await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no copy was created");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await.unwrap(); // SIGKILL
    assert_eq!(
        env.copies().await.len(),
        1,
        "the kill should leave the copy"
    );

    let out = env.run(&["restore", "--function", "cpu"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("deleted this temporary copy of cpu"),
        "{stdout}"
    );
    assert!(env.copies().await.is_empty(), "restore left the copy");
    let copy = &env.journaled_copies()[0];
    assert!(!env.lab.lab.telemetry.has_log_group(copy));
    common::assert_never_changed(&client, "cpu", &before).await;
    let again = env.run(&["restore"]).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));
}

/// `recommend FN --architectures x86_64,arm64` as JSON.
async fn compare_architectures(env: &Env, function: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "recommend",
        function,
        "--architectures",
        "x86_64,arm64",
        "--strategy",
        "cost",
        "--sizes",
        "1024,2048",
        "--invocations",
        "6",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["architectures"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_friendly_code_is_moved_to_arm64_and_arm_hostile_code_stays_on_x86_64() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "cpu").await;
    let arm = compare_architectures(&env, "cpu", &["--isolate", "clone"]).await;
    assert_eq!(arm["chosen"], "arm64", "{arm}");
    assert_eq!(arm["current"], "x86_64");
    let summary = arm["summary"].as_str().unwrap();
    assert!(summary.starts_with("arm64 at "), "{summary}");
    assert!(summary.contains("x86_64 at "), "{summary}");
    assert!(summary.contains("more and be"), "{summary}");
    // Both architectures ran on copies: the function never changed.
    common::assert_never_changed(&client, "cpu", &before).await;

    let x86 = compare_architectures(&env, "x86-bound", &[]).await;
    assert_eq!(x86["chosen"], "x86_64", "{x86}");
    let options = x86["options"].as_array().unwrap();
    assert!(
        options.iter().all(|o| o["status"] == "recommended"),
        "{x86}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_measured_curve_runs_on_the_other_architecture_scaled_by_its_arm64_factor() {
    let env = env_with(0.0).await;
    let verdict = compare_architectures(&env, "measured", &[]).await;
    assert_eq!(verdict["chosen"], "arm64", "{verdict}");
    let option = |arch: &str| {
        verdict["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["architecture"] == arch)
            .unwrap()
            .clone()
    };
    let (arm, x86) = (option("arm64"), option("x86_64"));
    assert_eq!(arm["memory_mb"], x86["memory_mb"], "{verdict}");
    let ratio = arm["p50_ms"].as_f64().unwrap() / x86["p50_ms"].as_f64().unwrap();
    assert!(
        (0.6..0.8).contains(&ratio),
        "arm64 at 0.7 of x86_64: {ratio} {verdict}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn code_that_does_not_run_on_the_other_architecture_is_reported_not_portable() {
    let env = env_with(0.0).await;
    let verdict = compare_architectures(&env, "native", &[]).await;
    assert_eq!(verdict["chosen"], "x86_64", "{verdict}");
    let arm = verdict["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["architecture"] == "arm64")
        .unwrap()
        .clone();
    assert_eq!(arm["status"], "not_portable", "{verdict}");
    assert_eq!(arm["error_type"], "Runtime.ImportModuleError");
    assert!(
        verdict["summary"]
            .as_str()
            .unwrap()
            .contains("arm64: not portable"),
        "{verdict}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_refuses_a_clone_run_that_may_not_pass_the_role_and_creates_nothing() {
    for (deny, action) in [
        (
            "iam:PassRole",
            "iam:PassRole (to give the copy the function's execution role)",
        ),
        ("lambda:CreateFunction", "lambda:CreateFunction"),
        ("logs:DeleteLogGroup", "logs:DeleteLogGroup"),
        (
            "lambda:TagResource",
            "lambda:TagResource (to tag the copy as memtune's, on creation)",
        ),
    ] {
        let env = env_denying(0.0, deny).await;
        let out = env.run(&["recommend", "cpu", "--isolate", "clone"]).await;
        let line = common::one_line_refusal(&out);
        assert!(line.contains(action), "{deny}: {line}");
        assert!(line.contains("nothing was changed or invoked"), "{line}");
        assert!(env.copies().await.is_empty());
        assert_eq!(env.lab.lab.stats().invocations, 0);
        // In place, the run needs none of them.
        let out = env
            .run(&["recommend", "cpu", "--sizes", "1024", "--invocations", "3"])
            .await;
        assert!(out.status.success(), "{deny}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_run_on_clones_changes_no_function_and_leaves_no_copy() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = [
        ("cpu", common::revision(&client, "cpu").await),
        ("x86-bound", common::revision(&client, "x86-bound").await),
    ];
    let config = env.state.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[select]\nnames = [\"cpu\", \"x86-bound\"]\n\n[tuning]\nisolate = \"clone\"\nallow_empty_payload = true\n\
         sizes = [1024, 2048]\ninvocations = 4\nsearch = \"grid\"\n",
    )
    .unwrap();
    let out = env
        .run(&[
            "fleet",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    assert_eq!(env.journaled_copies().len(), 2);
    for (name, revision) in &before {
        common::assert_never_changed(&client, name, revision).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_entry_compares_architectures_on_copies_and_leaves_the_others_in_place() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let cpu_before = common::revision(&client, "cpu").await;
    let config = env.state.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[select]\nnames = [\"cpu\", \"x86-bound\"]\n\n[tuning]\nallow_empty_payload = true\n\
         strategy = \"cost\"\nsizes = [1024, 2048]\ninvocations = 4\nsearch = \"grid\"\n\n\
         [[function]]\nname = \"cpu\"\nisolate = \"clone\"\narchitectures = [\"x86_64\", \"arm64\"]\n",
    )
    .unwrap();
    let out = env
        .run(&[
            "fleet",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = |name: &str| {
        run["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {run}"))
            .clone()
    };
    let cpu = entry("cpu");
    assert_eq!(cpu["status"], "recommended", "{cpu}");
    let verdict = &cpu["document"]["architectures"];
    assert_eq!(verdict["chosen"], "arm64", "{verdict}");
    assert_eq!(verdict["options"].as_array().unwrap().len(), 2, "{verdict}");
    assert_eq!(
        entry("x86-bound")["document"]["architectures"],
        serde_json::Value::Null
    );

    // cpu ran on two copies, one per architecture; x86-bound in place.
    common::assert_never_changed(&client, "cpu", &cpu_before).await;
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    let mut journaled = env.journaled_copies();
    journaled.sort();
    assert_eq!(journaled.len(), 2, "{journaled:?}");
    assert!(
        journaled[0].starts_with("cpu-memtune-clone-arm-"),
        "{journaled:?}"
    );
    assert!(
        journaled[1].starts_with("cpu-memtune-clone-x86-"),
        "{journaled:?}"
    );
    let stats = env.lab.lab.stats();
    assert_eq!(stats.functions.get("cpu").map_or(0, |f| f.invocations), 0);
    assert!(stats.functions["x86-bound"].invocations > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_config_refuses_architectures_with_auto_apply_before_anything_runs() {
    let env = env_with(0.0).await;
    let config = env.state.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[tuning]\nallow_empty_payload = true\n[apply]\nmode = \"auto\"\n\
         [[function]]\nname = \"cpu\"\narchitectures = [\"x86_64\", \"arm64\"]\n",
    )
    .unwrap();
    let out = env
        .run(&["fleet", "--config", config.to_str().unwrap()])
        .await;
    let line = common::one_line_refusal(&out);
    assert!(line.contains("fleet.toml:7:"), "{line}");
    assert!(line.contains("change the architecture in IaC"), "{line}");
    assert_eq!(env.lab.lab.stats().invocations, 0);
}
