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
        production_tail: false,
    };
    let report = accuracy::run(&spec).await.unwrap();
    let of = |search: &str| report.summary(search).unwrap().clone();
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

/// Both searches are billed as Lambda bills them: every cold start's INIT is part of the
/// exploration GB-s, and Power Tuning's grid pays one per size (6 sizes x 10 invocations,
/// the first of each cold).
#[tokio::test(flavor = "multi_thread")]
async fn exploration_includes_the_init_of_every_cold_start() {
    let profiles = memtune_lab::profiles::ProfileSet::parse(
        "[[function]]\nname = \"heavy-init\"\nmemory_mb = 1024\ntimeout_s = 30\n\
         [function.workload]\nio_ms = 100.0\ninit_ms = 2000.0\nnoise_cv = 0.02\n\
         [function.traffic]\nrequests_per_day = 10000\ncold_start_ratio = 0.01\n",
        "t.toml",
    )
    .unwrap()
    .functions;
    let spec = AccuracySpec {
        profiles,
        strategies: vec!["cost".into()],
        searches: vec!["grid", "adaptive"],
        seed: 1,
        production_tail: false,
    };
    let report = accuracy::run(&spec).await.unwrap();
    let run = |search: &str| report.runs.iter().find(|r| r.search == search).unwrap();
    let grid = run("grid");
    assert_eq!(grid.cold_starts, 6, "{grid:?}");
    // 2 s of INIT at each of 128 + 256 + 512 + 1024 + 1536 + 3008 MB, and 60 x 100 ms warm.
    let sizes_gb = 6464.0 / 1024.0;
    let (init, warm) = (2.0 * sizes_gb, 10.0 * 0.1 * sizes_gb);
    assert!((grid.init_gb_seconds / init - 1.0).abs() < 0.1, "{grid:?}");
    assert!(
        ((grid.gb_seconds - grid.init_gb_seconds) / warm - 1.0).abs() < 0.1,
        "{grid:?}"
    );
    let adaptive = run("adaptive");
    assert!(
        adaptive.cold_starts as usize >= adaptive.sampled.len(),
        "{adaptive:?}"
    );
    assert!(adaptive.init_gb_seconds > 0.0 && adaptive.gb_seconds > adaptive.init_gb_seconds);
}
