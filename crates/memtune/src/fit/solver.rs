//! Robust, deterministic fitting of one model family by variable projection.
//!
//! For a fixed shape every family is linear in its amplitudes, so the best amplitudes are a
//! small weighted non-negative least-squares problem, solved exactly. Huber weights (iteratively
//! reweighted) make it robust to a size whose mean is off. What remains is the Huber loss as a
//! function of one or two shape parameters: a coarse grid supplies the starting points (the
//! multi-start), argmin's Brent method refines one dimension and Nelder-Mead two. Neither needs
//! gradients, which the `min(v, k)` kinks would spoil, and nothing is random.

use argmin::core::{CostFunction, Error, Executor};
use argmin::solver::brent::BrentOpt;
use argmin::solver::neldermead::NelderMead;

use super::models::{Bound, Curve, ModelKind, MAX_AMPS, MAX_SHAPE};

/// One measured size: its mean duration and the standard deviation used to weight it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub m: f64,
    pub y: f64,
    pub sd: f64,
}

/// Standardized residuals beyond this many standard deviations count linearly (Huber).
const HUBER_DELTA: f64 = 2.0;
const IRLS_ITERATIONS: usize = 4;
/// Grid positions per shape dimension for the multi-start.
const GRID_1D: usize = 8;
const GRID_2D: usize = 5;
const MAX_ITERATIONS: u64 = 40;

/// Fits a family with a multi-start search over its whole shape box.
pub(crate) fn fit_kind(kind: ModelKind, points: &[Point]) -> Curve {
    let profile = Profile::new(kind, points);
    let u = match kind.shape_dims() {
        0 => Vec::new(),
        1 => vec![profile.search_1d()],
        _ => profile.search_2d(),
    };
    profile.curve(&u)
}

/// Refits a family starting from a nearby curve (the full-data fit when cross-validating).
pub(crate) fn refit_near(points: &[Point], start: &Curve) -> Curve {
    let profile = Profile::new(start.kind, points);
    let u: Vec<f64> = profile
        .bounds
        .iter()
        .zip(&start.shape)
        .map(|(b, &x)| b.position(x))
        .collect();
    let u = match u.len() {
        0 => u,
        1 => vec![profile.brent(u[0] - 0.5 * grid_step(), u[0] + 0.5 * grid_step(), u[0])],
        _ => profile.nelder_mead(&u),
    };
    profile.curve(&u)
}

/// Huber loss of the standardized residuals of a curve on the points.
pub(crate) fn robust_loss(curve: &Curve, points: &[Point]) -> f64 {
    points
        .iter()
        .map(|p| huber((p.y - curve.eval(p.m)) / p.sd))
        .sum()
}

fn huber(r: f64) -> f64 {
    let a = r.abs();
    if a <= HUBER_DELTA {
        0.5 * a * a
    } else {
        HUBER_DELTA * (a - 0.5 * HUBER_DELTA)
    }
}

fn grid_step() -> f64 {
    1.0 / (GRID_1D - 1) as f64
}

/// The robust loss as a function of the shape, in unit coordinates of the shape box.
struct Profile<'a> {
    kind: ModelKind,
    points: &'a [Point],
    bounds: Vec<Bound>,
}

impl<'a> Profile<'a> {
    fn new(kind: ModelKind, points: &'a [Point]) -> Self {
        let smallest = points.iter().map(|p| p.m).fold(f64::INFINITY, f64::min);
        Profile {
            kind,
            points,
            bounds: kind.shape_bounds(smallest),
        }
    }

    fn shape(&self, u: &[f64]) -> [f64; MAX_SHAPE] {
        let mut shape = [0.0; MAX_SHAPE];
        for (s, (b, &x)) in shape.iter_mut().zip(self.bounds.iter().zip(u)) {
            *s = b.at(x);
        }
        shape
    }

    fn curve(&self, u: &[f64]) -> Curve {
        let shape = self.shape(u);
        Curve {
            kind: self.kind,
            shape,
            amplitudes: fit_amplitudes(self.kind, &shape, self.points),
        }
    }

    /// Loss at unit coordinates; outside the box the shape is clamped and a penalty grows
    /// with the distance, so the simplex walks back in.
    fn loss(&self, u: &[f64]) -> f64 {
        let outside: f64 = u.iter().map(|x| (x - x.clamp(0.0, 1.0)).powi(2)).sum();
        let loss = robust_loss(&self.curve(u), self.points);
        loss + outside * (1.0 + loss)
    }

    fn search_1d(&self) -> f64 {
        let losses: Vec<f64> = (0..GRID_1D)
            .map(|i| self.loss(&[i as f64 * grid_step()]))
            .collect();
        let best = argmin_index(&losses);
        let u = best as f64 * grid_step();
        self.brent(u - grid_step(), u + grid_step(), u)
    }

    /// Brent's method on `[lo, hi]` (clamped to the box); falls back to `fallback` if it
    /// fails or ends worse.
    fn brent(&self, lo: f64, hi: f64, fallback: f64) -> f64 {
        let solver = BrentOpt::new(lo.max(0.0), hi.min(1.0)).set_tolerance(1e-4, 1e-4);
        let found = Executor::new(OneDim(self), solver)
            .configure(|state| state.max_iters(MAX_ITERATIONS))
            .run()
            .ok()
            .and_then(|result| result.state.best_param);
        match found {
            Some(u) if self.loss(&[u]) <= self.loss(&[fallback]) => u,
            _ => fallback,
        }
    }

    /// Grid search, then Nelder-Mead from the two best grid points.
    fn search_2d(&self) -> Vec<f64> {
        let step = 1.0 / (GRID_2D - 1) as f64;
        let mut starts: Vec<(f64, Vec<f64>)> = (0..GRID_2D * GRID_2D)
            .map(|i| {
                let u = vec![(i / GRID_2D) as f64 * step, (i % GRID_2D) as f64 * step];
                (self.loss(&u), u)
            })
            .collect();
        starts.sort_by(|a, b| a.0.total_cmp(&b.0));
        starts
            .iter()
            .take(2)
            .map(|(_, u)| self.nelder_mead(u))
            .min_by(|a, b| self.loss(a).total_cmp(&self.loss(b)))
            .unwrap_or_else(|| vec![0.5; 2])
    }

    fn nelder_mead(&self, start: &[f64]) -> Vec<f64> {
        let simplex = initial_simplex(start, 0.1);
        let found = NelderMead::new(simplex)
            .with_sd_tolerance(1e-4)
            .and_then(|solver| {
                Executor::new(ManyDim(self), solver)
                    .configure(|state| state.max_iters(MAX_ITERATIONS))
                    .run()
            })
            .ok()
            .and_then(|result| result.state.best_param);
        match found {
            Some(u) if self.loss(&u) <= self.loss(start) => u,
            _ => start.to_vec(),
        }
    }
}

/// A simplex of `start` plus one vertex stepped along each axis, stepping inwards at the
/// upper edge of the box.
fn initial_simplex(start: &[f64], step: f64) -> Vec<Vec<f64>> {
    let mut simplex = vec![start.to_vec()];
    for axis in 0..start.len() {
        let mut vertex = start.to_vec();
        vertex[axis] += if start[axis] + step <= 1.0 {
            step
        } else {
            -step
        };
        simplex.push(vertex);
    }
    simplex
}

fn argmin_index(xs: &[f64]) -> usize {
    xs.iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

struct OneDim<'p, 'a>(&'p Profile<'a>);

impl CostFunction for OneDim<'_, '_> {
    type Param = f64;
    type Output = f64;

    fn cost(&self, u: &f64) -> Result<f64, Error> {
        Ok(self.0.loss(&[*u]))
    }
}

struct ManyDim<'p, 'a>(&'p Profile<'a>);

impl CostFunction for ManyDim<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> Result<f64, Error> {
        Ok(self.0.loss(u))
    }
}

/// Non-negative amplitudes for a fixed shape by iteratively reweighted least squares with
/// Huber weights.
fn fit_amplitudes(kind: ModelKind, shape: &[f64; MAX_SHAPE], points: &[Point]) -> [f64; MAX_AMPS] {
    let rows: Vec<[f64; MAX_AMPS]> = points
        .iter()
        .map(|p| {
            let mut row = [0.0; MAX_AMPS];
            kind.basis(shape, p.m, &mut row);
            row
        })
        .collect();
    let dims = kind.amplitudes();
    let mut robust = vec![1.0; points.len()];
    let mut amps = [0.0; MAX_AMPS];
    for _ in 0..IRLS_ITERATIONS {
        amps = nnls(&rows, points, &robust, dims);
        let mut settled = true;
        for ((weight, row), p) in robust.iter_mut().zip(&rows).zip(points) {
            let next = huber_weight((p.y - dot(row, &amps)) / p.sd);
            settled &= (next - *weight).abs() < 1e-3;
            *weight = next;
        }
        if settled {
            break;
        }
    }
    amps
}

fn huber_weight(r: f64) -> f64 {
    if r.abs() <= HUBER_DELTA {
        1.0
    } else {
        HUBER_DELTA / r.abs()
    }
}

fn dot(a: &[f64; MAX_AMPS], b: &[f64; MAX_AMPS]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Weighted least squares with all coefficients >= 0. With at most four coefficients the
/// exact answer is cheapest to find by trying every support: the optimum is the unconstrained
/// optimum on its own support, so the best feasible candidate is it.
fn nnls(
    rows: &[[f64; MAX_AMPS]],
    points: &[Point],
    robust: &[f64],
    dims: usize,
) -> [f64; MAX_AMPS] {
    let mut gram = [[0.0; MAX_AMPS]; MAX_AMPS];
    let mut rhs = [0.0; MAX_AMPS];
    let mut total = 0.0;
    for ((row, p), r) in rows.iter().zip(points).zip(robust) {
        let w = r / (p.sd * p.sd);
        total += w * p.y * p.y;
        for i in 0..dims {
            rhs[i] += w * row[i] * p.y;
            for j in 0..dims {
                gram[i][j] += w * row[i] * row[j];
            }
        }
    }
    let full = (1u32 << dims) - 1;
    // A feasible unconstrained optimum is the constrained one: the common case, no search.
    if let Some(beta) = solve_on_support(&gram, &rhs, full, dims) {
        if beta.iter().all(|&b| b >= 0.0) {
            return beta;
        }
    }
    let mut best = ([0.0; MAX_AMPS], total);
    for support in 1..full {
        let Some(beta) = solve_on_support(&gram, &rhs, support, dims) else {
            continue;
        };
        if beta.iter().any(|&b| b < 0.0) {
            continue;
        }
        let loss = total - 2.0 * dot(&beta, &rhs) + quadratic(&gram, &beta, dims);
        if loss < best.1 {
            best = (beta, loss);
        }
    }
    best.0
}

fn quadratic(gram: &[[f64; MAX_AMPS]; MAX_AMPS], x: &[f64; MAX_AMPS], dims: usize) -> f64 {
    (0..dims)
        .map(|i| (0..dims).map(|j| x[i] * gram[i][j] * x[j]).sum::<f64>())
        .sum()
}

/// Solves the normal equations restricted to the coefficients in `support` (a bit set) by
/// Gaussian elimination with partial pivoting; `None` when they are (nearly) singular.
fn solve_on_support(
    gram: &[[f64; MAX_AMPS]; MAX_AMPS],
    rhs: &[f64; MAX_AMPS],
    support: u32,
    dims: usize,
) -> Option<[f64; MAX_AMPS]> {
    let mut index = [0; MAX_AMPS];
    let mut n = 0;
    for i in (0..dims).filter(|i| support & (1 << i) != 0) {
        index[n] = i;
        n += 1;
    }
    let index = &index[..n];
    let mut a = [[0.0; MAX_AMPS + 1]; MAX_AMPS];
    for (r, &i) in index.iter().enumerate() {
        for (c, &j) in index.iter().enumerate() {
            a[r][c] = gram[i][j];
        }
        a[r][n] = rhs[i];
    }
    let scale = index.iter().map(|&i| gram[i][i]).fold(0.0, f64::max);
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for row in a.iter_mut().take(n).skip(col + 1) {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..=n].iter_mut().zip(&pivot_row[col..=n]) {
                *x -= f * p;
            }
        }
    }
    let mut x = [0.0; MAX_AMPS];
    for r in (0..n).rev() {
        let tail: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = (a[r][n] - tail) / a[r][r];
    }
    let mut beta = [0.0; MAX_AMPS];
    for (k, &i) in index.iter().enumerate() {
        beta[i] = x[k];
    }
    Some(beta)
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
    fn nnls_clamps_a_negative_coefficient_to_zero() {
        // y = 10 - x would need a negative slope; the best non-negative fit is the mean.
        let pts: Vec<Point> = [1.0, 2.0, 3.0]
            .iter()
            .map(|&x| Point {
                m: x,
                y: 10.0 - x,
                sd: 1.0,
            })
            .collect();
        let rows: Vec<[f64; MAX_AMPS]> = pts.iter().map(|p| [1.0, p.m, 0.0, 0.0]).collect();
        let beta = nnls(&rows, &pts, &[1.0; 3], 2);
        assert!((beta[0] - 8.0).abs() < 1e-9 && beta[1] == 0.0, "{beta:?}");
    }

    #[test]
    fn recovers_an_exact_parrotfish_curve() {
        let truth = |m: f64| 100.0 + 5000.0 * (-m / 700.0).exp();
        let pts = points(truth, &[128.0, 256.0, 512.0, 1024.0, 2048.0, 3008.0]);
        let curve = fit_kind(ModelKind::Parrotfish, &pts);
        assert!((curve.shape[0] / 700.0 - 1.0).abs() < 5e-3, "{curve:?}");
        for m in [200.0, 900.0, 5000.0] {
            assert!((curve.eval(m) / truth(m) - 1.0).abs() < 5e-3, "{curve:?}");
        }
    }

    #[test]
    fn recovers_the_parallelism_of_a_physics_curve() {
        let truth = |m: f64| {
            let v = super::super::models::vcpus(m);
            20.0 + 300.0 / v.min(1.0) + 1200.0 / v.min(3.0)
        };
        let pts = points(truth, &[256.0, 1024.0, 2048.0, 4096.0, 6144.0, 8192.0]);
        let curve = fit_kind(ModelKind::Physics, &pts);
        assert!((curve.shape[0] - 3.0).abs() < 0.05, "{curve:?}");
        assert!((curve.eval(10240.0) / truth(10240.0) - 1.0).abs() < 1e-2);
    }

    #[test]
    fn huber_weights_shrug_off_one_bad_size() {
        let truth = |m: f64| 50.0 + 9000.0 / super::super::models::vcpus(m).min(1.0) / 10.0;
        let mut pts = points(
            truth,
            &[128.0, 256.0, 512.0, 1024.0, 1536.0, 2048.0, 3008.0],
        );
        pts[3].y *= 1.4;
        let curve = fit_kind(ModelKind::CpuKnee, &pts);
        assert!((curve.eval(1024.0) / truth(1024.0) - 1.0).abs() < 0.02);
    }
}
