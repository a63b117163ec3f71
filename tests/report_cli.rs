//! `--format markdown|html|csv` of `recommend` against a lab, and `memtune report` re-rendering
//! what `recommend --format json` stored; bad input is one line and exit 2.

mod common;

use common::{profiles, start_lab_with};
use memtune_lab::LabConfig;

const FLEET: &str = r#"
[[function]]
name = "cpu"
memory_mb = 512
timeout_s = 60
[function.workload]
cpu_ms = 400.0
working_set_mb = 100
noise_cv = 0.03
"#;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn recommend_renders_every_format_and_report_renders_the_stored_run_again() {
    let lab = start_lab_with(LabConfig::new(profiles(FLEET))).await;
    let state = tempfile::tempdir().unwrap();
    let recommend = |format: &str| {
        let args = [
            "recommend",
            "cpu",
            "--search",
            "grid",
            "--sizes",
            "256,512,1024,1769",
            "--invocations",
            "5",
            "--no-production",
            "--format",
            format,
        ];
        common::memtune(&lab.endpoint(), state.path(), &args).output()
    };
    let json = stdout(&recommend("json").await.unwrap());
    let markdown = stdout(&recommend("markdown").await.unwrap());
    assert!(markdown.starts_with("## memtune: "), "{markdown}");
    assert!(markdown.contains("| `cpu` | 512"), "{markdown}");
    assert!(
        markdown.contains("<details><summary><b>cpu</b>"),
        "{markdown}"
    );
    assert!(
        markdown.contains("**Reproduce:** `memtune recommend cpu --search grid"),
        "{markdown}"
    );
    let csv = stdout(&recommend("csv").await.unwrap());
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "header and one row per size:\n{csv}"
    );
    let html = stdout(&recommend("html").await.unwrap());
    assert_eq!(html.matches("<svg").count(), 2, "duration and cost charts");

    let dir = tempfile::tempdir().unwrap();
    let stored = dir.path().join("run.json");
    std::fs::write(&stored, &json).unwrap();
    let rendered = dir.path().join("again.json");
    let invoked = lab.lab.stats().invocations;
    let out = common::memtune(
        &lab.endpoint(),
        state.path(),
        &[
            "report",
            "--from",
            stored.to_str().unwrap(),
            "--format",
            "json",
            "-o",
            rendered.to_str().unwrap(),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&rendered).unwrap(), json);
    assert_eq!(
        lab.lab.stats().invocations,
        invoked,
        "report invokes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_one_line_and_exit_2() {
    let lab = start_lab_with(LabConfig::new(profiles(FLEET))).await;
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let not_a_run = dir.path().join("other.json");
    std::fs::write(&not_a_run, r#"{"window": 1}"#).unwrap();
    let missing = dir.path().join("missing.json");
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec![
                "report",
                "--from",
                missing.to_str().unwrap(),
                "--format",
                "html",
            ],
            "--from: cannot read",
        ),
        (
            vec![
                "report",
                "--from",
                not_a_run.to_str().unwrap(),
                "--format",
                "html",
            ],
            "neither a fleet run",
        ),
        (
            vec![
                "report",
                "--from",
                not_a_run.to_str().unwrap(),
                "--format",
                "pdf",
            ],
            "invalid value 'pdf'",
        ),
        (
            vec!["recommend", "cpu", "--passive", "--format", "html"],
            "--passive prints an estimate as a table or JSON",
        ),
    ];
    for (args, expected) in cases {
        let out = common::memtune(&lab.endpoint(), state.path(), &args)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(lab.lab.stats().invocations, 0);
}

/// `--format` says how, `-o` where: a format's name given as a file, or a file name given as a
/// format, is refused before anything is read or invoked, and no file appears.
#[tokio::test(flavor = "multi_thread")]
async fn a_format_where_a_file_goes_or_the_reverse_is_exit_2() {
    let lab = start_lab_with(LabConfig::new(profiles(FLEET))).await;
    let state = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let a_file = cwd.path().join("existing.txt");
    std::fs::write(&a_file, "").unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec![
                "report", "--run", "r1", "--format", "markdown", "--output", "json",
            ],
            "memtune: -o json looks like a format: write --format json",
        ),
        (
            vec!["recommend", "cpu", "--format", "markdown", "-o", "html"],
            "memtune: -o html looks like a format: write --format html",
        ),
        (
            vec!["history", "-o", "table"],
            "memtune: -o table looks like a format: write --format table",
        ),
        (
            vec!["recommend", "cpu", "--format", "run.json"],
            "run.json looks like a file: write -o run.json",
        ),
        (
            vec!["demo", "--out-dir", a_file.to_str().unwrap()],
            "is a file: --out-dir takes a directory",
        ),
    ];
    for (args, expected) in cases {
        let out = common::memtune(&lab.endpoint(), state.path(), &args)
            .current_dir(cwd.path())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.lines().next().unwrap_or("").contains(expected),
            "{args:?}: {stderr}"
        );
        if stderr.starts_with("memtune: ") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let left: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("existing.txt")]);
    assert_eq!(lab.lab.stats().invocations, 0);
}
