//! The lab stores what UpdateFunctionConfiguration sets beyond memory (environment, layers,
//! handler, role, VPC, ephemeral storage, SnapStart, tracing) and returns it, in Lambda's
//! shapes, from every operation that describes a configuration; memtune's platform layer
//! reads each of them.

mod common;

use aws_sdk_lambda::types::{
    EnvironmentResponse, EphemeralStorage, SnapStart, SnapStartApplyOn, TracingConfig, TracingMode,
    VpcConfig,
};
use common::{lambda_client, profiles, start_lab};
use memtune::platform::aws::AwsLambda;
use memtune::platform::{environment_digest, LambdaApi};

const FLEET: &str = r#"
[[function]]
name = "orders"
memory_mb = 256
[function.workload]
cpu_ms = 50.0
"#;

const LAYER: &str = "arn:aws:lambda:us-east-1:123456789012:layer:deps:4";
const ROLE: &str = "arn:aws:iam::123456789012:role/orders-v2";

fn variables(e: Option<&EnvironmentResponse>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = e
        .and_then(|e| e.variables())
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort();
    vars
}

/// Every setting the update made, on one configuration document (each operation's output
/// type has the same accessors).
macro_rules! assert_settings {
    ($c:expr, $what:expr) => {{
        let (c, what) = ($c, $what);
        assert_eq!(c.handler(), Some("app.main"), "{what}");
        assert_eq!(c.role(), Some(ROLE), "{what}");
        assert_eq!(
            variables(c.environment()),
            [("MODE".to_string(), "fast".to_string())],
            "{what}"
        );
        let layers: Vec<_> = c
            .layers()
            .iter()
            .map(|l| (l.arn(), l.code_size() > 0))
            .collect();
        assert_eq!(layers, [(Some(LAYER), true)], "{what}");
        let vpc = c.vpc_config().expect(what);
        assert_eq!(vpc.subnet_ids(), ["subnet-2", "subnet-1"], "{what}");
        assert_eq!(vpc.security_group_ids(), ["sg-1"], "{what}");
        assert!(
            vpc.vpc_id().is_some_and(|v| v.starts_with("vpc-")),
            "{what}"
        );
        assert_eq!(
            c.ephemeral_storage().map(|e| e.size()),
            Some(1024),
            "{what}"
        );
        assert_eq!(
            c.snap_start().and_then(|s| s.apply_on()),
            Some(&SnapStartApplyOn::PublishedVersions),
            "{what}"
        );
        assert_eq!(
            c.tracing_config().and_then(|t| t.mode()),
            Some(&TracingMode::Active),
            "{what}"
        );
    }};
}

#[tokio::test(flavor = "multi_thread")]
async fn updated_settings_are_returned_everywhere_and_read_by_memtune() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    let updated = client
        .update_function_configuration()
        .function_name("orders")
        .handler("app.main")
        .role(ROLE)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("MODE", "fast")
                .build(),
        )
        .layers(LAYER)
        .vpc_config(
            VpcConfig::builder()
                .subnet_ids("subnet-2")
                .subnet_ids("subnet-1")
                .security_group_ids("sg-1")
                .build(),
        )
        .ephemeral_storage(EphemeralStorage::builder().size(1024).build().unwrap())
        .snap_start(
            SnapStart::builder()
                .apply_on(SnapStartApplyOn::PublishedVersions)
                .build(),
        )
        .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
        .send()
        .await
        .unwrap();
    assert_settings!(&updated, "UpdateFunctionConfiguration");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let got = client
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_settings!(&got, "GetFunctionConfiguration");
    assert_eq!(
        got.snap_start()
            .and_then(|s| s.optimization_status())
            .map(|s| s.as_str()),
        Some("Off"),
        "$LATEST is never SnapStart-optimized"
    );

    let function = client
        .get_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_settings!(function.configuration().unwrap(), "GetFunction");
    let listed = client.list_functions().send().await.unwrap();
    assert_settings!(&listed.functions()[0], "ListFunctions");

    let published = client
        .publish_version()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let version = published.version().unwrap().to_string();
    let versions = client
        .list_versions_by_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let v = versions
        .versions()
        .iter()
        .find(|v| v.version() == Some(&version))
        .unwrap();
    assert_settings!(v, "ListVersionsByFunction");
    assert_settings!(&published, "PublishVersion");
    assert_eq!(
        published
            .snap_start()
            .and_then(|s| s.optimization_status())
            .map(|s| s.as_str()),
        Some("On"),
        "a published version with ApplyOn PublishedVersions is optimized"
    );

    // memtune's view: the same settings, the environment as a digest only.
    let api = AwsLambda::new(&lab.client_config().await);
    let c = api.get_configuration("orders", None).await.unwrap();
    assert_eq!(c.settings.handler.as_deref(), Some("app.main"));
    assert_eq!(c.settings.role, ROLE);
    assert_eq!(
        c.settings.environment_sha256,
        environment_digest([("MODE", "fast")])
    );
    assert_eq!(c.settings.layers, [LAYER]);
    assert_eq!(
        c.settings.vpc.subnet_ids,
        ["subnet-1", "subnet-2"],
        "sorted"
    );
    assert_eq!(c.settings.vpc.security_group_ids, ["sg-1"]);
    assert_eq!(c.settings.ephemeral_storage_mb, 1024);
    assert_eq!(c.settings.snap_start, "PublishedVersions");
    assert_eq!(c.settings.tracing_mode, "Active");
    let from_publish = api
        .list_versions("orders")
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.version == version)
        .unwrap();
    assert_eq!(from_publish.settings.layers, [LAYER]);
    assert_eq!(
        from_publish.settings.environment_sha256,
        c.settings.environment_sha256
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_setting_changes_nothing() {
    let lab = start_lab(profiles(FLEET)).await;
    let client = lambda_client(&lab.endpoint()).await;
    let before = client
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let err = client
        .update_function_configuration()
        .function_name("orders")
        .timeout(20)
        .ephemeral_storage(EphemeralStorage::builder().size(100).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
    let after = client
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(after.revision_id(), before.revision_id());
    assert_eq!(after.timeout(), before.timeout());
    assert_eq!(after.ephemeral_storage().map(|e| e.size()), Some(512));
}
