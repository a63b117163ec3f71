//! CloudWatch GetMetricData behind [`MetricsApi`], and the rules that make many metric queries
//! cheap and valid: up to 500 queries per call across many functions, NextToken paging, and a
//! period that CloudWatch's retention allows for the age of the data.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use futures::{stream, StreamExt, TryStreamExt};

use super::{PlatformError, PlatformResult};

/// The most queries one GetMetricData call accepts.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// GetMetricData calls in flight at once.
const CALLS_IN_FLIGHT: usize = 4;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// One statistic of one AWS/Lambda metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// Unique in a request: a lowercase letter, then letters, digits and underscores.
    pub id: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Average`, `Maximum`, `p99`, ...
    pub stat: String,
}

impl MetricQuery {
    /// `stat` of the AWS/Lambda `metric` with `dimensions` (name, value).
    pub fn new(
        id: impl Into<String>,
        metric: &str,
        stat: &str,
        dimensions: &[(&str, &str)],
    ) -> MetricQuery {
        MetricQuery {
            id: id.into(),
            metric_name: metric.to_string(),
            dimensions: dimensions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stat: stat.to_string(),
        }
    }
}

/// The time range of a request and the period of its datapoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    pub start_ms: i64,
    pub end_ms: i64,
    pub period_s: i32,
}

/// A window CloudWatch keeps no metrics for.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{0} days: CloudWatch keeps 1 to 455 days of metrics")]
pub struct DaysOutOfRange(pub u32);

impl MetricWindow {
    /// The last `days` days up to `now_ms` as ONE period, so every statistic (percentiles
    /// included) covers the whole window.
    ///
    /// CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and hourly data
    /// for 455 days; a start time older than that needs a period and a start on the coarser
    /// grid, or the answer is empty. The end is the next grid point after `now_ms` (so the
    /// current minute counts); whole days are a multiple of every grid, so the start is on it
    /// too.
    pub fn last_days(days: u32, now_ms: i64) -> Result<MetricWindow, DaysOutOfRange> {
        let resolution_ms = match days {
            1..=14 => MINUTE_MS,
            15..=62 => 5 * MINUTE_MS,
            63..=455 => 60 * MINUTE_MS,
            _ => return Err(DaysOutOfRange(days)),
        };
        let end_ms = (now_ms.div_euclid(resolution_ms) + 1) * resolution_ms;
        let span_ms = i64::from(days) * DAY_MS;
        Ok(MetricWindow {
            start_ms: end_ms - span_ms,
            end_ms,
            period_s: (span_ms / 1000) as i32,
        })
    }

    pub fn days(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / DAY_MS as f64
    }
}

/// One page of one GetMetricData call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricPage {
    /// (query id, datapoint values) in the order returned.
    pub series: Vec<(String, Vec<f64>)>,
    /// (query id, datapoint timestamps in epoch seconds), parallel to `series`.
    pub timestamps: Vec<(String, Vec<i64>)>,
    pub next_token: Option<String>,
}

/// The CloudWatch operation memtune uses.
pub trait MetricsApi: Send + Sync {
    /// One GetMetricData call: at most [`MAX_QUERIES_PER_CALL`] queries.
    fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        window: &MetricWindow,
        next_token: Option<&str>,
    ) -> impl Future<Output = PlatformResult<MetricPage>> + Send;
}

/// Every datapoint of every query, and how many calls that took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricData {
    pub values: HashMap<String, Vec<f64>>,
    /// Epoch seconds of each value, by query id.
    pub timestamps: HashMap<String, Vec<i64>>,
    pub calls: u32,
}

/// The Invocations of each of `function`'s `resources` over `window`, in order: the metric's
/// Resource dimension is `FUNCTION` for unqualified calls and `FUNCTION:ALIAS` for an alias's.
pub async fn invocations_by_resource<M: MetricsApi>(
    api: &M,
    function: &str,
    resources: &[String],
    window: &MetricWindow,
) -> PlatformResult<Vec<f64>> {
    let queries: Vec<MetricQuery> = resources
        .iter()
        .enumerate()
        .map(|(i, resource)| {
            let dims = [("FunctionName", function), ("Resource", resource.as_str())];
            MetricQuery::new(format!("r{i}"), "Invocations", "Sum", &dims)
        })
        .collect();
    let data = fetch_all(api, &queries, window).await?;
    Ok((0..resources.len())
        .map(|i| {
            data.values
                .get(&format!("r{i}"))
                .map_or(0.0, |v| v.iter().sum())
        })
        .collect())
}

/// Runs any number of queries: 500 per call, each call paged to its end.
pub async fn fetch_all<M: MetricsApi>(
    api: &M,
    queries: &[MetricQuery],
    window: &MetricWindow,
) -> PlatformResult<MetricData> {
    let batches: Vec<MetricData> = stream::iter(queries.chunks(MAX_QUERIES_PER_CALL))
        .map(|batch| fetch_batch(api, batch, window))
        .buffer_unordered(CALLS_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut all = MetricData::default();
    for batch in batches {
        all.calls += batch.calls;
        all.values.extend(batch.values);
        all.timestamps.extend(batch.timestamps);
    }
    Ok(all)
}

async fn fetch_batch<M: MetricsApi>(
    api: &M,
    batch: &[MetricQuery],
    window: &MetricWindow,
) -> PlatformResult<MetricData> {
    let mut data = MetricData::default();
    let mut token: Option<String> = None;
    loop {
        let page = api.get_metric_data(batch, window, token.as_deref()).await?;
        data.calls += 1;
        for (id, values) in page.series {
            data.values.entry(id).or_default().extend(values);
        }
        for (id, stamps) in page.timestamps {
            data.timestamps.entry(id).or_default().extend(stamps);
        }
        match page.next_token {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(data),
        }
    }
}

/// aws-sdk-cloudwatch behind [`MetricsApi`].
#[derive(Clone, Debug)]
pub struct AwsCloudWatch {
    client: aws_sdk_cloudwatch::Client,
    target: super::failure::Target,
}

impl AwsCloudWatch {
    pub fn new(config: &aws_config::SdkConfig) -> AwsCloudWatch {
        AwsCloudWatch {
            client: aws_sdk_cloudwatch::Client::new(config),
            target: super::failure::Target::of(config, "monitoring"),
        }
    }
}

fn to_sdk(q: &MetricQuery, period_s: i32) -> MetricDataQuery {
    let dimensions = q
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    let metric = Metric::builder()
        .namespace("AWS/Lambda")
        .metric_name(&q.metric_name)
        .set_dimensions(Some(dimensions))
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period_s)
                .stat(&q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

impl MetricsApi for AwsCloudWatch {
    async fn get_metric_data(
        &self,
        queries: &[MetricQuery],
        window: &MetricWindow,
        next_token: Option<&str>,
    ) -> PlatformResult<MetricPage> {
        if queries.len() > MAX_QUERIES_PER_CALL {
            return Err(PlatformError::InvalidParameter(format!(
                "{} queries in one GetMetricData call (at most {MAX_QUERIES_PER_CALL})",
                queries.len()
            )));
        }
        let out = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(
                queries.iter().map(|q| to_sdk(q, window.period_s)).collect(),
            ))
            .start_time(DateTime::from_millis(window.start_ms))
            .end_time(DateTime::from_millis(window.end_ms))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| super::aws::map_error(&self.target, "GetMetricData", e))?;
        Ok(MetricPage {
            series: out
                .metric_data_results()
                .iter()
                .map(|r| (r.id().unwrap_or_default().to_string(), r.values().to_vec()))
                .collect(),
            timestamps: out
                .metric_data_results()
                .iter()
                .map(|r| {
                    let stamps = r.timestamps().iter().map(|t| t.secs()).collect();
                    (r.id().unwrap_or_default().to_string(), stamps)
                })
                .collect(),
            next_token: out.next_token().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn windows_use_a_period_the_retention_allows() {
        let now = 1_760_000_123_456;
        let w = MetricWindow::last_days(14, now).unwrap();
        assert_eq!(w.end_ms % MINUTE_MS, 0);
        assert!(w.end_ms > now && w.end_ms - now <= MINUTE_MS);
        assert_eq!(w.end_ms - w.start_ms, 14 * DAY_MS);
        assert_eq!(w.period_s, 14 * 86_400);
        let w = MetricWindow::last_days(15, now).unwrap();
        assert_eq!((w.start_ms % (5 * MINUTE_MS), w.period_s % 300), (0, 0));
        let w = MetricWindow::last_days(30, now).unwrap();
        assert_eq!((w.start_ms % (5 * MINUTE_MS), w.period_s % 300), (0, 0));
        let w = MetricWindow::last_days(90, now).unwrap();
        assert_eq!((w.start_ms % (60 * MINUTE_MS), w.period_s % 3600), (0, 0));
        assert!(MetricWindow::last_days(0, now).is_err());
        assert!(MetricWindow::last_days(456, now).is_err());
    }

    /// Answers each query with one value per page, two pages per call.
    struct Paged {
        calls: Mutex<Vec<usize>>,
    }

    impl MetricsApi for Paged {
        async fn get_metric_data(
            &self,
            queries: &[MetricQuery],
            _window: &MetricWindow,
            next_token: Option<&str>,
        ) -> PlatformResult<MetricPage> {
            self.calls.lock().unwrap().push(queries.len());
            let value = if next_token.is_some() { 2.0 } else { 1.0 };
            Ok(MetricPage {
                series: queries
                    .iter()
                    .map(|q| (q.id.clone(), vec![value]))
                    .collect(),
                next_token: next_token.is_none().then(|| "more".to_string()),
                timestamps: Vec::new(),
            })
        }
    }

    #[tokio::test]
    async fn batches_of_500_are_paged_to_the_end() {
        let queries: Vec<MetricQuery> = (0..1200)
            .map(|i| MetricQuery {
                id: format!("q{i}"),
                metric_name: "Invocations".into(),
                dimensions: vec![("FunctionName".into(), format!("f{i}"))],
                stat: "Sum".into(),
            })
            .collect();
        let api = Paged {
            calls: Mutex::default(),
        };
        let window = MetricWindow::last_days(14, 1_760_000_000_000).unwrap();
        let data = fetch_all(&api, &queries, &window).await.unwrap();
        assert_eq!(data.calls, 6, "3 batches x 2 pages");
        let mut sizes = api.calls.into_inner().unwrap();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![200, 200, 500, 500, 500, 500]);
        assert_eq!(data.values.len(), 1200);
        assert_eq!(data.values["q1199"], vec![1.0, 2.0]);
    }
}
