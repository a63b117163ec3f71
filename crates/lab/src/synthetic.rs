//! Generated lab functions (`--synthetic N`): a deterministic mix of workload kinds with
//! realistic parameters, for benchmarks that need many functions.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::profiles::{FunctionProfile, LogFormat, Traffic};
use super::workload::Workload;
use memtune_facts::{Architecture, MAX_MEMORY_MB, ONE_VCPU_MB};

/// The kinds cycle so that any 7 consecutive functions hold one of each.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Cpu,
    Parallel,
    Io,
    Network,
    MemoryHungry,
    TimeoutProne,
    HeavyTailed,
}

const KINDS: [Kind; 7] = [
    Kind::Cpu,
    Kind::Parallel,
    Kind::Io,
    Kind::Network,
    Kind::MemoryHungry,
    Kind::TimeoutProne,
    Kind::HeavyTailed,
];

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Parallel => "parallel",
            Kind::Io => "io",
            Kind::Network => "network",
            Kind::MemoryHungry => "memory-hungry",
            Kind::TimeoutProne => "timeout-prone",
            Kind::HeavyTailed => "heavy-tailed",
        }
    }
}

/// Runtimes with their typical INIT range in ms (cebert 2025 and mbwilding 2023 cold starts:
/// Rust ~20-100, Python ~80-500 with SDK imports, Node.js ~130-350, Java and .NET slower).
const RUNTIMES: [(&str, f64, f64); 7] = [
    ("python3.12", 90.0, 500.0),
    ("python3.13", 100.0, 500.0),
    ("nodejs20.x", 130.0, 350.0),
    ("nodejs22.x", 130.0, 350.0),
    ("java21", 400.0, 3000.0),
    ("dotnet8", 220.0, 800.0),
    ("provided.al2023", 15.0, 100.0),
];

const TEAMS: [&str; 6] = ["payments", "search", "media", "growth", "platform", "data"];
const CONFIGURED_MB: [u32; 8] = [128, 256, 512, 768, 1024, 1536, 2048, 3008];

/// `n` generated functions named `synthetic-0000`..., the same for the same seed.
pub fn generate(n: usize, seed: u64) -> Vec<FunctionProfile> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| profile(i, KINDS[i % KINDS.len()], &mut rng))
        .collect()
}

fn profile(index: usize, kind: Kind, rng: &mut StdRng) -> FunctionProfile {
    let (runtime, init_lo, init_hi) = RUNTIMES[rng.random_range(0..RUNTIMES.len())];
    let mut workload = Workload {
        init_ms: log_uniform(rng, init_lo, init_hi),
        init_cpu_fraction: rng.random_range(0.0..0.3),
        noise_cv: rng.random_range(0.03..0.12),
        outlier_rate: rng.random_range(0.0..0.005),
        error_rate: if rng.random_bool(0.2) {
            rng.random_range(0.0..0.01)
        } else {
            0.0
        },
        arm64_cpu_factor: rng.random_range(0.8..1.1),
        working_set_mb: rng.random_range(40.0..150.0),
        ..Workload::default()
    };
    let mut memory_mb = CONFIGURED_MB[rng.random_range(0..CONFIGURED_MB.len())];
    let mut timeout_s = rng.random_range(10..=60);
    shape(kind, &mut workload, &mut memory_mb, &mut timeout_s, rng);
    // Nobody runs a size that is always killed: configure at least 10% above the working set.
    let floor = round_up_to(workload.working_set_mb * 1.1, 64);
    let memory_mb = memory_mb.max(floor).min(MAX_MEMORY_MB);
    let architecture = if rng.random_bool(0.3) {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    };
    let log_format = if rng.random_bool(0.25) {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    let package_type = if rng.random_bool(0.1) { "Image" } else { "Zip" };
    let team = TEAMS[rng.random_range(0..TEAMS.len())];
    let tags = BTreeMap::from([
        ("team".to_string(), team.to_string()),
        ("env".to_string(), "prod".to_string()),
        ("kind".to_string(), kind.tag().to_string()),
    ]);
    FunctionProfile {
        name: format!("synthetic-{index:04}"),
        runtime: runtime.to_string(),
        architecture,
        memory_mb,
        timeout_s,
        log_format,
        package_type: package_type.to_string(),
        description: format!("Generated {} function", kind.tag()),
        reserved_concurrency: None,
        tags,
        workload,
        curve: None,
        traffic: traffic(rng),
    }
}

/// Sets the parameters that make a workload of this kind.
fn shape(kind: Kind, w: &mut Workload, memory_mb: &mut u32, timeout_s: &mut u32, rng: &mut StdRng) {
    match kind {
        Kind::Cpu => {
            w.cpu_ms = log_uniform(rng, 50.0, 3000.0);
            w.io_ms = rng.random_range(0.0..20.0);
        }
        Kind::Parallel => {
            w.cpu_ms = log_uniform(rng, 500.0, 20000.0);
            w.parallel_fraction = rng.random_range(0.5..0.95);
            w.threads = rng.random_range(2..=6);
            *timeout_s = rng.random_range(120..=300);
        }
        Kind::Io => {
            w.cpu_ms = rng.random_range(1.0..30.0);
            w.io_ms = log_uniform(rng, 20.0, 800.0);
            *timeout_s = rng.random_range(3..=30);
        }
        Kind::Network => {
            w.cpu_ms = rng.random_range(5.0..100.0);
            w.transfer_mb = log_uniform(rng, 1.0, 200.0);
            w.bandwidth_mb_s = rng.random_range(40.0..120.0);
            *timeout_s = rng.random_range(60..=180);
        }
        Kind::MemoryHungry => {
            w.cpu_ms = log_uniform(rng, 200.0, 5000.0);
            w.working_set_mb = log_uniform(rng, 300.0, 3000.0);
            w.gc_pressure = rng.random_range(0.05..0.6);
            *timeout_s = rng.random_range(60..=180);
        }
        Kind::TimeoutProne => {
            // Takes 80% of the timeout at `edge_mb`: below roughly that size it times out.
            *timeout_s = rng.random_range(3..=15);
            let edge_mb = rng.random_range(512.0..1536.0);
            w.cpu_ms = 0.8 * *timeout_s as f64 * 1000.0 * edge_mb / ONE_VCPU_MB;
            *memory_mb = round_up_to(edge_mb * rng.random_range(1.2..2.0), 64);
        }
        Kind::HeavyTailed => {
            w.cpu_ms = log_uniform(rng, 10.0, 200.0);
            w.io_ms = log_uniform(rng, 50.0, 300.0);
            w.noise_cv = rng.random_range(0.3..0.8);
            w.outlier_rate = rng.random_range(0.01..0.05);
            w.outlier_factor = rng.random_range(3.0..10.0);
            *timeout_s = rng.random_range(15..=60);
        }
    }
}

fn traffic(rng: &mut StdRng) -> Traffic {
    Traffic {
        requests_per_day: log_uniform(rng, 100.0, 5e6).round(),
        daily_amplitude: rng.random_range(0.0..0.8),
        peak_hour_utc: rng.random_range(0.0..24.0),
        cold_start_ratio: log_uniform(rng, 0.001, 0.1),
    }
}

/// A draw whose logarithm is uniform: as many values per decade.
fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo.ln()..hi.ln()).exp()
}

fn round_up_to(mb: f64, multiple: u32) -> u32 {
    (mb / multiple as f64).ceil() as u32 * multiple
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_thousand_generated_profiles_are_valid() {
        let profiles = generate(1000, 42);
        assert_eq!(profiles.len(), 1000);
        for p in &profiles {
            assert_eq!(p.validate(), None, "{}: {:?}", p.name, p);
            assert!(!p.workload.out_of_memory(p.memory_mb), "{}", p.name);
        }
        assert_eq!(profiles[0].name, "synthetic-0000");
        assert_eq!(profiles[999].name, "synthetic-0999");
    }

    #[test]
    fn same_seed_same_fleet_and_different_seeds_differ() {
        assert_eq!(generate(50, 7), generate(50, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    #[test]
    fn the_mix_holds_every_kind_arm64_and_json_logs() {
        let profiles = generate(100, 1);
        let kinds: BTreeSet<&str> = profiles.iter().map(|p| p.tags["kind"].as_str()).collect();
        assert_eq!(kinds.len(), KINDS.len());
        assert!(profiles
            .iter()
            .any(|p| p.architecture == Architecture::Arm64));
        assert!(profiles.iter().any(|p| p.log_format == LogFormat::Json));
    }

    #[test]
    fn timeout_prone_functions_time_out_at_small_sizes_only() {
        for p in generate(70, 3)
            .iter()
            .filter(|p| p.tags["kind"] == "timeout-prone")
        {
            let at = |m| p.workload.base_duration_ms(m, Architecture::X86_64);
            assert!(at(256) > p.timeout_ms(), "{}", p.name);
            assert!(at(3008) < p.timeout_ms(), "{}", p.name);
        }
    }
}
