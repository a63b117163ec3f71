//! The HTML report of `memtune hosting`: the Markdown's tables as HTML and, per function, an
//! SVG chart of monthly cost against request rate with today's traffic marked.

use std::fmt::Write;

use super::{at_current, chart, money, ms, HostingReport};
use crate::hosting::HostingOption;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(report: &HostingReport) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>memtune hosting</title>\
         <style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}\
         td.n{text-align:right}</style></head><body>\n",
    );
    let _ = writeln!(out, "<h1>Hosting options ({})</h1>", escape(&report.region));
    let _ = writeln!(
        out,
        "<p>{:.0} days of production; prices of {}.</p><p>Assumptions: {}</p>",
        report.days,
        escape(&report.prices_as_of),
        escape(&report.assumptions_line)
    );
    for f in &report.functions {
        let _ = writeln!(out, "<h2>{}</h2>", escape(&f.gathered.name));
        let Some(c) = &f.comparison else {
            let why = f.gathered.skipped.as_deref().unwrap_or("not compared");
            let _ = writeln!(out, "<p>{}</p>", escape(why));
            continue;
        };
        let _ = writeln!(out, "<p><b>{}</b></p>", escape(&c.verdict.reason));
        let _ = writeln!(
            out,
            "<table><tr><th>option</th><th>a month</th><th>p99</th><th>sizing</th></tr>"
        );
        for option in HostingOption::ALL {
            let o = at_current(c, option);
            let sizing = o.not_supported.as_deref().unwrap_or(&o.sizing);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
                option.label(),
                money(o.monthly_usd),
                ms(o.p99_ms),
                escape(sizing)
            );
        }
        let _ = writeln!(out, "</table>");
        out.push_str(&chart::cost_against_rate(&f.gathered.name, c));
        let _ = writeln!(out, "<ul>");
        for note in &f.gathered.notes {
            let _ = writeln!(out, "<li>{}</li>", escape(note));
        }
        let _ = writeln!(out, "</ul>");
    }
    if let Some(fleet) = &report.fleet {
        let _ = writeln!(out, "<h2>Fleet</h2><ul>");
        for t in &fleet.totals {
            let _ = writeln!(
                out,
                "<li>{}: {} a month</li>",
                t.option.label(),
                money(Some(t.monthly_usd))
            );
        }
        let _ = writeln!(out, "</ul>");
        let _ = writeln!(
            out,
            "<p>{}</p>",
            escape(&super::better_elsewhere(report, fleet))
        );
        for g in &fleet.groups {
            let _ = writeln!(
                out,
                "<p>Group {}: {}</p>",
                escape(&g.group),
                escape(&g.reason)
            );
        }
    }
    out.push_str("</body></html>\n");
    out
}
