//! `memtune serve` through the real binary against a lab: scheduled runs, the HTTP API with its
//! token, Prometheus metrics, and a graceful shutdown that restores the run in flight.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::start_lab_with;
use memtune::history::{History, RunStatus};
use memtune_lab::{self as lab, LabConfig, LabServer};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Child;

const TOKEN: &str = "test-token-7f3a";

const CONFIG: &str = r#"
[select]
names = ["orders-api", "auth-token", "image-resize"]

[tuning]
strategy = "cost"
search = "grid"
sizes = [128, 512, 1024]
invocations = 3
warmup = 0
allow_empty_payload = true

[capacity]
days = 1
names = ["orders-api"]
"#;

struct Service {
    child: Child,
    addr: String,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
    lab: LabServer,
    dir: tempfile::TempDir,
    original: BTreeMap<String, i32>,
}

/// Starts a lab with the demo fleet and `memtune serve` against it; waits for its address.
async fn start(configure: impl FnOnce(&mut LabConfig), serve_args: &[&str]) -> Service {
    start_on("127.0.0.1:0", configure, serve_args).await
}

/// `start`, listening on `listen`; the address returned is on 127.0.0.1 whatever the host.
async fn start_on(
    listen: &str,
    configure: impl FnOnce(&mut LabConfig),
    serve_args: &[&str],
) -> Service {
    let mut config = LabConfig::new(lab::demo_profiles());
    configure(&mut config);
    start_service(config, CONFIG, listen, serve_args).await
}

/// A lab with `lab_config` and `memtune serve` with the fleet config `fleet` against it.
async fn start_service(
    lab_config: LabConfig,
    fleet: &str,
    listen: &str,
    serve_args: &[&str],
) -> Service {
    let original = common::demo_memory();
    let lab = start_lab_with(lab_config).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, fleet).unwrap();
    let path = path.display().to_string();
    let mut args = vec!["serve", "--config", &path, "--listen", listen];
    args.extend_from_slice(serve_args);
    let mut child = common::memtune(&lab.endpoint(), &dir.path().join("state"), &args)
        .env("MEMTUNE_API_TOKEN", TOKEN)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = String::new();
    let bound = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.trim().to_string();
            }
            before.push_str(&line);
            before.push('\n');
        }
        panic!("serve exited before listening:\n{before}");
    })
    .await
    .expect("serve did not start listening");
    let port = bound.rsplit(':').next().unwrap();
    let addr = format!("127.0.0.1:{port}");
    // Keep reading the logs so the service never blocks on a full pipe.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(before));
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    Service {
        child,
        addr,
        logs,
        lab,
        dir,
        original,
    }
}

/// One HTTP/1.1 request with `Authorization: Bearer <token>`; returns the status and body.
async fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let authorization = token.map(|t| format!("Bearer {t}"));
    http_as(addr, method, path, authorization.as_deref()).await
}

/// One HTTP/1.1 request with the given `Authorization` header; returns the status and body.
async fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

impl Service {
    async fn wait_for_metric(&self, name: &str, at_least: f64) -> String {
        let started = Instant::now();
        loop {
            let (_, text) = http(&self.addr, "GET", "/metrics", Some(TOKEN)).await;
            if metric(&text, name) >= at_least {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} stayed below {at_least}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM; returns the exit code.
    async fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().unwrap();
        common::signal(pid, "-TERM");
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("serve did not exit after SIGTERM")
            .unwrap()
            .code()
    }

    async fn assert_all_untouched(&self) {
        common::assert_untouched(&self.lab.endpoint(), &self.original).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_happens_and_the_api_answers_with_its_token() {
    // Every two seconds (6 fields: seconds first).
    let mut service = start(|_| {}, &["--schedule", "*/2 * * * * *"]).await;
    let metrics = service
        .wait_for_metric("memtune_runs_total{outcome=\"succeeded\"}", 1.0)
        .await;
    assert!(metric(&metrics, "memtune_invocations_total") >= 3.0 * 3.0 * 3.0);
    assert!(metric(&metrics, "memtune_exploration_usd_total") > 0.0);
    assert!(metric(&metrics, "memtune_functions_total{status=\"recommended\"}") >= 3.0);

    let (status, body) = http(&service.addr, "GET", "/healthz", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["schedule"], "*/2 * * * * *");
    assert!(health["next_scheduled_run"].is_string(), "{health}");
    // [capacity]: the last run's finding for the one function it covers.
    let finding = &health["last_run"]["capacity"][0];
    assert_eq!(finding["function"], "orders-api", "{health}");
    assert!(finding["recommendation"]["kind"].is_string(), "{health}");

    // Triggering needs the token.
    let (status, body) = http(&service.addr, "POST", "/api/runs", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = http(&service.addr, "POST", "/api/runs", Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, body) = http(&service.addr, "POST", "/api/runs", Some(TOKEN)).await;
    // Accepted, or refused because the schedule's run is going: never two at once.
    assert!(status == 202 || status == 409, "{status} {body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(answer["run"]["run_id"].is_string(), "{answer}");
    if status == 202 {
        let (again, _) = http(&service.addr, "POST", "/api/runs", Some(TOKEN)).await;
        assert_eq!(again, 409, "a second run while one is going");
    }

    // The history behind the API.
    let (status, body) = http(&service.addr, "GET", "/api/runs", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let runs: Value = serde_json::from_str(&body).unwrap();
    let finished = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "finished")
        .unwrap_or_else(|| panic!("no finished run in {runs}"));
    let id = finished["id"].as_str().unwrap();
    let (status, body) = http(
        &service.addr,
        "GET",
        &format!("/api/runs/{id}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["functions"].as_array().unwrap().len(), 3, "{detail}");
    let (status, body) = http(
        &service.addr,
        "GET",
        &format!("/api/runs/{id}/capacity"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let capacity: Value = serde_json::from_str(&body).unwrap();
    let report = &capacity["capacity"][0]["report"];
    assert_eq!(report["functions"][0]["name"], "orders-api", "{capacity}");
    assert_eq!(report["window_days"], 1.0);
    let (status, _) = http(
        &service.addr,
        "GET",
        "/api/runs/no-such-run/capacity",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = http(
        &service.addr,
        "GET",
        "/api/functions/orders-api",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let function: Value = serde_json::from_str(&body).unwrap();
    assert!(
        function["latest_recommendation"]["memory_mb"].is_u64(),
        "{function}"
    );
    assert!(!function["history"].as_array().unwrap().is_empty());
    let (status, _) = http(&service.addr, "GET", "/api/runs/no-such-run", Some(TOKEN)).await;
    assert_eq!(status, 404);
    let (status, _) = http(
        &service.addr,
        "GET",
        "/api/functions/no-such-fn",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404);

    assert_eq!(service.terminate().await, Some(0));
    service.assert_all_untouched().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_run_in_flight_and_restores_it() {
    // Updates take long enough that SIGTERM lands mid-run.
    let mut service = start(|c| c.time_scale = 0.05, &[]).await;
    let (status, body) = http(&service.addr, "POST", "/api/runs", Some(TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    service
        .wait_for_metric("memtune_run_in_progress", 1.0)
        .await;
    common::wait_until_changed(&service.lab.endpoint(), &service.original).await;
    assert_eq!(service.terminate().await, Some(0));
    service.assert_all_untouched().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = service.logs.lock().unwrap().clone();
    assert!(logs.contains("fleet run stopped"), "{logs}");
    let history = History::open(&service.dir.path().join("state")).unwrap();
    let runs = history.runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Interrupted);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_guards_every_endpoint_and_its_scheme_is_case_insensitive() {
    let mut service = start(|_| {}, &[]).await;
    let endpoints = [
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/api/runs"),
        ("GET", "/api/runs/some-run"),
        ("GET", "/api/runs/some-run/capacity"),
        ("GET", "/api/functions/orders-api"),
        ("POST", "/api/runs"),
    ];
    let shorter = &TOKEN[..TOKEN.len() - 1];
    let longer = format!("{TOKEN}0");
    let same_length = format!("{}0", shorter);
    for (method, path) in endpoints {
        for authorization in [
            None,
            Some(format!("Bearer {shorter}")),
            Some(format!("Bearer {longer}")),
            Some(format!("Bearer {same_length}")),
            Some(format!("Basic {TOKEN}")),
        ] {
            let (status, body) =
                http_as(&service.addr, method, path, authorization.as_deref()).await;
            assert_eq!(
                status, 401,
                "{method} {path} with {authorization:?}: {body}"
            );
        }
    }
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let authorization = format!("{scheme} {TOKEN}");
        let (status, body) = http_as(&service.addr, "GET", "/api/runs", Some(&authorization)).await;
        assert_eq!(status, 200, "{authorization}: {body}");
        let (status, body) = http_as(&service.addr, "GET", "/healthz", Some(&authorization)).await;
        assert_eq!(status, 200, "{authorization}: {body}");
    }
    let (status, body) = http_as(
        &service.addr,
        "POST",
        "/api/runs",
        Some(&format!("bEaReR {TOKEN}")),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(service.terminate().await, Some(0));
    service.assert_all_untouched().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listening_beyond_loopback_prints_a_warning() {
    // Bound to every interface; the test's own traffic goes to 127.0.0.1 only.
    let mut service = start_on("0.0.0.0:0", |_| {}, &[]).await;
    let (status, _) = http(&service.addr, "GET", "/healthz", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(service.terminate().await, Some(0));
    let logs = service.logs.lock().unwrap().clone();
    let warning = logs
        .lines()
        .find(|l| l.starts_with("warning: memtune serve listens on 0.0.0.0:"))
        .unwrap_or_else(|| panic!("no warning in\n{logs}"));
    assert!(warning.contains("127.0.0.1"), "{warning}");

    let mut local = start(|_| {}, &[]).await;
    // Served once, so its signal handler is in place before SIGTERM.
    let (status, _) = http(&local.addr, "GET", "/healthz", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(local.terminate().await, Some(0));
    let logs = local.logs.lock().unwrap().clone();
    assert!(!logs.contains("warning: memtune serve listens"), "{logs}");
}

mod targets {
    //! `memtune serve` with `[[target]]` entries: every account and region of a run, each as
    //! its role, the API naming each function's account and region, a target whose role
    //! cannot be assumed failing alone, and SIGTERM restoring each target as its role.

    use super::*;
    use memtune_lab::tenancy::TenancyConfig;

    const OWN: &str = "999999999999";
    const TUNED: &str = "111111111111";
    const REFUSED: &str = "222222222222";
    const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
    const EXTERNAL_ID: &str = "serve-ext-1";
    const NAMES: [&str; 2] = ["orders", "ledger"];

    const FUNCTIONS: &str = r#"
[[function]]
name = "orders"
memory_mb = 1024
timeout_s = 10
[function.workload]
cpu_ms = 300.0
working_set_mb = 60

[[function]]
name = "ledger"
memory_mb = 2048
timeout_s = 10
[function.workload]
cpu_ms = 100.0
io_ms = 40.0
working_set_mb = 60
"#;

    fn lab_config(time_scale: f64) -> LabConfig {
        let mut config = LabConfig::new(common::profiles(FUNCTIONS));
        config.time_scale = time_scale;
        config.tenancy = TenancyConfig {
            accounts: [OWN, TUNED, REFUSED].map(String::from).to_vec(),
            regions: REGIONS.map(String::from).to_vec(),
            roles: vec![format!("memtune-tuner:{EXTERNAL_ID}").parse().unwrap()],
        };
        config
    }

    /// `[[target]]`s: TUNED in both regions; REFUSED (a wrong external id) when asked.
    fn fleet(with_refused: bool) -> String {
        let target = |account: &str, external_id: &str, regions: &str| {
            format!(
                "\n[[target]]\naccount = \"{account}\"\n\
                 role_arn = \"arn:aws:iam::{account}:role/memtune-tuner\"\n\
                 external_id = \"{external_id}\"\nregions = [{regions}]\n"
            )
        };
        let mut text = String::from(
            "[tuning]\nallow_empty_payload = true\nsearch = \"grid\"\nsizes = [256, 1024]\n\
             invocations = 3\nwarmup = 0\n",
        );
        text.push_str(&target(TUNED, EXTERNAL_ID, "\"us-east-1\", \"eu-west-1\""));
        if with_refused {
            text.push_str(&target(REFUSED, "wrong-id", "\"us-east-1\""));
        }
        text
    }

    async fn client(endpoint: &str, region: &str) -> aws_sdk_lambda::Client {
        common::assumed_lambda_client(endpoint, TUNED, EXTERNAL_ID, region).await
    }

    /// Every function's state in TUNED's regions, by `REGION/NAME`.
    async fn states(endpoint: &str) -> BTreeMap<String, common::FunctionState> {
        let mut all = BTreeMap::new();
        for region in REGIONS {
            let c = client(endpoint, region).await;
            for name in NAMES {
                all.insert(
                    format!("{region}/{name}"),
                    common::function_state(&c, name).await,
                );
            }
        }
        all
    }

    async fn get(service: &Service, path: &str) -> Value {
        let (status, body) = http(&service.addr, "GET", path, Some(TOKEN)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_run_covers_every_target_and_the_api_names_each_account_and_region() {
        let mut service = start_service(lab_config(0.0), &fleet(true), "127.0.0.1:0", &[]).await;
        let before = states(&service.lab.endpoint()).await;
        let startup = service.logs.lock().unwrap().clone();
        assert!(
            startup.contains(&format!("warning: [[target]] {REFUSED}: "))
                && startup.contains(&format!("cannot assume arn:aws:iam::{REFUSED}:role/")),
            "{startup}"
        );

        let (status, body) = http(&service.addr, "POST", "/api/runs", Some(TOKEN)).await;
        assert_eq!(status, 202, "{body}");
        let run_id = serde_json::from_str::<Value>(&body).unwrap()["run"]["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        let metrics = service
            .wait_for_metric("memtune_runs_total{outcome=\"with_failures\"}", 1.0)
            .await;
        assert_eq!(
            metric(&metrics, "memtune_functions_total{status=\"recommended\"}"),
            4.0,
            "{metrics}"
        );

        // The target that could not be reached, in one line.
        let health = get(&service, "/healthz").await;
        let last = &health["last_run"];
        assert_eq!(last["run_id"], run_id.as_str());
        assert_eq!(last["outcome"], "with_failures");
        let not_tuned = last["targets_not_tuned"].as_array().unwrap();
        assert_eq!(not_tuned.len(), 1, "{health}");
        let line = not_tuned[0].as_str().unwrap();
        assert!(
            line.starts_with(&format!("{REFUSED}/us-east-1: not tuned: "))
                && line.contains("not authorized to perform: sts:AssumeRole"),
            "{line}"
        );

        // The run is each account-region's run, each function with its account and region.
        let run = get(&service, &format!("/api/runs/{run_id}")).await;
        let targets = run["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 2, "{run}");
        for t in targets {
            let region = t["region"].as_str().unwrap();
            assert_eq!(t["id"], format!("{run_id}-{TUNED}-{region}").as_str());
            assert_eq!(t["status"], "finished");
            assert!(t["role"]["role_arn"].as_str().unwrap().contains(TUNED));
            let functions = t["functions"].as_array().unwrap();
            assert_eq!(functions.len(), 2, "{t}");
            for f in functions {
                assert_eq!(f["account"], TUNED, "{f}");
                assert_eq!(f["region"], region, "{f}");
                assert_eq!(f["status"], "recommended", "{f}");
            }
        }
        let orders = get(&service, "/api/functions/orders").await;
        let mut regions: Vec<&str> = orders["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["account"], TUNED, "{e}");
                e["region"].as_str().unwrap()
            })
            .collect();
        regions.sort();
        assert_eq!(regions, ["eu-west-1", "us-east-1"]);

        assert_eq!(service.terminate().await, Some(0));
        assert_eq!(before, states(&service.lab.endpoint()).await);
        for region in REGIONS {
            let other = service.lab.tenants.get(OWN, region).unwrap().stats();
            assert_eq!(other.invocations, 0, "the tuner's own account was tuned");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sigterm_restores_each_target_as_its_role() {
        let mut service = start_service(lab_config(0.05), &fleet(false), "127.0.0.1:0", &[]).await;
        let endpoint = service.lab.endpoint();
        let before = states(&endpoint).await;
        let (status, body) = http(&service.addr, "POST", "/api/runs", Some(TOKEN)).await;
        assert_eq!(status, 202, "{body}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while states(&endpoint).await == before {
            assert!(Instant::now() < deadline, "the run changed nothing");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(service.terminate().await, Some(0));
        // The caller's own credentials act in OWN, where the same names exist: the service
        // restored each function as the target's role, in its account and region.
        assert_eq!(before, states(&endpoint).await);
        let history = History::open(&service.dir.path().join("state")).unwrap();
        let runs = history.runs(10).unwrap();
        // A target that finished before SIGTERM keeps its status.
        assert!(
            runs.iter().any(|r| r.status == RunStatus::Interrupted),
            "{runs:?}"
        );
        assert!(
            runs.iter().all(|r| r.status != RunStatus::Running),
            "{runs:?}"
        );
    }
}
