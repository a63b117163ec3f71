//! A fleet run's `[capacity]` findings, as a section of the fleet's table, Markdown and HTML
//! reports: per function the recommendation and its monthly cost against on-demand, the same
//! figures `memtune capacity` prints (each format's detail is in `memtune capacity`'s own
//! report).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

use super::{account_limits, html::escape, markdown, pct, recommendation_text, target_text, usd};
use crate::capacity::{CapacityReport, FleetCapacity, FunctionCapacity};

fn heading(found: &FleetCapacity, report: &CapacityReport) -> String {
    let place = match &found.account {
        Some(account) => format!("{account}/{}", report.region),
        None => report.region.clone(),
    };
    format!(
        "Capacity over {:.1} days in {place} (target: {}; prices as of {})",
        report.window_days,
        target_text(&report.target),
        report.prices_as_of
    )
}

/// What could not be analysed, one line each.
fn troubles(found: &FleetCapacity) -> Vec<String> {
    let mut lines: Vec<String> = found
        .failed
        .iter()
        .map(|why| format!("capacity analysis failed: {why}"))
        .collect();
    lines.extend(
        found
            .not_analysed
            .iter()
            .map(|n| format!("{}: not analysed: {}", n.function, n.reason)),
    );
    lines
}

fn account_line(report: &CapacityReport) -> String {
    let a = &report.account;
    let mut line = format!("Account: {}", account_limits(a));
    if !a.throttled_functions.is_empty() {
        line.push_str(&format!(
            "; throttled in the window: {}",
            a.throttled_functions.join(", ")
        ));
    }
    line
}

fn recommended_usd(f: &FunctionCapacity) -> String {
    f.chosen.as_ref().map_or("-".into(), |c| usd(c.monthly_usd))
}

fn reserve(f: &FunctionCapacity) -> String {
    f.reserved
        .suggested_reserved
        .map_or("-".into(), |v| v.to_string())
}

/// Under the fleet table.
pub fn table(found: &[FleetCapacity]) -> String {
    let mut out = String::new();
    for c in found {
        if let Some(report) = &c.report {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
                "function",
                "cold starts",
                "p99 ms (with cold)",
                "$/month on-demand",
                "$/month recommended",
                "reserve",
            ]);
            for f in &report.functions {
                table.add_row(vec![
                    Cell::new(&f.name),
                    Cell::new(format!("{} ({})", f.cold_starts, pct(f.cold_start_rate))),
                    Cell::new(format!(
                        "{:.1} ({:.1})",
                        f.p99.without_cold_starts_ms, f.p99.with_cold_starts_ms
                    )),
                    Cell::new(usd(f.on_demand.monthly_usd)),
                    Cell::new(recommended_usd(f)),
                    Cell::new(reserve(f)),
                ]);
            }
            for column in table.column_iter_mut().skip(1) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            out.push_str(&format!("\n{}\n{table}\n", heading(c, report)));
            for f in &report.functions {
                out.push_str(&format!("  {}: {}\n", f.name, recommendation_text(f)));
            }
            out.push_str(&account_line(report));
            out.push('\n');
        }
        for line in troubles(c) {
            out.push_str(&format!("{line}\n"));
        }
    }
    out
}

/// After the fleet's summary table.
pub fn markdown(found: &[FleetCapacity]) -> String {
    let mut out = String::new();
    for c in found {
        if let Some(report) = &c.report {
            out.push_str(&format!(
                "\n### {}\n\n{}\n{}.\n",
                heading(c, report),
                markdown::summary_table(report),
                account_line(report)
            ));
        } else {
            out.push_str("\n### Capacity\n");
        }
        for line in troubles(c) {
            out.push_str(&format!("\n- {line}"));
        }
        out.push('\n');
    }
    out
}

/// A section of the fleet's HTML page: the table, then per function its recommendation and
/// concurrency by hour under the recommended level.
pub fn html(found: &[FleetCapacity]) -> String {
    let mut out = String::new();
    for c in found {
        out.push_str("<h2>Capacity</h2>\n");
        if let Some(report) = &c.report {
            out.push_str(&format!(
                "<p>{}. {}.</p>\n<table><tr><th>function</th><th>cold starts</th>\
                 <th>p99 ms (with cold)</th><th>$/month on-demand</th>\
                 <th>$/month recommended</th><th>reserve</th></tr>\n",
                escape(&heading(c, report)),
                escape(&account_line(report))
            ));
            for f in &report.functions {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{} ({})</td><td>{:.1} ({:.1})</td><td>{}</td>\
                     <td>{}</td><td>{}</td></tr>\n",
                    escape(&f.name),
                    f.cold_starts,
                    pct(f.cold_start_rate),
                    f.p99.without_cold_starts_ms,
                    f.p99.with_cold_starts_ms,
                    usd(f.on_demand.monthly_usd),
                    recommended_usd(f),
                    reserve(f)
                ));
            }
            out.push_str("</table>\n");
            for f in &report.functions {
                out.push_str(&format!(
                    "<h3>{}</h3><p>{}</p>{}\n",
                    escape(&f.name),
                    escape(&recommendation_text(f)),
                    super::chart::concurrency_by_hour(f)
                ));
            }
        }
        for line in troubles(c) {
            out.push_str(&format!("<p>{}</p>\n", escape(&line)));
        }
    }
    out
}
