//! The HTML report of a real run (`memtune demo`: the embedded lab through the AWS SDK),
//! rendered by headless Chromium: every chart is in the DOM with drawn data, and a
//! screenshot is taken. Skips (saying so) only when Chromium is absent and
//! MEMTUNE_REQUIRE_CHROMIUM is not set; CI sets it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// What a finished command printed.
struct Finished {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a command to completion, killing it after `limit`. Output goes through files: a
/// pipe nobody reads while waiting would stall a large `--dump-dom`.
fn run_bounded(command: &mut Command, limit: Duration) -> Finished {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = command
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Finished {
        success: status.success(),
        code: status.code(),
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}

fn memtune(dir: &Path, args: &[&str]) -> Finished {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_memtune"))
            .args(args)
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .current_dir(dir),
        Duration::from_secs(300),
    )
}

fn headless(browser: &Path, profile: &Path, extra: &[&str], page: &Path) -> Finished {
    let out = run_bounded(
        Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", page.display())),
        Duration::from_secs(120),
    );
    assert!(out.success, "chromium failed: {}", out.stderr);
    out
}

/// The `<svg>...</svg>` elements of a document.
fn svgs(dom: &str) -> Vec<&str> {
    dom.match_indices("<svg")
        .map(|(start, _)| {
            let end = dom[start..].find("</svg>").expect("closed svg") + start;
            &dom[start..end]
        })
        .collect()
}

/// Number of coordinate pairs in the `points` attributes of an element kind.
fn drawn_points(svg: &str, element: &str) -> Vec<usize> {
    svg.match_indices(&format!("<{element} "))
        .filter_map(|(i, _)| {
            let tag = &svg[i..i + svg[i..].find('>')?];
            let start = tag.find("points=\"")? + 8;
            let points = &tag[start..start + tag[start..].find('"')?];
            Some(points.split_whitespace().count())
        })
        .collect()
}

#[test]
fn the_html_report_of_a_real_run_renders_its_charts_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = memtune(dir.path(), &["demo", "--out", "reports"]);
    assert!(matches!(out.code, Some(0 | 1)), "{}", out.stderr);
    let reports = dir.path().join("reports");
    let page = reports.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();

    // Rendering the stored run again gives the same page.
    let again = reports.join("again.html");
    let out = memtune(
        dir.path(),
        &[
            "report",
            "--from",
            "reports/report.json",
            "--format",
            "html",
            "-o",
            again.to_str().unwrap(),
        ],
    );
    assert!(out.success, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);

    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let sampled = run["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["document"]["sizes"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert!(sampled >= 12, "the demo samples its functions: {sampled}");

    let Some(browser) = chromium() else {
        if std::env::var_os("MEMTUNE_REQUIRE_CHROMIUM").is_some() {
            panic!("chromium is not installed and MEMTUNE_REQUIRE_CHROMIUM is set");
        }
        let why = "HTML report render in Chromium (tests/html_report.rs): chromium not found on PATH (apt-get install chromium); set MEMTUNE_REQUIRE_CHROMIUM=1 to fail instead";
        println!("SKIPPED: {why}");
        // cargo's harness cannot mark a test skipped: scripts/test.sh lists these at the end.
        if let Some(log) = std::env::var_os("MEMTUNE_SKIPPED_LOG") {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("the skipped-checks log is writable");
            writeln!(file, "{why}").expect("the skipped-checks log is writable");
        }
        return;
    };
    let profile = dir.path().join("chromium-profile");
    let dom = headless(&browser, &profile, &["--dump-dom"], &page).stdout;
    let charts = svgs(&dom);
    assert_eq!(
        charts.len(),
        2 * sampled + 1,
        "a duration and a cost chart per sampled function, and the overview"
    );
    for chart in &charts[1..] {
        assert!(chart.contains("memory (MB, log scale)"), "{chart:.300}");
        let lines = drawn_points(chart, "polyline");
        assert!(
            lines.iter().any(|&n| n >= 3),
            "a curve with data: {lines:?} in {chart:.300}"
        );
        assert!(chart.contains("<circle"), "measured points");
    }
    let overview = charts[0];
    assert!(overview.contains("Savings by function"));
    assert!(
        overview.matches("<rect").count() > sampled,
        "one bar per function"
    );
    assert!(drawn_points(overview, "polyline").iter().any(|&n| n >= 2));

    let shot = dir.path().join("report.png");
    headless(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
        &page,
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 50_000,
        "a page with charts, not a blank one: {} bytes",
        png.len()
    );
}
