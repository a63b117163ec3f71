//! What a canary on real traffic relies on: an alias's routing weights honoured by Invoke,
//! the executed version in the response, per-version metrics and log streams, live traffic at
//! the profile's rate, a production mix whose truth differs from a test event's, and a version
//! made to fail.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{truth, LabConfig, LabServer};
use serde_json::json;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn aws(e: memtune_lab::aws_error::AwsError) -> Box<dyn std::error::Error> {
    format!("{}: {}", e.code, e.message).into()
}

const FLEET: &str = r#"
[[function]]
name = "api"
memory_mb = 256
timeout_s = 10
[function.workload]
cpu_ms = 400.0
io_ms = 20.0
working_set_mb = 80
noise_cv = 0.05
"#;

fn canary_profiles() -> ProfileSet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/lab/canary.toml");
    ProfileSet::load(std::path::Path::new(path)).expect("config/lab/canary.toml is valid")
}

async fn start(config: LabConfig) -> Result<LabServer> {
    Ok(memtune_lab::start(config, "127.0.0.1:0".parse()?).await?)
}

/// Sets $LATEST's memory, waits for the update to settle, publishes: the version's number.
async fn publish_at(server: &LabServer, name: &str, memory_mb: u32) -> Result<String> {
    let lab = &server.lab;
    lab.update_function_configuration(name, &json!({ "MemorySize": memory_mb }))
        .map_err(aws)?;
    for _ in 0..200 {
        let config = lab.get_function_configuration(name, None).map_err(aws)?;
        if config["LastUpdateStatus"] == "Successful" {
            let v = lab.publish_version(name, &json!({})).map_err(aws)?;
            return Ok(v["Version"].as_str().unwrap_or_default().to_string());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the update never settled".into())
}

/// Sets $LATEST's memory and waits for the update to settle.
fn set_memory(lab: &memtune_lab::Lab, name: &str, memory_mb: u32) -> Result {
    lab.update_function_configuration(name, &json!({ "MemorySize": memory_mb }))
        .map_err(aws)?;
    for _ in 0..200 {
        if lab.get_function_configuration(name, None).map_err(aws)?["LastUpdateStatus"]
            == "Successful"
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err("the update never settled".into())
}

fn query(id: &str, metric: &str, stat: &str, dims: &[(&str, &str)]) -> MetricDataQuery {
    let mut m = Metric::builder()
        .namespace("AWS/Lambda")
        .metric_name(metric);
    for (name, value) in dims {
        m = m.dimensions(Dimension::builder().name(*name).value(*value).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(m.build())
                .period(60)
                .stat(stat)
                .build(),
        )
        .build()
}

/// One statistic over the last ten minutes, summed over its 1-minute datapoints (or the
/// single datapoint's value for non-additive statistics when there is one).
async fn metric(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    metric_name: &str,
    stat: &str,
    dims: &[(&str, &str)],
) -> Result<Vec<f64>> {
    let now = chrono::Utc::now().timestamp_millis();
    let out = cloudwatch
        .get_metric_data()
        .metric_data_queries(query("q", metric_name, stat, dims))
        .start_time(DateTime::from_millis(now - 600_000))
        .end_time(DateTime::from_millis(now + 60_000))
        .send()
        .await?;
    Ok(out.metric_data_results()[0].values().to_vec())
}

#[tokio::test]
async fn an_alias_splits_invocations_by_weight_and_each_version_runs_its_configuration() -> Result {
    let server = start(LabConfig::new(ProfileSet::parse(FLEET, "t.toml")?)).await?;
    let main = publish_at(&server, "api", 512).await?;
    let canary = publish_at(&server, "api", 2048).await?;
    let sdk = server.client_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    lambda
        .create_alias()
        .function_name("api")
        .name("live")
        .function_version(&main)
        .routing_config(
            aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                .additional_version_weights(&canary, 0.2)
                .build(),
        )
        .send()
        .await?;
    server.lab.fail_version("api", &canary, 0.5).map_err(aws)?;
    let n = 400;
    let mut executed: HashMap<String, usize> = HashMap::new();
    let mut memory: HashMap<String, i64> = HashMap::new();
    for _ in 0..n {
        let out = lambda
            .invoke()
            .function_name("api")
            .qualifier("live")
            .send()
            .await?;
        let version = out.executed_version().unwrap_or_default().to_string();
        let body: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref())?;
        if out.function_error().is_none() {
            memory.insert(version.clone(), body["memoryMB"].as_i64().unwrap_or(0));
        }
        *executed.entry(version).or_default() += 1;
    }
    // Binomial(400, 0.2): 80 +- 8; four standard deviations either way.
    let to_canary = executed.get(&canary).copied().unwrap_or(0);
    assert!((48..=112).contains(&to_canary), "{executed:?}");
    assert_eq!(to_canary + executed.get(&main).copied().unwrap_or(0), n);
    assert_eq!(memory[&main], 512);
    assert_eq!(memory[&canary], 2048);

    // CloudWatch: (FunctionName, Resource=fn:alias, ExecutedVersion) per version.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let per = |v: &str| {
        [
            ("FunctionName", "api".to_string()),
            ("Resource", "api:live".to_string()),
            ("ExecutedVersion", v.to_string()),
        ]
    };
    let dims = |d: &[(&'static str, String)]| -> Vec<(&'static str, String)> { d.to_vec() };
    fn as_refs<'a>(d: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        d.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    let canary_dims = dims(&per(&canary));
    let main_dims = dims(&per(&main));
    let sum = |v: Vec<f64>| v.iter().sum::<f64>();
    let invocations = sum(metric(&cloudwatch, "Invocations", "Sum", &as_refs(&canary_dims)).await?);
    assert_eq!(invocations, to_canary as f64);
    let alias_total = sum(metric(
        &cloudwatch,
        "Invocations",
        "Sum",
        &[("FunctionName", "api"), ("Resource", "api:live")],
    )
    .await?);
    assert_eq!(alias_total, n as f64);
    // The failing version's errors show under its ExecutedVersion only.
    let canary_errors = sum(metric(&cloudwatch, "Errors", "Sum", &as_refs(&canary_dims)).await?);
    let main_errors = sum(metric(&cloudwatch, "Errors", "Sum", &as_refs(&main_dims)).await?);
    assert_eq!(main_errors, 0.0);
    let share = canary_errors / to_canary as f64;
    assert!(
        (0.3..=0.7).contains(&share),
        "{canary_errors} of {to_canary}"
    );
    // Duration follows each version's memory: 400 ms of CPU at 512 MB vs at 2048 MB.
    let main_p99 = metric(&cloudwatch, "Duration", "p99", &as_refs(&main_dims)).await?;
    let canary_p99 = metric(&cloudwatch, "Duration", "p99", &as_refs(&canary_dims)).await?;
    let (slow, fast) = (
        main_p99.iter().cloned().fold(0.0, f64::max),
        canary_p99.iter().cloned().fold(0.0, f64::max),
    );
    assert!(slow > 2.5 * fast, "p99 at 512 MB {slow} vs 2048 MB {fast}");

    // Log streams carry the version in brackets: a prefix selects one version's REPORTs.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let prefix = format!("{}/[{canary}]", chrono::Utc::now().format("%Y/%m/%d"));
    let mut reports = 0;
    let mut token = None;
    loop {
        let out = logs
            .filter_log_events()
            .log_group_name("/aws/lambda/api")
            .log_stream_name_prefix(&prefix)
            .filter_pattern("REPORT")
            .set_next_token(token)
            .send()
            .await?;
        for e in out.events() {
            assert!(e.log_stream_name().unwrap_or("").starts_with(&prefix));
            assert!(e.message().unwrap_or("").contains("Memory Size: 2048 MB"));
            reports += 1;
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(reports, to_canary);
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn routing_is_seeded_and_throttles_count_per_executed_version() -> Result {
    let draw = |seed| async move {
        let mut config = LabConfig::new(ProfileSet::parse(FLEET, "t.toml")?);
        config.seed = seed;
        let server = start(config).await?;
        let lab = server.lab.clone();
        let main = publish_at(&server, "api", 512).await?;
        let canary = publish_at(&server, "api", 1024).await?;
        lab.create_alias(
            "api",
            &json!({"Name": "live", "FunctionVersion": main,
                    "RoutingConfig": {"AdditionalVersionWeights": {canary.clone(): 0.05}}}),
        )
        .map_err(aws)?;
        let mut versions = Vec::new();
        for _ in 0..10_000 {
            let r = lab.reserve("api", Some("live")).map_err(aws)?;
            versions.push(r.version().to_string());
            lab.finish(r, false);
        }
        Ok::<_, Box<dyn std::error::Error>>((server, versions, canary))
    };
    let (server, a, canary) = draw(7).await?;
    let (other, b, _) = draw(7).await?;
    other.stop().await;
    assert_eq!(a, b, "the same seed routes the same way");
    let to_canary = a.iter().filter(|v| **v == canary).count();
    // Binomial(10000, 0.05): 500 +- 22.
    assert!((412..=588).contains(&to_canary), "{to_canary}");

    // A throttled request through the alias counts where it was routed.
    let lab = server.lab.clone();
    lab.put_function_concurrency("api", Some(0)).map_err(aws)?;
    let mut throttled: HashMap<String, usize> = HashMap::new();
    for _ in 0..200 {
        if lab.reserve("api", Some("live")).is_ok() {
            return Err("reserved concurrency 0 must throttle".into());
        }
    }
    // Which version each throttle was routed to is not returned; the metric sums to all.
    let sdk = server.client_config().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    for v in ["1", "2"] {
        let values = metric(
            &cloudwatch,
            "Throttles",
            "Sum",
            &[
                ("FunctionName", "api"),
                ("Resource", "api:live"),
                ("ExecutedVersion", v),
            ],
        )
        .await?;
        throttled.insert(v.to_string(), values.iter().sum::<f64>() as usize);
    }
    assert_eq!(throttled["1"] + throttled["2"], 200, "{throttled:?}");
    assert!(throttled["2"] > 0 && throttled["2"] < 40, "{throttled:?}");
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn live_traffic_runs_at_the_profile_rate_scaled_by_the_time_scale() -> Result {
    let text = r#"
[[function]]
name = "shop"
memory_mb = 512
[function.workload]
io_ms = 50.0
[[function.production_mix]]
class = "small"
share = 0.8
[function.production_mix.workload]
io_ms = 10.0
noise_cv = 0.0
[[function.production_mix]]
class = "large"
share = 0.2
[function.production_mix.workload]
io_ms = 200.0
noise_cv = 0.0
[function.live]
alias = "live"
requests_per_second = 40
"#;
    let profiles = ProfileSet::parse(text, "t.toml")?;
    // Time scale 0 cannot pace live traffic: refused before anything starts.
    let refused = start(LabConfig::new(profiles.clone())).await.err().unwrap();
    assert!(
        refused.to_string().contains("--time-scale > 0"),
        "{refused}"
    );

    // 40 requests a simulated second at 0.25 wall seconds each: 160 a wall second.
    let mut config = LabConfig::new(profiles);
    config.time_scale = 0.25;
    let server = start(config).await?;
    let wall = Duration::from_millis(1500);
    tokio::time::sleep(wall).await;
    let sent = server.live.sent();
    // Poisson(240): +- 15.5; four standard deviations either way.
    assert!((178..=302).contains(&sent), "{sent} in {wall:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let records = server.lab.telemetry.invocations("shop", 0, i64::MAX);
    assert!(records.iter().all(|r| r.alias.as_deref() == Some("live")));
    assert!(records.iter().all(|r| r.version == "1"));
    // The payloads follow the mix: a fifth run the large class (200 ms, not 10).
    let large = records.iter().filter(|r| r.duration_ms > 100.0).count() as f64;
    let share = large / records.len() as f64;
    assert!(
        (0.12..=0.28).contains(&share),
        "{share} of {}",
        records.len()
    );
    let before_stop = server.live.sent();
    let lab = server.lab.clone();
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = lab.telemetry.invocations("shop", 0, i64::MAX).len() as u64;
    assert!(after <= before_stop, "the generator stops with the lab");
    Ok(())
}

#[tokio::test]
async fn the_truth_of_the_production_mix_is_what_production_invocations_average() -> Result {
    let profiles = canary_profiles();
    let checkout = profiles.function("checkout-api").unwrap().clone();
    let book = PriceBook::builtin();
    let prices = book.region("us-east-1")?;
    let t = truth::function_truth(&checkout, &truth::stepped_sizes(64), &book, prices)?;
    assert!(t.production_mix);
    let test = t
        .test_event
        .expect("a production mix states the test event's optima");
    let (best, test_best) = (t.cheapest_mb.unwrap(), test.cheapest_mb.unwrap());
    // A test-event sweep lands far from production's cheapest size: there, production's
    // large requests are killed for lack of memory, or it costs more than 5% above the best.
    assert!(
        best >= 2 * test_best,
        "production {best} MB, test event {test_best} MB"
    );
    let at = |m| t.sizes.iter().find(|s| s.memory_mb == m).unwrap();
    let (there, optimum) = (at(test_best), at(best));
    assert!(
        !there.feasible || there.cost_usd > 1.05 * optimum.cost_usd,
        "{there:?} vs {optimum:?}"
    );

    // Production-mix invocations at a size average what the truth says (within 3%).
    let mut quiet = profiles;
    for f in &mut quiet.functions {
        f.live = None;
    }
    let lab = memtune_lab::Lab::new(LabConfig::new(quiet));
    let size = best;
    set_memory(&lab, "checkout-api", size)?;
    let mut rng_u = 0.0f64;
    let (mut sum, mut n) = (0.0, 0);
    for i in 0..4000 {
        // Classes in their shares, deterministically: 65% cart, 35% receipt.
        rng_u = (rng_u + 0.618_033_988_75) % 1.0;
        let class = if rng_u < 0.65 { "cart" } else { "receipt" };
        let payload = json!({ "lab_request_class": class }).to_string();
        let r = lab
            .reserve_request("checkout-api", None, payload.as_bytes())
            .map_err(aws)?;
        let result = lab.finish(r, false);
        assert_eq!(result.status, 200, "{i}");
        n += 1;
        sum += lab
            .telemetry
            .with_invocations("checkout-api", |r| r.last().map(|r| r.duration_ms))
            .unwrap_or(0.0);
    }
    let row = t.sizes.iter().find(|s| s.memory_mb == size).unwrap();
    let mean = sum / n as f64;
    assert!(
        (mean / row.mean_ms - 1.0).abs() < 0.03,
        "measured {mean:.1} ms vs truth {:.1} ms at {size} MB",
        row.mean_ms
    );
    Ok(())
}

#[tokio::test]
async fn error_rate_by_memory_fails_the_larger_sizes() -> Result {
    let mut profiles = canary_profiles();
    for f in &mut profiles.functions {
        f.live = None;
    }
    let lab = memtune_lab::Lab::new(LabConfig::new(profiles));
    let error_share = |memory: u32| -> Result<f64> {
        set_memory(&lab, "payments-worker", memory)?;
        let n = 2000;
        let mut errors = 0;
        for _ in 0..n {
            let r = lab.reserve("payments-worker", None).map_err(aws)?;
            errors += usize::from(lab.finish(r, false).function_error);
        }
        Ok(errors as f64 / n as f64)
    };
    let small = error_share(1024)?;
    let large = error_share(2048)?;
    assert!(small < 0.01, "{small}");
    assert!((0.2..=0.3).contains(&large), "{large}");
    Ok(())
}
