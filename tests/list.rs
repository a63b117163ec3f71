//! `memtune list` through the real binary against a lab: every function across ListFunctions
//! pages, as the lab configures it, and "last tuned" from the history only when one exists.

mod common;

use std::process::Output;

use common::start_lab;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, synthetic};
use serde_json::Value;

async fn list(endpoint: &str, state: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["list"];
    all.extend_from_slice(args);
    common::memtune(endpoint, state, &all)
        .output()
        .await
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_across_pages_with_its_configuration() {
    // 120 functions: three ListFunctions pages of the lab's 50.
    let mut profiles = ProfileSet {
        functions: synthetic::generate(120, 3),
        ..lab::demo_profiles()
    };
    profiles.functions[7].memory_mb = 1769;
    let expected = profiles.functions.clone();
    let lab = start_lab(profiles).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    let listing = json(&list(&lab.endpoint(), &state, &["--format", "json"]).await);
    assert_eq!(listing["region"], "us-east-1");
    let listed = listing["functions"].as_array().unwrap();
    assert_eq!(listed.len(), 120);
    for f in &expected {
        let row = listed
            .iter()
            .find(|r| r["name"] == f.name.as_str())
            .unwrap_or_else(|| panic!("{} not listed", f.name));
        assert_eq!(row["memory_mb"], f.memory_mb, "{row}");
        // Lambda names no runtime for container images.
        if f.package_type == "Image" {
            assert!(row["runtime"].is_null(), "{row}");
        } else {
            assert_eq!(row["runtime"], f.runtime.as_str(), "{row}");
        }
        assert_eq!(row["architecture"], f.architecture.as_str(), "{row}");
        assert!(
            row["last_modified"].as_str().unwrap().starts_with("20"),
            "{row}"
        );
        assert!(row["last_tuned"].is_null(), "{row}");
    }
    let names: Vec<&str> = listed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "listed by name");
    assert!(!state.exists(), "list created the state directory");

    let table = list(&lab.endpoint(), &state, &[]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success());
    assert!(
        text.trim_end().ends_with("120 functions in us-east-1"),
        "{text}"
    );
    assert!(!state.exists(), "list created the state directory");
    assert_eq!(lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn last_tuned_comes_from_the_history_of_fleet_runs() {
    let lab = start_lab(lab::demo_profiles()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        r#"
[select]
names = ["orders-api"]
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [512, 1024]
invocations = 3
"#,
    )
    .unwrap();
    let config = config.display().to_string();
    let run = json(
        &common::memtune(
            &lab.endpoint(),
            &state,
            &["fleet", "--config", &config, "--format", "json"],
        )
        .output()
        .await
        .unwrap(),
    );

    let listing = json(&list(&lab.endpoint(), &state, &["--format", "json"]).await);
    let row = |name: &str| {
        listing["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    let tuned = row("orders-api");
    assert_eq!(tuned["last_tuned"]["run_id"], run["run_id"], "{tuned}");
    assert!(row("image-resize")["last_tuned"].is_null());

    let table = list(&lab.endpoint(), &state, &[]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    let line = text.lines().find(|l| l.contains("orders-api")).unwrap();
    assert!(line.contains(run["run_id"].as_str().unwrap()), "{text}");
}
