//! The lab's Lambda API, driven through the real aws-sdk-lambda client.

use std::time::Duration;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{LabConfig, LabServer};

const FLEET: &str = r#"
[[function]]
name = "cpu"
memory_mb = 256
timeout_s = 30
tags = { team = "checkout" }
[function.workload]
cpu_ms = 200.0
working_set_mb = 100
init_ms = 300.0

[[function]]
name = "json-logs"
log_format = "JSON"
memory_mb = 512
[function.workload]
io_ms = 20.0

[[function]]
name = "hungry"
memory_mb = 128
[function.workload]
cpu_ms = 50.0
working_set_mb = 300
"#;

async fn start_lab(profiles: ProfileSet) -> LabServer {
    start_lab_with(LabConfig::new(profiles)).await
}

async fn start_lab_with(config: LabConfig) -> LabServer {
    memtune_lab::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("lab starts on an ephemeral port")
}

async fn lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIDLAB", "secret", None, None, "lab",
        ))
        .load()
        .await;
    aws_sdk_lambda::Client::new(&config)
}

fn profiles(text: &str) -> ProfileSet {
    ProfileSet::parse(text, "test-fleet.toml").expect("test fleet parses")
}

fn error_code<E: ProvideErrorMetadata>(e: &aws_sdk_lambda::error::SdkError<E>) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("<not a service error>")
        .to_string()
}

/// Polls until LastUpdateStatus is Successful, as memtune does (the SDK waiter is too slow).
async fn wait_updated(client: &aws_sdk_lambda::Client, name: &str) -> String {
    for _ in 0..200 {
        let c = client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap();
        if c.last_update_status().map(|s| s.as_str()) == Some("Successful") {
            return c.revision_id().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("update of {name} never completed");
}

#[tokio::test]
async fn list_get_tags_and_account_settings() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;

    let listed = client.list_functions().send().await.unwrap();
    let names: Vec<_> = listed
        .functions()
        .iter()
        .map(|f| f.function_name().unwrap())
        .collect();
    assert_eq!(names, ["cpu", "hungry", "json-logs"]);

    let f = client
        .get_function()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.memory_size(), Some(256));
    assert_eq!(c.version(), Some("$LATEST"));
    assert_eq!(c.state().unwrap().as_str(), "Active");
    let arn = c.function_arn().unwrap();
    assert_eq!(arn, "arn:aws:lambda:us-east-1:123456789012:function:cpu");
    let tags = client.list_tags().resource(arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["team"], "checkout");

    // By ARN and partial ARN, too.
    for name in [arn, "123456789012:function:cpu"] {
        let c = client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap();
        assert_eq!(c.function_name(), Some("cpu"));
    }

    let settings = client.get_account_settings().send().await.unwrap();
    assert_eq!(
        settings.account_limit().unwrap().concurrent_executions(),
        1000
    );

    let missing = client
        .get_function_configuration()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
    lab.stop().await;
}

#[tokio::test]
async fn list_functions_pages_by_fifty() {
    let mut text = String::new();
    for i in 0..120 {
        text.push_str(&format!(
            "[[function]]\nname = \"f{i:03}\"\n[function.workload]\ncpu_ms = 1.0\n"
        ));
    }
    let lab = start_lab(profiles(&text)).await;
    let client = lambda_client(&lab.endpoint()).await;
    let first = client.list_functions().max_items(500).send().await.unwrap();
    assert_eq!(first.functions().len(), 50);
    assert!(first.next_marker().is_some());
    let all: Vec<_> = client
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 120);
    lab.stop().await;
}

#[tokio::test]
async fn update_is_asynchronous_and_guarded_by_revision_id() {
    let mut config = LabConfig::new(profiles(FLEET));
    config.time_scale = 0.05; // updates stay InProgress for ~75 ms
    let lab = start_lab_with(config).await;
    let client = lambda_client(&lab.endpoint()).await;

    let before = client
        .get_function_configuration()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    let updated = client
        .update_function_configuration()
        .function_name("cpu")
        .memory_size(1024)
        .revision_id(before.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.last_update_status().unwrap().as_str(), "InProgress");
    assert_eq!(updated.memory_size(), Some(1024));

    let again = client
        .update_function_configuration()
        .function_name("cpu")
        .memory_size(2048)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&again), "ResourceConflictException");

    let revision = wait_updated(&client, "cpu").await;
    let stale = client
        .update_function_configuration()
        .function_name("cpu")
        .memory_size(2048)
        .revision_id(before.revision_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&stale), "PreconditionFailedException");

    for bad in [64, 20000] {
        let e = client
            .update_function_configuration()
            .function_name("cpu")
            .memory_size(bad)
            .revision_id(&revision)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_code(&e), "ValidationException", "{bad}");
    }
    lab.stop().await;
}

#[tokio::test]
async fn versions_aliases_and_deletion() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;

    client
        .update_function_configuration()
        .function_name("cpu")
        .memory_size(1769)
        .send()
        .await
        .unwrap();
    wait_updated(&client, "cpu").await;
    let v = client
        .publish_version()
        .function_name("cpu")
        .description("memtune:run-1:1769")
        .send()
        .await
        .unwrap();
    assert_eq!(v.version(), Some("1"));
    assert_eq!(v.memory_size(), Some(1769));
    assert_eq!(
        v.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:cpu:1")
    );
    // Nothing changed since version 1: Lambda hands back version 1.
    let same = client
        .publish_version()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(same.version(), Some("1"));

    let q = client
        .get_function_configuration()
        .function_name("cpu")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert_eq!(q.description(), Some("memtune:run-1:1769"));

    let alias = client
        .create_alias()
        .function_name("cpu")
        .name("RAM1769")
        .function_version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some("1"));
    let aliases = client
        .list_aliases()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(aliases.aliases().len(), 1);
    let got = client
        .get_alias()
        .function_name("cpu")
        .name("RAM1769")
        .send()
        .await
        .unwrap();
    assert_eq!(got.revision_id(), alias.revision_id());
    let updated = client
        .update_alias()
        .function_name("cpu")
        .name("RAM1769")
        .description("moved")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.description(), Some("moved"));

    let versions = client
        .list_versions_by_function()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = versions
        .versions()
        .iter()
        .map(|v| v.version().unwrap())
        .collect();
    assert_eq!(listed, ["$LATEST", "1"]);

    let busy = client
        .delete_function()
        .function_name("cpu")
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&busy), "ResourceConflictException");
    client
        .delete_alias()
        .function_name("cpu")
        .name("RAM1769")
        .send()
        .await
        .unwrap();
    client
        .delete_function()
        .function_name("cpu")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let gone = client
        .get_function_configuration()
        .function_name("cpu")
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&gone), "ResourceNotFoundException");
    // $LATEST itself still has the memory it was given.
    let latest = client
        .get_function_configuration()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.memory_size(), Some(1769));
    lab.stop().await;
}

fn decode_tail(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> String {
    let b64 = out.log_result().expect("Tail asked for the log");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn invoke_tail_cold_then_warm_and_errors() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;

    let invoke = |name: &'static str| {
        client
            .invoke()
            .function_name(name)
            .log_type(LogType::Tail)
            .payload(Blob::new(r#"{"id": 1}"#))
            .send()
    };
    let cold = invoke("cpu").await.unwrap();
    assert_eq!(cold.status_code(), 200);
    assert_eq!(cold.executed_version(), Some("$LATEST"));
    assert!(cold.function_error().is_none());
    let log = decode_tail(&cold);
    let report = log.lines().find(|l| l.starts_with("REPORT")).unwrap();
    assert!(report.contains("Memory Size: 256 MB"), "{report}");
    assert!(
        report.contains("Init Duration:"),
        "first call is cold: {report}"
    );

    let warm = decode_tail(&invoke("cpu").await.unwrap());
    assert!(
        !warm.contains("Init Duration"),
        "second call is warm: {warm}"
    );

    let json = decode_tail(&invoke("json-logs").await.unwrap());
    let report: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "platform.report")
        .unwrap();
    assert_eq!(report["record"]["metrics"]["memorySizeMB"], 512);

    let oom = invoke("hungry").await.unwrap();
    assert_eq!(oom.function_error(), Some("Unhandled"));
    let payload: serde_json::Value =
        serde_json::from_slice(oom.payload().unwrap().as_ref()).unwrap();
    assert_eq!(payload["errorType"], "Runtime.OutOfMemory");

    let event = client
        .invoke()
        .function_name("cpu")
        .invocation_type(InvocationType::Event)
        .send()
        .await
        .unwrap();
    assert_eq!(event.status_code(), 202);
    let dry = client
        .invoke()
        .function_name("cpu")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status_code(), 204);

    let bad = client
        .invoke()
        .function_name("cpu")
        .payload(Blob::new("{not json"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&bad), "InvalidRequestContentException");
    lab.stop().await;
}

#[tokio::test]
async fn reserved_concurrency_zero_throttles_and_is_counted() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    client
        .put_function_concurrency()
        .function_name("cpu")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let got = client
        .get_function_concurrency()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    assert_eq!(got.reserved_concurrent_executions(), Some(0));
    let throttled = client
        .invoke()
        .function_name("cpu")
        .customize()
        .config_override(
            aws_sdk_lambda::config::Config::builder()
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&throttled), "TooManyRequestsException");
    assert_eq!(lab.lab.stats().functions["cpu"].throttles, 1);
    lab.stop().await;
}

#[tokio::test]
async fn reserved_concurrency_throttles_with_its_reason() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    client
        .put_function_concurrency()
        .function_name("cpu")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let throttled = client
        .invoke()
        .function_name("cpu")
        .customize()
        .config_override(
            aws_sdk_lambda::config::Config::builder()
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
        )
        .send()
        .await
        .unwrap_err();
    let raw = throttled.raw_response().expect("an HTTP answer");
    assert_eq!(raw.status().as_u16(), 429);
    let e = throttled.into_service_error();
    let aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(e) = e else {
        panic!("not a TooManyRequestsException: {e:?}")
    };
    assert_eq!(
        e.reason().map(|r| r.as_str()),
        Some("ReservedFunctionConcurrentInvocationLimitExceeded")
    );
    client
        .delete_function_concurrency()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    client.invoke().function_name("cpu").send().await.unwrap();
    lab.stop().await;
}

#[tokio::test]
async fn provisioned_concurrency_through_the_sdk() {
    use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum as Status;
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    let on_latest = client
        .put_provisioned_concurrency_config()
        .function_name("cpu")
        .qualifier("$LATEST")
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&on_latest), "InvalidParameterValueException");
    client
        .publish_version()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("cpu")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let none = client
        .get_provisioned_concurrency_config()
        .function_name("cpu")
        .qualifier("live")
        .send()
        .await
        .unwrap_err();
    assert!(
        none.as_service_error()
            .is_some_and(|e| e.is_provisioned_concurrency_config_not_found_exception()),
        "{none:?}"
    );
    let put = client
        .put_provisioned_concurrency_config()
        .function_name("cpu")
        .qualifier("live")
        .provisioned_concurrent_executions(3)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), Some(&Status::InProgress));
    assert_eq!(put.requested_provisioned_concurrent_executions(), Some(3));
    let on_version = client
        .put_provisioned_concurrency_config()
        .function_name("cpu")
        .qualifier("1")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&on_version), "ResourceConflictException");
    let mut status = None;
    for _ in 0..100 {
        let got = client
            .get_provisioned_concurrency_config()
            .function_name("cpu")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        status = got.status().cloned();
        if status == Some(Status::Ready) {
            assert_eq!(got.allocated_provisioned_concurrent_executions(), Some(3));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, Some(Status::Ready));
    let listed = client
        .list_provisioned_concurrency_configs()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    let [item] = listed.provisioned_concurrency_configs() else {
        panic!("{listed:?}")
    };
    assert!(item.function_arn().unwrap().ends_with(":function:cpu:live"));
    let cold_before = lab.lab.stats().functions["cpu"].cold_starts;
    client
        .invoke()
        .function_name("cpu")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        lab.lab.stats().functions["cpu"].cold_starts,
        cold_before,
        "a provisioned environment is initialised ahead"
    );
    for _ in 0..2 {
        client
            .delete_provisioned_concurrency_config()
            .function_name("cpu")
            .qualifier("live")
            .send()
            .await
            .unwrap();
    }
    let listed = client
        .list_provisioned_concurrency_configs()
        .function_name("cpu")
        .send()
        .await
        .unwrap();
    assert!(listed.provisioned_concurrency_configs().is_empty());
    lab.stop().await;
}

#[tokio::test]
async fn concurrent_invocations_get_their_own_cold_environments() {
    let mut config = LabConfig::new(profiles(FLEET));
    config.time_scale = 0.1; // 200 ms of CPU at 256 MB ~ 140 ms wall: long enough to overlap
    let lab = start_lab_with(config).await;
    let client = lambda_client(&lab.endpoint()).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let client = client.clone();
        calls.spawn(async move { client.invoke().function_name("cpu").send().await });
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap().unwrap();
    }
    let stats = lab.lab.stats();
    assert_eq!(stats.functions["cpu"].cold_starts, 4);
    assert_eq!(stats.functions["cpu"].peak_concurrency, 4);
    lab.stop().await;
}

/// A JSON string payload of exactly `size` bytes.
fn payload_of(size: usize) -> Blob {
    let mut bytes = vec![b'a'; size];
    bytes[0] = b'"';
    bytes[size - 1] = b'"';
    Blob::new(bytes)
}

#[tokio::test]
async fn invoke_takes_six_mb_synchronous_and_one_mb_event_payloads() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    const SYNC: usize = 6 * 1024 * 1024;
    const EVENT: usize = 1024 * 1024;

    let at_limit = client
        .invoke()
        .function_name("cpu")
        .payload(payload_of(SYNC))
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status_code(), 200);
    let over = client
        .invoke()
        .function_name("cpu")
        .payload(payload_of(SYNC + 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&over), "RequestEntityTooLargeException");
    assert_eq!(over.raw_response().unwrap().status().as_u16(), 413);
    assert_eq!(
        over.as_service_error().and_then(|e| e.message()),
        Some("Request must be smaller than 6291456 bytes for the InvokeFunction operation")
    );

    let event = client
        .invoke()
        .function_name("cpu")
        .invocation_type(InvocationType::Event)
        .payload(payload_of(EVENT))
        .send()
        .await
        .unwrap();
    assert_eq!(event.status_code(), 202);
    let over = client
        .invoke()
        .function_name("cpu")
        .invocation_type(InvocationType::Event)
        .payload(payload_of(EVENT + 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&over), "RequestEntityTooLargeException");
    assert_eq!(
        over.as_service_error().and_then(|e| e.message()),
        Some(
            "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
        )
    );

    // Two invocations ran; the refused ones did not.
    assert_eq!(lab.lab.stats().functions["cpu"].invocations, 2);
    lab.stop().await;
}

/// One raw HTTP/1.1 request; returns the status, the `x-amzn-ErrorType` and the body.
async fn raw(endpoint: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let error_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-amzn-errortype")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, error_type, body.to_string())
}

#[tokio::test]
async fn updates_lambda_refuses_are_refused_and_change_nothing() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    let revision = |c: aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput| {
        c.revision_id().unwrap().to_string()
    };
    let get = || {
        client
            .get_function_configuration()
            .function_name("cpu")
            .send()
    };
    let before = revision(get().await.unwrap());
    let path = "/2015-03-31/functions/cpu/configuration";

    for body in ["[1,2]", "\"x\"", "", "{\"Timeout\": 10"] {
        let (status, kind, text) = raw(&lab.endpoint(), "PUT", path, body).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "SerializationException"),
            "{body}: {text}"
        );
    }
    for (body, given) in [
        (r#"{"MemorySize": "abc"}"#, "the string \"abc\""),
        (r#"{"MemorySize": 128.5}"#, "the number 128.5"),
    ] {
        let (status, kind, text) = raw(&lab.endpoint(), "PUT", path, body).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "SerializationException"),
            "{body}"
        );
        let message = serde_json::from_str::<serde_json::Value>(&text).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains("MemorySize") && message.contains(given),
            "{message}"
        );
    }
    let (status, kind, _) = raw(
        &lab.endpoint(),
        "POST",
        "/2015-03-31/functions/cpu/versions",
        r#"{"Description": 5}"#,
    )
    .await;
    assert_eq!((status, kind.as_str()), (400, "SerializationException"));

    // The SDK checks no ranges or lengths: these reach the lab.
    let long = "d".repeat(300);
    let e = client
        .update_function_configuration()
        .function_name("cpu")
        .description(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "ValidationException");
    assert_eq!(
        e.as_service_error().and_then(|e| e.message()).unwrap(),
        format!("1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
    );
    let e = client
        .update_function_configuration()
        .function_name("cpu")
        .memory_size(64)
        .timeout(901)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.as_service_error().and_then(|e| e.message()).unwrap(),
        "2 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900; Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"
    );
    let e = client
        .create_alias()
        .function_name("cpu")
        .name("42")
        .function_version("$LATEST")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "ValidationException");

    assert_eq!(
        revision(get().await.unwrap()),
        before,
        "a refused request changed the function"
    );
    lab.stop().await;
}
