//! A capacity report as Markdown (a PR comment, a wiki page).

use super::{pct, plan_text, recommendation_text, target_text, usd};
use crate::capacity::CapacityReport;

pub fn render(report: &CapacityReport) -> String {
    let mut out = format!(
        "# Capacity\n\n{:.1} days in {}; target: {}; prices as of {}.\n\n",
        report.window_days,
        report.region,
        target_text(&report.target),
        report.prices_as_of
    );
    out.push_str(&summary_table(report));
    for f in &report.functions {
        out.push_str(&format!(
            "\n## {}\n\n| hour (UTC) | invocations | cold starts | peak concurrency | recommended |\n|---:|---:|---:|---:|---:|\n",
            f.name
        ));
        for h in &f.hours {
            out.push_str(&format!(
                "| {:02} | {} | {} | {} | {} |\n",
                h.hour, h.invocations, h.cold_starts, h.peak_concurrency, h.recommended_level
            ));
        }
        if let Some(s) = &f.best_schedule {
            out.push_str(&format!(
                "\nBest schedule: {} ({}, {}/month).\n",
                plan_text(&s.plan),
                pct(s.cold_start_rate),
                usd(s.monthly_usd)
            ));
        }
    }
    let a = &report.account;
    out.push_str(&format!(
        "\n## Account\n\nLimit {}, unreserved {}, sum of peaks {}{}.\n",
        a.limit,
        a.unreserved,
        a.sum_of_peaks,
        if a.peaks_exceed_limit {
            " (above the limit)"
        } else {
            ""
        }
    ));
    out
}

/// One row per function: its cold starts, p99, recommendation and monthly costs.
pub(super) fn summary_table(report: &CapacityReport) -> String {
    let mut out = String::from(
        "| function | alias | cold starts | p99 without / with cold | recommendation | $/month on-demand | $/month recommended | reserve |\n\
         |---|---|---:|---:|---|---:|---:|---:|\n",
    );
    for f in &report.functions {
        out.push_str(&format!(
            "| {} | {} | {} ({}) | {:.1} / {:.1} ms | {} | {} | {} | {} |\n",
            f.name,
            f.alias.as_deref().unwrap_or("-"),
            f.cold_starts,
            pct(f.cold_start_rate),
            f.p99.without_cold_starts_ms,
            f.p99.with_cold_starts_ms,
            recommendation_text(f),
            usd(f.on_demand.monthly_usd),
            f.chosen.as_ref().map_or("-".into(), |c| usd(c.monthly_usd)),
            f.reserved
                .suggested_reserved
                .map_or("-".into(), |v| v.to_string()),
        ));
    }
    out
}
