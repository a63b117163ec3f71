//! `[capacity]` in a fleet config: `memtune fleet` on the lab's four traffic shapes
//! (config/lab/capacity.toml) analyses concurrency after the sweeps, carries the findings in
//! its JSON, table and history (`memtune report --run`), with the figures `memtune capacity`
//! gives for the same functions; a bad section is one line, exit 2, nothing invoked.

mod common;

use common::{memtune, start_lab};
use memtune_lab::profiles::ProfileSet;
use serde_json::Value;

const SHAPES: [&str; 4] = ["steady-api", "diurnal-api", "spiky-api", "rare-webhook"];

fn shapes() -> ProfileSet {
    ProfileSet::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/lab/capacity.toml"
    )))
    .expect("the capacity fleet loads")
}

const CONFIG: &str = r#"
[select]
names = ["steady-api", "diurnal-api", "spiky-api", "rare-webhook"]

[tuning]
allow_empty_payload = true
search = "grid"
sizes = [512, 1024]
invocations = 3
warmup = 0

[capacity]
days = 14
cold_start_target = 0.002
max_connections = 20
"#;

fn by_name<'a>(functions: &'a Value, name: &str) -> &'a Value {
    functions
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {functions}"))
}

/// Within `tolerance` of each other: the two reads may straddle a minute boundary.
fn close(a: &Value, b: &Value, tolerance: f64) -> bool {
    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    (a - b).abs() <= tolerance * b.abs().max(1e-9)
}

#[tokio::test(flavor = "multi_thread")]
async fn fleet_findings_match_the_capacity_command_and_are_kept_in_the_history() {
    let server = start_lab(shapes()).await;
    let endpoint = server.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.display().to_string();

    let out = memtune(
        &endpoint,
        &state,
        &["fleet", "--config", &config, "--format", "json"],
    )
    .output()
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        stderr.contains("analysing provisioned and reserved concurrency"),
        "{stderr}"
    );
    let found = &run["capacity"][0];
    assert!(found["failed"].is_null(), "{found}");
    let fleet_report = &found["report"];
    assert_eq!(fleet_report["functions"].as_array().unwrap().len(), 4);

    let mut args = vec!["capacity"];
    args.extend(SHAPES);
    args.extend([
        "--cold-start-target",
        "0.002",
        "--max-connections",
        "20",
        "--format",
        "json",
    ]);
    let out = memtune(&endpoint, &state, &args).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let command: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(fleet_report["target"], command["target"]);
    assert_eq!(
        fleet_report["account"]["max_connections"],
        command["account"]["max_connections"]
    );
    for name in SHAPES {
        let (f, c) = (
            by_name(&fleet_report["functions"], name),
            by_name(&command["functions"], name),
        );
        assert_eq!(f["alias"], c["alias"], "{name}");
        assert_eq!(f["recommendation"], c["recommendation"], "{name}");
        assert_eq!(
            f["reserved"]["connection_cap"], c["reserved"]["connection_cap"],
            "{name}"
        );
        for figure in ["invocations", "cold_starts"] {
            assert!(
                close(&f[figure], &c[figure], 0.01),
                "{name} {figure}: {f} vs {c}"
            );
        }
        for plan in ["on_demand", "chosen"] {
            assert!(
                close(&f[plan]["monthly_usd"], &c[plan]["monthly_usd"], 0.005),
                "{name} {plan}: {} vs {}",
                f[plan],
                c[plan]
            );
        }
    }
    // The spiky shape needs provisioned concurrency to meet 0.2%; the finding names it.
    let spiky = by_name(&fleet_report["functions"], "spiky-api");
    assert_eq!(spiky["recommendation"]["kind"], "provision", "{spiky}");

    // The history keeps the findings: `memtune report --run` renders them in every format.
    let run_id = run["run_id"].as_str().unwrap();
    for (format, needle) in [
        ("table", "$/month recommended"),
        ("markdown", "| spiky-api | prod |"),
        ("html", "<h2>Capacity</h2>"),
        ("json", "\"capacity\""),
    ] {
        let out = memtune(
            &endpoint,
            &state,
            &["report", "--run", run_id, "--format", format],
        )
        .output()
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(needle), "{format}: {text}");
        assert!(
            text.contains("Capacity over 14.0 days") || format == "json",
            "{format}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_capacity_section_is_one_line_exit_2_and_invokes_nothing() {
    let server = start_lab(shapes()).await;
    let dir = tempfile::tempdir().unwrap();
    for (section, line, says) in [
        ("[capacity]\ndays = 30\n", 4, "use 1 to 14"),
        (
            "[capacity]\ncold_start_target = 0.01\np99_target_ms = 200.0\n",
            5,
            "not both",
        ),
        (
            "[capacity]\nmax_connections = 0\n",
            4,
            "max_connections must be >= 1",
        ),
        ("[capacity]\nenable = true\n", 4, "unknown field"),
    ] {
        let path = dir.path().join("fleet.toml");
        std::fs::write(
            &path,
            format!("[tuning]\nallow_empty_payload = true\n{section}"),
        )
        .unwrap();
        let path = path.display().to_string();
        let out = memtune(
            &server.endpoint(),
            &dir.path().join("state"),
            &["fleet", "--config", &path],
        )
        .output()
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{section}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("fleet.toml:{line}:")), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    // A price book without provisioned-concurrency prices is refused before the sweeps.
    let book = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/pricing.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("provisioned_"))
        .collect::<Vec<_>>()
        .join("\n");
    let pricing = dir.path().join("pricing.toml");
    std::fs::write(&pricing, book).unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[tuning]\nallow_empty_payload = true\n[capacity]\n",
    )
    .unwrap();
    let out = memtune(
        &server.endpoint(),
        &dir.path().join("state"),
        &[
            "fleet",
            "--config",
            &config.display().to_string(),
            "--pricing",
            &pricing.display().to_string(),
        ],
    )
    .output()
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("[capacity]") && stderr.contains("provisioned"),
        "{stderr}"
    );
    assert_eq!(server.lab.stats().invocations, 0);
    server.stop().await;
}
