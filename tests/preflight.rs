//! The preflight through the real binary against a lab: what would make a run fail half-way
//! (a payload Lambda refuses, a permission IAM denies, a state directory that cannot hold
//! the journals or the history, another run's unreadable journal, `--apply` with nobody to
//! ask) ends the command with one line and exit 2 before anything is invoked or changed.

mod common;

use std::path::Path;
use std::process::Output;

use common::{assert_never_changed, lambda_client, one_line_refusal, revision, start_lab_with};
use memtune::platform::aws::AwsLambda;
use memtune::preflight::{permissions, Needs, PreflightError};
use memtune_lab::{LabConfig, LabServer};
use tokio::process::Command;

const FLEET: &str = r#"
[[function]]
name = "cpu"
memory_mb = 512
[function.workload]
cpu_ms = 200.0

[[function]]
name = "io"
memory_mb = 1024
[function.workload]
cpu_ms = 2.0
io_ms = 50.0
"#;

const FLEET_CONFIG: &str = r#"
[select]
names = ["cpu", "io"]
[tuning]
allow_empty_payload = true
search = "grid"
sizes = [128, 256]
invocations = 2
"#;

struct Env {
    lab: LabServer,
    dir: tempfile::TempDir,
    client: aws_sdk_lambda::Client,
    /// Each function's RevisionId as the lab started.
    revisions: Vec<(String, String)>,
}

async fn env_denying(deny: &str) -> Env {
    let mut config = LabConfig::new(common::profiles(FLEET));
    config.deny = deny.parse().unwrap();
    let lab = start_lab_with(config).await;
    let client = lambda_client(&lab.endpoint()).await;
    let mut revisions = Vec::new();
    for name in ["cpu", "io"] {
        revisions.push((name.to_string(), revision(&client, name).await));
    }
    Env {
        lab,
        dir: tempfile::tempdir().unwrap(),
        client,
        revisions,
    }
}

async fn env() -> Env {
    env_denying("").await
}

impl Env {
    fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    fn command_in(&self, state: &Path, args: &[&str]) -> Command {
        common::memtune(&self.lab.endpoint(), state, args)
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command_in(&self.state(), args).output().await.unwrap()
    }

    fn fleet_config(&self) -> String {
        let path = self.dir.path().join("fleet.toml");
        std::fs::write(&path, FLEET_CONFIG).unwrap();
        path.display().to_string()
    }

    /// The lab ran no invocation, `$LATEST` of every function is as it started and no
    /// version was ever published (none could be where the lab denies PublishVersion).
    async fn assert_nothing_ran(&self) {
        assert_eq!(self.lab.lab.stats().invocations, 0, "the lab was invoked");
        let can_publish = !self.lab.lab.config.deny.denies("lambda:PublishVersion");
        for (name, before) in &self.revisions {
            if can_publish {
                assert_never_changed(&self.client, name, before).await;
            } else {
                assert_eq!(
                    &revision(&self.client, name).await,
                    before,
                    "{name} changed"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seven_mb_payload_exits_2_before_any_version_is_published() {
    let env = env().await;
    let payload = env.dir.path().join("big.json");
    let blob = "x".repeat(7 * 1024 * 1024);
    std::fs::write(&payload, format!(r#"{{"image": "{blob}"}}"#)).unwrap();
    let arg = format!("@{}", payload.display());
    let out = env.run(&["recommend", "cpu", "--payload", &arg]).await;
    let line = one_line_refusal(&out);
    assert!(line.contains("7340045 bytes"), "{line}");
    assert!(line.contains("smaller than 6291456 bytes"), "{line}");
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_payload_too_large_in_a_weighted_set_is_named() {
    let env = env().await;
    let payloads = env.dir.path().join("set.json");
    let blob = "y".repeat(6 * 1024 * 1024);
    std::fs::write(
        &payloads,
        format!(
            r#"[{{"weight": 9, "payload": {{}}}}, {{"weight": 1, "payload": {{"b": "{blob}"}}}}]"#
        ),
    )
    .unwrap();
    let arg = format!("@{}", payloads.display());
    let out = env.run(&["recommend", "cpu", "--payloads", &arg]).await;
    let line = one_line_refusal(&out);
    assert!(
        line.starts_with("payload 2 of 2 of --payloads is"),
        "{line}"
    );
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_delete_function_exits_2_before_any_version_is_published() {
    let env = env_denying("lambda:DeleteFunction").await;
    let out = env.run(&["recommend", "cpu"]).await;
    let line = one_line_refusal(&out);
    assert!(
        line.starts_with(
            "IAM denies lambda:DeleteFunction (to delete the versions it publishes) on cpu"
        ),
        "{line}"
    );
    assert!(line.contains("docs/iam.md"), "{line}");
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_run_with_a_denied_permission_exits_2_naming_it_before_anything_runs() {
    let env = env_denying("lambda:PublishVersion,lambda:InvokeFunction").await;
    let config = env.fleet_config();
    // Without production data, so stderr has no progress line before the refusal.
    let out = env
        .run(&["fleet", "--config", &config, "--no-production"])
        .await;
    let line = one_line_refusal(&out);
    assert!(line.contains("lambda:InvokeFunction (to invoke"), "{line}");
    assert!(line.contains("lambda:PublishVersion (to publish"), "{line}");
    assert!(line.contains(" and 1 more functions"), "{line}");
    env.assert_nothing_ran().await;
    // Refused before it began: the history has no run.
    let history = env.run(&["history", "--format", "json"]).await;
    let runs: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(runs, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_probes_nothing_and_needs_no_sweep_permission() {
    // Denied everything a sweep needs: a plan or an estimate needs none of it.
    let env = env_denying("lambda:DeleteFunction,lambda:PublishVersion").await;
    let dry = env.run(&["recommend", "cpu", "--dry-run"]).await;
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lab_answers_probes_as_lambda_does_and_they_change_nothing() {
    let env = env().await;
    let api = AwsLambda::new(&common::sdk_config(&env.lab.endpoint()).await);
    let cpu = memtune::platform::LambdaApi::get_configuration(&api, "cpu", None)
        .await
        .unwrap();
    let every = Needs {
        sweep: true,
        update_alias: true,
        copy: false,
    };
    permissions::check(&api, &[&cpu], every).await.unwrap();
    env.assert_nothing_ran().await;

    // Authorization comes first: each denied action is found, on a function as on the
    // versions and aliases that do not exist.
    let actions = [
        "lambda:ListVersionsByFunction",
        "lambda:ListAliases",
        "lambda:InvokeFunction",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PublishVersion",
        "lambda:DeleteFunction",
        "lambda:DeleteAlias",
        "lambda:UpdateAlias",
    ];
    let denying = env_denying(&actions.join(",")).await;
    let api = AwsLambda::new(&common::sdk_config(&denying.lab.endpoint()).await);
    match permissions::check(&api, &[&cpu], every).await {
        Err(PreflightError::Denied(d)) => {
            assert_eq!(d.functions, ["cpu"]);
            assert_eq!(d.actions.into_iter().collect::<Vec<_>>(), {
                let mut sorted = actions.to_vec();
                sorted.sort();
                sorted
            });
        }
        other => panic!("expected every action denied, got {other:?}"),
    }
    denying.assert_nothing_ran().await;

    // Before the resource lookup too: a function that does not exist is denied, not missing;
    // where nothing is denied it is missing, which the probes take as allowed.
    let ghost = memtune::platform::FunctionConfig::sample("ghost", 128);
    let denied = permissions::check(&api, &[&ghost], every).await;
    assert!(
        matches!(&denied, Err(PreflightError::Denied(d)) if d.actions.len() == actions.len()),
        "{denied:?}"
    );
    let open = AwsLambda::new(&common::sdk_config(&env.lab.endpoint()).await);
    permissions::check(&open, &[&ghost], every).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_a_terminal_or_yes_exits_2_before_any_invocation() {
    let env = env().await;
    let out = env
        .command_in(&env.state(), &["recommend", "cpu", "--apply"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let line = one_line_refusal(&out);
    assert!(line.contains("--yes"), "{line}");
    assert!(line.contains("no terminal"), "{line}");
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_directory_that_is_a_file_exits_2_naming_it() {
    let env = env().await;
    let file = env.dir.path().join("state-file");
    std::fs::write(&file, "not a directory").unwrap();
    for args in [
        &["recommend", "cpu"][..],
        &["fleet", "--config", &env.fleet_config()],
    ] {
        let out = env.command_in(&file, args).output().await.unwrap();
        let line = one_line_refusal(&out);
        assert_eq!(
            line,
            format!(
                "{} is a file, not a directory: move it away, or point MEMTUNE_STATE_DIR at a directory",
                file.display()
            ),
            "{args:?}"
        );
    }
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_journal_directory_exits_2_with_one_line_before_anything_runs() {
    use std::os::unix::fs::PermissionsExt;
    let env = env().await;
    let journal = env.state().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    // An unprivileged memtune must reach the state directory, and not write in the journal.
    for dir in [env.dir.path(), &env.state()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // An interrupted run's journal, for `restore` to find.
    let begin = serde_json::json!({
        "event": "begin", "run_id": "20261201-031500-beef", "function": "io",
        "region": null, "endpoint_url": null, "pid": 999_999_999u32,
        "original": {
            "memory_mb": 1024, "timeout_s": 3, "code_sha256": "x", "architecture": "x86_64",
            "runtime": null, "description": "", "log_format": "Text", "revision_id": "r"
        },
        "at": "2026-12-01T03:15:00Z"
    });
    std::fs::write(
        journal.join("20261201-031500-beef--io.jsonl"),
        format!("{begin}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o555)).unwrap();
    let config = env.fleet_config();
    for args in [
        &["recommend", "cpu"][..],
        &["fleet", "--config", &config],
        &["restore"],
    ] {
        let mut cmd = env.command_in(&env.state(), args);
        cmd.env("HOME", env.dir.path());
        // root writes anywhere: run memtune as nobody then, as an operator's account would.
        if std::fs::write(journal.join("probe"), "").is_ok() {
            let _ = std::fs::remove_file(journal.join("probe"));
            cmd.uid(65534).gid(65534);
        }
        let out = cmd.output().await.unwrap();
        let line = one_line_refusal(&out);
        assert!(
            line.starts_with(&format!("cannot write in {} (", journal.display())),
            "{args:?}: {line}"
        );
        assert!(line.contains("make it writable"), "{line}");
    }
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_history_exits_2_with_one_line_before_the_fleet_runs() {
    let env = env().await;
    std::fs::create_dir_all(env.state()).unwrap();
    let history = env.state().join("history.sqlite3");
    std::fs::write(&history, "not SQLite at all, just text ".repeat(200)).unwrap();
    let config = env.fleet_config();
    let out = env.run(&["fleet", "--config", &config]).await;
    let line = one_line_refusal(&out);
    assert!(
        line.starts_with(&format!(
            "the history {} cannot be used (",
            history.display()
        )),
        "{line}"
    );
    assert!(line.contains("move it aside"), "{line}");
    env.assert_nothing_ran().await;
    // `memtune history` says the same, with the same exit code.
    let listed = env.run(&["history"]).await;
    assert_eq!(one_line_refusal(&listed), line);
    // `recommend --apply` records its run there too, so it is refused before it samples;
    // without --apply it does not need the history.
    let apply = env.run(&["recommend", "cpu", "--apply", "--yes"]).await;
    assert_eq!(one_line_refusal(&apply), line);
    env.assert_nothing_ran().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_journal_blocks_runs_on_its_function_and_restore_names_it() {
    let env = env().await;
    let journal_dir = env.state().join("journal");
    std::fs::create_dir_all(&journal_dir).unwrap();
    let journal = journal_dir.join("20261201-031500-dead--cpu.jsonl");
    std::fs::write(&journal, "\u{0}\u{0}garbage where the begin line was\n").unwrap();

    let out = env.run(&["recommend", "cpu"]).await;
    let line = one_line_refusal(&out);
    assert!(line.contains(&journal.display().to_string()), "{line}");
    assert!(line.contains("check cpu by hand"), "{line}");
    assert!(line.contains("memtune:20261201-031500-dead:*"), "{line}");
    assert!(line.contains("then delete the file"), "{line}");
    env.assert_nothing_ran().await;

    // restore does not skip it: it names it, says what to do, and fails.
    let restore = env.run(&["restore"]).await;
    let stdout = String::from_utf8_lossy(&restore.stdout);
    assert_eq!(restore.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&journal.display().to_string()), "{stdout}");
    assert!(stdout.contains("then delete the file"), "{stdout}");
    assert!(!stdout.contains("nothing to restore"), "{stdout}");

    // Other functions are not held up.
    let io = env
        .run(&[
            "recommend",
            "io",
            "--sizes",
            "128,256",
            "--invocations",
            "2",
            "--warmup",
            "0",
        ])
        .await;
    assert!(
        io.status.success(),
        "{}",
        String::from_utf8_lossy(&io.stderr)
    );
    // Once deleted (the function checked by hand), cpu can be tuned again.
    std::fs::remove_file(&journal).unwrap();
    let cpu = env
        .run(&[
            "recommend",
            "cpu",
            "--sizes",
            "128,256",
            "--invocations",
            "2",
            "--warmup",
            "0",
        ])
        .await;
    assert!(
        cpu.status.success(),
        "{}",
        String::from_utf8_lossy(&cpu.stderr)
    );
}
