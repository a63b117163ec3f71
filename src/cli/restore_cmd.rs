//! `memtune restore`: finish what an interrupted run left behind.

use clap::Args;

use super::aws_args::AwsArgs;
use super::CliError;
use memtune::platform::aws::AwsLambda;
use memtune::sweep::journal::{self, state_dir, JournalState};
use memtune::sweep::restore::{describe, restore_from_disk};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  memtune restore                      # every interrupted run in the state directory
  memtune restore --run 20261127-0915-a1b2
  MEMTUNE_STATE_DIR=/var/lib/memtune memtune restore --function orders-api

For each function an interrupted run touched, memtune puts $LATEST's original memory back
(unless someone else changed the function since: then it is reported and left alone) and
deletes every version and alias the run created. Journals live in $MEMTUNE_STATE_DIR
(default ~/.local/state/memtune/journal).")]
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
    let pending: Vec<JournalState> = journal::unfinished(&dir)
        .map_err(|e| CliError::failed(format!("cannot read journals in {}: {e}", dir.display())))?
        .into_iter()
        .filter(|j| args.run.as_ref().is_none_or(|r| *r == j.run_id))
        .filter(|j| args.function.as_ref().is_none_or(|f| *f == j.function))
        .collect();
    if pending.is_empty() {
        println!("nothing to restore in {}", dir.display());
        return Ok(());
    }
    let mut trouble = 0;
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
        let config = aws.load().await?;
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
            "{trouble} of {} functions need attention (see above)",
            pending.len()
        )));
    }
    Ok(())
}
