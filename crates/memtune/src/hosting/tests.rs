//! Hand-worked figures from `config/pricing.toml` (us-east-1; [[hosting_region]] us-east-1):
//! requests $0.20/M; GB-s x86_64 $0.0000166667, arm64 $0.0000133334; provisioned x86_64
//! $0.0000041667 per GB-s provisioned and $0.0000097222 per GB-s of duration, arm64
//! $0.0000033334 and $0.0000077778; Fargate x86_64 $0.04048 per vCPU-hour and $0.004445 per
//! GB-hour, arm64 $0.03238 and $0.00356; ALB $0.0225 per hour, $0.008 per LCU-hour, one LCU
//! = 25 new connections/s or 1 GB/h; LMI fee 15%, $0.20/M requests, 3 instances at least,
//! m6a.large (x86_64, 2 vCPU, 8 GiB) $0.0864/h, m7g.large (arm64) $0.0816/h. A month is 730 h
//! = 2,628,000 s. Default assumptions: up to 10 requests per task, CPU target 60%, 2 tasks
//! at least, one ALB of its own, 10,000 B and one new connection per request, 20% margin.

use super::cost::HostingOption::{Fargate, ManagedInstances, OnDemand, Provisioned};
use super::*;
use memtune_facts::pricing::PriceBook;
use memtune_facts::Architecture::{Arm64, X86_64};

fn within_1pct(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * 0.01
}

struct Case {
    hourly_rps: Vec<f64>,
    peak: f64,
    memory_mb: u32,
    duration_ms: f64,
    used_mb: f64,
    cpu: f64,
    cold: f64,
    init_ms: f64,
    runtime: &'static str,
}

fn load(c: Case) -> Load {
    Load {
        hourly_rps: c.hourly_rps,
        peak_concurrency: c.peak,
        peak_source: PeakSource::Measured,
        memory_mb: c.memory_mb,
        duration_ms: c.duration_ms,
        p99_ms: c.duration_ms * 3.0,
        memory_used_mb: c.used_mb,
        cpu_need_vcpus: c.cpu,
        cold_start_ratio: c.cold,
        init_ms: c.init_ms,
        runtime: Some(c.runtime.to_string()),
    }
}

fn compared(load: &Load) -> Comparison {
    let book = PriceBook::builtin();
    let prices = Prices {
        lambda: book.region("us-east-1").unwrap(),
        hosting: book.hosting("us-east-1").unwrap(),
    };
    compare(load, &prices, X86_64, &Assumptions::default())
}

fn usd(c: &Comparison, option: HostingOption, arch: memtune_facts::Architecture) -> Option<f64> {
    c.options
        .iter()
        .find(|o| o.option == option && o.architecture == arch)
        .unwrap()
        .monthly_usd
}

fn check(c: &Comparison, option: HostingOption, arch: memtune_facts::Architecture, expected: f64) {
    let actual = usd(c, option, arch).unwrap();
    assert!(
        within_1pct(actual, expected),
        "{option:?} {arch:?}: {actual} vs {expected}"
    );
}

/// 45 requests/s all day, 40 ms at 512 MB (uses 100 MB, 0.25 vCPU), 0.1% cold (300 ms INIT),
/// peak 6 in flight, Node.js 22.
fn steady() -> Load {
    load(Case {
        hourly_rps: vec![45.0; 24],
        peak: 6.0,
        memory_mb: 512,
        duration_ms: 40.0,
        used_mb: 100.0,
        cpu: 0.25,
        cold: 0.001,
        init_ms: 300.0,
        runtime: "nodejs22.x",
    })
}

#[test]
fn steady_function_by_hand() {
    let c = compared(&steady());
    // N = 45 x 2,628,000 = 118,260,000 requests.
    // On-demand x86_64: 0.5 GB x (40 + 0.5 + 0.001 x 300 = 40.8 ms) = 0.0204 GB-s each;
    // 118.26M x 0.0204 = 2,412,504 GB-s x $0.0000166667 = $40.2085; requests 118.26 x $0.20 =
    // $23.652; total $63.86. arm64: 2,412,504 x $0.0000133334 = $32.1669 + $23.652 = $55.82.
    check(&c, OnDemand, X86_64, 63.86);
    check(&c, OnDemand, Arm64, 55.82);
    // Provisioned, level = busiest hour's mean concurrency 45 x 0.040 = 1.8 -> 2, no spill:
    // 2 x 0.5 GB x 2,628,000 s x $0.0000041667 = $10.9501; duration 118.26M x 0.5 x 0.0405 s
    // = 2,394,765 GB-s x $0.0000097222 = $23.2824; requests $23.652; total $57.88.
    assert_eq!(c.provisioned_level, 2);
    check(&c, Provisioned, X86_64, 57.88);
    // LMI x86_64: vCPU 6 x 0.25 / 0.6 = 2.5 -> 2 m6a.large; memory 6 x 100 MB = 0.59 GiB -> 1;
    // minimum 3: 3 x 730 x $0.0864 x 1.15 = $217.5984 + requests $23.652 = $241.25.
    check(&c, ManagedInstances, X86_64, 241.25);
    // Fargate x86_64, per task c = 10 .. 3: 2 tasks (the minimum) of 3 in flight, 3 x 0.25 /
    // 0.6 = 1.25 vCPU -> 2 vCPU / 4 GB (its smallest memory) = $0.09874/h, x 2 = $0.19748/h.
    // c = 2: 3 tasks of 2, 0.83 vCPU -> 1 vCPU / 2 GB = $0.04937/h, x 3 = $0.14811/h (c = 1,
    // 6 tasks of 0.5 vCPU / 1 GB at $0.024685/h, ties): 730 x $0.14811 = $108.1203.
    // ALB: 730 x $0.0225 = $16.425; LCUs: 45 rps x max(1/25, 10,000 x 3600 / 1e9 = 0.036)
    // = 1.8 x 730 x $0.008 = $10.512. Total $135.0573.
    check(&c, Fargate, X86_64, 135.0573);
    // arm64 at the same size: 730 x 3 x ($0.03238 + 2 x $0.00356) = 2190 x $0.0395 =
    // $86.505 + $26.937 = $113.442.
    check(&c, Fargate, Arm64, 113.442);
    // Cheapest: provisioned arm64: 2 x 0.5 x 2,628,000 x $0.0000033334 = $8.7602 + 2,394,765
    // x $0.0000077778 = $18.6261 + $23.652 = $51.04; against on-demand arm64 ($55.82) that
    // saves 8.6%, short of the 20% margin: stay on on-demand (arm64, the cheaper).
    check(&c, Provisioned, Arm64, 51.04);
    assert_eq!((c.verdict.best, c.verdict.architecture), (OnDemand, Arm64));
    assert!(c.verdict.stays_on_lambda);
    let reason = &c.verdict.reason;
    assert!(
        reason.contains("saves 9%, less than the 20% margin"),
        "{reason}"
    );
}

#[test]
fn diurnal_function_by_hand() {
    // 12 hours at 200 requests/s, 12 at 20 (mean 110), 118 ms at 1024 MB (uses 300 MB,
    // 0.5 vCPU), 0.4% cold (800 ms INIT), peak 40 in flight, Python 3.12.
    let c = compared(&load(Case {
        hourly_rps: [vec![200.0; 12], vec![20.0; 12]].concat(),
        peak: 40.0,
        memory_mb: 1024,
        duration_ms: 118.0,
        used_mb: 300.0,
        cpu: 0.5,
        cold: 0.004,
        init_ms: 800.0,
        runtime: "python3.12",
    }));
    // N = 110 x 2,628,000 = 289,080,000. On-demand x86_64: 1 GB x (118 + 0.5 + 0.004 x 800 =
    // 121.7 ms): 35,181,036 GB-s x $0.0000166667 = $586.3518 + requests $57.816 = $644.17.
    check(&c, OnDemand, X86_64, 644.17);
    // Provisioned: busiest hour 200 x 0.118 = 23.6 -> 24; no hour above it. 24 x 1 GB x
    // 2,628,000 x $0.0000041667 = $262.8021; 289.08M x 0.1185 s = 34,255,980 GB-s x
    // $0.0000097222 = $333.0435; + $57.816 = $653.66.
    assert_eq!(c.provisioned_level, 24);
    check(&c, Provisioned, X86_64, 653.66);
    // Python 3.12 cannot run on Managed Instances.
    assert_eq!(usd(&c, ManagedInstances, X86_64), None);
    // Fargate x86_64, c = 10: 4 tasks of 10 -> 8.3 vCPU -> 16 vCPU / 32 GB, $0.78992/h x 4 =
    // $3.15968/h; c = 9: 5 tasks of 8 -> 6.7 vCPU, 2.3 GB -> 8 vCPU / 16 GB = $0.39496/h x 5 =
    // $1.9748/h; c = 8 .. 1 never cheaper (4: 10 x 4 vCPU / 8 GB, 2: 20 x 2 vCPU / 4 GB and
    // 1: 40 x 1 vCPU / 2 GB tie at $1.9748/h). 730 x $1.9748 = $1441.604; ALB $16.425 +
    // 110 x 0.04 LCU x 730 x $0.008 = $25.696. Total $1483.725.
    check(&c, Fargate, X86_64, 1483.725);
    // Peaks of 200/s cost the always-on options their peak all day: Lambda stays.
    assert!(c.verdict.stays_on_lambda, "{}", c.verdict.reason);
}

#[test]
fn spiky_function_by_hand() {
    // 23 hours at 1 request/s and one at 100 (mean 5.125), 205 ms at 1769 MB (1 vCPU, uses
    // 400 MB), 3% cold (1200 ms INIT), peak 41 in flight, Java 21.
    let mut spiky = load(Case {
        hourly_rps: [vec![1.0; 23], vec![100.0]].concat(),
        peak: 41.0,
        memory_mb: 1769,
        duration_ms: 205.0,
        used_mb: 400.0,
        cpu: 1.0,
        cold: 0.03,
        init_ms: 1200.0,
        runtime: "java21",
    });
    spiky.p99_ms = 600.0;
    let c = compared(&spiky);
    // N = 5.125 x 2,628,000 = 13,468,500. On-demand x86_64: 1769/1024 = 1.7275 GB x (205 +
    // 0.5 + 0.03 x 1200 = 241.5 ms) = 0.41720 GB-s; x N = 5,618,969 GB-s x $0.0000166667 =
    // $93.6496 + requests $2.6937 = $96.345.
    check(&c, OnDemand, X86_64, 96.345);
    // 3% cold starts put INIT in the p99: 600 + 1200 ms.
    let p99 = |o: HostingOption| {
        c.options
            .iter()
            .find(|x| x.option == o && x.architecture == X86_64)
            .unwrap()
            .p99_ms
    };
    assert_eq!(p99(OnDemand), Some(1800.0));
    assert_eq!(p99(Fargate), Some(600.0));
    // Provisioned: busiest hour 100 x 0.205 = 20.5 -> 21: 21 x 1.7275 GB x 2,628,000 x
    // $0.0000041667 = $397.2508; N x 1.7275 x 0.2055 = 4,781,776 GB-s x $0.0000097222 =
    // $46.4894; + $2.6937 = $446.43. No spill, so no cold starts: p99 600 ms.
    check(&c, Provisioned, X86_64, 446.43);
    assert_eq!(p99(Provisioned), Some(600.0));
    // LMI: 41 x 1 vCPU / 0.6 = 68.3 vCPU -> 35 m6a.large: 35 x 730 x $0.0864 x 1.15 =
    // $2538.648 + $2.6937 = $2541.34.
    check(&c, ManagedInstances, X86_64, 2541.34);
    // Fargate: c = 5: 9 tasks of 4.56 -> 7.6 vCPU, 1.8 GB -> 8 vCPU / 16 GB = $0.39496/h x 9
    // = $3.55464/h (c = 10: 5 x 16 vCPU = $3.9496; c = 1: 41 x 2 vCPU = $4.04834; others
    // more). 730 x $3.55464 = $2594.8872 + ALB $16.425 + 5.125 x 0.04 x 730 x $0.008 =
    // $1.1972. Total $2612.51.
    check(&c, Fargate, X86_64, 2612.51);
    assert_eq!(c.verdict.best, OnDemand, "{}", c.verdict.reason);
}

#[test]
fn rare_function_by_hand() {
    // 0.01 requests/s (864 a day), 300 ms at 256 MB, 30% cold (400 ms INIT), Node.js 20.
    let mut rare = load(Case {
        hourly_rps: vec![0.01; 24],
        peak: 1.0,
        memory_mb: 256,
        duration_ms: 300.0,
        used_mb: 80.0,
        cpu: 0.14,
        cold: 0.3,
        init_ms: 400.0,
        runtime: "nodejs20.x",
    });
    rare.p99_ms = 500.0;
    let c = compared(&rare);
    // N = 26,280. On-demand x86_64: 0.25 GB x (300 + 0.5 + 0.3 x 400 = 420.5 ms) = 0.105125
    // GB-s; x N = 2,762.69 GB-s x $0.0000166667 = $0.046045 + $0.005256 = $0.0513.
    check(&c, OnDemand, X86_64, 0.0513);
    // Provisioned level 1 (0.003 rounded up): 0.25 x 2,628,000 x $0.0000041667 = $2.7375 +
    // 26,280 x 0.25 x 0.3005 x $0.0000097222 = $0.0192 + $0.0053 = $2.762.
    check(&c, Provisioned, X86_64, 2.762);
    // Fargate: 2 tasks of 0.25 vCPU / 0.5 GB: 1460 x (0.25 x $0.04048 + 0.5 x $0.004445) =
    // $18.0201 + ALB $16.425 + 0.01 x 0.04 x 5.84 = $0.0023: $34.447.
    check(&c, Fargate, X86_64, 34.447);
    assert_eq!(usd(&c, ManagedInstances, Arm64), None);
    // 30% cold: p99 = 500 + 400 ms on-demand.
    assert!(c
        .options
        .iter()
        .any(|o| o.option == OnDemand && o.p99_ms == Some(900.0)));
    assert_eq!(c.verdict.best, OnDemand);
    assert!(
        c.verdict.reason.starts_with("stay on Lambda on-demand"),
        "{}",
        c.verdict.reason
    );
}

/// 400 requests/s all day, 26 ms at 512 MB (uses 90 MB, 0.1 vCPU), 0.05% cold (250 ms INIT),
/// peak 20 in flight, Node.js 22: a busy, tiny handler.
fn busy() -> Load {
    load(Case {
        hourly_rps: vec![400.0; 24],
        peak: 20.0,
        memory_mb: 512,
        duration_ms: 26.0,
        used_mb: 90.0,
        cpu: 0.1,
        cold: 0.0005,
        init_ms: 250.0,
        runtime: "nodejs22.x",
    })
}

#[test]
fn busy_function_goes_to_a_container_by_hand() {
    let c = compared(&busy());
    // N = 400 x 2,628,000 = 1,051,200,000. On-demand x86_64: 0.5 GB x (26 + 0.5 + 0.125 =
    // 26.625 ms) = 0.0133125 GB-s; x N = 13,994,100 GB-s x $0.0000166667 = $233.2355 +
    // requests $210.24 = $443.48.
    check(&c, OnDemand, X86_64, 443.48);
    // Fargate: c = 3: 7 tasks of 2.86 in flight -> 0.48 vCPU, 0.25 GB -> 0.5 vCPU / 1 GB =
    // $0.024685/h x 7 = $0.172795/h (c = 10: 2 x 2 vCPU / 4 GB = $0.19748; c = 1: 20 x 0.25
    // vCPU = $0.24685). 730 x $0.172795 = $126.1404 + ALB $16.425 + 400 x 0.04 = 16 LCU x
    // 730 x $0.008 = $93.44. Total $236.01. arm64: 5110 x (0.5 x $0.03238 + $0.00356) =
    // $100.9225 + $109.865 = $210.79.
    check(&c, Fargate, X86_64, 236.01);
    check(&c, Fargate, Arm64, 210.79);
    // On-demand arm64: 13,994,100 x $0.0000133334 = $186.5889 + $210.24 = $396.83;
    // 1 - 210.79 / 396.83 = 47% cheaper: the container wins.
    check(&c, OnDemand, Arm64, 396.83);
    assert_eq!((c.verdict.best, c.verdict.architecture), (Fargate, Arm64));
    assert!(!c.verdict.stays_on_lambda);
    let reason = &c.verdict.reason;
    assert!(reason.contains("47% less"), "{reason}");
}

#[test]
fn break_even_on_demand_against_fargate_by_hand() {
    let c = compared(&busy());
    // Below the rate where Fargate grows past 2 tasks of 0.25 vCPU / 0.5 GB, its cost is
    // fixed 1460 x (0.25 x $0.04048 + 0.5 x $0.004445) + $16.425 = $34.44505 plus 0.04 LCU x
    // 730 x $0.008 = $0.2336 per request/s. On-demand costs 2,628,000 x ($0.0000002 + 0.5 x
    // 0.026625 x $0.0000166667) = $1.10869 per request/s. Equal at 34.44505 / (1.10869 -
    // 0.2336) = 39.36 requests/s (peak 20 x 39.36 / 400 = 1.97: still 2 tasks of 1).
    let be = c
        .break_evens
        .iter()
        .find(|b| b.architecture == X86_64 && (b.a, b.b) == (OnDemand, Fargate))
        .unwrap();
    assert!(within_1pct(be.rps.unwrap(), 39.36), "{be:?}");
    assert_eq!(be.cheaper_below, OnDemand);
    // On-demand against provisioned, flat traffic: level P = ceil(r x 0.026). Per request,
    // on-demand bills 0.5 x 0.026625 s (INIT share included) x $0.0000166667 = $2.21876e-7
    // and provisioned 0.5 x 0.0265 x $0.0000097222 = $1.28819e-7 (no spill, no cold starts):
    // $9.3057e-8 less, x 2,628,000 = $0.244553 per request/s. One level costs 0.5 x 2,628,000
    // x $0.0000041667 = $5.47504. At one level (r <= 38.46): equal at 5.47504 / 0.244553 =
    // 22.39 requests/s.
    let be = c
        .break_evens
        .iter()
        .find(|b| b.architecture == X86_64 && (b.a, b.b) == (OnDemand, Provisioned))
        .unwrap();
    assert!(within_1pct(be.rps.unwrap(), 22.39), "{be:?}");
}
