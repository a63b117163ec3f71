//! `--format FORMAT` of `recommend`, `fleet` and `demo`, and `memtune report`: a stored run
//! rendered again in any format.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::output::{self, OutputFile};
use super::CliError;
use memtune::history::{self, History};
use memtune::report::csv::Csv;
use memtune::report::html::Html;
use memtune::report::json::Json;
use memtune::report::markdown::Markdown;
use memtune::report::table::TableRenderer;
use memtune::report::{Renderer, Report};
use memtune::sweep::journal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A terminal table.
    Table,
    /// The versioned JSON documents (docs/json-schema.md).
    Json,
    /// A pull-request comment within GitHub's 65,536-character limit.
    Markdown,
    /// One self-contained page with SVG charts.
    Html,
    /// One row per function per sampled size.
    Csv,
}

impl ReportFormat {
    pub fn file_extension(self) -> &'static str {
        match self {
            ReportFormat::Table => "txt",
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
            ReportFormat::Csv => "csv",
        }
    }
}

/// Renders a run; `markdown` sets where the full report is and the command that made it.
pub fn render(report: &Report, format: ReportFormat, markdown: Markdown) -> String {
    let renderer: &dyn Renderer = match format {
        ReportFormat::Table => &TableRenderer,
        ReportFormat::Json => &Json,
        ReportFormat::Markdown => &markdown,
        ReportFormat::Html => &Html,
        ReportFormat::Csv => &Csv,
    };
    renderer.render(report)
}

/// This process's command line, for "the command to reproduce", as a shell would take it.
pub fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 {
                "memtune".into()
            } else {
                shell_word(&arg)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune fleet --config fleet.toml --format json -o run.json
  memtune report --from run.json --format markdown -o comment.md
  memtune report --from run.json --format html -o report.html
  memtune report --run 20261127-030000-1a2b --format markdown   # a run from `memtune history`
  memtune report --from run.json --format markdown --full-report https://ci.example/artifacts/report.html

RUN.json is what `memtune fleet --format json` or `memtune recommend --format json` printed;
which of the two is detected from its content.")]
pub struct ReportArgs {
    /// A stored run (fleet JSON or a recommend document).
    #[arg(
        long,
        value_name = "RUN.json",
        group = "source",
        required_unless_present = "run"
    )]
    from: Option<PathBuf>,
    /// A fleet run from the history (`memtune history` lists them).
    #[arg(long, value_name = "RUN_ID", group = "source")]
    run: Option<String>,
    /// table, json, markdown, html or csv.
    #[arg(long, value_name = "FORMAT", value_parser = output::format::<ReportFormat>)]
    format: ReportFormat,
    #[command(flatten)]
    output: OutputFile,
    /// Where the full report is (a path or a link), named when the markdown is truncated.
    #[arg(long)]
    full_report: Option<String>,
}

/// Where the run to render comes from.
enum Source {
    File(PathBuf),
    History(String),
}

fn load(source: &Source) -> Result<Report, CliError> {
    match source {
        Source::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("--from: cannot read {}: {e}", path.display()))
            })?;
            Report::from_json(&text)
                .map_err(|e| CliError::usage(format!("--from {}: {e}", path.display())))
        }
        Source::History(id) => {
            let state_dir = journal::state_dir();
            let failed = |e: history::HistoryError| CliError::failed(e.to_string());
            let Some(history) = History::open_existing(&state_dir).map_err(failed)? else {
                return Err(CliError::usage(format!(
                    "--run {id}: no history in {} yet (runs of `memtune fleet` are recorded there)",
                    state_dir.display()
                )));
            };
            // A fleet run is rendered from its functions' rows; `recommend --apply` stored
            // its document whole.
            if let Some(run) = history.fleet_run(id).map_err(failed)? {
                return Ok(Report::Fleet(Box::new(run)));
            }
            let text = history.report_json(id).map_err(failed)?.ok_or_else(|| {
                CliError::usage(format!(
                    "--run {id}: no finished run with that id in the history; `memtune \
                         history` lists them"
                ))
            })?;
            Report::from_json(&text).map_err(|e| CliError::failed(format!("--run {id}: {e}")))
        }
    }
}

pub async fn run(args: ReportArgs) -> Result<(), CliError> {
    args.output.check()?;
    let source = match (args.from, args.run) {
        (Some(path), _) => Source::File(path),
        (None, Some(id)) => Source::History(id),
        (None, None) => return Err(CliError::usage("give --from RUN.json or --run RUN_ID")),
    };
    let report = load(&source)?;
    let markdown = Markdown {
        full_report: args.full_report,
        ..Markdown::default()
    };
    args.output.write(&render(&report, args.format, markdown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_word("--config"), "--config");
        assert_eq!(shell_word("fleet.toml"), "fleet.toml");
        assert_eq!(shell_word("{\"id\": 1}"), "'{\"id\": 1}'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
