//! The canary's [`Sampler`]: the search asks for sizes, and each is measured on production
//! traffic instead of test invocations. For a size other than the main version's, a version
//! is published (the sweep's safe protocol), the alias routes its share to it, the run waits
//! until it has served enough requests (judging it against the main version every poll, and
//! taking it out at once when it does worse), then the alias routes as it was found and the
//! version's REPORT lines are read from Logs. The main version's own size is measured from
//! its traffic, without routing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::backoff::{judge, BackOffLimits, Verdict, VersionTraffic};
use super::observe::{report_lines, version_traffic, window};
use crate::platform::cloudwatch::MetricsApi;
use crate::platform::logs::LogsApi;
use crate::platform::{FunctionConfig, InvokeResponse, LambdaApi};
use crate::sweep::journal::AliasRoute;
use crate::sweep::{
    RawInvocation, Sampler, SizeRequest, StopEarly, SweepError, SweepEvent, Sweeper,
};

/// How a canary run samples.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySettings {
    pub alias: String,
    /// The share (0..1) of the alias's traffic one candidate gets.
    pub share: f64,
    pub limits: BackOffLimits,
    /// Requests a size serves at least before it is measured.
    pub samples: u32,
    /// CloudWatch's period for Lambda's metrics (60 s): the plan counts in it.
    pub period: Duration,
    /// How often metrics and the alias are read while a candidate serves.
    pub poll: Duration,
    /// The longest a size waits for its requests (an alias whose traffic dried up).
    pub max_wait: Duration,
}

/// What one size served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Served {
    pub memory_mb: u32,
    pub version: String,
    /// The main version itself (no routing).
    pub main: bool,
    /// The share of the alias's traffic routed to it (0 for the main version).
    pub share: f64,
    pub traffic: VersionTraffic,
    /// What the main version served over the same window.
    pub main_traffic: VersionTraffic,
    /// REPORT lines read from Logs.
    pub reports: usize,
    pub seconds: f64,
    /// Why it was taken out of production, when it was.
    pub backed_off: Option<String>,
}

/// Measures sizes on the alias's production traffic.
pub struct Canary<'a, A: LambdaApi, M: MetricsApi, L: LogsApi> {
    sweeper: Sweeper<'a, A>,
    api: &'a A,
    metrics: &'a M,
    logs: &'a L,
    /// The alias's version, whose memory is the current size.
    serving: FunctionConfig,
    found: AliasRoute,
    /// The alias's RevisionId as of memtune's last change (or as found).
    revision_id: String,
    settings: CanarySettings,
    served: Vec<Served>,
    backed_off: BTreeMap<u32, String>,
}

impl<'a, A: LambdaApi, M: MetricsApi, L: LogsApi> Canary<'a, A, M, L> {
    pub fn new(
        sweeper: Sweeper<'a, A>,
        (api, metrics, logs): (&'a A, &'a M, &'a L),
        serving: FunctionConfig,
        alias: &crate::platform::AliasInfo,
        settings: CanarySettings,
    ) -> Self {
        Canary {
            sweeper,
            api,
            metrics,
            logs,
            serving,
            found: AliasRoute::of(alias),
            revision_id: alias.revision_id.clone(),
            settings,
            served: Vec::new(),
            backed_off: BTreeMap::new(),
        }
    }

    /// The sizes taken out of production, and why.
    pub fn backed_off(&self) -> &BTreeMap<u32, String> {
        &self.backed_off
    }

    /// Hands back what was served and the sweep, for `finish` (restore and clean-up).
    pub fn into_parts(self) -> (Sweeper<'a, A>, Vec<Served>) {
        (self.sweeper, self.served)
    }

    /// Stops when someone else changed the alias since memtune last read or set it.
    async fn check_alias(&self) -> Result<(), SweepError> {
        let now = self
            .api
            .get_alias(&self.serving.name, &self.settings.alias)
            .await?;
        if now.revision_id == self.revision_id {
            return Ok(());
        }
        Err(SweepError::ChangedMeanwhile {
            function: self.serving.name.clone(),
            what: format!(
                "alias {} changed: its RevisionId moved",
                self.settings.alias
            ),
        })
    }

    async fn route(&mut self, from: &AliasRoute, to: &AliasRoute) -> Result<(), SweepError> {
        let alias = self.settings.alias.clone();
        let revision_id = self.revision_id.clone();
        let routed = self.sweeper.route(&alias, from, to, &revision_id).await?;
        self.revision_id = routed.revision_id;
        Ok(())
    }

    /// Serves one size: `version` (the main version when it is the alias's own).
    async fn serve(
        &mut self,
        memory_mb: u32,
        samples: u32,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<(Served, Vec<String>), SweepError> {
        let main_version = self.found.version.clone();
        let main = memory_mb == self.serving.memory_mb;
        let version = if main {
            main_version.clone()
        } else {
            let published = self.sweeper.publish_only(&[memory_mb], on_event).await?;
            published[0].clone()
        };
        let canary = AliasRoute {
            version: main_version.clone(),
            weights: [(version.clone(), self.settings.share)].into(),
        };
        if !main {
            let found = self.found.clone();
            self.route(&found, &canary).await?;
        }
        let started = Instant::now();
        let start_ms = now_ms();
        let mut backed_off = None;
        let (traffic, main_traffic) = loop {
            tokio::time::sleep(self.settings.poll).await;
            self.check_alias().await?;
            let w = window(start_ms, now_ms());
            let versions = [main_version.as_str(), version.as_str()];
            let read = version_traffic(
                self.metrics,
                &self.serving.name,
                &self.settings.alias,
                &versions,
                &w,
            )
            .await?;
            let (theirs, mine) = (read[0], read[1]);
            if !main {
                if let Verdict::Unsafe(why) = judge(&theirs, &mine, &self.settings.limits) {
                    backed_off = Some(why);
                    break (mine, theirs);
                }
            }
            // CloudWatch counts a request once its datapoint is published: enough counted
            // means enough measured, whatever the period.
            let enough = mine.invocations >= f64::from(samples);
            if enough || started.elapsed() >= self.settings.max_wait {
                break (mine, theirs);
            }
        };
        if !main {
            // Taken out at once, or done: the alias routes as it was found.
            let found = self.found.clone();
            self.route(&canary, &found).await?;
        }
        let end_ms = now_ms();
        let lines = report_lines(
            self.logs,
            &self.serving.name,
            &self.serving.log_format,
            &version,
            (start_ms / 1000, end_ms / 1000 + 1),
        )
        .await
        .map_err(|e| match e {
            crate::platform::logs::QueryError::Platform(p) => SweepError::Platform(p),
            other => SweepError::Refused(format!(
                "reading the REPORT lines of version {version}: {other}"
            )),
        })?;
        if let Some(why) = &backed_off {
            self.backed_off.insert(memory_mb, why.clone());
        }
        let served = Served {
            memory_mb,
            version,
            main,
            share: if main { 0.0 } else { self.settings.share },
            traffic,
            main_traffic,
            reports: lines.len(),
            seconds: started.elapsed().as_secs_f64(),
            backed_off,
        };
        self.served.push(served.clone());
        Ok((served, lines))
    }
}

impl<A: LambdaApi, M: MetricsApi, L: LogsApi> Sampler for Canary<'_, A, M, L> {
    fn original(&self) -> &FunctionConfig {
        &self.serving
    }

    /// One size at a time; a size taken out of production is never routed to again.
    async fn sample(
        &mut self,
        batch: &[SizeRequest],
        _stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<Vec<RawInvocation>, SweepError> {
        let mut raw = Vec::new();
        for request in batch {
            if self.backed_off.contains_key(&request.memory_mb) {
                continue;
            }
            let samples = request.invocations.max(self.settings.samples);
            let (served, lines) = self.serve(request.memory_mb, samples, on_event).await?;
            raw.extend(
                lines
                    .into_iter()
                    .map(|line| as_invocation(served.memory_mb, &served.version, line)),
            );
        }
        Ok(raw)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A REPORT line read from Logs, as an invocation the statistics can take in.
fn as_invocation(memory_mb: u32, version: &str, line: String) -> RawInvocation {
    RawInvocation {
        memory_mb,
        warmup: false,
        result: Ok(InvokeResponse {
            status: 200,
            function_error: None,
            log_tail: Some(line),
            executed_version: Some(version.to_string()),
            payload: Vec::new(),
        }),
        throttled: 0,
    }
}
