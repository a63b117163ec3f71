//! History, re-tuning, auto-apply and rollback through the real binary against labs on
//! ephemeral ports: `memtune fleet`, `memtune history`, `memtune rollback`.

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use common::{lambda_client, start_lab};
use memtune_lab::{self as lab, LabServer};
use serde_json::Value;

struct Env {
    lab: LabServer,
    dir: tempfile::TempDir,
    client: aws_sdk_lambda::Client,
}

async fn env() -> Env {
    let lab = start_lab(lab::demo_profiles()).await;
    let client = lambda_client(&lab.endpoint()).await;
    Env {
        lab,
        dir: tempfile::tempdir().unwrap(),
        client,
    }
}

impl Env {
    async fn run(&self, args: &[&str]) -> Output {
        common::memtune(&self.lab.endpoint(), &self.dir.path().join("state"), args)
            .output()
            .await
            .unwrap()
    }

    /// `memtune fleet --format json` with this config (and extra flags).
    async fn fleet(&self, config: &str, extra: &[&str]) -> (Option<i32>, Value) {
        let path = self.dir.path().join("fleet.toml");
        std::fs::write(&path, config).unwrap();
        let path = path.display().to_string();
        let mut args = vec!["fleet", "--config", &path, "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args).await;
        let run = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "fleet printed no JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), run)
    }

    /// The reason of `memtune inspect`'s first finding for the function.
    async fn over_provisioning(&self, name: &str) -> String {
        let out = self.run(&["inspect", name, "--format", "json"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let finding = &report["functions"][0]["findings"][0];
        assert_eq!(finding["kind"], "over_provisioned", "{report}");
        finding["reason"].as_str().unwrap().to_string()
    }

    async fn memory(&self, name: &str, qualifier: Option<&str>) -> i32 {
        self.client
            .get_function_configuration()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
            .unwrap()
            .memory_size()
            .unwrap()
    }

    /// Waits until $LATEST has no update in progress.
    async fn settled(&self, name: &str) {
        for _ in 0..200 {
            let c = self
                .client
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .unwrap();
            if c.last_update_status().map(|s| s.as_str()) == Some("Successful") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{name}: the update never finished");
    }

    async fn alias_version(&self, name: &str, alias: &str) -> String {
        self.client
            .get_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await
            .unwrap()
            .function_version()
            .unwrap()
            .to_string()
    }
}

/// Function -> (status, reason, apply) of a fleet run's JSON.
fn by_function(run: &Value) -> BTreeMap<String, &Value> {
    run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["function"].as_str().unwrap().to_string(), f))
        .collect()
}

fn status(run: &Value, name: &str) -> String {
    by_function(run)[name]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn reason(run: &Value, name: &str) -> String {
    by_function(run)[name]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const TWO: &str = r#"
[select]
names = ["orders-api", "image-resize"]
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [128, 512, 1024, 1769, 3008]
invocations = 6
"#;

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_functions_are_skipped_until_their_code_changes_or_force() {
    let env = env().await;
    let (code, first) = env.fleet(TWO, &[]).await;
    assert_eq!(code, Some(0), "{first}");
    let first_id = first["run_id"].as_str().unwrap();
    assert_eq!(status(&first, "orders-api"), "recommended");
    assert_eq!(status(&first, "image-resize"), "recommended");

    let (code, second) = env.fleet(TWO, &[]).await;
    assert_eq!(code, Some(0), "{second}");
    for name in ["orders-api", "image-resize"] {
        assert_eq!(status(&second, name), "skipped");
        assert_eq!(
            reason(&second, name),
            format!("unchanged since run {first_id} (0 days ago); --force to re-tune")
        );
    }
    assert_eq!(second["totals"]["invocations"], 0);

    // New code for image-resize only: a new CodeSha256.
    env.client
        .update_function_code()
        .function_name("image-resize")
        .zip_file(Blob::new(b"PK\x05\x06new code".to_vec()))
        .send()
        .await
        .unwrap();
    env.settled("image-resize").await;
    let (code, third) = env.fleet(TWO, &[]).await;
    assert_eq!(code, Some(0), "{third}");
    assert_eq!(status(&third, "image-resize"), "recommended");
    assert_eq!(status(&third, "orders-api"), "skipped");

    let (code, forced) = env.fleet(TWO, &["--force"]).await;
    assert_eq!(code, Some(0), "{forced}");
    assert_eq!(status(&forced, "image-resize"), "recommended");
    assert_eq!(status(&forced, "orders-api"), "recommended");

    // Every run is listed, newest first, with its counts.
    let out = env.run(&["history", "--format", "json"]).await;
    assert!(out.status.success());
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[3]["id"], first_id);
    assert_eq!(runs[3]["recommended"], 2);
    assert_eq!(runs[2]["skipped"], 2);
    assert!(runs.iter().all(|r| r["status"] == "finished"));
    assert!(runs[3]["usd"].as_f64().unwrap() > 0.0);
    let table = env.run(&["history"]).await;
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(first_id) && table.contains("finished"),
        "{table}"
    );
    let one = env
        .run(&["history", "--function", "image-resize", "--format", "json"])
        .await;
    let entries: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 4);

    // A stored run renders again from the history, as it was printed.
    let again = env
        .run(&["report", "--run", first_id, "--format", "json"])
        .await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again, first);
    let unknown = env
        .run(&["report", "--run", "no-such-run", "--format", "markdown"])
        .await;
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("memtune history"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_uses_the_latest_sweep_to_confirm_over_provisioning() {
    let env = env().await;
    // 72 MB used of 1024 MB: without a sweep the finding cannot say what memory buys.
    let before = env.over_provisioning("orders-api").await;
    assert!(
        before.contains("`memtune recommend` measures that"),
        "{before}"
    );
    let (code, run) = env.fleet(TWO, &[]).await;
    assert_eq!(code, Some(0), "{run}");
    let after = env.over_provisioning("orders-api").await;
    let id = run["run_id"].as_str().unwrap();
    assert!(
        after.contains(&format!("at 1024 MB (run {id})")) && after.contains("less compute"),
        "{after}"
    );
}

/// orders-api: 1024 -> 128 MB (p99 about +120%); video-transcode: 3008 -> 1769 MB (p99
/// about +50%); both save dollars a month with high confidence.
const AUTO: &str = r#"
[select]
names = ["orders-api", "video-transcode"]
[tuning]
# The pure objective: the default's latency guard keeps both sizes, and these tests need
# changes to apply and roll back.
strategy = "cost"
allow_empty_payload = true
search = "grid"
sizes = [128, 512, 1024, 1769, 3008]
invocations = 6
[apply]
mode = "auto"
min_monthly_savings_usd = 1.0
min_confidence = 0.9
"#;

#[tokio::test(flavor = "multi_thread")]
async fn auto_apply_applies_what_passes_the_guards_and_keeps_the_rest() {
    let env = env().await;
    let config = format!("{AUTO}max_p99_regression_pct = 80\n");
    let (code, run) = env.fleet(&config, &[]).await;
    assert_eq!(code, Some(0), "{run}");
    let functions = by_function(&run);
    let applied = &functions["video-transcode"]["apply"];
    assert_eq!(applied["action"], "applied", "{run}");
    let to_mb = applied["to_mb"].as_i64().unwrap() as i32;
    assert_eq!(
        to_mb,
        functions["video-transcode"]["document"]["recommendation"]["memory_mb"]
    );
    assert_eq!(applied["change"]["method"], "update");
    assert_eq!(env.memory("video-transcode", None).await, to_mb);

    let kept = &functions["orders-api"]["apply"];
    assert_eq!(kept["action"], "kept", "{run}");
    let why = kept["reason"].as_str().unwrap();
    assert!(
        why.starts_with("p99 +") && why.ends_with("> max +80%"),
        "{why}"
    );
    assert_eq!(env.memory("orders-api", None).await, 1024);

    // The audit log has the one change.
    let out = env.run(&["history", "--format", "json"]).await;
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["applied"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn alias_mode_moves_the_alias_and_leaves_latest_alone_and_rollback_moves_it_back() {
    let env = env().await;
    let v1 = env
        .client
        .publish_version()
        .function_name("video-transcode")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.version(), Some("1"));
    env.client
        .create_alias()
        .function_name("video-transcode")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let config = format!(
        "{}max_p99_regression_pct = 80\napply_via_alias = \"live\"\n",
        AUTO.replace("\"orders-api\", ", "")
    );
    let (code, run) = env.fleet(&config, &[]).await;
    assert_eq!(code, Some(0), "{run}");
    let applied = &by_function(&run)["video-transcode"]["apply"];
    assert_eq!(applied["action"], "applied", "{run}");
    assert_eq!(applied["change"]["method"], "alias");
    assert_eq!(applied["change"]["previous_version"], "1");
    let to_mb = applied["to_mb"].as_i64().unwrap() as i32;
    let published = applied["change"]["published_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        env.alias_version("video-transcode", "live").await,
        published
    );
    assert_eq!(env.memory("video-transcode", Some("live")).await, to_mb);
    assert_eq!(env.memory("video-transcode", None).await, 3008, "$LATEST");

    let run_id = run["run_id"].as_str().unwrap();
    let out = env.run(&["rollback", run_id, "--yes"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("alias live back to version 1"), "{stdout}");
    assert_eq!(env.alias_version("video-transcode", "live").await, "1");
    let versions = env
        .client
        .list_versions_by_function()
        .function_name("video-transcode")
        .send()
        .await
        .unwrap();
    let left: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(left, ["$LATEST", "1"], "the published version is deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restores_memory_and_skips_a_function_changed_meanwhile() {
    let env = env().await;
    let config = format!("{AUTO}max_p99_regression_pct = 1000\n");
    let (code, run) = env.fleet(&config, &[]).await;
    assert_eq!(code, Some(0), "{run}");
    let functions = by_function(&run);
    for name in ["orders-api", "video-transcode"] {
        assert_eq!(functions[name]["apply"]["action"], "applied", "{run}");
    }
    let run_id = run["run_id"].as_str().unwrap();

    // Someone changes orders-api after memtune applied its memory.
    env.client
        .update_function_configuration()
        .function_name("orders-api")
        .timeout(20)
        .send()
        .await
        .unwrap();
    env.settled("orders-api").await;
    let orders_now = env.memory("orders-api", None).await;

    let dry = env.run(&["rollback", run_id, "--dry-run"]).await;
    let dry_out = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(dry.status.code(), Some(1), "{dry_out}");
    assert!(
        dry_out.contains("video-transcode: would set memory back to 3008 MB"),
        "{dry_out}"
    );
    assert_ne!(env.memory("video-transcode", None).await, 3008, "dry run");

    let out = env.run(&["rollback", run_id, "--yes"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("video-transcode: memory back to 3008 MB"),
        "{stdout}"
    );
    assert!(
        stdout.contains("orders-api: not reverted: changed since memtune applied"),
        "{stdout}"
    );
    assert_eq!(env.memory("video-transcode", None).await, 3008);
    assert_eq!(env.memory("orders-api", None).await, orders_now);

    let history = env.run(&["history", "--format", "json"]).await;
    let runs: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(runs[0]["applied"], 2);
    assert_eq!(runs[0]["rolled_back"], 1);

    // Bad input: one line saying where run ids come from, exit 2.
    let unknown = env.run(&["rollback", "no-such-run", "--yes"]).await;
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("memtune history"), "{stderr}");
    assert!(env.lab.lab.stats().invocations > 0);
}

/// Light functions of the demo fleet, tuned one after another.
const ONE_AT_A_TIME: &str = r#"
[select]
names = ["orders-api", "auth-token", "search-suggest", "fraud-score", "webhook-ingest", "email-dispatch"]
[limits]
concurrent_functions = 1
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [256, 1024]
invocations = 3
warmup = 0
"#;

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_of_a_fleet_run_keeps_the_functions_it_finished_in_the_history() {
    use tokio::io::AsyncBufReadExt;
    let env = env().await;
    let path = env.dir.path().join("fleet.toml");
    std::fs::write(&path, ONE_AT_A_TIME).unwrap();
    let path = path.display().to_string();
    let mut child = common::memtune(
        &env.lab.endpoint(),
        &env.dir.path().join("state"),
        &["fleet", "--config", &path, "--no-production"],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Without a terminal, each finished function is a line on stderr: kill at the first.
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let finished = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the run ended first");
        if let Some((name, _)) = line.split_once(": recommended ") {
            break name.to_string();
        }
    };
    child.kill().await.unwrap(); // SIGKILL

    let out = env.run(&["history", "--format", "json"]).await;
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &runs[0];
    assert_eq!(run["status"], "interrupted", "{runs}");
    let tuned = run["recommended"].as_u64().unwrap();
    assert!((1..6).contains(&tuned), "{run}");
    assert!(run["invocations"].as_u64().unwrap() >= 3 * 3, "{run}");
    assert!(run["usd"].as_f64().unwrap() > 0.0, "{run}");

    let out = env
        .run(&["history", "--function", &finished, "--format", "json"])
        .await;
    let entries: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries[0]["run_id"], run["id"], "{entries}");
    assert_eq!(entries[0]["status"], "recommended", "{entries}");
    assert!(entries[0]["recommended_mb"].as_u64().is_some(), "{entries}");

    // The table says the same.
    let out = env.run(&["history"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("interrupted"), "{table}");

    // What the kill left is restored as ever.
    let restore = env.run(&["restore"]).await;
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stdout)
    );
}

/// orders-api (~50 ms) against a 5 ms p99: no size meets it, and the guards would let any
/// change through.
const UNMEETABLE_SLO: &str = r#"
[select]
names = ["orders-api"]
[tuning]
allow_empty_payload = true
strategy = "latency-slo"
slo_ms = 5
search = "grid"
sizes = [1769, 3008]
invocations = 6
[apply]
mode = "auto"
min_monthly_savings_usd = -1000.0
max_p99_regression_pct = 1000
min_confidence = 0.0
"#;

#[tokio::test(flavor = "multi_thread")]
async fn auto_apply_never_applies_an_slo_that_is_not_met() {
    let env = env().await;
    let (code, run) = env.fleet(UNMEETABLE_SLO, &[]).await;
    assert_eq!(code, Some(4), "{run}");
    let orders = &by_function(&run)["orders-api"];
    assert_eq!(
        orders["document"]["recommendation"]["slo"]["status"], "unmet",
        "{run}"
    );
    let kept = &orders["apply"];
    assert_eq!(kept["action"], "kept", "{run}");
    let why = kept["reason"].as_str().unwrap();
    assert!(why.starts_with("SLO unmet: p99 "), "{why}");
    assert_eq!(env.memory("orders-api", None).await, 1024);
    let out = env.run(&["history", "--format", "json"]).await;
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["applied"], 0);
}
