//! `--allowed-errors` and `--min-interval-ms` through the real binary against a lab.

mod common;

use common::{profiles, start_lab};

const FLEET: &str = r#"
[[function]]
name = "flaky"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 100.0
error_rate = 0.4
noise_cv = 0.03

[[function]]
name = "coldy"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 200.0
init_ms = 400.0
init_cpu_fraction = 0.5
noise_cv = 0.03

[[function]]
name = "limited"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 50.0
noise_cv = 0.03
"#;

async fn recommend(lab: &memtune_lab::LabServer, args: &[&str]) -> serde_json::Value {
    let state = tempfile::tempdir().unwrap();
    let mut all = vec!["recommend"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--no-production"]);
    let out = common::memtune(&lab.endpoint(), state.path(), &all)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_errors_count_as_successful_samples() {
    let lab = start_lab(profiles(FLEET)).await;
    let args = [
        "flaky",
        "--sizes",
        "1024",
        "--invocations",
        "20",
        "--warmup",
        "0",
    ];
    let plain = recommend(&lab, &args).await;
    let row = &plain["sizes"][0];
    let errors = row["function_errors"].as_u64().unwrap();
    assert!(errors > 0, "the profile fails 40% of the time: {row}");
    assert_eq!(row["successes"].as_u64().unwrap() + errors, 20, "{row}");

    let mut allowed_args = args.to_vec();
    allowed_args.extend_from_slice(&["--allowed-errors", "Error"]);
    let allowed = recommend(&lab, &allowed_args).await;
    let row = &allowed["sizes"][0];
    assert_eq!(row["function_errors"], 0, "{row}");
    assert_eq!(row["successes"], 20, "{row}");
    // Another type is not allowed by it.
    let mut other_args = args.to_vec();
    other_args.extend_from_slice(&["--allowed-errors", "ValidationError"]);
    let other = recommend(&lab, &other_args).await;
    assert!(other["sizes"][0]["function_errors"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pause_between_invocations_is_kept_across_sizes() {
    let lab = start_lab(profiles(FLEET)).await;
    recommend(
        &lab,
        &[
            "limited",
            "--sizes",
            "1024,2048",
            "--invocations",
            "4",
            "--warmup",
            "1",
            "--min-interval-ms",
            "120",
            "--parallel",
            "4",
        ],
    )
    .await;
    let mut at: Vec<i64> = lab
        .lab
        .telemetry
        .invocations("limited", 0, i64::MAX)
        .iter()
        .map(|r| r.timestamp_ms)
        .collect();
    at.sort();
    assert_eq!(at.len(), 10, "two sizes, one warm-up and four each");
    let gaps: Vec<i64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // Spaced when sent; the lab stamps them when done, a few ms of jitter later.
    assert!(gaps.iter().all(|g| *g >= 100), "{gaps:?}");

    // Without the flag the same run is not spaced.
    let lab = start_lab(profiles(FLEET)).await;
    recommend(
        &lab,
        &[
            "limited",
            "--sizes",
            "1024,2048",
            "--invocations",
            "4",
            "--warmup",
            "1",
        ],
    )
    .await;
    let mut at: Vec<i64> = lab
        .lab
        .telemetry
        .invocations("limited", 0, i64::MAX)
        .iter()
        .map(|r| r.timestamp_ms)
        .collect();
    at.sort();
    let span = at.last().unwrap() - at.first().unwrap();
    assert!(span < 9 * 100, "{at:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapstart_versions_are_invoked_once_their_snapshot_is_ready() {
    use aws_sdk_lambda::types::{SnapStart, SnapStartApplyOn};
    // 90 simulated seconds of snapshot are ~0.9 s here.
    let mut config = memtune_lab::LabConfig::new(profiles(FLEET));
    config.time_scale = 0.01;
    let lab = common::start_lab_with(config).await;
    let client = common::lambda_client(&lab.endpoint()).await;
    client
        .update_function_configuration()
        .function_name("limited")
        .snap_start(
            SnapStart::builder()
                .apply_on(SnapStartApplyOn::PublishedVersions)
                .build(),
        )
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let doc = recommend(
        &lab,
        &[
            "limited",
            "--sizes",
            "1024,2048",
            "--invocations",
            "3",
            "--warmup",
            "0",
        ],
    )
    .await;
    let warnings = doc["warnings"].to_string();
    let prefix =
        "SnapStart: each of the 2 published versions was invoked once its snapshot was ready: ";
    let note = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str()?.strip_prefix(prefix))
        .next()
        .unwrap_or_else(|| panic!("{warnings}"));
    // "1.9 s waited in all, 1.0 s at most"
    let most: f64 = note
        .rsplit(", ")
        .next()
        .and_then(|m| m.strip_suffix(" s at most"))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!(most >= 0.7, "{note}");
    for row in doc["sizes"].as_array().unwrap() {
        assert_eq!(
            row["successes"], 3,
            "no invocation hit a Pending version: {row}"
        );
        // A version's first environment is restored from its snapshot: no INIT.
        assert!(row["cold_starts"].as_u64().unwrap() >= 1, "{row}");
        assert!(row["mean_restore_ms"].as_f64().unwrap() >= 100.0, "{row}");
        assert!(row["mean_init_ms"].is_null(), "{row}");
    }
    let reports: Vec<String> = lab
        .lab
        .telemetry
        .invocations("limited", 0, i64::MAX)
        .iter()
        .flat_map(|r| r.log_lines.clone())
        .filter(|l| l.starts_with("REPORT"))
        .collect();
    let restored: Vec<&String> = reports
        .iter()
        .filter(|l| l.contains("\tRestore Duration: "))
        .collect();
    assert!(!restored.is_empty(), "{reports:?}");
    assert!(
        restored
            .iter()
            .all(|l| l.contains("\tBilled Restore Duration: ") && !l.contains("Init Duration")),
        "{restored:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_start_mode_measures_init_at_every_size() {
    let lab = start_lab(profiles(FLEET)).await;
    let doc = recommend(
        &lab,
        &[
            "coldy",
            "--cold-starts",
            "--isolate",
            "clone",
            "--sizes",
            "256,1024,2048",
            "--invocations",
            "4",
        ],
    )
    .await;
    let rows = doc["sizes"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{doc}");
    let mut init_at = Vec::new();
    for row in rows {
        assert_eq!(row["invocations"], 4, "{row}");
        assert_eq!(row["cold_starts"], 4, "every sample is cold: {row}");
        let init = row["mean_init_ms"].as_f64().unwrap();
        // The measurement is INIT plus the first invocation.
        assert!(row["p50_ms"].as_f64().unwrap() > init, "{row}");
        init_at.push(init);
    }
    // Half of INIT is CPU: it shrinks from 256 MB to 1024 MB, not beyond 1 vCPU.
    assert!(init_at[0] > init_at[1] * 1.5, "{init_at:?}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("cold starts only"), "{warnings}");
    // Each sample had a version of its own, and none is left.
    let stats = lab.lab.stats();
    let copy = stats
        .functions
        .iter()
        .find(|(name, _)| name.starts_with("coldy-memtune-clone-"));
    assert!(copy.is_none(), "the copy is gone");
    let state =
        common::function_state(&common::lambda_client(&lab.endpoint()).await, "coldy").await;
    assert!(state.published.is_empty());

    // Without a grid it is refused before anything runs.
    let dir = tempfile::tempdir().unwrap();
    let out = common::memtune(
        &lab.endpoint(),
        dir.path(),
        &["recommend", "coldy", "--cold-starts"],
    )
    .output()
    .await
    .unwrap();
    assert!(common::one_line_refusal(&out).contains("--cold-starts samples a grid"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_run_keeps_each_functions_pause_and_measures_cold_starts_where_asked() {
    let lab = start_lab(profiles(FLEET)).await;
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[select]\nnames = [\"limited\", \"coldy\"]\n\n[tuning]\nallow_empty_payload = true\n\
         search = \"grid\"\nsizes = [1024, 2048]\ninvocations = 4\nwarmup = 1\n\n\
         [[function]]\nname = \"limited\"\nmin_interval_ms = 120\n\n\
         [[function]]\nname = \"coldy\"\ncold_starts = true\nwarmup = 0\n",
    )
    .unwrap();
    let out = common::memtune(
        &lab.endpoint(),
        state.path(),
        &[
            "fleet",
            "--config",
            config.to_str().unwrap(),
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
    let mut at: Vec<i64> = lab
        .lab
        .telemetry
        .invocations("limited", 0, i64::MAX)
        .iter()
        .map(|r| r.timestamp_ms)
        .collect();
    at.sort();
    assert_eq!(at.len(), 10, "two sizes, one warm-up and four each");
    let gaps: Vec<i64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= 100), "{gaps:?}");

    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let coldy = run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "coldy")
        .unwrap()
        .clone();
    for row in coldy["document"]["sizes"].as_array().unwrap() {
        assert_eq!(row["cold_starts"], 4, "every sample is cold: {row}");
    }
    assert!(coldy["document"]["warnings"]
        .to_string()
        .contains("cold starts only"));
    // Four samples per size, no warm-up: the [tuning] warmup does not apply to cold starts.
    let mut cold_at: Vec<i64> = lab
        .lab
        .telemetry
        .invocations("coldy", 0, i64::MAX)
        .iter()
        .map(|r| r.timestamp_ms)
        .collect();
    cold_at.sort();
    assert_eq!(cold_at.len(), 8, "{cold_at:?}");
}
