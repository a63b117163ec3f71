//! Model families for the mean warm duration as a function of memory.
//!
//! Every family is linear in its amplitudes (all constrained >= 0) and has at most two
//! nonlinear shape parameters. That split lets the solver profile the amplitudes out exactly
//! and search only the low-dimensional shape.

use serde::{Deserialize, Serialize};

pub use memtune_facts::{vcpus, ONE_VCPU_MB};

/// Most amplitudes (linear coefficients) any family has.
pub(crate) const MAX_AMPS: usize = 4;
/// Most shape (nonlinear) parameters any family has.
pub(crate) const MAX_SHAPE: usize = 2;

/// A family of duration-vs-memory curves; `v` is [`vcpus`] at memory `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// `a + b / min(v, 1)`: fixed time plus single-threaded CPU work (flat above 1769 MB).
    CpuKnee,
    /// `a + b / min(v, 1) + c / min(v, k)`: adds CPU work that runs on up to `k` vCPUs.
    Physics,
    /// Physics plus `d * w / ((m - w) * min(v, 1))`: garbage collection that grows as the
    /// memory size approaches the working set `w` (it is CPU work, so it speeds up too).
    PhysicsGc,
    /// Parrotfish (SoCC'23): `a0 + a1 * exp(-m / a2)`.
    Parrotfish,
    /// `a + b * (m / 1024)^-p`.
    PowerLaw,
}

impl ModelKind {
    /// Every family, fewest parameters first (selection prefers the earlier one on a tie).
    pub const ALL: [ModelKind; 5] = [
        ModelKind::CpuKnee,
        ModelKind::Parrotfish,
        ModelKind::PowerLaw,
        ModelKind::Physics,
        ModelKind::PhysicsGc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::CpuKnee => "cpu-knee",
            ModelKind::Physics => "physics",
            ModelKind::PhysicsGc => "physics-gc",
            ModelKind::Parrotfish => "parrotfish",
            ModelKind::PowerLaw => "power-law",
        }
    }

    /// Number of free parameters (amplitudes plus shape).
    pub fn parameters(self) -> usize {
        self.amplitudes() + self.shape_dims()
    }

    pub(crate) fn amplitudes(self) -> usize {
        match self {
            ModelKind::CpuKnee | ModelKind::Parrotfish | ModelKind::PowerLaw => 2,
            ModelKind::Physics => 3,
            ModelKind::PhysicsGc => 4,
        }
    }

    pub(crate) fn shape_dims(self) -> usize {
        match self {
            ModelKind::CpuKnee => 0,
            ModelKind::Physics | ModelKind::Parrotfish | ModelKind::PowerLaw => 1,
            ModelKind::PhysicsGc => 2,
        }
    }

    /// Search box of the shape parameters, partly relative to the smallest measured size
    /// `m0`. The working set must lie below `m0`, which ran without being killed. An
    /// exponential decaying over much less than `m0` is invisible in the data yet explodes
    /// when extrapolated below `m0`, so its scale starts at `m0 / 2`.
    pub(crate) fn shape_bounds(self, smallest_mb: f64) -> Vec<Bound> {
        let parallelism = Bound::linear(1.05, 6.0);
        match self {
            ModelKind::CpuKnee => Vec::new(),
            ModelKind::Physics => vec![parallelism],
            ModelKind::PhysicsGc => vec![parallelism, Bound::log(16.0, 0.95 * smallest_mb)],
            ModelKind::Parrotfish => vec![Bound::log(0.5 * smallest_mb, 16384.0)],
            ModelKind::PowerLaw => vec![Bound::linear(0.05, 3.0)],
        }
    }

    /// Writes the basis functions at memory `m` into `out[..self.amplitudes()]`.
    pub(crate) fn basis(self, shape: &[f64; MAX_SHAPE], m: f64, out: &mut [f64; MAX_AMPS]) {
        let v = vcpus(m);
        let serial = 1.0 / v.min(1.0);
        out[0] = 1.0;
        match self {
            ModelKind::CpuKnee => out[1] = serial,
            ModelKind::Physics => {
                out[1] = serial;
                out[2] = 1.0 / v.min(shape[0]);
            }
            ModelKind::PhysicsGc => {
                out[1] = serial;
                out[2] = 1.0 / v.min(shape[0]);
                // At least 1 MB of headroom keeps the term finite at the working set.
                out[3] = shape[1] / (m - shape[1]).max(1.0) * serial;
            }
            ModelKind::Parrotfish => out[1] = (-m / shape[0]).exp(),
            ModelKind::PowerLaw => out[1] = (m / 1024.0).powf(-shape[0]),
        }
    }
}

/// One shape parameter's search interval, searched on a linear or logarithmic scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Bound {
    fn linear(lo: f64, hi: f64) -> Self {
        Bound { lo, hi, log: false }
    }

    fn log(lo: f64, hi: f64) -> Self {
        Bound {
            lo: lo.min(hi),
            hi,
            log: true,
        }
    }

    /// The parameter value at unit position `u` (clamped to [0, 1]).
    pub(crate) fn at(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if self.log {
            (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp()
        } else {
            self.lo + u * (self.hi - self.lo)
        }
    }

    /// The unit position of a parameter value (inverse of [`Bound::at`]).
    pub(crate) fn position(&self, x: f64) -> f64 {
        let (lo, hi, x) = if self.log {
            (self.lo.ln(), self.hi.ln(), x.ln())
        } else {
            (self.lo, self.hi, x)
        };
        if hi > lo {
            ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// One fitted curve: a family with its shape and amplitudes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Curve {
    pub kind: ModelKind,
    /// Shape parameters (`k`, `w`, `a2` or `p`); unused entries are zero.
    pub shape: [f64; MAX_SHAPE],
    /// Amplitudes in the order of the family's formula; unused entries are zero.
    pub amplitudes: [f64; MAX_AMPS],
}

impl Curve {
    /// Mean duration (ms) the curve predicts at `memory_mb`.
    pub fn eval(&self, memory_mb: f64) -> f64 {
        let mut basis = [0.0; MAX_AMPS];
        self.kind.basis(&self.shape, memory_mb, &mut basis);
        basis
            .iter()
            .zip(&self.amplitudes)
            .take(self.kind.amplitudes())
            .map(|(x, a)| x * a)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_trip_on_both_scales() {
        for bound in [Bound::linear(1.05, 6.0), Bound::log(32.0, 16384.0)] {
            for u in [0.0, 0.3, 1.0] {
                assert!((bound.position(bound.at(u)) - u).abs() < 1e-12);
            }
        }
        let middle = Bound::log(32.0, 16384.0).at(0.5);
        assert!((middle - (32.0_f64 * 16384.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn physics_curve_is_flat_above_its_parallelism() {
        let curve = Curve {
            kind: ModelKind::Physics,
            shape: [2.0, 0.0],
            amplitudes: [10.0, 100.0, 200.0, 0.0],
        };
        assert!((curve.eval(1769.0) - 310.0).abs() < 1e-9);
        assert!((curve.eval(2.0 * 1769.0) - 210.0).abs() < 1e-9);
        assert_eq!(curve.eval(4000.0), curve.eval(9000.0));
    }
}
