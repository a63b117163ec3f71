//! Whole functions: CreateFunction (a .zip package or a container image), the code GetFunction
//! hands out, the Pending state a new function is in before it turns Active, and the INIT
//! failure of code run on an architecture it was not built for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use memtune_facts::Architecture;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use super::{now_string, random_uuid, seed_for, FunctionState, Lab, RunConfig, LATEST};
use crate::aws_error::AwsError;
use crate::profiles::{AccountSettings, FunctionProfile, Traffic};
use crate::s3::Store;
use crate::settings::FunctionSettings;
use crate::workload::Workload;
use crate::LabConfig;

/// How long a new function stays Pending, in simulated seconds.
const CREATE_SECONDS: f64 = 1.0;
/// The shortest wall time a new function stays Pending.
const MIN_CREATE_WALL: Duration = Duration::from_millis(20);
/// What code the lab has never served runs: a small CPU-bound handler.
const UNKNOWN_CODE_CPU_MS: f64 = 50.0;

/// A function's code as Lambda keeps it.
#[derive(Debug, Clone, PartialEq)]
pub enum Code {
    /// A .zip deployment package (or, for an S3 source the lab cannot fetch, its location).
    Zip(Arc<[u8]>),
    /// A container image URI.
    Image(String),
}

/// The deployment package the lab serves for a profile function: a valid, empty .zip archive
/// whose comment names the function, so that each function has its own CodeSha256.
pub fn lab_package(name: &str) -> Vec<u8> {
    let comment = format!("memtune-lab:{name}");
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend_from_slice(&[0; 16]);
    zip.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    zip.extend_from_slice(comment.as_bytes());
    zip
}

/// A valid .zip archive of about `bytes` bytes: one stored (uncompressed) entry of zeros,
/// with the archive comment naming the function as [`lab_package`]'s does.
pub fn padded_package(name: &str, bytes: usize) -> Vec<u8> {
    const ENTRY: &[u8] = b"padding.bin";
    let comment = format!("memtune-lab:{name}");
    let size = bytes.saturating_sub(98 + 2 * ENTRY.len() + comment.len()) as u32;
    let data = vec![0u8; size as usize];
    let crc = crc32fast::hash(&data);
    // The fields after version-needed: flags, method 0 (stored), time, date, CRC, sizes, name.
    let fields = |zip: &mut Vec<u8>| {
        for v in [0u16, 0, 0, 0] {
            zip.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            zip.extend_from_slice(&v.to_le_bytes());
        }
        zip.extend_from_slice(&(ENTRY.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
    };
    let mut zip = b"PK\x03\x04\x14\x00".to_vec();
    fields(&mut zip);
    zip.extend_from_slice(ENTRY);
    zip.extend_from_slice(&data);
    let directory_at = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00");
    fields(&mut zip);
    // Comment length, disk, internal and external attributes, local header offset.
    zip.extend_from_slice(&[0; 14]);
    zip.extend_from_slice(ENTRY);
    let directory_len = zip.len() as u32 - directory_at;
    zip.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    zip.extend_from_slice(&directory_len.to_le_bytes());
    zip.extend_from_slice(&directory_at.to_le_bytes());
    zip.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    zip.extend_from_slice(comment.as_bytes());
    zip
}

impl Code {
    pub fn of_profile(profile: &FunctionProfile, account: &AccountSettings) -> Code {
        match profile.package_type.as_str() {
            "Image" => Code::Image(format!(
                "{}.dkr.ecr.{}.amazonaws.com/{}:latest",
                account.account_id, account.region, profile.name
            )),
            _ => Code::Zip(
                match profile.code_mb {
                    Some(mb) => padded_package(&profile.name, mb as usize * 1024 * 1024),
                    None => lab_package(&profile.name),
                }
                .into(),
            ),
        }
    }

    /// Lambda's CodeSha256: base64 of the package's SHA-256, or the image digest in hex.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        match self {
            Code::Zip(bytes) => {
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
            }
            Code::Image(uri) => sha2::Sha256::digest(uri.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        }
    }

    pub fn size(&self) -> usize {
        match self {
            Code::Zip(bytes) => bytes.len(),
            Code::Image(_) => 0,
        }
    }

    /// What identifies the code across functions.
    pub(super) fn key(&self) -> String {
        match self {
            Code::Zip(_) => format!("zip:{}", self.sha256()),
            Code::Image(uri) => format!("image:{uri}"),
        }
    }
}

impl FunctionState {
    pub(super) fn new(
        profile: FunctionProfile,
        config: &LabConfig,
        code: Code,
        built_for: Architecture,
    ) -> FunctionState {
        let mut rng = StdRng::seed_from_u64(seed_for(config.seed, &profile.name));
        let active = RunConfig {
            memory_mb: profile.memory_mb,
            timeout_s: profile.timeout_s,
            description: profile.description.clone(),
            log_format: profile.log_format,
            system_log_level: None,
            application_log_level: None,
            settings: FunctionSettings::initial(&profile, &config.profiles.account.account_id),
        };
        FunctionState {
            active,
            pending: None,
            generation: 0,
            revision_id: random_uuid(&mut rng),
            last_modified: now_string(),
            code_sha256: code.sha256(),
            versions: BTreeMap::new(),
            next_version: 1,
            aliases: BTreeMap::new(),
            reserved: profile.reserved_concurrency,
            provisioned: BTreeMap::new(),
            environments: HashMap::new(),
            counters: Default::default(),
            rng,
            noise: HashMap::new(),
            edit_at_test_size: None,
            failing_versions: HashMap::new(),
            landed_edit: None,
            code,
            built_for,
            pending_until: None,
            profile,
        }
    }

    /// Pending (just created) functions can be neither invoked nor changed.
    pub(super) fn check_active(&self) -> Result<(), AwsError> {
        if self.is_pending() {
            return Err(AwsError::conflict(
                "The operation cannot be performed at this time. The function is currently in the following state: Pending",
            ));
        }
        Ok(())
    }

    pub(super) fn is_pending(&self) -> bool {
        self.pending_until.is_some_and(|t| Instant::now() < t)
    }

    /// Why INIT fails on this function, as (errorType, errorMessage): code with a native
    /// dependency run on the architecture it was not built for.
    pub(super) fn init_failure(&self) -> Option<(&'static str, String)> {
        if self.profile.portable || self.profile.architecture == self.built_for {
            return None;
        }
        let custom =
            self.profile.package_type == "Image" || self.profile.runtime.starts_with("provided");
        Some(if custom {
            (
                "Runtime.InvalidEntrypoint",
                "Error: fork/exec /var/task/bootstrap: exec format error".to_string(),
            )
        } else {
            (
                "Runtime.ImportModuleError",
                format!(
                    "Unable to import module 'index': /opt/native/lib.so: cannot open shared object file: wrong ELF class (built for {})",
                    self.built_for.as_str()
                ),
            )
        })
    }

    /// What the configuration says about the function's state.
    pub(super) fn write_state(&self, doc: &mut Value) {
        if self.is_pending() {
            doc["State"] = json!("Pending");
            doc["StateReason"] = json!("The function is being created.");
            doc["StateReasonCode"] = json!("Creating");
            // "First set to Successful after function creation completes" (API reference).
            if let Some(map) = doc.as_object_mut() {
                map.remove("LastUpdateStatus");
            }
        }
    }
}

/// A string member of a request body.
fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

impl Lab {
    /// CreateFunction: a new function, Pending for a moment, with the workload of the
    /// function whose code it was given (or a small default for code the lab never served).
    pub fn create_function(&self, body: &Value) -> Result<Value, AwsError> {
        let (name, qualifier) = self.parse_name(text(body, "FunctionName").unwrap_or(""), None)?;
        if qualifier.is_some() {
            return Err(AwsError::invalid(
                "This operation does not accept a qualified function name.",
            ));
        }
        // Lambda checks that the caller may pass the role before it looks at the code.
        if self.config.deny.denies("iam:PassRole") {
            return Err(AwsError::new(
                axum::http::StatusCode::FORBIDDEN,
                "AccessDeniedException",
                format!(
                    "User: arn:aws:iam::{}:user/lab is not authorized to perform: iam:PassRole on resource: {}",
                    self.account.account_id,
                    text(body, "Role").unwrap_or("")
                ),
            ));
        }
        // Tags on creation need lambda:TagResource as well.
        let tagged = body
            .get("Tags")
            .and_then(Value::as_object)
            .is_some_and(|t| !t.is_empty());
        if tagged && self.config.deny.denies("lambda:TagResource") {
            return Err(AwsError::new(
                axum::http::StatusCode::FORBIDDEN,
                "AccessDeniedException",
                format!(
                    "User: arn:aws:iam::{}:user/lab is not authorized to perform: lambda:TagResource on resource: arn:aws:lambda:{}:{}:function:{name} because no identity-based policy allows the lambda:TagResource action",
                    self.account.account_id, self.account.region, self.account.account_id
                ),
            ));
        }
        let package_type = text(body, "PackageType").unwrap_or("Zip");
        let code = code_of(
            body.get("Code").unwrap_or(&Value::Null),
            package_type,
            &self.objects,
        )?;
        let runtime = text(body, "Runtime");
        match (package_type, runtime.is_some(), body.get("Handler").is_some()) {
            ("Zip", true, true) | ("Image", false, _) => {}
            ("Zip", _, _) => {
                return Err(AwsError::invalid(
                    "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
                ))
            }
            _ => {
                return Err(AwsError::invalid(
                    "Runtime and Handler are not supported for functions created with container images.",
                ))
            }
        }
        let architecture = match body
            .get("Architectures")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
        {
            Some("arm64") => Architecture::Arm64,
            _ => Architecture::X86_64,
        };
        let mut inner = self.lock();
        if inner.functions.contains_key(&name) {
            return Err(AwsError::conflict(format!(
                "Function already exist: {name}"
            )));
        }
        // Hashing a large package is slow: once per request.
        let code_key = code.key();
        let template = inner.code_profiles.get(&code_key).cloned();
        let built_for = template.as_ref().map_or(architecture, |t| t.architecture);
        let mut profile = template.unwrap_or_else(|| FunctionProfile {
            workload: Workload {
                cpu_ms: UNKNOWN_CODE_CPU_MS,
                ..Workload::default()
            },
            ..self.default_profile(&name)
        });
        profile.name = name.clone();
        // A measured curve is its architecture's: the copy's is the curve carried across.
        profile.curve = profile
            .curve
            .map(|c| c.on_architecture(built_for, architecture).into_owned());
        profile.architecture = architecture;
        profile.package_type = package_type.to_string();
        profile.runtime = runtime.unwrap_or_default().to_string();
        profile.memory_mb = body
            .get("MemorySize")
            .and_then(Value::as_u64)
            .map_or(128, |m| m as u32);
        profile.timeout_s = body
            .get("Timeout")
            .and_then(Value::as_u64)
            .map_or(3, |t| t as u32);
        profile.description = text(body, "Description").unwrap_or("").to_string();
        profile.reserved_concurrency = None;
        profile.traffic = Traffic::default();
        profile.tags = body
            .get("Tags")
            .and_then(Value::as_object)
            .map(|tags| {
                tags.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut state = FunctionState::new(profile, &self.config, code.clone(), built_for);
        let mut settings = state.active.settings.clone();
        settings.update(body, &state.profile)?;
        state.active.settings = settings;
        if let Some(logging) = body.get("LoggingConfig") {
            Self::apply_logging(&mut state.active, logging)?;
        }
        let wait = self.scaled(CREATE_SECONDS).max(MIN_CREATE_WALL);
        state.pending_until = Some(Instant::now() + wait);
        inner
            .code_profiles
            .entry(code_key)
            .or_insert_with(|| state.profile.clone());
        let doc = self.configuration_json(&state, LATEST);
        inner.functions.insert(name, state);
        Ok(doc)
    }

    fn default_profile(&self, name: &str) -> FunctionProfile {
        FunctionProfile {
            name: name.to_string(),
            runtime: String::new(),
            architecture: Architecture::X86_64,
            memory_mb: 128,
            timeout_s: 3,
            log_format: Default::default(),
            package_type: "Zip".into(),
            description: String::new(),
            reserved_concurrency: None,
            tags: BTreeMap::new(),
            workload: Workload::default(),
            curve: None,
            traffic: Traffic::default(),
            portable: true,
            code_mb: None,
            production_mix: Vec::new(),
            live: None,
            calls: Vec::new(),
        }
    }

    /// GetFunction's `Code`: where to download the package (a URL the lab serves under
    /// `base`, its own address) or the image.
    pub(super) fn code_location(&self, f: &FunctionState, base: &str) -> Value {
        match &f.code {
            Code::Zip(_) => json!({
                "RepositoryType": "S3",
                "Location": format!("{base}/_lab/code/{}?sha256={}", f.profile.name,
                    f.code_sha256.replace('+', "-").replace('/', "_")),
            }),
            Code::Image(uri) => json!({
                "RepositoryType": "ECR",
                "ImageUri": uri,
                "ResolvedImageUri": format!("{}@sha256:{}",
                    uri.split(':').next().unwrap_or(uri), f.code_sha256),
            }),
        }
    }

    /// The package behind a function's code location; None for unknown functions and images.
    pub fn package(&self, name: &str) -> Option<Arc<[u8]>> {
        let inner = self.lock();
        match &inner.functions.get(name)?.code {
            Code::Zip(bytes) => Some(bytes.clone()),
            Code::Image(_) => None,
        }
    }
}

/// The code a CreateFunction body names: `ZipFile` (base64), an object in the lab's S3, or
/// `ImageUri`.
fn code_of(code: &Value, package_type: &str, objects: &Store) -> Result<Code, AwsError> {
    let s3 = ["S3Bucket", "S3Key", "S3ObjectVersion"].map(|k| text(code, k).unwrap_or(""));
    match (package_type, text(code, "ZipFile"), text(code, "ImageUri")) {
        ("Image", None, Some(uri)) if s3[0].is_empty() => Ok(Code::Image(uri.to_string())),
        ("Image", _, _) => Err(AwsError::invalid(
            "Please provide ImageUri when PackageType is Image.",
        )),
        (_, _, Some(_)) => Err(AwsError::invalid(
            "Please don't provide ImageUri when PackageType is Zip.",
        )),
        (_, Some(b64), None) if s3[0].is_empty() && s3[1].is_empty() => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| AwsError::invalid("ZipFile is not valid base64"))?;
            if bytes.is_empty() {
                return Err(AwsError::invalid("Uploaded file must be a non-empty zip"));
            }
            Ok(Code::Zip(bytes.into()))
        }
        (_, None, None) if !s3[0].is_empty() && !s3[1].is_empty() => {
            s3_package(objects, s3[0], s3[1]).map(Code::Zip)
        }
        _ => Err(AwsError::invalid(
            "Please provide a source for function code: ZipFile, or S3Bucket and S3Key.",
        )),
    }
}

/// A package in the lab's S3, or the error Lambda reports when it cannot read it.
pub(super) fn s3_package(objects: &Store, bucket: &str, key: &str) -> Result<Arc<[u8]>, AwsError> {
    let bytes = objects.get(bucket, key).map_err(|e| {
        AwsError::invalid(format!(
            "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
            e.code, e.message
        ))
    })?;
    if bytes.is_empty() {
        return Err(AwsError::invalid("Uploaded file must be a non-empty zip"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::tests::lab;
    use super::*;

    #[test]
    fn a_padded_package_is_a_zip_of_the_size_asked() {
        let zip = padded_package("big", 4096);
        assert_eq!(zip.len(), 4096);
        assert!(zip.starts_with(b"PK\x03\x04"));
        let end = zip.len() - 22 - "memtune-lab:big".len();
        assert_eq!(&zip[end..end + 4], b"PK\x05\x06");
    }

    fn create_body(name: &str, zip: &[u8], arch: &str) -> Value {
        json!({
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/copy",
            "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
            "Architectures": [arch],
            "MemorySize": 512,
            "Environment": { "Variables": { "MODE": "copy" } },
            "Tags": { "memtune:clone-of": "f" },
        })
    }

    #[test]
    fn a_created_function_is_pending_then_active_and_runs_the_code_it_was_given() {
        let lab = lab();
        let package = lab.package("f").unwrap();
        let doc = lab
            .create_function(&create_body("g", &package, "x86_64"))
            .unwrap();
        assert_eq!(doc["State"], "Pending");
        assert_eq!(doc["StateReasonCode"], "Creating");
        assert_eq!(doc["Environment"]["Variables"]["MODE"], "copy");
        let same_code = lab.get_function_configuration("f", None).unwrap()["CodeSha256"].clone();
        assert_eq!(doc["CodeSha256"], same_code);
        let e = lab.reserve("g", None).err().unwrap();
        assert_eq!(e.code, "ResourceConflictException");
        std::thread::sleep(MIN_CREATE_WALL * 2);
        let doc = lab.get_function_configuration("g", None).unwrap();
        assert_eq!(doc["State"], "Active");
        assert_eq!(doc["LastUpdateStatus"], "Successful");
        let r = lab.reserve("g", None).unwrap();
        let result = lab.finish(r, false);
        assert!(!result.function_error, "{}", result.payload);
        let e = lab
            .create_function(&create_body("g", &package, "x86_64"))
            .unwrap_err();
        assert_eq!(e.status, 409);
        let got = lab.get_function("g", None, "http://127.0.0.1:1").unwrap();
        assert_eq!(got["Tags"]["memtune:clone-of"], "f");
        assert!(got["Code"]["Location"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:1/_lab/code/g?"));
        lab.delete_function("g", None).unwrap();
        assert!(lab.get_function_configuration("g", None).is_err());
    }

    #[test]
    fn code_the_lab_never_served_runs_a_default_workload() {
        let lab = lab();
        let doc = lab
            .create_function(&create_body("new", b"PK-not-really", "arm64"))
            .unwrap();
        assert_eq!(doc["Architectures"][0], "arm64");
        let e = lab
            .create_function(&json!({"FunctionName": "x", "Role": "arn:aws:iam::123456789012:role/r", "Code": {}}))
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
    }
}
