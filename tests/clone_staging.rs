//! `--isolate clone` of a function whose .zip is larger than the 50 MB CreateFunction takes
//! inline, through the real binary against a lab: the package goes through the S3 staging
//! bucket, and neither the copy nor the staged object is left behind, also after kill -9 and
//! `memtune restore`, and in a fleet run. Without a staging bucket, one line says which flag
//! is missing.

mod common;

use std::time::Duration;

use common::clones::CloneEnv as Env;
use common::text;
use common::{lambda_client, profiles};
use memtune_lab::LabConfig;

/// `big`'s package is 51 MB: over CreateFunction's 50 MB inline limit.
const FLEET: &str = r#"
[[function]]
name = "big"
memory_mb = 512
timeout_s = 60
code_mb = 51
[function.workload]
cpu_ms = 300.0
working_set_mb = 100
noise_cv = 0.03
"#;

const BUCKET: &str = "deploy-staging";

async fn env_with(time_scale: f64) -> Env {
    env_denying(time_scale, "").await
}

async fn env_denying(time_scale: f64, deny: &str) -> Env {
    let mut config = LabConfig::new(profiles(FLEET));
    config.time_scale = time_scale;
    config.deny = deny.parse().unwrap();
    let env = Env::start(config).await;
    assert!(env.lab.lab.objects.create_bucket(BUCKET));
    env
}

impl Env {
    fn staged(&self) -> Vec<String> {
        self.lab.lab.objects.keys(BUCKET)
    }

    /// Every journal line of every run (finished or not), as written.
    fn journal_lines(&self) -> String {
        let dir = self.state.path().join("journal");
        let mut all = String::new();
        for sub in [dir.clone(), dir.join("done")] {
            for entry in std::fs::read_dir(sub).into_iter().flatten().flatten() {
                if entry.path().extension().is_some_and(|e| e == "jsonl") {
                    all.push_str(&std::fs::read_to_string(entry.path()).unwrap());
                }
            }
        }
        all
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn code_over_50_mb_is_copied_through_the_staging_bucket_and_nothing_is_left() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "big").await;
    let out = env
        .run(&[
            "recommend",
            "big",
            "--isolate",
            "clone",
            "--staging-bucket",
            BUCKET,
            "--sizes",
            "1024,2048",
            "--invocations",
            "4",
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["function"]["name"], "big");
    common::assert_never_changed(&client, "big", &before).await;
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    assert!(env.staged().is_empty(), "staged: {:?}", env.staged());
    // The copy was made from the staged object, which was journaled before it was put.
    let journal = env.journal_lines();
    let stage = journal
        .find("\"intend_stage\"")
        .expect("no intend_stage line");
    assert!(journal.contains("\"event\":\"stage_deleted\""), "{journal}");
    assert!(
        journal.contains(&format!("\"bucket\":\"{BUCKET}\"")),
        "{journal}"
    );
    assert!(stage > journal.find("\"intend_clone\"").unwrap());
    // The copy ran the sizes (with the original's code, so its behaviour); the original none.
    let stats = env.lab.lab.stats();
    assert_eq!(stats.functions.get("big").map_or(0, |f| f.invocations), 0);
    assert!(stats.invocations >= 8, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_staging_bucket_the_copy_is_refused_in_one_line_naming_the_flag() {
    let env = env_with(0.0).await;
    let out = env
        .run(&["recommend", "big", "--isolate", "clone", "--sizes", "1024"])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("more than the 50 MB CreateFunction takes inline"),
        "{err}"
    );
    assert!(err.contains("pass --staging-bucket BUCKET"), "{err}");
    assert!(env.copies().await.is_empty());
    assert_eq!(env.lab.lab.stats().invocations, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_bucket_that_does_not_exist_is_refused_before_anything_is_made() {
    let env = env_with(0.0).await;
    let out = env
        .run(&[
            "recommend",
            "big",
            "--isolate",
            "clone",
            "--staging-bucket",
            "no-such-staging",
        ])
        .await;
    let line = common::one_line_refusal(&out);
    assert!(
        line.contains("the staging bucket no-such-staging does not exist"),
        "{line}"
    );
    assert!(env.copies().await.is_empty());
    assert!(env.journal_lines().is_empty(), "nothing was journaled");

    // Only a copy has code to stage.
    let out = env
        .run(&["recommend", "big", "--staging-bucket", BUCKET])
        .await;
    let line = common::one_line_refusal(&out);
    assert!(line.contains("use it with --isolate clone"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_put_object_is_one_line_and_leaves_no_copy_and_no_journal_open() {
    let env = env_denying(0.0, "s3:PutObject").await;
    let out = env
        .run(&[
            "recommend",
            "big",
            "--isolate",
            "clone",
            "--staging-bucket",
            BUCKET,
            "--sizes",
            "1024",
        ])
        .await;
    // A denial is a refusal, as IAM's are elsewhere: exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot stage the code of big in s3://{BUCKET}/")),
        "{err}"
    );
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(env.copies().await.is_empty());
    assert!(env.staged().is_empty());
    let again = env.run(&["restore"]).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_the_package_is_staged_then_restore_deletes_it_and_the_copy() {
    // A new function is Pending for a simulated second: at 0.1 the staged object lives
    // ~100 ms before the run deletes it.
    let env = env_with(0.1).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "big").await;
    let mut child = env
        .command(&[
            "recommend",
            "big",
            "--isolate",
            "clone",
            "--staging-bucket",
            BUCKET,
            "--sizes",
            "1024,2048,3008",
        ])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while env.staged().is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing was staged");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().await.unwrap(); // SIGKILL
    assert_eq!(
        env.staged().len(),
        1,
        "the kill should leave the staged object"
    );

    let out = env.run(&["restore", "--function", "big"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "and its package staged in s3://{BUCKET}/memtune-staging/"
        )),
        "{stdout}"
    );
    assert!(env.staged().is_empty(), "restore left the staged object");
    assert!(env.copies().await.is_empty(), "restore left the copy");
    common::assert_never_changed(&client, "big", &before).await;
    let again = env.run(&["restore"]).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_run_stages_through_its_configured_bucket_and_leaves_nothing() {
    let env = env_with(0.0).await;
    let client = lambda_client(&env.lab.endpoint()).await;
    let before = common::revision(&client, "big").await;
    let config = env.state.path().join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "[select]\nnames = [\"big\"]\n\n[tuning]\nisolate = \"clone\"\nstaging_bucket = \"{BUCKET}\"\n\
             allow_empty_payload = true\nsizes = [1024, 2048]\ninvocations = 4\nsearch = \"grid\"\n"
        ),
    )
    .unwrap();
    let out = env
        .run(&[
            "fleet",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.journal_lines().contains("\"intend_stage\""));
    assert!(env.copies().await.is_empty(), "a copy was left behind");
    assert!(env.staged().is_empty(), "staged: {:?}", env.staged());
    common::assert_never_changed(&client, "big", &before).await;
}
