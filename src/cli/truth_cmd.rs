//! `memtune lab truth`: the noise-free expectations benchmarks score against.

use clap::Args;

use super::CliError;

#[derive(Debug, Args)]
pub struct TruthArgs {
    /// Only this function.
    #[arg(long)]
    function: Option<String>,
}

pub fn run(_args: TruthArgs) -> Result<(), CliError> {
    Err(CliError::failed("lab truth is not available yet"))
}
