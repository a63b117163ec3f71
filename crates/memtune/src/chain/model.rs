//! The end-to-end model of a chain: each function's own duration at each candidate size (a
//! fitted curve's quantiles), its INIT on a cold start, and the call tree that adds them up.
//!
//! A function's latency, as its caller waits for it, is its own work, its INIT when it starts
//! cold, and for each of its stages of calls the slowest callee; stages add up. The entry's
//! latency is the chain's. Every caller is billed for its own work and the calls it waits on.
//!
//! Cold starts are rare (about 1% per function in production) and they decide a p99, so they
//! are not sampled: every combination of cold functions (a pattern) carries its exact
//! probability, the functions starting cold independently at their production ratios. Only
//! the warm noise and INIT's spread are drawn, the same draws for every pattern and every
//! assignment (the same request meets the same noise whatever the sizes), so two
//! assignments differ only by their sizes and more memory is never slower. The patterns too
//! unlikely to enumerate count as missing the objective.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// How many equally likely quantiles stand for a hop's duration distribution at one size.
pub const LEVELS: usize = 400;

/// The probability level of quantile `i` of [`LEVELS`].
pub fn level(i: usize) -> f64 {
    (i as f64 + 0.5) / LEVELS as f64
}

/// One function of the chain at one candidate memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct HopSize {
    pub memory_mb: u32,
    /// The function's own warm duration (without the calls it waits on) at [`level`]`(i)`,
    /// in ms; non-decreasing.
    pub own_ms: Vec<f64>,
    /// Median INIT duration of a cold start at this size, ms.
    pub init_ms: f64,
    /// USD per billed ms at this size.
    pub usd_per_ms: f64,
    /// USD per request, whatever the duration.
    pub usd_per_request: f64,
}

/// One function of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    pub function: String,
    /// Candidate sizes, ascending by memory.
    pub sizes: Vec<HopSize>,
    /// Share of production requests that meet a cold environment of this function.
    pub cold_probability: f64,
    /// Log-normal spread of INIT around its median (0: always the median).
    pub init_sigma: f64,
    /// Whether INIT is billed (managed runtimes since August 2025, images, custom runtimes).
    pub init_billed: bool,
}

/// The chain's objective: the `percentile` (0..1) of its duration at most `slo_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Objective {
    pub slo_ms: f64,
    pub percentile: f64,
}

/// The whole chain as the search sees it.
#[derive(Debug, Clone)]
pub struct ChainModel {
    /// The entry first, every caller before its callees.
    pub hops: Vec<Hop>,
    /// `calls[h]`: hop `h`'s stages of calls, as indices into `hops` (each above `h`).
    pub calls: Vec<Vec<Vec<usize>>>,
    pub objective: Objective,
}

/// An assignment: for each hop, the index of its size in `Hop::sizes`.
pub type Assignment = Vec<usize>;

/// The random draws every assignment is evaluated on: per hop and request, the quantile of
/// its warm duration and the normal deviate of its INIT. Stratified: each quantile level and
/// each 1/requests stratum of the INIT deviate is met equally often, in a seeded order.
#[derive(Debug, Clone)]
pub struct Draws {
    level: Vec<Vec<u16>>,
    init_z: Vec<Vec<f64>>,
}

impl Draws {
    pub fn new(model: &ChainModel, requests: usize, seed: u64) -> Draws {
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::standard();
        let mut level = Vec::new();
        let mut init_z = Vec::new();
        for _ in &model.hops {
            let mut l: Vec<u16> = (0..requests)
                .map(|r| (r * LEVELS / requests.max(1)) as u16)
                .collect();
            l.shuffle(&mut rng);
            let mut z: Vec<f64> = (0..requests)
                .map(|r| normal.inverse_cdf((r as f64 + 0.5) / requests as f64))
                .collect();
            z.shuffle(&mut rng);
            level.push(l);
            init_z.push(z);
        }
        Draws { level, init_z }
    }

    pub fn requests(&self) -> usize {
        self.level.first().map_or(0, Vec::len)
    }
}

/// Whether cold starts count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starts {
    AsInProduction,
    AllWarm,
}

/// What an assignment gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub p50_ms: f64,
    /// At the objective's percentile.
    pub tail_ms: f64,
    pub p50_warm_ms: f64,
    pub tail_warm_ms: f64,
    pub usd_per_request: f64,
    pub meets_objective: bool,
    /// Each hop's share of the tail: how much its own duration (INIT included) in the
    /// slowest requests (past the objective's percentile) exceeds its median, over all hops'
    /// excess; same order as the hops.
    pub tail_shares: Vec<f64>,
}

/// A combination of cold functions and its probability.
#[derive(Debug, Clone)]
struct Pattern {
    cold: Vec<bool>,
    /// The hops whose latency differs from the all-warm pattern's: the cold ones and their
    /// callers up to the entry, callees first.
    changed: Vec<usize>,
    probability: f64,
}

/// Every hop's warm duration and INIT in every drawn request at every candidate size,
/// computed once so an assignment is evaluated by adding and comparing rows; and the cold
/// patterns enumerated.
#[derive(Debug, Clone)]
pub struct Table {
    /// `warm[h][size][r]`: hop `h`'s own warm duration in request `r`.
    warm: Vec<Vec<Vec<f64>>>,
    /// `init[h][size][r]`: its INIT in request `r` were it cold.
    init: Vec<Vec<Vec<f64>>>,
    /// Mean of each row of `warm` and `init`.
    warm_mean: Vec<Vec<f64>>,
    init_mean: Vec<Vec<f64>>,
    /// The all-warm pattern first.
    patterns: Vec<Pattern>,
    /// Probability of the patterns left out (counted as missing the objective).
    left_out: f64,
    requests: usize,
}

/// The probability mass of patterns left out is at most this share of the tail the objective
/// allows (1 - percentile); at most this many patterns are enumerated.
const LEFT_OUT_SHARE: f64 = 0.02;
const MAX_PATTERNS: usize = 256;

impl Table {
    pub fn new(model: &ChainModel, draws: &Draws) -> Table {
        let requests = draws.requests();
        let mut warm = Vec::new();
        let mut init = Vec::new();
        for (h, hop) in model.hops.iter().enumerate() {
            warm.push(
                hop.sizes
                    .iter()
                    .map(|at| {
                        draws.level[h]
                            .iter()
                            .map(|&l| at.own_ms[l as usize])
                            .collect()
                    })
                    .collect::<Vec<Vec<f64>>>(),
            );
            init.push(
                hop.sizes
                    .iter()
                    .map(|at| {
                        draws.init_z[h]
                            .iter()
                            .map(|z| at.init_ms * (hop.init_sigma * z).exp())
                            .collect()
                    })
                    .collect::<Vec<Vec<f64>>>(),
            );
        }
        let means = |rows: &Vec<Vec<Vec<f64>>>| -> Vec<Vec<f64>> {
            rows.iter()
                .map(|sizes| sizes.iter().map(|r| mean(r)).collect())
                .collect()
        };
        let (patterns, left_out) = patterns(model);
        Table {
            warm_mean: means(&warm),
            init_mean: means(&init),
            warm,
            init,
            patterns,
            left_out,
            requests,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Hop `h`'s own duration in each request at `size`, INIT included where `cold`.
    pub fn own(&self, h: usize, size: usize, cold: bool) -> Vec<f64> {
        let warm = &self.warm[h][size];
        if cold {
            warm.iter()
                .zip(&self.init[h][size])
                .map(|(w, i)| w + i)
                .collect()
        } else {
            warm.clone()
        }
    }

    /// Whether hop `h` is at most as slow at size `a` as at size `b` in every request,
    /// warm and cold.
    pub fn no_slower(&self, h: usize, a: usize, b: usize) -> bool {
        let le = |x: &Vec<f64>, y: &Vec<f64>| x.iter().zip(y).all(|(x, y)| x <= y);
        le(&self.warm[h][a], &self.warm[h][b]) && le(&self.init[h][a], &self.init[h][b])
    }
}

/// The cold patterns, most likely first, until the rest is negligible; and the rest's mass.
fn patterns(model: &ChainModel) -> (Vec<Pattern>, f64) {
    let n = model.hops.len();
    let p: Vec<f64> = model.hops.iter().map(|h| h.cold_probability).collect();
    let budget = (1.0 - model.objective.percentile) * LEFT_OUT_SHARE;
    let mut parent = vec![None; n];
    for (h, stages) in model.calls.iter().enumerate() {
        for &c in stages.iter().flatten() {
            parent[c] = Some(h);
        }
    }
    // Patterns by number of cold hops, fewest first: with rare cold starts each level is
    // far less likely than the one before.
    let mut all: Vec<(Vec<bool>, f64)> = Vec::new();
    let mut cold = vec![false; n];
    fn each(
        i: usize,
        cold: &mut Vec<bool>,
        p: &[f64],
        probability: f64,
        out: &mut Vec<(Vec<bool>, f64)>,
        limit: usize,
    ) {
        if out.len() >= limit * 4 {
            return;
        }
        if i == cold.len() {
            out.push((cold.clone(), probability));
            return;
        }
        cold[i] = false;
        each(i + 1, cold, p, probability * (1.0 - p[i]), out, limit);
        if p[i] > 0.0 {
            cold[i] = true;
            each(i + 1, cold, p, probability * p[i], out, limit);
            cold[i] = false;
        }
    }
    each(0, &mut cold, &p, 1.0, &mut all, MAX_PATTERNS);
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = Vec::new();
    let mut covered = 0.0;
    for (cold, probability) in all {
        if out.len() >= MAX_PATTERNS || (1.0 - covered <= budget && !out.is_empty()) {
            break;
        }
        covered += probability;
        let mut changed: Vec<usize> = Vec::new();
        for h in (0..n).filter(|&h| cold[h]) {
            let mut at = Some(h);
            while let Some(g) = at {
                if !changed.contains(&g) {
                    changed.push(g);
                }
                at = parent[g];
            }
        }
        // Callees have larger indices than their callers.
        changed.sort_unstable_by(|a, b| b.cmp(a));
        out.push(Pattern {
            cold,
            changed,
            probability,
        });
    }
    (out, (1.0 - covered).max(0.0))
}

/// Latencies and waits of every hop in every request under one pattern.
struct Rows {
    latency: Vec<Vec<f64>>,
    wait: Vec<Vec<f64>>,
    /// Scratch: a stage's slowest callee per request.
    stage: Vec<f64>,
}

impl ChainModel {
    /// Fills `rows` for hop `h` at `sizes` from its callees' latencies in `rows` (callees
    /// done first). Plain index loops: this is the search's inner loop.
    fn hop_rows(&self, table: &Table, sizes: &[usize], h: usize, cold: bool, rows: &mut Rows) {
        let n = table.requests;
        let (before, after) = rows.latency.split_at_mut(h + 1);
        let latency = &mut before[h];
        let wait = &mut rows.wait[h];
        let slowest = &mut rows.stage;
        wait.fill(0.0);
        for stage in &self.calls[h] {
            slowest.fill(0.0);
            for &c in stage {
                let callee = &after[c - h - 1];
                for r in 0..n {
                    if callee[r] > slowest[r] {
                        slowest[r] = callee[r];
                    }
                }
            }
            for r in 0..n {
                wait[r] += slowest[r];
            }
        }
        let warm = &table.warm[h][sizes[h]];
        let init = &table.init[h][sizes[h]];
        if cold {
            for r in 0..n {
                latency[r] = warm[r] + init[r] + wait[r];
            }
        } else {
            for r in 0..n {
                latency[r] = warm[r] + wait[r];
            }
        }
    }

    fn rows(&self, requests: usize) -> Rows {
        Rows {
            latency: vec![vec![0.0; requests]; self.hops.len()],
            wait: vec![vec![0.0; requests]; self.hops.len()],
            stage: vec![0.0; requests],
        }
    }

    /// Walks the patterns: `visit(pattern, rows)` sees each pattern's rows (the all-warm
    /// pattern's rows, patched per pattern and put back after) until it returns false.
    fn each_pattern(
        &self,
        table: &Table,
        sizes: &[usize],
        mut visit: impl FnMut(&Pattern, &Rows) -> bool,
    ) {
        let mut rows = self.rows(table.requests);
        for h in (0..self.hops.len()).rev() {
            self.hop_rows(table, sizes, h, false, &mut rows);
        }
        let Some((warm, rest)) = table.patterns.split_first() else {
            return;
        };
        if !visit(warm, &rows) {
            return;
        }
        let mut saved: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        for pattern in rest {
            saved.clear();
            for &h in &pattern.changed {
                saved.push((rows.latency[h].clone(), rows.wait[h].clone()));
                self.hop_rows(table, sizes, h, pattern.cold[h], &mut rows);
            }
            let go_on = visit(pattern, &rows);
            for (&h, (latency, wait)) in pattern.changed.iter().zip(saved.drain(..)) {
                rows.latency[h] = latency;
                rows.wait[h] = wait;
            }
            if !go_on {
                return;
            }
        }
    }

    /// Whether an assignment meets the objective: the probability of a request slower than
    /// `slo_ms` (patterns left out counted slower) is within 1 - percentile.
    pub fn meets(&self, table: &Table, sizes: &[usize]) -> bool {
        self.check(table, sizes, false).0
    }

    /// Whether an assignment meets the objective and, with `cost`, its mean USD per request
    /// (else NaN), in one walk over the patterns.
    pub fn check(&self, table: &Table, sizes: &[usize], cost: bool) -> (bool, f64) {
        let (meets, costs) = self.walk(table, sizes, cost);
        (meets, costs.map_or(f64::NAN, |c| c.iter().sum()))
    }

    /// Whether an assignment meets the objective, and each hop's mean USD per request.
    pub fn check_costs(&self, table: &Table, sizes: &[usize]) -> (bool, Vec<f64>) {
        let (meets, costs) = self.walk(table, sizes, true);
        (meets, costs.unwrap_or_default())
    }

    fn walk(&self, table: &Table, sizes: &[usize], cost: bool) -> (bool, Option<Vec<f64>>) {
        let allowed = 1.0 - self.objective.percentile + 1e-12;
        let slo = self.objective.slo_ms;
        let mut over = table.left_out;
        let n = table.requests as f64;
        let mut waits = vec![0.0; self.hops.len()];
        let mut mass = 0.0;
        self.each_pattern(table, sizes, |pattern, rows| {
            let mut slower = 0usize;
            for &l in &rows.latency[0] {
                if l > slo {
                    slower += 1;
                }
            }
            over += pattern.probability * slower as f64 / n;
            if cost {
                mass += pattern.probability;
                for (w, row) in waits.iter_mut().zip(&rows.wait) {
                    *w += pattern.probability * mean(row);
                }
            }
            cost || over <= allowed
        });
        let costs = cost.then(|| {
            (0..self.hops.len())
                .map(|h| self.hop_usd(table, sizes, h, waits[h] / mass.max(f64::MIN_POSITIVE)))
                .collect()
        });
        (over <= allowed, costs)
    }

    /// Mean USD per request: every hop's request price and billed duration (its own work,
    /// INIT when billed and cold, the calls it waits on, and half a ms of rounding up).
    pub fn usd_per_request(&self, table: &Table, sizes: &[usize]) -> f64 {
        self.check(table, sizes, true).1
    }

    /// Hop `h`'s USD per request at `sizes` when it waits `wait_ms` on its calls on average.
    pub fn hop_usd(&self, table: &Table, sizes: &[usize], h: usize, wait_ms: f64) -> f64 {
        let hop = &self.hops[h];
        let at = &hop.sizes[sizes[h]];
        let init = if hop.init_billed {
            hop.cold_probability * table.init_mean[h][sizes[h]]
        } else {
            0.0
        };
        at.usd_per_request + at.usd_per_ms * (table.warm_mean[h][sizes[h]] + init + wait_ms + 0.5)
    }

    /// Each hop's mean wait on its calls over the enumerated patterns.
    pub fn mean_waits(&self, table: &Table, sizes: &[usize]) -> Vec<f64> {
        let mut waits = vec![0.0; self.hops.len()];
        let mut mass = 0.0;
        self.each_pattern(table, sizes, |pattern, rows| {
            mass += pattern.probability;
            for (w, row) in waits.iter_mut().zip(&rows.wait) {
                *w += pattern.probability * mean(row);
            }
            true
        });
        waits
            .iter()
            .map(|w| w / mass.max(f64::MIN_POSITIVE))
            .collect()
    }

    /// The end-to-end latency of each request under each pattern, with its weight.
    fn weighted(&self, table: &Table, sizes: &[usize], starts: Starts) -> Vec<(f64, f64)> {
        let n = table.requests as f64;
        let mut out = Vec::new();
        self.each_pattern(table, sizes, |pattern, rows| {
            out.extend(
                rows.latency[0]
                    .iter()
                    .map(|&l| (l, pattern.probability / n)),
            );
            starts == Starts::AsInProduction
        });
        if starts == Starts::AsInProduction {
            out.push((f64::INFINITY, table.left_out));
        }
        out
    }

    /// Everything the report says about one assignment.
    pub fn evaluate(&self, table: &Table, sizes: &[usize]) -> Evaluation {
        let p = self.objective.percentile;
        let mut cold = self.weighted(table, sizes, Starts::AsInProduction);
        let mut warm = self.weighted(table, sizes, Starts::AllWarm);
        let tail_ms = weighted_quantile(&mut cold, p);
        Evaluation {
            p50_ms: weighted_quantile(&mut cold, 0.5),
            tail_ms,
            p50_warm_ms: weighted_quantile(&mut warm, 0.5),
            tail_warm_ms: weighted_quantile(&mut warm, p),
            usd_per_request: self.usd_per_request(table, sizes),
            meets_objective: self.meets(table, sizes),
            tail_shares: self.tail_shares(table, sizes, tail_ms),
        }
    }

    fn tail_shares(&self, table: &Table, sizes: &[usize], tail_ms: f64) -> Vec<f64> {
        let medians: Vec<f64> = (0..self.hops.len())
            .map(|h| quantile(&mut table.warm[h][sizes[h]].clone(), 0.5))
            .collect();
        let mut excess = vec![0.0; self.hops.len()];
        self.each_pattern(table, sizes, |pattern, rows| {
            for (r, &e2e) in rows.latency[0].iter().enumerate() {
                if e2e < tail_ms {
                    continue;
                }
                for (h, x) in excess.iter_mut().enumerate() {
                    let mut own = table.warm[h][sizes[h]][r];
                    if pattern.cold[h] {
                        own += table.init[h][sizes[h]][r];
                    }
                    *x += pattern.probability * (own - medians[h]).max(0.0);
                }
            }
            true
        });
        let total: f64 = excess.iter().sum();
        excess
            .iter()
            .map(|e| if total > 0.0 { e / total } else { 0.0 })
            .collect()
    }

    /// The most functions one request runs through one after another.
    pub fn depth(&self) -> usize {
        fn depth(model: &ChainModel, h: usize) -> usize {
            1 + model.calls[h]
                .iter()
                .map(|s| s.iter().map(|&c| depth(model, c)).max().unwrap_or(0))
                .sum::<usize>()
        }
        depth(self, 0)
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// The p-quantile (0..1) of weighted values: the least value whose cumulative weight
/// reaches `p` of the total; reorders `xs`.
pub fn weighted_quantile(xs: &mut [(f64, f64)], p: f64) -> f64 {
    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = xs.iter().map(|x| x.1).sum();
    let mut cumulative = 0.0;
    for &(value, weight) in xs.iter() {
        cumulative += weight;
        if cumulative >= p * total * (1.0 - 1e-12) {
            return value;
        }
    }
    xs.last().map_or(f64::NAN, |x| x.0)
}

/// The p-quantile (0..1) of `xs` by the nearest rank; reorders `xs`.
pub fn quantile(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    *xs.select_nth_unstable_by(rank, f64::total_cmp).1
}
