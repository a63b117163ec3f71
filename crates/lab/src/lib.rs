//! The lab: a local AWS Lambda + CloudWatch + CloudWatch Logs that speaks the real wire
//! protocols, so memtune (or boto3, or the AWS CLI) cannot tell it from the real thing for the
//! calls memtune makes, while its functions are simulated from workload profiles.

pub mod aws_error;
pub mod backfill;
pub mod capacity_truth;
pub mod chain;
pub mod chain_truth;
pub mod cloudwatch;
pub mod control;
mod create_api;
pub mod environments;
pub mod faults;
pub mod filter_pattern;
pub mod iam;
pub mod lambda_api;
pub mod live;
pub mod logs;
pub mod logs_insights;
pub mod measured;
pub mod metric_data;
pub mod mixture;
pub mod model;
pub mod production;
pub mod profiles;
pub mod quotas;
pub mod s3;
pub mod settings;
pub mod synthetic;
pub mod telemetry;
pub mod tenancy;
pub mod truth;
pub mod validation;
pub mod workload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use aws_error::AwsError;
pub use control::{Lab, LabStats};
use faults::Faults;
use profiles::ProfileSet;

/// How a lab is set up.
#[derive(Debug, Clone)]
pub struct LabConfig {
    pub profiles: ProfileSet,
    /// Wall-clock seconds slept per simulated second: 0 answers at once, 1 is real time.
    pub time_scale: f64,
    pub seed: u64,
    pub faults: Faults,
    /// Idle execution environments are reclaimed after this many (wall-clock) seconds.
    pub environment_idle_s: f64,
    /// Actions answered with AccessDeniedException.
    pub deny: iam::DenyList,
    /// The accounts and regions served, and the roles STS lets callers assume.
    pub tenancy: tenancy::TenancyConfig,
    /// Lambda's request-rate quotas, per account and region; None answers every request.
    pub quotas: Option<quotas::ApiQuotas>,
}

impl LabConfig {
    pub fn new(profiles: ProfileSet) -> LabConfig {
        LabConfig {
            profiles,
            time_scale: 0.0,
            seed: 1,
            faults: Faults::default(),
            environment_idle_s: 300.0,
            deny: iam::DenyList::default(),
            tenancy: tenancy::TenancyConfig::default(),
            quotas: None,
        }
    }
}

/// A running lab server.
pub struct LabServer {
    pub addr: SocketAddr,
    /// The lab's own account in its first region.
    pub lab: Arc<Lab>,
    /// Every account and region served.
    pub tenants: Arc<tenancy::Tenants>,
    /// Live production traffic (`[function.live]`), which stops with the server.
    pub live: live::LiveTraffic,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl LabServer {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// AWS SDK configuration pointed at this lab: its region and throwaway credentials.
    pub async fn client_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new(self.lab.account.region.clone()))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "AKIDLAB",
                "lab",
                None,
                None,
                "memtune-lab",
            ))
            .load()
            .await
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn stop(mut self) {
        self.live.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `listen` (port 0 picks a free one) and serves the lab in a background task, with
/// the live traffic of its own account and region. A `[function.live]` the time scale cannot
/// pace is an InvalidInput error ([`live::check`] says why).
pub async fn start(config: LabConfig, listen: SocketAddr) -> std::io::Result<LabServer> {
    live::check(&config).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let tenants = Arc::new(tenancy::Tenants::new(config));
    let lab = tenants.default_lab().clone();
    let app = tenancy::router(tenants.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    let live = live::LiveTraffic::start(&lab);
    Ok(LabServer {
        addr,
        live,
        lab,
        tenants,
        shutdown: Some(tx),
        task,
    })
}

/// The routes of one account and region.
pub fn router(lab: Arc<Lab>) -> Router {
    Router::new()
        .merge(lambda_api::routes())
        .route(
            "/service/GraniteServiceVersion20100801/operation/{operation}",
            post(cloudwatch::rpc_v2_cbor),
        )
        .route("/", post(aws_json))
        .route("/_lab/stats", get(stats))
        .route("/_lab/code/{name}", get(create_api::download_code))
        .layer(axum::middleware::from_fn_with_state(
            lab.clone(),
            iam::authorize,
        ))
        .with_state(lab)
}

/// `POST /` carries both awsJson protocols: CloudWatch (awsJson1_0, boto3) and
/// CloudWatch Logs (awsJson1_1); `X-Amz-Target` says which service and operation.
async fn aws_json(State(lab): State<Arc<Lab>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match target.split_once('.') {
        Some(("GraniteServiceVersion20100801", op)) => cloudwatch::aws_json_1_0(&lab, op, &body),
        Some(("Logs_20140328", op)) => logs::aws_json_1_1(&lab, op, &body).await,
        _ => AwsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("the lab does not serve X-Amz-Target '{target}'"),
        )
        .aws_json("application/x-amz-json-1.1"),
    }
}

/// Lab-only counters (not an AWS API): invocations, GB-s and peak concurrency, so tests can
/// assert that a tuner stayed within its budget.
async fn stats(State(lab): State<Arc<Lab>>) -> Response {
    axum::Json(lab.stats()).into_response()
}

/// The built-in demo profiles (`config/lab/demo-fleet.toml`, compiled in).
pub fn demo_profiles() -> ProfileSet {
    ProfileSet::parse(
        include_str!("../../../config/lab/demo-fleet.toml"),
        "config/lab/demo-fleet.toml",
    )
    .expect("the built-in demo profiles are valid (a unit test checks it)")
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_profiles_parse() {
        let profiles = super::demo_profiles();
        assert!(
            profiles.functions.len() >= 12,
            "{}",
            profiles.functions.len()
        );
        for f in &profiles.functions {
            let env = f.tags.get("env").map(String::as_str);
            assert_eq!(env, Some("prod"), "{}", f.name);
            assert!(f.tags.contains_key("team"), "{}", f.name);
            assert!(f.traffic.requests_per_day > 0.0, "{}", f.name);
        }
    }
}
