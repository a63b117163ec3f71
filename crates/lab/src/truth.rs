//! The lab's ground truth: for each simulated function and memory size, the noise-free
//! expected duration, its percentiles, its cost and whether the size works at all, plus the
//! sizes a perfect tuner would pick. Benchmarks score tuners against it.

use serde::Serialize;

use super::production;
use super::profiles::FunctionProfile;
use memtune_facts::pricing::{billed_ms, PriceBook, PricingError, RegionPrices};
use memtune_facts::{Architecture, MAX_MEMORY_MB, MIN_MEMORY_MB};

/// Memory sizes a readable table shows by default.
pub const TABLE_SIZES: [u32; 13] = [
    128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 6144, 8192, 10240,
];

/// Mean durations within 1% of the best count as equally fast: GC overhead fades slowly
/// with memory, so the exact minimum sits at 10240 MB for gains no measurement resolves.
pub const FASTEST_TOLERANCE: f64 = 0.01;

/// Every size Lambda accepts: 128..=10240 MB in 1 MB steps.
pub fn every_size() -> Vec<u32> {
    (MIN_MEMORY_MB..=MAX_MEMORY_MB).collect()
}

/// 128 MB, then every `step_mb` up to 10240 MB (which is always included).
pub fn stepped_sizes(step_mb: u32) -> Vec<u32> {
    let mut sizes: Vec<u32> = (MIN_MEMORY_MB..=MAX_MEMORY_MB)
        .step_by(step_mb.max(1) as usize)
        .collect();
    if sizes.last() != Some(&MAX_MEMORY_MB) {
        sizes.push(MAX_MEMORY_MB);
    }
    sizes
}

/// The truth at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeTruth {
    pub memory_mb: u32,
    /// Expected warm duration (noise and outliers included, capped at the timeout), in ms.
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// INIT duration of a cold start, in ms.
    pub init_ms: f64,
    /// USD per warm invocation, request price included.
    pub cost_warm_usd: f64,
    /// USD per invocation with INIT weighted by the production cold-start ratio (when billed).
    pub cost_usd: f64,
    pub out_of_memory: bool,
    /// Probability that a warm invocation runs into the timeout.
    pub timeout_probability: f64,
    /// p99 reaches the timeout: more than 1% of invocations time out.
    pub p99_at_timeout: bool,
    /// Neither out of memory nor timing out in more than 1% of invocations.
    pub feasible: bool,
}

/// The truth of one function across memory sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionTruth {
    pub name: String,
    pub runtime: String,
    pub architecture: Architecture,
    pub configured_memory_mb: u32,
    pub timeout_ms: f64,
    pub cold_start_ratio: f64,
    pub init_billed: bool,
    pub region: String,
    /// The cheapest feasible size (cold starts weighted), if any size is feasible.
    pub cheapest_mb: Option<u32>,
    /// The smallest feasible size whose mean duration is within [`FASTEST_TOLERANCE`] of the
    /// lowest: the size past which more memory buys no speed worth measuring.
    pub fastest_mb: Option<u32>,
    /// Whether the rows are production's request mix (`production_mix`) rather than
    /// `[function.workload]`.
    pub production_mix: bool,
    /// With a production mix: the optima of `[function.workload]` alone, what a sweep with a
    /// test event (a payload naming no class) would find.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_event: Option<Optima>,
    pub sizes: Vec<SizeTruth>,
}

/// The sizes a perfect tuner would pick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Optima {
    pub cheapest_mb: Option<u32>,
    pub fastest_mb: Option<u32>,
}

impl FunctionTruth {
    pub fn at(&self, memory_mb: u32) -> Option<&SizeTruth> {
        self.sizes.iter().find(|s| s.memory_mb == memory_mb)
    }
}

/// The truth of every function at `sizes`, priced in `region`.
pub fn profile_truths(
    functions: &[FunctionProfile],
    sizes: &[u32],
    book: &PriceBook,
    region: &str,
) -> Result<Vec<FunctionTruth>, PricingError> {
    let prices = book.region(region)?;
    functions
        .iter()
        .map(|f| function_truth(f, sizes, book, prices))
        .collect()
}

/// The truth of one function at `sizes`; the optima are taken over those sizes.
pub fn function_truth(
    profile: &FunctionProfile,
    sizes: &[u32],
    book: &PriceBook,
    prices: &RegionPrices,
) -> Result<FunctionTruth, PricingError> {
    // INIT billing follows the rule in force on the date the prices were checked.
    let init_billed =
        book.init_billing
            .is_billed(&profile.package_type, &profile.runtime, &book.as_of);
    let mix = !profile.production_mix.is_empty();
    let rows_of = |mix: bool| {
        sizes
            .iter()
            .map(|&m| size_truth(profile, m, prices, init_billed, mix))
            .collect::<Result<Vec<_>, _>>()
    };
    let rows = rows_of(mix)?;
    let test_event = if mix {
        let rows = rows_of(false)?;
        Some(Optima {
            cheapest_mb: argmin_feasible(&rows, |s| s.cost_usd),
            fastest_mb: fastest_feasible(&rows),
        })
    } else {
        None
    };
    Ok(FunctionTruth {
        name: profile.name.clone(),
        runtime: profile.runtime.clone(),
        architecture: profile.architecture,
        configured_memory_mb: profile.memory_mb,
        timeout_ms: profile.timeout_ms(),
        cold_start_ratio: profile.traffic.cold_start_ratio,
        init_billed,
        region: prices.name.clone(),
        cheapest_mb: argmin_feasible(&rows, |s| s.cost_usd),
        fastest_mb: fastest_feasible(&rows),
        production_mix: mix,
        test_event,
        sizes: rows,
    })
}

fn size_truth(
    profile: &FunctionProfile,
    memory_mb: u32,
    prices: &RegionPrices,
    init_billed: bool,
    production_mix: bool,
) -> Result<SizeTruth, PricingError> {
    let arch = profile.architecture;
    let timeout_ms = profile.timeout_ms();
    let e = if production_mix {
        production::expectation(&profile.production_mix, memory_mb, arch, timeout_ms)
    } else {
        profile.model().expectation(memory_mb, arch, timeout_ms)
    };
    let cost_warm_usd = prices.invocation_cost(memory_mb, e.mean_billed_ms, 0.0, arch)?;
    let init_weighted = if init_billed {
        billed_ms(e.init_ms) * profile.traffic.cold_start_ratio
    } else {
        0.0
    };
    let cost_usd = prices.invocation_cost(memory_mb, e.mean_billed_ms, init_weighted, arch)?;
    let p99_at_timeout = e.p99_ms >= timeout_ms;
    Ok(SizeTruth {
        memory_mb,
        mean_ms: e.mean_ms,
        p50_ms: e.p50_ms,
        p99_ms: e.p99_ms,
        init_ms: e.init_ms,
        cost_warm_usd,
        cost_usd,
        out_of_memory: e.out_of_memory,
        timeout_probability: e.timeout_probability,
        p99_at_timeout,
        feasible: !e.out_of_memory && !p99_at_timeout,
    })
}

fn fastest_feasible(rows: &[SizeTruth]) -> Option<u32> {
    let best = rows
        .iter()
        .filter(|s| s.feasible)
        .map(|s| s.mean_ms)
        .fold(f64::INFINITY, f64::min);
    rows.iter()
        .find(|s| s.feasible && s.mean_ms <= best * (1.0 + FASTEST_TOLERANCE))
        .map(|s| s.memory_mb)
}

/// The feasible size with the smallest key; the first (smallest size) wins ties.
fn argmin_feasible(rows: &[SizeTruth], key: impl Fn(&SizeTruth) -> f64) -> Option<u32> {
    rows.iter()
        .filter(|s| s.feasible)
        .fold(None, |best: Option<&SizeTruth>, s| match best {
            Some(b) if key(b) <= key(s) => Some(b),
            _ => Some(s),
        })
        .map(|s| s.memory_mb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn profile(workload: &str, timeout_s: u32) -> FunctionProfile {
        let text = format!(
            "[[function]]\nname = \"f\"\nmemory_mb = 512\ntimeout_s = {timeout_s}\n\
             [function.workload]\n{workload}\n[function.traffic]\ncold_start_ratio = 0.1\n"
        );
        ProfileSet::parse(&text, "t.toml")
            .unwrap()
            .functions
            .remove(0)
    }

    fn truth(p: &FunctionProfile, sizes: &[u32]) -> FunctionTruth {
        let book = PriceBook::builtin();
        let prices = book.region("us-east-1").unwrap();
        function_truth(p, sizes, &book, prices).unwrap()
    }

    #[test]
    fn sizes_cover_lambda_range() {
        let all = every_size();
        assert_eq!((all[0], all.len()), (128, 10113));
        let stepped = stepped_sizes(1000);
        assert_eq!(&stepped[..3], &[128, 1128, 2128]);
        assert_eq!(stepped.last(), Some(&10240));
    }

    #[test]
    fn io_bound_is_cheapest_at_the_smallest_size() {
        let p = profile("io_ms = 200.0\nnoise_cv = 0.0", 10);
        let t = truth(&p, &[128, 512, 2048]);
        assert_eq!(t.cheapest_mb, Some(128));
        // Equal durations everywhere: the smallest size is the fastest too.
        assert_eq!(t.fastest_mb, Some(128));
        let s = t.at(128).unwrap();
        // 128 MB x 201 ms (200 + half a ms of rounding) at $0.0000166667/GB-s + $0.20/1M.
        let warm = 0.125 * 0.2005 * 0.0000166667 + 0.0000002;
        assert!(
            (s.cost_warm_usd - warm).abs() < 1e-15,
            "{}",
            s.cost_warm_usd
        );
    }

    #[test]
    fn cold_starts_add_weighted_init() {
        let p = profile("io_ms = 100.0\ninit_ms = 1000.0\nnoise_cv = 0.0", 10);
        let t = truth(&p, &[1024]);
        assert!(t.init_billed);
        let s = t.at(1024).unwrap();
        // 10% of 1000 ms of INIT at 1 GB: 0.1 GB-s.
        let extra = 0.1 * 0.0000166667;
        assert!((s.cost_usd - s.cost_warm_usd - extra).abs() < 1e-15);
    }

    #[test]
    fn oom_and_timeouts_are_infeasible_and_skipped_by_optima() {
        // 5 s of single-threaded CPU at 1769 MB: > 10 s below ~885 MB.
        let p = profile(
            "cpu_ms = 5000.0\nworking_set_mb = 300.0\nnoise_cv = 0.05",
            10,
        );
        let t = truth(&p, &[256, 512, 1024, 1769, 3008]);
        let at = |m| t.at(m).unwrap();
        assert!(at(256).out_of_memory && !at(256).feasible);
        assert!(at(512).p99_at_timeout && !at(512).feasible);
        assert!(at(512).timeout_probability > 0.99);
        assert!(at(1024).feasible && at(1769).feasible);
        assert_eq!(t.fastest_mb, Some(1769));
        assert_eq!(t.cheapest_mb, Some(1024));
    }

    #[test]
    fn fastest_ignores_gains_below_the_tolerance() {
        // GC overhead keeps shrinking up to 10240 MB, by far less than 1% above 1769 MB.
        let p = profile(
            "cpu_ms = 1000.0\nworking_set_mb = 100.0\ngc_pressure = 0.1\nnoise_cv = 0.0",
            30,
        );
        let t = truth(&p, &[1024, 1769, 4096, 10240]);
        assert!(t.at(10240).unwrap().mean_ms < t.at(1769).unwrap().mean_ms);
        assert_eq!(t.fastest_mb, Some(1769));
    }

    #[test]
    fn fleet_truth_rejects_unknown_region() {
        let p = profile("io_ms = 1.0", 3);
        let err = profile_truths(&[p], &[128], &PriceBook::builtin(), "nowhere-1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'nowhere-1'") && err.contains("us-east-1"),
            "{err}"
        );
    }
}
