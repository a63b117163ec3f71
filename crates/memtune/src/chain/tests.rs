//! The end-to-end model and the search on synthetic hops with known curves.

use super::decide;
use super::model::{level, ChainModel, Draws, Hop, HopSize, Objective, Table, LEVELS};
use super::search::{cheapest, equal_split, EntryProvisioning};

/// A hop whose own duration is `work_ms` of CPU-bound work at one vCPU (1769 MB), scaled by
/// CPU share below it and flat above, with log-normal noise of spread `sigma`; priced at
/// x86 first-tier prices.
fn hop(name: &str, work_ms: f64, sigma: f64, cold: f64, init_ms: f64) -> Hop {
    hop_on(
        (0..12).map(|k| 128 + 256 * k),
        name,
        work_ms,
        sigma,
        cold,
        init_ms,
    )
}

/// [`hop`] at the given sizes.
fn hop_on(
    grid: impl Iterator<Item = u32>,
    name: &str,
    work_ms: f64,
    sigma: f64,
    cold: f64,
    init_ms: f64,
) -> Hop {
    let normal = statrs::distribution::Normal::standard();
    use statrs::distribution::ContinuousCDF;
    let sizes = grid
        .map(|memory_mb| {
            let speed = (f64::from(memory_mb) / 1769.0).min(1.0);
            let median = work_ms / speed;
            HopSize {
                memory_mb,
                own_ms: (0..LEVELS)
                    .map(|i| median * (sigma * normal.inverse_cdf(level(i))).exp())
                    .collect(),
                init_ms: init_ms / speed.sqrt(),
                usd_per_ms: f64::from(memory_mb) / 1024.0 * 0.0000166667 / 1000.0,
                usd_per_request: 0.2e-6,
            }
        })
        .collect();
    Hop {
        function: name.into(),
        sizes,
        cold_probability: cold,
        init_sigma: 0.1,
        init_billed: true,
    }
}

/// `calls[h]`: hop h's stages of calls.
fn chain(hops: Vec<Hop>, calls: Vec<Vec<Vec<usize>>>, slo_ms: f64) -> ChainModel {
    ChainModel {
        hops,
        calls,
        objective: Objective {
            slo_ms,
            percentile: 0.99,
        },
    }
}

/// Every assignment of the grid, for the search to be checked against.
fn brute_force(model: &ChainModel, table: &Table) -> Option<(Vec<usize>, f64)> {
    let counts: Vec<usize> = model.hops.iter().map(|h| h.sizes.len()).collect();
    let mut best: Option<(Vec<usize>, f64)> = None;
    let mut a = vec![0; counts.len()];
    loop {
        if model.meets(table, &a) {
            let cost = model.usd_per_request(table, &a);
            if best.as_ref().is_none_or(|(_, b)| cost < *b) {
                best = Some((a.clone(), cost));
            }
        }
        let mut i = 0;
        loop {
            if i == a.len() {
                return best;
            }
            a[i] += 1;
            if a[i] < counts[i] {
                break;
            }
            a[i] = 0;
            i += 1;
        }
    }
}

fn api_chain(slo_ms: f64) -> ChainModel {
    chain(
        vec![
            hop("api", 40.0, 0.15, 0.01, 300.0),
            hop("orders", 120.0, 0.2, 0.01, 500.0),
            hop("ledger", 25.0, 0.1, 0.01, 200.0),
        ],
        vec![vec![vec![1]], vec![vec![2]], vec![]],
        slo_ms,
    )
}

#[test]
fn the_search_finds_the_brute_force_optimum() {
    for (model, requests) in [
        (api_chain(700.0), 600),
        (
            chain(
                vec![
                    hop("front", 30.0, 0.1, 0.0, 0.0),
                    hop("a", 90.0, 0.25, 0.02, 400.0),
                    hop("b", 60.0, 0.1, 0.0, 0.0),
                ],
                vec![vec![vec![1, 2]], vec![], vec![]],
                800.0,
            ),
            600,
        ),
        (
            // The entry calls one function, then another: their times add up.
            chain(
                vec![
                    hop("quote", 20.0, 0.1, 0.02, 300.0),
                    hop("pricing", 150.0, 0.1, 0.02, 2000.0),
                    hop("tax", 40.0, 0.2, 0.02, 200.0),
                ],
                vec![vec![vec![1], vec![2]], vec![], vec![]],
                2600.0,
            ),
            600,
        ),
    ] {
        let table = Table::new(&model, &Draws::new(&model, requests, 7));
        let (found, stats) = cheapest(&model, &table);
        let (expected, expected_cost) = brute_force(&model, &table).expect("feasible");
        let found = found.expect("the search finds a feasible assignment");
        let cost = model.usd_per_request(&table, &found);
        assert!(
            (cost - expected_cost).abs() < 1e-15,
            "{found:?} {expected:?}"
        );
        assert!(stats.nodes < stats.grid as u64 / 4, "{stats:?}");
        assert!(model.meets(&table, &found));
    }
}

#[test]
fn the_joint_choice_beats_an_equal_split_and_meets_the_objective() {
    let model = api_chain(700.0);
    let table = Table::new(&model, &Draws::new(&model, 2000, 11));
    let found = cheapest(&model, &table).0.unwrap();
    let joint = model.evaluate(&table, &found);
    let split = model.evaluate(&table, &equal_split(&model, &table));
    assert!(joint.meets_objective);
    assert!(
        joint.usd_per_request < split.usd_per_request,
        "joint {joint:?} split {split:?}"
    );
}

#[test]
fn nothing_feasible_is_said_not_hidden() {
    let model = api_chain(50.0);
    let table = Table::new(&model, &Draws::new(&model, 500, 1));
    assert_eq!(cheapest(&model, &table).0, None);
    let decision = decide("api", &model, &vec![3, 3, 3], None, 1);
    assert!(!decision.feasible());
    assert!(
        decision.tradeoff.starts_with("No sizes meet the objective"),
        "{}",
        decision.tradeoff
    );
    assert!(decision.functions.iter().all(|f| f.chosen_mb == 2944));
}

#[test]
fn a_heavy_init_hop_owns_the_tail_and_cold_starts_show_in_the_p99() {
    let model = chain(
        vec![
            hop("api", 30.0, 0.1, 0.0, 0.0),
            hop("model", 50.0, 0.1, 0.03, 2500.0),
        ],
        vec![vec![vec![1]], vec![]],
        4000.0,
    );
    let decision = decide("ml", &model, &vec![7, 7], None, 3);
    assert_eq!(decision.tail_owner, "model");
    assert!(
        decision.chosen.tail_ms > 2.0 * decision.chosen.tail_warm_ms,
        "{:?}",
        decision.chosen
    );
    assert!(decision.functions[1].tail_share > 0.8);
}

#[test]
fn provisioned_concurrency_on_a_cold_entry_is_named_when_cheapest() {
    // The entry's INIT alone breaks the objective at any size 3% of the time.
    let model = chain(
        vec![
            hop("entry", 20.0, 0.05, 0.03, 3000.0),
            hop("next", 20.0, 0.05, 0.0, 0.0),
        ],
        vec![vec![vec![1]], vec![]],
        400.0,
    );
    let pc = EntryProvisioning {
        level: 2,
        requests_per_second: 50.0,
        usd_per_gb_s: 0.0000041667,
    };
    let decision = decide("cold", &model, &vec![3, 3], Some(pc), 5);
    assert!(!decision.feasible());
    let option = decision.provisioned.as_ref().unwrap();
    assert!(
        option.cheapest && option.evaluation.meets_objective,
        "{option:?}"
    );
    assert!(decision
        .tradeoff
        .contains("Provisioned concurrency on the entry"));
}

#[test]
fn the_same_seed_gives_the_same_decision() {
    let model = api_chain(700.0);
    let a = decide("api", &model, &vec![5, 5, 5], None, 42);
    let b = decide("api", &model, &vec![5, 5, 5], None, 42);
    assert_eq!(a, b);
}

#[test]
fn warm_figures_leave_cold_starts_out() {
    let model = chain(
        vec![hop("solo", 100.0, 0.0, 0.5, 1000.0)],
        vec![vec![]],
        5000.0,
    );
    let table = Table::new(&model, &Draws::new(&model, 1000, 2));
    let e = model.evaluate(&table, &[11]);
    assert!((e.tail_warm_ms - 100.0).abs() < 1e-9, "{e:?}");
    assert!((e.p50_warm_ms - 100.0).abs() < 1e-9, "{e:?}");
    assert!(e.tail_ms > 1000.0, "{e:?}");
}

#[test]
fn a_cold_start_as_likely_as_the_tail_decides_the_percentile() {
    // 1.2% of requests start the entry cold (+500 ms): more than a p99 allows, however
    // few draws happen to be cold (none are drawn: every pattern has its probability).
    let model = chain(
        vec![
            hop("entry", 100.0, 0.05, 0.012, 500.0),
            hop("next", 50.0, 0.05, 0.005, 150.0),
        ],
        vec![vec![vec![1]], vec![]],
        450.0,
    );
    let table = Table::new(&model, &Draws::new(&model, 2000, 3));
    let e = model.evaluate(&table, &[11, 11]);
    assert!(!e.meets_objective, "{e:?}");
    assert!(e.tail_ms > 450.0, "{e:?}");
}

#[test]
fn a_four_function_fan_out_on_the_64_mb_grid_evaluates_few_assignments() {
    // The lab's feed chain's shape: an aggregator fanning out to three functions, 46 sizes
    // each (4.5 million assignments).
    let grid = || (128..=3008).step_by(64);
    let model = chain(
        vec![
            hop_on(grid(), "aggregator", 30.0, 0.08, 0.008, 250.0),
            hop_on(grid(), "ranker", 240.0, 0.07, 0.008, 900.0),
            hop_on(grid(), "profile", 45.0, 0.25, 0.008, 220.0),
            hop_on(grid(), "ads", 90.0, 0.1, 0.008, 420.0),
        ],
        vec![vec![vec![1, 2, 3]], vec![], vec![], vec![]],
        1300.0,
    );
    let table = Table::new(&model, &Draws::new(&model, 4000, 1));
    let started = std::time::Instant::now();
    let (found, stats) = cheapest(&model, &table);
    eprintln!("{stats:?} in {:.1} s", started.elapsed().as_secs_f64());
    let found = found.expect("feasible");
    assert!(model.meets(&table, &found));
    assert!(stats.nodes < 2_000, "{stats:?}");
    // No single function moved one size down keeps the objective more cheaply.
    let cost = model.usd_per_request(&table, &found);
    for h in 0..4 {
        for size in 0..found[h] {
            let mut other = found.clone();
            other[h] = size;
            assert!(
                !model.meets(&table, &other) || model.usd_per_request(&table, &other) >= cost,
                "{other:?} beats {found:?}"
            );
        }
    }
}
