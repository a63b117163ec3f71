//! The texts the summary formats (markdown, html) show per function: now → after with the
//! relative change, savings, confidence, and the command that reproduces the measurement.

use super::Row;
use crate::fleet::outcome::Status;
use crate::sweep::payload::PayloadKind;
use crate::tune::confidence;
use crate::tune::document::{FunctionDocument, SizeRow};

/// "1 function", "14 functions".
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A small amount of USD with two significant digits below a cent (`$0.0048`, not
/// `$0.0000`), cents above.
pub fn usd(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("${x:.2}");
    }
    if x.abs() >= 0.01 {
        return format!("${x:.2}");
    }
    let digits = (1.0 - x.abs().log10().floor()) as usize;
    format!("${x:.digits$}")
}

/// An RFC 3339 timestamp to the minute, in UTC (`2026-12-07 03:53 UTC`); anything else as is.
pub fn when(timestamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| timestamp.to_string())
}

/// How the run ended per function: "11 to change, 3 to keep, 0 skipped, 0 failed" (a kept
/// size is a recommendation, but not a change).
pub fn outcomes(rows: &[Row]) -> String {
    let changes = rows.iter().filter(|r| action(r) == CHANGE).count();
    let keeps = rows.iter().filter(|r| action(r) == KEEP).count();
    let slo = rows
        .iter()
        .filter(|r| r.document.and_then(slo_not_met).is_some())
        .count();
    let with = |status| rows.iter().filter(|r| r.status == status).count();
    let slo = if slo > 0 {
        format!(", {slo} with an SLO not met")
    } else {
        String::new()
    };
    format!(
        "{changes} to change, {keeps} to keep{slo}, {} skipped, {} failed",
        with(Status::Skipped),
        with(Status::Failed)
    )
}

/// "SLO unconfirmed" or "SLO unmet" when the recommendation's latency SLO is not `met`: the
/// size is reported, never applied.
pub fn slo_not_met(d: &FunctionDocument) -> Option<String> {
    let slo = d.recommendation.as_ref()?.slo?;
    (!slo.is_met()).then(|| format!("SLO {}", slo.status.as_str()))
}

/// The action words every format uses.
pub const CHANGE: &str = "change";
pub const KEEP: &str = "keep";

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

/// The recommendation's trade-off sentence (the decision's own), or nothing.
pub fn tradeoff(d: &FunctionDocument) -> &str {
    d.recommendation
        .as_ref()
        .and_then(|r| r.tradeoff.as_ref())
        .map_or("", |t| t.summary.as_str())
}

/// "Fitted curve: MODEL (cross-validated error E%), predicted optimum N MB", and why that is
/// not the recommendation when it is not.
pub fn fit_line(d: &FunctionDocument) -> Option<String> {
    let f = d.fit.as_ref()?;
    let note = d
        .recommendation
        .as_ref()
        .and_then(|r| r.predicted_optimum_note.as_deref())
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    Some(format!(
        "Fitted curve: {}{}, predicted optimum {} MB{note}.",
        f.model,
        f.cv_error
            .map(|e| format!(" (cross-validated error {:.1}%)", e * 100.0))
            .unwrap_or_default(),
        f.predicted_optimum_mb
    ))
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
        Status::Recommended => {
            if let Some(not_met) = row.document.and_then(slo_not_met) {
                return not_met;
            }
            match row.document.and_then(|d| d.recommendation.as_ref()) {
                Some(r) if r.memory_mb != row.memory_mb => CHANGE.into(),
                _ => KEEP.into(),
            }
        }
    }
}

/// The `memtune recommend` command that measures this function the same way (the payload
/// itself is not in the document: `@event.json` stands for it, and nothing when the run sent
/// the empty event).
pub fn reproduce(d: &FunctionDocument) -> String {
    let mut cmd = format!(
        "memtune recommend {} --region {} --strategy {} --search {}",
        d.function.name, d.function.region, d.strategy.name, d.search
    );
    if d.search == "grid" {
        let sizes: Vec<String> = d.sizes.iter().map(|s| s.memory_mb.to_string()).collect();
        cmd.push_str(&format!(" --sizes {}", sizes.join(",")));
    }
    match d.payload {
        PayloadKind::Empty => {}
        PayloadKind::One => cmd.push_str(" --payload @event.json"),
        PayloadKind::Weighted => cmd.push_str(" --payloads @payloads.json"),
    }
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

/// A canary run's traffic (`--traffic`): what each size served of production, and what the
/// canaries cost beyond what production would have.
pub fn traffic(t: &crate::tune::canary::TrafficReport) -> Vec<String> {
    let share = crate::tune::canary::traffic::percent(t.share);
    let mut lines = vec![format!(
        "measured on production traffic through alias {} ({share} to one candidate at a time, main version {}): {} test invocations",
        t.alias, t.main_version, t.test_invocations
    )];
    for s in &t.served {
        let which = if s.main {
            format!("main version {}", s.version)
        } else {
            format!("version {}", s.version)
        };
        let mut line = format!(
            "  {} MB ({which}): {:.0} requests, {:.0} errors, {:.0} throttles, {} REPORT lines, {:.0} s",
            s.memory_mb,
            s.traffic.invocations,
            s.traffic.errors,
            s.traffic.throttles,
            s.reports,
            s.seconds
        );
        if let Some(why) = &s.backed_off {
            line.push_str(&format!("; TAKEN OUT (unsafe): {why}"));
        }
        lines.push(line);
    }
    lines.push(match t.canary_extra_usd {
        Some(x) => format!(
            "canaries' cost beyond what the main version would have charged: {}",
            usd(x)
        ),
        None => {
            "canaries' cost beyond production's: not measured (a size without REPORT lines)".into()
        }
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn counts_money_and_time_read_as_people_write_them() {
        assert_eq!(count(1, "function"), "1 function");
        assert_eq!(count(14, "function"), "14 functions");
        assert_eq!(count(0, "invocation"), "0 invocations");
        assert_eq!(usd(0.0000412), "$0.000041");
        assert_eq!(usd(0.0048), "$0.0048");
        assert_eq!(usd(0.1604), "$0.16");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(
            when("2026-12-07T03:53:45.130786044+00:00"),
            "2026-12-07 03:53 UTC"
        );
        assert_eq!(when("2026-12-07T04:53:45+01:00"), "2026-12-07 03:53 UTC");
        assert_eq!(when("yesterday"), "yesterday");
    }

    #[test]
    fn reproduce_names_a_payload_only_when_the_run_had_one() {
        let mut d = sample::document("api", 1024, 512, 0);
        d.payload = PayloadKind::Empty;
        assert!(!reproduce(&d).contains("--payload"), "{}", reproduce(&d));
        d.payload = PayloadKind::One;
        assert!(reproduce(&d).ends_with(" --payload @event.json"));
        d.payload = PayloadKind::Weighted;
        assert!(reproduce(&d).ends_with(" --payloads @payloads.json"));
    }
}
