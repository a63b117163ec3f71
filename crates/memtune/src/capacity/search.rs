//! The cheapest provisioned level or schedule that keeps cold starts under a budget.
//!
//! Every constant level from 0 to the peak is simulated exactly. Schedules of up to four steps
//! a day are ranked with per-hour outcomes of constant levels (an hour's cold starts and cost
//! depend almost only on its own level) in two ways: every two-step schedule, and a
//! Lagrangian dynamic programme over up to four steps for a sweep of prices per cold start.
//! The best-ranked candidates are then simulated exactly and the cheapest that meets the
//! budget wins.

use serde::{Deserialize, Serialize};

use super::cost::CostModel;
use super::simulate::{hour_of, simulate, ColdModel, Minute, Plan, Step, MAX_STEPS};

/// What a plan gives over the observed minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub invocations: u64,
    pub cold_starts: u64,
    pub cold_start_rate: f64,
    /// Cold starts by hour of day (UTC).
    pub cold_starts_by_hour: Vec<u64>,
    pub provisioned_invocations: u64,
    /// Busy provisioned environment-minutes over provisioned environment-minutes.
    pub utilisation: Option<f64>,
    /// USD a month at this window's traffic: requests, duration (INIT included where
    /// billed), provisioned duration and provisioned concurrency.
    pub monthly_usd: f64,
    pub provisioned_concurrency_usd: f64,
}

/// Simulates a plan and prices it.
pub fn evaluate(
    minutes: &[Minute],
    model: &ColdModel,
    plan: &Plan,
    cost: &CostModel,
) -> PlanOutcome {
    let out = simulate(minutes, model, plan);
    let mut by_hour = [0f64; 24];
    let (mut invocations, mut served, mut on_demand) = (0u64, 0u64, 0u64);
    let mut cold = 0f64;
    let (mut provisioned_minutes, mut busy_minutes) = (0u64, 0u64);
    for (m, o) in minutes.iter().zip(&out) {
        invocations += m.invocations;
        cold += o.all_cold_starts();
        by_hour[hour_of(m.minute) as usize] += o.all_cold_starts();
        served += o.provisioned_invocations;
        on_demand += o.on_demand_invocations;
        provisioned_minutes += o.provisioned as u64;
        busy_minutes += o.provisioned_busy as u64;
    }
    let window = cost.window_usd(invocations, on_demand, cold, served, provisioned_minutes);
    let to_month = cost.to_month(minutes.len());
    PlanOutcome {
        plan: plan.clone(),
        invocations,
        cold_starts: cold.round() as u64,
        cold_start_rate: cold / invocations.max(1) as f64,
        cold_starts_by_hour: by_hour.iter().map(|c| c.round() as u64).collect(),
        provisioned_invocations: served,
        utilisation: (provisioned_minutes > 0)
            .then(|| busy_minutes as f64 / provisioned_minutes as f64),
        monthly_usd: window.total * to_month,
        provisioned_concurrency_usd: window.provisioned_concurrency * to_month,
    }
}

/// The outcomes of every constant level from 0 to `peak`.
pub fn levels(
    minutes: &[Minute],
    model: &ColdModel,
    peak: u32,
    cost: &CostModel,
) -> Vec<PlanOutcome> {
    (0..=peak)
        .map(|l| evaluate(minutes, model, &Plan::Level(l), cost))
        .collect()
}

/// Per level, per hour of day: (cold starts, window cost) of that hour at a constant level.
type HourTables = Vec<[(f64, f64); 24]>;

fn hour_tables(minutes: &[Minute], model: &ColdModel, peak: u32, cost: &CostModel) -> HourTables {
    (0..=peak)
        .map(|level| {
            let out = simulate(minutes, model, &Plan::Level(level));
            let mut table = [(0.0, 0.0); 24];
            for (m, o) in minutes.iter().zip(&out) {
                let h = hour_of(m.minute) as usize;
                table[h].0 += o.all_cold_starts();
                table[h].1 += cost
                    .window_usd(
                        m.invocations,
                        o.on_demand_invocations,
                        o.all_cold_starts(),
                        o.provisioned_invocations,
                        o.provisioned as u64,
                    )
                    .total;
            }
            table
        })
        .collect()
}

/// Every two-step schedule whose ranked cold starts are within 5% of the budget, cheapest first.
fn two_step_candidates(tables: &HourTables, budget: f64) -> Vec<(f64, Plan)> {
    let mut candidates = Vec::new();
    for a in 0..24u32 {
        for b in (0..24u32).filter(|&b| b != a) {
            let first = |h: u32| {
                if a < b {
                    (a..b).contains(&h)
                } else {
                    h >= a || h < b
                }
            };
            for (hi, t_hi) in tables.iter().enumerate() {
                for (lo, t_lo) in tables.iter().enumerate().filter(|(lo, _)| *lo != hi) {
                    let (mut cold, mut usd) = (0.0, 0.0);
                    for h in 0..24u32 {
                        let (c, u) = if first(h) {
                            t_hi[h as usize]
                        } else {
                            t_lo[h as usize]
                        };
                        cold += c;
                        usd += u;
                    }
                    if cold <= budget * 1.05 {
                        let plan = Plan::Schedule(vec![
                            Step {
                                hour: a.min(b),
                                level: if a < b { hi } else { lo } as u32,
                            },
                            Step {
                                hour: a.max(b),
                                level: if a < b { lo } else { hi } as u32,
                            },
                        ]);
                        candidates.push((usd, plan));
                    }
                }
            }
        }
    }
    candidates.sort_by(|x, y| x.0.total_cmp(&y.0));
    candidates.dedup_by(|x, y| x.1 == y.1);
    candidates
}

/// The schedule of at most [`MAX_STEPS`] steps minimising cost + `lambda` x cold starts over
/// the per-hour tables, day taken as a circle.
fn lagrangian(tables: &HourTables, lambda: f64) -> Plan {
    // best[a][len]: the best level and value for the hours a, a+1, ..., a+len-1 (mod 24).
    let mut best = vec![[(0usize, f64::INFINITY); 25]; 24];
    for (a, row) in best.iter_mut().enumerate() {
        for (level, table) in tables.iter().enumerate() {
            let mut value = 0.0;
            for len in 1..=24 {
                let (c, u) = table[(a + len - 1) % 24];
                value += u + lambda * c;
                if value < row[len].1 {
                    row[len] = (level, value);
                }
            }
        }
    }
    let mut winner: (f64, [u32; 24]) = (f64::INFINITY, [0; 24]);
    for start in 0..24 {
        // dp[k][i]: the best value covering the first i hours from `start` in k segments.
        let mut dp = [[(f64::INFINITY, 0usize); 25]; MAX_STEPS + 1];
        dp[0][0] = (0.0, 0);
        for k in 1..=MAX_STEPS {
            for i in 1..=24 {
                for j in 0..i {
                    let base = dp[k - 1][j].0;
                    if base.is_finite() {
                        let v = base + best[(start + j) % 24][i - j].1;
                        if v < dp[k][i].0 {
                            dp[k][i] = (v, j);
                        }
                    }
                }
            }
        }
        for k in 1..=MAX_STEPS {
            if dp[k][24].0 < winner.0 {
                let mut levels = [0u32; 24];
                let (mut i, mut kk) = (24, k);
                while kk > 0 {
                    let j = dp[kk][i].1;
                    let level = best[(start + j) % 24][i - j].0 as u32;
                    for pos in j..i {
                        levels[(start + pos) % 24] = level;
                    }
                    i = j;
                    kk -= 1;
                }
                winner = (dp[k][24].0, levels);
            }
        }
    }
    Plan::from_hours(&winner.1)
}

/// The cheapest constant level and the cheapest schedule whose cold-start rate is at most
/// `max_rate`; None where not even the peak level meets it.
pub fn cheapest(
    minutes: &[Minute],
    model: &ColdModel,
    peak: u32,
    cost: &CostModel,
    max_rate: f64,
) -> (Option<PlanOutcome>, Option<PlanOutcome>) {
    let meets = |o: &PlanOutcome| o.cold_start_rate <= max_rate;
    let by_level = levels(minutes, model, peak, cost);
    let level = by_level
        .iter()
        .filter(|o| meets(o))
        .min_by(|a, b| a.monthly_usd.total_cmp(&b.monthly_usd))
        .cloned();
    let invocations = by_level.first().map_or(0, |o| o.invocations);
    let budget = max_rate * invocations as f64;
    let tables = hour_tables(minutes, model, peak, cost);
    let mut plans: Vec<Plan> = two_step_candidates(&tables, budget)
        .into_iter()
        .take(100)
        .map(|(_, p)| p)
        .collect();
    let scale = level.as_ref().map_or(1.0, |l| l.monthly_usd) / cost.to_month(minutes.len());
    for i in 0..48 {
        // Prices per cold start from a millionth of the window's cost to all of it.
        let lambda = scale * 10f64.powf(-6.0 + 6.0 * i as f64 / 47.0);
        plans.push(lagrangian(&tables, lambda));
    }
    plans.sort_by_key(|p| format!("{p:?}"));
    plans.dedup();
    let schedule = plans
        .iter()
        .filter(|p| matches!(p, Plan::Schedule(_)))
        .map(|p| evaluate(minutes, model, p, cost))
        .filter(|o| meets(o))
        .min_by(|a, b| a.monthly_usd.total_cmp(&b.monthly_usd));
    (level, schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::cost::CostModel;

    /// A day of quiet nights and a busy day with a morning burst.
    fn day() -> Vec<Minute> {
        (0..3 * 1440)
            .map(|minute| {
                let hour = hour_of(minute);
                let concurrency = match hour {
                    9 if minute % 1440 % 60 < 3 => 12,
                    8..=19 => 4,
                    _ => 1,
                };
                Minute {
                    minute,
                    invocations: concurrency as u64 * 120,
                    concurrency,
                }
            })
            .collect()
    }

    #[test]
    fn the_cheapest_plan_meets_the_budget_and_schedules_beat_levels_on_daily_bursts() {
        let minutes = day();
        let cost = CostModel::sample(1024);
        let meets = |o: &PlanOutcome| o.cold_start_rate <= 1e-5;
        let model = ColdModel::pool_only(5);
        let (level, schedule) = cheapest(&minutes, &model, 12, &cost, 1e-5);
        let level = level.expect("the peak level meets any target");
        let schedule = schedule.expect("a schedule meets it too");
        assert!(level.cold_start_rate <= 1e-5);
        assert!(schedule.cold_start_rate <= 1e-5);
        for l in levels(&minutes, &model, 12, &cost) {
            assert!(
                !meets(&l) || l.monthly_usd >= level.monthly_usd,
                "{:?}",
                l.plan
            );
        }
        assert!(schedule.monthly_usd < level.monthly_usd);
        // No brute-forced two-step schedule is cheaper.
        for a in 0..24 {
            for b in 0..24 {
                for hi in 0..=12 {
                    if a >= b {
                        continue;
                    }
                    let plan = Plan::Schedule(vec![
                        Step { hour: a, level: hi },
                        Step { hour: b, level: 1 },
                    ]);
                    let o = evaluate(&minutes, &model, &plan, &cost);
                    if meets(&o) {
                        assert!(o.monthly_usd >= schedule.monthly_usd * 0.999, "{plan:?}");
                    }
                }
            }
        }
    }
}
