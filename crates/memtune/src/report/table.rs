//! `--format table`: for a recommend run, the sampled sizes with the recommendation under
//! them; for a fleet run, a row per function (`fleet::table`).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use super::{Renderer, Report};
use crate::tune::document::FunctionDocument;

pub struct TableRenderer;

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

fn usd(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
}

fn pct(v: f64) -> String {
    format!("{v:+.1}%")
}

impl Renderer for TableRenderer {
    fn render(&self, report: &Report) -> String {
        match report {
            Report::Function(doc) => render_one(doc),
            Report::Fleet(run) => super::fleet::table(run),
        }
    }
}

fn render_one(d: &FunctionDocument) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "MB",
        "n",
        "p50 ms",
        "p99 ms",
        "mean billed ms",
        "$/1M inv",
        "failures",
        "",
    ]);
    let recommended = d.recommendation.as_ref().map(|r| r.memory_mb);
    for s in &d.sizes {
        let failures = if s.out_of_memory + s.timeouts + s.function_errors == 0 {
            "-".to_string()
        } else {
            let mut parts = Vec::new();
            if s.out_of_memory > 0 {
                parts.push(format!("{} OOM", s.out_of_memory));
            }
            if s.timeouts > 0 {
                parts.push(format!("{} timeout", s.timeouts));
            }
            if s.function_errors > 0 {
                parts.push(format!("{} error", s.function_errors));
            }
            parts.join(", ")
        };
        let mut marks = Vec::new();
        if Some(s.memory_mb) == recommended {
            marks.push("recommended");
        }
        if s.memory_mb == d.current.memory_mb {
            marks.push("current");
        }
        if !s.feasible {
            marks.push("infeasible");
        }
        table.add_row(vec![
            Cell::new(s.memory_mb).set_alignment(CellAlignment::Right),
            Cell::new(s.invocations).set_alignment(CellAlignment::Right),
            Cell::new(ms(s.p50_ms)).set_alignment(CellAlignment::Right),
            Cell::new(ms(s.p99_ms)).set_alignment(CellAlignment::Right),
            Cell::new(ms(s.mean_billed_ms)).set_alignment(CellAlignment::Right),
            Cell::new(usd(s.cost_per_million_usd)).set_alignment(CellAlignment::Right),
            Cell::new(failures),
            Cell::new(marks.join(", ")),
        ]);
    }
    let mut out = format!(
        "{} ({}, {}, {}) — strategy {}, {} search\n{table}\n",
        d.function.name,
        d.function.runtime.as_deref().unwrap_or("image"),
        d.function.architecture,
        d.function.region,
        d.strategy.name,
        d.search
    );
    if let Some(p) = &d.production {
        out.push_str(&format!(
            "production ({:.0} days): {:.0} invocations/month{}{}{}\n",
            p.days,
            p.monthly_invocations,
            p.cold_start_ratio
                .map(|r| format!(", cold-start ratio {r:.3}"))
                .unwrap_or_default(),
            p.max_memory_used_mb
                .map(|m| format!(", max memory used {m:.0} MB"))
                .unwrap_or_default(),
            p.p99_ms
                .map(|v| format!(", p99 {v:.1} ms at {} MB", d.current.memory_mb))
                .unwrap_or_default(),
        ));
    }
    out.push_str(
        "measured: n invocations per size (cold starts included), p50/p99 of the warm ones, \
         mean billed ms, mean cost\n",
    );
    if let Some(line) = super::cells::fit_line(d) {
        out.push_str(&format!("{line}\n"));
    }
    match &d.recommendation {
        Some(r) => {
            out.push_str(&format!(
                "recommendation: {} MB (now {} MB): {}\n",
                r.memory_mb, d.current.memory_mb, r.reason
            ));
            if let Some(t) = &r.tradeoff {
                out.push_str(&format!("  trade-off: {}\n", t.summary));
            }
            let changes = r.memory_mb != d.current.memory_mb;
            if let (Some(c), Some(l), true) = (r.cost_change_pct, r.latency_change_pct, changes) {
                out.push_str(&format!(
                    "  vs current: cost {} per invocation, trimmed-mean duration {}\n",
                    pct(c),
                    pct(l)
                ));
            }
            if let (Some(savings), true) = (r.monthly_savings_usd, changes) {
                let monthly = d
                    .production
                    .as_ref()
                    .map(|p| p.monthly_invocations)
                    .unwrap_or(0.0);
                out.push_str(&format!(
                    "  at {monthly:.0} invocations/month (production): {} ${:.2} per month\n",
                    if savings >= 0.0 { "saves" } else { "costs" },
                    savings.abs()
                ));
            }
            if r.band_mb.len() > 1 {
                let band: Vec<String> = r.band_mb.iter().map(u32::to_string).collect();
                out.push_str(&format!(
                    "  as good within tolerance: {} MB\n",
                    band.join(", ")
                ));
            }
        }
        None => out.push_str(&format!(
            "no recommendation: {}\n",
            d.no_recommendation.as_deref().unwrap_or("no feasible size")
        )),
    }
    out.push_str(&format!(
        "exploration: {} invocations, {:.3} GB-s, ${:.6}\n{}\n",
        d.exploration.invocations, d.exploration.gb_seconds, d.exploration.usd, d.restored
    ));
    if let Some(a) = &d.architectures {
        out.push_str(&format!("architecture: {}\n", a.summary));
    }
    for line in d.traffic.iter().flat_map(super::cells::traffic) {
        out.push_str(&format!("{line}\n"));
    }
    for w in &d.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn a_recommend_run_labels_its_columns_and_states_the_trade_off() {
        let mut doc = sample::document("api", 1024, 512, 0);
        let rec = doc.recommendation.as_mut().unwrap();
        rec.predicted_optimum_note = Some("of the measured sizes 512 MB came out best".into());
        let text = render_one(&doc);
        assert!(text.contains("mean billed ms"), "{text}");
        assert!(text.contains("measured: n invocations per size"), "{text}");
        assert!(
            text.contains("  trade-off: 1024 -> 512 MB: cost and latency as measured;"),
            "{text}"
        );
        assert!(
            text.contains("predicted optimum 512 MB: of the measured sizes 512 MB came out best."),
            "{text}"
        );
        assert!(!text.contains("the table shows measured values"), "{text}");
    }
}
