//! The adaptive search driven through the library against the lab, for behaviour the CLI does
//! not expose a knob for.

mod common;

use std::sync::Arc;
use std::time::Duration;

use memtune::platform::aws::AwsLambda;
use memtune::strategy::Strategy;
use memtune::sweep::payload::Payloads;
use memtune::tune::adaptive::AdaptiveLimits;
use memtune::tune::TuneOutcome;
use memtune::tune::{self, Search, TuneOptions};
use memtune_facts::pricing::PriceBook;
use memtune_lab as lab;
use memtune_lab::profiles::ProfileSet;
use tokio::sync::Semaphore;

/// Tunes one function of `fleet` for `cost` with a single round of adaptive sampling.
async fn one_round(profiles: ProfileSet, function: &str) -> TuneOutcome {
    let server = common::start_lab(profiles).await;
    let api = AwsLambda::new(&common::sdk_config(&server.endpoint()).await);
    let state = tempfile::tempdir().unwrap();
    let strategy = Strategy::load("cost").unwrap();
    let limits = AdaptiveLimits {
        max_rounds: 1,
        include_current: false,
        ..AdaptiveLimits::new(128, 10240, strategy.search.invocations)
    };
    let options = TuneOptions {
        run_id: "one-round".into(),
        invocations: strategy.search.invocations,
        strategy,
        search: Search::Adaptive(limits),
        warmup: 0,
        payloads: Payloads::single("{}").unwrap(),
        region: "us-east-1".into(),
        cold_start_ratio: 0.01,
        state_dir: state.path().to_path_buf(),
        endpoint_url: None,
        role: None,
        settle_timeout: Duration::from_secs(60),
        seed: 1,
        monthly_invocations: None,
        cold_starts: false,
        isolation: Default::default(),
        sampling: Default::default(),
        staging_bucket: None,
    };
    let outcome = tune::tune(
        &api,
        &PriceBook::builtin(),
        function,
        &options,
        Arc::new(Semaphore::new(1)),
        &|_| {},
    )
    .await
    .unwrap();
    server.stop().await;
    outcome
}

#[tokio::test]
async fn a_size_planned_when_the_rounds_run_out_is_still_sampled() {
    // The first sizes (128, 256 and 512 MB for cost) are too small for this memory-hungry
    // function, so its one round plans a larger size that no round is left to take.
    let outcome = one_round(lab::demo_profiles(), "nightly-etl").await;
    let sampled: Vec<u32> = outcome.sizes.iter().map(|s| s.memory_mb).collect();
    assert!(
        sampled.iter().any(|m| ![128, 256, 512].contains(m)),
        "only the first sizes were sampled: {sampled:?}"
    );
}

#[tokio::test]
async fn the_reports_curve_is_fitted_on_every_size_sampled() {
    // One round fits three sizes, too few to cross-validate; it plans one vCPU for this
    // CPU-bound function, which makes four, so the report's curve, fitted on all of them, has
    // a cross-validated error.
    let calibrated = ProfileSet::load(std::path::Path::new("config/lab/calibrated.toml")).unwrap();
    let outcome = one_round(calibrated, "cebert-cpu-python312-x86").await;
    assert!(outcome.sizes.len() >= 4, "{:?}", outcome.sizes.len());
    let fit = outcome.fit.expect("a fitted curve for the report");
    assert!(
        fit.cv_error.is_some(),
        "the report's {} curve has no cross-validated error",
        fit.model
    );
}
