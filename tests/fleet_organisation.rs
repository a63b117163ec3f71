//! `memtune fleet` over `[[target]]` accounts and regions: one run reaches three accounts in
//! two regions each through an assumed role (the lab's STS), keeps each account-region within
//! its own budget of invocations in flight, leaves every function as it found it, and fails a
//! target it cannot reach with one line while the others are tuned.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use memtune::fleet::config::FleetConfig;
use memtune::fleet::run::RunSettings;
use memtune::orchestrate::organisation::{self, OrganisationInputs};
use memtune::platform::pacing::ApiRates;
use memtune_facts::pricing::PriceBook;
use memtune_lab::quotas::{ApiClass, ApiQuotas};
use memtune_lab::tenancy::TenancyConfig;
use memtune_lab::{LabConfig, LabServer};
use serde_json::Value;

const OWN: &str = "999999999999";
const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const EXTERNAL_ID: &str = "org-ext-1";
const BUDGET: u32 = 2;

const FLEET: &str = r#"
[[function]]
name = "orders"
memory_mb = 1024
timeout_s = 10
[function.workload]
cpu_ms = 300.0
working_set_mb = 60

[[function]]
name = "thumbnails"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 200.0
working_set_mb = 90

[[function]]
name = "ledger"
memory_mb = 2048
timeout_s = 10
[function.workload]
cpu_ms = 100.0
io_ms = 40.0
working_set_mb = 60
"#;

async fn org_lab() -> LabServer {
    org_lab_with(|_| {}).await
}

async fn org_lab_with(configure: impl FnOnce(&mut LabConfig)) -> LabServer {
    let mut config = LabConfig::new(common::profiles(FLEET));
    // Invocations take a little wall time (1/500 of the simulated), so they overlap.
    config.time_scale = 0.002;
    let mut accounts = vec![OWN.to_string()];
    accounts.extend(ACCOUNTS.iter().map(|a| a.to_string()));
    config.tenancy = TenancyConfig {
        accounts,
        regions: REGIONS.iter().map(|r| r.to_string()).collect(),
        roles: vec![format!("memtune-tuner:{EXTERNAL_ID}").parse().unwrap()],
    };
    configure(&mut config);
    common::start_lab_with(config).await
}

fn fleet_config(targets: &[(&str, &str)]) -> String {
    let mut text = format!(
        r#"
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [256, 512, 1024, 1769]
invocations = 6
warmup = 1

[limits]
concurrent_functions = 3
max_in_flight = {BUDGET}
"#
    );
    for (account, external_id) in targets {
        text.push_str(&format!(
            r#"
[[target]]
account = "{account}"
role_arn = "arn:aws:iam::{account}:role/memtune-tuner"
external_id = "{external_id}"
session_name = "memtune-org-test"
regions = ["us-east-1", "eu-west-1"]
"#
        ));
    }
    text
}

/// A Lambda client acting in `account` and `region` through the role.
async fn client(endpoint: &str, account: &str, region: &str) -> aws_sdk_lambda::Client {
    common::assumed_lambda_client(endpoint, account, EXTERNAL_ID, region).await
}

/// Every function's state in every account and region.
async fn states(endpoint: &str) -> BTreeMap<String, common::FunctionState> {
    let mut all = BTreeMap::new();
    for account in ACCOUNTS {
        for region in REGIONS {
            let c = client(endpoint, account, region).await;
            for name in ["orders", "thumbnails", "ledger"] {
                let key = format!("{account}/{region}/{name}");
                all.insert(key, common::function_state(&c, name).await);
            }
        }
    }
    all
}

async fn run_fleet(
    lab: &LabServer,
    dir: &tempfile::TempDir,
    config: &str,
) -> (Option<i32>, Value, String) {
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, config).unwrap();
    let out = common::memtune(
        &lab.endpoint(),
        &dir.path().join("state"),
        &[
            "fleet",
            "--config",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--no-production",
        ],
    )
    .output()
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let run = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fleet printed no JSON ({e}): {}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code(), run, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn three_accounts_in_two_regions_in_one_run_each_within_its_budget() {
    let lab = org_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let before = states(&lab.endpoint()).await;
    let targets: Vec<(&str, &str)> = ACCOUNTS.iter().map(|a| (*a, EXTERNAL_ID)).collect();
    let (code, run, stderr) = run_fleet(&lab, &dir, &fleet_config(&targets)).await;

    let functions = run["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 18, "{stderr}");
    for f in functions {
        let (account, region) = (
            f["account"].as_str().unwrap(),
            f["region"].as_str().unwrap(),
        );
        let name = f["function"].as_str().unwrap();
        assert!(name.starts_with(&format!("{account}/{region}/")), "{name}");
        assert_eq!(f["status"], "recommended", "{name}: {}", f["reason"]);
        let arn = f["document"]["function"]["arn"]
            .as_str()
            .unwrap_or_default();
        assert!(
            arn.starts_with(&format!("arn:aws:lambda:{region}:{account}:function:")),
            "{name}: {arn}"
        );
    }
    assert_eq!(code, Some(0), "{stderr}");

    // Each account-region had its own budget: the lab's peak there stayed within it, and the
    // run used it.
    for account in ACCOUNTS {
        for region in REGIONS {
            let stats = lab.tenants.get(account, region).unwrap().stats();
            assert!(
                stats.peak_concurrency <= BUDGET,
                "{account}/{region}: {} at once with a budget of {BUDGET}",
                stats.peak_concurrency
            );
            assert!(stats.invocations > 0, "{account}/{region} was not tuned");
        }
    }
    // The tuner's own account has no target: nothing ran there.
    assert_eq!(
        lab.tenants
            .get(OWN, "us-east-1")
            .unwrap()
            .stats()
            .invocations,
        0
    );
    assert_eq!(
        before,
        states(&lab.endpoint()).await,
        "every function back as found"
    );

    // The history has one run per account-region, each with its functions.
    let history = rusqlite_runs(&dir);
    assert_eq!(history.len(), 6, "{history:?}");
    for account in ACCOUNTS {
        for region in REGIONS {
            assert!(
                history
                    .iter()
                    .any(|(id, r, n)| id.ends_with(&format!("-{account}-{region}"))
                        && r == region
                        && *n == 3),
                "{account}/{region} not in {history:?}"
            );
        }
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_whose_role_cannot_be_assumed_fails_alone() {
    let lab = org_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fleet_config(&[(ACCOUNTS[0], EXTERNAL_ID), (ACCOUNTS[1], "wrong-id")]);
    let (code, run, stderr) = run_fleet(&lab, &dir, &config).await;
    assert_eq!(code, Some(1), "exit {code:?}: {stderr}");
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": not tuned: "))
        .collect();
    assert_eq!(refused.len(), 2, "{stderr}");
    for line in &refused {
        assert!(line.starts_with(&format!("{}/", ACCOUNTS[1])), "{line}");
        assert!(
            line.contains("cannot assume arn:aws:iam::222222222222:role/memtune-tuner"),
            "{line}"
        );
        assert!(
            line.contains("not authorized to perform: sts:AssumeRole"),
            "{line}"
        );
    }
    assert!(
        stderr.contains("2 of 4 account-regions were not tuned"),
        "{stderr}"
    );
    let functions = run["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 6);
    assert!(functions
        .iter()
        .all(|f| f["account"] == ACCOUNTS[0] && f["status"] == "recommended"));
    for region in REGIONS {
        assert_eq!(
            lab.tenants
                .get(ACCOUNTS[1], region)
                .unwrap()
                .stats()
                .invocations,
            0
        );
    }
    lab.stop().await;
}

/// (run id, region, functions) of every run in the history.
fn rusqlite_runs(dir: &tempfile::TempDir) -> Vec<(String, String, i64)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["history", "--format", "json"])
        .env("MEMTUNE_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "history printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    runs.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["region"].as_str().unwrap().to_string(),
                r["functions"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_crash_restore_acts_in_each_target_account_as_its_role() {
    let lab = org_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let before = states(&lab.endpoint()).await;
    let targets: Vec<(&str, &str)> = ACCOUNTS.iter().map(|a| (*a, EXTERNAL_ID)).collect();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet_config(&targets)).unwrap();
    let state = dir.path().join("state");
    let mut child = common::memtune(
        &lab.endpoint(),
        &state,
        &[
            "fleet",
            "--config",
            path.to_str().unwrap(),
            "--no-production",
        ],
    )
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = states(&lab.endpoint()).await;
        if now != before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run changed nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_ne!(
        before,
        states(&lab.endpoint()).await,
        "killed after a change"
    );
    let out = common::memtune(&lab.endpoint(), &state, &["restore"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(before, states(&lab.endpoint()).await, "restored: {stdout}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_tuned_in_one_account_is_not_taken_for_its_namesake_in_another() {
    let lab = org_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let first = fleet_config(&[(ACCOUNTS[0], EXTERNAL_ID)]);
    let (code, _, stderr) = run_fleet(&lab, &dir, &first).await;
    assert_eq!(code, Some(0), "{stderr}");
    let both = fleet_config(&[(ACCOUNTS[0], EXTERNAL_ID), (ACCOUNTS[1], EXTERNAL_ID)]);
    let (code, run, stderr) = run_fleet(&lab, &dir, &both).await;
    assert_eq!(code, Some(0), "{stderr}");
    for f in run["functions"].as_array().unwrap() {
        let name = f["function"].as_str().unwrap();
        let reason = f["reason"].as_str().unwrap_or("");
        if f["account"] == ACCOUNTS[0] {
            assert_eq!(f["status"], "skipped", "{name}");
            assert!(
                reason.starts_with("unchanged since run"),
                "{name}: {reason}"
            );
        } else {
            assert_eq!(f["status"], "recommended", "{name}: {reason}");
        }
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_of_a_target_run_acts_as_its_role_in_its_account_and_region() {
    let lab = org_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = fleet_config(&[(ACCOUNTS[0], EXTERNAL_ID)]);
    // The pure objective, so that sizes change; no production data, so no savings guard.
    config = config.replacen("[tuning]\n", "[tuning]\nstrategy = \"cost\"\n", 1);
    config.push_str(
        "\n[apply]\nmode = \"auto\"\nmin_monthly_savings_usd = 0.0\nmin_confidence = 0.0\n\
         max_p99_regression_pct = 10000\n",
    );
    let before = states(&lab.endpoint()).await;
    let (code, run, stderr) = run_fleet(&lab, &dir, &config).await;
    assert_eq!(code, Some(0), "{stderr}");
    let applied: Vec<&Value> = run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["apply"]["action"] == "applied")
        .collect();
    assert!(
        applied.iter().any(|f| f["region"] == REGIONS[0]),
        "something must change in {}: {run}",
        REGIONS[0]
    );
    let changed = states(&lab.endpoint()).await;

    // The history has each account-region's run, with its account.
    let runs = rusqlite_runs(&dir);
    let run_id = runs
        .iter()
        .map(|(id, _, _)| id)
        .find(|id| id.ends_with(&format!("-{}-{}", ACCOUNTS[0], REGIONS[0])))
        .unwrap_or_else(|| panic!("{runs:?}"))
        .clone();
    let table = common::memtune(&lab.endpoint(), &dir.path().join("state"), &["history"])
        .output()
        .await
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains(ACCOUNTS[0]), "{table}");

    // The caller's own credentials act in the tuner's account, where the same names exist:
    // rollback must assume the run's role to reach the functions it changed.
    let out = common::memtune(
        &lab.endpoint(),
        &dir.path().join("state"),
        &["rollback", &run_id, "--yes"],
    )
    .output()
    .await
    .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    let after = states(&lab.endpoint()).await;
    for (key, state) in &after {
        let expected = if key.starts_with(&format!("{}/{}/", ACCOUNTS[0], REGIONS[0])) {
            &before[key]
        } else {
            &changed[key]
        };
        assert_eq!(state.memory_mb, expected.memory_mb, "{key}");
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paced_copies_are_counted_and_never_refused() {
    let lab = org_lab_with(|c| c.quotas = Some(ApiQuotas::AWS)).await;
    let dir = tempfile::tempdir().unwrap();
    let (account, region) = (ACCOUNTS[0], REGIONS[0]);
    let client = client(&lab.endpoint(), account, region).await;
    let mut before = BTreeMap::new();
    for name in ["orders", "thumbnails", "ledger"] {
        before.insert(name, common::function_state(&client, name).await);
    }
    // What the checks above spent, and a full bucket for the run.
    let spent = |class| lab.tenants.admitted(account, region, class);
    let (checks_cp, checks_gf) = (spent(ApiClass::ControlPlane), spent(ApiClass::GetFunction));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let text = format!(
        r#"
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [256, 1024]
invocations = 3
warmup = 0
isolate = "clone"

[[target]]
account = "{account}"
role_arn = "arn:aws:iam::{account}:role/memtune-tuner"
external_id = "{EXTERNAL_ID}"
regions = ["{region}"]
"#
    );
    let config = FleetConfig::parse(&text, "test config", None).unwrap();
    let settings = RunSettings::for_config(
        &config,
        "paced-copies".into(),
        String::new(),
        dir.path().join("state"),
        Some(lab.endpoint()),
    );
    let base = lab.client_config().await;
    let book = PriceBook::builtin();
    let inputs = OrganisationInputs {
        base: &base,
        book: &book,
        config: &config,
        config_path: Path::new("test config"),
        production_days: None,
        pacing: Some(ApiRates::AWS),
    };
    let targets = organisation::run(
        &inputs,
        settings,
        || None,
        |_, _| Arc::new(|_| {}),
        std::future::pending::<()>(),
    )
    .await;
    let target = &targets[0];
    let finished = target
        .outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("{}", e.line()));
    let results = finished.history.results(&finished.run.run_id).unwrap();
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(
            r.status,
            memtune::fleet::outcome::Status::Recommended,
            "{r:?}"
        );
    }

    // Every Lambda call the run made waited its turn under its quota and was counted: the
    // copies' CreateFunction and DeleteFunction among them. None was refused.
    let calls = target.api_calls.expect("paced");
    let refused = |class| lab.tenants.refused(account, region, class);
    assert_eq!(refused(ApiClass::ControlPlane), 0);
    assert_eq!(refused(ApiClass::GetFunction), 0);
    assert_eq!(
        calls.control_plane,
        spent(ApiClass::ControlPlane) - checks_cp
    );
    assert_eq!(calls.get_function, spent(ApiClass::GetFunction) - checks_gf);

    // The originals were only read, and no copy is left.
    for (name, state) in &before {
        assert_eq!(
            *state,
            common::function_state(&client, name).await,
            "{name}"
        );
    }
    let left = client.list_functions().send().await.unwrap();
    assert_eq!(left.functions().len(), 3, "{:?}", left.functions());
    lab.stop().await;
}
