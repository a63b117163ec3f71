//! The truth about provisioned concurrency: for a function with an environment model, the
//! exact cold starts and monthly cost of any provisioned level or hourly schedule over the
//! production traffic the lab generated, and the cheapest ones that meet a cold-start target,
//! found by brute force.

use serde::Serialize;

use super::backfill::{Backfill, Production, MINUTE_MS};
use super::environments::{self, MinuteLoad, ScheduleStep};
use super::profiles::FunctionProfile;
use memtune_facts::pricing::{billed_ms, gb_seconds, PriceBook, PricingError, RegionPrices};

/// Hours in a billing month, as AWS's examples count them.
pub const MONTH_HOURS: f64 = 730.0;

/// A provisioned level all day, or a schedule of levels from whole hours on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Level(u32),
    Schedule(Vec<ScheduleStep>),
}

impl Plan {
    pub fn level_at(&self, minute: i64) -> u32 {
        match self {
            Plan::Level(level) => *level,
            Plan::Schedule(steps) => environments::level_at(steps, minute),
        }
    }
}

/// What a plan gives over the backfilled window, and its cost scaled to a month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanTruth {
    pub plan: Plan,
    pub invocations: u64,
    pub cold_starts: u64,
    pub cold_start_rate: f64,
    pub provisioned_invocations: u64,
    /// USD a month: requests, on-demand duration (INIT included where billed), provisioned
    /// duration and provisioned concurrency.
    pub monthly_usd: f64,
    pub provisioned_concurrency_usd: f64,
}

/// The capacity truth of one function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityTruth {
    pub name: String,
    pub alias: Option<String>,
    pub region: String,
    pub window_days: f64,
    pub peak_concurrency: u32,
    pub cold_start_target: f64,
    /// Every level from 0 to the peak concurrency.
    pub levels: Vec<PlanTruth>,
    /// The cheapest level whose cold-start rate is at most the target.
    pub cheapest_level: Option<PlanTruth>,
    /// The cheapest two-step schedule (a level from one whole hour, another from a second)
    /// that meets the target, found among every pair of hours and levels.
    pub cheapest_schedule: Option<PlanTruth>,
}

/// Evaluates plans over one function's backfilled minutes.
pub struct Evaluator<'a> {
    production: Production<'a>,
    arrivals: Vec<u64>,
    first: i64,
    idle: usize,
    prices: Prices,
}

/// The prices one function pays.
#[derive(Debug, Clone, Copy)]
struct Prices {
    request: f64,
    on_demand_gb_s: f64,
    provisioned_gb_s: f64,
    provisioned_duration_gb_s: f64,
    memory_mb: u32,
    mean_billed_ms: f64,
    init_billed_ms: f64,
}

impl<'a> Evaluator<'a> {
    /// None when the profile has no environment model.
    pub fn new(
        profile: &'a FunctionProfile,
        backfill: Backfill,
        book: &PriceBook,
        region: &RegionPrices,
    ) -> Result<Option<Evaluator<'a>>, PricingError> {
        let Some(env) = profile.traffic.environments.as_ref() else {
            return Ok(None);
        };
        let production = backfill.production(profile);
        let first = backfill.start_ms / MINUTE_MS;
        let last = backfill.end_ms / MINUTE_MS;
        let idle = env.idle_minutes as usize;
        let arrivals = production.arrivals_from(first - idle as i64, last);
        let arch = profile.architecture;
        let expectation =
            profile
                .model()
                .expectation(profile.memory_mb, arch, profile.timeout_ms());
        let init_billed =
            book.init_billing
                .is_billed(&profile.package_type, &profile.runtime, &book.as_of);
        let provisioned = region.provisioned(arch)?;
        let prices = Prices {
            request: region.request_price(),
            on_demand_gb_s: region.rate(arch)?.first_tier_price(),
            provisioned_gb_s: provisioned.concurrency_gb_s,
            provisioned_duration_gb_s: provisioned.duration_gb_s,
            memory_mb: profile.memory_mb,
            mean_billed_ms: expectation.mean_billed_ms,
            init_billed_ms: if init_billed {
                billed_ms(production.init.mean())
            } else {
                0.0
            },
        };
        Ok(Some(Evaluator {
            production,
            arrivals,
            first,
            idle,
            prices,
        }))
    }

    fn loads(&self, plan: &Plan) -> Vec<MinuteLoad> {
        environments::simulate(
            &self.arrivals,
            self.first,
            self.idle,
            self.production.mean_busy_s(),
            self.production.profile.reserved_concurrency,
            |m| plan.level_at(m),
        )
    }

    pub fn window_minutes(&self) -> usize {
        self.arrivals.len() - self.idle
    }

    /// The exact outcome of a plan.
    pub fn evaluate(&self, plan: &Plan) -> PlanTruth {
        let loads = self.loads(plan);
        let p = self.prices;
        let sum = |f: fn(&MinuteLoad) -> u64| loads.iter().map(f).sum::<u64>();
        let invocations = sum(|l| l.invocations);
        let cold_starts = sum(|l| l.cold_starts);
        let provisioned_invocations = sum(|l| l.provisioned_invocations);
        let on_demand = sum(|l| l.on_demand_invocations);
        let provisioned_minutes: u64 = loads.iter().map(|l| l.provisioned as u64).sum();
        let run = gb_seconds(p.memory_mb, p.mean_billed_ms);
        let provisioned_concurrency =
            gb_seconds(p.memory_mb, provisioned_minutes as f64 * 60_000.0) * p.provisioned_gb_s;
        let window = invocations as f64 * p.request
            + on_demand as f64 * run * p.on_demand_gb_s
            + cold_starts as f64 * gb_seconds(p.memory_mb, p.init_billed_ms) * p.on_demand_gb_s
            + provisioned_invocations as f64 * run * p.provisioned_duration_gb_s
            + provisioned_concurrency;
        let to_month = MONTH_HOURS * 60.0 / loads.len().max(1) as f64;
        PlanTruth {
            plan: plan.clone(),
            invocations,
            cold_starts,
            cold_start_rate: cold_starts as f64 / invocations.max(1) as f64,
            provisioned_invocations,
            monthly_usd: window * to_month,
            provisioned_concurrency_usd: provisioned_concurrency * to_month,
        }
    }

    /// The most environments busy in any minute.
    pub fn peak_concurrency(&self) -> u32 {
        self.loads(&Plan::Level(0))
            .iter()
            .map(|l| l.concurrency)
            .max()
            .unwrap_or(0)
    }

    /// Per hour of day (UTC), the cold starts and cost a constant level gives in that hour.
    fn hourly(&self, level: u32) -> [(u64, f64); 24] {
        let loads = self.loads(&Plan::Level(level));
        let p = self.prices;
        let run = gb_seconds(p.memory_mb, p.mean_billed_ms);
        let mut hours = [(0u64, 0.0f64); 24];
        for (i, l) in loads.iter().enumerate() {
            let hour = ((self.first + i as i64).rem_euclid(1440) / 60) as usize;
            hours[hour].0 += l.cold_starts;
            hours[hour].1 += l.on_demand_invocations as f64 * run * p.on_demand_gb_s
                + l.cold_starts as f64
                    * gb_seconds(p.memory_mb, p.init_billed_ms)
                    * p.on_demand_gb_s
                + l.provisioned_invocations as f64 * run * p.provisioned_duration_gb_s
                + gb_seconds(p.memory_mb, l.provisioned as f64 * 60_000.0) * p.provisioned_gb_s;
        }
        hours
    }

    /// The cheapest two-step schedule meeting the target: every pair of start hours and every
    /// pair of levels up to `peak`, ranked with per-hour outcomes of constant levels, then
    /// evaluated exactly from the cheapest down until one meets the target.
    pub fn cheapest_schedule(&self, peak: u32, target: f64) -> Option<PlanTruth> {
        let tables: Vec<[(u64, f64); 24]> = (0..=peak).map(|l| self.hourly(l)).collect();
        let invocations: u64 = self.evaluate(&Plan::Level(0)).invocations;
        let budget = target * invocations as f64;
        let mut candidates: Vec<(f64, Plan)> = Vec::new();
        for a in 0..24u32 {
            for b in 0..24u32 {
                if a == b {
                    continue;
                }
                let in_a = |h: u32| {
                    if a < b {
                        (a..b).contains(&h)
                    } else {
                        h >= a || h < b
                    }
                };
                for (hi, table_hi) in tables.iter().enumerate() {
                    for (lo, table_lo) in tables.iter().enumerate() {
                        if hi == lo {
                            continue;
                        }
                        let (mut cold, mut cost) = (0u64, 0.0);
                        for h in 0..24u32 {
                            let t = if in_a(h) { table_hi } else { table_lo };
                            cold += t[h as usize].0;
                            cost += t[h as usize].1;
                        }
                        if cold as f64 <= budget * 1.05 {
                            let plan = Plan::Schedule(vec![
                                ScheduleStep {
                                    hour: a,
                                    level: hi as u32,
                                },
                                ScheduleStep {
                                    hour: b,
                                    level: lo as u32,
                                },
                            ]);
                            candidates.push((cost, plan));
                        }
                    }
                }
            }
        }
        candidates.sort_by(|x, y| x.0.total_cmp(&y.0));
        candidates
            .iter()
            .take(200)
            .map(|(_, plan)| self.evaluate(plan))
            .filter(|t| t.cold_start_rate <= target)
            .min_by(|x, y| x.monthly_usd.total_cmp(&y.monthly_usd))
    }
}

/// The capacity truth of every function with an environment model.
pub fn capacity_truths(
    functions: &[FunctionProfile],
    backfill: Backfill,
    book: &PriceBook,
    region: &str,
    target: f64,
) -> Result<Vec<CapacityTruth>, PricingError> {
    let prices = book.region(region)?;
    let mut truths = Vec::new();
    for profile in functions {
        let Some(evaluator) = Evaluator::new(profile, backfill, book, prices)? else {
            continue;
        };
        let peak = evaluator.peak_concurrency();
        let levels: Vec<PlanTruth> = (0..=peak)
            .map(|l| evaluator.evaluate(&Plan::Level(l)))
            .collect();
        let cheapest_level = levels
            .iter()
            .filter(|t| t.cold_start_rate <= target)
            .min_by(|x, y| x.monthly_usd.total_cmp(&y.monthly_usd))
            .cloned();
        truths.push(CapacityTruth {
            name: profile.name.clone(),
            alias: profile
                .traffic
                .environments
                .as_ref()
                .and_then(|e| e.alias.clone()),
            region: prices.name.clone(),
            window_days: evaluator.window_minutes() as f64 / 1440.0,
            peak_concurrency: peak,
            cold_start_target: target,
            cheapest_schedule: evaluator.cheapest_schedule(peak, target),
            levels,
            cheapest_level,
        });
    }
    Ok(truths)
}
