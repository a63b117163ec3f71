//! `memtune restore`: finish what an interrupted run left behind.

use clap::Args;

use super::aws_args::AwsArgs;
use super::CliError;
use memtune::platform::assume::assume_role;
use memtune::platform::aws::AwsLambda;
use memtune::preflight::state;
use memtune::sweep::journal::{self, state_dir, JournalState, Unreadable};
use memtune::sweep::restore::{describe, restore_from_disk};

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune restore                      # every interrupted run in the state directory
  memtune restore --run 20261127-0915-a1b2
  MEMTUNE_STATE_DIR=/var/lib/memtune memtune restore --function orders-api

For each function an interrupted run touched, memtune puts $LATEST's original memory back
(memory alone: other settings someone changed meanwhile are kept and named; memory set by
someone else to a size the run never set is reported and left alone) and deletes every
version and alias the run created. Journals live in $MEMTUNE_STATE_DIR
(default ~/.local/state/memtune/journal). A journal that cannot be read is never skipped: its
path is printed with what to do, and the exit code is 1.")]
pub struct RestoreArgs {
    /// Only this run.
    #[arg(long)]
    run: Option<String>,
    /// Only this function.
    #[arg(long)]
    function: Option<String>,
    /// Also restore runs whose process still seems to be alive.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: RestoreArgs) -> Result<(), CliError> {
    let dir = state_dir();
    let journals = journal::scan(&dir)
        .map_err(|e| CliError::failed(format!("cannot read journals in {}: {e}", dir.display())))?;
    let pending: Vec<JournalState> = journals
        .unfinished
        .into_iter()
        .filter(|j| args.run.as_ref().is_none_or(|r| *r == j.run_id))
        // A temporary copy's journal belongs to the function it copies too.
        .filter(|j| {
            args.function.as_ref().is_none_or(|f| {
                *f == j.function || j.clone.as_ref().is_some_and(|c| c.source == *f)
            })
        })
        .collect();
    // A journal that cannot be read is reported, never skipped: memtune cannot restore from
    // it, and someone must check its function by hand.
    let unreadable: Vec<Unreadable> = journals
        .unreadable
        .into_iter()
        .filter(|j| {
            let run = j.run_id.as_deref();
            args.run
                .as_deref()
                .is_none_or(|r| run.is_none_or(|id| id == r))
        })
        .filter(|j| args.function.as_ref().is_none_or(|f| j.may_be_of(f)))
        .collect();
    if pending.is_empty() && unreadable.is_empty() {
        println!("nothing to restore in {}", dir.display());
        return Ok(());
    }
    if !pending.is_empty() {
        // Restoring appends to each journal and archives it: one line now, not one per journal.
        state::check_journals(&dir).map_err(|e| CliError::usage(e.to_string()))?;
    }
    for bad in &unreadable {
        println!("{}", bad.describe());
    }
    let mut trouble = unreadable.len();
    for state in &pending {
        if journal::process_alive(state.pid) && !args.force {
            println!(
                "{}: run {} is still in progress (pid {}); skipped (use --force if that process is gone)",
                state.function, state.run_id, state.pid
            );
            trouble += 1;
            continue;
        }
        // Reconnect where the run was working unless told otherwise.
        let mut aws = args.aws.clone();
        aws.region = aws.region.or_else(|| state.region.clone());
        aws.endpoint_url = aws.endpoint_url.or_else(|| state.endpoint_url.clone());
        let mut config = aws.load().await?;
        // A run over [[target]] accounts acted as a role: restore as that role, in the
        // function's account.
        if let Some(role) = &state.role {
            let region = aws.region.clone().unwrap_or_default();
            match assume_role(&config, role, &region).await {
                Ok(assumed) => config = assumed,
                Err(e) => {
                    println!("{}: restore failed: {e}", state.function);
                    trouble += 1;
                    continue;
                }
            }
        }
        let api = AwsLambda::new(&config);
        match restore_from_disk(&api, state).await {
            Ok(report) => {
                println!("{}", describe(&report));
                if !report.clean() {
                    trouble += 1;
                }
            }
            Err(e) => {
                println!("{}: restore failed: {e}", state.function);
                trouble += 1;
            }
        }
    }
    if trouble > 0 {
        return Err(CliError::failed(format!(
            "{trouble} of {} journals need attention (see above)",
            pending.len() + unreadable.len()
        )));
    }
    Ok(())
}
