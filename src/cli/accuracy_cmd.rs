//! `memtune bench accuracy`: recommendation quality against the lab's truth.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::CliError;
use std::collections::BTreeMap;

use crate::bench::accuracy::{self, AccuracyReport, AccuracySpec, Corpus, Scored, Summary};
use memtune_lab::profiles::ProfileSet;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  cargo build --release && ./target/release/memtune bench accuracy
  memtune bench accuracy --quick --strategies cost
  memtune bench accuracy --corpus real-dev --strategies cost,latency-slo
  memtune bench accuracy --strategies latency-slo --seed 4
  memtune bench accuracy --strategies cost,latency-slo --seeds 101-106
  memtune bench accuracy --profiles config/lab/calibrated.toml -o out.json
  memtune bench accuracy --profiles config/lab/ --strategies cost

Both searches decide on their own invocations alone unless --production-tail gives the
adaptive search production's CloudWatch figures (which Power Tuning's grid never reads).
Exploration GB-s are as billed: the INIT of every cold start included, for both searches.")]
pub struct AccuracyArgs {
    /// Built-in profiles to tune: `lab` (calibrated + demo + two generated profiles of each
    /// workload family, physical models),
    /// `real-dev` or `real-report` (measured curves from data/measurements; tune on the first,
    /// report on the second: docs/benchmarks.md).
    #[arg(long, value_enum, default_value_t = CorpusArg::Lab, conflicts_with = "profiles")]
    corpus: CorpusArg,
    /// Fleet file with the profiles to tune, or a directory of them (every *.toml in it),
    /// instead of a built-in corpus.
    #[arg(long)]
    profiles: Option<PathBuf>,
    /// A small subset (the CI regression check).
    #[arg(long)]
    quick: bool,
    /// Strategies to run, comma separated.
    #[arg(long, default_value = "cost,latency-slo,speed", value_delimiter = ',')]
    strategies: Vec<String>,
    /// Where to write the per-run JSON (with --seeds, one report per seed).
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "memtune-bench-accuracy.json"
    )]
    output: PathBuf,
    /// Seed for the generated profiles and every noise draw; the same seed and binary give the
    /// same table.
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
    seed: u64,
    /// Several seeds, one after the other, e.g. `101-106` or `1,3,5`: prints each seed's
    /// figures for grid and adaptive side by side. Seeds 1-6 are for development; 101-106 are
    /// held out for reporting (docs/benchmarks.md).
    #[arg(long, value_name = "SEEDS", value_parser = parse_seeds)]
    seeds: Option<Seeds>,
    /// Give the adaptive search production's tail (p50/p90/p99 over 14 days of simulated
    /// traffic, read from the lab's CloudWatch as `recommend` reads it). The grid gets no
    /// production data, so the two then decide on different information.
    #[arg(long)]
    production_tail: bool,
    /// Searches to run, comma separated (`grid`, `adaptive`): one alone for quicker runs
    /// while developing; GB-s vs grid then has nothing to compare with.
    #[arg(long, default_value = "grid,adaptive", value_delimiter = ',', value_parser = ["grid", "adaptive"])]
    searches: Vec<String>,
    /// Tune only the profiles whose name or workload family is one of these, comma
    /// separated (e.g. `slow-class,email-dispatch`).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only: Vec<String>,
}

/// Seeds from `--seeds`.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeds(Vec<u64>);

/// `101-106`, `1,3,5` or a mix: each item a seed or an inclusive range.
fn parse_seeds(text: &str) -> Result<Seeds, String> {
    let mut seeds = Vec::new();
    for item in text.split(',').map(str::trim) {
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("'{s}' in --seeds is not a seed (a whole number)"))
        };
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!(
                        "--seeds {item}: the range must rise (e.g. 101-106)"
                    ));
                }
                if b - a >= 1000 {
                    return Err(format!("--seeds {item}: at most 1000 seeds"));
                }
                seeds.extend(a..=b);
            }
            None => seeds.push(number(item)?),
        }
    }
    seeds.dedup();
    Ok(Seeds(seeds))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CorpusArg {
    Lab,
    RealDev,
    RealReport,
}

pub async fn run(args: AccuracyArgs) -> Result<(), CliError> {
    super::output::check_file(&args.output)?;
    for s in &args.strategies {
        memtune::strategy::Strategy::load(s).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let given = match &args.profiles {
        Some(path) => Some(
            ProfileSet::load(path)
                .map_err(|e| CliError::usage(e.to_string()))?
                .functions,
        ),
        None => None,
    };
    let seeds = args
        .seeds
        .as_ref()
        .map_or_else(|| vec![args.seed], |s| s.0.clone());
    let searches: Vec<&'static str> = ["grid", "adaptive"]
        .into_iter()
        .filter(|s| args.searches.iter().any(|a| a == s))
        .collect();
    let mut reports = Vec::new();
    for &seed in &seeds {
        let profiles: Vec<_> = given
            .clone()
            .unwrap_or_else(|| {
                let corpus = match args.corpus {
                    CorpusArg::Lab => Corpus::Lab,
                    CorpusArg::RealDev => Corpus::RealDev,
                    CorpusArg::RealReport => Corpus::RealReport,
                };
                accuracy::profiles(corpus, args.quick, seed)
            })
            .into_iter()
            .filter(|p| {
                args.only.is_empty()
                    || args.only.iter().any(|o| {
                        *o == p.name || memtune_lab::synthetic::family(p) == Some(o.as_str())
                    })
            })
            .collect();
        if profiles.is_empty() {
            return Err(CliError::usage(format!(
                "--only {}: no profile of seed {seed} has that name or family",
                args.only.join(",")
            )));
        }
        let spec = AccuracySpec {
            profiles,
            strategies: args.strategies.clone(),
            searches: searches.clone(),
            seed,
            production_tail: args.production_tail,
        };
        eprintln!(
            "seed {seed}: tuning {} profiles x {} strategies x {} on an in-process lab{}…",
            spec.profiles.len(),
            spec.strategies.len(),
            spec.searches.join("/"),
            if args.production_tail {
                " (adaptive with production's tail)"
            } else {
                ""
            }
        );
        let report = accuracy::run(&spec)
            .await
            .map_err(|e| CliError::failed(format!("cannot run the lab: {e}")))?;
        if args.seeds.is_none() {
            print!("{}", render(&report));
        }
        reports.push(report);
    }
    let json = match reports.as_slice() {
        [report] if args.seeds.is_none() => serde_json::to_string_pretty(report),
        all => {
            print!("{}", render_seeds(all));
            serde_json::to_string_pretty(all)
        }
    };
    let all: Vec<&accuracy::Scored> = reports.iter().flat_map(|r| &r.runs).collect();
    print!("{}", render_families(&all));
    std::fs::write(&args.output, json.expect("plain data"))
        .map_err(|e| CliError::failed(format!("cannot write {}: {e}", args.output.display())))?;
    println!("per-run results: {}", args.output.display());
    Ok(())
}

/// An SLO count, or "-" for a strategy whose runs have no SLO.
fn slo_count(summary: &accuracy::Summary, count: usize) -> String {
    if summary.slo_runs == 0 {
        "-".into()
    } else {
        count.to_string()
    }
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x.is_infinite() {
        // A missed SLO counts as unbounded regret.
        "SLO miss".into()
    } else {
        format!("{:.2}%", x * 100.0)
    }
}

/// A ratio in whole percent, or "-" when there is none (one search run alone).
fn whole_pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.0}%", x * 100.0)
    } else {
        "-".into()
    }
}

/// The summary table, plus adaptive's exploration relative to grid's.
pub fn render(report: &AccuracyReport) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "strategy",
        "search",
        "runs",
        "no rec.",
        "no rec., safe size",
        "median regret",
        "p95 regret",
        "max regret",
        "infeasible",
        "over 1.5x",
        "SLO missed",
        "unconfirmed",
        "median inv.",
        "median GB-s",
        "median USD",
    ]);
    for s in &report.summaries {
        table.add_row(vec![
            s.strategy.clone(),
            s.search.clone(),
            s.runs.to_string(),
            s.failed.to_string(),
            s.failed_with_safe_size.to_string(),
            pct(s.median_regret),
            pct(s.p95_regret),
            pct(s.max_regret),
            s.infeasible_recommendations.to_string(),
            s.oversized.map_or("-".into(), |n| n.to_string()),
            slo_count(s, s.slo_missed),
            slo_count(s, s.slo_unconfirmed),
            format!("{:.0}", s.median_invocations),
            format!("{:.2}", s.median_gb_seconds),
            format!("{:.5}", s.median_usd),
        ]);
    }
    let mut out = format!(
        "{} profiles, {:.1} s\n{table}\n",
        report.profiles, report.wall_seconds
    );
    for strategy in report
        .summaries
        .iter()
        .map(|s| &s.strategy)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let ratio = accuracy::median_gb_s_ratio(&report.runs, strategy);
        let init = |search: &str| {
            report
                .summaries
                .iter()
                .find(|s| &s.strategy == strategy && s.search == search)
                .map_or(f64::NAN, |s| s.init_share)
        };
        out.push_str(&format!(
            "{strategy}: adaptive explores with {} of grid's GB-s (median over profiles, INIT included: {} of adaptive's GB-s, {} of grid's)\n",
            whole_pct(ratio),
            pct(init("adaptive")),
            pct(init("grid")),
        ));
    }
    out
}

/// "grid / adaptive" for one figure of a strategy's two summaries.
fn side_by_side(
    grid: Option<&Summary>,
    adaptive: Option<&Summary>,
    f: impl Fn(&Summary) -> String,
) -> String {
    let cell = |s: Option<&Summary>| s.map_or_else(|| "-".into(), &f);
    format!("{} / {}", cell(grid), cell(adaptive))
}

/// One row per seed and strategy, grid's figure before adaptive's in each cell.
pub fn render_seeds(reports: &[AccuracyReport]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "seed",
        "strategy",
        "median regret",
        "p95 regret",
        "max regret",
        "SLO missed",
        "infeasible",
        "no rec., safe size",
        "GB-s vs grid",
    ]);
    for report in reports {
        let strategies: Vec<&String> = report.summaries.iter().map(|s| &s.strategy).collect();
        let mut seen = std::collections::BTreeSet::new();
        for strategy in strategies.into_iter().filter(|s| seen.insert(*s)) {
            let of = |search: &str| {
                report
                    .summaries
                    .iter()
                    .find(|s| &s.strategy == strategy && s.search == search)
            };
            let (grid, adaptive) = (of("grid"), of("adaptive"));
            let both = |f: &dyn Fn(&Summary) -> String| side_by_side(grid, adaptive, f);
            table.add_row(vec![
                report.seed.to_string(),
                strategy.clone(),
                both(&|s| pct(s.median_regret)),
                both(&|s| pct(s.p95_regret)),
                both(&|s| pct(s.max_regret)),
                both(&|s| slo_count(s, s.slo_missed)),
                both(&|s| s.infeasible_recommendations.to_string()),
                both(&|s| s.failed_with_safe_size.to_string()),
                whole_pct(accuracy::median_gb_s_ratio(&report.runs, strategy)),
            ]);
        }
    }
    format!(
        "per seed, grid / adaptive (GB-s: median over profiles of adaptive's over grid's, INIT included)\n{table}\n"
    )
}

/// The generated profiles' runs by workload family and strategy, over every seed run.
pub fn render_families(runs: &[&Scored]) -> String {
    let mut groups: BTreeMap<(&str, &str), Vec<&Scored>> = BTreeMap::new();
    for r in runs {
        if let Some(family) = &r.family {
            groups.entry((family, &r.strategy)).or_default().push(r);
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "family",
        "strategy",
        "profiles",
        "median regret",
        "max regret",
        "SLO missed",
        "no rec., safe size",
        "GB-s vs grid",
    ]);
    for ((family, strategy), group) in &groups {
        let of = |search: &str| -> Vec<&Scored> {
            group
                .iter()
                .copied()
                .filter(|r| r.search == search)
                .collect()
        };
        let (grid, adaptive) = (of("grid"), of("adaptive"));
        let both = |f: &dyn Fn(&[&Scored]) -> String| format!("{} / {}", f(&grid), f(&adaptive));
        table.add_row(vec![
            family.to_string(),
            strategy.to_string(),
            adaptive.len().to_string(),
            both(&|rs| pct(accuracy::regret_quantile(rs, 0.5))),
            both(&|rs| pct(accuracy::regret_quantile(rs, 1.0))),
            both(&|rs| {
                let slo = rs.iter().any(|r| r.slo_ms.is_some());
                let missed = rs
                    .iter()
                    .filter(|r| r.slo_reachable == Some(true) && r.slo_met == Some(false))
                    .count();
                if slo {
                    missed.to_string()
                } else {
                    "-".into()
                }
            }),
            both(&|rs| {
                rs.iter()
                    .filter(|r| r.recommended_mb.is_none() && r.best_mb.is_some())
                    .count()
                    .to_string()
            }),
            whole_pct(accuracy::median_ratio_of(group, strategy)),
        ]);
    }
    format!("generated profiles by family, grid / adaptive (every seed run)\n{table}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_ranges_and_lists() {
        assert_eq!(parse_seeds("101-106"), Ok(Seeds((101..=106).collect())));
        assert_eq!(parse_seeds("1, 3,5-6"), Ok(Seeds(vec![1, 3, 5, 6])));
        assert!(parse_seeds("6-1").unwrap_err().contains("must rise"));
        assert!(parse_seeds("one").unwrap_err().contains("'one'"));
        assert!(parse_seeds("1-").is_err());
    }
}
