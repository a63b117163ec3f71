//! What a provisioned level or schedule would have done to the minutes production had.
//!
//! The input is what CloudWatch kept at 1-minute resolution: invocations and the most
//! environments busy at once. A provisioned level serves first, the rest spills over to
//! on-demand environments; an on-demand environment stays warm while it was busy within the last
//! `idle_minutes`, so every on-demand environment above the largest count of the minutes before
//! starts cold. Invocations split between the two in proportion to the environments busy.

use serde::{Deserialize, Serialize};

/// One observed minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Minute {
    /// Minutes since the epoch.
    pub minute: i64,
    pub invocations: u64,
    /// ConcurrentExecutions, Maximum.
    pub concurrency: u32,
}

/// A level all day, or up to four levels from whole hours of the day (UTC) on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Level(u32),
    Schedule(Vec<Step>),
}

/// From `hour` (UTC) on, `level` environments are provisioned (until the next step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub hour: u32,
    pub level: u32,
}

/// The most steps a schedule has: four scheduled actions a day.
pub const MAX_STEPS: usize = 4;

impl Plan {
    /// The level in force at an hour of the day.
    pub fn level_at_hour(&self, hour: u32) -> u32 {
        match self {
            Plan::Level(level) => *level,
            Plan::Schedule(steps) => steps
                .iter()
                .filter(|s| s.hour <= hour)
                .max_by_key(|s| s.hour)
                .or_else(|| steps.iter().max_by_key(|s| s.hour))
                .map_or(0, |s| s.level),
        }
    }

    pub fn level_at(&self, minute: i64) -> u32 {
        self.level_at_hour(hour_of(minute))
    }

    /// The highest level the plan provisions.
    pub fn peak_level(&self) -> u32 {
        (0..24).map(|h| self.level_at_hour(h)).max().unwrap_or(0)
    }

    /// A schedule by hour whose consecutive equal levels are merged; one level is a Level.
    pub fn from_hours(levels: &[u32; 24]) -> Plan {
        let steps: Vec<Step> = (0..24)
            .filter(|&h| h == 0 || levels[h] != levels[h - 1])
            .map(|h| Step {
                hour: h as u32,
                level: levels[h],
            })
            .collect();
        // A first step equal to the day's last level is the same action carried over midnight.
        let steps: Vec<Step> = match (steps.first(), steps.last()) {
            (Some(first), Some(last)) if steps.len() > 1 && first.level == last.level => {
                steps[1..].to_vec()
            }
            _ => steps,
        };
        if steps.len() <= 1 {
            return Plan::Level(levels[0]);
        }
        Plan::Schedule(steps)
    }
}

pub fn hour_of(minute: i64) -> u32 {
    (minute.rem_euclid(1440) / 60) as u32
}

/// How cold starts arise: environments above the warm pool of the last `idle_minutes`, and
/// cold starts that rises in concurrency do not explain (recycled environments, deployments,
/// bursts within a minute), taken as a share of on-demand invocations: provisioned
/// environments take those away too.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColdModel {
    pub idle_minutes: usize,
    pub unexplained_per_on_demand: f64,
}

impl ColdModel {
    pub fn pool_only(idle_minutes: usize) -> ColdModel {
        ColdModel {
            idle_minutes,
            unexplained_per_on_demand: 0.0,
        }
    }
}

/// What a plan does in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MinuteOutcome {
    pub provisioned: u32,
    pub provisioned_busy: u32,
    pub provisioned_invocations: u64,
    pub on_demand_invocations: u64,
    pub on_demand_busy: u32,
    /// Environments above the warm pool.
    pub cold_starts: u64,
    /// The unexplained share of the on-demand invocations.
    pub unexplained_cold_starts: f64,
}

impl MinuteOutcome {
    pub fn all_cold_starts(&self) -> f64 {
        self.cold_starts as f64 + self.unexplained_cold_starts
    }
}

/// Every minute's outcome under `plan`; minutes are consecutive, and the first of them have
/// an empty pool before them.
pub fn simulate(minutes: &[Minute], model: &ColdModel, plan: &Plan) -> Vec<MinuteOutcome> {
    let idle_minutes = model.idle_minutes;
    let mut out: Vec<MinuteOutcome> = minutes
        .iter()
        .map(|m| {
            let provisioned = plan.level_at(m.minute);
            let busy = m.concurrency.min(provisioned);
            let served = if m.concurrency == 0 {
                0
            } else {
                (m.invocations as f64 * busy as f64 / m.concurrency as f64).round() as u64
            };
            MinuteOutcome {
                provisioned,
                provisioned_busy: busy,
                provisioned_invocations: served,
                on_demand_invocations: m.invocations - served.min(m.invocations),
                on_demand_busy: m.concurrency - busy,
                cold_starts: 0,
                unexplained_cold_starts: 0.0,
            }
        })
        .collect();
    for i in 0..out.len() {
        let pool = out[i.saturating_sub(idle_minutes)..i]
            .iter()
            .map(|o| o.on_demand_busy)
            .max()
            .unwrap_or(0);
        let o = &mut out[i];
        o.cold_starts = (o.on_demand_busy.saturating_sub(pool) as u64).min(o.on_demand_invocations);
        o.unexplained_cold_starts =
            (o.on_demand_invocations - o.cold_starts) as f64 * model.unexplained_per_on_demand;
    }
    out
}

/// Fills the minutes CloudWatch has no datapoint for (no invocations) with zeros, from
/// `first` to `last` (exclusive).
pub fn dense(observed: &[Minute], first: i64, last: i64) -> Vec<Minute> {
    let mut out: Vec<Minute> = (first..last)
        .map(|minute| Minute {
            minute,
            ..Minute::default()
        })
        .collect();
    for m in observed {
        if (first..last).contains(&m.minute) {
            let slot = &mut out[(m.minute - first) as usize];
            slot.invocations += m.invocations;
            slot.concurrency = slot.concurrency.max(m.concurrency);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(series: &[(u64, u32)]) -> Vec<Minute> {
        series
            .iter()
            .enumerate()
            .map(|(i, &(invocations, concurrency))| Minute {
                minute: i as i64,
                invocations,
                concurrency,
            })
            .collect()
    }

    #[test]
    fn environments_above_the_warm_pool_start_cold() {
        // 2 busy, idle, a burst to 6, back to 2, then 7 after the pool expired.
        let m = minutes(&[
            (100, 2),
            (0, 0),
            (300, 6),
            (100, 2),
            (0, 0),
            (0, 0),
            (0, 0),
            (400, 7),
        ]);
        let cold = |idle: usize, plan: &Plan| -> Vec<u64> {
            simulate(&m, &ColdModel::pool_only(idle), plan)
                .iter()
                .map(|o| o.cold_starts)
                .collect()
        };
        assert_eq!(cold(2, &Plan::Level(0)), vec![2, 0, 4, 0, 0, 0, 0, 7]);
        assert_eq!(cold(5, &Plan::Level(0)), vec![2, 0, 4, 0, 0, 0, 0, 1]);
        assert_eq!(cold(2, &Plan::Level(2)), vec![0, 0, 4, 0, 0, 0, 0, 5]);
        let out = simulate(&m, &ColdModel::pool_only(2), &Plan::Level(4));
        assert_eq!(out[2].provisioned_invocations, 200);
        assert_eq!(out[2].on_demand_invocations, 100);
        assert_eq!(out[0].provisioned_invocations, 100);
        // Unexplained cold starts follow the on-demand invocations the plan leaves.
        let model = ColdModel {
            idle_minutes: 2,
            unexplained_per_on_demand: 0.01,
        };
        let out = simulate(&m, &model, &Plan::Level(4));
        assert!((out[2].unexplained_cold_starts - 0.98).abs() < 1e-9);
        assert_eq!(out[0].unexplained_cold_starts, 0.0);
    }

    #[test]
    fn hourly_levels_become_the_fewest_steps() {
        let mut hours = [2u32; 24];
        assert_eq!(Plan::from_hours(&hours), Plan::Level(2));
        hours[8..20].fill(9);
        let plan = Plan::from_hours(&hours);
        assert_eq!(
            plan,
            Plan::Schedule(vec![
                Step { hour: 8, level: 9 },
                Step { hour: 20, level: 2 }
            ])
        );
        assert_eq!((plan.level_at_hour(3), plan.level_at_hour(8)), (2, 9));
        assert_eq!(plan.level_at(20 * 60 + 5), 2);
        assert_eq!(plan.peak_level(), 9);
    }

    #[test]
    fn missing_minutes_are_idle() {
        let observed = [Minute {
            minute: 12,
            invocations: 5,
            concurrency: 1,
        }];
        let d = dense(&observed, 10, 14);
        assert_eq!(d.len(), 4);
        assert_eq!(d[2].invocations, 5);
        assert_eq!(d[0].concurrency, 0);
    }
}
