//! The AWS configuration of one target account and region: credentials from STS AssumeRole
//! through the SDK's assume-role provider. The SDK clients cache them and fetch new ones
//! before they expire, so a run longer than a session keeps going.

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_sdk_lambda::config::{ProvideCredentials, Region, SharedCredentialsProvider};
use aws_sdk_lambda::error::ErrorMetadata;

use super::PlatformError;

/// A role to act as: recorded in journals so that `memtune restore` can act in the role's
/// account after a crash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssumedRole {
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub session_name: String,
}

/// `base` (its endpoint, HTTP client, retry settings and credentials, which must be allowed
/// to assume the role) acting as `target`'s role in `region`. The role is assumed once here,
/// so a refusal (trust policy, external id, a role that does not exist) is said before
/// anything runs, as [`PlatformError::AccessDenied`].
pub async fn assume_role(
    base: &SdkConfig,
    target: &AssumedRole,
    region: &str,
) -> Result<SdkConfig, PlatformError> {
    let mut builder = AssumeRoleProvider::builder(target.role_arn.clone())
        .session_name(target.session_name.clone())
        .region(Region::new(region.to_string()))
        .configure(base);
    if let Some(id) = &target.external_id {
        builder = builder.external_id(id.clone());
    }
    let provider = builder.build().await;
    if let Err(e) = provider.provide_credentials().await {
        return Err(refusal(&target.role_arn, &e));
    }
    Ok(base
        .clone()
        .into_builder()
        .region(Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// STS's own words ("User: ... is not authorized to perform: sts:AssumeRole on resource:
/// ..."), from the error metadata deep in the chain; else the deepest message.
fn refusal(role_arn: &str, e: &(dyn std::error::Error + 'static)) -> PlatformError {
    let mut said = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(meta) = s.downcast_ref::<ErrorMetadata>() {
            said = match (meta.code(), meta.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (_, Some(message)) => message.to_string(),
                _ => said,
            };
            break;
        }
        let text = s.to_string();
        if !text.is_empty() {
            said = text;
        }
        source = s.source();
    }
    PlatformError::AccessDenied(format!("cannot assume {role_arn}: {said}"))
}
