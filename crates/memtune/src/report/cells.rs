//! The texts the summary formats (markdown, html) show per function: now → after with the
//! relative change, savings, confidence, and the command that reproduces the measurement.

use super::Row;
use crate::fleet::outcome::Status;
use crate::tune::confidence;
use crate::tune::document::{FunctionDocument, SizeRow};

fn change(now: Option<f64>, after: Option<f64>, digits: usize) -> String {
    match (now, after) {
        (Some(n), Some(a)) if n > 0.0 => format!(
            "{n:.digits$} → {a:.digits$} ({:+.1}%)",
            (a / n - 1.0) * 100.0
        ),
        (None, Some(a)) => format!("n/m → {a:.digits$}"),
        (Some(n), _) => format!("{n:.digits$}"),
        _ => "-".into(),
    }
}

pub fn memory(row: &Row) -> String {
    match row.document.and_then(|d| d.recommendation.as_ref()) {
        Some(r) if r.memory_mb != row.memory_mb => format!("{} → {}", row.memory_mb, r.memory_mb),
        _ => row.memory_mb.to_string(),
    }
}

/// Cost per 1M invocations, now → recommended.
pub fn cost(d: &FunctionDocument) -> String {
    let rec = d.recommendation.as_ref();
    if rec.is_some_and(|r| r.memory_mb == d.current.memory_mb) {
        return change(d.current.cost_per_invocation_usd.map(|c| c * 1e6), None, 2);
    }
    change(
        d.current.cost_per_invocation_usd.map(|c| c * 1e6),
        rec.map(|r| r.cost_per_million_usd),
        2,
    )
}

/// Warm p99 in ms, now → recommended.
pub fn p99(d: &FunctionDocument) -> String {
    let rec = d.recommendation.as_ref();
    if rec.is_some_and(|r| r.memory_mb == d.current.memory_mb) {
        return change(d.current.p99_ms, None, 1);
    }
    change(d.current.p99_ms, rec.and_then(|r| r.p99_ms), 1)
}

pub fn monthly_savings(d: &FunctionDocument) -> String {
    match d
        .recommendation
        .as_ref()
        .and_then(|r| r.monthly_savings_usd)
    {
        // Below a cent either way is no change, not "-$0.00".
        Some(s) if s <= -0.005 => format!("-${:.2}", -s),
        Some(s) if s < 0.005 => "$0.00".into(),
        Some(s) => format!("${s:.2}"),
        None => "n/a".into(),
    }
}

pub fn confidence(d: &FunctionDocument) -> &'static str {
    confidence::of(d).map_or("-", |c| c.as_str())
}

/// What is proposed for the function, or why nothing is.
pub fn action(row: &Row) -> String {
    let reason = row.reason.unwrap_or("");
    match row.status {
        Status::Skipped => format!("skipped: {reason}"),
        Status::Failed => format!("failed: {reason}"),
        Status::Recommended => match row.document.and_then(|d| d.recommendation.as_ref()) {
            Some(r) if r.memory_mb != row.memory_mb => "change".into(),
            _ => "keep".into(),
        },
    }
}

/// The `memtune recommend` command that measures this function the same way (the payload
/// is not in the document).
pub fn reproduce(d: &FunctionDocument) -> String {
    let mut cmd = format!(
        "memtune recommend {} --region {} --strategy {} --search {}",
        d.function.name, d.function.region, d.strategy.name, d.search
    );
    if d.search == "grid" {
        let sizes: Vec<String> = d.sizes.iter().map(|s| s.memory_mb.to_string()).collect();
        cmd.push_str(&format!(" --sizes {}", sizes.join(",")));
    }
    cmd.push_str(" --payload @event.json");
    cmd
}

/// The sum of the monthly savings the run knows of, and over how many functions.
pub fn total_savings(rows: &[Row]) -> Option<(f64, usize)> {
    let known: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.document?.recommendation.as_ref()?.monthly_savings_usd)
        .collect();
    (!known.is_empty()).then(|| (known.iter().sum(), known.len()))
}

/// What a sampled size is to the run: `current`, `recommended` (as `recommended` renders it),
/// `infeasible: why`.
pub fn size_marks(d: &FunctionDocument, s: &SizeRow, recommended: &str) -> String {
    let mut marks = Vec::new();
    if s.memory_mb == d.current.memory_mb {
        marks.push("current".to_string());
    }
    if d.recommendation.as_ref().map(|r| r.memory_mb) == Some(s.memory_mb) {
        marks.push(recommended.to_string());
    }
    if !s.feasible {
        marks.push(format!("infeasible: {}", s.infeasible_reasons.join(", ")));
    }
    marks.join(", ")
}
