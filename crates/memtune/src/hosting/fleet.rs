//! Many functions judged together: totals per option, the functions for which another
//! option is clearly better, and groups (by a tag) that one container service could serve.

use std::collections::BTreeMap;

use serde::Serialize;

use super::compare::Comparison;
use super::cost::HostingOption;
use super::gather::Gathered;
use super::load::HOURS_PER_MONTH;
use super::Assumptions;

/// One function's part of a fleet view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionHosting {
    #[serde(flatten)]
    pub gathered: Gathered,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The value of the grouping tag, when grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionTotal {
    pub option: HostingOption,
    /// Sum over the functions it can host, each at its current architecture.
    pub monthly_usd: f64,
    /// Functions it cannot host (unsupported runtime, no fitting size).
    pub cannot_host: Vec<String>,
}

/// A group's functions behind one load balancer, against each staying on on-demand Lambda.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupVerdict {
    pub group: String,
    pub functions: Vec<String>,
    pub on_demand_usd: f64,
    /// Each function's Fargate service, one load balancer between them (tasks not pooled).
    pub fargate_usd: f64,
    pub container_better: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetHosting {
    pub totals: Vec<OptionTotal>,
    /// Functions whose verdict is another option than on-demand Lambda.
    pub clearly_better_elsewhere: Vec<String>,
    pub groups: Vec<GroupVerdict>,
}

fn current_usd(c: &Comparison, option: HostingOption) -> Option<f64> {
    c.options
        .iter()
        .find(|o| o.option == option && o.architecture == c.current_architecture)
        .and_then(|o| o.monthly_usd)
}

pub fn judge(
    functions: &[FunctionHosting],
    alb_hour: f64,
    assumptions: &Assumptions,
) -> FleetHosting {
    let compared: Vec<(&FunctionHosting, &Comparison)> = functions
        .iter()
        .filter_map(|f| f.comparison.as_ref().map(|c| (f, c)))
        .collect();
    let totals = HostingOption::ALL
        .iter()
        .map(|&option| {
            let mut total = OptionTotal {
                option,
                monthly_usd: 0.0,
                cannot_host: Vec::new(),
            };
            for (f, c) in &compared {
                match current_usd(c, option) {
                    Some(usd) => total.monthly_usd += usd,
                    None => total.cannot_host.push(f.gathered.name.clone()),
                }
            }
            total
        })
        .collect();
    let clearly_better_elsewhere = compared
        .iter()
        .filter(|(_, c)| c.verdict.best != HostingOption::OnDemand)
        .map(|(f, _)| f.gathered.name.clone())
        .collect();
    let mut by_group: BTreeMap<&str, Vec<(&FunctionHosting, &Comparison)>> = BTreeMap::new();
    for (f, c) in &compared {
        if let Some(g) = &f.group {
            by_group.entry(g).or_default().push((f, c));
        }
    }
    let shared_alb = assumptions.alb_share * HOURS_PER_MONTH * alb_hour;
    let groups = by_group
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(group, members)| {
            let on_demand_usd: f64 = members
                .iter()
                .filter_map(|(_, c)| current_usd(c, HostingOption::OnDemand))
                .sum();
            let separate: f64 = members
                .iter()
                .filter_map(|(_, c)| current_usd(c, HostingOption::Fargate))
                .sum();
            let fargate_usd = separate - (members.len() - 1) as f64 * shared_alb;
            let saving = if on_demand_usd > 0.0 {
                1.0 - fargate_usd / on_demand_usd
            } else {
                0.0
            };
            let container_better = saving >= assumptions.margin;
            let reason =
                format!(
                "{} functions: on-demand ${on_demand_usd:.2}, one Fargate service behind one ALB \
                 ${fargate_usd:.2} a month ({:+.0}%){}",
                members.len(),
                -saving * 100.0,
                if container_better { ": a container is clearly cheaper" } else { "" }
            );
            GroupVerdict {
                group: group.to_string(),
                functions: members
                    .iter()
                    .map(|(f, _)| f.gathered.name.clone())
                    .collect(),
                on_demand_usd,
                fargate_usd,
                container_better,
                reason,
            }
        })
        .collect();
    FleetHosting {
        totals,
        clearly_better_elsewhere,
        groups,
    }
}
