//! The cheapest assignment that meets the objective, the equal-split baseline it is compared
//! with, and provisioned concurrency on the entry function as a third way.
//!
//! The joint search is exact over the candidate sizes: a depth-first search from the last
//! stage back to the entry, with two prunings that lose nothing. Feasibility: with every
//! unassigned hop at its largest size the chain is as fast as it can be, and more memory is
//! never slower, so once a size misses the objective every smaller one does too. Cost: a
//! partial assignment whose assigned hops plus a lower bound for the others already cost more
//! than the best complete one found is abandoned.

use serde::Serialize;

use super::model::{hop_usd, quantile, Assignment, ChainModel, Starts, Table};

/// How the search went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchStats {
    /// Partial and complete assignments whose end-to-end duration was evaluated (the rest of
    /// the grid was pruned).
    pub nodes: u64,
    /// Complete assignments in the candidate grid.
    pub grid: f64,
}

/// The cheapest assignment meeting the objective; `None` when even the largest sizes miss it.
pub fn cheapest(model: &ChainModel, table: &Table) -> (Option<Assignment>, SearchStats) {
    let requests = table.requests();
    let top = fastest(model);
    let mut prefix = vec![vec![0.0; requests]];
    for stage in &model.stages[..model.stages.len() - 1] {
        let mut next = prefix.last().cloned().unwrap_or_default();
        for (p, d) in next
            .iter_mut()
            .zip(table.stage(stage, &top, Starts::AsInProduction))
        {
            *p += d;
        }
        prefix.push(next);
    }
    let mean_billed: Vec<Vec<f64>> = model
        .hops
        .iter()
        .enumerate()
        .map(|(h, hop)| {
            (0..hop.sizes.len())
                .map(|i| mean(table.billed(h, i)))
                .collect()
        })
        .collect();
    let floors = model
        .hops
        .iter()
        .enumerate()
        .map(|(h, hop)| {
            let own = hop
                .sizes
                .iter()
                .zip(&mean_billed[h])
                .map(|(at, b)| at.usd_per_request + at.usd_per_ms * b)
                .fold(f64::INFINITY, f64::min);
            let rate = hop
                .sizes
                .iter()
                .map(|at| at.usd_per_ms)
                .fold(f64::INFINITY, f64::min);
            (own, rate)
        })
        .collect();
    let mut search = Search {
        model,
        table,
        prefix,
        mean_billed,
        floors,
        best: None,
        nodes: 0,
    };
    let starts = [equal_split(model, table), top.clone()];
    let descended = descend_each(model, table, &top);
    for start in starts.into_iter().chain(descended) {
        if model.meets(table, &start) {
            let cost = model.usd_per_request(table, &start);
            if search.best.as_ref().is_none_or(|(_, b)| cost < *b) {
                search.best = Some((start, cost));
            }
        }
    }
    if search.best.is_some() {
        let last = model.stages.len() - 1;
        search.assign(last, 0, &mut top.clone(), &vec![0.0; requests], 0.0);
    }
    let grid = model.hops.iter().map(|h| h.sizes.len() as f64).product();
    let stats = SearchStats {
        nodes: search.nodes,
        grid,
    };
    (search.best.map(|(a, _)| a), stats)
}

/// A good first incumbent for the pruning: from the largest sizes, each function in turn
/// moves to its cheapest size that keeps the objective met, until none moves.
fn descend_each(model: &ChainModel, table: &Table, top: &Assignment) -> Option<Assignment> {
    if !model.meets(table, top) {
        return None;
    }
    let mut sizes = top.clone();
    let mut cost = model.usd_per_request(table, &sizes);
    for _ in 0..8 {
        let mut moved = false;
        for h in 0..sizes.len() {
            for size in 0..model.hops[h].sizes.len() {
                let mut trial = sizes.clone();
                trial[h] = size;
                if size == sizes[h] || !model.meets(table, &trial) {
                    continue;
                }
                let c = model.usd_per_request(table, &trial);
                if c < cost {
                    (sizes, cost, moved) = (trial, c, true);
                }
            }
        }
        if !moved {
            break;
        }
    }
    Some(sizes)
}

impl ChainModel {
    /// Whether an assignment meets the objective.
    pub fn meets(&self, table: &Table, sizes: &[usize]) -> bool {
        let mut d = self.durations(table, sizes, Starts::AsInProduction);
        quantile(&mut d, self.objective.percentile) <= self.objective.slo_ms
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

struct Search<'a> {
    model: &'a ChainModel,
    table: &'a Table,
    /// `prefix[k]`: the stages before `k` at their largest sizes, per request.
    prefix: Vec<Vec<f64>>,
    /// Mean billed own work per hop and size.
    mean_billed: Vec<Vec<f64>>,
    /// Per hop, the least its own work costs per request and its least USD per ms.
    floors: Vec<(f64, f64)>,
    best: Option<(Assignment, f64)>,
    nodes: u64,
}

impl Search<'_> {
    /// Assigns hop `i` of stage `k` (every later stage assigned: `suffix` is their duration
    /// per request, `fixed` their cost per request), then the rest of the stage, then the
    /// stages before it.
    fn assign(&mut self, k: usize, i: usize, sizes: &mut Assignment, suffix: &[f64], fixed: f64) {
        let stage = &self.model.stages[k];
        if i == stage.len() {
            return self.stage_done(k, sizes, suffix, fixed);
        }
        let h = stage[i];
        let top = self.model.hops[h].sizes.len() - 1;
        let waits = mean(suffix);
        let p = self.model.objective.percentile;
        for size in (0..=top).rev() {
            sizes[h] = size;
            // The rest of the stage at its largest sizes: no slower than it will be.
            let mut e2e = self.table.stage(stage, sizes, Starts::AsInProduction);
            let own: f64 = stage
                .iter()
                .enumerate()
                .map(|(j, &g)| {
                    if j <= i {
                        let at = &self.model.hops[g].sizes[sizes[g]];
                        at.usd_per_request + at.usd_per_ms * (self.mean_billed[g][sizes[g]] + waits)
                    } else {
                        self.floors[g].0 + self.floors[g].1 * waits
                    }
                })
                .sum();
            let earlier = self.earlier_floors(k, waits + mean(&e2e));
            if self.beaten(fixed + own + earlier) {
                continue;
            }
            self.nodes += 1;
            for ((e, before), after) in e2e.iter_mut().zip(&self.prefix[k]).zip(suffix) {
                *e += before + after;
            }
            if quantile(&mut e2e, p) > self.model.objective.slo_ms {
                break;
            }
            self.assign(k, i + 1, sizes, suffix, fixed);
        }
        sizes[h] = top;
    }

    fn stage_done(&mut self, k: usize, sizes: &Assignment, suffix: &[f64], fixed: f64) {
        let requests = self.table.requests() as f64;
        let stage = &self.model.stages[k];
        let cost: f64 = stage
            .iter()
            .map(|&h| {
                let at = &self.model.hops[h].sizes[sizes[h]];
                hop_usd(at, self.table.billed(h, sizes[h]), suffix) / requests
            })
            .sum();
        let total = fixed + cost;
        if k == 0 {
            if !self.beaten(total) {
                self.best = Some((sizes.clone(), total));
            }
            return;
        }
        let mut waits = self.table.stage(stage, sizes, Starts::AsInProduction);
        for (w, s) in waits.iter_mut().zip(suffix) {
            *w += s;
        }
        if self.beaten(total + self.earlier_floors(k, mean(&waits))) {
            return;
        }
        self.assign(k - 1, 0, &mut sizes.clone(), &waits, total);
    }

    /// The least the stages before `k` can cost when each waits at least `waits` ms.
    fn earlier_floors(&self, k: usize, waits: f64) -> f64 {
        self.model.stages[..k]
            .iter()
            .flatten()
            .map(|&h| self.floors[h].0 + self.floors[h].1 * waits)
            .sum()
    }

    /// Whether a cost is no better than the best found.
    fn beaten(&self, cost: f64) -> bool {
        self.best.as_ref().is_some_and(|(_, best)| cost >= *best)
    }
}

/// The baseline: each stage gets an equal share of the objective and each function is tuned
/// alone, to its cheapest size whose own duration (cold starts included) meets its share at
/// the objective's percentile, or its largest size when none does.
pub fn equal_split(model: &ChainModel, table: &Table) -> Assignment {
    let share_ms = model.objective.slo_ms / model.stages.len() as f64;
    let alone = vec![0.0; table.requests()];
    model
        .hops
        .iter()
        .enumerate()
        .map(|(h, hop)| {
            (0..hop.sizes.len())
                .filter(|&size| {
                    let mut d = table.hop(h, size, Starts::AsInProduction).to_vec();
                    quantile(&mut d, model.objective.percentile) <= share_ms
                })
                .map(|size| {
                    (
                        size,
                        hop_usd(&hop.sizes[size], table.billed(h, size), &alone),
                    )
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(size, _)| size)
                .unwrap_or(hop.sizes.len() - 1)
        })
        .collect()
}

/// The largest size of every hop: the fastest the chain can be.
pub fn fastest(model: &ChainModel) -> Assignment {
    model.hops.iter().map(|h| h.sizes.len() - 1).collect()
}

/// What keeping the entry function's environments provisioned costs and buys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EntryProvisioning {
    /// Provisioned environments that keep production's traffic warm.
    pub level: u32,
    /// Production's mean request rate.
    pub requests_per_second: f64,
    /// USD per GB-s an environment is provisioned.
    pub usd_per_gb_s: f64,
}

impl EntryProvisioning {
    /// The model with the entry never cold, each request paying its share of the provisioned
    /// environments at the entry's size.
    pub fn apply(&self, model: &ChainModel) -> ChainModel {
        let mut with = model.clone();
        let entry = model.stages[0][0];
        let hop = &mut with.hops[entry];
        hop.cold_probability = 0.0;
        for size in &mut hop.sizes {
            let gb = f64::from(size.memory_mb) / 1024.0;
            size.usd_per_request +=
                f64::from(self.level) * gb * self.usd_per_gb_s / self.requests_per_second;
        }
        with
    }
}
