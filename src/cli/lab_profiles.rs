//! The simulated functions `memtune lab` serves and `memtune lab truth` describes.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, synthetic};

#[derive(Debug, Args)]
pub(super) struct ProfileArgs {
    /// Fleet file (TOML) with the simulated functions, or a directory of them (every *.toml in
    /// it); default: the built-in demo fleet.
    // Named for the flag, `--fleet`, which users already type.
    #[arg(long)]
    fleet: Option<PathBuf>,
    /// Add N generated functions of mixed kinds (synthetic-0000, ...), deterministic per seed.
    #[arg(long, default_value_t = 0)]
    synthetic: usize,
    /// Seed for everything random in the lab (noise, generated functions, backfill).
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
}

impl ProfileArgs {
    pub fn load(&self) -> Result<ProfileSet, CliError> {
        let mut profiles = match &self.fleet {
            Some(path) => ProfileSet::load(path).map_err(|e| CliError::usage(e.to_string()))?,
            None => lab::demo_profiles(),
        };
        profiles
            .functions
            .extend(synthetic::generate(self.synthetic, self.seed));
        Ok(profiles)
    }
}
