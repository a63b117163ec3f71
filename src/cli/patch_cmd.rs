//! `memtune patch`: set the recommended memory in the templates teams deploy from.

use clap::Args;

use super::iac_args::IacArgs;
use super::CliError;
use memtune::iac::edit::unified_diff;
use memtune::iac::plan::plan;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune patch --from run.json template.yaml                 # what would change
  memtune patch --from run.json --diff infra/ > memory.patch  # a unified diff
  memtune patch --from run.json --write template.yaml serverless.yml main.tf

Edits only the memory numbers (and adds a per-function line when only some of the functions
inheriting SAM Globals or serverless provider memory change); comments, order, quoting and
indentation stay as they are. A value from a parameter, variable or expression is reported
with the suggested value, not changed. Deployed names are matched to template functions by
FunctionName / function_name / name, then by logical id or function key, then by the
CloudFormation and Serverless naming conventions; --mapping names the rest.")]
pub struct PatchArgs {
    #[command(flatten)]
    inputs: IacArgs,
    /// Print a unified diff of the changes (what is not patched goes to stderr).
    #[arg(long)]
    diff: bool,
    /// Edit the files in place.
    #[arg(long)]
    write: bool,
}

pub async fn run(args: PatchArgs) -> Result<(), CliError> {
    let matched = args.inputs.read()?;
    let plan = plan(&matched.templates, &matched.assignment).map_err(CliError::failed)?;
    let mut notes = plan.summary();
    for s in &matched.skipped {
        notes.push_str(&format!("skipped: {s}\n"));
    }
    if matched.without_recommendation > 0 {
        notes.push_str(&format!(
            "{} functions in the run have no recommendation (skipped or failed)\n",
            matched.without_recommendation
        ));
    }
    if args.diff {
        for file in &plan.files {
            let path = file.path.display().to_string();
            print!(
                "{}",
                unified_diff(path.trim_start_matches("./"), &file.before, &file.after)
            );
        }
        eprint!("{notes}");
    } else {
        print!("{notes}");
    }
    if args.write {
        for file in &plan.files {
            std::fs::write(&file.path, &file.after).map_err(|e| {
                CliError::failed(format!("cannot write {}: {e}", file.path.display()))
            })?;
        }
        eprintln!(
            "wrote {} files ({} changes)",
            plan.files.len(),
            plan.changes()
        );
    } else if !args.diff {
        println!(
            "{} changes in {} files; --write to apply, --diff to see them",
            plan.changes(),
            plan.files.len()
        );
    }
    Ok(())
}
