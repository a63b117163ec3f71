use super::confirm::*;
use super::estimates::*;
use super::limits::*;
use super::predict::*;
use super::probes::*;
use super::*;
use crate::measure::{
    Failure, Infeasibility, Outcome, Percentile, QuantileEstimate, Report, ReportStatus, WarmStats,
};
use crate::strategy::{Candidate, CostEstimate};

/// Four invocations at each size: warm successes using 100 MB, or out-of-memory kills.
fn sized(sizes: &[(u32, bool)]) -> Vec<SizeStats> {
    let samples: Vec<Sample> = sizes
        .iter()
        .flat_map(|&(memory_mb, ok)| {
            (0..4).map(move |i| Sample {
                memory_mb,
                cold: false,
                outcome: if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure(Failure::OutOfMemory)
                },
                report: ok.then(|| Report {
                    request_id: format!("{memory_mb}-{i}"),
                    duration_ms: 100.0 + i as f64,
                    billed_ms: 101 + i,
                    memory_mb,
                    max_memory_used_mb: 100,
                    init_ms: None,
                    restore_ms: None,
                    billed_restore_ms: None,
                    status: ReportStatus::Success,
                }),
            })
        })
        .collect();
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    measure::size_stats(&samples, &StatsOptions::new(10_000.0), &cost_of)
}

/// The latency-slo strategy with a p99 SLO.
fn latency_slo(slo_ms: f64) -> Strategy {
    Strategy::load("latency-slo")
        .unwrap()
        .with_slo(Some(slo_ms), Some(Percentile::P99))
}

/// What a test search weighs sizes by, for a function whose timeout is 10 s.
fn objectives<'a>(
    strategy: &'a Strategy,
    cost_of: &'a (dyn Fn(u32, f64) -> f64 + Sync),
    stats: &'a StatsOptions,
) -> Objectives<'a> {
    Objectives {
        strategy,
        cost_of,
        stats,
        timeout_ms: 10_000.0,
        current_mb: None,
    }
}

/// The fit of what [`sized`] measures at feasible sizes: 100-103 ms everywhere.
fn sized_fit(sizes: &[u32]) -> Fit {
    let samples: Vec<SizeSamples> = sizes
        .iter()
        .map(|&memory_mb| SizeSamples {
            memory_mb,
            warm_ms: vec![100.0, 101.0, 102.0, 103.0],
        })
        .collect();
    fit::fit(&samples).unwrap()
}

fn warm(samples: usize, mean_ms: f64, cv: f64) -> WarmStats {
    let q = QuantileEstimate {
        ms: mean_ms,
        upper_ms: None,
        confidence: 0.95,
        own_spread: false,
    };
    WarmStats {
        samples,
        mean_ms,
        trimmed_mean_ms: mean_ms,
        p50: q,
        p90: q,
        p99: q,
        cv,
        mean_billed_ms: mean_ms,
    }
}

fn limits() -> AdaptiveLimits {
    AdaptiveLimits::new(128, 10240, 30)
}

#[test]
fn pooled_mean_weighs_fit_and_samples_by_precision() {
    // Fit 100 with se 1; four samples averaging 104 with se 2 (cv 4/104): weights 4:1.
    let (mean, (low, high)) = pooled_mean(Some((104.0, 2.0)), 100.0, (98.04, 101.96)).unwrap();
    assert!((mean - 100.8).abs() < 1e-9, "{mean}");
    let half = 1.96 / 1.25f64.sqrt();
    assert!((high - low - 2.0 * half).abs() < 1e-9);
}

#[test]
fn pooled_mean_lets_the_samples_stand_where_the_fit_misses_them() {
    // Samples at 130 with se 2 against a fit of 100 with se 1: the curve misfits here.
    assert_eq!(
        pooled_mean(Some((130.0, 2.0)), 100.0, (98.04, 101.96)),
        None
    );
    // Without an estimate of its own (a single sample): the fit stands.
    assert_eq!(
        pooled_mean(None, 100.0, (98.0, 102.0)),
        Some((100.0, (98.0, 102.0)))
    );
}

#[test]
fn with_a_production_tail_a_sizes_own_mean_is_its_median_scaled() {
    let sizes = [
        SizeSamples {
            memory_mb: 512,
            warm_ms: vec![100.0, 104.0, 96.0, 102.0],
        },
        SizeSamples {
            memory_mb: 1024,
            warm_ms: vec![50.0, 52.0, 48.0, 51.0],
        },
    ];
    let tail = ProductionTail::new(130.0, 100.0, Some(150.0), 800.0, 1e6).unwrap();
    let plain = fit::fit(&sizes).unwrap();
    let robust = fit::fit_with(&sizes, Some(tail)).unwrap();
    // Nine samples near 100 and one slow one (8x): the mean moves 70%, the median not.
    let mut w = warm(10, 170.0, 1.3);
    w.p50.ms = 100.0;
    let (mean, se) = own_estimate(&plain, &w, 1.3).unwrap();
    assert_eq!(mean, 170.0);
    assert!((se - 1.3 * 170.0 / 10f64.sqrt()).abs() < 1e-9);
    let (mean, se) = own_estimate(&robust, &w, 0.1).unwrap();
    assert!((mean - 130.0).abs() < 1e-9, "{mean}");
    assert!((se - fit::MEDIAN_SE_FACTOR * 0.1 * 130.0 / 10f64.sqrt()).abs() < 1e-9);
    assert_eq!(own_estimate(&robust, &warm(1, 100.0, 0.0), 0.1), None);
}

#[test]
fn the_flat_run_around_the_optimum_stops_where_cost_rises_by_one_percent() {
    // Cost falls steeply to 200 MB, then rises slowly.
    let candidates: Vec<Candidate> = (160..=400)
        .map(|m| Candidate {
            memory_mb: m,
            duration_ms: 0.0,
            cost: CostEstimate::point(if m < 200 {
                1.0 + 0.01 * f64::from(200 - m)
            } else {
                1.0 + 0.0001 * f64::from(m - 200)
            }),
            percentile: None,
        })
        .collect();
    assert_eq!(flat_around(&candidates, 200), Some((199, 300)));
    assert_eq!(flat_around(&candidates, 500), None);
}

/// Four sizes whose means wobble by a few percent around a flat curve, so the curve's band
/// has some width.
fn wobbling_flat_fit() -> Fit {
    let samples: Vec<SizeSamples> = [(128, 100.0), (256, 104.0), (512, 99.0), (1024, 103.0)]
        .map(|(memory_mb, base)| SizeSamples {
            memory_mb,
            warm_ms: vec![base, base + 1.0, base + 2.0, base + 3.0],
        })
        .to_vec();
    fit::fit(&samples).unwrap()
}

#[test]
fn own_samples_narrow_a_sizes_p99_bound() {
    // 256 MB's own samples sit on the curve.
    let fit = wobbling_flat_fit();
    let mut stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
    stats[1].warm.as_mut().unwrap().mean_ms = fit.mean_ms(256);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let options = StatsOptions::new(10_000.0);
    let p99_bound = |stats: &[SizeStats]| {
        let smooth = smoothed(stats, &fit, &cost_of, &options);
        let warm = smooth[1].warm.as_ref().unwrap();
        (warm.p99.ms, warm.p99.upper_ms.unwrap())
    };
    let (point, few) = p99_bound(&stats);
    let mut confirmed = stats.clone();
    confirmed[1].warm.as_mut().unwrap().samples = 40;
    let (same_point, many) = p99_bound(&confirmed);
    assert!(point <= many && many < few, "{point} {many} {few}");
    assert!(
        (same_point / point - 1.0).abs() < 0.01,
        "{same_point} {point}"
    );
}

#[test]
fn a_size_the_curve_misfits_keeps_its_own_mean_and_gets_a_bound() {
    // 512 MB's own samples (40 of them) average 30% above the curve: it misfits there.
    let fit = wobbling_flat_fit();
    let mut stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
    let own_ms = 1.3 * fit.mean_ms(512);
    let warm = stats[2].warm.as_mut().unwrap();
    (warm.mean_ms, warm.samples, warm.cv) = (own_ms, 40, 0.05);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0));
    let warm = smooth[2].warm.as_ref().unwrap();
    assert_eq!(warm.trimmed_mean_ms, own_ms);
    // Its p99 is the pooled noise model's around its own mean, with an upper bound, so an
    // SLO can be confirmed there.
    let upper = warm.p99.upper_ms.expect("a bound");
    assert!(
        warm.p99.ms >= own_ms && upper > warm.p99.ms,
        "{:?}",
        warm.p99
    );
}

#[test]
fn a_sample_past_the_models_percentile_is_not_its_own_bound() {
    // One slow sample puts 256 MB's own p99 at three times its mean, past the model's bound.
    let fit = wobbling_flat_fit();
    let mut stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
    stats[1].warm.as_mut().unwrap().p99.ms = 3.0 * fit.mean_ms(256);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0));
    let (slow, usual) = (
        &smooth[1].warm.as_ref().unwrap().p99,
        &smooth[2].warm.as_ref().unwrap().p99,
    );
    assert_eq!(slow.ms, 3.0 * fit.mean_ms(256));
    // The bound sits above the slow sample by as much as a usual size's sits above its estimate.
    let width = |q: &QuantileEstimate| q.upper_ms.unwrap() / q.ms;
    assert!(width(slow) > 1.0, "{slow:?}");
    assert!(
        (width(slow) / width(usual) - 1.0).abs() < 0.05,
        "{slow:?} {usual:?}"
    );
}

#[test]
fn a_size_noisier_than_productions_tail_is_bounded_by_its_own_spread() {
    // 256 and 512 MB spread like cebert's light Node.js function there (p99/mean ~3.5);
    // production, at 1024 MB, is much quieter (p99/mean 1.6), as are 1024-4096 MB.
    let spread = |ratios: [f64; 8]| ratios.map(|r| 20.0 * r).to_vec();
    let noisy = spread([0.45, 0.6, 0.75, 0.9, 1.1, 1.4, 1.9, 2.6]);
    let quiet = spread([0.9, 0.95, 0.98, 1.0, 1.0, 1.03, 1.06, 1.12]);
    let samples: Vec<SizeSamples> = [256, 512, 1024, 2048, 4096]
        .into_iter()
        .map(|memory_mb| SizeSamples {
            memory_mb,
            warm_ms: if memory_mb <= 512 {
                noisy.clone()
            } else {
                quiet.clone()
            },
        })
        .collect();
    let tail = ProductionTail::new(20.5, 20.0, Some(24.0), 32.0, 1e6).unwrap();
    let fit = fit::fit_with(&samples, Some(tail)).unwrap();
    let stats = sized(&[(256, true), (512, true), (1024, true), (2048, true)]);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0));
    let p99 = |i: usize| smooth[i].warm.as_ref().unwrap().p99;
    assert!(p99(1).own_spread && !p99(3).own_spread);
    assert!(
        p99(1).upper_ms.unwrap() > 2.0 * fit.mean_ms(512) * tail.p99_ms / tail.mean_ms,
        "{:?}",
        p99(1)
    );
}

#[test]
fn a_higher_requested_confidence_widens_and_labels_the_bounds() {
    assert_eq!(bound_confidence(0.95), 0.995);
    assert!((bound_confidence(0.99) - 0.999).abs() < 1e-12);
    let fit = wobbling_flat_fit();
    let stats = sized(&[(128, true), (256, true), (512, true), (1024, true)]);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let p99_at = |confidence: f64| {
        let options = StatsOptions {
            confidence,
            ..StatsOptions::new(10_000.0)
        };
        smoothed(&stats, &fit, &cost_of, &options)[1]
            .warm
            .as_ref()
            .unwrap()
            .p99
    };
    let (usual, strict) = (p99_at(0.95), p99_at(0.99));
    assert_eq!(usual.ms, strict.ms);
    assert!(
        usual.upper_ms.unwrap() < strict.upper_ms.unwrap(),
        "{usual:?} {strict:?}"
    );
    assert_eq!(
        (usual.confidence, strict.confidence),
        (0.995, bound_confidence(0.99))
    );
}

#[test]
fn an_unconfirmed_latency_choice_gets_its_invocations_a_confirmation_at_a_time() {
    let fit = sized_fit(&[256, 512]);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let options = StatsOptions::new(10_000.0);
    let smooth = smoothed(
        &sized(&[(256, true), (512, true)]),
        &fit,
        &cost_of,
        &options,
    );
    // An SLO that 256 MB meets by its estimate, but not by its upper bound.
    let p99 = smooth[0].warm.as_ref().unwrap().p99;
    let slo = p99.ms * 1.001;
    assert!(p99.upper_ms.unwrap() > slo, "{p99:?}");
    let strategy = latency_slo(slo);
    let objectives = objectives(&strategy, &cost_of, &options);
    let next_at = |have: usize| {
        let mut stats = smooth.clone();
        stats[0].invocations = have;
        let choice = crate::strategy::recommend(&strategy, &stats, None).unwrap();
        assert_eq!(choice.memory_mb, 256);
        confirm_batch(&stats, &fit, &choice, &objectives, &limits())
            .map(|r| (r.memory_mb, r.invocations))
    };
    // 8 more at a time up to 24, so a bound that meets the SLO at 12 or 20 stops there.
    assert_eq!(next_at(4), Some((256, 8)));
    assert_eq!(next_at(12), Some((256, 8)));
    assert_eq!(next_at(20), Some((256, 4)));
    assert_eq!(next_at(24), None);
}

#[test]
fn asked_for_invocations_let_an_unconfirmed_latency_choice_go_further() {
    let usual = limits();
    let asked = AdaptiveLimits {
        unconfirmed_invocations: Some(60),
        ..AdaptiveLimits::new(128, 10240, 60)
    };
    assert_eq!(confirmation(Objective::LatencySlo, &usual, true), 24);
    assert_eq!(confirmation(Objective::LatencySlo, &asked, true), 60);
    // A confirmed choice and other objectives are not affected.
    assert_eq!(confirmation(Objective::LatencySlo, &asked, false), 8);
    assert_eq!(confirmation(Objective::Cost, &asked, true), 12);
}

#[test]
fn a_cheaper_size_that_meets_the_slo_by_its_estimate_is_confirmed_before_settling() {
    // Noisy durations around 100 ms everywhere: 256 MB costs half of 512 MB. 512 MB has 24
    // samples, so its p99 is bounded tighter than 256 MB's from four.
    let mut samples = vec![SizeSamples {
        memory_mb: 256,
        warm_ms: vec![85.0, 95.0, 105.0, 115.0],
    }];
    samples.extend(
        [(512, 100.0), (1024, 94.0), (2048, 106.0)].map(|(memory_mb, center)| SizeSamples {
            memory_mb,
            warm_ms: (0..30).map(|i| center - 15.0 + f64::from(i)).collect(),
        }),
    );
    let fit = fit::fit(&samples).unwrap();
    let mut stats = sized(&[(256, true), (512, true)]);
    for s in &mut stats {
        s.warm.as_mut().unwrap().cv = 0.13;
    }
    stats[1].invocations = 24;
    stats[1].warm.as_mut().unwrap().samples = 24;
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let options = StatsOptions::new(10_000.0);
    let smooth = smoothed(&stats, &fit, &cost_of, &options);
    let upper = |i: usize| smooth[i].warm.as_ref().unwrap().p99.upper_ms.unwrap();
    let point = smooth[0].warm.as_ref().unwrap().p99.ms;
    let at_24 = anticipated_upper(
        &fit,
        256,
        smooth[0].warm.as_ref(),
        24,
        0.99,
        bound_confidence(options.confidence),
    );
    assert!(point < at_24 && at_24 < upper(0) && upper(1) < upper(0));
    // An SLO that 512 MB meets with confidence and 256 MB only by its estimate.
    let slo = at_24.max(upper(1)) * 1.001;
    assert!(slo < upper(0));
    let strategy = latency_slo(slo);
    let objectives = objectives(&strategy, &cost_of, &options);
    let choice = crate::strategy::recommend(&strategy, &smooth, None).unwrap();
    assert_eq!(choice.memory_mb, 512);
    let next = slo_challenger(&smooth, &fit, &choice, &objectives, &limits()).unwrap();
    assert_eq!((next.memory_mb, next.invocations), (256, 8 - 4));
    // Once it has had its most, it is no longer a challenger.
    let mut tried = smooth.clone();
    tried[0].invocations = 24;
    assert_eq!(
        slo_challenger(&tried, &fit, &choice, &objectives, &limits()),
        None
    );
    // Nor is a size whose bound would stay above the SLO with that many samples.
    let at_4 = anticipated_upper(
        &fit,
        256,
        smooth[0].warm.as_ref(),
        4,
        0.99,
        bound_confidence(options.confidence),
    );
    assert!(at_4 > slo, "{at_4} {slo}");
}

#[test]
fn sizes_failed_only_by_their_tails_bound_are_confirmed_cheapest_first() {
    let fit = sized_fit(&[512, 1024, 2048]);
    let mut stats = sized(&[(512, true), (1024, true), (2048, true)]);
    let unbounded = Infeasibility::UnboundedTail {
        p99_ms: 110.0,
        upper_ms: 7000.0,
        confidence: bound_confidence(0.95),
        limit_ms: 6667.0,
    };
    for s in &mut stats {
        s.infeasible = vec![unbounded.clone()];
    }
    let strategy = Strategy::load("cost").unwrap();
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let options = StatsOptions::new(10_000.0);
    let o = objectives(&strategy, &cost_of, &options);
    let next = tail_confirmation(&stats, &fit, &o, &limits()).unwrap();
    assert_eq!((next.memory_mb, next.invocations), (512, 8 - 4));
    // Past the first step it goes on to the most a latency SLO gets.
    stats[0].invocations = 8;
    let next = tail_confirmation(&stats, &fit, &o, &limits()).unwrap();
    assert_eq!((next.memory_mb, next.invocations), (512, 24 - 8));
    // A size that also ran out of memory, or had its most, is not confirmed.
    stats[0]
        .infeasible
        .push(Infeasibility::OutOfMemory { count: 1 });
    stats[1].invocations = 24;
    assert_eq!(
        tail_confirmation(&stats, &fit, &o, &limits())
            .unwrap()
            .memory_mb,
        2048
    );
    stats[2].infeasible = vec![Infeasibility::SlowTail {
        p99_ms: 7000.0,
        limit_ms: 6667.0,
    }];
    assert_eq!(tail_confirmation(&stats, &fit, &o, &limits()), None);
}

#[test]
fn a_p99_estimate_within_the_margin_whose_bound_is_not_keeps_the_size_out() {
    let fit = sized_fit(&[512, 1024]);
    let stats = sized(&[(512, true), (1024, true)]);
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let at = |timeout_ms: f64| {
        let smooth = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(timeout_ms));
        smooth[0].infeasible.clone()
    };
    let warm = smoothed(&stats, &fit, &cost_of, &StatsOptions::new(10_000.0))[0]
        .warm
        .clone()
        .unwrap();
    let (point, upper) = (warm.p99.ms, warm.p99.upper_ms.unwrap());
    assert!(point < upper, "{point} {upper}");
    // A 2/3 margin between the estimate and the bound.
    let between = 1.5 * (point + upper) / 2.0;
    assert!(matches!(
        at(between)[..],
        [Infeasibility::UnboundedTail { .. }]
    ));
    assert!(at(1.5 * upper * 1.01).is_empty());
    assert!(matches!(
        at(1.5 * point * 0.99)[..],
        [Infeasibility::SlowTail { .. }]
    ));
}

#[test]
fn measured_near_reaches_eight_percent() {
    let stats = sized(&[(1000, true)]);
    assert!(measured_near(&stats, 1075).is_some());
    assert!(measured_near(&stats, 1090).is_none());
    assert!(measured_near(&sized(&[(128, true)]), 143).is_some());
}

#[test]
fn bracket_probe_checks_one_vcpu_then_a_quarter_up() {
    let stats = sized(&[(128, true), (256, true), (512, true)]);
    let cost = Objective::Cost;
    assert_eq!(bracket_probe(&stats, 512, cost, &limits()), Some(1769));
    assert_eq!(bracket_probe(&stats, 256, cost, &limits()), None);
    let stats = sized(&[(1024, true), (2048, true)]);
    assert_eq!(bracket_probe(&stats, 2048, cost, &limits()), Some(2560));
    assert_eq!(
        bracket_probe(&stats, 2048, Objective::Speed, &limits()),
        Some(2560)
    );
    // A latency SLO met at one vCPU or more is not bracketed; below it, it is.
    let slo = Objective::LatencySlo;
    assert_eq!(bracket_probe(&stats, 2048, slo, &limits()), None);
    let stats = sized(&[(128, true), (512, true)]);
    assert_eq!(bracket_probe(&stats, 512, slo, &limits()), Some(1769));
    // Speed stops above a vCPU that bought no speed (all sizes here run ~101 ms), and goes
    // on where it did.
    let speed = Objective::Speed;
    let mut stats = sized(&[(512, true), (1769, true), (4096, true)]);
    assert_eq!(bracket_probe(&stats, 4096, speed, &limits()), None);
    stats[2].warm.as_mut().unwrap().p50.ms = 60.0;
    assert_eq!(bracket_probe(&stats, 4096, speed, &limits()), Some(5120));
}

#[test]
fn a_latency_slo_met_at_the_largest_size_needs_no_extrapolation() {
    let strategy = latency_slo(150.0);
    let p99_at = |p99: [f64; 2]| {
        let mut stats = sized(&[(512, true), (1769, true)]);
        for (s, p99) in stats.iter_mut().zip(p99) {
            s.warm.as_mut().unwrap().p99.ms = p99;
        }
        stats
    };
    assert!(largest_meets_the_slo(&p99_at([400.0, 140.0]), &strategy));
    assert!(!largest_meets_the_slo(&p99_at([400.0, 160.0]), &strategy));
    // An out-of-memory size above the largest feasible one does not count.
    let mut stats = p99_at([400.0, 140.0]);
    stats.extend(sized(&[(3008, false)]));
    assert!(largest_meets_the_slo(&stats, &strategy));
    // Other objectives always extrapolate.
    let cost = Strategy::load("cost").unwrap();
    assert!(!largest_meets_the_slo(&p99_at([400.0, 140.0]), &cost));
}

#[test]
fn a_latency_choice_well_above_an_unconfirmed_size_probes_the_geometric_middle() {
    let strategy = latency_slo(150.0);
    // p99 estimates and their bounds at 512 and 2048 MB; 2048 MB is the choice.
    let with = |below: (f64, f64), chosen_mb: u32| {
        let mut stats = sized(&[(512, true), (chosen_mb, true)]);
        for (s, (ms, upper)) in stats.iter_mut().zip([below, (120.0, 140.0)]) {
            let p99 = &mut s.warm.as_mut().unwrap().p99;
            (p99.ms, p99.upper_ms) = (ms, Some(upper));
        }
        stats
    };
    // 512 MB misses the SLO, or meets it by its estimate only: the crossing lies in between.
    assert_eq!(
        crossing_probe(&with((180.0, 200.0), 2048), 2048, &strategy),
        Some(1024)
    );
    assert_eq!(
        crossing_probe(&with((140.0, 170.0), 2048), 2048, &strategy),
        Some(1024)
    );
    // 512 MB meets it by its bound: it is the choice's rival, not a crossing to narrow.
    assert_eq!(
        crossing_probe(&with((130.0, 145.0), 2048), 2048, &strategy),
        None
    );
    // Within 20% of each other's cost: narrow enough.
    assert_eq!(
        crossing_probe(&with((180.0, 200.0), 600), 600, &strategy),
        None
    );
    // The middle measured and unconfirmed (no bound): the next halving lies above it.
    let mut stats = with((180.0, 200.0), 2048);
    stats.extend(sized(&[(1030, true)]));
    stats.sort_by_key(|s| s.memory_mb);
    assert_eq!(crossing_probe(&stats, 2048, &strategy), Some(1452));
}

#[test]
fn an_unmet_slo_probes_twice_the_largest_feasible_size() {
    let stats = sized(&[(512, true), (1769, true)]);
    assert_eq!(slo_probe(&stats, &limits()), Some(3538));
    let stats = sized(&[(512, true), (6144, true)]);
    assert_eq!(slo_probe(&stats, &limits()), Some(10240));
    assert_eq!(slo_probe(&sized(&[(10240, true)]), &limits()), None);
}

#[test]
fn an_unmet_slo_stops_climbing_where_a_vcpu_more_buys_no_latency() {
    let p99_at = |sizes: &[(u32, f64)]| -> Vec<SizeStats> {
        let mut stats = sized(&sizes.iter().map(|&(m, _)| (m, true)).collect::<Vec<_>>());
        for (s, &(_, p99)) in stats.iter_mut().zip(sizes) {
            s.warm.as_mut().unwrap().p99.ms = p99;
        }
        stats
    };
    // 1769 -> 3538 MB: 2% faster at the p99; nothing to gain higher up.
    assert!(flat_at_the_top(
        &p99_at(&[(512, 900.0), (1769, 430.0), (3538, 422.0)]),
        Percentile::P99
    ));
    // 40% faster: parallel work still pays off.
    assert!(!flat_at_the_top(
        &p99_at(&[(1769, 430.0), (3538, 260.0)]),
        Percentile::P99
    ));
    // Close sizes say nothing about the trend.
    assert!(!flat_at_the_top(
        &p99_at(&[(1769, 430.0), (2211, 425.0)]),
        Percentile::P99
    ));
    assert!(!flat_at_the_top(&p99_at(&[(1769, 430.0)]), Percentile::P99));
}

#[test]
fn a_cost_optimum_that_only_buys_speed_is_not_probed_except_at_one_vcpu() {
    let stats = sized(&[(128, true), (256, true), (512, true)]);
    let probe = |optimum: u32, flat_mb: (u32, u32)| {
        let prediction = Prediction {
            optimum,
            flat_mb: Some(flat_mb),
        };
        optimum_probe(&stats, &prediction, 128, &limits())
    };
    // A flat cost curve: 512 MB costs what 574 MB does, which is only faster.
    assert_eq!(probe(574, (128, 786)), None);
    // Nothing measured costs what the optimum does: probe it.
    assert_eq!(probe(574, (540, 610)), Some(574));
    // One vCPU is probed instead of an optimum at or above it, once: with a size near it
    // measured, not again, and not further up either.
    assert_eq!(probe(1769, (128, 1787)), Some(1769));
    assert_eq!(probe(3000, (128, 3100)), Some(1769));
    let with_one_vcpu = sized(&[(128, true), (256, true), (512, true), (1769, true)]);
    for optimum in [1151, 2000, 3900] {
        let prediction = Prediction {
            optimum,
            flat_mb: Some((128, optimum + 100)),
        };
        assert_eq!(
            optimum_probe(&with_one_vcpu, &prediction, 128, &limits()),
            None
        );
    }
    // Below 256 MB the dip of I/O-bound functions' cost is worth a probe.
    assert_eq!(probe(186, (128, 215)), Some(186));
}

#[test]
fn floor_probe_looks_between_the_feasible_floor_and_the_cheapest() {
    // 128 MB ran out of memory; 512 MB is the cheapest and nothing feasible lies below.
    let stats = sized(&[(128, false), (512, true), (1024, true)]);
    assert_eq!(floor_probe(&stats, 512, 129), Some(257));
    // Close to the floor: probe the floor itself.
    assert_eq!(floor_probe(&stats, 512, 400), Some(400));
    // A feasible size below the cheapest already brackets it.
    let stats = sized(&[(256, true), (512, true)]);
    assert_eq!(floor_probe(&stats, 512, 129), None);
}

#[test]
fn the_floor_probe_is_not_skipped_for_a_size_a_few_percent_above_the_floor() {
    // 168 MB is 5% above a floor of 160 MB: near enough for other probes, not this one.
    let stats = sized(&[(128, false), (168, true), (256, true)]);
    assert_eq!(floor_probe(&stats, 168, 160), Some(160));
    let stats = sized(&[(128, false), (162, true), (256, true)]);
    assert_eq!(floor_probe(&stats, 162, 160), None);
}

#[test]
fn a_choice_known_within_tolerance_needs_no_confirmation() {
    let strategy = Strategy::load("cost").unwrap();
    let stats = sized(&[(128, true), (256, true)]);
    let mut warm = stats[0].warm.clone().unwrap();
    // Four samples at 100..103 ms: cv ~1.3%, standard error ~0.6% of a 2% tolerance.
    assert!(pinned_within_tolerance(&warm, &strategy));
    // A spread of 10%: the standard error (5%) is above the tolerance.
    warm.cv = 0.1;
    assert!(!pinned_within_tolerance(&warm, &strategy));
    // Two samples can agree by chance.
    warm.cv = 0.0;
    warm.samples = 2;
    assert!(!pinned_within_tolerance(&warm, &strategy));
}

#[test]
fn noisy_durations_get_more_invocations_where_costs_are_close() {
    // Every size sampled 4 times; 100 ms everywhere, so 128 MB is the cheapest and 256 MB
    // costs twice as much: only 128 MB is in contention.
    let stats = sized(&[(128, true), (256, true)]);
    assert!(precision_batch(&stats, 0.05, &limits()).is_empty());
    let batch = precision_batch(&stats, 0.5, &limits());
    assert_eq!(batch.len(), 1);
    assert_eq!((batch[0].memory_mb, batch[0].invocations), (128, 26));
    // sigma 0.1 needs 4 + 1 invocations.
    assert_eq!(precision_batch(&stats, 0.1, &limits())[0].invocations, 1);
}

#[test]
fn a_size_held_out_only_by_its_tails_bound_is_in_contention_too() {
    // 128 MB is the cheapest, but its p99 bound reaches past the timeout margin; 160 MB
    // is the cheapest feasible size.
    let mut stats = sized(&[(128, true), (160, true)]);
    stats[0].infeasible.push(Infeasibility::UnboundedTail {
        p99_ms: 2_900.0,
        upper_ms: 4_400.0,
        confidence: 0.995,
        limit_ms: 4_000.0,
    });
    let batch = precision_batch(&stats, 0.5, &limits());
    let sizes: Vec<(u32, u32)> = batch.iter().map(|r| (r.memory_mb, r.invocations)).collect();
    assert_eq!(sizes, [(128, 26), (160, 26)]);
    // With nothing feasible there is no cost to be close to (the tail's confirmation
    // picks a size instead).
    let mut unbounded = stats.clone();
    unbounded[1].infeasible = unbounded[0].infeasible.clone();
    assert!(precision_batch(&unbounded, 0.5, &limits()).is_empty());
    // Held out by its estimate itself: no more invocations there.
    stats[0].infeasible[0] = Infeasibility::SlowTail {
        p99_ms: 4_100.0,
        limit_ms: 4_000.0,
    };
    let batch = precision_batch(&stats, 0.5, &limits());
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].memory_mb, 160);
}

#[test]
fn only_a_latency_slo_confirms_with_many_invocations() {
    let l = limits();
    assert_eq!(confirm_target(Objective::LatencySlo, &l), 8);
    assert_eq!(confirm_target(Objective::Cost, &l), 6);
    let few = AdaptiveLimits::new(128, 10240, 5);
    assert_eq!(confirm_target(Objective::LatencySlo, &few), 5);
    assert_eq!(confirm_target(Objective::Speed, &few), 5);
}

#[test]
fn expected_invocations_count_first_sizes_and_the_confirmation() {
    let l = limits();
    // Three sizes x 4, and the choice topped up to 6.
    assert_eq!(expected_invocations(Objective::Cost, &l), 3 * 4 + 2);
    // An SLO choice may need three times its 8 when the estimate alone meets it.
    assert_eq!(expected_invocations(Objective::LatencySlo, &l), 3 * 4 + 20);
    assert_eq!(expected_invocations(Objective::Speed, &l), 4 * 4 + 2);
}

#[test]
fn initial_sizes_respect_bounds_and_objective() {
    assert_eq!(initial_sizes(Objective::Cost, 128, 10240), [128, 256, 512]);
    assert_eq!(
        initial_sizes(Objective::Speed, 128, 10240),
        [128, 512, 1769, 4096]
    );
    assert_eq!(initial_sizes(Objective::Cost, 1024, 2048), [1024, 2048]);
    assert_eq!(
        initial_sizes(Objective::LatencySlo, 2048, 3008),
        [2048, 3008]
    );
}

#[test]
fn nothing_safe_sends_the_search_upward_to_twice_the_largest_size() {
    // Below 512 MB out of memory; 512 MB (the current size) and 576 MB ran well, but their
    // p99 bounds fail the timeout margin after the most invocations a tail gets.
    let fit = sized_fit(&[512, 576]);
    let mut stats = sized(&[(256, false), (512, true), (576, true)]);
    for s in &mut stats[1..] {
        s.infeasible = vec![Infeasibility::UnboundedTail {
            p99_ms: 6500.0,
            upper_ms: 7000.0,
            confidence: bound_confidence(0.95),
            limit_ms: 6667.0,
        }];
        s.invocations = 24;
    }
    let strategy = Strategy::load("cost").unwrap();
    let cost_of = |m: u32, ms: f64| f64::from(m) * ms * 1e-9;
    let options = StatsOptions::new(10_000.0);
    let o = objectives(&strategy, &cost_of, &options);
    // The fit puts the optimum at the current size, whose neighbour above is measured too:
    // before, nothing more was sampled and the run ended with no recommendation.
    let prediction = Prediction {
        optimum: 512,
        flat_mb: None,
    };
    let next = next_batch(&stats, &fit, &prediction, 257, &o, &limits());
    let sizes: Vec<u32> = next.iter().map(|r| r.memory_mb).collect();
    assert_eq!(sizes, vec![1152]);
    // Up to the search's largest size, and no further.
    let capped = AdaptiveLimits::new(128, 1024, 30);
    assert_eq!(upward_probe(&stats, &capped), Some(1024));
    assert_eq!(
        upward_probe(&stats, &AdaptiveLimits::new(128, 576, 30)),
        None
    );
    // Once a size is safe, the search goes on as usual.
    stats[2].infeasible.clear();
    assert_eq!(upward_probe(&stats, &limits()), None);
}

/// An I/O-bound function: 50 ms of waiting and 20 ms of CPU at one vCPU, four warm samples
/// at each size within +-1.5%, priced like x86 Lambda.
fn io_bound_search() -> (Vec<SizeStats>, Fit) {
    let sizes = [128u32, 256, 512, 1024, 1769];
    let duration = |m: u32, i: usize| {
        (50.0 + 20.0 * 1769.0 / f64::from(m.min(1769))) * (1.0 + 0.01 * (i as f64 - 1.5))
    };
    let samples: Vec<Sample> = sizes
        .iter()
        .flat_map(|&memory_mb| {
            (0..4).map(move |i| Sample {
                memory_mb,
                cold: false,
                outcome: Outcome::Success,
                report: Some(Report {
                    request_id: format!("{memory_mb}-{i}"),
                    duration_ms: duration(memory_mb, i),
                    billed_ms: duration(memory_mb, i).ceil() as u64,
                    memory_mb,
                    max_memory_used_mb: 80,
                    init_ms: None,
                    restore_ms: None,
                    billed_restore_ms: None,
                    status: ReportStatus::Success,
                }),
            })
        })
        .collect();
    let stats = measure::size_stats(&samples, &StatsOptions::new(10_000.0), &lambda_cost);
    let fit_samples: Vec<SizeSamples> = sizes
        .iter()
        .map(|&memory_mb| SizeSamples {
            memory_mb,
            warm_ms: (0..4).map(|i| duration(memory_mb, i)).collect(),
        })
        .collect();
    (stats, fit::fit(&fit_samples).unwrap())
}

fn lambda_cost(m: u32, ms: f64) -> f64 {
    0.2e-6 + 0.000_016_666_7 * f64::from(m) / 1024.0 * ms / 1000.0
}

#[test]
fn a_latency_guard_aims_the_search_within_it() {
    let (stats, fit) = io_bound_search();
    let options = StatsOptions::new(10_000.0);
    let at_1024 = |strategy: &Strategy| {
        let o = Objectives {
            current_mb: Some(1024),
            ..objectives(strategy, &lambda_cost, &options)
        };
        predicted(&stats, &fit, &o, &limits()).0.optimum
    };
    let pure = at_1024(&Strategy::load("cost").unwrap());
    let guarded = at_1024(&Strategy::load(crate::strategy::DEFAULT_STRATEGY).unwrap());
    let p99 = |m: u32| fit.quantile_ms(m, 0.99);
    assert!(
        p99(pure) > 1.2 * p99(1024),
        "the pure optimum {pure} MB is slower"
    );
    assert!(
        guarded > pure && p99(guarded) <= 1.2 * p99(1024),
        "guarded {guarded} MB: p99 {} vs {} at 1024 MB",
        p99(guarded),
        p99(1024)
    );
    // Without a current size to compare with, the guard aims nowhere else.
    let default = Strategy::load(crate::strategy::DEFAULT_STRATEGY).unwrap();
    let unknown = objectives(&default, &lambda_cost, &options);
    assert_eq!(predicted(&stats, &fit, &unknown, &limits()).0.optimum, pure);
}
