//! memtune's Lambda client against the lab: what it reads from the lab's error answers.

mod common;

use std::time::Duration;

use common::{lambda_client, profiles, start_lab};
use memtune::platform::aws::AwsLambda;
use memtune::platform::{LambdaApi, PlatformError};

const FLEET: &str = r#"
[[function]]
name = "cpu"
memory_mb = 256
[function.workload]
cpu_ms = 200.0
"#;

#[tokio::test]
async fn a_throttle_is_read_with_its_reason_and_retry_after() {
    let lab = start_lab(profiles(FLEET)).await;
    lambda_client(&lab.endpoint())
        .await
        .put_function_concurrency()
        .function_name("cpu")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    // The reason and the Retry-After hint (0 s at time scale 0).
    let api = AwsLambda::new(&common::sdk_config(&lab.endpoint()).await);
    match api.invoke("cpu", "$LATEST", b"{}".to_vec()).await {
        Err(PlatformError::Throttled(t)) => {
            assert!(t.reserved_limit, "{t:?}");
            assert_eq!(t.retry_after, Some(Duration::ZERO), "{t:?}");
        }
        other => panic!("expected a throttle, got {other:?}"),
    }
    lab.stop().await;
}

#[tokio::test]
async fn a_payload_over_lambdas_limit_is_bad_input_not_an_unknown_failure() {
    let lab = start_lab(profiles(FLEET)).await;
    let api = AwsLambda::new(&common::sdk_config(&lab.endpoint()).await);
    let e = api
        .invoke("cpu", "$LATEST", vec![b'1'; 6 * 1024 * 1024 + 1])
        .await
        .unwrap_err();
    assert!(
        matches!(e, PlatformError::InvalidParameter(ref m) if m.contains("6291456")),
        "{e:?}"
    );
    assert_eq!(lab.lab.stats().functions["cpu"].invocations, 0);
    lab.stop().await;
}

#[tokio::test]
async fn provisioned_concurrency_is_read_set_and_removed() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
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
    let api = AwsLambda::new(&common::sdk_config(&lab.endpoint()).await);
    assert_eq!(
        api.get_provisioned_concurrency("cpu", "live").await,
        Ok(None)
    );
    let set = api
        .put_provisioned_concurrency("cpu", "live", 3)
        .await
        .unwrap();
    assert_eq!((set.requested, set.allocated), (3, 0));
    assert!(set.in_progress(), "{set:?}");
    let e = api
        .put_provisioned_concurrency("cpu", "$LATEST", 1)
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::InvalidParameter(_)), "{e:?}");
    let missing = api.get_provisioned_concurrency("cpu", "nope").await;
    assert!(
        matches!(missing, Err(PlatformError::NotFound(_))),
        "{missing:?}"
    );
    api.delete_provisioned_concurrency("cpu", "live")
        .await
        .unwrap();
    assert_eq!(
        api.get_provisioned_concurrency("cpu", "live").await,
        Ok(None)
    );
    lab.stop().await;
}
