//! The lab's Lambda control and data plane: functions, versions, aliases, the asynchronous
//! configuration updates, concurrency, and execution environments that start cold and are
//! reused warm.
//!
//! This file holds the account's state and what every operation shares (name parsing,
//! qualifier resolution, settling updates, pagination); each concern adds its operations to
//! [`Lab`] in its own file.

mod calls;
mod concurrency;
mod create;
mod functions;
mod invoke;
mod provisioned;
mod snapstart;
mod stats;
mod test_hooks;
mod versions;

pub use create::{lab_package, Code};
pub use invoke::{InvocationType, InvokeResult, Reservation};
pub use stats::{FunctionStats, LabStats};

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::aws_error::AwsError;
use super::profiles::{AccountSettings, FunctionProfile, LogFormat};
use super::settings::FunctionSettings;
use super::telemetry::Telemetry;
use super::LabConfig;

pub const LATEST: &str = "$LATEST";
const PAGE_SIZE: usize = 50;

/// The configuration a version runs with.
#[derive(Debug, Clone, PartialEq)]
struct RunConfig {
    memory_mb: u32,
    timeout_s: u32,
    description: String,
    log_format: LogFormat,
    system_log_level: Option<String>,
    application_log_level: Option<String>,
    settings: FunctionSettings,
}

#[derive(Debug, Clone)]
struct PublishedVersion {
    config: RunConfig,
    code_sha256: String,
    revision_id: String,
    last_modified: String,
    description: String,
    /// SnapStart: Pending until its snapshot is ready.
    ready_at: Option<Instant>,
}

/// What $LATEST becomes once an update completes, and when.
struct PendingUpdate {
    config: RunConfig,
    code: Code,
    code_sha256: String,
    done: Instant,
}

#[derive(Debug, Clone)]
struct AliasState {
    function_version: String,
    description: String,
    revision_id: String,
    /// Extra version and weight when the alias splits traffic.
    routing: Option<(String, f64)>,
}

#[derive(Debug)]
struct Environment {
    busy: bool,
    last_used: Instant,
    /// Which configuration of the version it was started with; $LATEST gets new environments
    /// after each configuration change.
    generation: u64,
    stream: String,
    /// The qualifier whose provisioned concurrency keeps it initialised: it serves only
    /// invocations of that qualifier and never expires idle.
    provisioned: Option<String>,
}

struct FunctionState {
    profile: FunctionProfile,
    /// What invocations of $LATEST run with.
    active: RunConfig,
    /// A configuration or code update in progress.
    pending: Option<PendingUpdate>,
    generation: u64,
    revision_id: String,
    last_modified: String,
    code_sha256: String,
    versions: BTreeMap<u32, PublishedVersion>,
    next_version: u32,
    aliases: BTreeMap<String, AliasState>,
    reserved: Option<u32>,
    /// Provisioned concurrency by qualifier (alias name or version number).
    provisioned: BTreeMap<String, provisioned::ProvisionedState>,
    environments: HashMap<String, Vec<Environment>>,
    counters: FunctionStats,
    /// Ids, revisions, routing: anything but the workload's noise.
    rng: StdRng,
    /// The workload's noise, one generator per version (and configuration): what a version's
    /// invocations draw depends only on their order at that version, not on how invocations
    /// of several versions interleave or on control-plane calls in between.
    noise: HashMap<String, StdRng>,
    /// Test hook: someone else's UpdateFunctionConfiguration body, waiting for the function to
    /// be at a test size ([`Lab::edit_at_test_size`]).
    edit_at_test_size: Option<Value>,
    /// Test hook: the error rate forced on invocations executing a version
    /// ([`Lab::fail_version`]).
    failing_versions: HashMap<String, f64>,
    /// What became of that edit once it landed: Err holds Lambda's refusal.
    landed_edit: Option<Result<(), String>>,
    /// The code GetFunction hands out: the deployment package or the image.
    code: Code,
    /// The architecture the code was built for; a copy created on the other one runs it
    /// only when the profile is portable.
    built_for: memtune_facts::Architecture,
    /// A function just created is Pending until then, Active after.
    pending_until: Option<Instant>,
}

struct Inner {
    functions: BTreeMap<String, FunctionState>,
    in_flight: u32,
    peak: u32,
    invocations: u64,
    throttles: u64,
    gb_seconds: f64,
    fault_rng: StdRng,
    /// Which profile runs a package (by CodeSha256) or an image (by URI): a function created
    /// with the code of one the lab serves behaves like it.
    code_profiles: HashMap<String, FunctionProfile>,
}

/// The whole simulated account.
pub struct Lab {
    pub account: AccountSettings,
    pub telemetry: Telemetry,
    /// The account and region's S3 buckets (staged deployment packages).
    pub objects: crate::s3::Store,
    pub config: LabConfig,
    inner: Mutex<Inner>,
}

fn now_string() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn random_uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

pub(crate) fn seed_for(seed: u64, name: &str) -> u64 {
    // FNV-1a over the name, mixed with the lab seed: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl Lab {
    pub fn new(config: LabConfig) -> Lab {
        let started_ms = Utc::now().timestamp_millis();
        let telemetry = Telemetry::new(config.seed, started_ms, &config.profiles.functions);
        let mut functions = BTreeMap::new();
        let mut code_profiles = HashMap::new();
        let account = &config.profiles.account;
        for profile in &config.profiles.functions {
            let code = Code::of_profile(profile, account);
            code_profiles.insert(code.key(), profile.clone());
            let state = FunctionState::new(profile.clone(), &config, code, profile.architecture);
            functions.insert(profile.name.clone(), state);
        }
        let lab = Lab {
            account: config.profiles.account.clone(),
            telemetry,
            objects: crate::s3::Store::default(),
            inner: Mutex::new(Inner {
                functions,
                in_flight: 0,
                peak: 0,
                invocations: 0,
                throttles: 0,
                gb_seconds: 0.0,
                fault_rng: StdRng::seed_from_u64(config.seed ^ 0xfa17),
                code_profiles,
            }),
            config,
        };
        crate::environments::publish_production_aliases(&lab);
        crate::live::publish_aliases(&lab);
        lab
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.account.region, self.account.account_id
        )
    }

    /// Simulated seconds as wall time.
    fn scaled(&self, simulated_s: f64) -> Duration {
        Duration::from_secs_f64((simulated_s * self.config.time_scale).max(0.0))
    }

    /// Draws whether a fault happens.
    fn fault(&self, inner: &mut Inner, probability: f64) -> bool {
        probability > 0.0 && inner.fault_rng.random::<f64>() < probability
    }

    /// A 500 ServiceException, when the error5xx fault strikes. Nothing has changed yet.
    pub fn maybe_service_error(&self) -> Result<(), AwsError> {
        let p = self.config.faults.error5xx;
        if p > 0.0 && self.fault(&mut self.lock(), p) {
            return Err(AwsError::service(
                "The lab injected a ServiceException (fault error5xx).",
            ));
        }
        Ok(())
    }

    /// Splits `name` (plain, partial ARN or ARN, with an optional `:qualifier`) and an explicit
    /// qualifier into (function name, qualifier).
    pub fn parse_name(
        &self,
        raw: &str,
        qualifier: Option<&str>,
    ) -> Result<(String, Option<String>), AwsError> {
        let parts: Vec<&str> = raw.split(':').collect();
        let (name, derived) = match parts.as_slice() {
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            [_account, "function", name] => (*name, None),
            [_account, "function", name, q] => (*name, Some(*q)),
            ["arn", _, "lambda", _region, _account, "function", name] => (*name, None),
            ["arn", _, "lambda", _region, _account, "function", name, q] => (*name, Some(*q)),
            _ => {
                return Err(AwsError::invalid(format!(
                    "1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern"
                )))
            }
        };
        if name.is_empty() || name.len() > 64 {
            return Err(AwsError::invalid(format!(
                "Function name '{name}' must be 1 to 64 characters"
            )));
        }
        let qualifier = match (derived, qualifier.filter(|q| !q.is_empty())) {
            (Some(d), Some(q)) if d != q => {
                return Err(AwsError::invalid(
                    "The derived qualifier from the function name does not match the specified qualifier.",
                ))
            }
            (Some(d), _) => Some(d.to_string()),
            (None, q) => q.map(str::to_string),
        };
        Ok((name.to_string(), qualifier))
    }

    fn not_found(&self, name: &str, qualifier: Option<&str>) -> AwsError {
        let arn = match qualifier {
            Some(q) => format!("{}:{q}", self.function_arn(name)),
            None => self.function_arn(name),
        };
        AwsError::not_found(format!("Function not found: {arn}"))
    }

    /// Completes an update whose time has come: invocations of $LATEST now use it.
    fn settle(f: &mut FunctionState) {
        if f.pending_until.is_some_and(|t| Instant::now() >= t) {
            f.pending_until = None;
        }
        if let Some(p) = &f.pending {
            if Instant::now() >= p.done {
                let p = f.pending.take().expect("checked above");
                f.active = p.config;
                f.code_sha256 = p.code_sha256;
                f.code = p.code;
                f.generation += 1;
                // The status change is a new revision, as on Lambda.
                f.revision_id = random_uuid(&mut f.rng);
            }
        }
    }

    fn with_function<T>(
        &self,
        name: &str,
        qualifier: Option<&str>,
        op: impl FnOnce(&Lab, &mut FunctionState) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let mut inner = self.lock();
        let f = inner
            .functions
            .get_mut(name)
            .ok_or_else(|| self.not_found(name, qualifier))?;
        Self::settle(f);
        op(self, f)
    }

    /// Resolves a qualifier ($LATEST, a version number or an alias) to a version key.
    fn resolve(&self, f: &FunctionState, qualifier: Option<&str>) -> Result<String, AwsError> {
        match qualifier {
            None | Some(LATEST) => Ok(LATEST.to_string()),
            Some(q) if q.chars().all(|c| c.is_ascii_digit()) => {
                let n: u32 = q
                    .parse()
                    .map_err(|_| self.not_found(&f.profile.name, Some(q)))?;
                if f.versions.contains_key(&n) {
                    Ok(n.to_string())
                } else {
                    Err(self.not_found(&f.profile.name, Some(q)))
                }
            }
            Some(alias) => f
                .aliases
                .get(alias)
                .map(|a| a.function_version.clone())
                .ok_or_else(|| self.not_found(&f.profile.name, Some(alias))),
        }
    }
}

fn precondition_failed() -> AwsError {
    AwsError::new(
        axum::http::StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
}

fn paginate(
    all: Vec<Value>,
    marker: Option<&str>,
    max_items: Option<usize>,
) -> Result<(Vec<Value>, Option<String>), AwsError> {
    let start = match marker.filter(|m| !m.is_empty()) {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| AwsError::invalid(format!("Invalid marker '{m}'")))?,
    };
    let size = max_items.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE);
    let end = (start + size).min(all.len());
    let next = (end < all.len()).then(|| end.to_string());
    let page = all
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((page, next))
}

fn with_marker(mut doc: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        doc["NextMarker"] = json!(next);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    pub(super) fn lab() -> Lab {
        let fleet = ProfileSet::parse(
            "[[function]]\nname = \"f\"\nmemory_mb = 256\ntimeout_s = 10\n[function.workload]\ncpu_ms = 100.0\nworking_set_mb = 60\n",
            "t.toml",
        )
        .unwrap();
        Lab::new(LabConfig::new(fleet))
    }

    #[test]
    fn names_parse_in_all_forms() {
        let lab = lab();
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f:7";
        assert_eq!(
            lab.parse_name(arn, None).unwrap(),
            ("f".into(), Some("7".into()))
        );
        assert_eq!(
            lab.parse_name("123456789012:function:f", Some("$LATEST"))
                .unwrap(),
            ("f".into(), Some("$LATEST".into()))
        );
        assert!(lab.parse_name("f:1", Some("2")).is_err());
    }

    #[test]
    fn paginate_pages_and_rejects_bad_markers() {
        let all: Vec<Value> = (0..120).map(|i| json!(i)).collect();
        let (page, next) = paginate(all.clone(), None, Some(1000)).unwrap();
        assert_eq!(page.len(), 50);
        assert_eq!(next.as_deref(), Some("50"));
        let (page, next) = paginate(all.clone(), Some("100"), None).unwrap();
        assert_eq!(page.len(), 20);
        assert!(next.is_none());
        assert!(paginate(all, Some("x"), None).is_err());
    }
}
