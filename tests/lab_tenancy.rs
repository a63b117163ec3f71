//! The lab serves several accounts and regions: a request is answered by the account of its
//! credentials (STS AssumeRole hands out the role's account) in the region it was signed for.

mod common;

use aws_config::sts::AssumeRoleProvider;
use aws_config::Region;
use aws_sdk_lambda::config::ProvideCredentials;
use memtune_lab::tenancy::TenancyConfig;
use memtune_lab::LabConfig;

const FLEET: &str = "[[function]]\nname = \"orders\"\nmemory_mb = 512\ntimeout_s = 10\n[function.workload]\ncpu_ms = 100.0\nworking_set_mb = 60\n";

async fn multi_account_lab() -> memtune_lab::LabServer {
    let mut config = LabConfig::new(common::profiles(FLEET));
    config.tenancy = TenancyConfig {
        accounts: vec![
            "999999999999".into(),
            "111111111111".into(),
            "222222222222".into(),
        ],
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        roles: vec![
            "memtune-tuner:ext-123".parse().unwrap(),
            "open-role".parse().unwrap(),
        ],
    };
    common::start_lab_with(config).await
}

async fn assumed(
    endpoint: &str,
    role_arn: &str,
    external_id: Option<&str>,
    region: &str,
) -> aws_config::SdkConfig {
    let base = common::sdk_config(endpoint).await;
    let mut builder = AssumeRoleProvider::builder(role_arn)
        .session_name("memtune-test")
        .configure(&base);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    base.into_builder()
        .region(Region::new(region.to_string()))
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

#[tokio::test]
async fn an_assumed_role_acts_in_its_account_and_the_signed_region() {
    let lab = multi_account_lab().await;
    let endpoint = lab.endpoint();
    let sdk = assumed(
        &endpoint,
        "arn:aws:iam::222222222222:role/memtune-tuner",
        Some("ext-123"),
        "eu-west-1",
    )
    .await;
    let client = aws_sdk_lambda::Client::new(&sdk);
    let listed = client.list_functions().send().await.unwrap();
    let arn = listed.functions()[0].function_arn().unwrap();
    assert_eq!(arn, "arn:aws:lambda:eu-west-1:222222222222:function:orders");

    // A change in one account and region is seen there and nowhere else.
    client
        .update_function_configuration()
        .function_name("orders")
        .memory_size(1024)
        .send()
        .await
        .unwrap();
    let other = aws_sdk_lambda::Client::new(
        &assumed(
            &endpoint,
            "arn:aws:iam::222222222222:role/memtune-tuner",
            Some("ext-123"),
            "us-east-1",
        )
        .await,
    );
    let there = other
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(there.memory_size(), Some(512));
    assert_eq!(
        there.function_arn(),
        Some("arn:aws:lambda:us-east-1:222222222222:function:orders")
    );

    // Long-term keys act in the lab's own account.
    let own = aws_sdk_lambda::Client::new(&common::sdk_config(&endpoint).await);
    let mine = own.list_functions().send().await.unwrap();
    assert_eq!(
        mine.functions()[0].function_arn(),
        Some("arn:aws:lambda:us-east-1:999999999999:function:orders")
    );
    lab.stop().await;
}

#[tokio::test]
async fn assume_role_checks_the_external_id_and_the_role() {
    let lab = multi_account_lab().await;
    let endpoint = lab.endpoint();
    let base = common::sdk_config(&endpoint).await;
    let provide = |role: &'static str, external_id: Option<&'static str>| {
        let base = base.clone();
        async move {
            let mut b = AssumeRoleProvider::builder(role)
                .session_name("s1")
                .configure(&base);
            if let Some(id) = external_id {
                b = b.external_id(id);
            }
            b.build().await.provide_credentials().await
        }
    };
    let ok = provide(
        "arn:aws:iam::111111111111:role/memtune-tuner",
        Some("ext-123"),
    )
    .await
    .unwrap();
    assert!(ok.access_key_id().starts_with("ASIA"));
    assert!(ok.session_token().is_some());
    assert!(ok.expiry().is_some());
    for (role, id) in [
        (
            "arn:aws:iam::111111111111:role/memtune-tuner",
            Some("wrong"),
        ),
        ("arn:aws:iam::111111111111:role/memtune-tuner", None),
        ("arn:aws:iam::111111111111:role/no-such-role", None),
        ("arn:aws:iam::333333333333:role/open-role", None),
    ] {
        let err = provide(role, id).await.unwrap_err();
        let text = error_chain(&err);
        assert!(
            text.contains("not authorized to perform: sts:AssumeRole"),
            "{role} {id:?}: {text}"
        );
    }
    // A region the lab does not serve is refused with a line that says what it serves.
    let sdk = assumed(
        &endpoint,
        "arn:aws:iam::111111111111:role/open-role",
        None,
        "ap-south-1",
    )
    .await;
    let err = aws_sdk_lambda::Client::new(&sdk)
        .list_functions()
        .send()
        .await
        .unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(
        text.contains("does not serve account 111111111111 in ap-south-1"),
        "{text}"
    );
    lab.stop().await;
}

/// The whole chain of an error's sources, as one string.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[tokio::test]
async fn with_quotas_the_control_plane_is_refused_beyond_15_per_second() {
    let mut config = LabConfig::new(common::profiles(FLEET));
    config.quotas = Some(memtune_lab::quotas::ApiQuotas::AWS);
    let lab = common::start_lab_with(config).await;
    let sdk = common::sdk_config(&lab.endpoint())
        .await
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_lambda::Client::new(&sdk);
    let mut refused = Vec::new();
    for _ in 0..30 {
        if let Err(e) = client
            .get_function_configuration()
            .function_name("orders")
            .send()
            .await
        {
            refused.push(e.into_service_error());
        }
    }
    // A second's worth is admitted at once (a few more refill while the burst is sent).
    assert!(
        (10..=15).contains(&refused.len()),
        "{} refused",
        refused.len()
    );
    let first = &refused[0];
    assert!(first.is_too_many_requests_exception(), "{first:?}");
    if let aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationError::TooManyRequestsException(t) = first {
        assert_eq!(
            t.reason().map(|r| r.as_str()),
            Some("CallerRateLimitExceeded")
        );
        assert_eq!(t.message(), Some("Rate exceeded"));
    }
    // GetFunction has a quota of its own.
    client
        .get_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    lab.stop().await;
}
