//! The lines a person sees when memtune cannot do what was asked: one line on stderr saying
//! what failed and what to do, the exit code, and no Debug structures. Everything stays on
//! loopback: a dead port, or a lab on an ephemeral one.

mod common;

use std::process::Output;

use common::{memtune, start_lab};
use memtune_lab::demo_profiles;

/// A loopback address nothing listens on: bound once to get a free port, then released.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One line, starting `memtune: `, with none of the SDK's Debug structures in it.
fn assert_one_clean_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("memtune: "), "{err}");
    for debug in ["DispatchFailure(", "ConnectorError", "{ ", "Some("] {
        assert!(!err.contains(debug), "Debug output {debug:?}: {err}");
    }
    err
}

async fn run(endpoint: &str, args: &[&str]) -> Output {
    let state = tempfile::tempdir().unwrap();
    memtune(endpoint, state.path(), args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dead_endpoint_is_named_with_what_to_check() {
    let endpoint = dead_endpoint();
    for args in [&["recommend", "orders-api"][..], &["list"]] {
        let out = run(&endpoint, args).await;
        let err = assert_one_clean_line(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "could not connect to {endpoint} (connection refused)"
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("is the lab running? check AWS_ENDPOINT_URL / --endpoint-url"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn dash_v_adds_the_sdk_error_in_debug_logs() {
    let endpoint = dead_endpoint();
    let out = run(&endpoint, &["recommend", "orders-api", "-v"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("AWS call failed"), "{err}");
    assert!(err.contains("dispatch failure"), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("memtune: cannot read orders-api: "),
        "{err}"
    );
}

#[tokio::test]
async fn inspect_that_cannot_connect_says_so_instead_of_a_table() {
    let endpoint = dead_endpoint();
    let out = run(&endpoint, &["inspect", "orders-api"]).await;
    let err = assert_one_clean_line(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot inspect orders-api: "), "{err}");
    assert!(
        err.contains(&format!("could not connect to {endpoint}")),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn missing_credentials_list_what_was_checked() {
    // A lab that would answer, so that only the credentials are missing. IMDS is disabled and
    // the config and credentials files are empty: nothing leaves loopback.
    let lab = start_lab(demo_profiles()).await;
    let home = tempfile::tempdir().unwrap();
    let empty = |name: &str| {
        let path = home.path().join(name);
        std::fs::write(&path, "").unwrap();
        path
    };
    let (config, credentials) = (empty("config"), empty("credentials"));
    let state = tempfile::tempdir().unwrap();
    let mut cmd = memtune(&lab.endpoint(), state.path(), &["recommend", "orders-api"]);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("HOME", home.path())
        .output()
        .await
        .unwrap();
    let err = assert_one_clean_line(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no AWS credentials found (checked environment, profile, web identity, ECS, IMDS): set AWS_PROFILE or run `aws configure`"),
        "{err}"
    );
    assert!(!err.contains("IMDS session token"), "{err}");
    assert_eq!(lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_selection_that_matches_nothing_is_exit_2_and_records_nothing() {
    let lab = start_lab(demo_profiles()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cases = [
        (
            "[select]\nnames = [\"no-such-*\"]\n",
            "(names = [\"no-such-*\"]) matches none of the 15 functions in us-east-1: \
             `memtune list` shows them",
        ),
        (
            "[select]\nnames = [\"orders-*\"]\nexclude = [\"orders-*\"]\n",
            "excludes every function it matches (1 function): check `exclude`",
        ),
    ];
    for (text, expected) in cases {
        let config = dir.path().join("fleet.toml");
        std::fs::write(&config, text).unwrap();
        let config = config.display().to_string();
        for extra in [&[][..], &["--dry-run"]] {
            let mut args = vec!["fleet", "--config", &config];
            args.extend_from_slice(extra);
            let out = memtune(&lab.endpoint(), &state, &args)
                .output()
                .await
                .unwrap();
            let err = assert_one_clean_line(&out);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(err.contains(&format!("[select] in {config}")), "{err}");
            assert!(err.contains(expected), "{err}");
            assert!(
                out.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    assert!(
        !state.join("history.sqlite3").exists(),
        "an empty run was recorded"
    );
    assert_eq!(lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_slo_the_strategy_ignores_is_exit_2() {
    let lab = start_lab(demo_profiles()).await;
    for (args, flag) in [
        (&["--strategy", "speed", "--slo-ms", "100"][..], "--slo-ms"),
        (
            &["--strategy", "cost", "--slo-percentile", "p90"],
            "--slo-percentile",
        ),
    ] {
        let mut all = vec!["recommend", "orders-api"];
        all.extend_from_slice(args);
        let out = run(&lab.endpoint(), &all).await;
        let err = assert_one_clean_line(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{flag} sets a latency target, which strategy '{}' does not use",
                args[1]
            )),
            "{err}"
        );
        assert!(err.contains("use --strategy latency-slo"), "{err}");
    }
    assert_eq!(lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_file_without_its_at_sign_says_how_to_read_it() {
    let lab = start_lab(demo_profiles()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("w.json"),
        r#"[{"weight": 1, "payload": {}}]"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("event.json"), "{}").unwrap();
    for (flag, file) in [("--payloads", "w.json"), ("--payload", "event.json")] {
        let state = tempfile::tempdir().unwrap();
        let out = memtune(
            &lab.endpoint(),
            state.path(),
            &["recommend", "orders-api", flag, file],
        )
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
        let err = assert_one_clean_line(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{flag} {file} is not JSON: to read a file, write @{file}"
            )),
            "{err}"
        );
    }
    assert_eq!(lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn architectures_with_apply_is_one_line_exit_2_and_touches_nothing() {
    let lab = start_lab(demo_profiles()).await;
    let client = common::lambda_client(&lab.endpoint()).await;
    let count =
        |l: aws_sdk_lambda::operation::list_functions::ListFunctionsOutput| l.functions().len();
    let before = count(client.list_functions().send().await.unwrap());
    let state = tempfile::tempdir().unwrap();
    let out = memtune(
        &lab.endpoint(),
        state.path(),
        &[
            "recommend",
            "orders-api",
            "--architectures",
            "x86_64,arm64",
            "--apply",
            "--yes",
        ],
    )
    .output()
    .await
    .unwrap();
    let err = assert_one_clean_line(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--architectures recommends an architecture and --apply sets memory only"),
        "{err}"
    );
    assert!(!err.contains("Usage:"), "{err}");
    assert_eq!(lab.lab.stats().invocations, 0);
    let after = count(client.list_functions().send().await.unwrap());
    assert_eq!(after, before, "nothing was created");
    assert_eq!(
        std::fs::read_dir(state.path()).unwrap().count(),
        0,
        "nothing was written to the state directory"
    );
}

#[tokio::test]
async fn a_flag_clap_refuses_is_one_line_naming_the_help() {
    let endpoint = dead_endpoint();
    let cases: [(&[&str], &str); 3] = [
        (
            &["recommend", "orders-api", "--passive", "--apply"],
            "the argument '--passive' cannot be used with '--apply' (see `memtune recommend --help`)",
        ),
        (
            &["recommend", "orders-api", "--strat", "cost"],
            "a similar argument exists: '--strategy'",
        ),
        (
            &["report", "--from", "run.json", "--format", "pdf"],
            "(see `memtune report --help`)",
        ),
    ];
    for (args, expected) in cases {
        let out = run(&endpoint, args).await;
        let err = assert_one_clean_line(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("Usage:"), "{err}");
    }
}
