//! CloudWatch Logs Insights behind [`LogsApi`]: start a query over up to 50 log groups, poll
//! GetQueryResults until it completes or a time limit passes (then stop it).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::types::QueryStatus;

use super::{PlatformError, PlatformResult};

/// Insights reports a text REPORT line's memory in bytes, a megabyte being 10^6 of them.
const BYTES_PER_MB: f64 = 1e6;

/// Where Logs Insights finds a REPORT line's fields in each log format, and the unit of its
/// memory fields.
pub struct ReportFields {
    pub filter: &'static str,
    pub memory: &'static str,
    pub init: &'static str,
    pub billed: &'static str,
    pub bytes_per_mb: f64,
}

pub const TEXT_REPORT: ReportFields = ReportFields {
    filter: r#"@type = "REPORT""#,
    memory: "@maxMemoryUsed",
    init: "@initDuration",
    billed: "@billedDuration",
    bytes_per_mb: BYTES_PER_MB,
};

pub const JSON_REPORT: ReportFields = ReportFields {
    filter: r#"type = "platform.report""#,
    memory: "record.metrics.maxMemoryUsedMB",
    init: "record.metrics.initDurationMs",
    billed: "record.metrics.billedDurationMs",
    bytes_per_mb: 1.0,
};

/// The REPORT fields of a function whose `LoggingConfig.LogFormat` is `log_format`.
pub fn report_fields(log_format: &str) -> &'static ReportFields {
    if log_format.eq_ignore_ascii_case("json") {
        &JSON_REPORT
    } else {
        &TEXT_REPORT
    }
}

/// The most log groups one StartQuery names.
pub const MAX_LOG_GROUPS_PER_QUERY: usize = 50;
/// Polling starts fast (a small query finishes within a second) and slows down to this.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The log group Lambda writes a function's logs to.
pub fn log_group_of(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// One result row: (field, value) pairs.
pub type Row = Vec<(String, String)>;

/// Where a query stands.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryState {
    Running,
    Complete(Vec<Row>),
    /// Failed, Cancelled or Timeout, as the service reported it.
    Ended(String),
}

/// The Logs Insights operations memtune uses.
pub trait LogsApi: Send + Sync {
    /// Starts a query over [start_s, end_s] (epoch seconds, both included); returns its id.
    fn start_query(
        &self,
        log_groups: &[String],
        query: &str,
        start_s: i64,
        end_s: i64,
    ) -> impl Future<Output = PlatformResult<String>> + Send;

    fn get_query_results(
        &self,
        query_id: &str,
    ) -> impl Future<Output = PlatformResult<QueryState>> + Send;

    fn stop_query(&self, query_id: &str) -> impl Future<Output = PlatformResult<()>> + Send;
}

/// Why a query gave no rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("the Logs Insights query did not finish within {0:?} (stopped)")]
    TimedOut(Duration),
    #[error("the Logs Insights query ended as {0}")]
    Ended(String),
}

/// A finished query's rows and the calls it took.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub rows: Vec<Row>,
    pub calls: u32,
}

/// Starts a query and polls it to completion within `limit`.
pub async fn run_query<L: LogsApi>(
    api: &L,
    log_groups: &[String],
    query: &str,
    (start_s, end_s): (i64, i64),
    limit: Duration,
) -> Result<QueryOutput, QueryError> {
    let started = Instant::now();
    let id = api.start_query(log_groups, query, start_s, end_s).await?;
    let mut calls = 1;
    let mut interval = FIRST_POLL_INTERVAL;
    loop {
        tokio::time::sleep(interval).await;
        calls += 1;
        match api.get_query_results(&id).await? {
            QueryState::Complete(rows) => return Ok(QueryOutput { rows, calls }),
            QueryState::Ended(status) => return Err(QueryError::Ended(status)),
            QueryState::Running if started.elapsed() >= limit => {
                // Best effort: a query left running counts against the account's limit.
                let _ = api.stop_query(&id).await;
                return Err(QueryError::TimedOut(limit));
            }
            QueryState::Running => interval = (interval * 2).min(MAX_POLL_INTERVAL),
        }
    }
}

/// aws-sdk-cloudwatchlogs behind [`LogsApi`].
#[derive(Clone, Debug)]
pub struct AwsLogs {
    client: aws_sdk_cloudwatchlogs::Client,
    target: super::failure::Target,
}

impl AwsLogs {
    pub fn new(config: &aws_config::SdkConfig) -> AwsLogs {
        AwsLogs {
            client: aws_sdk_cloudwatchlogs::Client::new(config),
            target: super::failure::Target::of(config, "logs"),
        }
    }
}

impl LogsApi for AwsLogs {
    async fn start_query(
        &self,
        log_groups: &[String],
        query: &str,
        start_s: i64,
        end_s: i64,
    ) -> PlatformResult<String> {
        let out = self
            .client
            .start_query()
            .set_log_group_names(Some(log_groups.to_vec()))
            .query_string(query)
            .start_time(start_s)
            .end_time(end_s)
            .send()
            .await
            .map_err(|e| super::aws::map_error(&self.target, "StartQuery", e))?;
        out.query_id()
            .map(str::to_string)
            .ok_or_else(|| PlatformError::Service("StartQuery returned no queryId".into()))
    }

    async fn get_query_results(&self, query_id: &str) -> PlatformResult<QueryState> {
        let out = self
            .client
            .get_query_results()
            .query_id(query_id)
            .send()
            .await
            .map_err(|e| super::aws::map_error(&self.target, "GetQueryResults", e))?;
        Ok(match out.status() {
            Some(QueryStatus::Complete) => QueryState::Complete(
                out.results()
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|f| {
                                let field = f.field().unwrap_or_default().to_string();
                                (field, f.value().unwrap_or_default().to_string())
                            })
                            .collect()
                    })
                    .collect(),
            ),
            Some(QueryStatus::Running | QueryStatus::Scheduled) | None => QueryState::Running,
            Some(other) => QueryState::Ended(other.as_str().to_string()),
        })
    }

    async fn stop_query(&self, query_id: &str) -> PlatformResult<()> {
        self.client
            .stop_query()
            .query_id(query_id)
            .send()
            .await
            .map_err(|e| super::aws::map_error(&self.target, "StopQuery", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A query that completes on the `done_after`-th poll (never, when 0).
    struct Slow {
        done_after: u32,
        polls: AtomicU32,
        stopped: AtomicU32,
    }

    impl LogsApi for Slow {
        async fn start_query(
            &self,
            _: &[String],
            _: &str,
            _: i64,
            _: i64,
        ) -> PlatformResult<String> {
            Ok("q1".into())
        }
        async fn get_query_results(&self, _: &str) -> PlatformResult<QueryState> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(if n == self.done_after {
                QueryState::Complete(vec![vec![("n".into(), "3".into())]])
            } else {
                QueryState::Running
            })
        }
        async fn stop_query(&self, _: &str) -> PlatformResult<()> {
            self.stopped.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn slow(done_after: u32) -> Slow {
        Slow {
            done_after,
            polls: AtomicU32::new(0),
            stopped: AtomicU32::new(0),
        }
    }

    #[tokio::test]
    async fn polls_until_complete() {
        let api = slow(3);
        let out = run_query(&api, &[], "q", (0, 1), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(out.calls, 4, "one start and three polls");
        assert_eq!(out.rows[0][0].1, "3");
    }

    #[tokio::test]
    async fn a_query_past_its_time_limit_is_stopped() {
        let api = slow(0);
        let err = run_query(&api, &[], "q", (0, 1), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err, QueryError::TimedOut(Duration::from_millis(50)));
        assert_eq!(api.stopped.load(Ordering::SeqCst), 1);
    }
}
