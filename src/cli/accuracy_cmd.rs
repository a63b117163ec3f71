//! `memtune bench accuracy`: recommendation quality against the lab's truth.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::CliError;
use crate::bench::accuracy::{self, AccuracyReport, AccuracySpec, Corpus};
use memtune_lab::profiles::ProfileSet;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  cargo build --release && ./target/release/memtune bench accuracy
  memtune bench accuracy --quick --strategies cost
  memtune bench accuracy --corpus real-dev --strategies cost,latency-slo
  memtune bench accuracy --strategies latency-slo --seed 4
  memtune bench accuracy --profiles config/lab/calibrated.toml -o out.json
  memtune bench accuracy --profiles config/lab/ --strategies cost")]
pub struct AccuracyArgs {
    /// Built-in profiles to tune: `lab` (calibrated + demo + 16 generated, physical models),
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
    /// Where to write the per-run JSON.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "memtune-bench-accuracy.json"
    )]
    output: PathBuf,
    /// Seed for the generated profiles and every noise draw; the same seed and binary give the
    /// same table (docs/benchmarks.md is seed 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
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
    let profiles = match &args.profiles {
        Some(path) => {
            ProfileSet::load(path)
                .map_err(|e| CliError::usage(e.to_string()))?
                .functions
        }
        None => {
            let corpus = match args.corpus {
                CorpusArg::Lab => Corpus::Lab,
                CorpusArg::RealDev => Corpus::RealDev,
                CorpusArg::RealReport => Corpus::RealReport,
            };
            accuracy::profiles(corpus, args.quick, args.seed)
        }
    };
    let spec = AccuracySpec {
        profiles,
        strategies: args.strategies.clone(),
        searches: vec!["grid", "adaptive"],
        seed: args.seed,
    };
    eprintln!(
        "tuning {} profiles x {} strategies x grid/adaptive on an in-process lab…",
        spec.profiles.len(),
        spec.strategies.len()
    );
    let report = accuracy::run(&spec)
        .await
        .map_err(|e| CliError::failed(format!("cannot run the lab: {e}")))?;
    print!("{}", render(&report));
    std::fs::write(
        &args.output,
        serde_json::to_string_pretty(&report).expect("plain data"),
    )
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

/// The summary table, plus adaptive's exploration relative to grid's.
pub fn render(report: &AccuracyReport) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "strategy",
        "search",
        "runs",
        "no rec.",
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
        out.push_str(&format!(
            "{strategy}: adaptive explores with {:.0}% of grid's GB-s (median over profiles)\n",
            ratio * 100.0
        ));
    }
    out
}
