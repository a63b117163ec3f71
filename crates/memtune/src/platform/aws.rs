//! [`LambdaApi`] over aws-sdk-lambda.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    AliasConfiguration, AliasRoutingConfiguration, FunctionConfiguration, InvocationType, LogType,
    ThrottleReason, VpcConfigResponse,
};
use base64::Engine;

use super::definition::{FunctionDefinition, NewFunction};
use super::failure::{before_the_service, check_credentials, Target};
use super::pacing::{ApiCalls, ApiRates, Pacer};
use super::probe::{Probe, IMPOSSIBLE_REVISION, IMPOSSIBLE_VERSION};
use super::{
    environment_digest, AccountConcurrency, AliasInfo, BehaviourSettings, FunctionConfig,
    ImageSettings, InvokeResponse, LambdaApi, PlatformError, PlatformResult,
    ProvisionedConcurrency, Throttle, VersionWeights, VpcSettings,
};

/// A count Lambda sends as an optional i32.
fn count(n: Option<i32>) -> u32 {
    n.unwrap_or(0).max(0) as u32
}

/// Where and as whom to connect, as in the AWS CLI.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A custom endpoint (the lab); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
}

/// Loads the shared AWS configuration (credential chain, region, endpoint) once, and checks
/// that there are credentials.
pub async fn load_config(options: &ConnectOptions) -> PlatformResult<aws_config::SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(PlatformError::Setup(
            "no AWS region: pass --region, set AWS_REGION, or set one in your AWS profile".into(),
        ));
    }
    check_credentials(&config, options.profile.as_deref()).await?;
    Ok(config)
}

/// aws-sdk-lambda behind [`LambdaApi`].
#[derive(Clone)]
pub struct AwsLambda {
    pub(super) client: aws_sdk_lambda::Client,
    pub(super) target: Target,
    /// Deletes a copy's log group with it.
    pub(super) logs: aws_sdk_cloudwatchlogs::Client,
    pub(super) logs_target: Target,
    /// Stages a copy's package when it is too large to send inline.
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) s3_target: Target,
    /// Shared by every clone: the account and region's request-rate quotas.
    pacer: Option<Arc<Pacer>>,
    /// Polls use GetFunction (its own, higher quota) until IAM refuses it once.
    get_function_denied: Arc<AtomicBool>,
}

impl std::fmt::Debug for AwsLambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsLambda")
            .field("target", &self.target)
            .field("paced", &self.pacer.is_some())
            .finish()
    }
}

/// aws-sdk-s3's client for `config`. A custom endpoint (the lab) is addressed path-style:
/// virtual-hosted names (`bucket.127.0.0.1`) do not resolve there.
fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

impl AwsLambda {
    /// Calls as fast as they are made.
    pub fn new(config: &aws_config::SdkConfig) -> AwsLambda {
        AwsLambda {
            client: aws_sdk_lambda::Client::new(config),
            target: Target::of(config, "lambda"),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            logs_target: Target::of(config, "logs"),
            s3: s3_client(config),
            s3_target: Target::of(config, "s3"),
            pacer: None,
            get_function_denied: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Calls paced to `rates`; one per account and region, cloned to everything that calls.
    pub fn paced(config: &aws_config::SdkConfig, rates: ApiRates) -> AwsLambda {
        AwsLambda {
            pacer: Some(Arc::new(Pacer::new(rates))),
            ..AwsLambda::new(config)
        }
    }

    /// The calls made under each quota, when paced.
    pub fn api_calls(&self) -> Option<ApiCalls> {
        self.pacer.as_ref().map(|p| p.calls())
    }

    /// A control-plane call in its turn. When paced, a throttle (the quota was exceeded all
    /// the same, by other callers in the account or by jitter on the way) waits for another
    /// turn after a backoff, up to 8 times: the request did nothing, so sending it again is
    /// safe, and pacing never fails a function.
    async fn control<T, Fut>(&self, call: impl Fn() -> Fut) -> PlatformResult<T>
    where
        Fut: std::future::Future<Output = PlatformResult<T>>,
    {
        let mut backoff = Duration::from_millis(250);
        let mut retries = 0;
        loop {
            self.pace().await;
            match call().await {
                Err(PlatformError::Throttled(t)) if self.pacer.is_some() && retries < 8 => {
                    retries += 1;
                    tokio::time::sleep(t.pause(backoff)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                }
                other => return other,
            }
        }
    }

    /// Waits for a control-plane call's turn.
    async fn pace(&self) {
        if let Some(p) = &self.pacer {
            p.control_plane().await;
        }
    }

    /// Waits for a GetFunction call's turn (its own quota).
    async fn pace_get_function(&self) {
        if let Some(p) = &self.pacer {
            p.get_function().await;
        }
    }

    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }
}

/// Maps an SDK failure of `operation` against `target` to what memtune can act on. The SDK's
/// full error (with its Debug structures) goes to the debug log only (`RUST_LOG`, `-v`).
pub fn map_error<E>(
    target: &Target,
    operation: &str,
    e: SdkError<E, aws_sdk_lambda::config::http::HttpResponse>,
) -> PlatformError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tracing::debug!(operation, endpoint = %target.endpoint, error = %DisplayErrorContext(&e), "AWS call failed");
    if let Some(early) = before_the_service(target, operation, &e) {
        return early;
    }
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err.message().unwrap_or("").to_string();
            match code.as_str() {
                "ResourceNotFoundException" => PlatformError::NotFound(message),
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException" => {
                    PlatformError::AccessDenied(format!("{code}: {message}"))
                }
                "ResourceConflictException" => PlatformError::Conflict(message),
                "PreconditionFailedException" => PlatformError::RevisionMismatch(message),
                "TooManyRequestsException" => PlatformError::Throttled(Throttle {
                    message,
                    retry_after: retry_after(service.raw()),
                    reserved_limit: false,
                }),
                "InvalidParameterValueException"
                | "ValidationException"
                | "InvalidRequestContentException"
                | "SerializationException"
                // The model names RequestTooLargeException; Lambda sends the other.
                | "RequestTooLargeException"
                | "RequestEntityTooLargeException" => PlatformError::InvalidParameter(message),
                "ServiceException" | "InternalFailure" | "ServiceUnavailable" => {
                    PlatformError::Service(message)
                }
                _ if service.raw().status().is_server_error() => {
                    PlatformError::Service(format!("{code}: {message}"))
                }
                _ => PlatformError::Other { code, message },
            }
        }
        _ => PlatformError::Service(format!(
            "{operation}: {} answered with something memtune cannot read",
            target.endpoint
        )),
    }
}

/// The `Retry-After` header (whole seconds) of a throttled response.
fn retry_after(response: &aws_sdk_lambda::config::http::HttpResponse) -> Option<Duration> {
    let seconds: u64 = response.headers().get("Retry-After")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Invoke's throttles say whether the function's own reservation was the limit.
fn map_invoke_error(
    target: &Target,
    e: SdkError<InvokeError, aws_sdk_lambda::config::http::HttpResponse>,
) -> PlatformError {
    let reserved = matches!(
        e.as_service_error(),
        Some(InvokeError::TooManyRequestsException(t))
            if t.reason() == Some(&ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
    );
    match map_error(target, "Invoke", e) {
        PlatformError::Throttled(t) => PlatformError::Throttled(Throttle {
            reserved_limit: reserved,
            ..t
        }),
        other => other,
    }
}

pub(super) fn to_config(c: &FunctionConfiguration) -> FunctionConfig {
    let logging = c.logging_config();
    FunctionConfig {
        name: c.function_name().unwrap_or_default().to_string(),
        arn: c.function_arn().unwrap_or_default().to_string(),
        version: c.version().unwrap_or("$LATEST").to_string(),
        description: c.description().unwrap_or_default().to_string(),
        memory_mb: c.memory_size().unwrap_or(128).max(0) as u32,
        timeout_s: c.timeout().unwrap_or(3).max(0) as u32,
        architecture: c
            .architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".into()),
        runtime: c.runtime().map(|r| r.as_str().to_string()),
        package_type: c
            .package_type()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "Zip".into()),
        log_format: logging
            .and_then(|l| l.log_format())
            .map(|f| f.as_str().to_string())
            .unwrap_or_else(|| "Text".into()),
        system_log_level: logging
            .and_then(|l| l.system_log_level())
            .map(|l| l.as_str().to_string()),
        state: c
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Active".into()),
        last_update_status: c
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Successful".into()),
        last_update_reason: c.last_update_status_reason().map(str::to_string),
        revision_id: c.revision_id().unwrap_or_default().to_string(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        settings: BehaviourSettings {
            handler: c.handler().map(str::to_string),
            role: c.role().unwrap_or_default().to_string(),
            environment_sha256: environment_digest(
                c.environment()
                    .and_then(|e| e.variables())
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            layers: c
                .layers()
                .iter()
                .filter_map(|l| l.arn())
                .map(str::to_string)
                .collect(),
            vpc: c.vpc_config().map(vpc_settings).unwrap_or_default(),
            ephemeral_storage_mb: c.ephemeral_storage().map_or(512, |e| e.size()).max(0) as u32,
            snap_start: c
                .snap_start()
                .and_then(|s| s.apply_on())
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| "None".into()),
            image_config: c
                .image_config_response()
                .and_then(|r| r.image_config())
                .map(|i| ImageSettings {
                    entry_point: i.entry_point().to_vec(),
                    command: i.command().to_vec(),
                    working_directory: i.working_directory().map(str::to_string),
                })
                .filter(|i| *i != ImageSettings::default()),
            tracing_mode: c
                .tracing_config()
                .and_then(|t| t.mode())
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "PassThrough".into()),
            file_systems: c
                .file_system_configs()
                .iter()
                .map(|f| format!("{}={}", f.arn(), f.local_mount_path()))
                .collect(),
            application_log_level: logging
                .and_then(|l| l.application_log_level())
                .map(|l| l.as_str().to_string()),
        },
        last_modified: c.last_modified().unwrap_or_default().to_string(),
    }
}

/// Sorted, so that the same VPC set up in another order is not a change.
fn vpc_settings(v: &VpcConfigResponse) -> VpcSettings {
    let sorted = |ids: &[String]| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids
    };
    VpcSettings {
        subnet_ids: sorted(v.subnet_ids()),
        security_group_ids: sorted(v.security_group_ids()),
        ipv6_allowed_for_dual_stack: v.ipv6_allowed_for_dual_stack().unwrap_or(false),
    }
}

fn weights(routing: Option<&AliasRoutingConfiguration>) -> VersionWeights {
    routing
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(v, share)| (v.clone(), *share)).collect())
        .unwrap_or_default()
}

/// An alias as ListAliases, GetAlias and UpdateAlias answer it: three SDK types with the
/// same accessors.
macro_rules! alias_info {
    ($out:expr, $alias:expr) => {
        AliasInfo {
            name: $out.name().unwrap_or($alias).to_string(),
            function_version: $out.function_version().unwrap_or_default().to_string(),
            description: $out.description().unwrap_or_default().to_string(),
            revision_id: $out.revision_id().unwrap_or_default().to_string(),
            routing: weights($out.routing_config()),
        }
    };
}

fn to_alias(a: &AliasConfiguration) -> AliasInfo {
    alias_info!(a, "")
}

impl LambdaApi for AwsLambda {
    async fn get_definition(&self, name: &str) -> PlatformResult<FunctionDefinition> {
        self.pace_get_function().await;
        self.fetch_definition(name).await
    }

    async fn download_package(&self, location: &str, limit: usize) -> PlatformResult<Vec<u8>> {
        self.download(location, limit).await
    }

    async fn create_function(&self, new: &NewFunction) -> PlatformResult<FunctionConfig> {
        // A throttled CreateFunction created nothing: sending it again is safe.
        self.control(|| self.create(new)).await
    }

    async fn delete_function(&self, name: &str) -> PlatformResult<()> {
        self.control(|| self.delete_whole(name)).await
    }

    async fn delete_log_group(&self, log_group: &str) -> PlatformResult<()> {
        self.delete_group(log_group).await
    }

    async fn stage_package(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> PlatformResult<()> {
        self.put_package(bucket, key, bytes).await
    }

    async fn delete_staged_package(&self, bucket: &str, key: &str) -> PlatformResult<()> {
        self.delete_package(bucket, key).await
    }

    async fn staging_bucket_region(&self, bucket: &str) -> PlatformResult<Option<String>> {
        self.bucket_region(bucket).await
    }

    async fn get_configuration(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> PlatformResult<FunctionConfig> {
        self.control(move || async move {
            let out = self
                .client
                .get_function_configuration()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_string))
                .send()
                .await
                .map_err(|e| map_error(&self.target, "GetFunctionConfiguration", e))?;
            Ok(FunctionConfig {
                name: out.function_name().unwrap_or(name).to_string(),
                ..to_config(&output_to_configuration(&out))
            })
        })
        .await
    }

    async fn poll_configuration(&self, name: &str) -> PlatformResult<FunctionConfig> {
        if self.get_function_denied.load(Ordering::Relaxed) {
            return self.get_configuration(name, None).await;
        }
        self.pace_get_function().await;
        let out = self.client.get_function().function_name(name).send().await;
        match out {
            Ok(out) => match out.configuration() {
                Some(c) => Ok(FunctionConfig {
                    name: c.function_name().unwrap_or(name).to_string(),
                    ..to_config(c)
                }),
                None => self.get_configuration(name, None).await,
            },
            Err(e) => match map_error(&self.target, "GetFunction", e) {
                PlatformError::AccessDenied(_) => {
                    self.get_function_denied.store(true, Ordering::Relaxed);
                    self.get_configuration(name, None).await
                }
                other => Err(other),
            },
        }
    }

    async fn update_memory(
        &self,
        name: &str,
        memory_mb: u32,
        revision_id: &str,
    ) -> PlatformResult<FunctionConfig> {
        self.control(move || async move {
            let out = self
                .client
                .update_function_configuration()
                .function_name(name)
                .memory_size(memory_mb as i32)
                .revision_id(revision_id)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "UpdateFunctionConfiguration", e))?;
            Ok(to_config(&update_to_configuration(&out)))
        })
        .await
    }

    async fn publish_version(
        &self,
        name: &str,
        description: &str,
        revision_id: &str,
    ) -> PlatformResult<FunctionConfig> {
        self.control(move || async move {
            let out = self
                .client
                .publish_version()
                .function_name(name)
                .description(description)
                .revision_id(revision_id)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "PublishVersion", e))?;
            Ok(to_config(&publish_to_configuration(&out)))
        })
        .await
    }

    async fn list_versions(&self, name: &str) -> PlatformResult<Vec<FunctionConfig>> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        self.pace().await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_error(&self.target, "ListVersionsByFunction", e))?;
            all.extend(page.versions().iter().map(to_config));
            if page.next_marker().is_some() {
                self.pace().await;
            }
        }
        Ok(all)
    }

    async fn list_aliases(&self, name: &str) -> PlatformResult<Vec<AliasInfo>> {
        let mut pages = self
            .client
            .list_aliases()
            .function_name(name)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        self.pace().await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_error(&self.target, "ListAliases", e))?;
            if page.next_marker().is_some() {
                self.pace().await;
            }
            all.extend(page.aliases().iter().map(to_alias));
        }
        Ok(all)
    }

    async fn delete_version(&self, name: &str, version: &str) -> PlatformResult<()> {
        self.control(move || async move {
            self.client
                .delete_function()
                .function_name(name)
                .qualifier(version)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "DeleteFunction", e))?;
            Ok(())
        })
        .await
    }

    async fn delete_alias(&self, name: &str, alias: &str) -> PlatformResult<()> {
        self.control(move || async move {
            self.client
                .delete_alias()
                .function_name(name)
                .name(alias)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "DeleteAlias", e))?;
            Ok(())
        })
        .await
    }

    async fn update_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        revision_id: &str,
    ) -> PlatformResult<AliasInfo> {
        self.control(move || async move {
            let out = self
                .client
                .update_alias()
                .function_name(name)
                .name(alias)
                .function_version(version)
                .revision_id(revision_id)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "UpdateAlias", e))?;
            Ok(alias_info!(out, alias))
        })
        .await
    }

    async fn get_alias(&self, name: &str, alias: &str) -> PlatformResult<AliasInfo> {
        self.control(move || async move {
            let out = self
                .client
                .get_alias()
                .function_name(name)
                .name(alias)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "GetAlias", e))?;
            Ok(alias_info!(out, alias))
        })
        .await
    }

    async fn route_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        routing: &VersionWeights,
        revision_id: &str,
    ) -> PlatformResult<AliasInfo> {
        // An empty map removes the routing configuration.
        let config = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(
                routing.iter().map(|(v, w)| (v.clone(), *w)).collect(),
            ))
            .build();
        self.control(move || {
            let config = config.clone();
            async move {
                let out = self
                    .client
                    .update_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(version)
                    .routing_config(config)
                    .revision_id(revision_id)
                    .send()
                    .await
                    .map_err(|e| map_error(&self.target, "UpdateAlias", e))?;
                Ok(alias_info!(out, alias))
            }
        })
        .await
    }

    async fn invoke(
        &self,
        name: &str,
        qualifier: &str,
        payload: Vec<u8>,
    ) -> PlatformResult<InvokeResponse> {
        let out = self
            .client
            .invoke()
            .function_name(name)
            .qualifier(qualifier)
            .log_type(LogType::Tail)
            .payload(Blob::new(payload))
            .customize()
            // A retried Invoke may run the payload twice: the caller decides.
            .config_override(
                aws_sdk_lambda::config::Config::builder()
                    .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| map_invoke_error(&self.target, e))?;
        let log_tail = out.log_result().and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        });
        Ok(InvokeResponse {
            status: out.status_code(),
            function_error: out.function_error().map(str::to_string),
            log_tail,
            executed_version: out.executed_version().map(str::to_string),
            payload: out
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }

    async fn list_functions(&self) -> PlatformResult<Vec<FunctionConfig>> {
        let mut pages = self.client.list_functions().into_paginator().send();
        let mut all = Vec::new();
        self.pace().await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_error(&self.target, "ListFunctions", e))?;
            all.extend(page.functions().iter().map(to_config));
            if page.next_marker().is_some() {
                self.pace().await;
            }
        }
        Ok(all)
    }

    async fn list_tags(&self, arn: &str) -> PlatformResult<BTreeMap<String, String>> {
        self.control(move || async move {
            let out = self
                .client
                .list_tags()
                .resource(arn)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "ListTags", e))?;
            Ok(out
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default())
        })
        .await
    }

    async fn account_settings(&self) -> PlatformResult<AccountConcurrency> {
        self.control(move || async move {
            let out = self
                .client
                .get_account_settings()
                .send()
                .await
                .map_err(|e| map_error(&self.target, "GetAccountSettings", e))?;
            let limit = out.account_limit();
            Ok(AccountConcurrency {
                limit: limit.map_or(0, |l| l.concurrent_executions()).max(0) as u32,
                unreserved: limit
                    .and_then(|l| l.unreserved_concurrent_executions())
                    .unwrap_or(0)
                    .max(0) as u32,
            })
        })
        .await
    }

    async fn get_function_concurrency(&self, name: &str) -> PlatformResult<Option<u32>> {
        self.control(move || async move {
            let out = self
                .client
                .get_function_concurrency()
                .function_name(name)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "GetFunctionConcurrency", e))?;
            Ok(out
                .reserved_concurrent_executions()
                .map(|r| r.max(0) as u32))
        })
        .await
    }

    async fn get_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> PlatformResult<Option<ProvisionedConcurrency>> {
        self.control(move || async move {
            let result = self
                .client
                .get_provisioned_concurrency_config()
                .function_name(name)
                .qualifier(qualifier)
                .send()
                .await;
            match result {
                Ok(out) => Ok(Some(ProvisionedConcurrency {
                    requested: count(out.requested_provisioned_concurrent_executions()),
                    allocated: count(out.allocated_provisioned_concurrent_executions()),
                    status: out.status().map(|s| s.as_str()).unwrap_or("").to_string(),
                    status_reason: out.status_reason().map(str::to_string),
                })),
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_provisioned_concurrency_config_not_found_exception()
                    }) =>
                {
                    Ok(None)
                }
                Err(e) => Err(map_error(
                    &self.target,
                    "GetProvisionedConcurrencyConfig",
                    e,
                )),
            }
        })
        .await
    }

    async fn put_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
        level: u32,
    ) -> PlatformResult<ProvisionedConcurrency> {
        self.control(move || async move {
            let out = self
                .client
                .put_provisioned_concurrency_config()
                .function_name(name)
                .qualifier(qualifier)
                .provisioned_concurrent_executions(level.min(i32::MAX as u32) as i32)
                .send()
                .await
                .map_err(|e| map_error(&self.target, "PutProvisionedConcurrencyConfig", e))?;
            Ok(ProvisionedConcurrency {
                requested: count(out.requested_provisioned_concurrent_executions()),
                allocated: count(out.allocated_provisioned_concurrent_executions()),
                status: out.status().map(|s| s.as_str()).unwrap_or("").to_string(),
                status_reason: out.status_reason().map(str::to_string),
            })
        })
        .await
    }

    async fn delete_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> PlatformResult<()> {
        self.control(move || async move {
            self.client
                .delete_provisioned_concurrency_config()
                .function_name(name)
                .qualifier(qualifier)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "DeleteProvisionedConcurrencyConfig", e))
        })
        .await
    }

    async fn probe(&self, name: &str, probe: &Probe) -> PlatformResult<()> {
        match probe {
            // Invoke has its own quota; DeleteLogGroup is CloudWatch Logs'.
            Probe::Invoke | Probe::DeleteLogGroup => {}
            Probe::GetFunction => self.pace_get_function().await,
            _ => self.pace().await,
        }
        let c = &self.client;
        match probe {
            Probe::ListVersions => c
                .list_versions_by_function()
                .function_name(name)
                .max_items(1)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "ListVersionsByFunction", e)),
            Probe::ListAliases => c
                .list_aliases()
                .function_name(name)
                .max_items(1)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "ListAliases", e)),
            Probe::Invoke => c
                .invoke()
                .function_name(name)
                .qualifier(IMPOSSIBLE_VERSION)
                .invocation_type(InvocationType::DryRun)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_invoke_error(&self.target, e)),
            Probe::UpdateConfiguration { memory_mb } => c
                .update_function_configuration()
                .function_name(name)
                .memory_size(*memory_mb as i32)
                .revision_id(IMPOSSIBLE_REVISION)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "UpdateFunctionConfiguration", e)),
            Probe::PublishVersion => c
                .publish_version()
                .function_name(name)
                .description(
                    "memtune permission probe (never published: its RevisionId cannot match)",
                )
                .revision_id(IMPOSSIBLE_REVISION)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "PublishVersion", e)),
            Probe::DeleteVersion => c
                .delete_function()
                .function_name(name)
                .qualifier(IMPOSSIBLE_VERSION)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "DeleteFunction", e)),
            Probe::DeleteAlias { alias } => c
                .delete_alias()
                .function_name(name)
                .name(alias)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "DeleteAlias", e)),
            Probe::UpdateAlias { alias } => c
                .update_alias()
                .function_name(name)
                .name(alias)
                .function_version(IMPOSSIBLE_VERSION)
                .revision_id(IMPOSSIBLE_REVISION)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "UpdateAlias", e)),
            Probe::GetFunction => c
                .get_function()
                .function_name(name)
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "GetFunction", e)),
            Probe::PassRole { role } | Probe::CreateFunction { role } => {
                let answer = self.copy_probe(name, role).await;
                match (probe, answer) {
                    // lambda:CreateFunction denied: the PassRole probe learns nothing.
                    (Probe::PassRole { .. }, Err(PlatformError::AccessDenied(m)))
                        if !m.contains("iam:PassRole") =>
                    {
                        Ok(())
                    }
                    (Probe::CreateFunction { .. }, Err(PlatformError::AccessDenied(m)))
                        if m.contains("iam:PassRole") =>
                    {
                        Ok(())
                    }
                    (_, answer) => answer,
                }
            }
            Probe::DeleteCopy => self.delete_whole(name).await,
            Probe::DeleteLogGroup => self.delete_function_log_group(name).await,
            Probe::TagCopy { arn } => c
                .tag_resource()
                .resource(arn)
                .tags("memtune:permission-probe", "never-applied")
                .send()
                .await
                .map(drop)
                .map_err(|e| map_error(&self.target, "TagResource", e)),
        }
    }
}

/// The SDK has a distinct output type per operation with the same fields; these rebuild the
/// shared `FunctionConfiguration` shape so there is one mapping.
macro_rules! as_configuration {
    ($fn_name:ident, $ty:ty) => {
        pub(super) fn $fn_name(o: &$ty) -> FunctionConfiguration {
            FunctionConfiguration::builder()
                .set_function_name(o.function_name().map(str::to_string))
                .set_function_arn(o.function_arn().map(str::to_string))
                .set_version(o.version().map(str::to_string))
                .set_description(o.description().map(str::to_string))
                .set_memory_size(o.memory_size())
                .set_timeout(o.timeout())
                .set_architectures(Some(o.architectures().to_vec()))
                .set_runtime(o.runtime().cloned())
                .set_package_type(o.package_type().cloned())
                .set_logging_config(o.logging_config().cloned())
                .set_state(o.state().cloned())
                .set_last_update_status(o.last_update_status().cloned())
                .set_last_update_status_reason(o.last_update_status_reason().map(str::to_string))
                .set_revision_id(o.revision_id().map(str::to_string))
                .set_code_sha256(o.code_sha256().map(str::to_string))
                .set_handler(o.handler().map(str::to_string))
                .set_role(o.role().map(str::to_string))
                .set_environment(o.environment().cloned())
                .set_layers(Some(o.layers().to_vec()))
                .set_vpc_config(o.vpc_config().cloned())
                .set_ephemeral_storage(o.ephemeral_storage().cloned())
                .set_snap_start(o.snap_start().cloned())
                .set_image_config_response(o.image_config_response().cloned())
                .set_tracing_config(o.tracing_config().cloned())
                .set_file_system_configs(Some(o.file_system_configs().to_vec()))
                .set_last_modified(o.last_modified().map(str::to_string))
                .build()
        }
    };
}

as_configuration!(
    output_to_configuration,
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput
);
as_configuration!(
    update_to_configuration,
    aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput
);
as_configuration!(
    create_to_configuration,
    aws_sdk_lambda::operation::create_function::CreateFunctionOutput
);
as_configuration!(
    publish_to_configuration,
    aws_sdk_lambda::operation::publish_version::PublishVersionOutput
);
