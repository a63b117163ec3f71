//! One function's comparison: every option at both architectures, the break-even request
//! rates between options, the verdict and the cost-against-traffic curves.

use serde::Serialize;

use super::cost::{self, HostingOption, OptionCost, Prices};
use super::load::Load;
use super::Assumptions;
use memtune_facts::Architecture;

const ARCHITECTURES: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];
/// Break-even rates are looked for between these request rates (per second).
const RATE_RANGE: (f64, f64) = (1e-4, 1e4);
const GRID_PER_DECADE: usize = 60;

/// Where two options cost the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakEven {
    pub architecture: Architecture,
    pub a: HostingOption,
    pub b: HostingOption,
    /// The lowest request rate at which the cheaper of the two changes; None when one is
    /// cheaper over the whole range.
    pub rps: Option<f64>,
    /// The cheaper option below `rps` (or everywhere, when there is none).
    pub cheaper_below: HostingOption,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub best: HostingOption,
    pub architecture: Architecture,
    /// Whether the best option is a Lambda one (on-demand, provisioned, Managed Instances).
    pub stays_on_lambda: bool,
    /// Share saved against on-demand at its cheaper architecture.
    pub saving_share: f64,
    pub reason: String,
}

/// One option's monthly cost against the request rate (the cheaper architecture at each).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    pub option: HostingOption,
    /// (requests per second, USD a month); rates it cannot serve are left out.
    pub points: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub current_rps: f64,
    pub current_architecture: Architecture,
    pub provisioned_level: u32,
    pub options: Vec<OptionCost>,
    pub break_evens: Vec<BreakEven>,
    pub verdict: Verdict,
    pub curves: Vec<Curve>,
}

/// Every option at one architecture.
pub fn options_at(
    load: &Load,
    prices: &Prices,
    arch: Architecture,
    level: u32,
    assumptions: &Assumptions,
) -> Vec<OptionCost> {
    vec![
        cost::on_demand(load, prices, arch),
        cost::provisioned(load, prices, arch, level),
        cost::managed_instances(load, prices, arch, assumptions),
        cost::fargate(load, prices, arch, assumptions),
    ]
}

/// The monthly cost of one option at a request rate (the load's shape kept; a provisioned
/// level given as an assumption stays put, the default one follows the traffic).
pub fn cost_at_rate(
    load: &Load,
    prices: &Prices,
    arch: Architecture,
    option: HostingOption,
    rps: f64,
    assumptions: &Assumptions,
) -> Option<f64> {
    let scaled = load.at_rate(rps);
    let level = assumptions
        .provisioned_level
        .unwrap_or_else(|| cost::default_level(&scaled));
    let figures = match option {
        HostingOption::OnDemand => cost::on_demand(&scaled, prices, arch),
        HostingOption::Provisioned => cost::provisioned(&scaled, prices, arch, level),
        HostingOption::ManagedInstances => {
            cost::managed_instances(&scaled, prices, arch, assumptions)
        }
        HostingOption::Fargate => cost::fargate(&scaled, prices, arch, assumptions),
    };
    figures.monthly_usd
}

/// The request rates of the search grid, log-spaced.
pub fn rate_grid(per_decade: usize) -> Vec<f64> {
    let (lo, hi) = RATE_RANGE;
    let steps = ((hi / lo).log10() * per_decade as f64).round() as usize;
    (0..=steps)
        .map(|i| lo * 10f64.powf(i as f64 / per_decade as f64))
        .collect()
}

fn break_even(
    load: &Load,
    prices: &Prices,
    arch: Architecture,
    (a, b): (HostingOption, HostingOption),
    assumptions: &Assumptions,
) -> Option<BreakEven> {
    let diff = |r: f64| -> Option<f64> {
        Some(
            cost_at_rate(load, prices, arch, a, r, assumptions)?
                - cost_at_rate(load, prices, arch, b, r, assumptions)?,
        )
    };
    let grid = rate_grid(GRID_PER_DECADE);
    let first = diff(grid[0])?;
    let cheaper_below = if first <= 0.0 { a } else { b };
    let mut previous = grid[0];
    for &r in &grid[1..] {
        let d = diff(r)?;
        if (d <= 0.0) != (first <= 0.0) {
            // Bisect between the two grid points.
            let (mut lo, mut hi) = (previous, r);
            for _ in 0..60 {
                let mid = (lo * hi).sqrt();
                if (diff(mid)? <= 0.0) == (first <= 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return Some(BreakEven {
                architecture: arch,
                a,
                b,
                rps: Some(hi),
                cheaper_below,
            });
        }
        previous = r;
    }
    Some(BreakEven {
        architecture: arch,
        a,
        b,
        rps: None,
        cheaper_below,
    })
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn verdict(load: &Load, options: &[OptionCost], assumptions: &Assumptions) -> Verdict {
    let cheapest = |keep: &dyn Fn(&OptionCost) -> bool| -> &OptionCost {
        options
            .iter()
            .filter(|o| keep(o) && o.monthly_usd.is_some())
            .min_by(|x, y| {
                x.monthly_usd
                    .unwrap_or(0.0)
                    .total_cmp(&y.monthly_usd.unwrap_or(0.0))
            })
            .expect("on-demand always has a cost")
    };
    // The baseline is on-demand at its cheaper architecture: the verdict is about hosting,
    // not about moving to arm64.
    let on_demand = cheapest(&|o| o.option == HostingOption::OnDemand);
    let best = cheapest(&|_| true);
    let baseline = on_demand.monthly_usd.unwrap_or(0.0);
    let best_usd = best.monthly_usd.unwrap_or(0.0);
    let saving = if baseline > 0.0 {
        1.0 - best_usd / baseline
    } else {
        0.0
    };
    let cold = if load.cold_start_ratio > 0.0 {
        format!(
            "; cold starts are {:.1}% of requests{}",
            load.cold_start_ratio * 100.0,
            if load.cold_start_ratio > 0.01 {
                format!(
                    " and put their {:.0} ms INIT into the on-demand p99",
                    load.init_ms
                )
            } else {
                ", too few to reach the p99".to_string()
            }
        )
    } else {
        String::new()
    };
    let od_label = format!(
        "on-demand ({}, ${baseline:.2} a month)",
        on_demand.architecture.as_str()
    );
    let clearly = saving >= assumptions.margin && best.option != HostingOption::OnDemand;
    let (chosen, reason) = if clearly {
        (
            best,
            format!(
                "{} ({}, {}) would cost {} less than {od_label} at today's {:.2} requests/s \
                 (${best_usd:.2} a month){cold}",
                best.option.label(),
                best.architecture.as_str(),
                best.sizing,
                percent(saving),
                load.mean_rps(),
            ),
        )
    } else if best.option == HostingOption::OnDemand {
        let next = cheapest(&|o| o.option != HostingOption::OnDemand);
        let why = format!(
            "stay on Lambda {od_label}: the cheapest other option, {} ({}), costs ${:.2} at \
             today's {:.2} requests/s, paying for capacity that idles{cold}",
            next.option.label(),
            next.architecture.as_str(),
            next.monthly_usd.unwrap_or(0.0),
            load.mean_rps(),
        );
        (on_demand, why)
    } else {
        let why = format!(
            "stay on Lambda {od_label}: the cheapest other option, {} ({}, ${best_usd:.2}), \
             saves {}, less than the {} margin{cold}",
            best.option.label(),
            best.architecture.as_str(),
            percent(saving),
            percent(assumptions.margin)
        );
        (on_demand, why)
    };
    let chosen_usd = chosen.monthly_usd.unwrap_or(0.0);
    Verdict {
        best: chosen.option,
        architecture: chosen.architecture,
        stays_on_lambda: chosen.option.is_lambda(),
        saving_share: if baseline > 0.0 {
            1.0 - chosen_usd / baseline
        } else {
            0.0
        },
        reason,
    }
}

/// Compares every option for one function.
pub fn compare(
    load: &Load,
    prices: &Prices,
    current: Architecture,
    assumptions: &Assumptions,
) -> Comparison {
    let level = assumptions
        .provisioned_level
        .unwrap_or_else(|| cost::default_level(load));
    let options: Vec<OptionCost> = ARCHITECTURES
        .iter()
        .flat_map(|&arch| options_at(load, prices, arch, level, assumptions))
        .collect();
    let mut break_evens = Vec::new();
    for arch in ARCHITECTURES {
        for (i, &a) in HostingOption::ALL.iter().enumerate() {
            for &b in &HostingOption::ALL[i + 1..] {
                break_evens.extend(break_even(load, prices, arch, (a, b), assumptions));
            }
        }
    }
    let verdict = verdict(load, &options, assumptions);
    Comparison {
        current_rps: load.mean_rps(),
        curves: curves(load, prices, assumptions),
        current_architecture: current,
        provisioned_level: level,
        options,
        break_evens,
        verdict,
    }
}

/// Points per decade of request rate on the curves.
const CURVE_PER_DECADE: usize = 8;
/// The curves span this factor either side of today's rate.
const CURVE_SPAN: f64 = 100.0;

/// Every option's cost from a hundredth to a hundred times today's request rate.
pub fn curves(load: &Load, prices: &Prices, assumptions: &Assumptions) -> Vec<Curve> {
    let today = load.mean_rps();
    let centre = if today > 0.0 { today } else { 0.01 };
    let (lo, hi) = (centre / CURVE_SPAN, centre * CURVE_SPAN);
    let steps = ((hi / lo).log10() * CURVE_PER_DECADE as f64).round() as usize;
    let rates: Vec<f64> = (0..=steps)
        .map(|i| lo * 10f64.powf(i as f64 / CURVE_PER_DECADE as f64))
        .collect();
    HostingOption::ALL
        .iter()
        .map(|&option| Curve {
            option,
            points: rates
                .iter()
                .filter_map(|&r| {
                    ARCHITECTURES
                        .iter()
                        .filter_map(|&a| cost_at_rate(load, prices, a, option, r, assumptions))
                        .min_by(f64::total_cmp)
                        .map(|usd| [r, usd])
                })
                .collect(),
        })
        .collect()
}
