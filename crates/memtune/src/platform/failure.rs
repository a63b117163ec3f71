//! AWS failures that happen before a service answers (no connection, no credentials), as one
//! line naming what failed and what to do. The SDK's own errors print Debug structures; these
//! use its typed kinds (`SdkError::DispatchFailure`, `ConnectorError::is_io`/`is_timeout`, the
//! credential chain's attempts) and the `std::io::Error` underneath, never its wording.

use std::error::Error;

use aws_config::meta::ProviderChainError;
use aws_sdk_lambda::config::ProvideCredentials;
use aws_sdk_lambda::error::{ConnectorError, SdkError};

use super::PlatformError;

/// Where one service's calls go, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub endpoint: String,
    pub region: String,
    /// `--endpoint-url` / `AWS_ENDPOINT_URL` (a lab, usually), not AWS's own.
    pub custom_endpoint: bool,
}

impl Target {
    /// `service` is the endpoint prefix (`lambda`, `monitoring`, `logs`).
    pub fn of(config: &aws_config::SdkConfig, service: &str) -> Target {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        match config.endpoint_url() {
            Some(url) => Target {
                endpoint: url.to_string(),
                region,
                custom_endpoint: true,
            },
            None => Target {
                endpoint: format!("https://{service}.{region}.amazonaws.com"),
                region,
                custom_endpoint: false,
            },
        }
    }
}

/// Why a connection did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectCause {
    Refused,
    TimedOut,
    /// Anything else the network said (DNS, TLS, reset), as its own words.
    Other(String),
}

impl std::fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectCause::Refused => f.write_str("connection refused"),
            ConnectCause::TimedOut => f.write_str("timed out"),
            ConnectCause::Other(what) => f.write_str(what),
        }
    }
}

/// An operation that never reached the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub operation: String,
    pub target: Target,
    pub cause: ConnectCause,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Unreachable {
            operation,
            target,
            cause,
        } = self;
        write!(
            f,
            "{operation}: could not connect to {} ({cause}): ",
            target.endpoint
        )?;
        if target.custom_endpoint {
            f.write_str("is the lab running? check AWS_ENDPOINT_URL / --endpoint-url")
        } else {
            write!(
                f,
                "check the network and the region ({}; --region / AWS_REGION)",
                target.region
            )
        }
    }
}

/// A dispatch failure or timeout as [`PlatformError`]; `None` for the errors a service sent.
pub fn before_the_service<E, R>(
    target: &Target,
    operation: &str,
    e: &SdkError<E, R>,
) -> Option<PlatformError>
where
    E: Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let unreachable = |cause| {
        Some(PlatformError::Unreachable(Unreachable {
            operation: operation.to_string(),
            target: target.clone(),
            cause,
        }))
    };
    match e {
        SdkError::TimeoutError(_) => unreachable(ConnectCause::TimedOut),
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(c) if c.is_timeout() => unreachable(ConnectCause::TimedOut),
            Some(c) if c.is_io() => unreachable(io_cause(c)),
            _ => Some(PlatformError::Setup(format!(
                "{operation} failed before reaching {}: {}",
                target.endpoint,
                first_line(e)
            ))),
        },
        SdkError::ConstructionFailure(_) => Some(PlatformError::Setup(format!(
            "{operation}: cannot build the request: {}",
            first_line(e)
        ))),
        _ => None,
    }
}

/// The `std::io::Error` under a connector error, by kind; its own words otherwise.
fn io_cause(e: &ConnectorError) -> ConnectCause {
    let mut source: Option<&(dyn Error + 'static)> = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => ConnectCause::Refused,
                std::io::ErrorKind::TimedOut => ConnectCause::TimedOut,
                _ => ConnectCause::Other(io.to_string()),
            };
        }
        source = s.source();
    }
    ConnectCause::Other(first_line(e))
}

/// An error and its causes, joined with ": ", up to the first line break (a credential
/// chain's report lists its providers on further lines).
fn first_line(e: &(dyn Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    let joined = parts.join(": ");
    joined.lines().next().unwrap_or_default().to_string()
}

/// Resolves credentials once, before any call, so that having none is said up front as one
/// line instead of as every request's dispatch failure. (One extra resolution: the SDK caches
/// its own separately.)
pub async fn check_credentials(
    config: &aws_config::SdkConfig,
    profile: Option<&str>,
) -> Result<(), PlatformError> {
    let Some(provider) = config.credentials_provider() else {
        return Err(PlatformError::Setup(no_credentials(&[], profile)));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(PlatformError::Setup(credentials_failure(&e, profile))),
    }
}

/// The chain's attempts when every provider had nothing; the failing provider's words when
/// one failed (an expired SSO session, a profile that does not exist).
fn credentials_failure<E: Error + 'static>(e: &E, profile: Option<&str>) -> String {
    match e
        .source()
        .and_then(|s| s.downcast_ref::<ProviderChainError<E>>())
    {
        Some(chain) => {
            let checked: Vec<&str> = chain.attempts().iter().map(|a| a.name()).collect();
            no_credentials(&checked, profile)
        }
        None => {
            format!(
            "could not load AWS credentials{}: {}: check --profile / AWS_PROFILE and ~/.aws/config",
            profile.map(|p| format!(" (profile {p})")).unwrap_or_default(),
            first_line(e)
        )
        }
    }
}

fn no_credentials(checked: &[&str], profile: Option<&str>) -> String {
    let checked: Vec<&str> = checked.iter().map(|name| provider_name(name)).collect();
    let checked = if checked.is_empty() {
        String::new()
    } else {
        format!(" (checked {})", checked.join(", "))
    };
    match profile {
        Some(p) => format!(
            "no AWS credentials found for profile {p}{checked}: run `aws configure --profile {p}` \
             or pass another --profile"
        ),
        None => format!(
            "no AWS credentials found{checked}: set AWS_PROFILE or run `aws configure` (for a \
             lab, any AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY will do)"
        ),
    }
}

/// The default chain's provider names as a person knows them.
fn provider_name(name: &str) -> &str {
    match name {
        "Environment" => "environment",
        "Profile" => "profile",
        "WebIdentityToken" => "web identity",
        "EcsContainer" => "ECS",
        "Ec2InstanceMetadata" => "IMDS",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Target {
        Target {
            endpoint: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            custom_endpoint: true,
        }
    }

    #[test]
    fn a_lab_that_refuses_says_where_and_what_to_check() {
        let e = Unreachable {
            operation: "GetFunctionConfiguration".into(),
            target: lab(),
            cause: ConnectCause::Refused,
        };
        assert_eq!(
            e.to_string(),
            "GetFunctionConfiguration: could not connect to http://127.0.0.1:1 (connection \
             refused): is the lab running? check AWS_ENDPOINT_URL / --endpoint-url"
        );
    }

    #[test]
    fn aws_itself_unreachable_names_the_region() {
        let e = Unreachable {
            operation: "ListFunctions".into(),
            target: Target {
                endpoint: "https://lambda.eu-west-1.amazonaws.com".into(),
                region: "eu-west-1".into(),
                custom_endpoint: false,
            },
            cause: ConnectCause::TimedOut,
        };
        let line = e.to_string();
        assert!(
            line.contains("https://lambda.eu-west-1.amazonaws.com (timed out)"),
            "{line}"
        );
        assert!(line.contains("eu-west-1; --region"), "{line}");
    }

    #[test]
    fn provider_names_read_as_people_say_them() {
        let line = no_credentials(&["Environment", "Profile", "Ec2InstanceMetadata"], None);
        assert!(
            line.starts_with("no AWS credentials found (checked environment, profile, IMDS): "),
            "{line}"
        );
    }
}
