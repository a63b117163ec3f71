//! `memtune check`: the CI gate on template memory versus a run's recommendations.

use clap::Args;

use super::iac_args::IacArgs;
use super::CliError;
use memtune::iac::check::{markdown, rows};

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune check --from run.json template.yaml
  memtune check --from run.json --tolerance-pct 25 infra/ > comment.md

Prints a Markdown summary for a pull request. Exit codes: 0 every matched function is within
tolerance, 1 some differ by more (relative to the template's value), 2 bad input.")]
pub struct CheckArgs {
    /// A `memtune fleet --format json` run or a `memtune recommend --format json` document.
    #[arg(long, value_name = "RUN.json")]
    from: std::path::PathBuf,
    #[command(flatten)]
    inputs: IacArgs,
    /// Allowed relative difference between template and recommended memory, in percent.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    tolerance_pct: f64,
}

pub async fn run(args: CheckArgs) -> Result<(), CliError> {
    if !(args.tolerance_pct.is_finite() && args.tolerance_pct >= 0.0) {
        return Err(CliError::usage(
            "--tolerance-pct must be a percentage, 0 or more",
        ));
    }
    let matched = args.inputs.read(Some(&args.from))?;
    let rows = rows(&matched.templates, &matched.assignment);
    let (text, beyond) = markdown(
        &rows,
        &matched.assignment,
        &matched.assignment.unmatched,
        args.tolerance_pct,
    );
    print!("{text}");
    for s in &matched.skipped {
        eprintln!("skipped: {s}");
    }
    if beyond {
        return Err(CliError::failed(format!(
            "template memory differs from the recommendation by more than {}%",
            args.tolerance_pct
        )));
    }
    Ok(())
}
