//! A chain run as Markdown (a PR comment, a wiki page).

use super::{comparison, per_million, percentile_name, verdict};
use crate::chain::run::ChainRun;

pub fn render(run: &ChainRun) -> String {
    let d = &run.decision;
    let p = percentile_name(run);
    let mut out = format!(
        "# Chain {}\n\nObjective: {p} at most {:.0} ms end to end. Run `{}` in {}.\n\n{}\n\n",
        d.chain, d.objective.slo_ms, run.run_id, run.region, d.tradeoff
    );
    out.push_str("| function | called by | now | chosen | equal split | tail share | own-work samples | curve |\n|---|---|---:|---:|---:|---:|---:|---|\n");
    for f in &d.functions {
        let measured = run.measured.iter().find(|m| m.function == f.function);
        out.push_str(&format!(
            "| {} | {} | {} MB | {} MB | {} MB | {:.0}% | {} | {} |\n",
            f.function,
            f.caller.as_deref().unwrap_or("-"),
            f.current_mb,
            f.chosen_mb,
            f.equal_split_mb,
            f.tail_share * 100.0,
            measured.map_or("-".into(), |m| m.samples.to_string()),
            measured.map_or("-", |m| m.model.as_str()),
        ));
    }
    out.push_str(&format!(
        "\n| sizes | $ per million requests | p50 | {p} | p50 warm | {p} warm | objective |\n|---|---:|---:|---:|---:|---:|---|\n"
    ));
    for (label, e) in comparison(run) {
        out.push_str(&format!(
            "| {label} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} |\n",
            per_million(e.usd_per_request),
            e.p50_ms,
            e.tail_ms,
            e.p50_warm_ms,
            e.tail_warm_ms,
            verdict(e)
        ));
    }
    out.push_str(&format!(
        "\nThe tail belongs to **{}**. End-to-end figures are {} requests drawn (seed {}) from each function's fitted curve, its noise, production's cold-start ratio and its INIT; the search evaluated {} of {:.0} assignments.\n",
        d.tail_owner, d.requests_drawn, d.seed, d.search.nodes, d.search.grid
    ));
    out
}
