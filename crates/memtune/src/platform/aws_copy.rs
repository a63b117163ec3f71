//! Copies of functions over aws-sdk-lambda and aws-sdk-cloudwatchlogs: GetFunction with its
//! code location, the package's download, CreateFunction, DeleteFunction and the log group's
//! deletion.

use std::collections::BTreeMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, EphemeralStorage, FunctionCode, ImageConfig, LogFormat,
    LoggingConfig, PackageType, Runtime, TracingConfig, TracingMode, VpcConfig,
};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::aws::{create_to_configuration, map_error, to_config, AwsLambda};
use super::definition::{CodeSource, FunctionDefinition, NewCode, NewFunction};
use super::{FunctionConfig, PlatformError, PlatformResult};

impl AwsLambda {
    pub(super) async fn fetch_definition(&self, name: &str) -> PlatformResult<FunctionDefinition> {
        let out = self
            .client
            .get_function()
            .function_name(name)
            .send()
            .await
            .map_err(|e| map_error(&self.target, "GetFunction", e))?;
        let c = out.configuration().ok_or_else(|| {
            PlatformError::Service("GetFunction returned no Configuration".into())
        })?;
        let code = out.code();
        let code = match (
            code.and_then(|c| c.image_uri()),
            code.and_then(|c| c.location()),
        ) {
            (Some(uri), _) => CodeSource::Image { uri: uri.into() },
            (None, Some(location)) => CodeSource::Zip {
                location: location.into(),
            },
            (None, None) => {
                return Err(PlatformError::Service(
                    "GetFunction returned neither a code location nor an image URI".into(),
                ))
            }
        };
        let environment: BTreeMap<String, String> = c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let tags = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(FunctionDefinition {
            config: to_config(c),
            code,
            code_size: c.code_size().max(0) as u64,
            environment,
            tags,
            log_group: c
                .logging_config()
                .and_then(|l| l.log_group())
                .map(str::to_string),
        })
    }

    pub(super) async fn download(&self, location: &str, limit: usize) -> PlatformResult<Vec<u8>> {
        let failed = |why: String| {
            PlatformError::Service(format!("cannot download the function's code: {why}"))
        };
        let uri: hyper::Uri = location
            .parse()
            .map_err(|e| failed(format!("bad location: {e}")))?;
        if uri.scheme_str() == Some("http") {
            let http = hyper_util::client::legacy::connect::HttpConnector::new();
            return fetch(
                Client::builder(TokioExecutor::new()).build(http),
                uri,
                limit,
            )
            .await
            .map_err(failed);
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| failed(format!("no root certificates: {e}")))?
            .https_only()
            .enable_http1()
            .build();
        fetch(
            Client::builder(TokioExecutor::new()).build(https),
            uri,
            limit,
        )
        .await
        .map_err(failed)
    }

    pub(super) async fn create(&self, new: &NewFunction) -> PlatformResult<FunctionConfig> {
        let code = match &new.code {
            NewCode::Zip(bytes) => FunctionCode::builder().zip_file(Blob::new(bytes.clone())),
            NewCode::S3 { bucket, key } => FunctionCode::builder().s3_bucket(bucket).s3_key(key),
            NewCode::Image(uri) => FunctionCode::builder().image_uri(uri),
        }
        .build();
        let mut logging = LoggingConfig::builder()
            .log_format(LogFormat::from(new.log_format.as_str()))
            .set_log_group(new.log_group.clone());
        if new.log_format == "JSON" {
            logging = logging
                .set_application_log_level(new.application_log_level.as_deref().map(Into::into))
                .set_system_log_level(new.system_log_level.as_deref().map(Into::into));
        }
        let mut request = self
            .client
            .create_function()
            .function_name(&new.name)
            .code(code)
            .role(&new.role)
            .set_runtime(new.runtime.as_deref().map(Runtime::from))
            .set_handler(new.handler.clone())
            .architectures(Architecture::from(new.architecture.as_str()))
            .memory_size(new.memory_mb as i32)
            .timeout(new.timeout_s as i32)
            .description(&new.description)
            .set_layers((!new.layers.is_empty()).then(|| new.layers.clone()))
            .ephemeral_storage(
                EphemeralStorage::builder()
                    .size(new.ephemeral_storage_mb as i32)
                    .build()
                    .map_err(|e| PlatformError::InvalidParameter(e.to_string()))?,
            )
            .logging_config(logging.build())
            .tracing_config(
                TracingConfig::builder()
                    .mode(TracingMode::from(new.tracing_mode.as_str()))
                    .build(),
            )
            .set_tags(Some(new.tags.clone().into_iter().collect()));
        if matches!(new.code, NewCode::Image(_)) {
            request = request.package_type(PackageType::Image);
            if let Some(image) = &new.image_config {
                request = request.image_config(
                    ImageConfig::builder()
                        .set_entry_point(Some(image.entry_point.clone()))
                        .set_command(Some(image.command.clone()))
                        .set_working_directory(image.working_directory.clone())
                        .build(),
                );
            }
        }
        if !new.environment.is_empty() {
            request = request.environment(
                Environment::builder()
                    .set_variables(Some(new.environment.clone().into_iter().collect()))
                    .build(),
            );
        }
        if !new.subnet_ids.is_empty() {
            request = request.vpc_config(
                VpcConfig::builder()
                    .set_subnet_ids(Some(new.subnet_ids.clone()))
                    .set_security_group_ids(Some(new.security_group_ids.clone()))
                    .ipv6_allowed_for_dual_stack(new.ipv6_allowed_for_dual_stack)
                    .build(),
            );
        }
        let out = request
            .send()
            .await
            .map_err(|e| map_error(&self.target, "CreateFunction", e))?;
        Ok(to_config(&create_to_configuration(&out)))
    }

    /// CreateFunction with code that cannot exist: the permission probe for a copy.
    pub(super) async fn copy_probe(&self, name: &str, role: &str) -> PlatformResult<()> {
        self.client
            .create_function()
            .function_name(name)
            .role(role)
            .runtime(Runtime::Python312)
            .handler("index.handler")
            .code(
                FunctionCode::builder()
                    .s3_bucket(super::probe::IMPOSSIBLE_BUCKET)
                    .s3_key("never.zip")
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| map_error(&self.target, "CreateFunction", e))
    }

    pub(super) async fn delete_whole(&self, name: &str) -> PlatformResult<()> {
        self.client
            .delete_function()
            .function_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_error(&self.target, "DeleteFunction", e))
    }

    /// Deletes the log group a function writes to by default.
    pub(super) async fn delete_function_log_group(&self, name: &str) -> PlatformResult<()> {
        self.delete_group(&super::logs::log_group_of(name)).await
    }

    pub(super) async fn delete_group(&self, log_group: &str) -> PlatformResult<()> {
        self.logs
            .delete_log_group()
            .log_group_name(log_group)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_error(&self.logs_target, "DeleteLogGroup", e))
    }
}

/// GETs `uri`, refusing bodies over `limit` bytes.
async fn fetch<C>(
    client: Client<C, Empty<Bytes>>,
    uri: hyper::Uri,
    limit: usize,
) -> Result<Vec<u8>, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let response = client.get(uri).await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                format!("it is larger than {} MB", limit / (1024 * 1024))
            } else {
                e.to_string()
            }
        })?;
    Ok(body.to_bytes().to_vec())
}
