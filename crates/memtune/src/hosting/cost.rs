//! Monthly cost and p99 of one load on each hosting option, at one architecture's prices.
//!
//! Formulas (each printed figure can be redone by hand from `config/pricing.toml`):
//! - on-demand: N x request price + N x GB x (mean ms + 0.5 + cold share x INIT ms) / 1000 x
//!   GB-s price (first tier; the 0.5 ms is the mean of billing's round-up).
//! - provisioned at level P: P x GB x 2,628,000 s x concurrency price; the busiest hours'
//!   mean concurrency above P spills to on-demand (its duration, INIT and cold starts), the
//!   rest runs at the provisioned duration price; requests as on-demand.
//! - Managed Instances: instances x 730 h x EC2 price x (1 + fee) + N x its request price;
//!   instances = max(minimum, peak x vCPU need / target, peak x memory used / instance GiB).
//! - Fargate: tasks x 730 h x (vCPU x vCPU-hour + GB x GB-hour), tasks = max(min tasks,
//!   ceil(peak / c)) for the c up to the per-task concurrency that costs least, each the smallest Fargate size with vCPU >= its share
//!   of the peak (at least 1 request) x vCPU need / target and GB >= that share x memory
//!   used; plus the ALB: share x 730 x hourly + 730 x LCUs x LCU-hour, LCUs =
//!   mean rps x max(new connections / 25, GB processed per hour / 1).

use serde::Serialize;

use super::load::{Load, HOURS_PER_MONTH, SECONDS_PER_MONTH};
use super::runtimes::managed_instances_support;
use super::Assumptions;
use memtune_facts::hosting_prices::HostingRegion;
use memtune_facts::pricing::{gb_seconds, RegionPrices};
use memtune_facts::Architecture;

/// Lambda bills duration rounded up to the millisecond: half a millisecond on average.
const ROUNDING_MS: f64 = 0.5;
/// Above this cold-start share the 99th percentile is a cold request: p99 includes INIT.
const P99_SHARE: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostingOption {
    OnDemand,
    Provisioned,
    ManagedInstances,
    Fargate,
}

impl HostingOption {
    pub const ALL: [HostingOption; 4] = [
        HostingOption::OnDemand,
        HostingOption::Provisioned,
        HostingOption::ManagedInstances,
        HostingOption::Fargate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            HostingOption::OnDemand => "Lambda on-demand",
            HostingOption::Provisioned => "Lambda provisioned",
            HostingOption::ManagedInstances => "Lambda Managed Instances",
            HostingOption::Fargate => "Fargate + ALB",
        }
    }

    /// Whether the function stays a Lambda function.
    pub fn is_lambda(self) -> bool {
        self != HostingOption::Fargate
    }
}

/// One option's figures at one architecture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionCost {
    pub option: HostingOption,
    pub architecture: Architecture,
    /// None when the option cannot host the function (`not_supported` says why).
    pub monthly_usd: Option<f64>,
    pub p99_ms: Option<f64>,
    /// What is bought: "P = 4", "3 x m7g.large", "2 tasks of 0.5 vCPU / 1 GB".
    pub sizing: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_supported: Option<String>,
}

/// The prices one architecture's comparison needs.
pub struct Prices<'a> {
    pub lambda: &'a RegionPrices,
    pub hosting: &'a HostingRegion,
}

fn on_demand_gb_s_price(prices: &Prices, arch: Architecture) -> f64 {
    prices
        .lambda
        .rate(arch)
        .map_or(f64::NAN, |r| r.first_tier_price())
}

fn p99_with_cold(load: &Load, cold_share: f64) -> f64 {
    if cold_share > P99_SHARE {
        load.p99_ms + load.init_ms
    } else {
        load.p99_ms
    }
}

pub fn on_demand(load: &Load, prices: &Prices, arch: Architecture) -> OptionCost {
    let n = load.requests_per_month();
    let ms = load.duration_ms + ROUNDING_MS + load.cold_start_ratio * load.init_ms;
    let usd = n * prices.lambda.request_price()
        + n * gb_seconds(load.memory_mb, ms) * on_demand_gb_s_price(prices, arch);
    OptionCost {
        option: HostingOption::OnDemand,
        architecture: arch,
        monthly_usd: Some(usd),
        p99_ms: Some(p99_with_cold(load, load.cold_start_ratio)),
        sizing: format!("{} MB", load.memory_mb),
        not_supported: None,
    }
}

/// The default provisioned level: the busiest hour's mean concurrency, rounded up.
pub fn default_level(load: &Load) -> u32 {
    load.peak_hourly_concurrency().ceil() as u32
}

pub fn provisioned(load: &Load, prices: &Prices, arch: Architecture, level: u32) -> OptionCost {
    let n = load.requests_per_month();
    let p = f64::from(level);
    let total: f64 = load.hourly_concurrency().sum();
    let spill: f64 = load.hourly_concurrency().map(|c| (c - p).max(0.0)).sum();
    let spill_share = if total > 0.0 { spill / total } else { 0.0 };
    let rate = match prices.lambda.provisioned(arch) {
        Ok(rate) => rate,
        Err(e) => {
            return OptionCost {
                option: HostingOption::Provisioned,
                architecture: arch,
                monthly_usd: None,
                p99_ms: None,
                sizing: String::new(),
                not_supported: Some(e.to_string()),
            }
        }
    };
    let od = on_demand_gb_s_price(prices, arch);
    let gb = f64::from(load.memory_mb) / 1024.0;
    let billed_s = (load.duration_ms + ROUNDING_MS) / 1000.0;
    let cold_share = load.cold_start_ratio * spill_share;
    let usd = p * gb * SECONDS_PER_MONTH * rate.concurrency_gb_s
        + n * gb * billed_s * ((1.0 - spill_share) * rate.duration_gb_s + spill_share * od)
        + n * cold_share * gb * load.init_ms / 1000.0 * od
        + n * prices.lambda.request_price();
    OptionCost {
        option: HostingOption::Provisioned,
        architecture: arch,
        monthly_usd: Some(usd),
        p99_ms: Some(p99_with_cold(load, cold_share)),
        sizing: format!("{level} x {} MB", load.memory_mb),
        not_supported: None,
    }
}

pub fn managed_instances(
    load: &Load,
    prices: &Prices,
    arch: Architecture,
    assumptions: &Assumptions,
) -> OptionCost {
    let unsupported = |why: String| OptionCost {
        option: HostingOption::ManagedInstances,
        architecture: arch,
        monthly_usd: None,
        p99_ms: None,
        sizing: "-".into(),
        not_supported: Some(why),
    };
    if let Err(why) = managed_instances_support(load.runtime.as_deref()) {
        return unsupported(why);
    }
    let lmi = &prices.hosting.managed_instances;
    let vcpus_needed = load.peak_concurrency * load.cpu_need_vcpus / assumptions.utilisation_target;
    let gib_needed = load.peak_concurrency * load.memory_used_mb / 1024.0;
    let best = prices
        .hosting
        .instances
        .iter()
        .filter(|i| i.architecture == arch)
        .map(|i| {
            let count = [
                f64::from(lmi.min_instances),
                (vcpus_needed / f64::from(i.vcpus)).ceil(),
                (gib_needed / i.memory_gib).ceil(),
            ]
            .into_iter()
            .fold(0.0, f64::max);
            let usd = count * HOURS_PER_MONTH * i.hour * (1.0 + lmi.management_fee);
            (usd, count, &i.name)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let Some((instances_usd, count, name)) = best else {
        return unsupported(format!(
            "no {} instance prices in the price book",
            arch.as_str()
        ));
    };
    let requests_usd = load.requests_per_month() * lmi.request_price_per_million / 1e6;
    OptionCost {
        option: HostingOption::ManagedInstances,
        architecture: arch,
        monthly_usd: Some(instances_usd + requests_usd),
        p99_ms: Some(load.p99_ms),
        sizing: format!("{count} x {name}"),
        not_supported: None,
    }
}

/// Fargate's task sizes: (vCPU, smallest GB, largest GB, GB step).
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
const FARGATE_SIZES: [(f64, f64, f64, f64); 7] = [
    (0.25, 0.5, 2.0, 0.5),
    (0.5, 1.0, 4.0, 1.0),
    (1.0, 2.0, 8.0, 1.0),
    (2.0, 4.0, 16.0, 1.0),
    (4.0, 8.0, 30.0, 1.0),
    (8.0, 16.0, 60.0, 4.0),
    (16.0, 32.0, 120.0, 8.0),
];

/// The smallest Fargate task with at least `vcpu` and `gb`, as (vCPU, GB).
fn fargate_task(vcpu: f64, gb: f64) -> Option<(f64, f64)> {
    FARGATE_SIZES.iter().find_map(|&(v, lo, hi, step)| {
        let memory = lo.max((gb / step).ceil() * step);
        (v >= vcpu && memory <= hi).then_some((v, memory))
    })
}

pub fn fargate(
    load: &Load,
    prices: &Prices,
    arch: Architecture,
    assumptions: &Assumptions,
) -> OptionCost {
    // Tasks for the peak at the assumed concurrency, each sized for its share of the peak
    // (at least one request at full speed); fewer requests per task when no task is big
    // enough.
    let rate = prices.hosting.fargate.rate(arch);
    let task_hour = |(vcpu, gb): (f64, f64)| vcpu * rate.vcpu_hour + gb * rate.gb_hour;
    let mut sized: Option<(u32, f64, (f64, f64))> = None;
    for c in (1..=assumptions.per_task_concurrency).rev() {
        let tasks = f64::from(assumptions.min_tasks)
            .max((load.peak_concurrency / f64::from(c)).ceil())
            .max(1.0);
        let in_flight = (load.peak_concurrency / tasks).max(1.0);
        let vcpu = in_flight * load.cpu_need_vcpus / assumptions.utilisation_target;
        let gb = in_flight * load.memory_used_mb / 1024.0;
        let Some(task) = fargate_task(vcpu, gb) else {
            continue;
        };
        // The cheapest fleet of tasks; on a tie, the fewest tasks.
        let cheaper =
            sized.is_none_or(|(_, n, t)| tasks * task_hour(task) < n * task_hour(t) - 1e-9);
        if cheaper {
            sized = Some((c, tasks, task));
        }
    }
    let Some((per_task, tasks, (vcpu, gb))) = sized else {
        return OptionCost {
            option: HostingOption::Fargate,
            architecture: arch,
            monthly_usd: None,
            p99_ms: None,
            sizing: "-".into(),
            not_supported: Some("one request needs more than a 16 vCPU / 120 GB task".into()),
        };
    };
    let tasks_usd = tasks * HOURS_PER_MONTH * (vcpu * rate.vcpu_hour + gb * rate.gb_hour);
    let alb = &prices.hosting.alb;
    let lcus_per_rps = (assumptions.new_connections_per_request / alb.new_connections_per_lcu)
        .max(assumptions.bytes_per_request * 3600.0 / 1e9 / alb.gb_processed_per_lcu);
    let alb_usd = assumptions.alb_share * HOURS_PER_MONTH * alb.hour
        + HOURS_PER_MONTH * load.mean_rps() * lcus_per_rps * alb.lcu_hour;
    OptionCost {
        option: HostingOption::Fargate,
        architecture: arch,
        monthly_usd: Some(tasks_usd + alb_usd),
        p99_ms: Some(load.p99_ms),
        sizing: format!("{tasks} x {vcpu} vCPU / {gb} GB, up to {per_task} in flight each"),
        not_supported: None,
    }
}
