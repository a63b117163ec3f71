//! A function whose duration is a measured curve (`[function.curve]`), served through the real
//! SDK clients: invocations and their REPORT lines, CloudWatch's production figures and the
//! truth all follow the interpolated measurements.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;
use memtune_facts::pricing::PriceBook;
use memtune_facts::report_line::parse_report;
use memtune_lab::backfill::{duration_distribution, DAY_MS};
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{truth, LabConfig, LabServer};

/// A light-workload-like curve (cebert nodejs20 x86_64 november, rounded), measured from
/// 256 MB, with INIT and memory use at two sizes.
const FLEET: &str = r#"
[[function]]
name = "measured"
memory_mb = 1024
timeout_s = 10
[function.curve]
points = [
  { memory_mb = 256, mean_ms = 40.0, p99_ms = 140.0, init_ms = 180.0, max_memory_used_mb = 90 },
  { memory_mb = 512, mean_ms = 16.0, p99_ms = 57.0 },
  { memory_mb = 2048, mean_ms = 11.5, p99_ms = 17.0, init_ms = 120.0, max_memory_used_mb = 110 },
]
[function.traffic]
requests_per_day = 50000
cold_start_ratio = 0.02
"#;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn start() -> Result<(LabServer, SdkConfig, ProfileSet)> {
    let profiles = ProfileSet::parse(FLEET, "measured.toml")?;
    let server =
        memtune_lab::start(LabConfig::new(profiles.clone()), "127.0.0.1:0".parse()?).await?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region("us-east-1")
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "test", "test", None, None, "lab",
        ))
        .load()
        .await;
    Ok((server, config, profiles))
}

#[test]
fn the_truth_is_the_table_between_and_at_its_sizes() -> Result {
    let profiles = ProfileSet::parse(FLEET, "measured.toml")?;
    let book = PriceBook::builtin();
    let t = truth::function_truth(
        &profiles.functions[0],
        &[128, 256, 362, 2048, 10240],
        &book,
        book.region("us-east-1")?,
    )?;
    let at = |m| t.at(m).expect("asked for");
    assert!(at(128).out_of_memory && !at(128).feasible);
    assert!((at(256).mean_ms - 40.0).abs() < 1e-9 && (at(256).p99_ms - 140.0).abs() < 1e-9);
    // 362 MB is halfway from 256 to 512 in log memory: the geometric mean.
    assert!((at(362).mean_ms - (40.0f64 * 16.0).sqrt()).abs() < 0.1);
    assert_eq!(at(10240).mean_ms, at(2048).mean_ms);
    assert_eq!(at(2048).init_ms, 120.0);
    Ok(())
}

#[test]
fn a_curve_and_a_workload_together_are_refused() {
    let text = FLEET.replace(
        "[function.traffic]",
        "[function.workload]\ncpu_ms = 1.0\n[function.traffic]",
    );
    let err = ProfileSet::parse(&text, "measured.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("either [function.workload] or [function.curve], not both"),
        "{err}"
    );
}

#[tokio::test]
async fn invocations_report_the_interpolated_curve_and_die_below_it() -> Result {
    let (server, config, profiles) = start().await?;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let curve = profiles.functions[0].curve.clone().expect("a curve");
    let mut durations = Vec::new();
    let mut first_init = None;
    for i in 0..300 {
        let out = lambda
            .invoke()
            .function_name("measured")
            .log_type(LogType::Tail)
            .payload(Blob::new("{}"))
            .send()
            .await?;
        let tail =
            base64::engine::general_purpose::STANDARD.decode(out.log_result().unwrap_or(""))?;
        let report = parse_report(&String::from_utf8(tail)?).ok_or("a REPORT line")?;
        assert_eq!(report.memory_mb, 1024);
        // 90 MB at 256, 110 at 2048: 103.3 at 1024, +-3% per invocation.
        assert!(
            (99..=107).contains(&report.max_memory_used_mb),
            "{report:?}"
        );
        if i == 0 {
            first_init = report.init_ms;
        }
        durations.push(report.duration_ms);
    }
    // INIT at 1024 MB, linear in log memory between 180 and 120 ms.
    let init = first_init.ok_or("the first invocation is cold")?;
    assert!((init / 140.0 - 1.0).abs() < 0.4, "{init}");
    let mean = durations.iter().sum::<f64>() / durations.len() as f64;
    let expected = curve.mean_ms(1024);
    assert!((mean / expected - 1.0).abs() < 0.1, "{mean} vs {expected}");

    // Below the smallest measured size the function never ran: it is killed.
    lambda
        .update_function_configuration()
        .function_name("measured")
        .memory_size(128)
        .send()
        .await?;
    for _ in 0..200 {
        let c = lambda
            .get_function_configuration()
            .function_name("measured")
            .send()
            .await?;
        if c.last_update_status().map(|s| s.as_str()) == Some("Successful") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let oom = lambda
        .invoke()
        .function_name("measured")
        .payload(Blob::new("{}"))
        .send()
        .await?;
    assert_eq!(oom.function_error(), Some("Unhandled"));
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn cloudwatch_serves_the_curves_tail_at_the_configured_size() -> Result {
    let (server, config, profiles) = start().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let metric = Metric::builder()
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value("measured")
                .build(),
        )
        .build();
    let out = aws_sdk_cloudwatch::Client::new(&config)
        .get_metric_data()
        .start_time(DateTime::from_millis(now - 7 * DAY_MS))
        .end_time(DateTime::from_millis(now))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("p99")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(7 * 86_400)
                        .stat("p99")
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    let served = out.metric_data_results()[0].values()[0];
    let curve = profiles.functions[0].curve.as_ref().expect("a curve");
    let p99 = curve.p99_ms(1024);
    assert!((served / p99 - 1.0).abs() < 0.03, "{served} vs {p99}");
    assert!(
        (duration_distribution(&profiles.functions[0]).quantile(0.99) / p99 - 1.0).abs() < 1e-9
    );
    server.stop().await;
    Ok(())
}
