//! Renderings of a [`CapacityReport`]: a table, Markdown and HTML with a chart of concurrency
//! by hour under the recommended provisioned level; JSON is the report serialized. They only
//! read the report.

mod chart;
pub mod fleet;
pub mod html;
pub mod markdown;
pub mod table;

use crate::capacity::reserved::AccountAdvice;
use crate::capacity::simulate::Plan;
use crate::capacity::{CapacityReport, FunctionCapacity, Recommendation, Target};

pub fn json(report: &CapacityReport) -> String {
    serde_json::to_string_pretty(report).expect("plain data") + "\n"
}

fn plan_text(plan: &Plan) -> String {
    match plan {
        Plan::Level(l) => format!("{l} all day"),
        Plan::Schedule(steps) => steps
            .iter()
            .map(|s| format!("{} from {:02}:00", s.level, s.hour))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::ColdStartRate(r) => format!("cold starts at most {:.4}%", r * 100.0),
        Target::P99Ms(ms) => format!("p99 at most {ms:.0} ms"),
    }
}

fn recommendation_text(f: &FunctionCapacity) -> String {
    match &f.recommendation {
        Recommendation::None => {
            "no provisioned concurrency: on-demand meets the target cheapest".into()
        }
        Recommendation::Provision { alias, plan } => {
            let how = match plan {
                Plan::Level(level) => format!(
                    "apply with `memtune provision {} --alias {alias} --level {level}`",
                    f.name
                ),
                // Lambda holds one level per alias; changing it by hour is Application Auto
                // Scaling's scheduled actions, which memtune does not call.
                Plan::Schedule(_) => {
                    "a schedule is set by Application Auto Scaling scheduled actions (in your \
                     IaC), not by memtune"
                        .into()
                }
            };
            format!("provision {} on alias {alias}; {how}", plan_text(plan))
        }
        Recommendation::NeedsAlias { plan } => format!(
            "provision {}, but production invokes the function unqualified: publish a version, \
             point an alias at it and invoke the alias (provisioned concurrency cannot be set on \
             $LATEST)",
            plan_text(plan)
        ),
        Recommendation::Unreachable => {
            "not even the peak concurrency provisioned meets the target".into()
        }
    }
}

/// "limit 1000, unreserved 900, sum of peaks 40", and a warning when the peaks exceed it.
fn account_limits(a: &AccountAdvice) -> String {
    format!(
        "limit {}, unreserved {}, sum of peaks {}{}",
        a.limit,
        a.unreserved,
        a.sum_of_peaks,
        if a.peaks_exceed_limit {
            " (above the limit: peaks at the same time would be throttled)"
        } else {
            ""
        }
    )
}

fn usd(v: f64) -> String {
    format!("${v:.2}")
}

fn pct(v: f64) -> String {
    format!("{:.4}%", v * 100.0)
}
