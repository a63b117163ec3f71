//! The end-to-end model of a chain: each hop's own duration at each candidate size (a fitted
//! curve's quantiles, with its cold starts and INIT), drawn together by Monte Carlo with a
//! fixed seed, gives the chain's duration distribution and cost per request for any
//! assignment of memory sizes.
//!
//! A request's duration is the sum over stages of the slowest function in the stage; every
//! caller is billed for its own work plus the stages it waits on. Draws are common to all
//! assignments (the same request meets the same noise and the same cold starts whatever the
//! sizes), so two assignments differ only by their sizes, and more memory is never slower.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

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
    /// INIT duration of a cold start at this size, ms.
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
    pub hops: Vec<Hop>,
    /// Stages in call order, as indices into `hops`; only the last may hold several.
    pub stages: Vec<Vec<usize>>,
    pub objective: Objective,
}

/// An assignment: for each hop, the index of its size in `Hop::sizes`.
pub type Assignment = Vec<usize>;

/// The random draws every assignment is evaluated on.
#[derive(Debug, Clone)]
pub struct Draws {
    /// `level[s][h]`: the quantile hop `h` meets in request `s`.
    level: Vec<Vec<u16>>,
    /// `cold[s][h]`: whether hop `h` starts cold in request `s`.
    cold: Vec<Vec<bool>>,
}

impl Draws {
    pub fn new(model: &ChainModel, requests: usize, seed: u64) -> Draws {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut level = Vec::with_capacity(requests);
        let mut cold = Vec::with_capacity(requests);
        for _ in 0..requests {
            level.push(
                (0..model.hops.len())
                    .map(|_| rng.random_range(0..LEVELS as u16))
                    .collect(),
            );
            cold.push(
                model
                    .hops
                    .iter()
                    .map(|h| rng.random::<f64>() < h.cold_probability)
                    .collect(),
            );
        }
        Draws { level, cold }
    }

    pub fn requests(&self) -> usize {
        self.level.len()
    }
}

/// Whether cold starts count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starts {
    AsInProduction,
    AllWarm,
}

/// What an assignment gives over the draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub p50_ms: f64,
    /// At the objective's percentile.
    pub tail_ms: f64,
    pub p50_warm_ms: f64,
    pub tail_warm_ms: f64,
    pub usd_per_request: f64,
    pub meets_objective: bool,
    /// Each hop's share of the tail: how much its duration in the slowest requests (past the
    /// objective's percentile) exceeds its median, over all hops' excess; same order as the
    /// hops.
    pub tail_shares: Vec<f64>,
}

/// Every hop's duration in every drawn request at every candidate size, computed once so
/// an assignment is evaluated by adding and comparing rows.
#[derive(Debug, Clone)]
pub struct Table {
    /// `latency[h][size][s]`: hop `h`'s duration in request `s`, INIT included when cold.
    latency: Vec<Vec<Vec<f64>>>,
    /// The same with every environment warm.
    warm: Vec<Vec<Vec<f64>>>,
    /// What hop `h` is billed for its own work: INIT included when cold and billed.
    billed: Vec<Vec<Vec<f64>>>,
    requests: usize,
}

impl Table {
    pub fn new(model: &ChainModel, draws: &Draws) -> Table {
        let per_hop = |f: &dyn Fn(&Hop, &HopSize, usize, usize) -> f64| -> Vec<Vec<Vec<f64>>> {
            model
                .hops
                .iter()
                .enumerate()
                .map(|(h, hop)| {
                    hop.sizes
                        .iter()
                        .map(|at| (0..draws.requests()).map(|s| f(hop, at, h, s)).collect())
                        .collect()
                })
                .collect()
        };
        let own = |at: &HopSize, h: usize, s: usize| at.own_ms[draws.level[s][h] as usize];
        Table {
            latency: per_hop(&|_, at, h, s| {
                own(at, h, s) + if draws.cold[s][h] { at.init_ms } else { 0.0 }
            }),
            warm: per_hop(&|_, at, h, s| own(at, h, s)),
            billed: per_hop(&|hop, at, h, s| {
                own(at, h, s)
                    + if draws.cold[s][h] && hop.init_billed {
                        at.init_ms
                    } else {
                        0.0
                    }
            }),
            requests: draws.requests(),
        }
    }

    pub fn requests(&self) -> usize {
        self.requests
    }

    fn rows(&self, starts: Starts) -> &Vec<Vec<Vec<f64>>> {
        match starts {
            Starts::AsInProduction => &self.latency,
            Starts::AllWarm => &self.warm,
        }
    }

    /// Hop `h`'s duration in each request at `size`.
    pub fn hop(&self, h: usize, size: usize, starts: Starts) -> &[f64] {
        &self.rows(starts)[h][size]
    }

    /// Hop `h`'s billed own work in each request at `size`.
    pub fn billed(&self, h: usize, size: usize) -> &[f64] {
        &self.billed[h][size]
    }

    /// One stage's duration in each request: its slowest hop's.
    pub fn stage(&self, stage: &[usize], sizes: &[usize], starts: Starts) -> Vec<f64> {
        let mut out = vec![0.0_f64; self.requests];
        for &h in stage {
            for (o, d) in out.iter_mut().zip(self.hop(h, sizes[h], starts)) {
                *o = o.max(*d);
            }
        }
        out
    }
}

impl ChainModel {
    /// Each request's end-to-end duration.
    pub fn durations(&self, table: &Table, sizes: &[usize], starts: Starts) -> Vec<f64> {
        let mut total = vec![0.0; table.requests()];
        for stage in &self.stages {
            for (t, d) in total.iter_mut().zip(table.stage(stage, sizes, starts)) {
                *t += d;
            }
        }
        total
    }

    /// Mean USD per request: every hop's request price and billed duration (its own work,
    /// INIT when billed and cold, and the later stages it waits on).
    pub fn usd_per_request(&self, table: &Table, sizes: &[usize]) -> f64 {
        let mut waits = vec![0.0; table.requests()];
        let mut total = 0.0;
        for stage in self.stages.iter().rev() {
            for &h in stage {
                total += hop_usd(
                    &self.hops[h].sizes[sizes[h]],
                    table.billed(h, sizes[h]),
                    &waits,
                );
            }
            for (w, d) in waits
                .iter_mut()
                .zip(table.stage(stage, sizes, Starts::AsInProduction))
            {
                *w += d;
            }
        }
        total / table.requests() as f64
    }

    /// Everything the report says about one assignment.
    pub fn evaluate(&self, table: &Table, sizes: &[usize]) -> Evaluation {
        let p = self.objective.percentile;
        let mut cold = self.durations(table, sizes, Starts::AsInProduction);
        let mut warm = self.durations(table, sizes, Starts::AllWarm);
        let tail_ms = quantile(&mut cold.clone(), p);
        let tail_shares = self.tail_shares(table, sizes, &cold, tail_ms);
        Evaluation {
            p50_ms: quantile(&mut cold, 0.5),
            tail_ms,
            p50_warm_ms: quantile(&mut warm.clone(), 0.5),
            tail_warm_ms: quantile(&mut warm, p),
            usd_per_request: self.usd_per_request(table, sizes),
            meets_objective: tail_ms <= self.objective.slo_ms,
            tail_shares,
        }
    }

    fn tail_shares(&self, table: &Table, sizes: &[usize], e2e: &[f64], tail_ms: f64) -> Vec<f64> {
        let excess: Vec<f64> = (0..self.hops.len())
            .map(|h| {
                let d = table.hop(h, sizes[h], Starts::AsInProduction);
                let median = quantile(&mut d.to_vec(), 0.5);
                e2e.iter()
                    .zip(d)
                    .filter(|(e, _)| **e >= tail_ms)
                    .map(|(_, d)| (d - median).max(0.0))
                    .sum()
            })
            .collect();
        let total: f64 = excess.iter().sum();
        excess
            .iter()
            .map(|e| if total > 0.0 { e / total } else { 0.0 })
            .collect()
    }
}

/// A hop's total USD over the requests: its request price and its billed own work plus
/// what it waits on, rounded up to the millisecond as Lambda bills.
pub fn hop_usd(at: &HopSize, billed: &[f64], waits: &[f64]) -> f64 {
    billed
        .iter()
        .zip(waits)
        .map(|(b, w)| at.usd_per_request + at.usd_per_ms * (b + w).ceil())
        .sum()
}

/// The p-quantile (0..1) of `xs` by the nearest rank; reorders `xs`.
pub fn quantile(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    *xs.select_nth_unstable_by(rank, f64::total_cmp).1
}
