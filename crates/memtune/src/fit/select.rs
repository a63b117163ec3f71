//! Choosing a model family by leave-one-size-out cross-validation.
//!
//! Every family that the training sets can determine is fitted to all sizes, then refitted
//! without each size in turn (starting from the full fit, which keeps it fast) to predict the
//! size it left out. The cross-validated error is the mean absolute relative error of those
//! predictions. The refits of the chosen family also serve as jackknife replicates for the
//! confidence band of the mean curve.

use serde::Serialize;

use super::models::{Curve, ModelKind};
use super::solver::{fit_kind, refit_near, robust_loss, Point};

/// Cross-validation needs at least this many sizes; below it the simplest adequate model wins.
const MIN_CV_SIZES: usize = 4;
/// A family within this share of the best cross-validated error counts as a tie, and ties
/// go to the family with fewer parameters.
const TIE_RELATIVE: f64 = 0.05;
const TIE_ABSOLUTE: f64 = 0.002;
/// Without cross-validation a family fits adequately when no size's standardized residual
/// exceeds this.
const ADEQUATE_RESIDUAL: f64 = 3.0;

/// How one family did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelScore {
    pub kind: ModelKind,
    /// Mean absolute relative error predicting each left-out size; `None` when there were
    /// too few sizes to cross-validate or too few to fit this family.
    pub cv_error: Option<f64>,
}

pub(crate) struct Selection {
    pub curve: Curve,
    /// The chosen family refitted without each size in turn (empty with two sizes).
    pub replicates: Vec<Curve>,
    pub scores: Vec<ModelScore>,
}

pub(crate) fn select(points: &[Point]) -> Selection {
    if points.len() < MIN_CV_SIZES {
        select_simplest(points)
    } else {
        select_by_cv(points)
    }
}

fn select_by_cv(points: &[Point]) -> Selection {
    let mut candidates: Vec<(Curve, Vec<Curve>, f64)> = ModelKind::ALL
        .iter()
        // Each training set (all sizes but one) must determine the family.
        .filter(|kind| kind.parameters() < points.len())
        .map(|&kind| {
            let full = fit_kind(kind, points);
            let replicates = leave_one_out(points, &full);
            let error = cv_error(points, &replicates);
            (full, replicates, error)
        })
        .collect();
    let best = candidates.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let scores = ModelKind::ALL
        .iter()
        .map(|&kind| ModelScore {
            kind,
            cv_error: candidates.iter().find(|c| c.0.kind == kind).map(|c| c.2),
        })
        .collect();
    // Candidates are in order of increasing parameters; the first is always CpuKnee.
    let chosen = candidates
        .iter()
        .position(|c| c.2 <= best * (1.0 + TIE_RELATIVE) + TIE_ABSOLUTE)
        .unwrap_or(0);
    let (curve, replicates, _) = candidates.swap_remove(chosen);
    Selection {
        curve,
        replicates,
        scores,
    }
}

/// With two or three sizes: the family with the fewest parameters that fits every size
/// within noise, else the one with the lowest robust loss.
fn select_simplest(points: &[Point]) -> Selection {
    let fits: Vec<Curve> = ModelKind::ALL
        .iter()
        .filter(|kind| kind.parameters() <= points.len())
        .map(|&kind| fit_kind(kind, points))
        .collect();
    let adequate = fits.iter().find(|curve| {
        points
            .iter()
            .all(|p| ((p.y - curve.eval(p.m)) / p.sd).abs() <= ADEQUATE_RESIDUAL)
    });
    let curve = *adequate.unwrap_or_else(|| {
        fits.iter()
            .min_by(|a, b| robust_loss(a, points).total_cmp(&robust_loss(b, points)))
            .expect("the cpu-knee family fits any two sizes")
    });
    let replicates = if points.len() > 2 {
        leave_one_out(points, &curve)
    } else {
        Vec::new()
    };
    Selection {
        curve,
        replicates,
        scores: ModelKind::ALL
            .iter()
            .map(|&kind| ModelScore {
                kind,
                cv_error: None,
            })
            .collect(),
    }
}

fn leave_one_out(points: &[Point], full: &Curve) -> Vec<Curve> {
    (0..points.len())
        .map(|i| {
            let training: Vec<Point> = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, p)| *p)
                .collect();
            refit_near(&training, full)
        })
        .collect()
}

fn cv_error(points: &[Point], replicates: &[Curve]) -> f64 {
    let total: f64 = points
        .iter()
        .zip(replicates)
        .map(|(p, curve)| (curve.eval(p.m) / p.y - 1.0).abs())
        .sum();
    total / points.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(curve: impl Fn(f64) -> f64, sizes: &[f64]) -> Vec<Point> {
        sizes
            .iter()
            .map(|&m| Point {
                m,
                y: curve(m),
                sd: 0.02 * curve(m),
            })
            .collect()
    }

    #[test]
    fn exponential_data_selects_parrotfish() {
        let truth = |m: f64| 40.0 + 3000.0 * (-m / 400.0).exp();
        let sizes = [128.0, 256.0, 384.0, 512.0, 768.0, 1024.0, 2048.0, 4096.0];
        let selection = select(&points(truth, &sizes));
        assert_eq!(selection.curve.kind, ModelKind::Parrotfish);
        assert_eq!(selection.replicates.len(), sizes.len());
        let score = |kind| {
            selection
                .scores
                .iter()
                .find(|s| s.kind == kind)
                .and_then(|s| s.cv_error)
                .unwrap()
        };
        assert!(score(ModelKind::Parrotfish) < 1e-3);
        assert!(score(ModelKind::CpuKnee) > score(ModelKind::Parrotfish));
    }

    #[test]
    fn few_sizes_take_the_simplest_adequate_family() {
        let knee = |m: f64| 10.0 + 500.0 / super::super::models::vcpus(m).min(1.0);
        let selection = select(&points(knee, &[256.0, 1024.0, 3008.0]));
        assert_eq!(selection.curve.kind, ModelKind::CpuKnee);
        assert!(selection.scores.iter().all(|s| s.cv_error.is_none()));
        // Halving above 1769 MB is beyond the knee model: a three-parameter family takes over.
        let parallel = |m: f64| 100.0 + 4000.0 / super::super::models::vcpus(m).min(4.0);
        let selection = select(&points(parallel, &[1769.0, 3538.0, 7076.0]));
        assert_ne!(selection.curve.kind, ModelKind::CpuKnee);
    }
}
