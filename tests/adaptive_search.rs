//! The adaptive search driven through the library against the lab, for behaviour the CLI does
//! not expose a knob for.

mod common;

use std::sync::Arc;
use std::time::Duration;

use memtune::lab;
use memtune::platform::aws::AwsLambda;
use memtune::pricing::PriceBook;
use memtune::strategy::Strategy;
use memtune::sweep::payload::Payloads;
use memtune::tune::adaptive::AdaptiveLimits;
use memtune::tune::{self, Search, TuneOptions};
use tokio::sync::Semaphore;

#[tokio::test]
async fn a_size_planned_when_the_rounds_run_out_is_still_sampled() {
    let server = common::start_lab(lab::demo_fleet()).await;
    let api = AwsLambda::new(&common::sdk_config(&server.endpoint()).await);
    let state = tempfile::tempdir().unwrap();
    let strategy = Strategy::load("cost").unwrap();
    // One round: the first sizes (128, 256 and 512 MB for cost), which are too small for this
    // memory-hungry function, so the search plans a larger size that no round is left to take.
    let limits = AdaptiveLimits {
        max_rounds: 1,
        include_current: false,
        ..AdaptiveLimits::new(128, 10240, strategy.search.invocations)
    };
    let options = TuneOptions {
        run_id: "rounds-run-out".into(),
        invocations: strategy.search.invocations,
        strategy,
        search: Search::Adaptive(limits),
        warmup: 0,
        payloads: Payloads::single("{}").unwrap(),
        region: "us-east-1".into(),
        cold_start_ratio: 0.01,
        state_dir: state.path().to_path_buf(),
        endpoint_url: None,
        settle_timeout: Duration::from_secs(60),
        seed: 1,
    };
    let outcome = tune::tune(
        &api,
        &PriceBook::builtin(),
        "nightly-etl",
        &options,
        Arc::new(Semaphore::new(1)),
        &|_| {},
    )
    .await
    .unwrap();
    let sampled: Vec<u32> = outcome.sizes.iter().map(|s| s.memory_mb).collect();
    assert!(
        sampled.iter().any(|m| ![128, 256, 512].contains(m)),
        "only the first sizes were sampled: {sampled:?}"
    );
    server.stop().await;
}
