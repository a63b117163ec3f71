//! A chain run as a terminal table.

use super::{comparison, per_million, percentile_name, verdict};
use crate::chain::run::ChainRun;

pub fn render(run: &ChainRun) -> String {
    let d = &run.decision;
    let p = percentile_name(run);
    let mut out = format!(
        "Chain {}: objective {p} <= {:.0} ms end to end ({} requests drawn, seed {})\n\n",
        d.chain, d.objective.slo_ms, d.requests_drawn, d.seed
    );
    out.push_str(&format!(
        "{:<28} {:<28} {:>10} {:>10} {:>11} {:>10}\n",
        "function", "called by", "now MB", "chosen MB", "equal split", "tail share"
    ));
    for f in &d.functions {
        out.push_str(&format!(
            "{:<28} {:<28} {:>10} {:>10} {:>11} {:>9.0}%\n",
            f.function,
            f.caller.as_deref().unwrap_or("-"),
            f.current_mb,
            f.chosen_mb,
            f.equal_split_mb,
            f.tail_share * 100.0
        ));
    }
    out.push_str(&format!(
        "\n{:<28} {:>12} {:>9} {:>9} {:>11} {:>11} {:>8}\n",
        "",
        "$/M requests",
        "p50 ms",
        &format!("{p} ms"),
        "p50 warm",
        &format!("{p} warm"),
        "objective"
    ));
    for (label, e) in comparison(run) {
        out.push_str(&format!(
            "{:<28} {:>12} {:>9.0} {:>9.0} {:>11.0} {:>11.0} {:>8}\n",
            label,
            per_million(e.usd_per_request),
            e.p50_ms,
            e.tail_ms,
            e.p50_warm_ms,
            e.tail_warm_ms,
            verdict(e)
        ));
    }
    out.push_str(&format!(
        "\nTail owner: {}.\n{}\n",
        d.tail_owner, d.tradeoff
    ));
    for m in run.measured.iter().filter(|m| !m.left_out.is_empty()) {
        out.push_str(&format!(
            "{}: {} of {} warm invocations left out (first: {})\n",
            m.function,
            m.left_out.len(),
            m.left_out.len() + m.samples,
            m.left_out[0]
        ));
    }
    out
}
