//! `memtune lab truth --chain`: a call chain's end-to-end truth under a memory assignment,
//! and the cheapest assignment meeting an end-to-end objective.

use std::collections::BTreeMap;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

use super::CliError;
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};
use memtune_lab::chain_truth::{self, ChainModel, ChainSearch, ChainSettings, ChainTruth};
use memtune_lab::profiles::ProfileSet;

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// A call chain, named by its entry function: its end-to-end truth (with --memory, or
    /// the configured sizes) and, with --slo-ms, the cheapest assignment meeting it.
    #[arg(long, value_name = "ENTRY", conflicts_with_all = ["capacity", "function"])]
    pub chain: Option<String>,
    /// With --chain: memory per function, as NAME=MB,...; unnamed functions keep their
    /// configured memory.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAME=MB,...",
        requires = "chain"
    )]
    memory: Vec<String>,
    /// With --chain: the end-to-end objective, in ms, at --percentile (cold starts
    /// included); searches every assignment of the grid (128..3008 MB by 64, or --sizes).
    #[arg(long, value_name = "MS", requires = "chain")]
    slo_ms: Option<f64>,
    /// With --slo-ms: the percentile the objective holds at.
    #[arg(long, default_value_t = 99.0, requires = "slo_ms")]
    percentile: f64,
    /// With --chain: draws per invocation of the chain (Latin hypercube, seeded by --seed).
    #[arg(long, default_value_t = chain_truth::DEFAULT_SAMPLES, requires = "chain")]
    pub samples: usize,
}

/// The text `lab truth --chain` prints. `sizes`: the grid the user chose, if any.
pub fn run(
    args: &ChainArgs,
    entry: &str,
    profiles: &ProfileSet,
    settings: &ChainSettings,
    sizes: Option<&[u32]>,
    json: bool,
) -> Result<String, CliError> {
    let memory = parse_memory(&args.memory)?;
    if let Some(slo) = args.slo_ms {
        if !(slo.is_finite() && slo > 0.0) {
            return Err(CliError::usage(format!(
                "--slo-ms {slo} must be a positive number of milliseconds"
            )));
        }
    }
    if let Some(bad) = sizes
        .unwrap_or_default()
        .iter()
        .find(|m| !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(*m))
    {
        return Err(CliError::usage(format!(
            "--sizes: {bad} MB is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB} MB"
        )));
    }
    let configured = |name: &str| profiles.function(name).map_or(0, |f| f.memory_mb);
    // The grid searched, plus the sizes of the assignment described.
    let mut evaluated: Vec<u32> = match (args.slo_ms, sizes) {
        (_, Some(sizes)) => sizes.to_vec(),
        (Some(_), None) => chain_truth::default_grid(),
        (None, None) => Vec::new(),
    };
    let usage = |e: chain_truth::ChainTruthError| CliError::usage(e.to_string());
    let names: Vec<String> = ChainModel::new(profiles, entry, &[MIN_MEMORY_MB], settings)
        .map_err(usage)?
        .function_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    evaluated.extend(
        names
            .iter()
            .map(|n| memory.get(n).copied().unwrap_or_else(|| configured(n))),
    );
    let model = ChainModel::new(profiles, entry, &evaluated, settings).map_err(usage)?;
    let truth = model.truth(&memory, configured).map_err(usage)?;
    let search = args
        .slo_ms
        .map(|slo| {
            let grid_model = match sizes {
                Some(_) => None,
                None => Some(
                    ChainModel::new(profiles, entry, &chain_truth::default_grid(), settings)
                        .map_err(usage)?,
                ),
            };
            grid_model
                .as_ref()
                .unwrap_or(&model)
                .cheapest(slo, args.percentile)
                .map_err(usage)
        })
        .transpose()?;
    Ok(if json {
        let doc = serde_json::json!({
            "prices_as_of": settings.book.as_of,
            "currency": settings.book.currency,
            "region": settings.region,
            "samples": settings.samples,
            "seed": settings.seed,
            "truth": truth,
            "search": search,
        });
        format!("{doc}\n")
    } else {
        let mut text = truth_text(&truth, "assignment");
        if let Some(search) = &search {
            text.push_str(&search_text(search));
        }
        text.push_str(&format!(
            "{} draws per invocation (seed {}); costs per 1M requests at first-tier {} prices \
             (as of {}).\n",
            settings.samples, settings.seed, settings.region, settings.book.as_of
        ));
        text
    })
}

/// `NAME=MB,...` as a map, each size within Lambda's range.
fn parse_memory(items: &[String]) -> Result<BTreeMap<String, u32>, CliError> {
    let mut memory = BTreeMap::new();
    for item in items {
        let parsed = item
            .split_once('=')
            .and_then(|(name, mb)| Some((name.trim(), mb.trim().parse::<u32>().ok()?)));
        let Some((name, mb)) = parsed.filter(|(n, _)| !n.is_empty()) else {
            return Err(CliError::usage(format!(
                "--memory '{item}' is not NAME=MB (e.g. --memory auth-check=1024,db-reader=256)"
            )));
        };
        if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&mb) {
            return Err(CliError::usage(format!(
                "--memory {name}={mb}: {mb} MB is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB} MB"
            )));
        }
        memory.insert(name.to_string(), mb);
    }
    Ok(memory)
}

fn truth_text(t: &ChainTruth, heading: &str) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "function",
        "MB",
        "calls",
        "cold starts",
        "$/1M",
    ]);
    for f in &t.functions {
        table.add_row(vec![
            Cell::new(&f.name),
            Cell::new(f.memory_mb),
            Cell::new(f.invocations),
            Cell::new(format!("{:.2}%", f.cold_start_probability * 100.0)),
            Cell::new(format!("{:.2}", f.cost_usd * 1e6)),
        ]);
    }
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let (c, w) = (t.end_to_end, t.end_to_end_warm);
    format!(
        "chain {} ({heading})\n{table}\nend to end: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms \
         (without cold starts: p50 {:.1}, p90 {:.1}, p99 {:.1})\ncost: ${:.2} per 1M requests\n\n",
        t.entry,
        c.p50_ms,
        c.p90_ms,
        c.p99_ms,
        w.p50_ms,
        w.p90_ms,
        w.p99_ms,
        t.cost_usd * 1e6
    )
}

fn search_text(s: &ChainSearch) -> String {
    let (lo, hi) = (
        s.sizes.first().copied().unwrap_or(0),
        s.sizes.last().copied().unwrap_or(0),
    );
    let heading = format!(
        "cheapest meeting p{} <= {} ms over {} sizes {lo}..{hi} MB: {} assignments, {} evaluated",
        s.percentile,
        s.slo_ms,
        s.sizes.len(),
        s.assignments,
        s.evaluated
    );
    match &s.cheapest {
        Some(t) => truth_text(t, &heading),
        None => format!("{heading}\nno assignment meets the objective\n\n"),
    }
}
