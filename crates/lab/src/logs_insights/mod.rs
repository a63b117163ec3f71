//! The lab's Logs Insights engine: parses queries ([`query`]) and evaluates them over a
//! function's log events.
//!
//! The lab's own events are concrete records whose fields are discovered the way Insights does
//! (REPORT lines give @duration, @billedDuration, @memorySize, @maxMemoryUsed in bytes,
//! @initDuration; JSON events are flattened: [`record`]). Backfilled production traffic is not
//! materialized: for `stats` it enters as populations (a count per time slice, warm and cold,
//! with each field a constant or a distribution: `population`), which filters narrow (constant
//! fields decide, a comparison on a distributed field truncates it) and aggregates (`stats`)
//! combine with the concrete records by weight. Queries without `stats` list events,
//! synthesizing backfilled REPORT lines newest first (`results`). What cannot be evaluated
//! exactly is refused with a message saying why.

mod population;
pub mod query;
pub mod record;
mod results;
mod stats;

use super::backfill::Production;
use population::representative;
use query::{Command, Query};
pub use record::Event;
use results::{list, post_process};
use stats::aggregate;

/// An evaluation that may be refused, with a message saying why.
type Eval<T> = Result<T, String>;

/// The most rows a query returns, and the default limit.
pub const MAX_ROWS: usize = 10_000;

/// One log group's data in the query's time range.
pub struct GroupData<'a> {
    /// `account:log-group`, the @log field.
    pub log: String,
    pub production: Option<Production<'a>>,
    /// The lab's own events, oldest first.
    pub events: Vec<Event>,
}

/// Result rows: (field, value) pairs, as GetQueryResults returns them.
pub type Rows = Vec<Vec<(String, String)>>;

/// What a finished query returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub rows: Rows,
    pub records_matched: f64,
    pub records_scanned: f64,
    pub bytes_scanned: f64,
}

/// Runs a parsed query over [start_ms, end_ms) of some log groups.
pub fn run(
    query: &Query,
    groups: &[GroupData],
    start_ms: i64,
    end_ms: i64,
    limit: Option<usize>,
) -> Eval<Outcome> {
    let limit = query
        .commands
        .iter()
        .rev()
        .find_map(|c| match c {
            Command::Limit(n) => Some(*n),
            _ => None,
        })
        .or(limit)
        .unwrap_or(MAX_ROWS)
        .min(MAX_ROWS);
    let mut outcome = Outcome::default();
    for g in groups {
        let backfilled = g
            .production
            .as_ref()
            .map_or(0, |p| p.invocations_between(start_ms, end_ms)) as f64;
        let sample_len = g
            .production
            .as_ref()
            .and_then(|p| representative(p, false))
            .map_or(0, |r| r.message.len()) as f64;
        outcome.records_scanned += backfilled + g.events.len() as f64;
        outcome.bytes_scanned +=
            backfilled * sample_len + g.events.iter().map(|e| e.message.len() as f64).sum::<f64>();
    }
    let split = query
        .commands
        .iter()
        .position(|c| matches!(c, Command::Stats(_)));
    let (rows, matched) = match split {
        Some(i) => {
            let Command::Stats(stats) = &query.commands[i] else {
                unreachable!("position found a stats command")
            };
            let (before, after) = (&query.commands[..i], &query.commands[i + 1..]);
            let rows = aggregate(stats, before, groups, start_ms, end_ms)?;
            (post_process(rows.0, after, limit), rows.1)
        }
        None => list(query, groups, start_ms, end_ms, limit)?,
    };
    outcome.records_matched = matched;
    outcome.rows = rows;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::query::parse;
    use super::*;
    use crate::backfill::Backfill;
    use crate::profiles::{FunctionProfile, ProfileSet};

    fn profile() -> FunctionProfile {
        ProfileSet::parse(
            "[[function]]\nname = \"api\"\nmemory_mb = 512\n[function.workload]\ncpu_ms = 50.0\nio_ms = 20.0\ninit_ms = 300.0\nworking_set_mb = 80\n[function.traffic]\nrequests_per_day = 20000\ncold_start_ratio = 0.05\n",
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0)
    }

    const STARTED: i64 = 1_760_000_000_000;

    fn event(ms: i64, message: &str) -> Event {
        Event {
            timestamp_ms: ms,
            log_stream: "2025/10/09/[$LATEST]abc".into(),
            message: message.into(),
        }
    }

    fn cell<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
        row.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    #[test]
    fn stats_over_lab_events_only() {
        let groups = [GroupData {
            log: "g".into(),
            production: None,
            events: (1..=4)
                .map(|i| event(i * 1000, &format!("REPORT RequestId: r{i}\tDuration: {i}0.00 ms\tBilled Duration: {i}0 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n")))
                .chain([event(500, "START RequestId: r1 Version: $LATEST\n")])
                .collect(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats count(*) as n, avg(@duration) as avg, pct(@duration, 50), max(@memorySize / 1000 / 1000) as mb").unwrap();
        let out = run(&q, &groups, 0, 10_000, None).unwrap();
        assert_eq!(out.rows.len(), 1);
        let row = &out.rows[0];
        assert_eq!(cell(row, "n"), "4");
        assert_eq!(cell(row, "avg"), "25");
        assert_eq!(cell(row, "pct(@duration, 50)"), "20");
        assert_eq!(cell(row, "mb"), "128");
        assert_eq!(out.records_scanned, 5.0);
        assert_eq!(out.records_matched, 4.0);
    }

    #[test]
    fn strcontains_counts_matching_lines() {
        let lines = [
            "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t\n",
            "REPORT RequestId: b\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ];
        let groups = [GroupData {
            log: "g".into(),
            production: None,
            events: lines.iter().map(|l| event(1000, l)).collect(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats sum(strcontains(@message, \"Runtime.OutOfMemory\")) as oom, count(*) as n").unwrap();
        let out = run(&q, &groups, 0, 10_000, None).unwrap();
        assert_eq!(cell(&out.rows[0], "oom"), "1");
        assert_eq!(cell(&out.rows[0], "n"), "2");
        assert!(parse("stats sum(strcontains(@message, 3))")
            .unwrap_err()
            .message
            .contains("quoted string"));
    }

    #[test]
    fn backfill_populations_follow_the_counts_and_distribution() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let prod = b.production(&p);
        let truth_n = prod.invocations_between(b.start_ms, b.end_ms);
        let truth_p99 = prod.durations.quantile(0.99);
        let groups = [GroupData {
            log: "g".into(),
            production: Some(prod),
            events: Vec::new(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats count(*) as n, pct(@duration, 99) as p99, count(@initDuration) as cold by bin(1d)").unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        // The 14 days start mid-day, so they touch 15 calendar days.
        assert_eq!(out.rows.len(), 15);
        let n: f64 = out
            .rows
            .iter()
            .map(|r| cell(r, "n").parse::<f64>().unwrap())
            .sum();
        assert!((n - truth_n as f64).abs() <= 14.0, "{n} vs {truth_n}");
        let p99: f64 = cell(&out.rows[3], "p99").parse().unwrap();
        assert!(
            (p99 - truth_p99).abs() / truth_p99 < 1e-3,
            "{p99} vs {truth_p99}"
        );
        let cold: f64 = out
            .rows
            .iter()
            .map(|r| cell(r, "cold").parse::<f64>().unwrap())
            .sum();
        assert!((cold / n - 0.05).abs() < 0.005, "{cold}");
    }

    #[test]
    fn a_duration_filter_truncates_and_hides_billed_duration() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let prod = b.production(&p);
        let median = prod.durations.quantile(0.5);
        let total = prod.invocations_between(b.start_ms, b.end_ms) as f64;
        let groups = [GroupData {
            log: "g".into(),
            production: Some(prod),
            events: Vec::new(),
        }];
        let q = parse(&format!(
            "filter @duration > {median} | stats count(*) as n, min(@duration) as lo"
        ))
        .unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        let n: f64 = cell(&out.rows[0], "n").parse().unwrap();
        assert!((n / total - 0.5).abs() < 0.01, "{n} of {total}");
        assert!(cell(&out.rows[0], "lo").parse::<f64>().unwrap() >= median);
        let q = parse(&format!(
            "filter @duration > {median} | stats avg(@billedDuration)"
        ))
        .unwrap();
        assert!(run(&q, &groups, b.start_ms, b.end_ms, None)
            .unwrap_err()
            .contains("@billedDuration"));
    }

    #[test]
    fn listing_returns_newest_backfilled_reports() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let groups = [GroupData {
            log: "g".into(),
            production: Some(b.production(&p)),
            events: Vec::new(),
        }];
        let q = parse(
            "fields @timestamp, @requestId, @duration | filter ispresent(@initDuration) | limit 3",
        )
        .unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        assert_eq!(out.rows.len(), 3);
        assert!(cell(&out.rows[0], "@timestamp") >= cell(&out.rows[1], "@timestamp"));
        assert_eq!(cell(&out.rows[0], "@requestId").len(), 36);
    }
}
