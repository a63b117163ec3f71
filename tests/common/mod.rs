//! Shared set-up for integration tests: a lab on an ephemeral loopback port and AWS clients
//! pointed at it.
#![allow(dead_code)]

pub mod clones;

use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, LabConfig, LabServer};

pub async fn start_lab(profiles: ProfileSet) -> LabServer {
    start_lab_with(LabConfig::new(profiles)).await
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

/// A Lambda client acting in `account` and `region` through the lab's
/// `role/memtune-tuner`, assumed with `external_id` by the SDK's own provider.
pub async fn assumed_lambda_client(
    endpoint: &str,
    account: &str,
    external_id: &str,
    region: &str,
) -> aws_sdk_lambda::Client {
    let base = sdk_config(endpoint).await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/memtune-tuner"
    ))
    .external_id(external_id)
    .configure(&base)
    .build()
    .await;
    let sdk = base
        .into_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build();
    aws_sdk_lambda::Client::new(&sdk)
}

/// A command's stdout then stderr, for assertion messages.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn profiles(text: &str) -> ProfileSet {
    ProfileSet::parse(text, "test-fleet.toml").expect("test fleet parses")
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

/// Each demo profile's configured memory, as the lab starts it.
pub fn demo_memory() -> std::collections::BTreeMap<String, i32> {
    lab::demo_profiles()
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.memory_mb as i32))
        .collect()
}

/// What tuning may change on a function: `$LATEST` memory, published versions, aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionState {
    pub memory_mb: i32,
    pub published: Vec<String>,
    pub aliases: usize,
}

pub async fn function_state(client: &aws_sdk_lambda::Client, name: &str) -> FunctionState {
    let c = client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let versions = client
        .list_versions_by_function()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let aliases = client
        .list_aliases()
        .function_name(name)
        .send()
        .await
        .unwrap();
    FunctionState {
        memory_mb: c.memory_size().unwrap(),
        published: versions
            .versions()
            .iter()
            .filter_map(|v| v.version())
            .filter(|v| *v != "$LATEST")
            .map(str::to_string)
            .collect(),
        aliases: aliases.aliases().len(),
    }
}

/// Every function has the memory it started with and no published version or alias left.
pub async fn assert_untouched(endpoint: &str, original: &std::collections::BTreeMap<String, i32>) {
    let client = lambda_client(endpoint).await;
    for (name, memory) in original {
        let state = function_state(&client, name).await;
        assert_eq!(state.memory_mb, *memory, "{name}: memory not restored");
        let published = &state.published;
        assert!(published.is_empty(), "{name}: versions left: {published:?}");
        assert!(state.aliases == 0, "{name}: aliases left");
    }
}

/// Whether some function differs from how it started: its memory, or a published version.
pub async fn changed(endpoint: &str, original: &std::collections::BTreeMap<String, i32>) -> bool {
    let client = lambda_client(endpoint).await;
    for (name, memory) in original {
        let state = function_state(&client, name).await;
        if state.memory_mb != *memory || !state.published.is_empty() {
            return true;
        }
    }
    false
}

/// Waits (up to 30 s) until [`changed`].
pub async fn wait_until_changed(
    endpoint: &str,
    original: &std::collections::BTreeMap<String, i32>,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if changed(endpoint, original).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the run never changed a function");
}

/// Sends a signal (`"-TERM"`, `"-INT"`) to a process with kill(1).
pub fn signal(pid: u32, which: &str) {
    let sent = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {which} {pid} failed");
}

/// A function's RevisionId: every change to `$LATEST` (memory included) gives it a new one.
pub async fn revision(client: &aws_sdk_lambda::Client, name: &str) -> String {
    client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap()
        .revision_id()
        .unwrap()
        .to_string()
}

/// Asserts that `$LATEST` is still at `revision` (its memory never changed, not even and
/// back) and that no version of the function was ever published: Lambda numbers versions
/// from 1 and never reuses a number, so the next one is 1 only if none ever was. Publishes
/// that version to find out.
pub async fn assert_never_changed(
    client: &aws_sdk_lambda::Client,
    name: &str,
    revision_before: &str,
) {
    assert_eq!(
        revision(client, name).await,
        revision_before,
        "{name}: $LATEST was changed"
    );
    let next = client
        .publish_version()
        .function_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        next.version(),
        Some("1"),
        "{name}: a version had been published before"
    );
}

/// The one line a refused command printed on stderr (exit 2), without the `memtune: `.
pub fn one_line_refusal(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "expected exit 2: {stderr}");
    let line = stderr.trim_end();
    assert!(!line.contains('\n'), "more than one line: {stderr}");
    line.strip_prefix("memtune: ")
        .unwrap_or_else(|| panic!("not a memtune error line: {stderr}"))
        .to_string()
}
