//! Functions and their configuration: the configuration documents, the asynchronous
//! configuration and code updates of $LATEST, deletion, listing and tags.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::{
    now_string, paginate, precondition_failed, random_uuid, with_marker, Code, FunctionState, Lab,
    PendingUpdate, RunConfig, LATEST,
};
use crate::aws_error::AwsError;
use crate::profiles::LogFormat;

/// How long an UpdateFunctionConfiguration stays InProgress, in simulated seconds.
const UPDATE_SECONDS: f64 = 1.5;
/// How long a stuck update (fault) stays InProgress, in simulated seconds (floored in wall time).
const STUCK_UPDATE_SECONDS: f64 = 60.0;
/// The shortest wall time an update stays InProgress.
const MIN_UPDATE_WALL: Duration = Duration::from_millis(20);

impl Lab {
    pub(super) fn configuration_json(&self, f: &FunctionState, version: &str) -> Value {
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
            "CodeSize": f.code.size(),
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
        f.write_state(&mut doc);
        f.write_version_state(version, &mut doc);
        if p.package_type == "Zip" {
            doc["Runtime"] = json!(p.runtime);
        }
        if status == "InProgress" {
            doc["LastUpdateStatusReason"] = json!("The function is being updated.");
            doc["LastUpdateStatusReasonCode"] = json!("Creating");
        }
        doc
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

    /// GetFunction; `code_base` is the lab's own address, where the package can be downloaded.
    pub fn get_function(
        &self,
        name: &str,
        qualifier: Option<&str>,
        code_base: &str,
    ) -> Result<Value, AwsError> {
        // memtune polls an update with GetFunction where IAM allows it: someone else's edit
        // lands on either read.
        self.land_edit_at_test_size(name);
        self.with_function(name, qualifier, |lab, f| {
            let version = lab.resolve(f, qualifier)?;
            let mut doc = json!({
                "Configuration": lab.configuration_json(f, &version),
                "Code": lab.code_location(f, code_base),
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
    pub(super) fn check_mutable(&self, f: &FunctionState, body: &Value) -> Result<(), AwsError> {
        f.check_active()?;
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
                Self::apply_logging(&mut config, logging)?;
            }
            config.settings.update(body, &f.profile)?;
            let code = f.code.clone();
            Ok(lab.start_update(f, config, code, stuck))
        })
    }

    /// Applies a `LoggingConfig` (UpdateFunctionConfiguration, CreateFunction).
    pub(super) fn apply_logging(config: &mut RunConfig, logging: &Value) -> Result<(), AwsError> {
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
        Ok(())
    }

    /// UpdateFunctionCode: new code from `ZipFile` (base64) or an object in the lab's S3;
    /// CodeSha256 is base64(sha256) of the package.
    pub fn update_function_code(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        let zip = body.get("ZipFile").and_then(Value::as_str);
        let s3 = ["S3Bucket", "S3Key", "S3ObjectVersion"]
            .map(|k| body.get(k).and_then(Value::as_str).unwrap_or(""));
        let package =
            match (zip, s3[0].is_empty() || s3[1].is_empty()) {
                (Some(b64), true) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| AwsError::invalid("ZipFile is not valid base64"))?,
                (None, false) => super::create::s3_package(&self.objects, s3[0], s3[1])?.to_vec(),
                _ => return Err(AwsError::invalid(
                    "Please provide a source for function code: ZipFile, or S3Bucket and S3Key.",
                )),
            };
        if package.is_empty() {
            return Err(AwsError::invalid("Uploaded file must be a non-empty zip"));
        }
        let code = Code::Zip(package.into());
        let stuck = self.config.faults.stuck_update;
        let stuck = stuck > 0.0 && self.fault(&mut self.lock(), stuck);
        {
            // A function created from this code later behaves like this one.
            let mut inner = self.lock();
            if let Some(profile) = inner.functions.get(name).map(|f| f.profile.clone()) {
                inner.code_profiles.entry(code.key()).or_insert(profile);
            }
        }
        self.with_function(name, None, |lab, f| {
            lab.check_mutable(f, body)?;
            let config = f.active.clone();
            Ok(lab.start_update(f, config, code, stuck))
        })
    }

    /// Starts an asynchronous update of $LATEST: InProgress now, Successful after a while.
    fn start_update(
        &self,
        f: &mut FunctionState,
        config: RunConfig,
        code: Code,
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
            code_sha256: code.sha256(),
            code,
            done: Instant::now() + wait,
        });
        f.revision_id = random_uuid(&mut f.rng);
        f.last_modified = now_string();
        self.configuration_json(f, LATEST)
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
                f.provisioned.remove(q);
                Ok(())
            }
        }
    }

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
        let name = self.tagged_name(resource)?;
        self.with_function(name, None, |_, f| Ok(json!({ "Tags": f.profile.tags })))
    }

    /// TagResource: adds `tags` (a JSON object of strings) to the function, replacing the
    /// values of keys it has.
    pub fn tag_resource(&self, resource: &str, tags: &Value) -> Result<(), AwsError> {
        let name = self.tagged_name(resource)?;
        let mut inner = self.lock();
        let f = inner
            .functions
            .get_mut(name)
            .ok_or_else(|| self.not_found(name, None))?;
        for (key, value) in tags.as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default().to_string();
            f.profile.tags.insert(key.clone(), value);
        }
        Ok(())
    }

    /// The function a tagging request's ARN names: unqualified, in this account and region.
    fn tagged_name<'a>(&self, resource: &'a str) -> Result<&'a str, AwsError> {
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
        Ok(name)
    }
}
