//! `memtune capacity` against an in-process lab serving the four traffic shapes of
//! config/lab/capacity.toml, scored by the lab's brute-force truth over the traffic it
//! generated (`memtune_lab::capacity_truth`).

mod common;

use std::time::Duration;

use common::{memtune, sdk_config, start_lab};
use memtune::capacity::simulate::Plan;
use memtune::capacity::{self, observe, CapacityOptions, CapacityReport, Recommendation, Target};
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune_facts::pricing::PriceBook;
use memtune_lab::capacity_truth::{self, Evaluator, PlanTruth};
use memtune_lab::environments::ScheduleStep;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::LabServer;

fn fleet() -> ProfileSet {
    ProfileSet::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/lab/capacity.toml"
    )))
    .expect("the capacity fleet loads")
}

fn lab_plan(plan: &Plan) -> capacity_truth::Plan {
    match plan {
        Plan::Level(l) => capacity_truth::Plan::Level(*l),
        Plan::Schedule(steps) => capacity_truth::Plan::Schedule(
            steps
                .iter()
                .map(|s| ScheduleStep {
                    hour: s.hour,
                    level: s.level,
                })
                .collect(),
        ),
    }
}

async fn analyse(server: &LabServer, name: &str, target: f64) -> CapacityReport {
    analyse_for(server, name, Target::ColdStartRate(target)).await
}

async fn analyse_for(server: &LabServer, name: &str, target: Target) -> CapacityReport {
    let config = sdk_config(&server.endpoint()).await;
    let options = CapacityOptions {
        window: observe::minute_window(14, chrono::Utc::now().timestamp_millis()),
        region: "us-east-1".into(),
        target,
        max_connections: Some(10),
        query_limit: Duration::from_secs(60),
    };
    capacity::analyse(
        &AwsLambda::new(&config),
        &AwsCloudWatch::new(&config),
        &AwsLogs::new(&config),
        &PriceBook::builtin(),
        &[name.to_string()],
        &options,
    )
    .await
    .expect("the analysis reads the lab")
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1e-9)
}

/// Per shape: the recommendation meets the target by the truth, costs at most 5% more than
/// the cheapest level or two-step schedule the truth finds by brute force, and its monthly
/// cost (and on-demand's) agrees with the truth's within 2%.
#[tokio::test(flavor = "multi_thread")]
async fn recommendations_meet_the_target_near_the_cheapest_by_the_truth() {
    let profiles = fleet();
    let server = start_lab(profiles.clone()).await;
    let book = PriceBook::builtin();
    let region = book.region("us-east-1").unwrap();
    let backfill = server.lab.telemetry.backfill();
    for profile in &profiles.functions {
        let truth = Evaluator::new(profile, backfill, &book, region)
            .unwrap()
            .expect("every capacity profile models environments");
        let on_demand = truth.evaluate(&capacity_truth::Plan::Level(0));
        // A quarter of on-demand's cold starts: every shape with cold starts needs some
        // provisioned concurrency; the steady one has none to remove.
        let target = on_demand.cold_start_rate / 4.0;
        let report = analyse(&server, &profile.name, target).await;
        let f = &report.functions[0];
        let env = profile.traffic.environments.as_ref().unwrap();
        assert_eq!(
            f.alias, env.alias,
            "{}: the alias production invokes",
            profile.name
        );
        assert!(
            close(f.on_demand.monthly_usd, on_demand.monthly_usd, 0.02),
            "{}: on-demand ${:.4} vs truth ${:.4}",
            profile.name,
            f.on_demand.monthly_usd,
            on_demand.monthly_usd
        );
        let chosen = f.chosen.as_ref().expect("the peak level meets any target");
        let scored: PlanTruth = truth.evaluate(&lab_plan(&chosen.plan));
        assert!(
            scored.cold_start_rate <= target,
            "{}: {:?} gives {:.6} cold by the truth, target {target:.6}",
            profile.name,
            chosen.plan,
            scored.cold_start_rate
        );
        assert!(
            close(chosen.monthly_usd, scored.monthly_usd, 0.02),
            "{}: {:?} estimated ${:.4}, truth ${:.4}",
            profile.name,
            chosen.plan,
            chosen.monthly_usd,
            scored.monthly_usd
        );
        let truths = capacity_truth::capacity_truths(
            std::slice::from_ref(profile),
            backfill,
            &book,
            "us-east-1",
            target,
        )
        .unwrap();
        let cheapest = [&truths[0].cheapest_level, &truths[0].cheapest_schedule]
            .into_iter()
            .flatten()
            .map(|t| t.monthly_usd)
            .fold(f64::INFINITY, f64::min);
        assert!(
            scored.monthly_usd <= cheapest * 1.05,
            "{}: {:?} costs ${:.4}, the truth's cheapest ${cheapest:.4}",
            profile.name,
            chosen.plan,
            scored.monthly_usd
        );
        match &f.recommendation {
            Recommendation::Provision { alias, plan } => {
                assert_eq!(Some(alias), env.alias.as_ref());
                assert_eq!(plan, &chosen.plan);
            }
            Recommendation::None => assert_eq!(chosen.plan, Plan::Level(0)),
            other => panic!("{}: {other:?}", profile.name),
        }
        eprintln!(
            "{}: target {:.5}%, chosen {:?}: {:.5}% cold by the truth, ${:.2}/month (truth \
             ${:.2}, cheapest ${cheapest:.2}, on-demand ${:.2})",
            profile.name,
            target * 100.0,
            chosen.plan,
            scored.cold_start_rate * 100.0,
            chosen.monthly_usd,
            scored.monthly_usd,
            on_demand.monthly_usd
        );
    }
    server.stop().await;
}

/// The cold starts the logs show are the lab's, the provisioned metrics give the level
/// configured in production, and throttles at a reservation are reported with advice.
#[tokio::test(flavor = "multi_thread")]
async fn a_provisioned_level_in_production_is_read_from_its_metrics() {
    let mut profiles = fleet();
    let spiky = profiles
        .functions
        .iter_mut()
        .find(|f| f.name == "spiky-api")
        .unwrap();
    spiky.traffic.environments.as_mut().unwrap().provisioned = 3;
    // Bursts of eight times the rate pass a reservation of 6.
    spiky.reserved_concurrency = Some(6);
    let profile = spiky.clone();
    let server = start_lab(profiles).await;
    let report = analyse(&server, "spiky-api", 0.0001).await;
    let f = &report.functions[0];
    assert_eq!(f.current_provisioned, Some(3));
    let book = PriceBook::builtin();
    let truth = Evaluator::new(
        &profile,
        server.lab.telemetry.backfill(),
        &book,
        book.region("us-east-1").unwrap(),
    )
    .unwrap()
    .unwrap();
    let at_three = truth.evaluate(&capacity_truth::Plan::Level(3));
    let logged = f.cold_starts as f64;
    assert!(
        (logged - at_three.cold_starts as f64).abs() <= 5.0,
        "logged {logged}, truth {}",
        at_three.cold_starts
    );
    assert_eq!(
        report.account.throttled_functions,
        vec!["spiky-api".to_string()]
    );
    assert!(f.reserved.throttles > 0);
    assert_eq!(f.reserved.reserved, Some(6));
    assert!(f.reserved.suggested_reserved.is_some_and(|r| r > 6));
    assert_eq!(f.peak_concurrency, 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_renders_every_format_and_refuses_bad_targets() {
    let server = start_lab(fleet()).await;
    let state = tempfile::tempdir().unwrap();
    let endpoint = server.endpoint();
    for format in ["table", "json", "markdown", "html"] {
        let out = memtune(
            &endpoint,
            state.path(),
            &[
                "capacity",
                "rare-webhook",
                "--days",
                "3",
                "--format",
                format,
            ],
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
        assert!(text.contains("rare-webhook"), "{format}");
        if format == "html" {
            assert!(text.contains("<svg") && text.contains("provisioned (recommended)"));
        }
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            let f = &doc["functions"][0];
            assert_eq!(f["alias"], "live");
            assert_eq!(f["recommendation"]["kind"], "provision");
            assert_eq!(f["recommendation"]["alias"], "live");
        }
    }
    for bad in [
        vec!["capacity", "rare-webhook", "--cold-start-target", "1.5"],
        vec!["capacity", "rare-webhook", "--days", "30"],
        vec!["capacity", "rare-webhook", "--p99-target-ms", "-3"],
        vec!["capacity", "rare-webhook:live"],
    ] {
        let out = memtune(&endpoint, state.path(), &bad)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = memtune(
        &endpoint,
        state.path(),
        &["capacity", "no-such-fn", "--days", "1"],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_truth_prices_every_level_of_every_shape() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args([
            "lab",
            "truth",
            "--fleet",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/lab/capacity.toml"),
            "--capacity",
            "--cold-start-target",
            "0.0001",
            "--started-at",
            "2026-12-01T00:00:00Z",
            "--format",
            "json",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let functions = doc["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 4);
    for f in functions {
        let levels = f["levels"].as_array().unwrap();
        assert_eq!(
            levels.len() as u64,
            f["peak_concurrency"].as_u64().unwrap() + 1
        );
        // The peak level leaves nothing to start cold.
        assert_eq!(levels.last().unwrap()["cold_starts"], 0);
        let best = &f["cheapest_level"];
        assert!(best["cold_start_rate"].as_f64().unwrap() <= 0.0001);
    }
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_memtune"))
        .args(["lab", "truth", "--capacity", "--started-at", "yesterday"])
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A p99 target: the rare webhook's p99 is its cold starts (INIT plus duration); keeping it
/// under a warm invocation's tail needs provisioned concurrency at night, and the p99 the
/// report predicts for the plan is what the truth's cold-start rate gives.
#[tokio::test(flavor = "multi_thread")]
async fn a_p99_target_is_met_through_the_cold_start_rate_it_allows() {
    let profiles = fleet();
    let server = start_lab(profiles.clone()).await;
    let report = analyse_for(&server, "rare-webhook", Target::P99Ms(500.0)).await;
    let f = &report.functions[0];
    assert!(f.p99.with_cold_starts_ms > 500.0, "{:?}", f.p99);
    assert!(f.p99.without_cold_starts_ms < 500.0, "{:?}", f.p99);
    let chosen = f.chosen.as_ref().unwrap();
    assert!(matches!(f.recommendation, Recommendation::Provision { .. }));
    assert!(f.chosen_p99_ms.unwrap() <= 500.0);
    let book = PriceBook::builtin();
    let profile = profiles.function("rare-webhook").unwrap();
    let truth = Evaluator::new(
        profile,
        server.lab.telemetry.backfill(),
        &book,
        book.region("us-east-1").unwrap(),
    )
    .unwrap()
    .unwrap();
    let scored = truth.evaluate(&lab_plan(&chosen.plan));
    assert!(
        (scored.cold_start_rate - chosen.cold_start_rate).abs() < 0.002,
        "{} {}",
        scored.cold_start_rate,
        chosen.cold_start_rate
    );
    // One connection cap for one function: all ten are its.
    assert_eq!(f.reserved.connection_cap, Some(10));
    server.stop().await;
}
