//! Synthetic documents and fleet runs for the renderers' tests: a duration curve
//! t(m) = 20 + 4000 x 128 / m ms, priced like x86 Lambda in us-east-1.

use crate::fleet::budget::BudgetStats;
use crate::fleet::outcome::{FleetRun, FunctionResult, RunTotals};
use crate::platform::FunctionConfig;
use crate::strategy::{BeforeAfter, RunnerUp, Tradeoff};
use crate::tune::adaptive::{FitPoint, FitSummary};
use crate::tune::document::*;

const SIZES: [u32; 6] = [128, 256, 512, 1024, 1769, 3008];

fn duration_ms(memory_mb: u32, scale: f64) -> f64 {
    scale * (20.0 + 4000.0 * 128.0 / memory_mb as f64)
}

fn cost_usd(memory_mb: u32, ms: f64) -> f64 {
    0.2e-6 + 0.0000166667 * memory_mb as f64 / 1024.0 * ms / 1000.0
}

fn size_row(memory_mb: u32, scale: f64) -> SizeRow {
    let p50 = duration_ms(memory_mb, scale);
    let cost = cost_usd(memory_mb, p50);
    SizeRow {
        memory_mb,
        invocations: 10,
        successes: 10,
        cold_starts: 1,
        p50_ms: Some(p50),
        p90_ms: Some(p50 * 1.1),
        p99_ms: Some(p50 * 1.3),
        mean_ms: Some(p50 * 1.02),
        trimmed_mean_ms: Some(p50),
        cv: Some(0.05),
        mean_billed_ms: Some(p50.ceil()),
        mean_init_ms: Some(150.0),
        max_memory_used_mb: Some(90),
        cost_per_invocation_usd: Some(cost),
        cost_per_million_usd: Some(cost * 1e6),
        cost_ci95_usd: Some([cost * 0.995, cost * 1.005]),
        out_of_memory: 0,
        timeouts: 0,
        function_errors: 0,
        feasible: true,
        infeasible_reasons: vec![],
    }
}

/// A function sampled at six sizes, recommended `recommended_mb` (one of them); `seed`
/// scales its durations so that functions differ.
pub fn document(name: &str, current_mb: u32, recommended_mb: u32, seed: u64) -> FunctionDocument {
    let scale = 1.0 + (seed % 7) as f64 * 0.3;
    let sizes: Vec<SizeRow> = SIZES.iter().map(|&m| size_row(m, scale)).collect();
    let at = |mb: u32| size_row(mb, scale);
    let now = at(current_mb);
    let rec = at(recommended_mb);
    let now_cost = now.cost_per_invocation_usd.unwrap();
    let rec_cost = rec.cost_per_invocation_usd.unwrap();
    FunctionDocument {
        schema_version: SCHEMA_VERSION,
        run_id: "20260101-000000-abcd".into(),
        generated_at: "2026-01-01T00:00:00Z".into(),
        function: FunctionInfo {
            name: name.into(),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            runtime: Some("python3.12".into()),
            architecture: "x86_64".into(),
            region: "us-east-1".into(),
            timeout_s: 30,
            stack_name: None,
        },
        strategy: StrategyInfo {
            name: "cost".into(),
            objective: "cost".into(),
        },
        search: "adaptive".into(),
        current: Current {
            memory_mb: current_mb,
            cost_per_invocation_usd: Some(now_cost),
            p99_ms: now.p99_ms,
            unsafe_reasons: vec![],
        },
        recommendation: Some(RecommendationInfo {
            memory_mb: recommended_mb,
            reason: format!("{recommended_mb} MB is the cheapest feasible size"),
            band_mb: vec![recommended_mb],
            cost_per_invocation_usd: rec_cost,
            cost_per_million_usd: rec_cost * 1e6,
            p99_ms: rec.p99_ms,
            cost_change_pct: Some((rec_cost / now_cost - 1.0) * 100.0),
            latency_change_pct: Some((rec.p50_ms.unwrap() / now.p50_ms.unwrap() - 1.0) * 100.0),
            slo_met: None,
            slo: None,
            monthly_savings_usd: Some((now_cost - rec_cost) * 3.0e6),
            estimate: crate::strategy::Estimate::Measured,
            decision_cost_per_million_usd: None,
            tradeoff: Some(tradeoff(&now, &rec, current_mb, recommended_mb)),
            latency_guard: None,
            held_back: None,
            predicted_optimum_note: None,
        }),
        no_recommendation: None,
        sizes,
        fit: Some(FitSummary {
            model: "parrotfish".into(),
            cv_error: Some(0.04),
            predicted_optimum_mb: recommended_mb,
            points: (128..=3008)
                .step_by(64)
                .map(|m| {
                    let ms = duration_ms(m, scale);
                    FitPoint {
                        memory_mb: m,
                        mean_ms: ms,
                        mean_low_ms: ms * 0.95,
                        mean_high_ms: ms * 1.05,
                        p99_ms: ms * 1.3,
                    }
                })
                .collect(),
        }),
        exploration: ExplorationInfo {
            invocations: 60,
            gb_seconds: 12.5,
            usd: 0.0002,
            platform_failures: 0,
        },
        restored: "restored 1024 MB on $LATEST; deleted 6 versions".into(),
        warnings: vec![],
        production: None,
        payload: Default::default(),
        architectures: None,
    }
}

/// The trade-off of moving between two sample sizes, as the decision would state it.
fn tradeoff(now: &SizeRow, rec: &SizeRow, current_mb: u32, recommended_mb: u32) -> Tradeoff {
    let both = |f: fn(&SizeRow) -> Option<f64>| BeforeAfter {
        before: f(now),
        after: f(rec),
    };
    Tradeoff {
        summary: format!(
            "{current_mb} -> {recommended_mb} MB: cost and latency as measured; it beat 1024 MB: 1024 MB costs 20.0% more per invocation"
        ),
        current_mb,
        recommended_mb,
        cost_per_invocation_usd: both(|s| s.cost_per_invocation_usd),
        cost_per_month_usd: None,
        p50_ms: both(|s| s.p50_ms),
        p99_ms: both(|s| s.p99_ms),
        runner_up: Some(RunnerUp {
            memory_mb: 1024,
            why: "1024 MB costs 20.0% more per invocation".into(),
        }),
    }
}

fn config(name: &str, memory_mb: u32) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        memory_mb,
        ..FunctionConfig::default()
    }
}

/// `tuned` functions (`fn-0000`, ...; 1024 MB recommended 512) and one skipped (256 MB).
pub fn fleet(tuned: usize) -> FleetRun {
    let mut functions: Vec<FunctionResult> = (0..tuned)
        .map(|i| {
            let name = format!("fn-{i:04}");
            let doc = document(&name, 1024, 512, i as u64);
            FunctionResult::tuned(config(&name, 1024), doc)
        })
        .collect();
    functions.push(FunctionResult::skipped(
        config("legacy-cron", 256),
        "no payload configured",
    ));
    FleetRun {
        schema_version: 1,
        run_id: "20260101-000000-abcd".into(),
        region: "us-east-1".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        listed: tuned + 1,
        totals: RunTotals::of(&functions, 4.2),
        budget: BudgetStats {
            ceiling: 32,
            limit: 32,
            lowest: 32,
            throttles: 0,
        },
        functions,
        capacity: Vec::new(),
    }
}
