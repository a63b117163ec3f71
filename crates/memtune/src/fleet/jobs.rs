//! From a selected function to what tuning it takes: the merged settings of `[tuning]` and
//! every matching `[[function]]` override, its payload, and its share of concurrency; or the
//! reason it is skipped.

use super::config::{FleetConfig, Knobs};
use super::discover::Discovered;
use crate::platform::FunctionConfig;
use crate::strategy::{SearchMode, Strategy};
use crate::sweep::payload::Payloads;
use crate::sweep::sampling::Sampling;
use crate::tune::adaptive::AdaptiveLimits;
use crate::tune::plan::SizePlan;
use crate::tune::{Isolation, Search};

/// One function to tune.
#[derive(Debug, Clone)]
pub struct Job {
    pub function: FunctionConfig,
    pub strategy: Strategy,
    pub search: Search,
    pub invocations: u32,
    pub warmup: u32,
    pub payloads: Payloads,
    /// Invocations of this function in flight at most: what its reserved concurrency leaves
    /// beside production. None without a reservation.
    pub max_in_flight: Option<usize>,
    pub sampling: Sampling,
    /// Where it is sampled: itself or a temporary copy.
    pub isolation: Isolation,
    /// Where a copy's package too large to send inline is staged.
    pub staging_bucket: Option<String>,
    /// Architectures to compare (empty: its own only).
    pub architectures: Vec<String>,
    /// Every sample on a fresh execution environment.
    pub cold_starts: bool,
    /// Tune on this alias's production traffic instead of test invocations.
    pub traffic: Option<crate::tune::canary::traffic::Traffic>,
}

impl Job {
    /// Whether the run samples the function itself, and whether it samples copies of it.
    pub fn samples_in_place_and_on_copies(&self) -> (bool, bool) {
        let current = &self.function.architecture;
        let own = self.architectures.is_empty() || self.architectures.contains(current);
        let other = self.architectures.iter().any(|a| a != current);
        let in_place = own && self.isolation == Isolation::InPlace;
        (
            in_place,
            other || (own && self.isolation != Isolation::InPlace),
        )
    }
}

/// Why a function gets no job.
#[derive(Debug, Clone, PartialEq)]
pub enum NoJob {
    Skip(String),
    /// Its merged settings cannot work (e.g. bounds that leave no size).
    Invalid(String),
}

impl Knobs {
    /// Keys set in `other` win.
    fn overlay(&mut self, other: &Knobs) {
        fn pick<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        pick(&mut self.strategy, &other.strategy);
        pick(&mut self.search, &other.search);
        pick(&mut self.sizes, &other.sizes);
        pick(&mut self.min_mb, &other.min_mb);
        pick(&mut self.max_mb, &other.max_mb);
        pick(&mut self.invocations, &other.invocations);
        pick(&mut self.warmup, &other.warmup);
        pick(&mut self.payloads, &other.payloads);
        pick(&mut self.min_interval, &other.min_interval);
        pick(&mut self.allowed_errors, &other.allowed_errors);
        pick(&mut self.isolation, &other.isolation);
        pick(&mut self.staging_bucket, &other.staging_bucket);
        pick(&mut self.architectures, &other.architectures);
        pick(&mut self.cold_starts, &other.cold_starts);
        pick(&mut self.traffic, &other.traffic);
    }
}

pub fn resolve(found: &Discovered, config: &FleetConfig) -> Result<Job, NoJob> {
    let f = &found.config;
    let mut knobs = config.tuning.knobs.clone();
    let mut skip = None;
    for o in config.overrides.iter().filter(|o| o.name.matches(&f.name)) {
        knobs.overlay(&o.knobs);
        if o.skip.is_some() {
            skip.clone_from(&o.skip);
        }
    }
    if let Some(reason) = skip {
        return Err(NoJob::Skip(reason));
    }
    let max_in_flight = match found.reserved_concurrency {
        None => None,
        Some(0) => {
            return Err(NoJob::Skip(
                "reserved concurrency is 0: the function is throttled on purpose".into(),
            ))
        }
        Some(r) => {
            let margin = (r as f64 * config.limits.reserved_margin).ceil() as u32;
            match r.saturating_sub(margin) {
                0 => {
                    return Err(NoJob::Skip(format!(
                        "reserved concurrency {r} leaves no room for tuning beside production (reserved_margin {})",
                        config.limits.reserved_margin
                    )))
                }
                room => Some(room as usize),
            }
        }
    };
    let payloads = match knobs.payloads.take() {
        Some(p) => p,
        // Production's requests are the payloads.
        None if config.tuning.allow_empty_payload || knobs.traffic.is_some() => {
            Payloads::single("{}").expect("{} is valid JSON")
        }
        None => {
            return Err(NoJob::Skip(
                "no payload configured: add a [[function]] entry with a payload, or set allow_empty_payload = true".into(),
            ))
        }
    };
    let strategy = knobs
        .strategy
        .take()
        .unwrap_or_else(|| config.tuning.strategy.clone());
    let defaults = &strategy.search;
    let invocations = knobs.invocations.unwrap_or(defaults.invocations);
    let (min_mb, max_mb) = (
        knobs.min_mb.unwrap_or(defaults.min_mb),
        knobs.max_mb.unwrap_or(defaults.max_mb),
    );
    let cold_starts = knobs.cold_starts.unwrap_or(false);
    let mode = knobs.search.unwrap_or(defaults.mode);
    if cold_starts && mode == SearchMode::Adaptive && knobs.sizes.is_none() {
        return Err(NoJob::Invalid(format!(
            "cold_starts samples a grid, and its search is adaptive (strategy '{}'): set search = \"grid\" or sizes",
            strategy.name
        )));
    }
    // Named sizes are a grid; otherwise the strategy's (or the config's) search mode.
    let search = match (mode, knobs.sizes.take()) {
        (SearchMode::Adaptive, None) => {
            SizePlan::new(vec![min_mb], min_mb, max_mb, false)
                .map_err(|e| NoJob::Invalid(e.to_string()))?;
            Search::Adaptive(AdaptiveLimits {
                // Invocations set in the config, as `recommend --invocations`, may confirm a
                // latency SLO on a noisy function.
                unconfirmed_invocations: knobs.invocations,
                ..AdaptiveLimits::new(min_mb, max_mb, invocations)
            })
        }
        (_, sizes) => {
            // The current size is sampled too, unless the sizes were named.
            let include_current = sizes.is_none();
            let sizes = sizes.unwrap_or_else(|| defaults.sizes.clone());
            Search::Grid(
                SizePlan::new(sizes, min_mb, max_mb, include_current)
                    .map_err(|e| NoJob::Invalid(e.to_string()))?,
            )
        }
    };
    Ok(Job {
        function: f.clone(),
        invocations,
        warmup: knobs.warmup.unwrap_or(defaults.warmup),
        strategy,
        search,
        payloads,
        max_in_flight,
        sampling: Sampling {
            allowed_errors: knobs.allowed_errors.take().unwrap_or_default(),
            min_interval: knobs.min_interval.unwrap_or_default(),
        },
        isolation: knobs.isolation.take().unwrap_or_default(),
        staging_bucket: knobs.staging_bucket.take(),
        architectures: knobs.architectures.take().unwrap_or_default(),
        cold_starts,
        traffic: knobs.traffic.take(),
    })
}

/// Orders the functions most worth tuning first: higher is tuned sooner.
pub type SpendEstimate<'a> = &'a (dyn Fn(&FunctionConfig) -> f64 + Sync);

/// Until CloudWatch traffic is at hand: configured memory x timeout (GB-s of the most
/// expensive possible invocation), a proxy for what a function can cost.
pub fn memory_times_timeout(f: &FunctionConfig) -> f64 {
    f.memory_mb as f64 / 1024.0 * f.timeout_s as f64
}

/// Monthly spend from production data where it is known (first, largest first); the
/// memory x timeout proxy orders the rest after them.
pub fn monthly_spend_or_proxy(
    production: &std::collections::BTreeMap<String, crate::tune::production::Production>,
    f: &FunctionConfig,
) -> f64 {
    match production.get(&f.name).and_then(|p| p.monthly_cost_usd) {
        Some(usd) => usd,
        None => -1.0 / (1.0 + memory_times_timeout(f)),
    }
}

/// Sorts jobs by estimated spend, highest first (ties by name, so runs are reproducible),
/// and splits off those beyond `max_functions`.
pub fn prioritise(
    mut jobs: Vec<Job>,
    estimate: SpendEstimate,
    max_functions: Option<u32>,
) -> (Vec<Job>, Vec<Job>) {
    jobs.sort_by(|a, b| {
        estimate(&b.function)
            .total_cmp(&estimate(&a.function))
            .then_with(|| a.function.name.cmp(&b.function.name))
    });
    let keep = max_functions.map_or(jobs.len(), |m| (m as usize).min(jobs.len()));
    let rest = jobs.split_off(keep);
    (jobs, rest)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn found(name: &str, memory_mb: u32, timeout_s: u32, reserved: Option<u32>) -> Discovered {
        Discovered {
            config: FunctionConfig {
                timeout_s,
                revision_id: "r".into(),
                code_sha256: "c".into(),
                ..FunctionConfig::sample(name, memory_mb)
            },
            tags: BTreeMap::new(),
            reserved_concurrency: reserved,
        }
    }

    fn config(text: &str) -> FleetConfig {
        FleetConfig::parse(text, "fleet.toml", None).unwrap()
    }

    #[test]
    fn no_payload_is_a_skip_unless_empty_payloads_are_allowed() {
        let f = found("a", 512, 30, None);
        let strict = config("");
        assert!(matches!(resolve(&f, &strict), Err(NoJob::Skip(r)) if r.contains("no payload")));
        let lenient = config("[tuning]\nallow_empty_payload = true\n");
        assert!(resolve(&f, &lenient).is_ok());
    }

    #[test]
    fn configured_invocations_may_confirm_an_slo_with_the_adaptive_search() {
        let unconfirmed = |toml: &str| {
            let job = resolve(&found("a", 512, 30, None), &config(toml)).unwrap();
            let Search::Adaptive(limits) = job.search else {
                panic!("adaptive by default: {:?}", job.search)
            };
            limits.unconfirmed_invocations
        };
        let base = "[[function]]\nname = \"*\"\npayload = '{}'\n";
        assert_eq!(unconfirmed(base), None);
        assert_eq!(unconfirmed(&format!("{base}invocations = 60\n")), Some(60));
    }

    #[test]
    fn later_overrides_win_and_skip_is_honoured() {
        let c = config(
            "[[function]]\nname = \"*\"\npayload = '{}'\ninvocations = 5\n\
             [[function]]\nname = \"orders-*\"\nstrategy = \"speed\"\nsizes = [512, 1024]\n\
             [[function]]\nname = \"orders-legacy\"\nskip = true\nreason = \"frozen\"\n",
        );
        let job = resolve(&found("orders-api", 256, 10, None), &c).unwrap();
        assert_eq!(job.strategy.name, "speed");
        assert_eq!(job.invocations, 5);
        let Search::Grid(plan) = &job.search else {
            panic!("named sizes make a grid: {:?}", job.search)
        };
        assert_eq!(
            plan.sizes(256),
            [512, 1024],
            "named sizes: current not added"
        );
        let other = resolve(&found("search", 256, 10, None), &c).unwrap();
        assert_eq!(other.strategy.name, "cost-guarded");
        assert_eq!(
            resolve(&found("orders-legacy", 256, 10, None), &c).unwrap_err(),
            NoJob::Skip("frozen".into())
        );
    }

    #[test]
    fn the_search_mode_follows_the_config_over_the_strategy() {
        let grid = config("[tuning]\nallow_empty_payload = true\nsearch = \"grid\"\n");
        let job = resolve(&found("a", 256, 10, None), &grid).unwrap();
        let Search::Grid(plan) = &job.search else {
            panic!("search = grid: {:?}", job.search)
        };
        assert!(
            plan.sizes(256).contains(&256),
            "strategy sizes: current added"
        );
        let adaptive =
            config("[tuning]\nallow_empty_payload = true\nsearch = \"adaptive\"\nmin_mb = 256\n");
        let job = resolve(&found("a", 256, 10, None), &adaptive).unwrap();
        assert!(
            matches!(&job.search, Search::Adaptive(l) if l.min_mb == 256),
            "{:?}",
            job.search
        );
    }

    #[test]
    fn reserved_concurrency_leaves_a_margin_to_production() {
        let c = config("[tuning]\nallow_empty_payload = true\n[limits]\nreserved_margin = 0.2\n");
        assert_eq!(
            resolve(&found("a", 512, 3, Some(50)), &c)
                .unwrap()
                .max_in_flight,
            Some(40)
        );
        assert_eq!(
            resolve(&found("a", 512, 3, Some(2)), &c)
                .unwrap()
                .max_in_flight,
            Some(1)
        );
        assert!(matches!(
            resolve(&found("a", 512, 3, Some(1)), &c),
            Err(NoJob::Skip(_))
        ));
        assert!(matches!(
            resolve(&found("a", 512, 3, Some(0)), &c),
            Err(NoJob::Skip(_))
        ));
    }

    #[test]
    fn biggest_spenders_come_first_and_the_cap_splits_the_rest() {
        let c = config("[tuning]\nallow_empty_payload = true\n");
        let jobs: Vec<Job> = [("small", 128, 3), ("big", 3008, 60), ("mid", 1024, 30)]
            .iter()
            .map(|&(n, m, t)| resolve(&found(n, m, t, None), &c).unwrap())
            .collect();
        let (run, rest) = prioritise(jobs, &memory_times_timeout, Some(2));
        let names = |v: &[Job]| {
            v.iter()
                .map(|j| j.function.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&run), ["big", "mid"]);
        assert_eq!(names(&rest), ["small"]);
    }
}
