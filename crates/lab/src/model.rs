//! The duration model a simulated function runs on: the physics of its `workload`, or the
//! measurement table of its `curve`. Everything that draws invocations, backfills production
//! traffic or states the truth asks the profile's model, so both kinds serve alike.

use rand::Rng;

use super::measured::MeasuredCurve;
use super::profiles::FunctionProfile;
use super::workload::{DurationDistribution, Execution, Expectation, Workload};
use memtune_facts::Architecture;

/// A profile's duration model.
#[derive(Debug, Clone, Copy)]
pub enum DurationModel<'a> {
    Physics(&'a Workload),
    Measured(&'a MeasuredCurve),
}

impl FunctionProfile {
    /// The measured curve when the profile has one, else its workload's physics.
    pub fn model(&self) -> DurationModel<'_> {
        match &self.curve {
            Some(curve) => DurationModel::Measured(curve),
            None => DurationModel::Physics(&self.workload),
        }
    }
}

impl DurationModel<'_> {
    /// The duration without noise (a measured curve's mean), in ms.
    pub fn base_duration_ms(&self, memory_mb: u32, arch: Architecture) -> f64 {
        match self {
            DurationModel::Physics(w) => w.base_duration_ms(memory_mb, arch),
            DurationModel::Measured(c) => c.mean_ms(memory_mb),
        }
    }

    /// The distribution of warm durations at a memory size.
    pub fn distribution(
        &self,
        memory_mb: u32,
        arch: Architecture,
        timeout_ms: f64,
    ) -> DurationDistribution {
        match self {
            DurationModel::Physics(w) => w.distribution(memory_mb, arch, timeout_ms),
            DurationModel::Measured(c) => c.distribution(memory_mb, timeout_ms),
        }
    }

    /// The distribution of INIT durations at a memory size.
    pub fn init_distribution(&self, memory_mb: u32, arch: Architecture) -> DurationDistribution {
        match self {
            DurationModel::Physics(w) => DurationDistribution::new(
                w.init_duration_ms(memory_mb, arch),
                w.noise_cv_at(memory_mb),
                0.0,
                1.0,
                f64::INFINITY,
            ),
            DurationModel::Measured(c) => c.init_distribution(memory_mb),
        }
    }

    pub fn out_of_memory(&self, memory_mb: u32) -> bool {
        match self {
            DurationModel::Physics(w) => w.out_of_memory(memory_mb),
            DurationModel::Measured(c) => c.out_of_memory(memory_mb),
        }
    }

    pub fn max_memory_used_mb(&self, memory_mb: u32) -> u32 {
        match self {
            DurationModel::Physics(w) => w.max_memory_used_mb(memory_mb),
            DurationModel::Measured(c) => c.max_memory_used_mb(memory_mb),
        }
    }

    /// Probability that an invocation fails with a handled error (a measured curve has none).
    pub fn error_rate(&self, memory_mb: u32) -> f64 {
        match self {
            DurationModel::Physics(w) => w.error_rate_at(memory_mb),
            DurationModel::Measured(_) => 0.0,
        }
    }

    pub fn expectation(&self, memory_mb: u32, arch: Architecture, timeout_ms: f64) -> Expectation {
        match self {
            DurationModel::Physics(w) => w.expectation(memory_mb, arch, timeout_ms),
            DurationModel::Measured(c) => c.expectation(memory_mb, timeout_ms),
        }
    }

    /// Draws one invocation. `cold` adds INIT; durations are capped by the timeout.
    pub fn execute<R: Rng + ?Sized>(
        &self,
        memory_mb: u32,
        arch: Architecture,
        timeout_ms: f64,
        cold: bool,
        rng: &mut R,
    ) -> Execution {
        match self {
            DurationModel::Physics(w) => w.execute(memory_mb, arch, timeout_ms, cold, rng),
            DurationModel::Measured(c) => c.execute(memory_mb, timeout_ms, cold, rng),
        }
    }
}
