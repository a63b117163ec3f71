//! Architecture and memory together (`--architectures x86_64,arm64`): the strategy chooses a
//! size on each architecture from that architecture's measurements and prices; this picks the
//! architecture whose choice best meets the objective, and says what the other would trade.

use serde::{Deserialize, Serialize};

use super::{Objective, Strategy};

/// What one architecture came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureOption {
    pub architecture: String,
    #[serde(flatten)]
    pub verdict: ArchitectureVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ArchitectureVerdict {
    /// The strategy's choice on this architecture, as measured.
    Recommended {
        memory_mb: u32,
        cost_per_invocation_usd: f64,
        p50_ms: f64,
        p99_ms: f64,
    },
    /// The code does not run on it: INIT fails (a native dependency built for the other
    /// architecture). Not a failure of the run.
    NotPortable { error_type: String },
    /// No size to compare: why.
    NoRecommendation { why: String },
}

/// The architecture chosen, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureComparison {
    /// The function's architecture now.
    pub current: String,
    /// None when no architecture had a recommendation.
    pub chosen: Option<String>,
    pub memory_mb: Option<u32>,
    pub options: Vec<ArchitectureOption>,
    /// One sentence: the choice and what the other architecture would trade.
    pub summary: String,
}

struct Candidate<'a> {
    architecture: &'a str,
    memory_mb: u32,
    cost: f64,
    p50: f64,
    p99: f64,
}

/// Picks the architecture: the fastest p50 for the speed objective, otherwise the cheapest
/// per invocation, except that a move to another architecture whose p99 rises by more than
/// the strategy's `max_p99_increase` over the current architecture's choice is not taken.
pub fn compare(
    strategy: &Strategy,
    current: &str,
    options: Vec<ArchitectureOption>,
) -> ArchitectureComparison {
    let candidates: Vec<Candidate> = options
        .iter()
        .filter_map(|o| match o.verdict {
            ArchitectureVerdict::Recommended {
                memory_mb,
                cost_per_invocation_usd,
                p50_ms,
                p99_ms,
            } => Some(Candidate {
                architecture: &o.architecture,
                memory_mb,
                cost: cost_per_invocation_usd,
                p50: p50_ms,
                p99: p99_ms,
            }),
            _ => None,
        })
        .collect();
    let here = candidates.iter().find(|c| c.architecture == current);
    let mut held_back = None;
    let allowed = |c: &&Candidate| match (here, strategy.max_p99_increase) {
        (Some(h), Some(guard)) if c.architecture != current => c.p99 <= h.p99 * (1.0 + guard),
        _ => true,
    };
    let rank = |a: &&Candidate, b: &&Candidate| match strategy.objective {
        Objective::Speed => a.p50.total_cmp(&b.p50).then(a.cost.total_cmp(&b.cost)),
        _ => a.cost.total_cmp(&b.cost).then(a.p50.total_cmp(&b.p50)),
    };
    let best_any = candidates.iter().min_by(rank);
    let chosen = candidates.iter().filter(allowed).min_by(rank);
    if let (Some(any), Some(c)) = (best_any, chosen) {
        if any.architecture != c.architecture {
            held_back = Some(format!(
                "{} at {} MB would cost {} less, but its p99 ({:.0} ms) is more than {:.0}% above {}'s ({:.0} ms)",
                any.architecture,
                any.memory_mb,
                percent(1.0 - any.cost / c.cost),
                any.p99,
                strategy.max_p99_increase.unwrap_or(0.0) * 100.0,
                c.architecture,
                c.p99
            ));
        }
    }
    let mut parts = Vec::new();
    match chosen {
        Some(c) => {
            parts.push(format!(
                "{} at {} MB: ${:.10} per invocation, p50 {:.1} ms, p99 {:.1} ms",
                c.architecture, c.memory_mb, c.cost, c.p50, c.p99
            ));
            for other in candidates
                .iter()
                .filter(|o| o.architecture != c.architecture)
            {
                parts.push(format!(
                    "{} at {} MB would cost {} and be {} at p50",
                    other.architecture,
                    other.memory_mb,
                    relative(other.cost / c.cost, "more", "less"),
                    relative(other.p50 / c.p50, "slower", "faster"),
                ));
            }
        }
        None => parts.push("no architecture has a recommendation".to_string()),
    }
    parts.extend(held_back);
    for o in &options {
        match &o.verdict {
            ArchitectureVerdict::NotPortable { error_type } => parts.push(format!(
                "{}: not portable (INIT fails with {error_type}: the code has a native dependency built for another architecture)",
                o.architecture
            )),
            ArchitectureVerdict::NoRecommendation { why } => {
                parts.push(format!("{}: no recommendation ({why})", o.architecture))
            }
            ArchitectureVerdict::Recommended { .. } => {}
        }
    }
    ArchitectureComparison {
        current: current.to_string(),
        chosen: chosen.map(|c| c.architecture.to_string()),
        memory_mb: chosen.map(|c| c.memory_mb),
        summary: parts.join("; "),
        options,
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction.abs() * 100.0)
}

/// "12% more" for a ratio of 1.12, "8% less" for 0.92, "the same" within 0.5%.
fn relative(ratio: f64, above: &str, below: &str) -> String {
    if (ratio - 1.0).abs() < 0.005 {
        "the same".to_string()
    } else if ratio > 1.0 {
        format!("{} {above}", percent(ratio - 1.0))
    } else {
        format!("{} {below}", percent(1.0 - ratio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(arch: &str, mb: u32, cost: f64, p50: f64, p99: f64) -> ArchitectureOption {
        ArchitectureOption {
            architecture: arch.into(),
            verdict: ArchitectureVerdict::Recommended {
                memory_mb: mb,
                cost_per_invocation_usd: cost,
                p50_ms: p50,
                p99_ms: p99,
            },
        }
    }

    fn strategy(name: &str) -> Strategy {
        Strategy::load(name).unwrap()
    }

    #[test]
    fn the_cheaper_architecture_wins_and_the_other_is_priced_against_it() {
        let c = compare(
            &strategy("cost"),
            "x86_64",
            vec![
                option("x86_64", 1024, 2.0e-5, 100.0, 120.0),
                option("arm64", 1024, 1.5e-5, 90.0, 110.0),
            ],
        );
        assert_eq!(c.chosen.as_deref(), Some("arm64"));
        assert!(
            c.summary
                .contains("x86_64 at 1024 MB would cost 33% more and be 11% slower at p50"),
            "{}",
            c.summary
        );
    }

    #[test]
    fn a_guarded_strategy_keeps_the_current_architecture_when_the_other_is_much_slower() {
        let mut s = strategy("cost");
        s.max_p99_increase = Some(0.2);
        let c = compare(
            &s,
            "x86_64",
            vec![
                option("x86_64", 1024, 2.0e-5, 100.0, 120.0),
                option("arm64", 512, 1.5e-5, 190.0, 220.0),
            ],
        );
        assert_eq!(c.chosen.as_deref(), Some("x86_64"));
        assert!(
            c.summary.contains("more than 20% above x86_64's"),
            "{}",
            c.summary
        );
    }

    #[test]
    fn code_that_is_not_portable_is_said_so_and_the_other_architecture_is_chosen() {
        let c = compare(
            &strategy("cost"),
            "x86_64",
            vec![
                option("x86_64", 1024, 2.0e-5, 100.0, 120.0),
                ArchitectureOption {
                    architecture: "arm64".into(),
                    verdict: ArchitectureVerdict::NotPortable {
                        error_type: "Runtime.InvalidEntrypoint".into(),
                    },
                },
            ],
        );
        assert_eq!(c.chosen.as_deref(), Some("x86_64"));
        assert!(c.summary.contains("arm64: not portable"), "{}", c.summary);
    }
}
