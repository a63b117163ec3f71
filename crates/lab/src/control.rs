//! The lab's Lambda control and data plane: functions, versions, aliases, the asynchronous
//! configuration updates, concurrency, and execution environments that start cold and are
//! reused warm.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use memtune_facts::report_line::{self, Report, ReportStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use super::aws_error::AwsError;
use super::profiles::{AccountSettings, FunctionProfile, LogFormat};
use super::settings::FunctionSettings;
use super::telemetry::{InvocationRecord, Telemetry};
use super::workload::{Execution, Outcome};
use super::LabConfig;

pub const LATEST: &str = "$LATEST";
/// Lambda keeps this much unreserved concurrency for functions without a reservation.
const MIN_UNRESERVED: u32 = 100;
/// How long an UpdateFunctionConfiguration stays InProgress, in simulated seconds.
const UPDATE_SECONDS: f64 = 1.5;
/// How long a stuck update (fault) stays InProgress, in simulated seconds (floored in wall time).
const STUCK_UPDATE_SECONDS: f64 = 60.0;
/// The shortest wall time an update stays InProgress.
const MIN_UPDATE_WALL: Duration = Duration::from_millis(20);
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
}

/// What $LATEST becomes once an update completes, and when.
struct PendingUpdate {
    config: RunConfig,
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
    /// What became of that edit once it landed: Err holds Lambda's refusal.
    landed_edit: Option<Result<(), String>>,
}

/// Lab-wide counters, as served on `/_lab/stats`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LabStats {
    pub invocations: u64,
    pub throttles: u64,
    pub gb_seconds: f64,
    pub peak_concurrency: u32,
    pub in_flight: u32,
    pub functions: BTreeMap<String, FunctionStats>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FunctionStats {
    pub invocations: u64,
    pub cold_starts: u64,
    pub throttles: u64,
    pub gb_seconds: f64,
    pub peak_concurrency: u32,
    pub in_flight: u32,
    /// Versions PublishVersion created (a version handed back unchanged is not counted).
    pub versions_published: u64,
}

struct Inner {
    functions: BTreeMap<String, FunctionState>,
    in_flight: u32,
    peak: u32,
    invocations: u64,
    throttles: u64,
    gb_seconds: f64,
    fault_rng: StdRng,
}

/// The whole simulated account.
pub struct Lab {
    pub account: AccountSettings,
    pub telemetry: Telemetry,
    pub config: LabConfig,
    inner: Mutex<Inner>,
}

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
    /// Wall time to hold the environment busy.
    pub hold: Duration,
}

impl Reservation {
    /// The version that runs: `$LATEST` or a number.
    pub fn version(&self) -> &str {
        &self.version
    }
}

fn now_string() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn random_uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

fn code_sha256(name: &str, generation: u64) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{name}:{generation}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

fn seed_for(seed: u64, name: &str) -> u64 {
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
        for profile in &config.profiles.functions {
            let mut rng = StdRng::seed_from_u64(seed_for(config.seed, &profile.name));
            let active = RunConfig {
                memory_mb: profile.memory_mb,
                timeout_s: profile.timeout_s,
                description: profile.description.clone(),
                log_format: profile.log_format,
                system_log_level: None,
                application_log_level: None,
                settings: FunctionSettings::initial(profile, &config.profiles.account.account_id),
            };
            let state = FunctionState {
                active,
                pending: None,
                generation: 0,
                revision_id: random_uuid(&mut rng),
                last_modified: now_string(),
                code_sha256: code_sha256(&profile.name, 0),
                versions: BTreeMap::new(),
                next_version: 1,
                aliases: BTreeMap::new(),
                reserved: profile.reserved_concurrency,
                environments: HashMap::new(),
                counters: FunctionStats::default(),
                rng,
                noise: HashMap::new(),
                edit_at_test_size: None,
                landed_edit: None,
                profile: profile.clone(),
            };
            functions.insert(profile.name.clone(), state);
        }
        Lab {
            account: config.profiles.account.clone(),
            telemetry,
            inner: Mutex::new(Inner {
                functions,
                in_flight: 0,
                peak: 0,
                invocations: 0,
                throttles: 0,
                gb_seconds: 0.0,
                fault_rng: StdRng::seed_from_u64(config.seed ^ 0xfa17),
            }),
            config,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> LabStats {
        let inner = self.lock();
        LabStats {
            invocations: inner.invocations,
            throttles: inner.throttles,
            gb_seconds: inner.gb_seconds,
            peak_concurrency: inner.peak,
            in_flight: inner.in_flight,
            functions: inner
                .functions
                .iter()
                .map(|(k, f)| (k.clone(), f.counters.clone()))
                .collect(),
        }
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

    // ---- configuration documents -------------------------------------------------------

    fn configuration_json(&self, f: &FunctionState, version: &str) -> Value {
        let name = &f.profile.name;
        let (config, revision, modified, sha, status, arn, version_description) =
            if version == LATEST {
                let (config, sha, status) = match &f.pending {
                    Some(p) if Instant::now() < p.done => (&p.config, &p.code_sha256, "InProgress"),
                    Some(p) => (&p.config, &p.code_sha256, "Successful"),
                    None => (&f.active, &f.code_sha256, "Successful"),
                };
                (
                    config,
                    &f.revision_id,
                    &f.last_modified,
                    sha,
                    status,
                    self.function_arn(name),
                    None,
                )
            } else {
                let n: u32 = version.parse().unwrap_or(0);
                let v = &f.versions[&n];
                (
                    &v.config,
                    &v.revision_id,
                    &v.last_modified,
                    &v.code_sha256,
                    "Successful",
                    format!("{}:{version}", self.function_arn(name)),
                    Some(&v.description),
                )
            };
        let p = &f.profile;
        let mut logging = json!({
            "LogFormat": config.log_format.as_str(),
            "LogGroup": format!("/aws/lambda/{name}"),
        });
        if config.log_format == LogFormat::Json {
            logging["ApplicationLogLevel"] =
                json!(config.application_log_level.as_deref().unwrap_or("INFO"));
            logging["SystemLogLevel"] = json!(config.system_log_level.as_deref().unwrap_or("INFO"));
        }
        let mut doc = json!({
            "FunctionName": name,
            "FunctionArn": arn,
            "CodeSize": 4096,
            "Description": version_description.unwrap_or(&config.description),
            "Timeout": config.timeout_s,
            "MemorySize": config.memory_mb,
            "LastModified": modified,
            "CodeSha256": sha,
            "Version": version,
            "RevisionId": revision,
            "State": "Active",
            "LastUpdateStatus": status,
            "PackageType": p.package_type,
            "Architectures": [p.architecture.as_str()],
            "LoggingConfig": logging,
        });
        config.settings.write(&mut doc, version != LATEST);
        if p.package_type == "Zip" {
            doc["Runtime"] = json!(p.runtime);
        }
        if status == "InProgress" {
            doc["LastUpdateStatusReason"] = json!("The function is being updated.");
            doc["LastUpdateStatusReasonCode"] = json!("Creating");
        }
        doc
    }

    /// Completes an update whose time has come: invocations of $LATEST now use it.
    fn settle(f: &mut FunctionState) {
        if let Some(p) = &f.pending {
            if Instant::now() >= p.done {
                let p = f.pending.take().expect("checked above");
                f.active = p.config;
                f.code_sha256 = p.code_sha256;
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

    pub fn get_function_configuration(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Value, AwsError> {
        self.land_edit_at_test_size(name);
        self.with_function(name, qualifier, |lab, f| {
            let version = lab.resolve(f, qualifier)?;
            Ok(lab.configuration_json(f, &version))
        })
    }

    /// Test hook (not an AWS API): the first time `name` is read with GetFunctionConfiguration
    /// while its update has settled at a memory other than the one it started with (a tuner
    /// has it at a test size), `edit` lands first, as an UpdateFunctionConfiguration from
    /// someone else (no RevisionId): the colleague who changes a function mid-sweep, at the
    /// worst moment, every time. [`Lab::landed_edit`] says whether Lambda took it.
    pub fn edit_at_test_size(&self, name: &str, edit: Value) -> Result<(), AwsError> {
        self.with_function(name, None, |_, f| {
            f.edit_at_test_size = Some(edit);
            f.landed_edit = None;
            Ok(())
        })
    }

    /// Whether the [`Lab::edit_at_test_size`] edit has landed, and Lambda's refusal if any.
    pub fn landed_edit(&self, name: &str) -> Option<Result<(), String>> {
        let inner = self.lock();
        inner.functions.get(name)?.landed_edit.clone()
    }

    fn land_edit_at_test_size(&self, name: &str) {
        let due = self.with_function(name, None, |_, f| {
            let at_test_size = f.pending.is_none() && f.active.memory_mb != f.profile.memory_mb;
            Ok(f.edit_at_test_size.take_if(|_| at_test_size))
        });
        if let Ok(Some(edit)) = due {
            let landed = self
                .update_function_configuration(name, &edit)
                .map(|_| ())
                .map_err(|e| format!("{}: {}", e.code, e.message));
            let mut inner = self.lock();
            if let Some(f) = inner.functions.get_mut(name) {
                f.landed_edit = Some(landed);
            }
        }
    }

    pub fn get_function(&self, name: &str, qualifier: Option<&str>) -> Result<Value, AwsError> {
        self.with_function(name, qualifier, |lab, f| {
            let version = lab.resolve(f, qualifier)?;
            let mut doc = json!({
                "Configuration": lab.configuration_json(f, &version),
                "Code": {
                    "RepositoryType": "S3",
                    "Location": format!("https://awslambda-{}-tasks.s3.{}.amazonaws.com/snapshots/{}/{}",
                        lab.account.region, lab.account.region, lab.account.account_id, f.profile.name),
                },
                "Tags": f.profile.tags,
            });
            if let Some(r) = f.reserved {
                doc["Concurrency"] = json!({ "ReservedConcurrentExecutions": r });
            }
            Ok(doc)
        })
    }

    /// A mutation of $LATEST needs no update in progress (409) and, when the caller sends a
    /// RevisionId, the current one (412).
    fn check_mutable(&self, f: &FunctionState, body: &Value) -> Result<(), AwsError> {
        if f.pending.is_some() {
            return Err(AwsError::conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.function_arn(&f.profile.name)
            )));
        }
        match body.get("RevisionId").and_then(Value::as_str) {
            Some(rev) if rev != f.revision_id => Err(precondition_failed()),
            _ => Ok(()),
        }
    }

    pub fn update_function_configuration(
        &self,
        name: &str,
        body: &Value,
    ) -> Result<Value, AwsError> {
        let stuck = self.config.faults.stuck_update;
        let stuck = stuck > 0.0 && self.fault(&mut self.lock(), stuck);
        self.with_function(name, None, |lab, f| {
            lab.check_mutable(f, body)?;
            let mut config = f.active.clone();
            // The HTTP layer checked types and ranges (lab::validation).
            if let Some(m) = body.get("MemorySize").and_then(Value::as_u64) {
                config.memory_mb = m as u32;
            }
            if let Some(t) = body.get("Timeout").and_then(Value::as_u64) {
                config.timeout_s = t as u32;
            }
            if let Some(d) = body.get("Description").and_then(Value::as_str) {
                config.description = d.to_string();
            }
            if let Some(logging) = body.get("LoggingConfig") {
                match logging.get("LogFormat").and_then(Value::as_str) {
                    Some("Text") => config.log_format = LogFormat::Text,
                    Some("JSON") => config.log_format = LogFormat::Json,
                    Some(other) => {
                        return Err(AwsError::invalid(format!(
                            "Unsupported LogFormat '{other}'"
                        )))
                    }
                    None => {}
                }
                if let Some(level) = logging.get("SystemLogLevel").and_then(Value::as_str) {
                    config.system_log_level = Some(level.to_string());
                }
                if let Some(level) = logging.get("ApplicationLogLevel").and_then(Value::as_str) {
                    config.application_log_level = Some(level.to_string());
                }
                if config.log_format == LogFormat::Text
                    && (config.system_log_level.is_some() || config.application_log_level.is_some())
                {
                    return Err(AwsError::invalid(
                        "Log levels can only be set when LogFormat is JSON.",
                    ));
                }
            }
            config.settings.update(body, &f.profile)?;
            let code_sha256 = f.code_sha256.clone();
            Ok(lab.start_update(f, config, code_sha256, stuck))
        })
    }

    /// UpdateFunctionCode: new code from `ZipFile` (base64) or an S3 object; CodeSha256 is
    /// base64(sha256) of the package (of the S3 location, which the lab does not fetch).
    pub fn update_function_code(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        use sha2::Digest;
        let zip = body.get("ZipFile").and_then(Value::as_str);
        let s3 = ["S3Bucket", "S3Key", "S3ObjectVersion"]
            .map(|k| body.get(k).and_then(Value::as_str).unwrap_or(""));
        let package =
            match (zip, s3[0].is_empty() || s3[1].is_empty()) {
                (Some(b64), true) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| AwsError::invalid("ZipFile is not valid base64"))?,
                (None, false) => s3.join("/").into_bytes(),
                _ => return Err(AwsError::invalid(
                    "Please provide a source for function code: ZipFile, or S3Bucket and S3Key.",
                )),
            };
        if package.is_empty() {
            return Err(AwsError::invalid("Uploaded file must be a non-empty zip"));
        }
        let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&package));
        let stuck = self.config.faults.stuck_update;
        let stuck = stuck > 0.0 && self.fault(&mut self.lock(), stuck);
        self.with_function(name, None, |lab, f| {
            lab.check_mutable(f, body)?;
            let config = f.active.clone();
            Ok(lab.start_update(f, config, sha, stuck))
        })
    }

    /// Starts an asynchronous update of $LATEST: InProgress now, Successful after a while.
    fn start_update(
        &self,
        f: &mut FunctionState,
        config: RunConfig,
        code_sha256: String,
        stuck: bool,
    ) -> Value {
        let seconds = if stuck {
            STUCK_UPDATE_SECONDS
        } else {
            UPDATE_SECONDS
        };
        // Even at time scale 0 the update is InProgress for a moment, as on Lambda, whose
        // update responses always say InProgress.
        let floor = if stuck {
            Duration::from_secs(2)
        } else {
            MIN_UPDATE_WALL
        };
        let wait = self.scaled(seconds).max(floor);
        f.pending = Some(PendingUpdate {
            config,
            code_sha256,
            done: Instant::now() + wait,
        });
        f.revision_id = random_uuid(&mut f.rng);
        f.last_modified = now_string();
        self.configuration_json(f, LATEST)
    }

    pub fn publish_version(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            lab.check_mutable(f, body)?;
            if let Some(sha) = body.get("CodeSha256").and_then(Value::as_str) {
                if sha != f.code_sha256 {
                    return Err(AwsError::invalid(format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                        f.code_sha256
                    )));
                }
            }
            // Lambda publishes nothing new when neither code nor configuration changed since
            // the last version: it returns that version.
            if let Some((n, last)) = f.versions.iter().next_back() {
                if last.config == f.active && last.code_sha256 == f.code_sha256 {
                    let n = n.to_string();
                    return Ok(lab.configuration_json(f, &n));
                }
            }
            let n = f.next_version;
            f.next_version += 1;
            let description = body
                .get("Description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let revision_id = random_uuid(&mut f.rng);
            f.counters.versions_published += 1;
            f.versions.insert(
                n,
                PublishedVersion {
                    config: f.active.clone(),
                    code_sha256: f.code_sha256.clone(),
                    revision_id,
                    last_modified: now_string(),
                    description,
                },
            );
            Ok(lab.configuration_json(f, &n.to_string()))
        })
    }

    pub fn list_versions(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let mut all = vec![lab.configuration_json(f, LATEST)];
            all.extend(
                f.versions
                    .keys()
                    .map(|n| lab.configuration_json(f, &n.to_string())),
            );
            let (page, next) = paginate(all, marker, max_items)?;
            Ok(with_marker(json!({ "Versions": page }), next))
        })
    }

    pub fn delete_function(&self, name: &str, qualifier: Option<&str>) -> Result<(), AwsError> {
        let mut inner = self.lock();
        let Some(f) = inner.functions.get_mut(name) else {
            return Err(self.not_found(name, qualifier));
        };
        match qualifier {
            None => {
                inner.functions.remove(name);
                Ok(())
            }
            Some(LATEST) => Err(AwsError::invalid(
                "$LATEST version cannot be deleted without deleting the function.",
            )),
            Some(q) => {
                let n: u32 = q.parse().map_err(|_| {
                    AwsError::invalid(format!(
                        "Invalid version '{q}': delete aliases with DeleteAlias."
                    ))
                })?;
                if !f.versions.contains_key(&n) {
                    return Err(self.not_found(name, Some(q)));
                }
                let users: Vec<&String> = f
                    .aliases
                    .iter()
                    .filter(|(_, a)| {
                        a.function_version == q || a.routing.as_ref().is_some_and(|(v, _)| v == q)
                    })
                    .map(|(k, _)| k)
                    .collect();
                if !users.is_empty() {
                    return Err(AwsError::conflict(format!(
                        "Unable to delete version because the following aliases reference it: {users:?}"
                    )));
                }
                f.versions.remove(&n);
                f.environments.remove(q);
                Ok(())
            }
        }
    }

    // ---- aliases ----------------------------------------------------------------------

    fn alias_json(&self, name: &str, alias: &str, a: &AliasState) -> Value {
        let mut doc = json!({
            "AliasArn": format!("{}:{alias}", self.function_arn(name)),
            "Name": alias,
            "FunctionVersion": a.function_version,
            "Description": a.description,
            "RevisionId": a.revision_id,
        });
        if let Some((v, w)) = &a.routing {
            doc["RoutingConfig"] = json!({ "AdditionalVersionWeights": { v.clone(): w } });
        }
        doc
    }

    fn check_version(&self, f: &FunctionState, version: &str) -> Result<(), AwsError> {
        if version == LATEST {
            return Ok(());
        }
        match version.parse::<u32>() {
            Ok(n) if f.versions.contains_key(&n) => Ok(()),
            _ => Err(self.not_found(&f.profile.name, Some(version))),
        }
    }

    fn parse_routing(
        &self,
        f: &FunctionState,
        body: &Value,
    ) -> Result<Option<Option<(String, f64)>>, AwsError> {
        let Some(routing) = body.get("RoutingConfig") else {
            return Ok(None);
        };
        let weights = routing
            .get("AdditionalVersionWeights")
            .and_then(Value::as_object);
        match weights.map(|w| w.iter().collect::<Vec<_>>()) {
            None => Ok(Some(None)),
            Some(w) if w.is_empty() => Ok(Some(None)),
            Some(w) if w.len() == 1 => {
                // The HTTP layer checked the weight is a number within 0..=1.
                let (v, weight) = w[0];
                let weight = weight.as_f64().unwrap_or_default();
                self.check_version(f, v)?;
                Ok(Some(Some((v.clone(), weight))))
            }
            Some(_) => Err(AwsError::invalid(
                "Only one additional version can be specified in RoutingConfig",
            )),
        }
    }

    pub fn create_alias(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            // The HTTP layer checked the name's pattern (lab::validation).
            let alias = body.get("Name").and_then(Value::as_str).unwrap_or("");
            let version = body
                .get("FunctionVersion")
                .and_then(Value::as_str)
                .ok_or_else(|| AwsError::invalid("FunctionVersion is required"))?;
            lab.check_version(f, version)?;
            if f.aliases.contains_key(alias) {
                return Err(AwsError::conflict(format!(
                    "Alias already exists: {}:{alias}",
                    lab.function_arn(name)
                )));
            }
            let routing = lab.parse_routing(f, body)?.flatten();
            let state = AliasState {
                function_version: version.to_string(),
                description: body
                    .get("Description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                revision_id: random_uuid(&mut f.rng),
                routing,
            };
            let doc = lab.alias_json(name, alias, &state);
            f.aliases.insert(alias.to_string(), state);
            Ok(doc)
        })
    }

    pub fn get_alias(&self, name: &str, alias: &str) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let a = f
                .aliases
                .get(alias)
                .ok_or_else(|| alias_not_found(lab, name, alias))?;
            Ok(lab.alias_json(name, alias, a))
        })
    }

    pub fn update_alias(&self, name: &str, alias: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            if !f.aliases.contains_key(alias) {
                return Err(alias_not_found(lab, name, alias));
            }
            if let Some(v) = body.get("FunctionVersion").and_then(Value::as_str) {
                lab.check_version(f, v)?;
            }
            let routing = lab.parse_routing(f, body)?;
            let new_revision = random_uuid(&mut f.rng);
            let a = f.aliases.get_mut(alias).expect("checked above");
            if let Some(rev) = body.get("RevisionId").and_then(Value::as_str) {
                if rev != a.revision_id {
                    return Err(precondition_failed());
                }
            }
            if let Some(v) = body.get("FunctionVersion").and_then(Value::as_str) {
                a.function_version = v.to_string();
            }
            if let Some(d) = body.get("Description").and_then(Value::as_str) {
                a.description = d.to_string();
            }
            if let Some(r) = routing {
                a.routing = r;
            }
            a.revision_id = new_revision;
            Ok(lab.alias_json(name, alias, a))
        })
    }

    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<(), AwsError> {
        self.with_function(name, None, |lab, f| {
            // Lambda answers 204 for an alias that does not exist.
            let _ = lab;
            f.aliases.remove(alias);
            Ok(())
        })
    }

    pub fn list_aliases(
        &self,
        name: &str,
        function_version: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let all: Vec<Value> = f
                .aliases
                .iter()
                .filter(|(_, a)| function_version.is_none_or(|v| a.function_version == v))
                .map(|(k, a)| lab.alias_json(name, k, a))
                .collect();
            let (page, next) = paginate(all, marker, max_items)?;
            Ok(with_marker(json!({ "Aliases": page }), next))
        })
    }

    // ---- listing, tags, account, concurrency ------------------------------------------

    pub fn list_functions(
        &self,
        all_versions: bool,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        let mut inner = self.lock();
        let mut all = Vec::new();
        for f in inner.functions.values_mut() {
            Self::settle(f);
            all.push(self.configuration_json(f, LATEST));
            if all_versions {
                for n in f.versions.keys() {
                    all.push(self.configuration_json(f, &n.to_string()));
                }
            }
        }
        let (page, next) = paginate(all, marker, max_items)?;
        Ok(with_marker(json!({ "Functions": page }), next))
    }

    pub fn list_tags(&self, resource: &str) -> Result<Value, AwsError> {
        let prefix = format!(
            "arn:aws:lambda:{}:{}:function:",
            self.account.region, self.account.account_id
        );
        let name = resource.strip_prefix(&prefix).ok_or_else(|| {
            AwsError::invalid(format!(
                "1 validation error detected: Value '{resource}' at 'resource' failed to satisfy constraint: Member must be a function ARN in this account and region"
            ))
        })?;
        if name.contains(':') {
            return Err(AwsError::invalid(
                "Tags are not supported on qualified ARNs; use the unqualified function ARN.",
            ));
        }
        self.with_function(name, None, |_, f| Ok(json!({ "Tags": f.profile.tags })))
    }

    pub fn account_settings(&self) -> Value {
        let inner = self.lock();
        let reserved: u32 = inner.functions.values().filter_map(|f| f.reserved).sum();
        let limit = self.account.concurrent_executions;
        json!({
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800u64,
                "CodeSizeUnzipped": 262_144_000u64,
                "CodeSizeZipped": 52_428_800u64,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit.saturating_sub(reserved),
            },
            "AccountUsage": {
                "TotalCodeSize": 4096 * inner.functions.len() as u64,
                "FunctionCount": inner.functions.len(),
            }
        })
    }

    pub fn get_function_concurrency(&self, name: &str) -> Result<Value, AwsError> {
        self.with_function(name, None, |_, f| {
            Ok(match f.reserved {
                Some(r) => json!({ "ReservedConcurrentExecutions": r }),
                None => json!({}),
            })
        })
    }

    pub fn put_function_concurrency(
        &self,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<Value, AwsError> {
        let mut inner = self.lock();
        let others: u32 = inner
            .functions
            .iter()
            .filter(|(k, _)| k.as_str() != name)
            .filter_map(|(_, f)| f.reserved)
            .sum();
        let limit = self.account.concurrent_executions;
        let f = inner
            .functions
            .get_mut(name)
            .ok_or_else(|| self.not_found(name, None))?;
        if let Some(r) = reserved {
            if others + r + MIN_UNRESERVED > limit {
                return Err(AwsError::invalid(format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
                )));
            }
        }
        f.reserved = reserved;
        Ok(json!({ "ReservedConcurrentExecutions": reserved }))
    }

    // ---- invoke -----------------------------------------------------------------------

    /// Checks concurrency, picks (or starts) an execution environment and draws the
    /// execution. The environment stays busy until [`Lab::finish`].
    pub fn reserve(&self, name: &str, qualifier: Option<&str>) -> Result<Reservation, AwsError> {
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
        let mut version = self.resolve(f, qualifier)?;
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
            self.telemetry
                .record_throttle(name, Utc::now().timestamp_millis());
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
        let pool = f.environments.entry(version.clone()).or_default();
        pool.retain(|e| {
            e.busy || (e.generation == generation && now.duration_since(e.last_used) < idle_limit)
        });
        let (env_index, cold) = match pool.iter().position(|e| !e.busy) {
            Some(i) => (i, false),
            None => {
                let stream = format!(
                    "{}/[{}]{:032x}",
                    Utc::now().format("%Y/%m/%d"),
                    version,
                    f.rng.random::<u128>()
                );
                pool.push(Environment {
                    busy: false,
                    last_used: now,
                    generation,
                    stream,
                });
                (pool.len() - 1, true)
            }
        };
        pool[env_index].busy = true;
        let stream = pool[env_index].stream.clone();
        let architecture = f.profile.architecture;
        let noise_key = format!(
            "{}:{version}:{}:{generation}",
            f.profile.name, config.memory_mb
        );
        let seed = self.config.seed;
        let noise = f
            .noise
            .entry(noise_key)
            .or_insert_with_key(|key| StdRng::seed_from_u64(seed_for(seed, key)));
        let execution = f.profile.workload.execute(
            config.memory_mb,
            architecture,
            config.timeout_s as f64 * 1000.0,
            cold,
            noise,
        );
        let request_id = random_uuid(&mut f.rng);
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
            hold,
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

    /// Whether a function exists (DryRun, Event).
    pub fn check_invocable(&self, name: &str, qualifier: Option<&str>) -> Result<String, AwsError> {
        self.with_function(name, qualifier, |lab, f| lab.resolve(f, qualifier))
    }
}

fn precondition_failed() -> AwsError {
    AwsError::new(
        axum::http::StatusCode::PRECONDITION_FAILED,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
}

fn alias_not_found(lab: &Lab, name: &str, alias: &str) -> AwsError {
    AwsError::not_found(format!(
        "Alias not found: {}:{alias}",
        lab.function_arn(name)
    ))
}

/// Billed duration: handler time plus INIT on a cold start (INIT is billed for all on-demand
/// functions since 2025-08-01), rounded up to the next millisecond.
fn billed_ms(e: &Execution) -> u64 {
    (e.duration_ms + e.init_ms.unwrap_or(0.0)).ceil().max(1.0) as u64
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

/// What the function returns: a small JSON document, or Lambda's error payload.
fn payload_for(r: &Reservation) -> (bool, String) {
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
            let mut lines = vec![format!("START RequestId: {id} Version: {}\n", r.version)];
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
            vec![
                json!({"time": ts, "type": "platform.start", "record": {"requestId": id, "version": r.version}}).to_string() + "\n",
                report_line::json_event(&report, &ts),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn lab() -> Lab {
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
    fn reserved_concurrency_throttles() {
        let lab = lab();
        lab.put_function_concurrency("f", Some(1)).unwrap();
        let r = lab.reserve("f", None).unwrap();
        let e = lab.reserve("f", None).err().unwrap();
        assert_eq!(e.code, "TooManyRequestsException");
        lab.finish(r, false);
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
