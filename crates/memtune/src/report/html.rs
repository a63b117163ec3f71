//! `--format html`: one self-contained page (inline CSS and SVG, no script, nothing fetched)
//! that works offline: a summary table, for a fleet a chart of savings by function, and per
//! sampled function its duration and cost charts and its sizes. All text from the run is
//! escaped.

use super::{cells, chart, Renderer, Report, Row};
use crate::tune::document::FunctionDocument;

/// At most this many bars in the fleet overview (the largest savings and losses).
const OVERVIEW_BARS: usize = 40;

pub struct Html;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1320px;color:#222;padding:0 12px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px}\
td.n{text-align:right}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:8px}\
svg{max-width:100%;height:auto}.note{color:#555;font-size:13px}.rec{background:#e8f5e9}";

fn summary_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "<table><tr><th>function</th><th>memory MB</th><th>$ per 1M invocations</th><th>p99 ms</th><th>monthly savings</th><th>confidence</th><th>action</th><th>trade-off</th></tr>\n",
    );
    for (i, row) in rows.iter().enumerate() {
        let name = escape(row.function);
        let name = match row.document {
            Some(_) => format!("<a href=\"#fn-{i}\">{name}</a>"),
            None => name,
        };
        let (cost, p99, savings, confidence) = row.document.map_or_else(
            || ("-".into(), "-".into(), "n/a".into(), "-"),
            |d| {
                (
                    cells::cost(d),
                    cells::p99(d),
                    cells::monthly_savings(d),
                    cells::confidence(d),
                )
            },
        );
        out.push_str(&format!(
            "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&cells::memory(row)),
            escape(&cost),
            escape(&p99),
            escape(&savings),
            confidence,
            escape(&cells::action(row)),
            escape(row.document.map_or("", cells::tradeoff))
        ));
    }
    out + "</table>\n"
}

/// Savings per month where production data gave them, else per 1M invocations.
fn overview(rows: &[Row]) -> String {
    let docs = || rows.iter().filter_map(|r| r.document);
    let monthly = docs().any(|d| {
        d.recommendation
            .as_ref()
            .is_some_and(|r| r.monthly_savings_usd.is_some())
    });
    let (unit, value): (&str, fn(&FunctionDocument) -> Option<f64>) = if monthly {
        ("USD per month", |d| {
            d.recommendation.as_ref()?.monthly_savings_usd
        })
    } else {
        ("USD per 1M invocations", |d| {
            let r = d.recommendation.as_ref()?;
            Some(d.current.cost_per_invocation_usd? * 1e6 - r.cost_per_million_usd)
        })
    };
    let mut bars: Vec<(String, f64)> = docs()
        .filter_map(|d| Some((d.function.name.clone(), value(d)?)))
        .collect();
    if bars.is_empty() {
        return "<p class=\"note\">No function has a measured current size to compare with.</p>\n"
            .into();
    }
    bars.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let total = bars.len();
    bars.truncate(OVERVIEW_BARS);
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = format!(
        "<div class=\"chart\">{}</div>\n",
        chart::savings(&bars, unit)
    );
    if total > bars.len() {
        out.push_str(&format!(
            "<p class=\"note\">The {} largest changes of {total}.</p>\n",
            bars.len()
        ));
    }
    if !monthly {
        out.push_str("<p class=\"note\">No production data: savings per 1M invocations (cost now minus cost at the recommended size).</p>\n");
    }
    out
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn function_section(index: usize, d: &FunctionDocument) -> String {
    let mut out = format!(
        "<section id=\"fn-{index}\"><h2>{}</h2>\n<p>{} {}, {}, strategy {} ({} search). ",
        escape(&d.function.name),
        escape(d.function.runtime.as_deref().unwrap_or("container image")),
        escape(&d.function.architecture),
        escape(&d.function.region),
        escape(&d.strategy.name),
        escape(&d.search)
    );
    match &d.recommendation {
        Some(r) => {
            out.push_str(&format!(
                "<b>{} MB</b> (now {} MB): {}.</p>\n",
                r.memory_mb,
                d.current.memory_mb,
                escape(&r.reason)
            ));
            if let Some(t) = &r.tradeoff {
                out.push_str(&format!(
                    "<p><b>Trade-off:</b> {}.</p>\n",
                    escape(&t.summary)
                ));
            }
        }
        None => out.push_str(&format!(
            "<b>No recommendation</b>: {}.</p>\n",
            escape(d.no_recommendation.as_deref().unwrap_or("no feasible size"))
        )),
    }
    out.push_str(&format!(
        "<div class=\"charts\">{}{}</div>\n",
        chart::duration(d),
        chart::cost(d)
    ));
    out.push_str("<p class=\"note\">Measured at each size (n: warm and cold successes; percentiles of the warm ones; mean cost with its bootstrap interval).</p>\n");
    out.push_str("<table><tr><th>MB</th><th>n</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>$ per 1M</th><th>95% interval</th><th></th></tr>\n");
    let recommended = d.recommendation.as_ref().map(|r| r.memory_mb);
    for s in &d.sizes {
        let marks = cells::size_marks(d, s, "recommended");
        let class = if Some(s.memory_mb) == recommended {
            " class=\"rec\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr{class}><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            s.memory_mb,
            s.successes,
            ms(s.p50_ms),
            ms(s.p90_ms),
            ms(s.p99_ms),
            s.cost_per_million_usd.map_or("-".into(), |c| format!("{c:.2}")),
            s.cost_ci95_usd.map_or("-".into(), |[lo, hi]| format!("{:.2} – {:.2}", lo * 1e6, hi * 1e6)),
            escape(&marks)
        ));
    }
    out.push_str("</table>\n");
    if let Some(line) = cells::fit_line(d) {
        out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(&line)));
    }
    for w in &d.warnings {
        out.push_str(&format!("<p class=\"note\">warning: {}</p>\n", escape(w)));
    }
    out.push_str(&format!(
        "<p class=\"note\">Exploration: {} invocations, {:.3} GB-s, ${:.6}. Reproduce: <code>{}</code></p>\n</section>\n",
        d.exploration.invocations,
        d.exploration.gb_seconds,
        d.exploration.usd,
        escape(&cells::reproduce(d))
    ));
    out
}

impl Renderer for Html {
    fn render(&self, report: &Report) -> String {
        let rows = report.rows();
        let t = report.totals();
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>memtune report {}</title><style>{STYLE}</style></head><body>\n",
            escape(report.run_id())
        );
        let savings = cells::total_savings(&rows)
            .map(|(usd, n)| {
                format!(
                    " Net savings: <b>${usd:.2} per month</b> over the {n} with production data."
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "<h1>memtune report</h1>\n<p>Run <code>{}</code> in {}, {}: {}: {}.{savings} Exploration spent: {}, {:.1} GB-s, {}.</p>\n",
            escape(report.run_id()),
            escape(report.region()),
            escape(&cells::when(report.started_at())),
            cells::count(t.functions, "function"),
            cells::outcomes(&rows),
            cells::count(t.invocations as usize, "invocation"),
            t.gb_seconds,
            cells::usd(t.usd)
        ));
        if let Report::Fleet(_) = report {
            out.push_str("<h2>Overview</h2>\n");
            out.push_str(&overview(&rows));
        }
        out.push_str(&summary_table(&rows));
        if let Report::Fleet(run) = report {
            out.push_str(&super::capacity::fleet::html(&run.capacity));
        }
        out.push_str("<p class=\"note\">Confidence: how likely the difference in the strategy's measure (cost, or duration for speed) between the current and the recommended size is real, from their 95% intervals; high at 0.95 or more with a fitted curve that predicts left-out sizes within 10%, medium at 0.95 or more with a looser fit, low below 0.95.</p>\n");
        for (i, row) in rows.iter().enumerate() {
            if let Some(d) = row.document.filter(|d| !d.sizes.is_empty()) {
                out.push_str(&function_section(i, d));
            }
        }
        out.push_str("</body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn fleet_html(tuned: usize) -> String {
        Html.render(&Report::Fleet(Box::new(sample::fleet(tuned))))
    }

    #[test]
    fn the_heading_has_the_net_savings_and_the_same_words_as_markdown() {
        let mut run = sample::fleet(3);
        run.started_at = "2026-12-07T03:53:45.130786044+00:00".into();
        let html = Html.render(&Report::Fleet(Box::new(run.clone())));
        let savings = crate::report::cells::total_savings(&Report::Fleet(Box::new(run)).rows())
            .expect("the sample has production data")
            .0;
        assert!(
            html.contains(&format!("Net savings: <b>${savings:.2} per month</b>")),
            "{html}"
        );
        assert!(
            html.contains("2026-12-07 03:53 UTC: 4 functions: 3 to change, 0 to keep, 1 skipped")
        );
        assert!(!html.contains("130786044"), "nanoseconds in the heading");
    }

    #[test]
    fn references_nothing_outside_the_file() {
        let html = fleet_html(3).to_lowercase();
        for external in [
            "src=\"http",
            "href=\"http",
            "src='http",
            "href='http",
            "<script",
            "<link",
            "@import",
            "url(",
        ] {
            assert!(!html.contains(external), "found {external}");
        }
        assert!(
            html.contains("href=\"#fn-0\""),
            "links stay inside the page"
        );
    }

    #[test]
    fn one_svg_per_chart_two_per_function_and_the_overview() {
        let html = fleet_html(3);
        assert_eq!(html.matches("<svg").count(), 3 * 2 + 1);
        assert_eq!(html.matches("</svg>").count(), 3 * 2 + 1);
        let single = Html.render(&Report::Function(Box::new(sample::document(
            "api", 1024, 512, 0,
        ))));
        assert_eq!(
            single.matches("<svg").count(),
            2,
            "no overview for one function"
        );
    }

    #[test]
    fn charts_have_data_labelled_axes_and_legends() {
        let d = sample::document("api", 1024, 512, 0);
        let svg = chart::duration(&d);
        assert!(svg.contains("memory (MB, log scale)"), "{svg}");
        assert!(svg.contains("warm duration (ms)"));
        assert!(svg.contains("fitted mean") && svg.contains("its 95% band"));
        assert!(svg.contains("current 1024 MB") && svg.contains("recommended 512 MB"));
        assert!(svg.contains("<polyline") && svg.contains("<circle"));
        let cost = chart::cost(&d);
        assert!(cost.contains("cost per 1M invocations (USD)"));
    }

    #[test]
    fn text_from_the_run_is_escaped() {
        let mut run = sample::fleet(1);
        run.functions[1].reason = Some("<img src=x onerror=alert(1)> & \"more\"".into());
        let html = Html.render(&Report::Fleet(Box::new(run)));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;more&quot;"));
    }

    #[test]
    fn the_trade_off_is_in_the_summary_and_the_section() {
        let html = Html.render(&Report::Function(Box::new(sample::document(
            "api", 1024, 512, 0,
        ))));
        assert!(html.contains("<th>trade-off</th>"), "{html}");
        assert!(
            html.contains("<td>1024 -&gt; 512 MB: cost and latency as measured;"),
            "{html}"
        );
        assert!(
            html.contains("<p><b>Trade-off:</b> 1024 -&gt; 512 MB"),
            "{html}"
        );
    }

    #[test]
    fn the_overview_keeps_the_largest_changes() {
        let html = fleet_html(OVERVIEW_BARS + 5);
        assert!(html.contains(&format!(
            "The {OVERVIEW_BARS} largest changes of {}.",
            OVERVIEW_BARS + 5
        )));
    }
}
