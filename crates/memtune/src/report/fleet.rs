//! A fleet run as one table: a row per function, then the run totals.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use super::cells;
use crate::fleet::outcome::{FleetRun, FunctionResult, Status};
use crate::tune::confidence;
use crate::tune::document::FunctionDocument;

pub fn table(run: &FleetRun) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "function",
        "MB",
        "$/1M inv",
        "p99 ms",
        "saved/month",
        "confidence",
        "action",
    ]);
    for r in &run.functions {
        let d = r.document.as_deref();
        let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
        table.add_row(vec![
            Cell::new(&r.function),
            right(memory(r)),
            right(d.map(cost).unwrap_or_default()),
            right(d.map(p99).unwrap_or_default()),
            right(d.map(cells::monthly_savings).unwrap_or_default()),
            Cell::new(d.and_then(confidence::of).map_or("-", |c| c.as_str())),
            Cell::new(action(r)),
        ]);
    }
    let mut out = format!("{table}\n");
    let unmeasured = run
        .functions
        .iter()
        .filter_map(|r| r.document.as_deref())
        .any(|d| d.recommendation.is_some() && d.current.cost_per_invocation_usd.is_none());
    if unmeasured {
        out.push_str(&format!(
            "{NOT_MEASURED}: the search did not sample the current size, so there is nothing measured to compare with\n"
        ));
    }
    out.push_str(&tradeoffs(run));
    out.push_str(&summary(run));
    out.push_str(&super::capacity::fleet::table(&run.capacity));
    out.push('\n');
    out
}

/// Each recommendation's trade-off, one line per function, under the table.
fn tradeoffs(run: &FleetRun) -> String {
    let lines: Vec<String> = run
        .functions
        .iter()
        .filter_map(|r| {
            let d = r.document.as_deref()?;
            let t = cells::tradeoff(d);
            (!t.is_empty()).then(|| format!("  {}: {t}\n", r.function))
        })
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!("trade-offs (measured):\n{}", lines.concat())
}

/// What `now` shows when the current size was not sampled.
const NOT_MEASURED: &str = "n/m";

fn arrow(now: Option<String>, after: Option<String>) -> String {
    match (now, after) {
        (Some(n), Some(a)) if n == a => n,
        (now, after) => format!(
            "{} -> {}",
            now.unwrap_or_else(|| NOT_MEASURED.into()),
            after.unwrap_or_else(|| "-".into())
        ),
    }
}

fn memory(r: &FunctionResult) -> String {
    let now = r.memory_mb.to_string();
    match r
        .document
        .as_deref()
        .and_then(|d| d.recommendation.as_ref())
    {
        Some(rec) => arrow(Some(now), Some(rec.memory_mb.to_string())),
        None => now,
    }
}

fn cost(d: &FunctionDocument) -> String {
    arrow(
        d.current
            .cost_per_invocation_usd
            .map(|c| format!("{:.2}", c * 1e6)),
        d.recommendation
            .as_ref()
            .map(|r| format!("{:.2}", r.cost_per_million_usd)),
    )
}

fn p99(d: &FunctionDocument) -> String {
    arrow(
        d.current.p99_ms.map(|v| format!("{v:.1}")),
        d.recommendation
            .as_ref()
            .and_then(|r| r.p99_ms)
            .map(|v| format!("{v:.1}")),
    )
}

fn action(r: &FunctionResult) -> String {
    let reason = r.reason.as_deref().unwrap_or("");
    match r.status {
        Status::Skipped => format!("skipped: {reason}"),
        Status::Failed => format!("failed: {reason}"),
        Status::Recommended => {
            if let Some(apply) = &r.apply {
                return apply.describe();
            }
            if let Some(not_met) = r.document.as_deref().and_then(cells::slo_not_met) {
                return not_met;
            }
            let rec = r
                .document
                .as_deref()
                .and_then(|d| d.recommendation.as_ref())
                .map(|rec| rec.memory_mb);
            if rec == Some(r.memory_mb) {
                cells::KEEP.into()
            } else {
                cells::CHANGE.into()
            }
        }
    }
}

fn summary(run: &FleetRun) -> String {
    let t = &run.totals;
    let b = &run.budget;
    let actions: Vec<String> = run.functions.iter().map(action).collect();
    let of = |word: &str| actions.iter().filter(|a| *a == word).count();
    let slo = actions.iter().filter(|a| a.starts_with("SLO ")).count();
    let slo = if slo > 0 {
        format!(", {slo} with an SLO not met")
    } else {
        String::new()
    };
    format!(
        "run {}: {}: {} to change, {} to keep{slo}, {} skipped, {} failed; exploration {}, {:.1} GB-s, {}; {:.1} s; \
         at most {} invocations in flight (lowest {}, {} throttles)",
        run.run_id,
        cells::count(t.functions, "function"),
        of(cells::CHANGE),
        of(cells::KEEP),
        t.skipped,
        t.failed,
        cells::count(t.invocations as usize, "invocation"),
        t.gb_seconds,
        cells::usd(t.usd),
        t.wall_s,
        b.ceiling,
        b.lowest,
        b.throttles
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn the_terminal_says_change_as_markdown_and_html_do_and_counts_keeps_apart() {
        let mut run = sample::fleet(2);
        // The second function keeps its size.
        let now = run.functions[1].memory_mb;
        let kept = run.functions[1].document.as_mut().unwrap();
        kept.recommendation.as_mut().unwrap().memory_mb = now;
        let text = table(&run);
        assert!(text.contains(" change "), "{text}");
        assert!(!text.contains("propose"), "{text}");
        assert!(
            text.contains(": 3 functions: 1 to change, 1 to keep, 1 skipped, 0 failed;"),
            "{text}"
        );
    }

    #[test]
    fn every_recommendation_states_its_trade_off_under_the_table() {
        let run = sample::fleet(2);
        let text = table(&run);
        assert!(text.contains("trade-offs (measured):\n"), "{text}");
        for r in run.functions.iter().filter(|r| r.document.is_some()) {
            let summary = cells::tradeoff(r.document.as_deref().unwrap());
            assert!(!summary.is_empty());
            assert!(
                text.contains(&format!("  {}: {summary}\n", r.function)),
                "{text}"
            );
        }
    }
}
