//! Production's execution environments minute by minute, for functions whose profile has
//! `[function.traffic.environments]`.
//!
//! Each minute's arrivals need `ceil(arrivals x mean duration / 60 s)` environments at once
//! (Little's law). Reserved concurrency caps that and throttles the excess arrivals. A
//! provisioned level serves first; what is left spills over to on-demand environments. An
//! on-demand environment stays warm while it was used within the last `idle_minutes`, so the
//! warm pool of a minute is the largest on-demand concurrency of the minutes before it, and every
//! environment above that pool starts cold: a burst is a wave of cold starts at once.
//! Invocations split between provisioned and on-demand environments in proportion to their
//! concurrency.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::control::Lab;

/// The `[function.traffic.environments]` table of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environments {
    /// The alias production invokes; none: the function unqualified ($LATEST).
    #[serde(default)]
    pub alias: Option<String>,
    /// Minutes an idle environment stays warm (the lab's live default, 300 s, is 5).
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// Provisioned concurrency on the alias all day.
    #[serde(default)]
    pub provisioned: u32,
    /// Or a schedule by hour of day (UTC): each step sets a level from its hour on.
    #[serde(default)]
    pub provisioned_schedule: Vec<ScheduleStep>,
}

/// From `hour` (UTC, whole hours) on, `level` environments are provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleStep {
    pub hour: u32,
    pub level: u32,
}

fn default_idle_minutes() -> u32 {
    5
}

/// The most steps a day's schedule may have (as Application Auto Scaling scheduled actions
/// memtune recommends).
pub const MAX_SCHEDULE_STEPS: usize = 4;

impl Environments {
    /// The first impossible value, as (key, message).
    pub fn validate(&self) -> Option<(&'static str, String)> {
        if !(1..=240).contains(&self.idle_minutes) {
            return Some(("idle_minutes", "idle_minutes must be within 1..=240".into()));
        }
        if self.alias.as_deref().is_some_and(|a| {
            a.is_empty()
                || a == "$LATEST"
                || a.chars().all(|c| c.is_ascii_digit())
                || !a
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Some((
                "alias",
                "alias must be an alias name (letters, digits, - or _; not a version)".into(),
            ));
        }
        let provisioned = self.provisioned > 0 || !self.provisioned_schedule.is_empty();
        if provisioned && self.alias.is_none() {
            return Some((
                "provisioned",
                "provisioned concurrency needs the alias production invokes (alias = \"...\")"
                    .into(),
            ));
        }
        if self.provisioned > 0 && !self.provisioned_schedule.is_empty() {
            return Some((
                "provisioned_schedule",
                "set either provisioned or provisioned_schedule, not both".into(),
            ));
        }
        if let Err(message) = check_schedule(&self.provisioned_schedule) {
            return Some(("provisioned_schedule", message));
        }
        None
    }

    /// The provisioned level at a minute since the epoch.
    pub fn provisioned_at(&self, minute: i64) -> u32 {
        if self.provisioned_schedule.is_empty() {
            return self.provisioned;
        }
        level_at(&self.provisioned_schedule, minute)
    }
}

/// Publishes version 1 and points the production alias at it, for every function whose
/// production invokes an alias: that is what production ran before the lab started.
pub fn publish_production_aliases(lab: &Lab) {
    for profile in &lab.config.profiles.functions {
        let Some(alias) = profile
            .traffic
            .environments
            .as_ref()
            .and_then(|e| e.alias.as_deref())
        else {
            continue;
        };
        let published = lab
            .publish_version(&profile.name, &json!({}))
            .and_then(|_| {
                lab.create_alias(
                    &profile.name,
                    &json!({ "Name": alias, "FunctionVersion": "1" }),
                )
            });
        debug_assert!(published.is_ok(), "{published:?}");
    }
}

/// A schedule's steps must have distinct whole hours below 24, at most four a day.
pub fn check_schedule(steps: &[ScheduleStep]) -> Result<(), String> {
    if steps.len() > MAX_SCHEDULE_STEPS {
        return Err(format!(
            "a schedule has at most {MAX_SCHEDULE_STEPS} steps a day, not {}",
            steps.len()
        ));
    }
    let mut hours: Vec<u32> = steps.iter().map(|s| s.hour).collect();
    hours.sort_unstable();
    hours.dedup();
    if hours.len() != steps.len() || hours.iter().any(|h| *h >= 24) {
        return Err("schedule hours must be distinct whole hours within 0..=23".into());
    }
    Ok(())
}

/// The level a schedule sets at a minute since the epoch: the step with the latest hour not
/// after the minute's hour of day, or the day's last step (it carries over midnight).
pub fn level_at(steps: &[ScheduleStep], minute: i64) -> u32 {
    let hour = (minute.rem_euclid(1440) / 60) as u32;
    let latest = |pred: &dyn Fn(&ScheduleStep) -> bool| {
        steps
            .iter()
            .filter(|s| pred(s))
            .max_by_key(|s| s.hour)
            .map(|s| s.level)
    };
    latest(&|s| s.hour <= hour)
        .or_else(|| latest(&|_| true))
        .unwrap_or(0)
}

/// What one minute of production asked for and got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinuteLoad {
    /// Requests that arrived, throttled ones included.
    pub arrivals: u64,
    /// Requests that ran (the Invocations metric).
    pub invocations: u64,
    /// Requests refused for reserved concurrency (the Throttles metric).
    pub throttles: u64,
    /// Environments busy at once (the ConcurrentExecutions maximum).
    pub concurrency: u32,
    /// The provisioned level in force.
    pub provisioned: u32,
    /// Provisioned environments busy at once (ProvisionedConcurrentExecutions).
    pub provisioned_busy: u32,
    /// Invocations served by provisioned environments.
    pub provisioned_invocations: u64,
    /// Invocations served on demand (ProvisionedConcurrencySpilloverInvocations when a level is
    /// configured).
    pub on_demand_invocations: u64,
    /// On-demand environments busy at once.
    pub on_demand_busy: u32,
    /// Invocations that started a new environment.
    pub cold_starts: u64,
}

/// The minute's load before cold starts, which depend on the minutes before it.
pub fn split(
    arrivals: u64,
    mean_busy_s: f64,
    reserved: Option<u32>,
    provisioned: u32,
) -> MinuteLoad {
    let demand = (arrivals as f64 * mean_busy_s / 60.0).ceil() as u32;
    let concurrency = reserved.map_or(demand, |r| demand.min(r));
    let invocations = if demand > concurrency {
        // The reserved environments serve their share of the minute; the rest is throttled.
        (arrivals as f64 * concurrency as f64 / demand as f64).floor() as u64
    } else {
        arrivals
    };
    let provisioned_busy = concurrency.min(provisioned);
    let provisioned_invocations = if concurrency == 0 {
        0
    } else {
        (invocations as f64 * provisioned_busy as f64 / concurrency as f64).round() as u64
    };
    MinuteLoad {
        arrivals,
        invocations,
        throttles: arrivals - invocations,
        concurrency,
        provisioned,
        provisioned_busy,
        provisioned_invocations,
        on_demand_invocations: invocations - provisioned_invocations,
        on_demand_busy: concurrency - provisioned_busy,
        cold_starts: 0,
    }
}

/// The loads of consecutive minutes from `first` on; `arrivals` starts `idle` minutes earlier,
/// so that the first minutes know their warm pool.
pub fn simulate(
    arrivals: &[u64],
    first: i64,
    idle: usize,
    mean_busy_s: f64,
    reserved: Option<u32>,
    provisioned: impl Fn(i64) -> u32,
) -> Vec<MinuteLoad> {
    let start = first - idle as i64;
    let mut loads: Vec<MinuteLoad> = arrivals
        .iter()
        .enumerate()
        .map(|(i, &n)| split(n, mean_busy_s, reserved, provisioned(start + i as i64)))
        .collect();
    for i in idle..loads.len() {
        let pool = loads[i - idle..i]
            .iter()
            .map(|l| l.on_demand_busy)
            .max()
            .unwrap_or(0);
        loads[i].cold_starts = cold_starts(&loads[i], pool);
    }
    loads.drain(..idle.min(loads.len()));
    loads
}

/// Cold starts of a minute: on-demand environments above the warm pool (the most on-demand
/// environments busy in any of the previous idle minutes), at most one per on-demand invocation.
pub fn cold_starts(load: &MinuteLoad, warm_pool: u32) -> u64 {
    (load.on_demand_busy.saturating_sub(warm_pool) as u64).min(load.on_demand_invocations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_carry_over_midnight() {
        let steps = [
            ScheduleStep { hour: 8, level: 10 },
            ScheduleStep { hour: 20, level: 2 },
        ];
        let at = |h: i64| level_at(&steps, 3 * 1440 + h * 60 + 7);
        assert_eq!(
            (at(0), at(7), at(8), at(19), at(20), at(23)),
            (2, 2, 10, 10, 2, 2)
        );
        assert_eq!(level_at(&[], 0), 0);
        assert!(check_schedule(&steps).is_ok());
        assert!(check_schedule(&[steps[0], steps[0]]).is_err());
        assert!(check_schedule(&[ScheduleStep { hour: 24, level: 1 }]).is_err());
        assert!(check_schedule(&[steps[0]; 5]).is_err());
    }

    #[test]
    fn provisioned_serves_first_and_the_rest_spills_over() {
        // 600 arrivals of 0.5 s: 5 at once.
        let load = split(600, 0.5, None, 3);
        assert_eq!(
            (load.concurrency, load.provisioned_busy, load.on_demand_busy),
            (5, 3, 2)
        );
        assert_eq!(load.provisioned_invocations, 360);
        assert_eq!(load.on_demand_invocations, 240);
        assert_eq!(cold_starts(&load, 0), 2);
        assert_eq!(cold_starts(&load, 1), 1);
        assert_eq!(cold_starts(&load, 9), 0);
        // Reserved concurrency 4 throttles a fifth of the minute.
        let load = split(600, 0.5, Some(4), 0);
        assert_eq!(
            (load.concurrency, load.invocations, load.throttles),
            (4, 480, 120)
        );
        // One arrival of a long function needs one environment, and is its only cold start.
        let load = split(1, 90.0, None, 0);
        assert_eq!((load.concurrency, cold_starts(&load, 0)), (2, 1));
    }
}
