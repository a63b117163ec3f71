//! Recommendation regret on real measured curves: a few series of the development set
//! (`memtune bench accuracy --corpus real-dev`), tuned by grid and adaptive search and scored
//! against the interpolated measurements. The bounds are the figures the search met when the
//! test was written (in the comments), with some margin: tighten them as the search improves.
//! docs/benchmarks.md has the whole set's figures.

use memtune_cli::bench::accuracy::{self, AccuracyReport, AccuracySpec, Corpus, Scored, Summary};

/// Series that no physical model fits and series that it does, both sources.
const SERIES: [&str; 6] = [
    // Non-monotone: 256 MB 7.7 ms, 512 MB 10.3 ms, 1024 MB 7.9 ms.
    "cebert-nov-light-rust-x86",
    // p99/mean 3.2 at 128 MB, 1.5 at 2048 MB.
    "cebert-nov-light-nodejs20-x86",
    // 256 MB 23% slower than the 1/memory trend of its neighbours.
    "cebert-nov-cpu-python312-arm64",
    // Never ran below 1024 MB.
    "cebert-nov-memory-python313-x86",
    // Cold starts, flat from 384 MB on.
    "mbwilding-328c27e-python311-arm64",
    "mbwilding-328c27e-dotnet6-x86",
];

async fn run(strategy: &str) -> (AccuracyReport, Summary, Summary) {
    let profiles: Vec<_> = accuracy::profiles(Corpus::RealDev, false, 1)
        .into_iter()
        .filter(|p| SERIES.contains(&p.name.as_str()))
        .collect();
    assert_eq!(profiles.len(), SERIES.len());
    let spec = AccuracySpec {
        profiles,
        strategies: vec![strategy.into()],
        searches: vec!["grid", "adaptive"],
        seed: 1,
        production_tail: false,
    };
    let report = accuracy::run(&spec).await.unwrap();
    for r in &report.runs {
        eprintln!("{}", line(r));
    }
    let of = |search: &str| report.summary(search).unwrap().clone();
    let (grid, adaptive) = (of("grid"), of("adaptive"));
    (report, grid, adaptive)
}

fn line(r: &Scored) -> String {
    format!(
        "{} {} {}: {:?} MB (best {:?}), regret {:?}, SLO met {:?}, {:.1} GB-s",
        r.strategy,
        r.search,
        r.profile,
        r.recommended_mb,
        r.best_mb,
        r.cost_regret,
        r.slo_met,
        r.gb_seconds
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn cost_regret_on_real_curves_stays_bounded_for_grid_and_adaptive() {
    let (report, grid, adaptive) = run("cost").await;
    for s in [&grid, &adaptive] {
        assert_eq!((s.failed, s.infeasible_recommendations), (0, 0), "{s:?}");
        assert_eq!(s.oversized, Some(0), "{s:?}");
    }
    // Grid's worst 1.30%; adaptive's median 0.00%, worst 5.15% (memory-python313-x86: 1024 MB,
    // the smallest size it runs at, for 1769 MB).
    assert!(grid.max_regret <= 0.03, "{grid:?}");
    assert!(adaptive.median_regret <= 0.02, "{adaptive:?}");
    assert!(adaptive.max_regret <= 0.10, "{adaptive:?}");
    // 23% (feb5c0f).
    let ratio = accuracy::median_gb_s_ratio(&report.runs, "cost");
    assert!(
        ratio <= 0.4,
        "adaptive used {:.0}% of grid's GB-s",
        ratio * 100.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_slo_on_real_curves_misses_few_slos_and_oversizes_few() {
    let (report, grid, adaptive) = run("latency-slo").await;
    for s in [&grid, &adaptive] {
        assert_eq!((s.failed, s.infeasible_recommendations), (0, 0), "{s:?}");
    }
    // Grid misses 2 (light-nodejs20-x86 and python311-arm64: ten samples cannot place a p99);
    // adaptive misses none and recommends 2559 MB for light-rust-x86 (the non-monotone
    // stretch: 2.6x the cost of 256 MB) and 1060 MB for python311-arm64 (1.7x; 535 MB meets
    // the SLO), feb5c0f.
    assert!(grid.slo_missed <= 3, "{grid:?}");
    assert!(adaptive.slo_missed <= 1, "{adaptive:?}");
    assert!(adaptive.oversized.is_some_and(|n| n <= 2), "{adaptive:?}");
    // 50% on feb5c0f, where neither search reads production data (the grid never does);
    // issue 22's target is 50%.
    let ratio = accuracy::median_gb_s_ratio(&report.runs, "latency-slo");
    assert!(
        ratio <= 0.7,
        "adaptive used {:.0}% of grid's GB-s",
        ratio * 100.0
    );
}
