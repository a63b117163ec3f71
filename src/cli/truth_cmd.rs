//! `memtune lab truth`: the noise-free expectations benchmarks score against.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

use super::lab_profiles::ProfileArgs;
use super::output::{self, OutputFile};
use super::CliError;
use memtune_facts::pricing::PriceBook;
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};
use memtune_lab::backfill::Backfill;
use memtune_lab::capacity_truth::{self, CapacityTruth, Plan};
use memtune_lab::chain_truth::ChainSettings;
use memtune_lab::profiles::FunctionProfile;
use memtune_lab::truth::{self, FunctionTruth, SizeTruth};

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune lab truth                              # the demo fleet, readable sizes
  memtune lab truth --function orders-api --step 64
  memtune lab truth --fleet config/lab/calibrated.toml --sizes 128,1024,1769,3008
  memtune lab truth --synthetic 40 --format json -o truth.json   # every 1 MB step
  memtune lab truth --fleet config/lab/capacity.toml --capacity --cold-start-target 0.001
  memtune lab truth --fleet config/lab/chains.toml --chain checkout-api --memory auth-check=1024
  memtune lab truth --fleet config/lab/chains.toml --chain feed-aggregator --slo-ms 400")]
pub struct TruthArgs {
    #[command(flatten)]
    profiles: ProfileArgs,
    /// Only this function.
    #[arg(long)]
    function: Option<String>,
    /// Memory sizes to evaluate, in MB (comma separated).
    #[arg(long, value_delimiter = ',', conflicts_with = "step")]
    sizes: Vec<u32>,
    /// Evaluate 128 MB and every STEP MB above it up to 10240.
    #[arg(long, value_name = "MB")]
    step: Option<u32>,
    /// Region whose prices apply.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Price file (TOML, like config/pricing.toml); default: the built-in prices.
    #[arg(long, value_name = "FILE")]
    pricing: Option<PathBuf>,
    /// table: a readable subset of sizes unless --sizes/--step; json: every 1 MB step.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<Format>)]
    format: Format,
    /// Provisioned concurrency instead of memory: per function with an environment model, the
    /// exact cold starts and monthly cost of every level, and the cheapest level and two-step
    /// schedule meeting --cold-start-target, over the 14 days a lab started at --started-at
    /// backfills.
    #[arg(long)]
    capacity: bool,
    /// With --capacity: the highest share of invocations that may start cold (0..1).
    #[arg(long, default_value_t = 0.001, requires = "capacity")]
    cold_start_target: f64,
    /// With --capacity or --chain: when the lab started (RFC 3339), which fixes its
    /// backfilled window; default: now.
    #[arg(long)]
    started_at: Option<String>,
    #[command(flatten)]
    chain: super::chain_truth_cmd::ChainArgs,
    #[command(flatten)]
    output: OutputFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: TruthArgs) -> Result<(), CliError> {
    args.output.check()?;
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    let profiles = args.profiles.load()?;
    let functions = select(&profiles.functions, args.function.as_deref())?;
    if args.capacity {
        return capacity(&args, &functions, &book);
    }
    if let Some(entry) = &args.chain.chain {
        let started_ms = started_ms(args.started_at.as_deref())?;
        let backfill = Backfill::new(args.profiles.seed, started_ms);
        let settings = ChainSettings {
            book: &book,
            region: &args.region,
            samples: args.chain.samples,
            seed: args.profiles.seed,
            backfill,
        };
        let sizes = (!args.sizes.is_empty()).then_some(args.sizes.as_slice());
        let json = args.format == Format::Json;
        let text =
            super::chain_truth_cmd::run(&args.chain, entry, &profiles, &settings, sizes, json)?;
        return args.output.write(&text);
    }
    let sizes = evaluated_sizes(&args)?;
    let truths = truth::profile_truths(&functions, &sizes, &book, &args.region)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let text = match args.format {
        Format::Json => json(&truths, &book),
        Format::Table => {
            let shown = explicit_sizes(&args);
            let tables: String = truths.iter().map(|t| table(t, shown)).collect();
            format!(
                "{tables}Costs per 1M invocations at first-tier {} prices (as of {}); the free tier is not deducted.\n",
                args.region, book.as_of
            )
        }
    };
    args.output.write(&text)
}

fn select(
    functions: &[FunctionProfile],
    name: Option<&str>,
) -> Result<Vec<FunctionProfile>, CliError> {
    let Some(name) = name else {
        return Ok(functions.to_vec());
    };
    functions
        .iter()
        .find(|f| f.name == name)
        .map(|f| vec![f.clone()])
        .ok_or_else(|| {
            let known: Vec<&str> = functions.iter().take(8).map(|f| f.name.as_str()).collect();
            CliError::usage(format!(
                "no function '{name}' in the fleet (it has {}: {}{})",
                functions.len(),
                known.join(", "),
                if functions.len() > known.len() {
                    ", ..."
                } else {
                    ""
                }
            ))
        })
}

/// Whether the user chose the sizes (then a table shows all of them).
fn explicit_sizes(args: &TruthArgs) -> bool {
    !args.sizes.is_empty() || args.step.is_some()
}

/// The sizes to evaluate: the user's, else every 1 MB step (a table shows a subset of them,
/// but its optima still come from the full grid).
fn evaluated_sizes(args: &TruthArgs) -> Result<Vec<u32>, CliError> {
    if let Some(step) = args.step {
        if step == 0 || step > MAX_MEMORY_MB {
            return Err(CliError::usage(format!(
                "--step {step} must be between 1 and {MAX_MEMORY_MB} MB"
            )));
        }
        return Ok(truth::stepped_sizes(step));
    }
    if args.sizes.is_empty() {
        return Ok(truth::every_size());
    }
    if let Some(bad) = args
        .sizes
        .iter()
        .find(|m| !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(*m))
    {
        return Err(CliError::usage(format!(
            "--sizes: {bad} MB is outside Lambda's {MIN_MEMORY_MB}..{MAX_MEMORY_MB} MB"
        )));
    }
    let unique: BTreeSet<u32> = args.sizes.iter().copied().collect();
    Ok(unique.into_iter().collect())
}

fn json(truths: &[FunctionTruth], book: &PriceBook) -> String {
    let doc = serde_json::json!({
        "prices_as_of": book.as_of,
        "currency": book.currency,
        "functions": truths,
    });
    format!("{doc}\n")
}

fn table(t: &FunctionTruth, show_all: bool) -> String {
    let heading = format!(
        "{} ({}, {}, timeout {:.0} s, configured {} MB, cold starts {:.1}%{})",
        t.name,
        t.runtime,
        t.architecture.as_str(),
        t.timeout_ms / 1000.0,
        t.configured_memory_mb,
        t.cold_start_ratio * 100.0,
        if t.init_billed { ", INIT billed" } else { "" }
    );
    let marked: BTreeSet<u32> = [Some(t.configured_memory_mb), t.cheapest_mb, t.fastest_mb]
        .into_iter()
        .flatten()
        .collect();
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "MB",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "$/1M warm",
        "$/1M",
        "status",
        "",
    ]);
    for s in t.sizes.iter().filter(|s| {
        show_all || truth::TABLE_SIZES.contains(&s.memory_mb) || marked.contains(&s.memory_mb)
    }) {
        table.add_row(row(s, t));
    }
    for column in table.column_iter_mut().take(6) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let mix = match &t.test_event {
        Some(test) => format!(
            "\nrows: the production mix; a test event (no lab_request_class) would find \
             cheapest {}, fastest {}",
            size_or_none(test.cheapest_mb),
            size_or_none(test.fastest_mb)
        ),
        None => String::new(),
    };
    format!(
        "{heading}\n{table}\ncheapest feasible: {}   fastest: {}{mix}\n\n",
        size_or_none(t.cheapest_mb),
        size_or_none(t.fastest_mb)
    )
}

fn row(s: &SizeTruth, t: &FunctionTruth) -> Vec<Cell> {
    let mut marks = Vec::new();
    if s.memory_mb == t.configured_memory_mb {
        marks.push("configured");
    }
    if Some(s.memory_mb) == t.cheapest_mb {
        marks.push("cheapest");
    }
    if Some(s.memory_mb) == t.fastest_mb {
        marks.push("fastest");
    }
    // Durations of a size that is killed for lack of memory mean nothing.
    let ms = |v: f64| {
        if s.out_of_memory {
            "-".to_string()
        } else {
            format!("{v:.1}")
        }
    };
    vec![
        Cell::new(s.memory_mb),
        Cell::new(ms(s.mean_ms)),
        Cell::new(ms(s.p50_ms)),
        Cell::new(ms(s.p99_ms)),
        Cell::new(format!("{:.2}", s.cost_warm_usd * 1e6)),
        Cell::new(format!("{:.2}", s.cost_usd * 1e6)),
        Cell::new(status(s)),
        Cell::new(marks.join(", ")),
    ]
}

fn status(s: &SizeTruth) -> String {
    if s.out_of_memory {
        "out of memory".into()
    } else if s.p99_at_timeout {
        format!("times out {:.0}%", s.timeout_probability * 100.0)
    } else if s.timeout_probability > 1e-4 {
        format!("ok (timeouts {:.2}%)", s.timeout_probability * 100.0)
    } else {
        "ok".into()
    }
}

fn size_or_none(m: Option<u32>) -> String {
    m.map_or_else(|| "none (no feasible size)".into(), |m| format!("{m} MB"))
}

fn capacity(
    args: &TruthArgs,
    functions: &[FunctionProfile],
    book: &PriceBook,
) -> Result<(), CliError> {
    if !(0.0..1.0).contains(&args.cold_start_target) {
        return Err(CliError::usage(format!(
            "--cold-start-target {} must be a share within 0..1 (0.001 = 0.1%)",
            args.cold_start_target
        )));
    }
    let started_ms = started_ms(args.started_at.as_deref())?;
    let backfill = Backfill::new(args.profiles.seed, started_ms);
    let truths = capacity_truth::capacity_truths(
        functions,
        backfill,
        book,
        &args.region,
        args.cold_start_target,
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    if truths.is_empty() {
        return Err(CliError::usage(
            "no function has an environment model ([function.traffic.environments]); \
             see config/lab/capacity.toml",
        ));
    }
    let text = match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "prices_as_of": book.as_of,
                "currency": book.currency,
                "functions": truths,
            });
            format!("{doc}\n")
        }
        Format::Table => truths.iter().map(capacity_table).collect(),
    };
    args.output.write(&text)
}

/// When the lab started, which fixes its backfilled window: the given RFC 3339 time or now.
fn started_ms(started_at: Option<&str>) -> Result<i64, CliError> {
    match started_at {
        None => Ok(chrono::Utc::now().timestamp_millis()),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|e| {
                CliError::usage(format!(
                    "--started-at '{text}' is not an RFC 3339 time ({e}); e.g. 2026-12-07T12:00:00Z"
                ))
            }),
    }
}

fn capacity_table(t: &CapacityTruth) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "level",
        "cold starts",
        "rate",
        "$/month",
        "",
    ]);
    let best = t.cheapest_level.as_ref().map(|c| &c.plan);
    for l in &t.levels {
        table.add_row(vec![
            Cell::new(plan_text(&l.plan)),
            Cell::new(l.cold_starts),
            Cell::new(format!("{:.4}%", l.cold_start_rate * 100.0)),
            Cell::new(format!("{:.2}", l.monthly_usd)),
            Cell::new(if Some(&l.plan) == best {
                "cheapest meeting target"
            } else {
                ""
            }),
        ]);
    }
    let schedule = t.cheapest_schedule.as_ref().map_or_else(
        || "none meets the target".to_string(),
        |s| {
            format!(
                "{} ({:.4}% cold, ${:.2}/month)",
                plan_text(&s.plan),
                s.cold_start_rate * 100.0,
                s.monthly_usd
            )
        },
    );
    format!(
        "{} (alias {}, {:.1} days, peak concurrency {}, target {:.4}%)\n{table}\ncheapest two-step schedule: {schedule}\n\n",
        t.name,
        t.alias.as_deref().unwrap_or("none"),
        t.window_days,
        t.peak_concurrency,
        t.cold_start_target * 100.0
    )
}

fn plan_text(plan: &Plan) -> String {
    match plan {
        Plan::Level(l) => l.to_string(),
        Plan::Schedule(steps) => steps
            .iter()
            .map(|s| format!("{} from {:02}:00", s.level, s.hour))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
