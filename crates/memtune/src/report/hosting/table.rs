//! The terminal table of `memtune hosting`.

use std::fmt::Write;

use super::{
    at_current, better_elsewhere, break_even_vs_on_demand, money, ms, rate, HostingReport,
};
use crate::hosting::HostingOption;

pub fn render(report: &HostingReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Hosting options, {} ({:.0} days of production, prices of {}); monthly cost and p99 at \
         each function's current architecture, break-even against on-demand",
        report.region, report.days, report.prices_as_of
    );
    let _ = writeln!(out, "Assumptions: {}", report.assumptions_line);
    for f in &report.functions {
        let _ = writeln!(out);
        let name = &f.gathered.name;
        let Some(c) = &f.comparison else {
            let why = f.gathered.skipped.as_deref().unwrap_or("not compared");
            let _ = writeln!(out, "{name}: {why}");
            continue;
        };
        let _ = writeln!(
            out,
            "{name} ({}, {:.2} requests/s)",
            c.current_architecture.as_str(),
            c.current_rps
        );
        let _ = writeln!(
            out,
            "  {:<26} {:>10} {:>9} {:>11}  sizing",
            "option", "per month", "p99", "break-even"
        );
        for option in HostingOption::ALL {
            let o = at_current(c, option);
            let be = if option == HostingOption::OnDemand {
                "-".to_string()
            } else {
                rate(break_even_vs_on_demand(c, option))
            };
            let sizing = o.not_supported.as_deref().unwrap_or(&o.sizing);
            let _ = writeln!(
                out,
                "  {:<26} {:>10} {:>9} {:>11}  {sizing}",
                option.label(),
                money(o.monthly_usd),
                ms(o.p99_ms),
                be
            );
        }
        let _ = writeln!(out, "  verdict: {}", c.verdict.reason);
        for note in &f.gathered.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    if let Some(fleet) = &report.fleet {
        let _ = writeln!(out, "\nFleet totals (current architecture):");
        for t in &fleet.totals {
            let cannot = if t.cannot_host.is_empty() {
                String::new()
            } else {
                format!(" (cannot host: {})", t.cannot_host.join(", "))
            };
            let _ = writeln!(
                out,
                "  {:<26} {:>10}{cannot}",
                t.option.label(),
                money(Some(t.monthly_usd))
            );
        }
        let _ = writeln!(out, "{}", better_elsewhere(report, fleet));
        for g in &fleet.groups {
            let _ = writeln!(out, "Group {}: {}", g.group, g.reason);
        }
    }
    out
}
