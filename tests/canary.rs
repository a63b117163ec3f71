//! `memtune recommend FN --traffic ALIAS[:SHARE]` against the lab: tuning on an alias's
//! production traffic. Before anything changes it refuses an alias that already routes and a
//! $LATEST unlike the alias's version, and states its time at the alias's rate and at 1, 10
//! and 100 req/s; kill -9 mid-run then `memtune restore` leaves the alias's routing and the
//! versions as found; someone else's change to the alias stops the run and is kept.

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use aws_sdk_lambda::types::{AliasRoutingConfiguration, Environment};
use common::{lambda_client, one_line_refusal, profiles, start_lab_with};
use memtune_lab::{LabConfig, LabServer};

const NAME: &str = "orders-api";

const FLEET: &str = r#"
[[function]]
name = "orders-api"
memory_mb = 512
timeout_s = 30
[function.workload]
cpu_ms = 50.0
working_set_mb = 90
"#;

struct Env {
    lab: LabServer,
    state: tempfile::TempDir,
    client: aws_sdk_lambda::Client,
}

/// Version 1 of $LATEST behind alias `live`, which production invoked.
async fn env() -> Env {
    let lab = start_lab_with(LabConfig::new(profiles(FLEET))).await;
    let client = lambda_client(&lab.endpoint()).await;
    client
        .publish_version()
        .function_name(NAME)
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name(NAME)
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    for _ in 0..20 {
        client
            .invoke()
            .function_name(NAME)
            .qualifier("live")
            .send()
            .await
            .unwrap();
    }
    Env {
        lab,
        state: tempfile::tempdir().unwrap(),
        client,
    }
}

/// What a canary run may change, and what must be as found afterwards (the alias's RevisionId
/// moves with any update, restoring included).
#[derive(Debug, PartialEq)]
struct Found {
    memory_mb: i32,
    alias_version: String,
    routing: BTreeMap<String, f64>,
    versions: Vec<String>,
}

impl Env {
    fn memtune(&self, args: &[&str]) -> tokio::process::Command {
        common::memtune(&self.lab.endpoint(), self.state.path(), args)
    }

    async fn run(&self, args: &[&str]) -> (Output, String) {
        let out = self.memtune(args).output().await.unwrap();
        let text = common::text(&out);
        (out, text)
    }

    async fn alias(&self) -> aws_sdk_lambda::operation::get_alias::GetAliasOutput {
        self.client
            .get_alias()
            .function_name(NAME)
            .name("live")
            .send()
            .await
            .unwrap()
    }

    async fn found(&self) -> Found {
        let latest = self
            .client
            .get_function_configuration()
            .function_name(NAME)
            .send()
            .await
            .unwrap();
        let alias = self.alias().await;
        let versions = self
            .client
            .list_versions_by_function()
            .function_name(NAME)
            .send()
            .await
            .unwrap();
        Found {
            memory_mb: latest.memory_size().unwrap(),
            alias_version: alias.function_version().unwrap().to_string(),
            routing: routing(&alias),
            versions: versions
                .versions()
                .iter()
                .map(|v| v.version().unwrap().to_string())
                .collect(),
        }
    }

    /// Waits until the alias routes a share to a candidate, and returns that routing.
    async fn until_routed(&self) -> BTreeMap<String, f64> {
        for _ in 0..600 {
            let now = routing(&self.alias().await);
            if !now.is_empty() {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the run never routed a share to a candidate");
    }
}

fn routing(alias: &aws_sdk_lambda::operation::get_alias::GetAliasOutput) -> BTreeMap<String, f64> {
    alias
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

async fn wait_settled(client: &aws_sdk_lambda::Client) {
    for _ in 0..200 {
        let c = client
            .get_function_configuration()
            .function_name(NAME)
            .send()
            .await
            .unwrap();
        if c.last_update_status().map(|s| s.as_str()) != Some("InProgress") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the update never finished");
}

fn canary() -> Vec<&'static str> {
    vec!["recommend", NAME, "--traffic", "live:5%", "--no-production"]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_states_its_time_at_the_alias_rate_and_at_1_10_and_100_per_second() {
    let env = env().await;
    let found = env.found().await;
    let mut args = canary();
    args.push("--dry-run");
    let (out, text) = env.run(&args).await;
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("canary through alias live at 5% of its traffic"),
        "{text}"
    );
    assert!(text.contains("no test invocations"), "{text}");
    // 20 requests in the last hour.
    assert!(
        text.contains("now (0.01 req/s over the last hour)"),
        "{text}"
    );
    for rate in [
        "at 1 req/s: 35 min per candidate",
        "at 10 req/s: 5 min",
        "at 100 req/s: 2 min",
    ] {
        assert!(text.contains(rate), "{rate}: {text}");
    }
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(env.found().await, found);
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_unlike_the_alias_version_is_refused_with_nothing_changed() {
    let env = env().await;
    env.client
        .update_function_configuration()
        .function_name(NAME)
        .timeout(60)
        .environment(Environment::builder().variables("MODE", "next").build())
        .send()
        .await
        .unwrap();
    wait_settled(&env.client).await;
    let found = env.found().await;
    let revision = common::revision(&env.client, NAME).await;
    let (out, _) = env.run(&canary()).await;
    let line = one_line_refusal(&out);
    assert!(
        line.starts_with("$LATEST of orders-api differs from version 1, which alias live serves, in Timeout, Environment:"),
        "{line}"
    );
    assert!(
        line.contains("make $LATEST equal to version 1 (memory aside)"),
        "{line}"
    );
    assert_eq!(env.found().await, found);
    assert_eq!(common::revision(&env.client, NAME).await, revision);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_that_already_routes_is_refused_in_one_line() {
    let env = env().await;
    env.client
        .update_function_configuration()
        .function_name(NAME)
        .description("release 2")
        .send()
        .await
        .unwrap();
    wait_settled(&env.client).await;
    let v2 = env
        .client
        .publish_version()
        .function_name(NAME)
        .send()
        .await
        .unwrap();
    env.client
        .update_alias()
        .function_name(NAME)
        .name("live")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights(v2.version().unwrap(), 0.1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let found = env.found().await;
    let (out, _) = env.run(&canary()).await;
    assert_eq!(
        one_line_refusal(&out),
        "alias live of orders-api already has a routing configuration (version 1, 10% to version 2): finish or remove that traffic shift, then run memtune again"
    );
    assert_eq!(env.found().await, found);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_run_then_restore_leaves_the_alias_and_versions_as_found() {
    let env = env().await;
    let found = env.found().await;
    let mut child = env.memtune(&canary()).spawn().unwrap();
    let routed = env.until_routed().await;
    assert_eq!(routed.values().copied().collect::<Vec<_>>(), [0.05]);
    child.kill().await.unwrap(); // SIGKILL
    child.wait().await.unwrap();
    assert_ne!(
        env.found().await,
        found,
        "the kill should leave the canary routed"
    );
    let (out, text) = env.run(&["restore", "--function", NAME]).await;
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("alias live routes as found again (version 1)"),
        "{text}"
    );
    assert_eq!(env.found().await, found);
    let (again, text) = env.run(&["restore"]).await;
    assert!(again.status.success(), "{text}");
    assert!(text.contains("nothing to restore"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn someone_elses_change_to_the_alias_stops_the_run_and_is_kept() {
    let env = env().await;
    let child = env
        .memtune(&canary())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let routed = env.until_routed().await;
    let candidate = routed.keys().next().unwrap().clone();
    // Someone shifts 20% to the candidate themselves.
    let theirs = env
        .client
        .update_alias()
        .function_name(NAME)
        .name("live")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights(&candidate, 0.2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the run should stop")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("changed by someone else"), "{stderr}");
    assert!(stderr.contains("kept their change"), "{stderr}");
    let now = env.alias().await;
    assert_eq!(
        now.revision_id(),
        theirs.revision_id(),
        "their change was clobbered"
    );
    assert_eq!(routing(&now), [(candidate.clone(), 0.2)].into());
    // The version they route to serves their alias now: memtune keeps it.
    assert!(env.found().await.versions.contains(&candidate));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_function_with_traffic_needs_no_payload_and_is_skipped_when_refused() {
    let env = env().await;
    // $LATEST no longer runs the alias's version's configuration.
    env.client
        .update_function_configuration()
        .function_name(NAME)
        .timeout(60)
        .send()
        .await
        .unwrap();
    wait_settled(&env.client).await;
    let found = env.found().await;
    let config = env.state.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[select]\nnames = [\"orders-api\"]\n[[function]]\nname = \"orders-*\"\ntraffic = \"live:5%\"\n",
    )
    .unwrap();
    let path = config.display().to_string();
    let (out, text) = env
        .run(&[
            "fleet",
            "--config",
            &path,
            "--format",
            "json",
            "--no-production",
        ])
        .await;
    assert!(out.status.success(), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    let function = &report["functions"][0];
    assert_eq!(function["status"], "skipped", "{function}");
    let reason = function["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("differs from version 1, which alias live serves, in Timeout"),
        "{function}"
    );
    assert_eq!(env.found().await, found);
}

/// config/lab/canary.toml with its live traffic at ten times the profiles' rates (time scale
/// 0.1): checkout-api's alias gets 200 requests a second, payments-worker's 100.
async fn live_env() -> Env {
    let profiles = profiles(include_str!("../config/lab/canary.toml"));
    let mut config = LabConfig::new(profiles);
    config.time_scale = 0.1;
    let lab = start_lab_with(config).await;
    let client = lambda_client(&lab.endpoint()).await;
    // Traffic in CloudWatch before the run reads the alias's rate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Env {
        lab,
        state: tempfile::tempdir().unwrap(),
        client,
    }
}

async fn recommend_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let (out, text) = env.run(args).await;
    assert!(out.status.success(), "{text}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_run_recommends_production_s_optimum_where_a_test_event_sweep_is_off() {
    let env = live_env().await;
    let profiles = profiles(include_str!("../config/lab/canary.toml"));
    let checkout = profiles.function("checkout-api").unwrap().clone();
    let book = memtune_facts::pricing::PriceBook::builtin();
    let prices = book.region("us-east-1").unwrap();
    let truth = memtune_lab::truth::function_truth(
        &checkout,
        &memtune_lab::truth::every_size(),
        &book,
        prices,
    )
    .unwrap();
    let best = truth.at(truth.cheapest_mb.unwrap()).unwrap().cost_usd;
    // How much more than production's cheapest size a size costs; None: production's large
    // requests run out of memory there.
    let regret = |mb: u64| {
        let at = truth.at(mb as u32).unwrap();
        (!at.out_of_memory).then(|| at.cost_usd / best - 1.0)
    };
    let canary = recommend_json(
        &env,
        &[
            "recommend",
            "checkout-api",
            // Production's mix (65% small, 35% large CPU-bound requests) makes a candidate's
            // mean cost vary by several percent at 200 requests: 400 keep the comparison
            // inside the 5% the issue asks, and 10% of the alias keeps the wall time.
            "--traffic",
            "live:10%",
            "--invocations",
            "400",
            "--strategy",
            "cost",
            "--no-production",
            "--format",
            "json",
        ],
    )
    .await;
    let chosen = canary["recommendation"]["memory_mb"].as_u64().unwrap();
    let off = regret(chosen);
    assert!(
        off.is_some_and(|r| r <= 0.05),
        "canary chose {chosen} MB: {off:?} above production's cheapest ({} MB)",
        truth.cheapest_mb.unwrap()
    );
    let traffic = &canary["traffic"];
    assert_eq!(traffic["test_invocations"], 0);
    assert_eq!(canary["exploration"]["invocations"], 0);
    let served = traffic["served"].as_array().unwrap();
    assert!(served.iter().any(|s| s["main"] == true), "{traffic}");
    assert!(
        served.iter().filter(|s| s["main"] == false).count() >= 2,
        "{traffic}"
    );
    // The same function swept with a test event lands elsewhere.
    let sweep = recommend_json(
        &env,
        &[
            "recommend",
            "checkout-api",
            "--strategy",
            "cost",
            "--no-production",
            "--format",
            "json",
        ],
    )
    .await;
    let swept = sweep["recommendation"]["memory_mb"].as_u64().unwrap();
    assert!(
        regret(swept).is_none_or(|r| r > 0.05),
        "the test event sweep chose {swept} MB: {:?}",
        regret(swept)
    );
    // Nothing left behind: the alias routes to version 1 alone, no other version.
    let alias = env
        .client
        .get_alias()
        .function_name("checkout-api")
        .name("live")
        .send()
        .await
        .unwrap();
    assert!(routing(&alias).is_empty());
    let versions = env
        .client
        .list_versions_by_function()
        .function_name("checkout-api")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(names, ["$LATEST", "1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_with_a_raised_error_rate_is_taken_out_within_one_metric_period() {
    let env = live_env().await;
    // payments-worker: handled errors reach 25% at 1536 MB and above; the speed search
    // starts at 1769 and 4096 MB among others.
    let report = recommend_json(
        &env,
        &[
            "recommend",
            "payments-worker",
            "--traffic",
            "live:5%",
            "--strategy",
            "speed",
            "--no-production",
            "--format",
            "json",
        ],
    )
    .await;
    let served = report["traffic"]["served"].as_array().unwrap().clone();
    let taken_out: Vec<&serde_json::Value> = served
        .iter()
        .filter(|s| s["backed_off"].is_string())
        .collect();
    // 128 MB runs out of memory (every request fails): taken out too.
    let erroring = |s: &&&serde_json::Value| s["memory_mb"].as_u64().unwrap() >= 1536;
    assert!(taken_out.iter().any(|s| erroring(&s)), "{served:?}");
    for s in &taken_out {
        // Errors, or a p99 far above the main version's (a small size).
        if erroring(&s) {
            let why = s["backed_off"].as_str().unwrap();
            assert!(why.starts_with("failure rate"), "{why}");
        }
        assert!(s["seconds"].as_f64().unwrap() <= 60.0, "{s}");
    }
    let chosen = report["recommendation"]["memory_mb"].as_u64().unwrap();
    assert!(
        chosen < 1536 && !taken_out.iter().any(|s| s["memory_mb"] == chosen),
        "recommended {chosen} MB, a size taken out"
    );
    for s in served
        .iter()
        .filter(|s| s["backed_off"].is_null() && s["main"] == false)
    {
        assert!(s["memory_mb"].as_u64().unwrap() < 1536, "{s}");
    }
}
