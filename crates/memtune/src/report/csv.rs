//! `--format csv`: one row per function per sampled size, with a header row; a function
//! with no sampled size (skipped, or failed before sampling) gets one row with the size
//! columns empty. Columns are documented in docs/reports.md.

use serde::Serialize;

use super::{cells, Renderer, Report, Row};
use crate::fleet::outcome::Status;
use crate::tune::document::SizeRow;

pub struct Csv;

#[derive(Serialize)]
struct Line<'a> {
    run_id: &'a str,
    function: &'a str,
    status: Status,
    reason: Option<&'a str>,
    strategy: Option<&'a str>,
    current_mb: u32,
    recommended_mb: Option<u32>,
    slo_status: Option<&'static str>,
    confidence: &'static str,
    monthly_savings_usd: Option<f64>,
    tradeoff: Option<&'a str>,
    memory_mb: Option<u32>,
    is_current: Option<bool>,
    is_recommended: Option<bool>,
    feasible: Option<bool>,
    invocations: Option<usize>,
    successes: Option<usize>,
    cold_starts: Option<usize>,
    p50_ms: Option<f64>,
    p90_ms: Option<f64>,
    p99_ms: Option<f64>,
    mean_ms: Option<f64>,
    mean_billed_ms: Option<f64>,
    max_memory_used_mb: Option<u32>,
    cost_per_million_usd: Option<f64>,
    cost_ci95_low_per_million_usd: Option<f64>,
    cost_ci95_high_per_million_usd: Option<f64>,
    out_of_memory: Option<usize>,
    timeouts: Option<usize>,
    function_errors: Option<usize>,
}

/// Decimals kept: microseconds, and a millionth of a dollar per million invocations. Beyond
/// them a float's binary noise (`139.30599999999998`) only gets in a spreadsheet's way.
const MS_DIGITS: i32 = 3;
const USD_DIGITS: i32 = 6;

fn round(x: Option<f64>, digits: i32) -> Option<f64> {
    let scale = 10f64.powi(digits);
    x.map(|x| (x * scale).round() / scale)
}

fn line<'a>(run_id: &'a str, row: &Row<'a>, size: Option<&SizeRow>) -> Line<'a> {
    let d = row.document;
    let rec = d.and_then(|d| d.recommendation.as_ref());
    let recommended_mb = rec.map(|r| r.memory_mb);
    Line {
        run_id,
        function: row.function,
        status: row.status,
        reason: row.reason,
        strategy: d.map(|d| d.strategy.name.as_str()),
        current_mb: row.memory_mb,
        recommended_mb,
        slo_status: rec.and_then(|r| r.slo).map(|slo| slo.status.as_str()),
        confidence: d.map_or("-", cells::confidence),
        monthly_savings_usd: round(rec.and_then(|r| r.monthly_savings_usd), 4),
        tradeoff: rec
            .and_then(|r| r.tradeoff.as_ref())
            .map(|t| t.summary.as_str()),
        memory_mb: size.map(|s| s.memory_mb),
        is_current: size.map(|s| s.memory_mb == row.memory_mb),
        is_recommended: size.map(|s| Some(s.memory_mb) == recommended_mb),
        feasible: size.map(|s| s.feasible),
        invocations: size.map(|s| s.invocations),
        successes: size.map(|s| s.successes),
        cold_starts: size.map(|s| s.cold_starts),
        p50_ms: round(size.and_then(|s| s.p50_ms), MS_DIGITS),
        p90_ms: round(size.and_then(|s| s.p90_ms), MS_DIGITS),
        p99_ms: round(size.and_then(|s| s.p99_ms), MS_DIGITS),
        mean_ms: round(size.and_then(|s| s.mean_ms), MS_DIGITS),
        mean_billed_ms: round(size.and_then(|s| s.mean_billed_ms), MS_DIGITS),
        max_memory_used_mb: size.and_then(|s| s.max_memory_used_mb),
        cost_per_million_usd: round(size.and_then(|s| s.cost_per_million_usd), USD_DIGITS),
        cost_ci95_low_per_million_usd: round(
            size.and_then(|s| s.cost_ci95_usd).map(|c| c[0] * 1e6),
            USD_DIGITS,
        ),
        cost_ci95_high_per_million_usd: round(
            size.and_then(|s| s.cost_ci95_usd).map(|c| c[1] * 1e6),
            USD_DIGITS,
        ),
        out_of_memory: size.map(|s| s.out_of_memory),
        timeouts: size.map(|s| s.timeouts),
        function_errors: size.map(|s| s.function_errors),
    }
}

impl Renderer for Csv {
    fn render(&self, report: &Report) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        let run_id = report.run_id();
        for row in report.rows() {
            let sizes = row.document.map(|d| d.sizes.as_slice()).unwrap_or_default();
            let lines: Vec<Line> = if sizes.is_empty() {
                vec![line(run_id, &row, None)]
            } else {
                sizes.iter().map(|s| line(run_id, &row, Some(s))).collect()
            };
            for l in lines {
                out.serialize(l).expect("writing to memory");
            }
        }
        let bytes = out.into_inner().expect("writing to memory");
        String::from_utf8(bytes).expect("the run's text is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn a_fleet_run_parses_back_with_a_row_per_function_and_size() {
        let mut run = sample::fleet(3);
        run.functions[0].reason = Some("a reason, with \"quotes\"\nand a line break".into());
        let text = Csv.render(&Report::Fleet(Box::new(run)));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(&header[0], "run_id");
        assert_eq!(header.len(), 30);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(
            records.len(),
            3 * 6 + 1,
            "6 sizes for 3 functions, 1 skipped"
        );
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        let first = &records[0];
        assert_eq!(&first[column("function")], "fn-0000");
        assert_eq!(
            &first[column("reason")],
            "a reason, with \"quotes\"\nand a line break"
        );
        assert_eq!(&first[column("memory_mb")], "128");
        assert_eq!(&first[column("recommended_mb")], "512");
        let at_512 = &records[2];
        assert_eq!(&at_512[column("is_recommended")], "true");
        assert!(
            at_512[column("tradeoff")].starts_with("1024 -> 512 MB: "),
            "{:?}",
            &at_512[column("tradeoff")]
        );
        let skipped = records.last().unwrap();
        assert_eq!(&skipped[column("status")], "skipped");
        assert_eq!(&skipped[column("current_mb")], "256");
        assert_eq!(&skipped[column("memory_mb")], "");
    }

    #[test]
    fn a_recommend_run_has_a_row_per_size() {
        let doc = sample::document("api", 1024, 512, 0);
        let text = Csv.render(&Report::Function(Box::new(doc)));
        let rows = csv::Reader::from_reader(text.as_bytes()).records().count();
        assert_eq!(rows, 6);
    }

    #[test]
    fn values_carry_no_binary_noise() {
        let mut doc = sample::document("api", 1024, 512, 0);
        doc.sizes[0].p99_ms = Some(139.30599999999998);
        doc.sizes[0].cost_per_million_usd = Some(1.6666666666666667);
        let text = Csv.render(&Report::Function(Box::new(doc)));
        assert!(text.contains(",139.306,"), "{text}");
        assert!(text.contains(",1.666667,"), "{text}");
        assert!(!text.contains("99999"), "{text}");
    }
}
