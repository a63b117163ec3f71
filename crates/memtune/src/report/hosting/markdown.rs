//! The Markdown summary of `memtune hosting` (for a pull request or a wiki page).

use std::fmt::Write;

use super::{
    at_current, better_elsewhere, break_even_vs_on_demand, money, ms, rate, HostingReport,
};
use crate::hosting::HostingOption;

pub fn render(report: &HostingReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Hosting options ({})\n", report.region);
    let _ = writeln!(
        out,
        "{:.0} days of production; prices of {}. Assumptions: {}\n",
        report.days, report.prices_as_of, report.assumptions_line
    );
    let _ = writeln!(
        out,
        "| Function | req/s | On-demand | Provisioned | Managed Instances | Fargate + ALB | Verdict |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for f in &report.functions {
        let Some(c) = &f.comparison else {
            let why = f.gathered.skipped.as_deref().unwrap_or("not compared");
            let _ = writeln!(out, "| {} | | | | | | {why} |", f.gathered.name);
            continue;
        };
        let cell = |option: HostingOption| {
            let o = at_current(c, option);
            match o.monthly_usd {
                Some(_) => format!("{} ({})", money(o.monthly_usd), ms(o.p99_ms)),
                None => "not supported".into(),
            }
        };
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {} | {} | {} | {} |",
            f.gathered.name,
            c.current_rps,
            cell(HostingOption::OnDemand),
            cell(HostingOption::Provisioned),
            cell(HostingOption::ManagedInstances),
            cell(HostingOption::Fargate),
            c.verdict.reason
        );
    }
    let _ = writeln!(
        out,
        "\nCells: cost a month (p99, cold starts included) at the current architecture.\n"
    );
    let _ = writeln!(
        out,
        "| Function | break-even: provisioned | Managed Instances | Fargate |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for f in &report.functions {
        if let Some(c) = &f.comparison {
            let be = |o| rate(break_even_vs_on_demand(c, o));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                f.gathered.name,
                be(HostingOption::Provisioned),
                be(HostingOption::ManagedInstances),
                be(HostingOption::Fargate)
            );
        }
    }
    if let Some(fleet) = &report.fleet {
        let _ = writeln!(out, "\n## Fleet\n");
        for t in &fleet.totals {
            let _ = writeln!(
                out,
                "- {}: {} a month",
                t.option.label(),
                money(Some(t.monthly_usd))
            );
        }
        let _ = writeln!(out, "\n{}", better_elsewhere(report, fleet));
        for g in &fleet.groups {
            let _ = writeln!(out, "\n- Group `{}`: {}", g.group, g.reason);
        }
    }
    out
}
