//! A colleague changes the function while `memtune recommend` has `$LATEST` at a test size:
//! memtune stops, publishes nothing of their configuration, puts memory back (memory alone)
//! and keeps their change; after kill -9, `memtune restore` does the same. The lab's
//! `edit_at_test_size` hook lands the edit the moment the function has settled at a test size.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{lambda_client, profiles, start_lab_with};
use memtune_lab::{LabConfig, LabServer};
use serde_json::{json, Value};

const NAME: &str = "image-resize";
const ORIGINAL_MB: i32 = 512;
const SIZES: &str = "128,256,1024";

const FLEET: &str = r#"
[[function]]
name = "image-resize"
memory_mb = 512
timeout_s = 60
[function.workload]
cpu_ms = 400.0
working_set_mb = 90
noise_cv = 0.03
"#;

struct Env {
    lab: LabServer,
    state: tempfile::TempDir,
}

/// `time_scale` 0 answers at once; above 0, an update stays InProgress 1.5 s times it.
async fn env(time_scale: f64) -> Env {
    let mut config = LabConfig::new(profiles(FLEET));
    config.time_scale = time_scale;
    Env {
        lab: start_lab_with(config).await,
        state: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn memtune(&self, args: &[&str]) -> tokio::process::Command {
        common::memtune(&self.lab.endpoint(), self.state.path(), args)
    }

    async fn run(&self, args: &[&str]) -> (Output, String) {
        let out = self.memtune(args).output().await.unwrap();
        let text = common::text(&out);
        (out, text)
    }

    async fn recommend(&self) -> (Output, String) {
        self.run(&["recommend", NAME, "--sizes", SIZES, "--no-production"])
            .await
    }

    fn queue_edit(&self, edit: &Value) {
        self.lab.lab.edit_at_test_size(NAME, edit.clone()).unwrap();
    }

    /// The edit landed and Lambda took it.
    fn assert_edit_landed(&self, edit: &Value) {
        assert_eq!(
            self.lab.lab.landed_edit(NAME),
            Some(Ok(())),
            "the edit {edit} never landed at a test size"
        );
    }

    /// $LATEST as the SDK reads it (the pending configuration while an update runs).
    async fn latest(&self) -> Value {
        latest_configuration(&self.lab.endpoint()).await
    }

    async fn state(&self) -> common::FunctionState {
        let client = lambda_client(&self.lab.endpoint()).await;
        common::function_state(&client, NAME).await
    }

    /// Original memory, no version or alias left, and no version was ever published.
    async fn assert_memory_back_and_nothing_published(&self, context: &str) {
        let state = self.state().await;
        assert_eq!(
            state.memory_mb, ORIGINAL_MB,
            "{context}: memory not restored"
        );
        assert!(
            state.published.is_empty(),
            "{context}: versions left: {state:?}"
        );
        assert_eq!(state.aliases, 0, "{context}: aliases left");
        self.assert_nothing_published(context);
    }

    fn assert_nothing_published(&self, context: &str) {
        let published = self.lab.lab.stats().functions[NAME].versions_published;
        assert_eq!(
            published, 0,
            "{context}: memtune published {published} version(s) of a configuration it did not set"
        );
    }

    async fn wait_until_settled(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if self.latest().await["LastUpdateStatus"] == "Successful" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{NAME} never settled");
    }
}

/// What the tests look at in $LATEST's configuration, through the SDK.
async fn latest_configuration(endpoint: &str) -> Value {
    let config = lambda_client(endpoint)
        .await
        .get_function_configuration()
        .function_name(NAME)
        .send()
        .await
        .unwrap();
    json!({
        "MemorySize": config.memory_size(),
        "Timeout": config.timeout(),
        "Description": config.description(),
        "Variables": config.environment().and_then(|e| e.variables()),
        "LastUpdateStatus": config.last_update_status().map(|s| s.as_str()),
    })
}

/// Whether $LATEST (as [`latest_configuration`] shows it) still has the edit.
type Kept = fn(&Value) -> bool;

/// Each edit, and how to see on $LATEST that it was kept.
fn edits() -> Vec<(&'static str, Value, Kept)> {
    vec![
        ("Timeout", json!({"Timeout": 45}), |c| c["Timeout"] == 45),
        (
            "Description",
            json!({"Description": "resizes thumbnails (edited)"}),
            |c| c["Description"] == "resizes thumbnails (edited)",
        ),
        (
            "Environment",
            json!({"Environment": {"Variables": {"QUALITY": "high"}}}),
            |c| c["Variables"] == json!({"QUALITY": "high"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_at_a_test_size_is_kept_and_memory_goes_back() {
    for (setting, edit, kept) in edits() {
        let env = env(0.0).await;
        env.queue_edit(&edit);
        let (out, text) = env.recommend().await;
        env.assert_edit_landed(&edit);
        assert_eq!(out.status.code(), Some(1), "{setting}: {text}");
        assert!(
            text.contains("changed by someone else") && text.contains(setting),
            "{setting}: the run must say what changed: {text}"
        );
        assert!(
            text.contains(&format!("memory back to {ORIGINAL_MB} MB"))
                && text.contains(&format!("kept someone else's change to {setting}")),
            "{setting}: {text}"
        );
        env.assert_memory_back_and_nothing_published(setting).await;
        let latest = env.latest().await;
        assert!(kept(&latest), "{setting}: the edit was not kept: {latest}");
        let (_, restore) = env.run(&["restore"]).await;
        assert!(
            restore.contains("nothing to restore"),
            "{setting}: {restore}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_at_a_test_size_restore_puts_memory_back_and_keeps_the_edit() {
    for (setting, edit, kept) in edits() {
        // Updates stay InProgress 450 ms: memtune cannot touch memory while the edit's update
        // runs, so the kill lands with memory at a test size.
        let env = env(0.3).await;
        env.queue_edit(&edit);
        let mut child = env
            .memtune(&["recommend", NAME, "--sizes", SIZES, "--no-production"])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while env.lab.lab.landed_edit(NAME).is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{setting}: the edit never landed"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill().await.unwrap(); // SIGKILL
        env.assert_edit_landed(&edit);
        let at_kill = env.latest().await;
        assert_ne!(
            at_kill["MemorySize"], ORIGINAL_MB,
            "{setting}: the kill should land with memory at a test size: {at_kill}"
        );
        env.wait_until_settled().await;

        let (out, text) = env.run(&["restore"]).await;
        assert!(out.status.success(), "{setting}: {text}");
        assert!(
            text.contains(&format!("memory back to {ORIGINAL_MB} MB"))
                && text.contains(&format!("kept someone else's change to {setting}")),
            "{setting}: {text}"
        );
        env.assert_memory_back_and_nothing_published(setting).await;
        let latest = env.latest().await;
        assert!(kept(&latest), "{setting}: the edit was not kept: {latest}");
        let (_, again) = env.run(&["restore"]).await;
        assert!(again.contains("nothing to restore"), "{setting}: {again}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_set_by_someone_else_is_kept_and_reported() {
    let env = env(0.0).await;
    let edit = json!({"MemorySize": 1000});
    env.queue_edit(&edit);
    let (out, text) = env.recommend().await;
    env.assert_edit_landed(&edit);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("MemorySize set to 1000 MB"), "{text}");
    assert!(
        text.contains("NOT restored: memory was set to 1000 MB by someone else"),
        "{text}"
    );
    let state = env.state().await;
    assert_eq!(state.memory_mb, 1000, "their memory must be kept");
    assert!(state.published.is_empty(), "versions left: {state:?}");
    env.assert_nothing_published("MemorySize");
    let (_, restore) = env.run(&["restore"]).await;
    assert!(restore.contains("nothing to restore"), "{restore}");
}

/// Settings memtune did not look at before: a settle to any of them is someone else's
/// configuration, never published as memtune's.
#[tokio::test(flavor = "multi_thread")]
async fn a_settle_to_a_configuration_memtune_did_not_set_publishes_no_version() {
    let edits = [
        ("Handler", json!({"Handler": "resize.main"})),
        (
            "Role",
            json!({"Role": "arn:aws:iam::123456789012:role/image-resize-v2"}),
        ),
        (
            "Layers",
            json!({"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:pillow:7"]}),
        ),
        (
            "VpcConfig",
            json!({"VpcConfig": {"SubnetIds": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]}}),
        ),
        (
            "EphemeralStorage",
            json!({"EphemeralStorage": {"Size": 4096}}),
        ),
        (
            "SnapStart",
            json!({"SnapStart": {"ApplyOn": "PublishedVersions"}}),
        ),
        (
            "TracingConfig",
            json!({"TracingConfig": {"Mode": "Active"}}),
        ),
    ];
    for (setting, edit) in edits {
        let env = env(0.0).await;
        env.queue_edit(&edit);
        let (out, text) = env.recommend().await;
        env.assert_edit_landed(&edit);
        assert_eq!(out.status.code(), Some(1), "{setting}: {text}");
        assert!(
            text.contains(&format!("kept someone else's change to {setting}")),
            "{setting}: {text}"
        );
        env.assert_memory_back_and_nothing_published(setting).await;
    }
}
