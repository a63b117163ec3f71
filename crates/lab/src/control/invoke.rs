//! Invocation: concurrency checks and throttles, execution environments that start cold and
//! are reused warm, the drawn execution, and what Invoke answers and logs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use memtune_facts::report_line::{self, Report, ReportStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::{random_uuid, seed_for, Environment, FunctionState, Lab, RunConfig, LATEST};
use crate::aws_error::AwsError;
use crate::chain::Call;
use crate::model::DurationModel;
use crate::production;
use crate::profiles::LogFormat;
use crate::telemetry::{InvocationRecord, ThrottleRecord};
use crate::workload::{Execution, Outcome};

/// How an invocation was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// What Invoke answers.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    pub status: u16,
    pub executed_version: String,
    pub function_error: bool,
    pub payload: String,
    /// Base64 of the log tail, when asked for.
    pub log_result: Option<String>,
    pub request_id: String,
}

/// A reserved execution environment, handed back with [`Lab::finish`].
pub struct Reservation {
    function: String,
    version: String,
    alias: Option<String>,
    env_index: usize,
    config: RunConfig,
    execution: Execution,
    request_id: String,
    stream: String,
    cold: bool,
    /// INIT failed: Lambda's (errorType, errorMessage).
    init_failure: Option<(&'static str, String)>,
    /// Wall time to hold the environment busy for the function's own work.
    pub hold: Duration,
    /// The synchronous calls the function makes (`control/calls.rs`).
    pub(super) calls: Vec<Call>,
    /// The `CALL` lines of the calls that ran, logged before END and REPORT.
    call_lines: Vec<String>,
}

impl Reservation {
    /// The version that runs: `$LATEST` or a number.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The handler runs to its end (so it makes its calls): INIT worked, and it was neither
    /// killed nor timed out in its own work.
    pub(super) fn runs_handler(&self) -> bool {
        self.init_failure.is_none()
            && matches!(
                self.execution.outcome,
                Outcome::Success | Outcome::FunctionError
            )
    }

    /// What the invocation took as its caller sees it: INIT and the handler, in ms.
    pub(super) fn elapsed_ms(&self) -> f64 {
        self.execution.duration_ms + self.execution.init_ms.unwrap_or(0.0)
    }

    /// Adds the time spent in calls to the handler's duration: past the timeout the
    /// invocation times out; a failed call fails it.
    pub(super) fn add_calls(&mut self, elapsed_ms: f64, lines: Vec<String>, failed: bool) {
        let timeout_ms = self.config.timeout_s as f64 * 1000.0;
        let e = &mut self.execution;
        e.duration_ms += elapsed_ms;
        if e.duration_ms >= timeout_ms {
            e.outcome = Outcome::Timeout;
            e.duration_ms = timeout_ms;
        } else if failed {
            e.outcome = Outcome::FunctionError;
        }
        self.call_lines = lines;
    }
}

impl Lab {
    /// A synchronous invocation: reserve, run the function's own work and its calls
    /// (`calls.rs`), finish. Invoke's RequestResponse and the live traffic generator both
    /// run through it.
    pub async fn invoke(
        self: &Arc<Lab>,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        tail: bool,
    ) -> Result<InvokeResult, AwsError> {
        let mut reservation = self.reserve_request(name, qualifier, payload)?;
        self.run(&mut reservation).await;
        Ok(self.finish(reservation, tail))
    }

    /// [`Lab::reserve_request`] with a payload that names no request class.
    pub fn reserve(&self, name: &str, qualifier: Option<&str>) -> Result<Reservation, AwsError> {
        self.reserve_request(name, qualifier, b"")
    }

    /// Checks concurrency, picks (or starts) an execution environment and draws the
    /// execution of the request class the payload names (see `production`). The environment
    /// stays busy until [`Lab::finish`].
    pub fn reserve_request(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> Result<Reservation, AwsError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let throttle_fault = self.config.faults.throttle;
        let injected = throttle_fault > 0.0 && inner.fault_rng.random::<f64>() < throttle_fault;
        let reserved_total: u32 = inner.functions.values().filter_map(|f| f.reserved).sum();
        let unreserved_limit = self
            .account
            .concurrent_executions
            .saturating_sub(reserved_total);
        let unreserved_in_flight: u32 = inner
            .functions
            .values()
            .filter(|f| f.reserved.is_none())
            .map(|f| f.counters.in_flight)
            .sum();
        let Some(f) = inner.functions.get_mut(name) else {
            return Err(self.not_found(name, qualifier));
        };
        Self::settle(f);
        f.check_active()?;
        let mut version = self.resolve(f, qualifier)?;
        let primary = version.clone();
        let alias = qualifier
            .filter(|q| *q != LATEST && !q.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string);
        if let Some(a) = alias.as_ref().and_then(|a| f.aliases.get(a)) {
            if let Some((v, w)) = &a.routing {
                if f.rng.random::<f64>() < *w {
                    version = v.clone();
                }
            }
        }
        f.check_version_ready(&version)?;
        let throttled = match f.reserved {
            Some(r) if f.counters.in_flight >= r => {
                Some("ReservedFunctionConcurrentInvocationLimitExceeded")
            }
            Some(_) => None,
            None if unreserved_in_flight >= unreserved_limit => {
                Some("ConcurrentInvocationLimitExceeded")
            }
            None => None,
        }
        .or(injected.then_some("ConcurrentInvocationLimitExceeded"));
        if let Some(reason) = throttled {
            f.counters.throttles += 1;
            inner.throttles += 1;
            self.telemetry.record_throttle(ThrottleRecord {
                function: name.to_string(),
                alias: alias.clone(),
                version: version.clone(),
                timestamp_ms: Utc::now().timestamp_millis(),
            });
            let mut e = AwsError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.",
            )
            .with("Reason", reason);
            // Lambda hints a second; scaled like every other simulated time.
            e.retry_after_s = Some(self.scaled(1.0).as_secs_f64().ceil() as u32);
            return Err(e);
        }
        let (config, generation) = if version == LATEST {
            (f.active.clone(), f.generation)
        } else {
            let n: u32 = version.parse().expect("resolved versions are numbers");
            (f.versions[&n].config.clone(), 0)
        };
        let idle_limit = Duration::from_secs_f64(self.config.environment_idle_s);
        let now = Instant::now();
        // Provisioned concurrency of the qualifier invoked, when it serves this version.
        let key = qualifier
            .filter(|q| *q != LATEST && version == primary)
            .map(|_| alias.clone().unwrap_or_else(|| version.clone()));
        let levels = self.provisioned_levels(f, &version);
        let level = key.as_ref().and_then(|k| levels.get(k)).copied();
        let pool = f.environments.entry(version.clone()).or_default();
        keep_provisioned_within(pool, &levels);
        pool.retain(|e| {
            e.busy
                || e.provisioned.is_some()
                || (e.generation == generation && now.duration_since(e.last_used) < idle_limit)
        });
        if let (Some(key), Some(level)) = (&key, level) {
            // Lambda initialised these ahead of any invocation.
            let have = pool
                .iter()
                .filter(|e| e.provisioned.as_ref() == Some(key))
                .count();
            for _ in have..level as usize {
                let stream = new_stream(&version, &mut f.rng);
                pool.push(Environment {
                    busy: false,
                    last_used: now,
                    generation,
                    stream,
                    provisioned: Some(key.clone()),
                });
            }
        }
        let free = |e: &Environment| !e.busy && e.provisioned.as_ref() == key.as_ref();
        let free_on_demand = |e: &Environment| !e.busy && e.provisioned.is_none();
        let found = pool
            .iter()
            .position(free)
            .or_else(|| pool.iter().position(free_on_demand));
        let (env_index, cold) = match found {
            Some(i) => (i, false),
            None => {
                let stream = new_stream(&version, &mut f.rng);
                pool.push(Environment {
                    busy: false,
                    last_used: now,
                    generation,
                    stream,
                    provisioned: None,
                });
                (pool.len() - 1, true)
            }
        };
        pool[env_index].busy = true;
        let stream = pool[env_index].stream.clone();
        let architecture = f.profile.architecture;
        let class = production::class_of(&f.profile.production_mix, payload);
        let mut noise_key = format!(
            "{}:{version}:{}:{generation}",
            f.profile.name, config.memory_mb
        );
        if let Some(c) = class {
            noise_key = format!("{noise_key}:{}", c.class);
        }
        let seed = self.config.seed;
        let noise = f
            .noise
            .entry(noise_key)
            .or_insert_with_key(|key| StdRng::seed_from_u64(seed_for(seed, key)));
        let model = class.map_or(f.profile.model(), |c| DurationModel::Physics(&c.workload));
        let mut execution = model.execute(
            config.memory_mb,
            architecture,
            config.timeout_s as f64 * 1000.0,
            cold,
            noise,
        );
        let failing = f.failing_versions.get(&version).copied().unwrap_or(0.0);
        if execution.outcome == Outcome::Success
            && failing > 0.0
            && inner.fault_rng.random::<f64>() < failing
        {
            execution.outcome = Outcome::FunctionError;
        }
        let init_failure = f.init_failure();
        if init_failure.is_some() {
            // The runtime gives up while loading the code: a short INIT, nothing runs.
            execution = Execution {
                outcome: Outcome::FunctionError,
                duration_ms: execution
                    .init_ms
                    .unwrap_or(execution.duration_ms)
                    .min(250.0),
                init_ms: None,
                max_memory_used_mb: execution.max_memory_used_mb.min(30),
            };
        }
        let request_id = random_uuid(&mut f.rng);
        let calls = f.profile.calls.clone();
        f.counters.in_flight += 1;
        f.counters.peak_concurrency = f.counters.peak_concurrency.max(f.counters.in_flight);
        inner.in_flight += 1;
        inner.peak = inner.peak.max(inner.in_flight);
        let simulated_ms = execution.duration_ms + execution.init_ms.unwrap_or(0.0);
        let slow = self.config.faults.slow > 0.0
            && inner.fault_rng.random::<f64>() < self.config.faults.slow;
        let mut hold = self.scaled(simulated_ms / 1000.0);
        if slow {
            // A slow response from the service itself: long enough to trip a client timeout
            // in real time, short in tests.
            hold += Duration::from_secs_f64(2.0 * self.config.time_scale.max(0.05));
        }
        Ok(Reservation {
            function: name.to_string(),
            version,
            alias,
            env_index,
            config,
            execution,
            request_id,
            stream,
            cold,
            init_failure,
            hold,
            calls,
            call_lines: Vec::new(),
        })
    }

    /// Frees the environment, counts and records the invocation and builds the response.
    pub fn finish(&self, r: Reservation, tail: bool) -> InvokeResult {
        let billed_ms = billed_ms(&r.execution);
        let gb_s = r.config.memory_mb as f64 / 1024.0 * billed_ms as f64 / 1000.0;
        {
            let mut inner = self.lock();
            inner.in_flight = inner.in_flight.saturating_sub(1);
            inner.invocations += 1;
            inner.gb_seconds += gb_s;
            if let Some(f) = inner.functions.get_mut(&r.function) {
                f.counters.in_flight = f.counters.in_flight.saturating_sub(1);
                f.counters.invocations += 1;
                f.counters.gb_seconds += gb_s;
                if r.cold {
                    f.counters.cold_starts += 1;
                }
                if let Some(env) = f
                    .environments
                    .get_mut(&r.version)
                    .and_then(|pool| pool.get_mut(r.env_index))
                {
                    env.busy = false;
                    env.last_used = Instant::now();
                }
            }
        }
        let log_lines = log_lines(&r, billed_ms);
        let (function_error, payload) = payload_for(&r);
        let log_result = tail.then(|| {
            let text: String = log_lines.concat();
            let start = text.len().saturating_sub(4096);
            let start = (start..text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            base64::engine::general_purpose::STANDARD.encode(&text[start..])
        });
        self.telemetry.record_invocation(InvocationRecord {
            function: r.function.clone(),
            version: r.version.clone(),
            alias: r.alias.clone(),
            timestamp_ms: Utc::now().timestamp_millis(),
            request_id: r.request_id.clone(),
            log_stream: r.stream.clone(),
            duration_ms: r.execution.duration_ms,
            billed_ms,
            memory_mb: r.config.memory_mb,
            max_memory_used_mb: r.execution.max_memory_used_mb,
            init_ms: r.execution.init_ms,
            outcome: r.execution.outcome,
            log_lines,
        });
        InvokeResult {
            status: 200,
            executed_version: r.version,
            function_error,
            payload,
            log_result,
            request_id: r.request_id,
        }
    }

    /// READY provisioned levels serving `version`, by qualifier (the version, or aliases
    /// pointing at it).
    fn provisioned_levels(&self, f: &FunctionState, version: &str) -> HashMap<String, u32> {
        f.provisioned
            .iter()
            .filter(|(q, p)| {
                p.serving()
                    && (q.as_str() == version
                        || f.aliases
                            .get(q.as_str())
                            .is_some_and(|a| a.function_version == version))
            })
            .map(|(q, p)| (q.clone(), p.requested))
            .collect()
    }

    /// Whether a function exists (DryRun, Event).
    pub fn check_invocable(&self, name: &str, qualifier: Option<&str>) -> Result<String, AwsError> {
        self.with_function(name, qualifier, |lab, f| lab.resolve(f, qualifier))
    }
}

/// A new execution environment's log stream.
fn new_stream(version: &str, rng: &mut StdRng) -> String {
    format!(
        "{}/[{}]{:032x}",
        Utc::now().format("%Y/%m/%d"),
        version,
        rng.random::<u128>()
    )
}

/// Environments provisioned beyond a qualifier's current level (lowered, deleted, or its
/// alias moved to another version) become on-demand ones that age out.
fn keep_provisioned_within(pool: &mut [Environment], levels: &HashMap<String, u32>) {
    let mut counted: HashMap<String, u32> = HashMap::new();
    for e in pool.iter_mut() {
        let Some(key) = e.provisioned.clone() else {
            continue;
        };
        let n = counted.entry(key.clone()).or_default();
        *n += 1;
        if *n > levels.get(&key).copied().unwrap_or(0) {
            e.provisioned = None;
        }
    }
}

/// Billed duration: handler time plus INIT on a cold start (INIT is billed for all on-demand
/// functions since 2025-08-01), rounded up to the next millisecond.
fn billed_ms(e: &Execution) -> u64 {
    (e.duration_ms + e.init_ms.unwrap_or(0.0)).ceil().max(1.0) as u64
}

/// What the function returns: a small JSON document, or Lambda's error payload.
fn payload_for(r: &Reservation) -> (bool, String) {
    if let Some((kind, message)) = &r.init_failure {
        let message = format!("RequestId: {} {message}", r.request_id);
        return (
            true,
            json!({ "errorType": kind, "errorMessage": message }).to_string(),
        );
    }
    let e = &r.execution;
    match e.outcome {
        Outcome::Success => (
            false,
            json!({ "statusCode": 200, "memoryMB": r.config.memory_mb }).to_string(),
        ),
        Outcome::FunctionError => (
            true,
            json!({ "errorMessage": "simulated handled error", "errorType": "Error" }).to_string(),
        ),
        Outcome::OutOfMemory => (
            true,
            json!({
                "errorMessage": format!("RequestId: {} Error: Runtime exited with error: signal: killed", r.request_id),
                "errorType": "Runtime.OutOfMemory",
            })
            .to_string(),
        ),
        Outcome::Timeout => (
            true,
            json!({
                "errorMessage": format!("{} {} Task timed out after {:.2} seconds",
                    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"), r.request_id, r.config.timeout_s as f64),
                "errorType": "Sandbox.Timedout",
            })
            .to_string(),
        ),
    }
}

/// The platform log lines of one invocation, in the function's log format.
fn log_lines(r: &Reservation, billed_ms: u64) -> Vec<String> {
    let e = &r.execution;
    let id = &r.request_id;
    let now: DateTime<Utc> = Utc::now();
    let ts = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let status = match e.outcome {
        _ if r.init_failure.is_some() => {
            ReportStatus::Error(r.init_failure.as_ref().map(|(kind, _)| kind.to_string()))
        }
        Outcome::Success | Outcome::FunctionError => ReportStatus::Success,
        Outcome::OutOfMemory => ReportStatus::Error(Some("Runtime.OutOfMemory".into())),
        Outcome::Timeout => ReportStatus::Timeout,
    };
    let report = Report {
        request_id: id.clone(),
        duration_ms: e.duration_ms,
        billed_ms,
        memory_mb: r.config.memory_mb,
        max_memory_used_mb: e.max_memory_used_mb,
        init_ms: e.init_ms,
        restore_ms: None,
        status,
    };
    match r.config.log_format {
        LogFormat::Text => {
            let mut lines = Vec::new();
            if let Some((kind, message)) = &r.init_failure {
                lines.push(format!(
                    "INIT_REPORT Init Duration: {:.2} ms\tPhase: invoke\tStatus: error\tError Type: {kind}\n",
                    e.duration_ms
                ));
                lines.push(format!("{ts} {id} {message}\n"));
            }
            lines.push(format!("START RequestId: {id} Version: {}\n", r.version));
            // What the handler printed: one line per synchronous call.
            lines.extend(r.call_lines.iter().map(|l| format!("{l}\n")));
            if e.outcome == Outcome::Timeout {
                lines.push(format!(
                    "{ts} {id} Task timed out after {:.2} seconds\n",
                    r.config.timeout_s as f64
                ));
            }
            lines.push(format!("END RequestId: {id}\n"));
            lines.push(report_line::text(&report));
            lines
        }
        LogFormat::Json => {
            let suppressed = matches!(
                r.config.system_log_level.as_deref(),
                Some("WARN") | Some("ERROR") | Some("FATAL")
            );
            if suppressed {
                // Platform events are INFO: a WARN system log level drops START and REPORT.
                return Vec::new();
            }
            let mut lines = vec![
                json!({"time": ts, "type": "platform.start", "record": {"requestId": id, "version": r.version}}).to_string() + "\n",
            ];
            // The handler's application log lines, at INFO, in Lambda's JSON shape.
            let quiet = matches!(
                r.config.application_log_level.as_deref(),
                Some("WARN") | Some("ERROR") | Some("FATAL")
            );
            if !quiet {
                lines.extend(r.call_lines.iter().map(|l| {
                    json!({"timestamp": ts, "level": "INFO", "requestId": id, "message": l})
                        .to_string()
                        + "\n"
                }));
            }
            lines.push(report_line::json_event(&report, &ts));
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::lab;

    #[test]
    fn back_to_back_invocations_reuse_a_warm_environment() {
        let lab = lab();
        let r = lab.reserve("f", None).unwrap();
        assert!(r.cold);
        lab.finish(r, false);
        let r = lab.reserve("f", None).unwrap();
        assert!(!r.cold);
        let concurrent = lab.reserve("f", None).unwrap();
        assert!(
            concurrent.cold,
            "a concurrent invocation needs its own environment"
        );
        lab.finish(r, false);
        lab.finish(concurrent, false);
        assert_eq!(lab.stats().functions["f"].cold_starts, 2);
        assert_eq!(lab.stats().peak_concurrency, 2);
    }

    #[test]
    fn provisioned_environments_serve_their_alias_warm_up_to_the_level() {
        let lab = lab();
        lab.publish_version("f", &serde_json::json!({})).unwrap();
        lab.create_alias(
            "f",
            &serde_json::json!({"Name": "live", "FunctionVersion": "1"}),
        )
        .unwrap();
        lab.put_provisioned_concurrency("f", "live", 2).unwrap();
        std::thread::sleep(lab.allocation_wait());
        let a = lab.reserve("f", Some("live")).unwrap();
        let b = lab.reserve("f", Some("live")).unwrap();
        let c = lab.reserve("f", Some("live")).unwrap();
        assert_eq!((a.cold, b.cold, c.cold), (false, false, true));
        // The version itself has no provisioned concurrency of its own.
        let d = lab.reserve("f", Some("1")).unwrap();
        assert!(d.cold);
        for r in [a, b, c, d] {
            lab.finish(r, false);
        }
        lab.delete_provisioned_concurrency("f", "live").unwrap();
        let r1 = lab.reserve("f", Some("live")).unwrap();
        let r2 = lab.reserve("f", Some("live")).unwrap();
        let r3 = lab.reserve("f", Some("live")).unwrap();
        let r4 = lab.reserve("f", Some("live")).unwrap();
        let r5 = lab.reserve("f", Some("live")).unwrap();
        // Four warm environments remain (two formerly provisioned, two on demand).
        assert_eq!(
            [&r1, &r2, &r3, &r4, &r5].map(|r| r.cold),
            [false, false, false, false, true]
        );
    }

    #[test]
    fn reserved_concurrency_throttles() {
        let lab = lab();
        lab.put_function_concurrency("f", Some(1)).unwrap();
        let r = lab.reserve("f", None).unwrap();
        let e = lab.reserve("f", None).err().unwrap();
        assert_eq!(e.code, "TooManyRequestsException");
        lab.finish(r, false);
    }
}
