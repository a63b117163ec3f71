//! `memtune provision` against the lab: provisioned concurrency on the alias production
//! invokes, undone exactly by `memtune rollback`, and by `memtune restore` after kill -9; a
//! level someone else set meanwhile is never clobbered; $LATEST, versions and aliases nobody
//! invokes are refused before anything changes.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{lambda_client, one_line_refusal, profiles, start_lab_with};
use memtune_lab::{LabConfig, LabServer};

const NAME: &str = "orders-api";

const FLEET: &str = r#"
[[function]]
name = "orders-api"
memory_mb = 512
timeout_s = 30
[function.workload]
cpu_ms = 50.0
working_set_mb = 90
"#;

struct Env {
    lab: LabServer,
    state: tempfile::TempDir,
    client: aws_sdk_lambda::Client,
}

/// A function with version 1 behind alias `live`, which production invoked; `unused` points
/// at the same version but nobody calls it. `time_scale` 0.1 keeps a new level IN_PROGRESS
/// for 6 s (Lambda's minute, scaled).
async fn env(time_scale: f64) -> Env {
    env_with(|c| c.time_scale = time_scale).await
}

async fn env_with(set: impl FnOnce(&mut LabConfig)) -> Env {
    let mut config = LabConfig::new(profiles(FLEET));
    set(&mut config);
    let lab = start_lab_with(config).await;
    let client = lambda_client(&lab.endpoint()).await;
    client
        .publish_version()
        .function_name(NAME)
        .send()
        .await
        .unwrap();
    for alias in ["live", "unused"] {
        client
            .create_alias()
            .function_name(NAME)
            .name(alias)
            .function_version("1")
            .send()
            .await
            .unwrap();
    }
    for _ in 0..3 {
        client
            .invoke()
            .function_name(NAME)
            .qualifier("live")
            .send()
            .await
            .unwrap();
    }
    Env {
        lab,
        state: tempfile::tempdir().unwrap(),
        client,
    }
}

/// What provisioning may change, and what must be exactly as found afterwards.
#[derive(Debug, PartialEq)]
struct Found {
    level: Option<i32>,
    latest_revision: String,
    memory_mb: i32,
    alias_version: String,
    alias_revision: String,
    versions: usize,
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

    async fn level(&self) -> Option<i32> {
        match self
            .client
            .get_provisioned_concurrency_config()
            .function_name(NAME)
            .qualifier("live")
            .send()
            .await
        {
            Ok(c) => c.requested_provisioned_concurrent_executions(),
            Err(e) => {
                let service = e.into_service_error();
                assert!(
                    service.is_provisioned_concurrency_config_not_found_exception(),
                    "{service:?}"
                );
                None
            }
        }
    }

    async fn set_level(&self, level: i32) {
        self.client
            .put_provisioned_concurrency_config()
            .function_name(NAME)
            .qualifier("live")
            .provisioned_concurrent_executions(level)
            .send()
            .await
            .unwrap();
    }

    async fn found(&self) -> Found {
        let latest = self
            .client
            .get_function_configuration()
            .function_name(NAME)
            .send()
            .await
            .unwrap();
        let alias = self
            .client
            .get_alias()
            .function_name(NAME)
            .name("live")
            .send()
            .await
            .unwrap();
        let versions = self
            .client
            .list_versions_by_function()
            .function_name(NAME)
            .send()
            .await
            .unwrap();
        Found {
            level: self.level().await,
            latest_revision: latest.revision_id().unwrap().to_string(),
            memory_mb: latest.memory_size().unwrap(),
            alias_version: alias.function_version().unwrap().to_string(),
            alias_revision: alias.revision_id().unwrap().to_string(),
            versions: versions.versions().len(),
        }
    }

    /// The run id `provision` printed in its undo hint.
    fn run_id(text: &str) -> String {
        let start = text.find("memtune rollback ").expect("an undo hint") + 17;
        text[start..].split('`').next().unwrap().trim().to_string()
    }
}

fn provision(level: &str) -> Vec<&str> {
    vec![
        "provision",
        NAME,
        "--alias",
        "live",
        "--level",
        level,
        "--yes",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_then_rollback_leaves_the_function_as_found() {
    let env = env(0.0).await;
    for before in [None, Some(2)] {
        if let Some(level) = before {
            env.set_level(level).await;
        }
        let found = env.found().await;
        let (out, text) = env.run(&provision("5")).await;
        assert!(out.status.success(), "{text}");
        assert!(text.contains("provisioned concurrency 5"), "{text}");
        assert!(
            text.contains("READY"),
            "memtune waits for the allocation: {text}"
        );
        assert_eq!(env.level().await, Some(5));
        let run_id = Env::run_id(&text);
        let (out, history) = env.run(&["history"]).await;
        assert!(
            out.status.success() && history.contains(&run_id),
            "{history}"
        );
        let (out, text) = env.run(&["rollback", &run_id, "--yes"]).await;
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("provisioned concurrency of alias live"),
            "{text}"
        );
        assert_eq!(env.found().await, found, "after rolling back {text}");
        let (out, text) = env.run(&["rollback", &run_id, "--yes"]).await;
        assert!(
            out.status.success() && text.contains("nothing to roll back"),
            "{text}"
        );
    }
    let (out, text) = env.run(&["restore"]).await;
    assert!(
        out.status.success() && text.contains("nothing to restore"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_level_someone_else_set_meanwhile_is_not_clobbered() {
    let env = env(0.0).await;
    let (out, text) = env.run(&provision("3")).await;
    assert!(out.status.success(), "{text}");
    let run_id = Env::run_id(&text);
    env.set_level(7).await;
    let (out, text) = env.run(&["rollback", &run_id, "--yes"]).await;
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("changed since memtune set 3 (now 7)"),
        "{text}"
    );
    assert_eq!(env.level().await, Some(7));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_apply_then_restore_puts_the_previous_level_back() {
    let env = env(0.1).await;
    for before in [None, Some(2)] {
        if let Some(level) = before {
            env.set_level(level).await;
        }
        let found = env.found().await;
        let mut child = env.memtune(&provision("4")).spawn().unwrap();
        // The level lands at once; its allocation then takes 6 s, which memtune waits out.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while env.level().await != Some(4) {
            assert!(std::time::Instant::now() < deadline, "never applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().await.unwrap(); // SIGKILL
        child.wait().await.unwrap();
        let out = env.memtune(&provision("6")).output().await.unwrap();
        assert!(
            one_line_refusal(&out).contains("memtune restore"),
            "a new run waits for the restore"
        );
        let (out, text) = env.run(&["restore"]).await;
        assert!(out.status.success(), "{text}");
        let expected = match before {
            None => "provisioned concurrency of alias live back to none",
            Some(_) => "provisioned concurrency of alias live back to 2",
        };
        assert!(text.contains(expected), "{text}");
        assert_eq!(env.found().await, found, "after restore: {text}");
        let (_, text) = env.run(&["restore"]).await;
        assert!(text.contains("nothing to restore"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_leaves_a_level_someone_else_set_after_the_crash() {
    let env = env(0.1).await;
    let mut child = env.memtune(&provision("4")).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while env.level().await != Some(4) {
        assert!(std::time::Instant::now() < deadline, "never applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap();
    child.wait().await.unwrap();
    env.set_level(9).await;
    let (out, text) = env.run(&["restore"]).await;
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("NOT restored: set to 9 by someone else"),
        "{text}"
    );
    assert_eq!(env.level().await, Some(9));
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_versions_and_aliases_nobody_invokes_are_refused_untouched() {
    let env = env(0.0).await;
    let found = env.found().await;
    for (alias, says) in [
        ("$LATEST", "cannot go on $LATEST"),
        ("1", "'1' is a version"),
        ("unused", "nobody invoked alias unused"),
        ("nope", "Function not found"),
    ] {
        let out = env
            .memtune(&["provision", NAME, "--alias", alias, "--level", "2", "--yes"])
            .output()
            .await
            .unwrap();
        let line = one_line_refusal(&out);
        assert!(line.contains(says), "{alias}: {line}");
    }
    let out = env
        .memtune(&["provision", NAME, "--alias", "live", "--level", "2"])
        .output()
        .await
        .unwrap();
    assert!(one_line_refusal(&out).contains("--yes"));
    assert_eq!(env.found().await, found);
    let unused = env
        .client
        .get_provisioned_concurrency_config()
        .function_name(NAME)
        .qualifier("unused")
        .send()
        .await;
    assert!(unused.is_err(), "nothing set on the unused alias");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_allocation_is_put_back_and_reported() {
    let env = env_with(|c| c.faults = "provisioned-failure=1".parse().unwrap()).await;
    for before in [None, Some(2)] {
        if let Some(level) = before {
            env.set_level(level).await;
        }
        let found = env.found().await;
        let (out, text) = env.run(&provision("5")).await;
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("FUNCTION_ERROR_INIT_FAILURE"), "{text}");
        let back = match before {
            None => "put back to none",
            Some(_) => "put back to 2",
        };
        assert!(text.contains(back), "{text}");
        assert_eq!(env.found().await, found);
        let (_, text) = env.run(&["restore"]).await;
        assert!(text.contains("nothing to restore"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_change_is_one_line_and_exit_2() {
    let env =
        env_with(|c| c.deny = "lambda:PutProvisionedConcurrencyConfig".parse().unwrap()).await;
    let found = env.found().await;
    let out = env.memtune(&provision("5")).output().await.unwrap();
    let line = one_line_refusal(&out);
    assert!(
        line.contains("lambda:PutProvisionedConcurrencyConfig"),
        "{line}"
    );
    assert!(line.contains("docs/iam.md"), "{line}");
    assert_eq!(env.found().await, found);
    let (_, text) = env.run(&["restore"]).await;
    assert!(text.contains("nothing to restore"), "{text}");
}
