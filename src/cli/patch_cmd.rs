//! `memtune patch`: set the recommended memory, and given concurrency levels, in the
//! templates teams deploy from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::iac_args::IacArgs;
use super::CliError;
use memtune::iac::edit::unified_diff;
use memtune::iac::levels::{self, Level};
use memtune::iac::matching::{assign, Assignment};
use memtune::iac::plan::{plan_all, Wanted};
use memtune::iac::template::Kind;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune patch --from run.json template.yaml                 # what would change
  memtune patch --from run.json --diff infra/ > memory.patch  # a unified diff
  memtune patch --from run.json --write template.yaml serverless.yml main.tf
  memtune patch --provisioned orders-api:live=5 --reserved orders-api=50 template.yaml

Edits only the memory numbers (and adds a per-function line when only some of the functions
inheriting SAM Globals or serverless provider memory change); comments, order, quoting and
indentation stay as they are. A value from a parameter, variable or expression is reported
with the suggested value, not changed. Deployed names are matched to template functions by
FunctionName / function_name / name, then by logical id or function key, then by the
CloudFormation and Serverless naming conventions; --mapping names the rest.

--provisioned and --reserved write concurrency levels the same way: on a SAM function
(ProvisionedConcurrencyConfig, adding AutoPublishAlias when it has none;
ReservedConcurrentExecutions), a CloudFormation function (ReservedConcurrentExecutions; the
ProvisionedConcurrencyConfig of its AWS::Lambda::Alias named ALIAS), a Serverless function (provisionedConcurrency,
reservedConcurrency) or Terraform (reserved_concurrent_executions on the function; the
aws_lambda_provisioned_concurrency_config for the function and qualifier ALIAS, added when
there is none).")]
pub struct PatchArgs {
    /// A `memtune fleet --format json` run or a `memtune recommend --format json` document
    /// whose memory recommendations to write.
    #[arg(long, value_name = "RUN.json", required_unless_present_any = ["provisioned", "reserved"])]
    from: Option<PathBuf>,
    /// Provisioned concurrency N for function FN (on alias ALIAS, checked against the
    /// template's alias); repeatable.
    #[arg(long, value_name = "FN[:ALIAS]=N")]
    provisioned: Vec<String>,
    /// Reserved concurrency N for function FN; repeatable.
    #[arg(long, value_name = "FN=N")]
    reserved: Vec<String>,
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
    let provisioned =
        levels::parse(Kind::Provisioned, &args.provisioned).map_err(CliError::usage)?;
    let reserved = levels::parse(Kind::Reserved, &args.reserved).map_err(CliError::usage)?;
    let matched = args.inputs.read(args.from.as_deref())?;
    let no_aliases = BTreeMap::new();
    let concurrency: Vec<(Kind, Assignment, BTreeMap<String, String>)> = [
        (Kind::Provisioned, &provisioned),
        (Kind::Reserved, &reserved),
    ]
    .into_iter()
    .filter(|(_, given)| !given.is_empty())
    .map(|(kind, given)| {
        let recs = levels::recommendations(given);
        let assignment = assign(&matched.templates, &recs, &matched.mapping);
        (kind, assignment, aliases(given))
    })
    .collect();
    let mut wanted = Vec::new();
    if args.from.is_some() {
        wanted.push(Wanted {
            kind: Kind::Memory,
            assignment: &matched.assignment,
            aliases: &no_aliases,
        });
    }
    wanted.extend(
        concurrency
            .iter()
            .map(|(kind, assignment, aliases)| Wanted {
                kind: *kind,
                assignment,
                aliases,
            }),
    );
    let plan = plan_all(&matched.templates, &wanted).map_err(CliError::failed)?;
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

fn aliases(levels: &[Level]) -> BTreeMap<String, String> {
    levels
        .iter()
        .filter_map(|l| Some((l.function.clone(), l.alias.clone()?)))
        .collect()
}
