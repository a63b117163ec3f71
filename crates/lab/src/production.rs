//! What production sends a function, as opposed to a test event: its mix of request classes
//! (`[[function.production_mix]]`, each with its own workload and share) and the live traffic
//! the lab itself sends through an alias while it runs (`[function.live]`).
//!
//! An invocation whose JSON payload names a class (`{"lab_request_class": "large"}`) runs that
//! class's workload; any other payload (a tuner's test event) runs `[function.workload]`. So a
//! sweep with a test event measures `[function.workload]`, while the live generator and the
//! truth of the production mix follow the shares.

use serde::{Deserialize, Serialize};

use super::mixture::Mixture;
use super::workload::{Expectation, Workload};
use memtune_facts::Architecture;

/// The payload key that names a request class.
pub const CLASS_KEY: &str = "lab_request_class";

/// Live traffic reaches the lab at most this many times a wall-clock second.
pub const MAX_WALL_RATE: f64 = 2000.0;

/// One class of production requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestClass {
    /// What the payload's `lab_request_class` says.
    pub class: String,
    /// Its share of production's requests, 0..=1; a mix's shares add up to 1.
    pub share: f64,
    pub workload: Workload,
}

/// Production traffic the lab sends while it runs: Poisson arrivals at `requests_per_second`
/// (simulated seconds) through `alias`, payloads drawn from the production mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Live {
    /// The alias production invokes; the lab publishes version 1 and creates it at start
    /// unless it exists.
    pub alias: String,
    pub requests_per_second: f64,
}

/// The class a payload names, if the mix has it.
pub fn class_of<'a>(mix: &'a [RequestClass], payload: &[u8]) -> Option<&'a RequestClass> {
    if mix.is_empty() {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let name = doc.get(CLASS_KEY)?.as_str()?;
    mix.iter().find(|c| c.class == name)
}

/// The class whose cumulative share first exceeds `u` (uniform in 0..1).
pub fn draw(mix: &[RequestClass], u: f64) -> Option<&RequestClass> {
    let mut cumulative = 0.0;
    for c in mix {
        cumulative += c.share;
        if u < cumulative {
            return Some(c);
        }
    }
    mix.last()
}

/// The first problem of a mix and a live section, as (key, message).
pub fn validate(mix: &[RequestClass], live: Option<&Live>) -> Option<(&'static str, String)> {
    for c in mix {
        if c.class.is_empty() {
            return Some(("class", "a production_mix class needs a name".into()));
        }
        if !(0.0..=1.0).contains(&c.share) {
            return Some((
                "share",
                format!("class '{}': share {} is outside 0..=1", c.class, c.share),
            ));
        }
        if mix.iter().filter(|o| o.class == c.class).count() > 1 {
            return Some(("class", format!("class '{}' is listed twice", c.class)));
        }
    }
    let total: f64 = mix.iter().map(|c| c.share).sum();
    if !mix.is_empty() && (total - 1.0).abs() > 1e-6 {
        return Some((
            "share",
            format!("production_mix shares add up to {total}, not 1"),
        ));
    }
    let live = live?;
    if !(live.requests_per_second > 0.0 && live.requests_per_second <= 10_000.0) {
        return Some((
            "requests_per_second",
            format!(
                "requests_per_second = {} is outside 0..=10000 (0 excluded)",
                live.requests_per_second
            ),
        ));
    }
    if live.alias.is_empty() || live.alias.chars().all(|c| c.is_ascii_digit()) {
        return Some((
            "alias",
            "live.alias must name an alias (not a version number)".into(),
        ));
    }
    None
}

/// Whether live traffic can run at a time scale: simulated seconds must take wall time, and
/// not so little that the lab is flooded.
pub fn check_time_scale(function: &str, live: &Live, time_scale: f64) -> Result<(), String> {
    if time_scale <= 0.0 {
        return Err(format!(
            "function '{function}' has [function.live] traffic, which needs --time-scale > 0 \
             (simulated seconds take time_scale wall seconds; 0 would send it all at once)"
        ));
    }
    let wall_rate = live.requests_per_second / time_scale;
    if wall_rate > MAX_WALL_RATE {
        return Err(format!(
            "function '{function}': {} requests per simulated second at time scale {time_scale} \
             is {wall_rate:.0} per wall second, above the lab's {MAX_WALL_RATE:.0}; raise \
             --time-scale to at least {}",
            live.requests_per_second,
            live.requests_per_second / MAX_WALL_RATE
        ));
    }
    Ok(())
}

/// The noise-free expectation of the production mix at one size: durations are the mixture
/// of the classes' distributions (their percentiles from its CDF), INIT and billed time the
/// share-weighted means, out of memory when any class with a share is.
pub fn expectation(
    mix: &[RequestClass],
    memory_mb: u32,
    arch: Architecture,
    timeout_ms: f64,
) -> Expectation {
    let parts: Vec<(f64, Expectation, _)> = mix
        .iter()
        .filter(|c| c.share > 0.0)
        .map(|c| {
            let w = &c.workload;
            (
                c.share,
                w.expectation(memory_mb, arch, timeout_ms),
                w.distribution(memory_mb, arch, timeout_ms),
            )
        })
        .collect();
    let mut mixture = Mixture::new();
    for (share, _, dist) in &parts {
        mixture.add_population(*share, dist);
    }
    let weighted =
        |f: &dyn Fn(&Expectation) -> f64| -> f64 { parts.iter().map(|(s, e, _)| s * f(e)).sum() };
    Expectation {
        memory_mb,
        base_ms: weighted(&|e| e.base_ms),
        mean_ms: weighted(&|e| e.mean_ms),
        p50_ms: mixture.quantile(0.50),
        p90_ms: mixture.quantile(0.90),
        p99_ms: mixture.quantile(0.99),
        mean_billed_ms: weighted(&|e| e.mean_billed_ms),
        init_ms: weighted(&|e| e.init_ms),
        max_memory_used_mb: parts
            .iter()
            .map(|(_, e, _)| e.max_memory_used_mb)
            .max()
            .unwrap_or(1),
        out_of_memory: parts.iter().any(|(_, e, _)| e.out_of_memory),
        timeout_probability: weighted(&|e| e.timeout_probability),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix() -> Vec<RequestClass> {
        let class = |name: &str, share, io_ms, cpu_ms| RequestClass {
            class: name.into(),
            share,
            workload: Workload {
                io_ms,
                cpu_ms,
                noise_cv: 0.0,
                ..Workload::default()
            },
        };
        vec![
            class("small", 0.75, 100.0, 0.0),
            class("large", 0.25, 0.0, 1000.0),
        ]
    }

    #[test]
    fn a_payload_names_its_class_and_anything_else_runs_the_workload() {
        let mix = mix();
        let large = br#"{"lab_request_class": "large", "id": 7}"#;
        assert_eq!(class_of(&mix, large).unwrap().class, "large");
        assert!(class_of(&mix, br#"{"lab_request_class": "huge"}"#).is_none());
        assert!(class_of(&mix, b"{}").is_none());
        assert!(class_of(&mix, b"").is_none());
    }

    #[test]
    fn draws_follow_the_shares() {
        let mix = mix();
        assert_eq!(draw(&mix, 0.0).unwrap().class, "small");
        assert_eq!(draw(&mix, 0.7499).unwrap().class, "small");
        assert_eq!(draw(&mix, 0.75).unwrap().class, "large");
        assert_eq!(draw(&mix, 0.9999).unwrap().class, "large");
    }

    #[test]
    fn the_mix_expectation_weighs_the_classes_by_share() {
        let mix = mix();
        let e = expectation(&mix, 1769, Architecture::X86_64, 1e9);
        // 0.75 x 100 ms + 0.25 x 1000 ms at one vCPU.
        assert!((e.mean_ms - 325.0).abs() < 1e-6, "{}", e.mean_ms);
        assert!((e.p50_ms - 100.0).abs() < 1e-6, "{}", e.p50_ms);
        assert!((e.p99_ms - 1000.0).abs() < 1e-6, "{}", e.p99_ms);
    }

    #[test]
    fn shares_must_add_up_and_live_needs_a_rate_and_an_alias() {
        let mut m = mix();
        m[0].share = 0.5;
        let (key, msg) = validate(&m, None).unwrap();
        assert_eq!(key, "share");
        assert!(msg.contains("add up to 0.75"), "{msg}");
        let live = Live {
            alias: "live".into(),
            requests_per_second: 0.0,
        };
        assert_eq!(
            validate(&mix(), Some(&live)).unwrap().0,
            "requests_per_second"
        );
        let live = Live {
            alias: "3".into(),
            requests_per_second: 5.0,
        };
        assert_eq!(validate(&mix(), Some(&live)).unwrap().0, "alias");
    }

    #[test]
    fn live_traffic_needs_a_time_scale_that_paces_it() {
        let live = Live {
            alias: "live".into(),
            requests_per_second: 20.0,
        };
        assert!(check_time_scale("f", &live, 0.0)
            .unwrap_err()
            .contains("--time-scale > 0"));
        assert!(check_time_scale("f", &live, 0.001)
            .unwrap_err()
            .contains("at least 0.01"));
        assert!(check_time_scale("f", &live, 0.01).is_ok());
    }
}
