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

#[cfg(test)]
mod tests {
    use crate::chain::decide;
    use crate::chain::model::{ChainModel, Hop, HopSize, Objective, LEVELS};
    use crate::chain::run::{ChainRun, MeasuredHop};

    fn hop(name: &str, work_ms: f64) -> Hop {
        Hop {
            function: name.into(),
            sizes: [256, 512, 1024]
                .iter()
                .map(|&memory_mb| HopSize {
                    memory_mb,
                    own_ms: vec![work_ms * 1024.0 / f64::from(memory_mb); LEVELS],
                    init_ms: 0.0,
                    usd_per_ms: f64::from(memory_mb) * 1.6e-11,
                    usd_per_request: 2e-7,
                })
                .collect(),
            cold_probability: 0.0,
            init_sigma: 0.0,
            init_billed: true,
        }
    }

    fn run() -> ChainRun {
        let model = ChainModel {
            hops: vec![hop("api", 20.0), hop("db", 50.0)],
            calls: vec![vec![vec![1]], vec![]],
            objective: Objective {
                slo_ms: 200.0,
                percentile: 0.99,
            },
        };
        ChainRun {
            run_id: "run-7".into(),
            region: "us-east-1".into(),
            decision: decide("checkout", &model, &vec![2, 2], None, 1),
            measured: vec![MeasuredHop {
                function: "db".into(),
                invocations: 21,
                samples: 18,
                left_out: vec!["r1: no REPORT line found for x's request y".into()],
                model: "cpu-knee".into(),
            }],
        }
    }

    #[test]
    fn every_format_shows_the_assignment_the_comparison_and_the_tradeoff() {
        let run = run();
        let table = super::table::render(&run);
        let markdown = super::markdown::render(&run);
        let json: serde_json::Value = serde_json::from_str(&super::json(&run)).unwrap();
        for text in [&table, &markdown] {
            assert!(text.contains("checkout"), "{text}");
            assert!(text.contains("equal split"), "{text}");
            assert!(text.contains(&run.decision.tradeoff), "{text}");
            assert!(text.contains("p99"), "{text}");
        }
        assert!(
            table.contains("db: 1 of 19 warm invocations left out"),
            "{table}"
        );
        assert!(markdown.contains("| db | api | 1024 MB |"), "{markdown}");
        assert_eq!(json["decision"]["functions"][1]["function"], "db");
        assert_eq!(json["decision"]["chosen"]["meets_objective"], true);
    }
}
