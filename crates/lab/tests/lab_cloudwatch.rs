//! The lab's CloudWatch (GetMetricData over RPC v2 CBOR) and CloudWatch Logs (FilterLogEvents,
//! Logs Insights) driven by the real AWS SDK clients, checked against the backfill's truth.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use memtune_lab::backfill::{Backfill, Production, DAY_MS, MINUTE_MS};
use memtune_lab::profiles::{FunctionProfile, ProfileSet};
use memtune_lab::{LabConfig, LabServer};

const FLEET: &str = r#"
[[function]]
name = "api"
memory_mb = 512
timeout_s = 10
[function.workload]
cpu_ms = 40.0
io_ms = 30.0
working_set_mb = 80
init_ms = 300.0
error_rate = 0.02
outlier_rate = 0.005
[function.traffic]
requests_per_day = 50000
daily_amplitude = 0.5
cold_start_ratio = 0.02

[[function]]
name = "throttled"
reserved_concurrency = 0
[function.workload]
cpu_ms = 10.0

[[function]]
name = "idle"
[function.workload]
cpu_ms = 10.0
"#;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Lab {
    server: LabServer,
    config: SdkConfig,
    profile: FunctionProfile,
}

impl Lab {
    async fn start() -> Result<Lab> {
        let profiles = ProfileSet::parse(FLEET, "test.toml")?;
        let profile = profiles.function("api").expect("in the fleet").clone();
        let server = memtune_lab::start(LabConfig::new(profiles), "127.0.0.1:0".parse()?).await?;
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(server.endpoint())
            .region("us-east-1")
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "test", "test", None, None, "lab",
            ))
            .load()
            .await;
        Ok(Lab {
            server,
            config,
            profile,
        })
    }

    fn backfill(&self) -> Backfill {
        self.server.lab.telemetry.backfill()
    }

    fn truth(&self) -> Production<'_> {
        self.backfill().production(&self.profile)
    }

    fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.config)
    }

    async fn invoke(&self, function: &str, times: usize) -> Result {
        // No retries: a throttled call should be one throttle, and the tests stay fast.
        let config = aws_sdk_lambda::config::Builder::from(&self.config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        let lambda = aws_sdk_lambda::Client::from_conf(config);
        for _ in 0..times {
            lambda.invoke().function_name(function).send().await?;
        }
        Ok(())
    }
}

fn query(
    id: &str,
    metric: &str,
    stat: &str,
    period_s: i32,
    dims: &[(&str, &str)],
) -> MetricDataQuery {
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
                .period(period_s)
                .stat(stat)
                .build(),
        )
        .build()
}

fn time(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn invocations_and_errors_match_the_backfill_truth() -> Result {
    let lab = Lab::start().await?;
    let b = lab.backfill();
    let out = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(query(
            "inv",
            "Invocations",
            "Sum",
            86_400,
            &[("FunctionName", "api")],
        ))
        .metric_data_queries(query(
            "err",
            "Errors",
            "Sum",
            86_400,
            &[("FunctionName", "api")],
        ))
        .metric_data_queries(query(
            "res",
            "Invocations",
            "Sum",
            86_400,
            &[("FunctionName", "api"), ("Resource", "api")],
        ))
        .start_time(time(b.start_ms))
        .end_time(time(b.end_ms))
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await?;
    let results = out.metric_data_results();
    let truth = lab.truth();
    let sum = |i: usize| results[i].values().iter().sum::<f64>();
    assert_eq!(
        sum(0),
        truth.invocations_between(b.start_ms, b.end_ms) as f64
    );
    assert_eq!(sum(1), truth.errors_between(b.start_ms, b.end_ms) as f64);
    assert_eq!(sum(2), sum(0));
    assert_eq!(results[0].label(), Some("Invocations"));
    assert_eq!(results[0].status_code(), Some(&StatusCode::Complete));
    let stamps = results[0].timestamps();
    assert_eq!(stamps.len(), 14);
    assert_eq!(stamps[0].to_millis()?, b.start_ms);
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "ascending");
    // About 2% of production invocations failed.
    assert!((sum(1) / sum(0) - 0.02).abs() < 0.002);
    Ok(())
}

#[tokio::test]
async fn duration_statistics_are_those_of_the_sampled_invocations() -> Result {
    let lab = Lab::start().await?;
    let b = lab.backfill();
    let whole = ((b.end_ms - b.start_ms) / 1000) as i32;
    let dims = [("FunctionName", "api")];
    let out = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(query("p99", "Duration", "p99", whole, &dims))
        .metric_data_queries(query("tm", "Duration", "TM(10%:90%)", whole, &dims))
        .metric_data_queries(query("avg", "Duration", "Average", whole, &dims))
        .start_time(time(b.start_ms))
        .end_time(time(b.end_ms))
        .send()
        .await?;
    let value = |i: usize| out.metric_data_results()[i].values()[0];
    // Percentiles and the average are those of the invocations' drawn durations (every k-th
    // of a busy window), not of the workload's distribution.
    let truth = lab.truth();
    let (mut sample, _) = truth.duration_sample(b.start_ms, b.end_ms);
    sample.sort_by(f64::total_cmp);
    // Nearest rank among the invocations, each sampled value standing for k of them: the
    // sampled value at the p99's rank, or the next when k is not a whole number.
    let rank = (0.99 * sample.len() as f64).ceil() as usize;
    assert!(
        value(0) == sample[rank - 1] || value(0) == sample[rank],
        "{} vs {:?}",
        value(0),
        &sample[rank - 1..=rank]
    );
    let mean = sample.iter().sum::<f64>() / sample.len() as f64;
    assert!(
        (value(2) - mean).abs() / mean < 1e-9,
        "{} vs {mean}",
        value(2)
    );
    // A sample of that size is close to the distribution, within its sampling error.
    let d = truth.durations;
    let p99 = d.quantile(0.99);
    assert!((value(0) - p99).abs() / p99 < 0.03, "{} vs {p99}", value(0));
    assert!((value(2) - d.mean()).abs() / d.mean() < 0.01);
    // The trimmed mean is the mean of the quantile function over 10%..90%.
    let n = 4000;
    let tm = (0..n)
        .map(|i| d.quantile(0.1 + 0.8 * (i as f64 + 0.5) / n as f64))
        .sum::<f64>()
        / n as f64;
    assert!((value(1) - tm).abs() / tm < 0.01, "{} vs {tm}", value(1));
    Ok(())
}

#[tokio::test]
async fn lab_invocations_concurrency_and_throttles_are_counted() -> Result {
    let lab = Lab::start().await?;
    lab.invoke("api", 5).await?;
    assert!(
        lab.invoke("throttled", 1).await.is_err(),
        "reserved concurrency 0 throttles"
    );
    let b = lab.backfill();
    let day = b.start_ms + 3 * DAY_MS;
    let out = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(query(
            "inv",
            "Invocations",
            "Sum",
            3600,
            &[("FunctionName", "api")],
        ))
        .metric_data_queries(query(
            "latest",
            "Invocations",
            "Sum",
            3600,
            &[("FunctionName", "api"), ("ExecutedVersion", "$LATEST")],
        ))
        .metric_data_queries(query(
            "thr",
            "Throttles",
            "Sum",
            3600,
            &[("FunctionName", "throttled")],
        ))
        .start_time(time(b.end_ms))
        .end_time(time(now_ms() + MINUTE_MS))
        .send()
        .await?;
    let sum = |i: usize| out.metric_data_results()[i].values().iter().sum::<f64>();
    assert_eq!(sum(0), 5.0);
    assert_eq!(sum(1), 5.0);
    let throttles = lab.server.lab.stats().functions["throttled"].throttles;
    assert!(throttles >= 1);
    assert_eq!(sum(2), throttles as f64);

    let out = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(query(
            "conc",
            "ConcurrentExecutions",
            "Maximum",
            86_400,
            &[("FunctionName", "api")],
        ))
        .start_time(time(day))
        .end_time(time(day + DAY_MS))
        .send()
        .await?;
    let peak = out.metric_data_results()[0].values()[0];
    assert_eq!(
        peak,
        lab.truth().peak_concurrency_between(day, day + DAY_MS) as f64
    );
    assert!(peak >= 1.0);
    Ok(())
}

#[tokio::test]
async fn next_token_pages_through_max_datapoints() -> Result {
    let lab = Lab::start().await?;
    let b = lab.backfill();
    let request = || {
        lab.cloudwatch()
            .get_metric_data()
            .metric_data_queries(query(
                "inv",
                "Invocations",
                "Sum",
                3600,
                &[("FunctionName", "api")],
            ))
            .start_time(time(b.start_ms))
            .end_time(time(b.end_ms))
    };
    let all = request().send().await?;
    let expected = all.metric_data_results()[0].values().to_vec();
    assert_eq!(expected.len(), 14 * 24);
    let mut paged = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = request()
            .max_datapoints(100)
            .set_next_token(token)
            .send()
            .await?;
        let result = &page.metric_data_results()[0];
        paged.extend_from_slice(result.values());
        pages += 1;
        token = page.next_token().map(str::to_string);
        let expected_status = if token.is_some() {
            StatusCode::PartialData
        } else {
            StatusCode::Complete
        };
        assert_eq!(result.status_code(), Some(&expected_status));
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(paged, expected);
    let bad = request().next_token("bogus").send().await.unwrap_err();
    assert_eq!(bad.code(), Some("InvalidNextToken"));
    Ok(())
}

#[tokio::test]
async fn invalid_periods_and_expressions_are_refused() -> Result {
    let lab = Lab::start().await?;
    let now = now_ms();
    let err = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(query(
            "d",
            "Duration",
            "p99",
            45,
            &[("FunctionName", "api")],
        ))
        .start_time(time(now - DAY_MS))
        .end_time(time(now))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert!(
        err.message().unwrap_or("").contains("multiple of 60"),
        "{err:?}"
    );

    let math = MetricDataQuery::builder()
        .id("e1")
        .expression("m1 * 2")
        .build();
    let err = lab
        .cloudwatch()
        .get_metric_data()
        .metric_data_queries(math)
        .start_time(time(now - DAY_MS))
        .end_time(time(now))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    Ok(())
}

#[tokio::test]
async fn filter_log_events_pages_through_synthesized_and_recorded_reports() -> Result {
    let lab = Lab::start().await?;
    let b = lab.backfill();
    let (start, end) = (
        b.start_ms + 2 * DAY_MS,
        b.start_ms + 2 * DAY_MS + 10 * MINUTE_MS,
    );
    let logs = lab.logs();
    let mut token = None;
    let mut messages = Vec::new();
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name("/aws/lambda/api")
            .start_time(start)
            .end_time(end)
            .filter_pattern("REPORT")
            .limit(100)
            .set_next_token(token)
            .send()
            .await?;
        assert!(page.events().len() <= 100);
        messages.extend(
            page.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        messages.len() as u64,
        lab.truth().invocations_between(start, end)
    );
    let first = &messages[0];
    assert!(first.starts_with("REPORT RequestId: "), "{first}");
    assert!(first.contains("\tMemory Size: 512 MB\t"), "{first}");
    let duration: f64 = first
        .split('\t')
        .find_map(|f| f.strip_prefix("Duration: "))
        .and_then(|d| d.trim_end_matches(" ms").parse().ok())
        .expect("a Duration field");
    assert!(duration > 0.0 && duration < 10_000.0);

    lab.invoke("api", 2).await?;
    let recent = logs
        .filter_log_events()
        .log_group_name("/aws/lambda/api")
        .start_time(b.end_ms)
        .send()
        .await?;
    let lines: Vec<&str> = recent.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("REPORT")).count(), 2);
    assert_eq!(lines.iter().filter(|l| l.starts_with("START")).count(), 2);
    Ok(())
}

async fn run_query(
    lab: &Lab,
    group: &str,
    start_ms: i64,
    end_ms: i64,
    text: &str,
) -> Result<Vec<Vec<(String, String)>>> {
    let logs = lab.logs();
    let id = logs
        .start_query()
        .log_group_name(group)
        .start_time(start_ms / 1000)
        .end_time(end_ms / 1000 - 1)
        .query_string(text)
        .send()
        .await?
        .query_id()
        .expect("a query id")
        .to_string();
    let mut statuses = Vec::new();
    let out = loop {
        let out = logs.get_query_results().query_id(&id).send().await?;
        let status = out.status().cloned().expect("a status");
        statuses.push(status.clone());
        if status == QueryStatus::Complete {
            break out;
        }
        assert_eq!(status, QueryStatus::Running);
    };
    assert_eq!(
        statuses.first(),
        Some(&QueryStatus::Running),
        "polled at least once while running"
    );
    let stats = out.statistics().expect("statistics");
    assert!(stats.records_scanned() >= stats.records_matched());
    Ok(out
        .results()
        .iter()
        .map(|row| {
            row.iter()
                .map(|f| {
                    (
                        f.field().unwrap_or("").to_string(),
                        f.value().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .collect())
}

fn cell(row: &[(String, String)], name: &str) -> f64 {
    row.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in {row:?}"))
}

#[tokio::test]
async fn insights_stats_with_pct_and_bin_match_the_truth() -> Result {
    let lab = Lab::start().await?;
    let b = lab.backfill();
    let rows = run_query(
        &lab,
        "/aws/lambda/api",
        b.start_ms,
        b.end_ms,
        "filter @type = \"REPORT\"\n\
         | stats count(*) as n, pct(@duration, 99) as p99, max(@memorySize / 1000 / 1000) as mb by bin(1d)\n\
         | sort n desc",
    )
    .await?;
    let truth = lab.truth();
    let total: f64 = rows.iter().map(|r| cell(r, "n")).sum();
    let expected = truth.invocations_between(b.start_ms, b.end_ms) as f64;
    assert!(
        (total - expected).abs() <= rows.len() as f64,
        "{total} vs {expected}"
    );
    assert!(
        rows.windows(2)
            .all(|w| cell(&w[0], "n") >= cell(&w[1], "n")),
        "sorted by n"
    );
    let p99 = truth.durations.quantile(0.99);
    for row in &rows {
        assert!((cell(row, "p99") - p99).abs() / p99 < 1e-3, "{row:?}");
        assert_eq!(cell(row, "mb"), 512.0);
    }
    Ok(())
}

#[tokio::test]
async fn malformed_queries_and_missing_log_groups_are_errors() -> Result {
    let lab = Lab::start().await?;
    let now_s = now_ms() / 1000;
    let start = |group: &str, text: &str| {
        lab.logs()
            .start_query()
            .log_group_name(group)
            .start_time(now_s - 3600)
            .end_time(now_s)
            .query_string(text)
            .send()
    };
    let err = start("/aws/lambda/api", "stats median(@duration) by bin(5m)")
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_malformed_query_exception()),
        "{err:?}"
    );
    assert!(err.message().unwrap_or("").contains("median"));

    let err = start("/aws/lambda/idle", "fields @message")
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{err:?}"
    );
    assert_eq!(
        err.message(),
        Some("The specified log group does not exist.")
    );

    let err = lab
        .logs()
        .filter_log_events()
        .log_group_name("/aws/lambda/nope")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception()));

    // Invoking a function creates its log group.
    lab.invoke("idle", 1).await?;
    start("/aws/lambda/idle", "fields @message").await?;
    Ok(())
}
