//! The only part of memtune that talks to AWS, behind traits, as plain data: Lambda
//! ([`LambdaApi`], implemented in `aws` with aws-sdk-lambda), CloudWatch metrics
//! (`cloudwatch`) and CloudWatch Logs Insights (`logs`). The same code runs against a real
//! account or the lab (`--endpoint-url`).

pub mod assume;
pub mod aws;
mod aws_copy;
mod aws_staging;
pub mod cloudwatch;
pub mod definition;
pub mod failure;
pub mod logs;
pub mod pacing;
pub mod probe;

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

/// What memtune needs to know about a function version's configuration. The history stores
/// it as JSON and reads it back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionConfig {
    pub name: String,
    pub arn: String,
    pub version: String,
    pub description: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    pub runtime: Option<String>,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// `Text` or `JSON`.
    pub log_format: String,
    pub system_log_level: Option<String>,
    /// `Pending`, `Active`, `Inactive` or `Failed`.
    pub state: String,
    /// `Successful`, `InProgress` or `Failed`.
    pub last_update_status: String,
    pub last_update_reason: Option<String>,
    pub revision_id: String,
    pub code_sha256: String,
    /// Everything beyond memory, timeout, code and runtime that changes how it behaves.
    #[serde(flatten)]
    pub settings: BehaviourSettings,
    /// When the configuration or code last changed, as Lambda says it (ISO 8601).
    pub last_modified: String,
}

/// The settings someone may change while memtune samples, besides memory, timeout, code,
/// runtime, description and log format (which [`FunctionConfig`] holds itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviourSettings {
    /// The handler (.zip functions).
    pub handler: Option<String>,
    /// The execution role's ARN.
    pub role: String,
    /// [`environment_digest`] of the environment variables: a change is seen without memtune
    /// keeping their values (often secrets) in journals or the history.
    pub environment_sha256: String,
    /// Layer version ARNs, in order.
    pub layers: Vec<String>,
    pub vpc: VpcSettings,
    /// The size of /tmp in MB.
    pub ephemeral_storage_mb: u32,
    /// SnapStart's ApplyOn: `None` or `PublishedVersions`.
    pub snap_start: String,
    /// A container image's overrides (image functions); the image itself is `code_sha256`.
    pub image_config: Option<ImageSettings>,
    /// X-Ray tracing: `PassThrough` or `Active`.
    pub tracing_mode: String,
    /// EFS mounts as `<access point ARN>=<local mount path>`.
    pub file_systems: Vec<String>,
    pub application_log_level: Option<String>,
}

/// Where a function sits in a VPC; empty lists outside one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcSettings {
    /// Sorted.
    pub subnet_ids: Vec<String>,
    /// Sorted.
    pub security_group_ids: Vec<String>,
    pub ipv6_allowed_for_dual_stack: bool,
}

/// A container image's entry point, command and working directory overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSettings {
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    pub working_directory: Option<String>,
}

/// Hex SHA-256 over the variables in name order; empty when there are none.
pub fn environment_digest<'a>(variables: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    use sha2::Digest;
    let sorted: BTreeMap<&str, &str> = variables.into_iter().collect();
    if sorted.is_empty() {
        return String::new();
    }
    let mut hasher = sha2::Sha256::new();
    for (name, value) in sorted {
        // Lengths first, so that no two different maps hash the same bytes.
        for part in [name, value] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl FunctionConfig {
    /// An Active, settled Python function in us-east-1 with the given name and memory, as
    /// Lambda would describe it; tests and examples start from it.
    pub fn sample(name: &str, memory_mb: u32) -> FunctionConfig {
        FunctionConfig {
            name: name.into(),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            version: "$LATEST".into(),
            description: String::new(),
            memory_mb,
            timeout_s: 30,
            architecture: "x86_64".into(),
            runtime: Some("python3.12".into()),
            package_type: "Zip".into(),
            log_format: "Text".into(),
            system_log_level: None,
            state: "Active".into(),
            last_update_status: "Successful".into(),
            last_update_reason: None,
            revision_id: "r1".into(),
            code_sha256: "abc".into(),
            settings: BehaviourSettings {
                handler: Some("index.handler".into()),
                role: format!("arn:aws:iam::123456789012:role/{name}-role"),
                environment_sha256: String::new(),
                layers: Vec::new(),
                vpc: VpcSettings::default(),
                ephemeral_storage_mb: 512,
                snap_start: "None".into(),
                image_config: None,
                tracing_mode: "PassThrough".into(),
                file_systems: Vec::new(),
                application_log_level: None,
            },
            last_modified: "2026-01-01T00:00:00.000+0000".into(),
        }
    }

    pub fn update_in_progress(&self) -> bool {
        self.last_update_status == "InProgress"
    }
}

/// An alias and the version it points at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasInfo {
    pub name: String,
    pub function_version: String,
    pub description: String,
    /// Changes with every update of the alias.
    pub revision_id: String,
    /// `RoutingConfig.AdditionalVersionWeights`: the versions besides `function_version` that
    /// get a share (0..=1) of the alias's invocations; empty without a routing configuration.
    pub routing: VersionWeights,
}

/// Version -> share of an alias's invocations (0..=1), in version order.
pub type VersionWeights = BTreeMap<String, f64>;

/// What a synchronous Invoke returned.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    pub status: i32,
    /// `Unhandled` (or `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// The decoded tail of the invocation's log (START/END/REPORT), when Lambda sent one.
    pub log_tail: Option<String>,
    pub executed_version: Option<String>,
    pub payload: Vec<u8>,
}

/// AWS failures, by what the caller should do about them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// 409: an update is in progress, or the resource is in use.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: the function changed since its RevisionId was read.
    #[error("the function changed meanwhile (RevisionId mismatch): {0}")]
    RevisionMismatch(String),
    #[error("throttled: {0}")]
    Throttled(Throttle),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// 5xx from the service.
    #[error("service error: {0}")]
    Service(String),
    /// No answer: connection refused, timeout, DNS.
    #[error("{0}")]
    Unreachable(failure::Unreachable),
    /// No credentials, or an unusable region or profile.
    #[error("{0}")]
    Setup(String),
    #[error("{code}: {message}")]
    Other { code: String, message: String },
}

impl PlatformError {
    /// Worth retrying after a pause (the request did nothing).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PlatformError::Throttled(_) | PlatformError::Conflict(_)
        )
    }
}

pub type PlatformResult<T> = Result<T, PlatformError>;

/// A 429 and what Lambda said about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throttle {
    pub message: String,
    /// The service's hint (`Retry-After`), when it gave one.
    pub retry_after: Option<std::time::Duration>,
    /// The function's own reserved concurrency was the limit, not the account's: other
    /// functions are not affected.
    pub reserved_limit: bool,
}

impl Throttle {
    /// How long to wait before retrying: the service's hint when longer than `backoff`.
    pub fn pause(&self, backoff: std::time::Duration) -> std::time::Duration {
        self.retry_after.map_or(backoff, |hint| hint.max(backoff))
    }
}

impl std::fmt::Display for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The Lambda operations memtune uses.
pub trait LambdaApi: Send + Sync {
    /// GetFunction: the configuration with the environment's values, the code, the tags.
    fn get_definition(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<definition::FunctionDefinition>> + Send;

    /// Downloads a .zip package from GetFunction's code location, refusing more than `limit`
    /// bytes.
    fn download_package(
        &self,
        location: &str,
        limit: usize,
    ) -> impl Future<Output = PlatformResult<Vec<u8>>> + Send;

    fn create_function(
        &self,
        new: &definition::NewFunction,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send;

    /// DeleteFunction of a whole function, its versions and aliases with it.
    fn delete_function(&self, name: &str) -> impl Future<Output = PlatformResult<()>> + Send;

    /// Deletes a CloudWatch Logs log group.
    fn delete_log_group(&self, log_group: &str) -> impl Future<Output = PlatformResult<()>> + Send;

    /// S3 PutObject of a .zip package too large for CreateFunction inline.
    fn stage_package(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> impl Future<Output = PlatformResult<()>> + Send;

    /// Deletes a staged package; NotFound when it is not there.
    fn delete_staged_package(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send;

    /// S3 HeadBucket: the bucket's region when S3 says it; NotFound when there is no such
    /// bucket.
    fn staging_bucket_region(
        &self,
        bucket: &str,
    ) -> impl Future<Output = PlatformResult<Option<String>>> + Send;

    fn get_configuration(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send;

    /// $LATEST's configuration, read the cheapest way, for polls that wait for an update to
    /// finish (on AWS GetFunction, whose quota is not the control plane's).
    fn poll_configuration(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.get_configuration(name, None)
    }

    /// Sets $LATEST's memory, only if the function is still at `revision_id`.
    fn update_memory(
        &self,
        name: &str,
        memory_mb: u32,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send;

    /// Publishes $LATEST as a version, only if it is still at `revision_id`.
    fn publish_version(
        &self,
        name: &str,
        description: &str,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send;

    fn list_versions(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Vec<FunctionConfig>>> + Send;

    fn list_aliases(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Vec<AliasInfo>>> + Send;

    fn delete_version(
        &self,
        name: &str,
        version: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send;

    fn delete_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send;

    /// Points an alias at `version`, only if the alias is still at `revision_id`.
    fn update_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send;

    /// GetAlias: the version an alias points at, its routing configuration and RevisionId.
    fn get_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send;

    /// Points an alias at `version` with `routing` as its additional version weights (empty:
    /// no routing configuration), only if the alias is still at `revision_id`.
    fn route_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        routing: &VersionWeights,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send;

    /// One synchronous invocation with the log tail. Never retried here: a retry could run
    /// the payload twice.
    fn invoke(
        &self,
        name: &str,
        qualifier: &str,
        payload: Vec<u8>,
    ) -> impl Future<Output = PlatformResult<InvokeResponse>> + Send;

    /// Every function in the region ($LATEST configurations), all pages.
    fn list_functions(&self) -> impl Future<Output = PlatformResult<Vec<FunctionConfig>>> + Send;

    /// A function's tags, by its unqualified ARN.
    fn list_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = PlatformResult<BTreeMap<String, String>>> + Send;

    /// The account's concurrency limit and what functions have not reserved of it.
    fn account_settings(&self) -> impl Future<Output = PlatformResult<AccountConcurrency>> + Send;

    /// A function's reserved concurrency, None when it has none.
    fn get_function_concurrency(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Option<u32>>> + Send;

    /// The provisioned concurrency of an alias or version; None when it has none.
    fn get_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> impl Future<Output = PlatformResult<Option<ProvisionedConcurrency>>> + Send;

    /// Sets an alias's or version's provisioned concurrency (Lambda then allocates it:
    /// IN_PROGRESS, then READY or FAILED). Lambda takes no RevisionId here.
    fn put_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
        level: u32,
    ) -> impl Future<Output = PlatformResult<ProvisionedConcurrency>> + Send;

    /// Removes an alias's or version's provisioned concurrency; none there is no error.
    fn delete_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send;

    /// Sends a permission probe; what Lambda answered, for the caller to judge. A probe never
    /// changes the function.
    fn probe(
        &self,
        name: &str,
        probe: &probe::Probe,
    ) -> impl Future<Output = PlatformResult<()>> + Send;
}

/// An alias's or version's provisioned concurrency, as GetProvisionedConcurrencyConfig says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionedConcurrency {
    pub requested: u32,
    /// Environments allocated so far.
    pub allocated: u32,
    /// `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: String,
    pub status_reason: Option<String>,
}

impl ProvisionedConcurrency {
    pub fn in_progress(&self) -> bool {
        self.status == "IN_PROGRESS"
    }

    pub fn failed(&self) -> bool {
        self.status == "FAILED"
    }
}

/// The account's concurrency, from GetAccountSettings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccountConcurrency {
    pub limit: u32,
    /// What functions without a reservation share.
    pub unreserved: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_environment_digest_sees_names_values_and_order_free() {
        let a = environment_digest([("MODE", "fast"), ("LEVEL", "1")]);
        assert_eq!(a, environment_digest([("LEVEL", "1"), ("MODE", "fast")]));
        assert_ne!(a, environment_digest([("MODE", "slow"), ("LEVEL", "1")]));
        assert_ne!(a, environment_digest([("MODE", "fast")]));
        assert_ne!(
            environment_digest([("AB", "C")]),
            environment_digest([("A", "BC")])
        );
        assert_eq!(environment_digest(std::iter::empty()), "");
    }

    #[test]
    fn a_throttle_waits_for_the_longer_of_backoff_and_hint() {
        let mut t = Throttle::default();
        assert_eq!(
            t.pause(Duration::from_millis(200)),
            Duration::from_millis(200)
        );
        t.retry_after = Some(Duration::from_secs(1));
        assert_eq!(t.pause(Duration::from_millis(200)), Duration::from_secs(1));
        assert_eq!(t.pause(Duration::from_secs(3)), Duration::from_secs(3));
    }
}
