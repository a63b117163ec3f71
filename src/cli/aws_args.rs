//! The AWS connection flags every command that talks to AWS shares, as in the AWS CLI.

use clap::Args;

use super::CliError;
use memtune::platform::aws::{load_config, ConnectOptions};
use memtune::platform::PlatformError;
use memtune::preflight::PreflightError;
use memtune_facts::pricing::{PriceBook, RegionPrices};

#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config (default: AWS_PROFILE or "default").
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send AWS calls here instead, e.g. a `memtune lab` (default: AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone().or_else(|| {
                std::env::var("AWS_ENDPOINT_URL")
                    .ok()
                    .filter(|v| !v.is_empty())
            }),
        }
    }

    pub async fn load(&self) -> Result<aws_config::SdkConfig, CliError> {
        load_config(&self.options())
            .await
            .map_err(|e| CliError::usage(e.to_string()))
    }
}

/// The region `config` talks to and its Lambda prices, or a usage error saying how to supply
/// them.
pub fn region_prices<'a>(
    book: &'a PriceBook,
    config: &aws_config::SdkConfig,
) -> Result<(String, &'a RegionPrices), CliError> {
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let prices = book.region(&region).map_err(|e| {
        CliError::usage(format!(
            "{e} (pass --pricing FILE with prices for {region})"
        ))
    })?;
    Ok((region, prices))
}

/// Maps an AWS failure to the line and exit code the user sees: permission, naming and
/// parameter problems are the caller's to fix (exit 2); the rest failed the run (exit 1).
pub fn platform_error(context: &str, e: &PlatformError) -> CliError {
    let message = match e {
        PlatformError::AccessDenied(m) => format!(
            "{context}: access denied ({m}): grant the permissions listed in the README's IAM policy"
        ),
        PlatformError::NotFound(m) => format!("{context}: {m}"),
        other => format!("{context}: {other}"),
    };
    match e {
        PlatformError::AccessDenied(_)
        | PlatformError::NotFound(_)
        | PlatformError::InvalidParameter(_)
        | PlatformError::Setup(_) => CliError::usage(message),
        _ => CliError::failed(message),
    }
}

/// Maps a preflight refusal to its line: exit 2 (nothing was changed), unless a probe got no
/// answer, which is the run failing like any other AWS call.
pub fn preflight_error(e: PreflightError) -> CliError {
    match e {
        PreflightError::Unchecked { function, source } => {
            platform_error(&format!("checking the permissions on {function}"), &source)
        }
        other => CliError::usage(other.to_string()),
    }
}
