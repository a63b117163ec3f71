//! The terminal table of a capacity report.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

use super::{account_limits, pct, plan_text, recommendation_text, target_text, usd};
use crate::capacity::{CapacityReport, FunctionCapacity};

pub fn render(report: &CapacityReport) -> String {
    let mut out = format!(
        "Capacity over {:.1} days in {} (target: {}; prices as of {})\n\n",
        report.window_days,
        report.region,
        target_text(&report.target),
        report.prices_as_of
    );
    for f in &report.functions {
        out.push_str(&function(f));
    }
    let a = &report.account;
    out.push_str(&format!("Account: {}\n", account_limits(a)));
    if !a.throttled_functions.is_empty() {
        out.push_str(&format!(
            "Throttled in the window: {}\n",
            a.throttled_functions.join(", ")
        ));
    }
    out
}

fn function(f: &FunctionCapacity) -> String {
    let mut hours = Table::new();
    hours.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "hour (UTC)",
        "invocations",
        "cold starts",
        "peak concurrency",
        "mean concurrency",
        "recommended",
    ]);
    for h in &f.hours {
        hours.add_row(vec![
            Cell::new(format!("{:02}", h.hour)),
            Cell::new(h.invocations),
            Cell::new(h.cold_starts),
            Cell::new(h.peak_concurrency),
            Cell::new(format!("{:.1}", h.mean_concurrency)),
            Cell::new(h.recommended_level),
        ]);
    }
    for column in hours.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let mut plans = Table::new();
    plans.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "plan",
        "cold starts",
        "rate",
        "$/month",
        "of which provisioned",
    ]);
    let rows = [
        Some(("on-demand", &f.on_demand)),
        f.best_level.as_ref().map(|o| ("best level", o)),
        f.best_schedule.as_ref().map(|o| ("best schedule", o)),
    ];
    for (label, o) in rows.into_iter().flatten() {
        plans.add_row(vec![
            Cell::new(format!("{label}: {}", plan_text(&o.plan))),
            Cell::new(o.cold_starts),
            Cell::new(pct(o.cold_start_rate)),
            Cell::new(usd(o.monthly_usd)),
            Cell::new(usd(o.provisioned_concurrency_usd)),
        ]);
    }
    let r = &f.reserved;
    format!(
        "{name} ({mem} MB, {arch}, alias {alias}): {inv} invocations, {cold} cold starts ({rate}), \
         peak concurrency {peak}, idle expiry ~{idle} min{unexplained}\n\
         p99 {without:.1} ms without cold starts, {with:.1} ms with them ({share:.0}% of the \
         slowest 1% are cold)\n{hours}\n{plans}\n\
         Recommendation: {rec}{p99}\n\
         Reserved concurrency: {reserved}; {reason}{suggest}\n\n",
        name = f.name,
        mem = f.memory_mb,
        arch = f.architecture,
        alias = f.alias.as_deref().unwrap_or("none (unqualified)"),
        inv = f.invocations,
        cold = f.cold_starts,
        rate = pct(f.cold_start_rate),
        peak = f.peak_concurrency,
        idle = f.cold_model.idle_minutes,
        unexplained = if f.cold_model.unexplained_per_on_demand > 0.0 {
            format!(
                ", {} of on-demand invocations start cold beyond concurrency rises",
                pct(f.cold_model.unexplained_per_on_demand)
            )
        } else {
            String::new()
        },
        without = f.p99.without_cold_starts_ms,
        with = f.p99.with_cold_starts_ms,
        share = f.p99.cold_share_of_slowest * 100.0,
        rec = recommendation_text(f),
        p99 = f
            .chosen_p99_ms
            .map_or(String::new(), |ms| format!(" (p99 then {ms:.1} ms)")),
        reserved = r.reserved.map_or("none".into(), |v| v.to_string()),
        reason = r.reason,
        suggest = r
            .suggested_reserved
            .map_or(String::new(), |v| format!(": reserve {v}")),
    )
}
