//! The `memtune hosting` report: one document ([`HostingReport`]) rendered as a table,
//! Markdown or HTML with an SVG chart per function (JSON is the document itself).

mod chart;
pub mod html;
pub mod markdown;
pub mod table;

use serde::Serialize;

use crate::hosting::fleet::{FleetHosting, FunctionHosting};
use crate::hosting::{Assumptions, Comparison, HostingOption, OptionCost};

/// The version of the `--format json` document (docs/json-schema.md).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostingReport {
    pub schema_version: u32,
    pub region: String,
    pub days: f64,
    /// The date of the hosting prices used.
    pub prices_as_of: String,
    pub assumptions: Assumptions,
    /// The assumptions in one line, as printed.
    pub assumptions_line: String,
    pub functions: Vec<FunctionHosting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetHosting>,
}

/// The fleet summary's line on the functions another option suits clearly better: what is
/// compared with what, and each function with the option that beats on-demand.
pub(crate) fn better_elsewhere(report: &HostingReport, fleet: &FleetHosting) -> String {
    let margin = format!("{:.0}%", report.assumptions.margin * 100.0);
    let named: Vec<String> = fleet
        .clearly_better_elsewhere
        .iter()
        .map(|name| {
            let best = report
                .functions
                .iter()
                .find(|f| &f.gathered.name == name)
                .and_then(|f| f.comparison.as_ref())
                .map(|c| c.verdict.best.label());
            match best {
                Some(label) => format!("{name} ({label})"),
                None => name.clone(),
            }
        })
        .collect();
    let which = if named.is_empty() {
        "none: every function stays on on-demand Lambda".to_string()
    } else {
        named.join(", ")
    };
    format!(
        "Another option costs at least {margin} less than on-demand Lambda (at its cheaper \
         architecture) for: {which}"
    )
}

pub(crate) fn money(usd: Option<f64>) -> String {
    match usd {
        Some(v) if v >= 100.0 => format!("${v:.0}"),
        Some(v) => format!("${v:.2}"),
        None => "n/a".into(),
    }
}

pub(crate) fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.0} ms"))
}

pub(crate) fn rate(rps: Option<f64>) -> String {
    match rps {
        Some(r) if r >= 10.0 => format!("{r:.0}/s"),
        Some(r) if r >= 0.01 => format!("{r:.2}/s"),
        Some(r) => format!("{r:.1e}/s"),
        None => "never".into(),
    }
}

/// The option at the current architecture.
pub(crate) fn at_current(c: &Comparison, option: HostingOption) -> &OptionCost {
    c.options
        .iter()
        .find(|o| o.option == option && o.architecture == c.current_architecture)
        .expect("every option is evaluated at both architectures")
}

/// The break-even rate of an option against on-demand at the current architecture.
pub(crate) fn break_even_vs_on_demand(c: &Comparison, option: HostingOption) -> Option<f64> {
    c.break_evens
        .iter()
        .find(|b| {
            b.architecture == c.current_architecture
                && b.a == HostingOption::OnDemand
                && b.b == option
        })
        .and_then(|b| b.rps)
}
