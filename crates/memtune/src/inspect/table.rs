//! `--format table`: one row per function, then each function's findings and what could not
//! be measured, in sentences.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use super::{FunctionReport, InspectReport, Section, Status};

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// Large counts stay readable: 1234567 -> 1.23M.
fn count(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2}B", v / 1e9),
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e4 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

fn row(f: &FunctionReport) -> Vec<Cell> {
    let config = f.config.data.as_ref();
    let m = f.metrics.data.as_ref();
    let r = f.logs.data.as_ref();
    let d = f.derived.as_ref();
    let used = r.and_then(|r| r.max_memory_used_mb).map(|used| {
        let of = d.and_then(|d| d.memory_headroom);
        format!("{used:.0} ({})", percent(of))
    });
    let cells = [
        f.name.clone(),
        config.map_or("-".into(), |c| c.memory_mb.to_string()),
        d.map_or("-".into(), |d| count(d.monthly_invocations)),
        percent(d.map(|d| d.error_rate)),
        percent(d.map(|d| d.throttle_rate)),
        num(m.and_then(|m| m.duration_p50_ms), 1),
        num(m.and_then(|m| m.duration_p99_ms), 1),
        used.unwrap_or_else(|| "-".into()),
        percent(d.and_then(|d| d.cold_start_ratio)),
        num(r.and_then(|r| r.init_p99_ms), 0),
        num(
            d.and_then(|d| d.monthly_cost.as_ref()).map(|c| c.total_usd),
            2,
        ),
    ];
    cells
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let cell = Cell::new(text);
            if i == 0 {
                cell
            } else {
                cell.set_alignment(CellAlignment::Right)
            }
        })
        .collect()
}

/// The sentence for a source that gave nothing.
fn missing<T>(what: &str, s: &Section<T>) -> Option<String> {
    (s.status != Status::Measured && s.status != Status::Skipped)
        .then(|| format!("{what}: {}", s.detail.as_deref().unwrap_or("unavailable")))
}

fn notes(f: &FunctionReport) -> Vec<String> {
    let mut notes: Vec<String> = [
        missing("configuration", &f.config),
        missing("metrics", &f.metrics),
        missing("logs", &f.logs),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(cost) = f.derived.as_ref().and_then(|d| d.monthly_cost.as_ref()) {
        let init = cost
            .init_usd
            .map_or("INIT unknown (no REPORT lines)".into(), |i| {
                format!("INIT ${i:.2}")
            });
        notes.push(format!(
            "cost/month: requests ${:.2}, duration ${:.2}, {init}",
            cost.requests_usd, cost.duration_usd
        ));
    }
    for r in f.metrics.data.iter().flat_map(|m| &m.resources) {
        notes.push(format!(
            "{}: {} invocations, {} errors, p99 {} ms",
            r.resource,
            count(r.invocations),
            count(r.errors),
            num(r.duration_p99_ms, 1)
        ));
    }
    notes.extend(
        f.findings
            .iter()
            .map(|x| format!("{}: {}", x.kind.as_str(), x.reason)),
    );
    notes
}

pub fn render(report: &InspectReport) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "function",
        "MB",
        "inv/month",
        "errors",
        "throttles",
        "p50 ms",
        "p99 ms",
        "max used MB",
        "cold",
        "init p99 ms",
        "$/month",
    ]);
    for f in &report.functions {
        table.add_row(row(f));
    }
    let mut out = format!(
        "production over {:.0} days ({} to {}), {}\n{table}\n",
        report.window.days, report.window.start, report.window.end, report.region
    );
    for f in &report.functions {
        for note in notes(f) {
            out.push_str(&format!("{}: {note}\n", f.name));
        }
    }
    out
}
