//! Result rows: what `sort`, `limit` and `display` make of the aggregated rows, and the event
//! listing of a query without `stats`.

use super::query::Projection;
use super::query::{Command, Query, SortKey};
use super::record::{add_aliases, discover, eval, format_timestamp, Aliases, Event, Record, Val};
use super::{Eval, GroupData, Rows};
use crate::backfill::{floor_to, Production, MINUTE_MS};

/// Listing queries that would synthesize more backfilled events than this are refused.
const MAX_LISTED_SCAN: u64 = 2_000_000;

/// The commands after stats, applied to its rows.
pub(super) fn post_process(mut rows: Vec<Record>, after: &[Command], limit: usize) -> Rows {
    let mut aliases = Aliases::new();
    let mut projection: Option<&[Projection]> = None;
    for c in after {
        match c {
            Command::Filter(e) => rows.retain(|r| eval(e, r, &aliases).truthy()),
            Command::Sort(keys) => sort(&mut rows, keys),
            Command::Fields(p) => {
                add_aliases(&mut aliases, p);
                projection = Some(p);
            }
            Command::Limit(_) | Command::Stats(_) => {}
        }
    }
    rows.truncate(limit);
    rows.iter()
        .map(|r| output(r, projection, &aliases))
        .collect()
}

fn sort(rows: &mut [Record], keys: &[SortKey]) {
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|k| {
                let (x, y) = (a.get(&k.field), b.get(&k.field));
                let o = match (x.num(), y.num()) {
                    (Some(p), Some(q)) => p.total_cmp(&q),
                    _ => x.display().cmp(&y.display()),
                };
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

fn output(
    r: &Record,
    projection: Option<&[Projection]>,
    aliases: &Aliases,
) -> Vec<(String, String)> {
    let shown = |name: &str, v: Val| {
        let text = match (name, &v) {
            ("@timestamp" | "@ingestionTime", Val::Num(ms)) => format_timestamp(*ms as i64),
            _ => v.display(),
        };
        (name.to_string(), text)
    };
    match projection {
        Some(p) => p
            .iter()
            .map(|p| shown(&p.name, eval(&p.expr, r, aliases)))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        None => r
            .fields()
            .iter()
            .map(|(n, v)| shown(n, v.clone()))
            .collect(),
    }
}

/// A query without stats: matching events, newest first unless sorted otherwise.
pub(super) fn list(
    query: &Query,
    groups: &[GroupData],
    start_ms: i64,
    end_ms: i64,
    limit: usize,
) -> Eval<(Rows, f64)> {
    let mut aliases = Aliases::new();
    let mut filters = Vec::new();
    let mut projection: Option<&[Projection]> = None;
    let mut sort_keys: Vec<SortKey> = vec![SortKey {
        field: "@timestamp".into(),
        descending: true,
    }];
    for c in &query.commands {
        match c {
            Command::Filter(e) => filters.push(e),
            Command::Fields(p) => {
                add_aliases(&mut aliases, p);
                projection = Some(p);
            }
            Command::Sort(keys) => sort_keys = keys.clone(),
            Command::Limit(_) | Command::Stats(_) => {}
        }
    }
    // Newest first, the first `limit` matches suffice; any other order needs every match.
    let by_time =
        sort_keys.len() == 1 && sort_keys[0].field == "@timestamp" && sort_keys[0].descending;
    let wanted = if by_time { limit } else { usize::MAX };
    let keep = |r: &Record| filters.iter().all(|f| eval(f, r, &aliases).truthy());
    let mut records = Vec::new();
    for g in groups {
        let mut found: Vec<Record> = g
            .events
            .iter()
            .rev()
            .map(|e| discover(e, &g.log))
            .filter(|r| keep(r))
            .take(wanted)
            .collect();
        if let Some(p) = &g.production {
            let budget = wanted.saturating_sub(found.len());
            found.extend(list_backfill(p, &g.log, start_ms, end_ms, budget, &keep)?);
        }
        records.extend(found);
    }
    let matched = records.len() as f64;
    sort(&mut records, &sort_keys);
    records.truncate(limit);
    Ok((
        records
            .iter()
            .map(|r| output(r, projection, &aliases))
            .collect(),
        matched,
    ))
}

/// Synthesized backfilled events that pass `keep`, newest first, at most `wanted`.
fn list_backfill(
    p: &Production,
    log: &str,
    start_ms: i64,
    end_ms: i64,
    wanted: usize,
    keep: &dyn Fn(&Record) -> bool,
) -> Eval<Vec<Record>> {
    let (lo, hi) = (start_ms.max(p.window.start_ms), end_ms.min(p.window.end_ms));
    let mut found = Vec::new();
    let mut scanned = 0u64;
    let mut minute = (hi - 1).div_euclid(MINUTE_MS);
    while found.len() < wanted && minute * MINUTE_MS >= floor_to(lo, MINUTE_MS) && hi > lo {
        for r in p.reports_in_minute(minute).into_iter().rev() {
            if r.timestamp_ms < start_ms || r.timestamp_ms >= end_ms {
                continue;
            }
            scanned += 1;
            let event = Event {
                timestamp_ms: r.timestamp_ms,
                log_stream: r.log_stream,
                message: r.message,
            };
            let record = discover(&event, log);
            if keep(&record) {
                found.push(record);
                if found.len() == wanted {
                    break;
                }
            }
        }
        if scanned > MAX_LISTED_SCAN {
            return Err(format!(
                "the lab lists at most {MAX_LISTED_SCAN} backfilled events per log group; use \
                 stats, sort by @timestamp desc with a limit, or a shorter time range"
            ));
        }
        minute -= 1;
    }
    Ok(found)
}
