//! `memtune rollback RUN_ID`: revert what a run (fleet or `recommend --apply`) applied, from the history's audit log.

use std::io::IsTerminal;

use clap::Args;

use super::aws_args::{platform_error, AwsArgs};
use super::CliError;
use memtune::apply::change::ApplyContext;
use memtune::apply::rollback;
use memtune::history::{self, AuditEntry, History};
use memtune::platform::assume::assume_role;
use memtune::platform::aws::AwsLambda;
use memtune::sweep::journal::state_dir;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune rollback 20261127-091502-a1b2 --dry-run    # what would be reverted
  memtune rollback 20261127-091502-a1b2 --yes

Each change the run applied is reverted only if the function (or the alias) is still as
memtune left it: memory back to what it was, or the alias back to its previous version (and
the version memtune published deleted, unless something else references it). A function
changed since is reported and left alone. Run ids: `memtune history`. A run over a
`[[target]]` account and region is reverted as the role it acted as (assumed with your
credentials, as the run did).

Exit codes: 0 everything reverted (or nothing to revert), 1 some changes could not be
reverted, 2 bad input (an unknown run id).")]
pub struct RollbackArgs {
    /// The run whose changes to revert (see `memtune history`).
    run_id: String,
    /// Do not ask first.
    #[arg(long)]
    yes: bool,
    /// Say what would be reverted; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: RollbackArgs) -> Result<(), CliError> {
    let dir = state_dir();
    let Some(history) =
        History::open_existing(&dir).map_err(|e| CliError::failed(e.to_string()))?
    else {
        return Err(CliError::usage(format!(
            "unknown run id '{}': no run is recorded in {} (`memtune history` lists runs)",
            args.run_id,
            dir.display()
        )));
    };
    let failed = |e: history::HistoryError| CliError::failed(e.to_string());
    let Some(run) = history.run(&args.run_id).map_err(failed)? else {
        return Err(CliError::usage(format!(
            "unknown run id '{}': `memtune history` lists the runs recorded in {}",
            args.run_id,
            history.path().display()
        )));
    };
    let pending: Vec<&AuditEntry> = run
        .applied_changes
        .iter()
        .filter(|c| c.rolled_back_at.is_none())
        .collect();
    if pending.is_empty() {
        println!(
            "run {}: nothing to roll back ({} changes applied, {} already rolled back)",
            args.run_id, run.summary.applied, run.summary.rolled_back
        );
        return Ok(());
    }
    if !args.yes && !args.dry_run {
        confirm(&args.run_id, pending.len())?;
    }
    let mut aws = args.aws.clone();
    aws.region = aws.region.or(Some(run.summary.region.clone()));
    let mut sdk = aws.load().await?;
    // A `[[target]]` run's changes are reverted as the role that made them, assumed the way
    // the run assumed it.
    if let Some(role) = &run.summary.role {
        let region = aws.region.clone().unwrap_or_default();
        sdk = assume_role(&sdk, role, &region)
            .await
            .map_err(|e| platform_error(&format!("acting as {}", role.role_arn), &e))?;
    }
    let api = AwsLambda::new(&sdk);
    let ctx = ApplyContext {
        run_id: &args.run_id,
        state_dir: &dir,
        region: aws.region.clone(),
        endpoint_url: aws.options().endpoint_url,
        role: run.summary.role.clone(),
    };
    let mut left = 0;
    for entry in pending {
        let change = &entry.change;
        let outcome = if args.dry_run {
            rollback::check(&api, change)
                .await
                .map(|()| format!("would set {}", rollback::describe(change)))
        } else {
            rollback::revert(&api, &ctx, change).await
        };
        match outcome {
            Ok(done) => {
                println!("{}: {done}", change.function);
                if !args.dry_run {
                    let at = chrono::Utc::now().to_rfc3339();
                    history.mark_rolled_back(entry.id, &at).map_err(failed)?;
                }
            }
            Err(why) => {
                left += 1;
                println!("{}: not reverted: {why}", change.function);
            }
        }
    }
    if args.dry_run {
        println!("dry run: nothing was changed");
    }
    match left {
        0 => Ok(()),
        n => Err(CliError::failed(format!(
            "{n} changes of run {} could not be reverted (see above)",
            args.run_id
        ))),
    }
}

fn confirm(run_id: &str, changes: usize) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "rollback needs --yes when there is no terminal to confirm on (or --dry-run)",
        ));
    }
    eprint!("revert {changes} changes applied by run {run_id}? [y/N] ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("not confirmed: nothing was changed"))
    }
}
