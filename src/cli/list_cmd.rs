//! `memtune list`: the functions in the account and region (or the lab) that memtune can
//! tune, with their configuration and when a fleet run last tuned them.

use std::collections::BTreeMap;

use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use serde::Serialize;

use super::aws_args::{platform_error, AwsArgs};
use super::output::{self, OutputFile};
use super::recommend_cmd::OutputFormat;
use super::CliError;
use memtune::history::History;
use memtune::platform::aws::AwsLambda;
use memtune::platform::{FunctionConfig, LambdaApi};
use memtune::sweep::journal;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune list
  memtune list --region eu-west-1 --format json
  AWS_ENDPOINT_URL=http://127.0.0.1:9001 memtune list     # a running `memtune lab`

Reads ListFunctions (every page); \"last tuned\" comes from the history in the state
directory when there is one (it is never created here). Invokes and changes nothing.")]
pub struct ListArgs {
    /// table or json.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<OutputFormat>)]
    format: OutputFormat,
    #[command(flatten)]
    output: OutputFile,
    #[command(flatten)]
    aws: AwsArgs,
}

/// The latest finished fleet run that recommended a function a size.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct LastTuned {
    run_id: String,
    /// When that run started (RFC 3339).
    at: String,
}

/// One function as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Listed {
    name: String,
    memory_mb: u32,
    runtime: Option<String>,
    architecture: String,
    last_modified: String,
    last_tuned: Option<LastTuned>,
}

#[derive(Debug, Serialize)]
struct Listing {
    region: String,
    functions: Vec<Listed>,
}

pub async fn run(args: ListArgs) -> Result<(), CliError> {
    args.output.check()?;
    let config = args.aws.load().await?;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let mut functions = AwsLambda::new(&config)
        .list_functions()
        .await
        .map_err(|e| platform_error("listing functions", &e))?;
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    let tuned = last_tuned();
    let listing = Listing {
        region,
        functions: functions.iter().map(|f| listed(f, &tuned)).collect(),
    };
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&listing).expect("plain data") + "\n",
        OutputFormat::Table => table(&listing),
    };
    args.output.write(&text)
}

fn listed(f: &FunctionConfig, tuned: &BTreeMap<String, LastTuned>) -> Listed {
    Listed {
        name: f.name.clone(),
        memory_mb: f.memory_mb,
        runtime: f.runtime.clone(),
        architecture: f.architecture.clone(),
        last_modified: f.last_modified.clone(),
        last_tuned: tuned.get(&f.name).cloned(),
    }
}

/// Every function's last tuning, when a history exists; an unreadable one is said once and
/// the list goes on without it.
fn last_tuned() -> BTreeMap<String, LastTuned> {
    let read = History::open_existing(&journal::state_dir()).and_then(|found| {
        let Some(history) = found else {
            return Ok(BTreeMap::new());
        };
        Ok(history
            .last_tunings()?
            .into_iter()
            .map(|(name, t)| {
                let at = t
                    .started_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let run_id = t.run_id;
                (name, LastTuned { run_id, at })
            })
            .collect())
    });
    read.unwrap_or_else(|e| {
        eprintln!("memtune: not showing when functions were last tuned: {e}");
        BTreeMap::new()
    })
}

fn table(listing: &Listing) -> String {
    let count = memtune::report::count(listing.functions.len(), "function");
    if listing.functions.is_empty() {
        return format!("no functions in {}\n", listing.region);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "function",
        "MB",
        "runtime",
        "arch",
        "last modified",
        "last tuned",
    ]);
    for f in &listing.functions {
        table.add_row(vec![
            f.name.clone(),
            f.memory_mb.to_string(),
            f.runtime.clone().unwrap_or_else(|| "-".into()),
            f.architecture.clone(),
            minutes(&f.last_modified),
            f.last_tuned
                .as_ref()
                .map(|t| format!("{} ({})", minutes(&t.at), t.run_id))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    if let Some(column) = table.column_mut(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    format!("{table}\n{count} in {}\n", listing.region)
}

/// `2026-12-07T03:11:42.123+0000` -> `2026-12-07 03:11`: what a person reads in a table.
fn minutes(timestamp: &str) -> String {
    match (timestamp.get(..10), timestamp.get(11..16)) {
        (Some(day), Some(time)) if timestamp.as_bytes().get(10) == Some(&b'T') => {
            format!("{day} {time}")
        }
        _ => timestamp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_to_the_minute() {
        assert_eq!(minutes("2026-12-07T03:11:42.123+0000"), "2026-12-07 03:11");
        assert_eq!(minutes("2026-12-07T03:11:42Z"), "2026-12-07 03:11");
        assert_eq!(minutes(""), "");
    }

    #[test]
    fn one_function_is_singular() {
        let listing = Listing {
            region: "us-east-1".into(),
            functions: vec![listed(
                &FunctionConfig::sample("orders", 512),
                &BTreeMap::new(),
            )],
        };
        assert!(table(&listing).ends_with("\n1 function in us-east-1\n"));
    }
}
