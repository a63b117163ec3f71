//! The simulated functions `memtune lab` serves and `memtune lab truth` describes.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use memtune_lab::fleet::Fleet;
use memtune_lab::{self as lab, synthetic};

#[derive(Debug, Args)]
pub(super) struct FleetArgs {
    /// Fleet file (TOML) with the simulated functions, or a directory of them (every *.toml in
    /// it); default: the built-in demo fleet.
    #[arg(long)]
    fleet: Option<PathBuf>,
    /// Add N generated functions of mixed kinds (synthetic-0000, ...), deterministic per seed.
    #[arg(long, default_value_t = 0)]
    synthetic: usize,
    /// Seed for everything random in the lab (noise, generated functions, backfill).
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
}

impl FleetArgs {
    pub fn load(&self) -> Result<Fleet, CliError> {
        let mut fleet = match &self.fleet {
            Some(path) => Fleet::load(path).map_err(|e| CliError::usage(e.to_string()))?,
            None => lab::demo_fleet(),
        };
        fleet
            .functions
            .extend(synthetic::generate(self.synthetic, self.seed));
        Ok(fleet)
    }
}
