//! `memtune history`: the runs (fleet runs and `recommend --apply`) recorded in the state directory, or one function's
//! entries across them.

use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Table};

use super::output::{self, OutputFile};
use super::recommend_cmd::OutputFormat;
use super::CliError;
use memtune::history::{self, FunctionEntry, History, RunSummary};
use memtune::preflight::StateError;
use memtune::sweep::journal::state_dir;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune history                         # the latest runs
  memtune history --function orders-api   # what each run did with one function
  memtune history --format json

The history lives in $MEMTUNE_STATE_DIR/history.sqlite3 (default
~/.local/state/memtune/history.sqlite3). A run whose process died shows as interrupted.")]
pub struct HistoryArgs {
    /// One function's entries across runs.
    #[arg(long)]
    function: Option<String>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// table or json.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<OutputFormat>)]
    format: OutputFormat,
    #[command(flatten)]
    output: OutputFile,
}

pub async fn run(args: HistoryArgs) -> Result<(), CliError> {
    args.output.check()?;
    let dir = state_dir();
    let unusable = |e: history::HistoryError| {
        let e = StateError::History {
            path: history::path_in(&dir),
            reason: e.reason().to_string(),
        };
        CliError::usage(e.to_string())
    };
    let Some(history) = History::open_existing(&dir).map_err(unusable)? else {
        println!(
            "no runs recorded in {} yet: `memtune fleet --config FILE` and `memtune recommend FN --apply` record them",
            dir.display()
        );
        return Ok(());
    };
    let failed = |e: history::HistoryError| CliError::failed(e.to_string());
    let out = match &args.function {
        Some(name) => {
            let entries = history.function_history(name).map_err(failed)?;
            match args.format {
                OutputFormat::Json => json(&entries),
                OutputFormat::Table if entries.is_empty() => {
                    format!("no run in {} has seen {name}\n", history.path().display())
                }
                OutputFormat::Table => function_table(&entries),
            }
        }
        None => {
            let runs = history.runs(args.limit).map_err(failed)?;
            match args.format {
                OutputFormat::Json => json(&runs),
                OutputFormat::Table if runs.is_empty() => format!(
                    "no runs recorded in {} yet: `memtune fleet --config FILE` and `memtune recommend FN --apply` record them\n",
                    history.path().display()
                ),
                OutputFormat::Table => runs_table(&runs),
            }
        }
    };
    args.output.write(&out)?;
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plain data") + "\n"
}

fn right(text: String) -> Cell {
    Cell::new(text).set_alignment(CellAlignment::Right)
}

fn runs_table(runs: &[RunSummary]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "run", "started", "from", "account", "status", "tuned", "skipped", "failed", "applied",
        "USD",
    ]);
    for r in runs {
        let applied = match r.rolled_back {
            0 => r.applied.to_string(),
            n => format!("{} ({n} rolled back)", r.applied),
        };
        table.add_row(vec![
            Cell::new(&r.id),
            Cell::new(short_time(&r.started_at)),
            Cell::new(source(&r.config_path)),
            Cell::new(account(r)),
            Cell::new(r.status.as_str()),
            right(r.recommended.to_string()),
            right(r.skipped.to_string()),
            right(r.failed.to_string()),
            right(applied),
            right(format!("{:.4}", r.usd)),
        ]);
    }
    format!("{table}\n")
}

fn function_table(entries: &[FunctionEntry]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "run",
        "started",
        "account",
        "region",
        "MB",
        "recommended",
        "$/month saved",
        "status",
    ]);
    for e in entries {
        let status = match &e.reason {
            Some(reason) => format!("{}: {reason}", e.status),
            None => e.status.clone(),
        };
        table.add_row(vec![
            Cell::new(&e.run_id),
            Cell::new(short_time(&e.run_started_at)),
            Cell::new(&e.account),
            Cell::new(&e.region),
            right(e.memory_mb.to_string()),
            right(e.recommended_mb.map(|m| m.to_string()).unwrap_or_default()),
            right(
                e.monthly_savings_usd
                    .map(|s| format!("{s:.2}"))
                    .unwrap_or_default(),
            ),
            Cell::new(status),
        ]);
    }
    format!("{table}\n")
}

/// The account a `[[target]]` run acted in (its role's), else `-` (the caller's own).
fn account(r: &RunSummary) -> String {
    r.role
        .as_ref()
        .and_then(|role| role.role_arn.split(':').nth(4))
        .unwrap_or("-")
        .to_string()
}

/// What started a run: its fleet config, or `recommend FN` for a `memtune recommend --apply`.
fn source(config_path: &str) -> String {
    match config_path.strip_prefix("memtune recommend ") {
        Some(rest) => {
            let function = rest.split_whitespace().next().unwrap_or_default();
            format!("recommend {function}")
        }
        None => config_path.to_string(),
    }
}

/// `2026-11-27 09:15:02` from an RFC 3339 time.
fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}
