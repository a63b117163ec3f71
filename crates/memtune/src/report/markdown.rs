//! `--format markdown`: a pull-request comment. A summary table (a row per function), a
//! collapsible section per tuned function, exploration spent and the command to reproduce;
//! never longer than GitHub's comment limit: rows and sections that do not fit are left out
//! and a note says how many and where the full report is.

use super::{cells, Renderer, Report, Row};
use crate::tune::document::FunctionDocument;

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

pub struct Markdown {
    /// Where the full report is, for the truncation note (a path or a link).
    pub full_report: Option<String>,
    /// The command line that made the run, when known.
    pub command: Option<String>,
    /// Longest output, in characters.
    pub limit: usize,
}

impl Default for Markdown {
    fn default() -> Markdown {
        Markdown {
            full_report: None,
            command: None,
            limit: GITHUB_COMMENT_LIMIT,
        }
    }
}

/// Text safe inside a table cell or a `<summary>`: no pipes, line breaks or HTML tags.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Inline code that stays one code span whatever backticks the text holds.
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let fence = "`".repeat(text.matches('`').count().min(1) + 1);
    if fence.len() == 1 {
        format!("`{text}`")
    } else {
        format!("{fence} {text} {fence}")
    }
}

const SUMMARY_HEADER: &str = "| function | memory MB | $ per 1M invocations | p99 ms | monthly savings | confidence | action | trade-off |\n|---|---:|---:|---:|---:|---|---|---|\n";

fn summary_row(row: &Row) -> String {
    let (cost, p99, savings, confidence) = match row.document {
        Some(d) => (
            cells::cost(d),
            cells::p99(d),
            cells::monthly_savings(d),
            cells::confidence(d),
        ),
        None => ("-".into(), "-".into(), "n/a".into(), "-"),
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        code(row.function),
        cells::memory(row),
        cost,
        p99,
        savings,
        confidence,
        cell(&cells::action(row)),
        cell(row.document.map_or("", cells::tradeoff))
    )
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn details(d: &FunctionDocument) -> String {
    let headline = match &d.recommendation {
        Some(r) if r.memory_mb != d.current.memory_mb => {
            format!("{} → {} MB", d.current.memory_mb, r.memory_mb)
        }
        Some(_) => format!("keep {} MB", d.current.memory_mb),
        None => "no recommendation".into(),
    };
    let mut out = format!(
        "<details><summary><b>{}</b>: {headline}</summary>\n\n",
        cell(&d.function.name)
    );
    out.push_str(&format!(
        "{} {}, {}, strategy {} ({} search).\n\n",
        cell(d.function.runtime.as_deref().unwrap_or("container image")),
        cell(&d.function.architecture),
        cell(&d.function.region),
        cell(&d.strategy.name),
        cell(&d.search)
    ));
    match &d.recommendation {
        Some(r) => {
            out.push_str(&format!("{}.\n\n", cell(&r.reason)));
            if let Some(t) = &r.tradeoff {
                out.push_str(&format!("**Trade-off:** {}.\n\n", cell(&t.summary)));
            }
        }
        None => out.push_str(&format!(
            "No recommendation: {}.\n\n",
            cell(d.no_recommendation.as_deref().unwrap_or("no feasible size"))
        )),
    }
    out.push_str("Measured at each size (n: warm and cold successes; percentiles of the warm ones; mean cost with its bootstrap interval):\n\n");
    out.push_str("| MB | n | p50 ms | p90 ms | p99 ms | $ per 1M | 95% interval | |\n|---:|---:|---:|---:|---:|---:|---|---|\n");
    for s in &d.sizes {
        let marks = cells::size_marks(d, s, "**recommended**");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s.memory_mb,
            s.successes,
            ms(s.p50_ms),
            ms(s.p90_ms),
            ms(s.p99_ms),
            s.cost_per_million_usd
                .map_or("-".into(), |c| format!("{c:.2}")),
            s.cost_ci95_usd.map_or("-".into(), |[lo, hi]| format!(
                "{:.2} – {:.2}",
                lo * 1e6,
                hi * 1e6
            )),
            cell(&marks)
        ));
    }
    if let Some(line) = cells::fit_line(d) {
        out.push_str(&format!("\n{}\n", cell(&line)));
    }
    if let Some(p) = &d.production {
        out.push_str(&format!(
            "\nProduction ({:.0} days): {:.0} invocations per month.\n",
            p.days, p.monthly_invocations
        ));
    }
    for w in &d.warnings {
        out.push_str(&format!("\n> warning: {}\n", cell(w)));
    }
    out.push_str(&format!(
        "\nExploration: {} invocations, {:.3} GB-s, ${:.6}. Reproduce: {}\n\n</details>\n",
        d.exploration.invocations,
        d.exploration.gb_seconds,
        d.exploration.usd,
        code(&cells::reproduce(d))
    ));
    out
}

impl Markdown {
    fn heading(&self, report: &Report, rows: &[Row]) -> String {
        let t = report.totals();
        let changes = rows
            .iter()
            .filter(|r| cells::action(r) == cells::CHANGE)
            .count();
        let savings = cells::total_savings(rows)
            .map(|(usd, n)| {
                format!(", net savings ${usd:.2} per month over the {n} with production data")
            })
            .unwrap_or_default();
        format!(
            "## memtune: {changes} of {} to resize{savings}\n\nRun `{}` in {}, {}: {}.\n\n",
            cells::count(t.functions, "function"),
            cell(report.run_id()),
            cell(report.region()),
            cell(&cells::when(report.started_at())),
            cells::outcomes(rows),
        )
    }

    fn footer(&self, report: &Report) -> String {
        let t = report.totals();
        let mut out = format!(
            "\n**Exploration spent:** {}, {:.1} GB-s, {}.\n",
            cells::count(t.invocations as usize, "invocation"),
            t.gb_seconds,
            cells::usd(t.usd)
        );
        if let Some(cmd) = &self.command {
            out.push_str(&format!("\n**Reproduce:** {}\n", code(cmd)));
        }
        out.push_str(
            "\nConfidence: how likely the difference in the strategy's measure (cost, or duration for `speed`) between the current and the recommended size is real, from their 95% intervals; `high` at 0.95 or more with a fitted curve that predicts left-out sizes within 10%, `medium` at 0.95 or more with a looser fit, `low` below 0.95.\n",
        );
        out
    }

    fn note(&self, left_out_rows: usize, left_out_details: usize) -> String {
        let location = self.full_report.as_deref().map_or_else(
            || "`memtune report --from RUN.json --format html`".to_string(),
            code,
        );
        format!(
            "\n> **Truncated** to fit a GitHub comment: {} left out of the table and {left_out_details} without details. Full report: {location}\n",
            cells::count(left_out_rows, "function")
        )
    }
}

impl Renderer for Markdown {
    fn render(&self, report: &Report) -> String {
        let rows = report.rows();
        let head = self.heading(report, &rows);
        let foot = self.footer(report);
        // Capacity findings are a few lines per function: kept whole, ahead of the details.
        let capacity = match report {
            Report::Fleet(run) => super::capacity::fleet::markdown(&run.capacity),
            Report::Function(_) => String::new(),
        };
        let sections: Vec<String> = rows
            .iter()
            .filter_map(|r| r.document)
            .map(details)
            .collect();
        // Room kept for the note, whose counts are at most this long.
        let reserve = self.note(usize::MAX, usize::MAX).len();
        let mut room = self.limit.saturating_sub(
            head.len() + foot.len() + capacity.len() + SUMMARY_HEADER.len() + reserve + 2,
        );
        let mut table = String::from(SUMMARY_HEADER);
        let mut shown_rows = 0;
        for row in &rows {
            let line = summary_row(row);
            if line.len() > room {
                break;
            }
            room -= line.len();
            table.push_str(&line);
            shown_rows += 1;
        }
        let mut body = String::new();
        let mut shown_details = 0;
        for section in &sections {
            if section.len() > room {
                break;
            }
            room -= section.len();
            body.push_str(section);
            shown_details += 1;
        }
        let mut out = head + &table + &capacity + "\n" + &body + &foot;
        if shown_rows < rows.len() || shown_details < sections.len() {
            out.push_str(&self.note(rows.len() - shown_rows, sections.len() - shown_details));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn a_small_fleet_shows_every_function_with_details() {
        let report = Report::Fleet(Box::new(sample::fleet(3)));
        let md = Markdown {
            command: Some("memtune fleet --config fleet.toml".into()),
            ..Markdown::default()
        }
        .render(&report);
        assert!(
            md.starts_with("## memtune: 3 of 4 functions to resize"),
            "{md}"
        );
        assert!(md.contains("| `fn-0000` | 1024 → 512 |"), "{md}");
        assert!(md.contains("| `legacy-cron` | 256 |"), "{md}");
        // To the minute, and a kept size is not counted as a change.
        assert!(
            md.contains("2026-01-01 00:00 UTC: 3 to change, 0 to keep, 1 skipped, 0 failed."),
            "{md}"
        );
        assert!(md.contains("skipped: no payload configured"), "{md}");
        assert_eq!(md.matches("<details><summary>").count(), 3);
        assert_eq!(md.matches("</details>").count(), 3);
        assert!(
            md.contains("**Exploration spent:** 180 invocations"),
            "{md}"
        );
        assert!(md.contains("**Reproduce:** `memtune fleet --config fleet.toml`"));
        assert!(md.contains("memtune recommend fn-0001 --region us-east-1 --strategy cost"));
        assert!(!md.contains("Truncated"));
    }

    #[test]
    fn a_thousand_function_fleet_fits_a_github_comment_and_says_what_was_left_out() {
        let report = Report::Fleet(Box::new(sample::fleet(1000)));
        let md = Markdown {
            full_report: Some("memtune-demo/report.html".into()),
            ..Markdown::default()
        }
        .render(&report);
        assert!(
            md.chars().count() <= GITHUB_COMMENT_LIMIT,
            "{} characters",
            md.chars().count()
        );
        let shown = md.matches("| `fn-").count();
        let detailed = md.matches("<details>").count();
        let note = format!(
            "{} functions left out of the table and {} without details. Full report: `memtune-demo/report.html`",
            1001 - shown,
            1000 - detailed
        );
        assert!(md.contains(&note), "expected {note:?}");
        assert!(
            shown > 100,
            "most of the room goes to the table: {shown} rows"
        );
    }

    #[test]
    fn text_from_the_run_cannot_break_the_table_or_inject_html() {
        let mut run = sample::fleet(1);
        run.functions[1].reason = Some("bad | cell <script>\nnext".into());
        let md = Markdown::default().render(&Report::Fleet(Box::new(run)));
        assert!(
            md.contains("skipped: bad \\| cell &lt;script&gt; next |"),
            "{md}"
        );
        assert!(!md.contains("<script>"));
    }

    #[test]
    fn a_recommend_run_renders_as_one_function() {
        let report = Report::Function(Box::new(sample::document("api", 1024, 512, 0)));
        let md = Markdown::default().render(&report);
        assert!(
            md.starts_with("## memtune: 1 of 1 function to resize"),
            "{md}"
        );
        assert_eq!(md.matches("<details>").count(), 1);
        // The trade-off in the summary row and the section; the fit line explains itself.
        assert!(
            md.contains(
                "| change | 1024 -&gt; 512 MB: cost and latency as measured; it beat 1024 MB"
            ),
            "{md}"
        );
        assert!(md.contains("**Trade-off:** 1024 -&gt; 512 MB"), "{md}");
        assert!(md.contains("Measured at each size"), "{md}");
    }
}
