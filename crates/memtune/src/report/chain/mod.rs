//! Renderings of a chain run ([`ChainRun`], `chain::run`): a table, Markdown, and JSON (the
//! run serialized). They only read it.

pub mod markdown;
pub mod table;

use crate::chain::model::Evaluation;
use crate::chain::run::ChainRun;

pub fn json(run: &ChainRun) -> String {
    serde_json::to_string_pretty(run).expect("plain data") + "\n"
}

/// USD per million requests.
fn per_million(usd: f64) -> String {
    format!("${:.2}", usd * 1e6)
}

fn percentile_name(run: &ChainRun) -> String {
    format!("p{}", run.decision.objective.percentile * 100.0)
}

/// One row of the before/after comparison: label, cost, p50 and tail with and without cold
/// starts, and whether it meets the objective.
fn comparison(run: &ChainRun) -> Vec<(String, &Evaluation)> {
    let d = &run.decision;
    let mut rows = vec![
        ("now".to_string(), &d.current),
        ("chosen".to_string(), &d.chosen),
        ("equal split".to_string(), &d.equal_split),
    ];
    if let Some(pc) = &d.provisioned {
        rows.push((
            format!("provisioned entry ({})", pc.provisioning.level),
            &pc.evaluation,
        ));
    }
    rows
}

fn verdict(e: &Evaluation) -> &'static str {
    if e.meets_objective {
        "meets"
    } else {
        "misses"
    }
}
