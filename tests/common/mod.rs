//! Shared set-up for integration tests: a lab on an ephemeral loopback port and AWS clients
//! pointed at it.
#![allow(dead_code)]

use memtune::lab::fleet::Fleet;
use memtune::lab::{self, LabConfig, LabServer};

pub async fn start_lab(fleet: Fleet) -> LabServer {
    start_lab_with(LabConfig::new(fleet)).await
}

pub async fn start_lab_with(config: LabConfig) -> LabServer {
    lab::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("lab starts on an ephemeral port")
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIDLAB", "secret", None, None, "lab",
        ))
        .load()
        .await
}

pub async fn lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config(endpoint).await)
}

pub fn fleet(text: &str) -> Fleet {
    Fleet::parse(text, "test-fleet.toml").expect("test fleet parses")
}

/// The memtune binary, pointed at a lab with throwaway credentials and its own state dir.
pub fn memtune(
    endpoint: &str,
    state_dir: &std::path::Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_memtune"));
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("MEMTUNE_STATE_DIR", state_dir)
        .kill_on_drop(true);
    cmd
}
