//! Regression check on recommendation quality (never on time): the quick corpus of
//! `memtune bench accuracy`, cost and latency-slo strategies, scored against the lab's truth.

use memtune_cli::bench::accuracy::{self, AccuracyReport, AccuracySpec, Summary};

/// The quick corpus under one strategy, grid and adaptive; returns the report and the two
/// summaries (grid, adaptive).
async fn quick(strategy: &str) -> (AccuracyReport, Summary, Summary) {
    let spec = AccuracySpec {
        profiles: accuracy::corpus(true, 1),
        strategies: vec![strategy.into()],
        searches: vec!["grid", "adaptive"],
        seed: 1,
    };
    let report = accuracy::run(&spec).await.unwrap();
    let of = |search: &str| {
        report
            .summaries
            .iter()
            .find(|s| s.search == search)
            .unwrap()
            .clone()
    };
    let (grid, adaptive) = (of("grid"), of("adaptive"));
    (report, grid, adaptive)
}

#[tokio::test(flavor = "multi_thread")]
async fn adaptive_cost_recommendations_stay_accurate_and_cheap_to_find() {
    let (report, grid, adaptive) = quick("cost").await;
    assert_eq!(adaptive.failed, 0, "{adaptive:?}");
    assert_eq!(adaptive.infeasible_recommendations, 0, "{adaptive:?}");
    assert!(adaptive.median_regret <= 0.01, "{adaptive:?}");
    // The targets on the full corpus; this subset measured 1.01% and 25% on 9542af2.
    assert!(adaptive.p95_regret <= 0.03, "{adaptive:?}");
    assert!(
        adaptive.p95_regret < grid.p95_regret,
        "{adaptive:?} {grid:?}"
    );
    assert!(grid.runs == adaptive.runs, "{grid:?}");
    let ratio = accuracy::median_gb_s_ratio(&report.runs, "cost");
    assert!(
        ratio <= 1.0 / 3.0,
        "adaptive used {:.0}% of grid's GB-s",
        ratio * 100.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn adaptive_latency_slo_meets_every_reachable_slo() {
    let (report, grid, adaptive) = quick("latency-slo").await;
    // The quick corpus has heavy-tailed and very noisy profiles where grid misses the SLO.
    assert!(grid.slo_missed > 0, "{grid:?}");
    // With 97.5% bounds `synthetic-0003` landed at 4756 MB against a crossing at 4800 (true
    // p99 0.35% over); the 99.5% bounds of b1ae365 keep it above.
    assert_eq!(adaptive.slo_missed, 0, "{adaptive:?}");
    assert_eq!(adaptive.infeasible_recommendations, 0, "{adaptive:?}");
    // 2.06% on bb574c0.
    assert!(adaptive.median_regret <= 0.05, "{adaptive:?}");
    // 46% on bb574c0.
    let ratio = accuracy::median_gb_s_ratio(&report.runs, "latency-slo");
    assert!(
        ratio <= 0.5,
        "adaptive used {:.0}% of grid's GB-s",
        ratio * 100.0
    );
}
