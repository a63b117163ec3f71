//! The cheapest assignment that meets the objective, the equal-split baseline it is compared
//! with, and provisioned concurrency on the entry function as a third way.
//!
//! The joint search is exact over the candidate sizes: a branch and bound whose prunings lose
//! nothing. More memory is never slower in the model, so with every unassigned function at
//! its largest size the chain is as fast as it can be: a size that misses the objective
//! there misses it everywhere, and so does every smaller one. A size no faster in any draw
//! than a smaller one of the same function costs more for nothing. A function's cost at a
//! size is at least its cost with its callees at their largest sizes (it waits least): sizes
//! whose bound alone reaches the best assignment found so far are dropped before the search,
//! and a partial assignment is abandoned once its assigned functions' exact costs (the rest
//! at their largest sizes) plus the others' least bounds reach it. The last function assigned
//! (the one with the most candidate sizes) finds its least feasible size by bisection.

use serde::Serialize;

use super::model::{Assignment, ChainModel, Table};

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
    let grid = model.hops.iter().map(|h| h.sizes.len() as f64).product();
    let top = fastest(model);
    let mut nodes = 1;
    if !model.meets(table, &top) {
        return (None, SearchStats { nodes, grid });
    }
    // Each function's smallest size that can meet the objective (the others at their
    // largest), and the sizes not dominated by a smaller one.
    let mut candidates: Vec<Vec<usize>> = Vec::new();
    for (h, hop) in model.hops.iter().enumerate() {
        let mut sizes = vec![hop.sizes.len() - 1];
        let mut trial = top.clone();
        for size in (0..hop.sizes.len() - 1).rev() {
            trial[h] = size;
            nodes += 1;
            if !model.meets(table, &trial) {
                break;
            }
            sizes.push(size);
        }
        sizes.reverse();
        let kept: Vec<usize> = sizes
            .iter()
            .enumerate()
            .filter(|&(k, &b)| !sizes[..k].iter().any(|&a| table.no_slower(h, a, b)))
            .map(|(_, &b)| b)
            .collect();
        candidates.push(kept);
    }
    // Cost bounds: each function at each size with its callees at their largest sizes.
    let least_waits = model.mean_waits(table, &top);
    let bounds: Vec<Vec<f64>> = (0..model.hops.len())
        .map(|h| {
            let mut at = top.clone();
            let mut row = vec![f64::INFINITY; model.hops[h].sizes.len()];
            for &size in &candidates[h] {
                at[h] = size;
                row[size] = model.hop_usd(table, &at, h, least_waits[h]);
            }
            row
        })
        .collect();
    let mut best: Option<(Assignment, f64)> = None;
    let seeds = [equal_split(model, table), top.clone()];
    for start in seeds
        .into_iter()
        .chain(descend_each(model, table, &top, &candidates))
    {
        let (meets, cost) = model.check(table, &start, true);
        if meets && best.as_ref().is_none_or(|(_, b)| cost < *b) {
            best = Some((start, cost));
        }
    }
    if let Some((_, incumbent)) = &best {
        let floor: f64 = (0..model.hops.len())
            .map(|h| {
                candidates[h]
                    .iter()
                    .map(|&s| bounds[h][s])
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        for (h, sizes) in candidates.iter_mut().enumerate() {
            let own_least = sizes
                .iter()
                .map(|&s| bounds[h][s])
                .fold(f64::INFINITY, f64::min);
            let rest = floor - own_least;
            sizes.retain(|&s| bounds[h][s] + rest < *incumbent);
        }
    }
    // The hop with the most candidate sizes last, where bisection finds its least feasible
    // size.
    let mut order: Vec<usize> = (0..model.hops.len()).collect();
    order.sort_by_key(|&h| candidates[h].len());
    let mut search = Search {
        model,
        table,
        bounds: &bounds,
        candidates: &candidates,
        order,
        best,
        nodes,
    };
    let mut sizes = top.clone();
    if search.candidates.iter().all(|c| !c.is_empty()) {
        search.assign(0, &mut sizes, 0.0);
    }
    let stats = SearchStats {
        nodes: search.nodes,
        grid,
    };
    (search.best.map(|(a, _)| a), stats)
}

/// A good first incumbent for the pruning: from the largest sizes, each function in turn
/// moves to its cheapest candidate size that keeps the objective met, until none moves.
fn descend_each(
    model: &ChainModel,
    table: &Table,
    top: &Assignment,
    candidates: &[Vec<usize>],
) -> Option<Assignment> {
    let mut sizes = top.clone();
    let mut cost = model.usd_per_request(table, &sizes);
    for _ in 0..4 {
        let mut moved = false;
        for h in 0..sizes.len() {
            for &size in &candidates[h] {
                if size == sizes[h] {
                    continue;
                }
                let mut trial = sizes.clone();
                trial[h] = size;
                let (meets, c) = model.check(table, &trial, true);
                if meets && c < cost {
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

struct Search<'a> {
    model: &'a ChainModel,
    table: &'a Table,
    /// `bounds[h][size]`: the least hop `h` costs at `size`.
    bounds: &'a [Vec<f64>],
    candidates: &'a [Vec<usize>],
    /// The order hops are assigned in.
    order: Vec<usize>,
    best: Option<(Assignment, f64)>,
    nodes: u64,
}

impl Search<'_> {
    /// Assigns the `k`-th hop of `order` (those before it assigned, those after at their
    /// largest sizes), largest size first: once a size misses the objective, the smaller
    /// ones do too.
    fn assign(&mut self, k: usize, sizes: &mut Assignment, spent: f64) {
        let n = self.order.len();
        let h = self.order[k];
        let rest: f64 = self.order[k + 1..]
            .iter()
            .map(|&g| {
                self.candidates[g]
                    .iter()
                    .map(|&s| self.bounds[g][s])
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        let top = sizes[h];
        if k + 1 == n {
            self.assign_last(h, sizes);
            sizes[h] = top;
            return;
        }
        for &size in self.candidates[h].iter().rev() {
            let bound = spent + self.bounds[h][size] + rest;
            if self.best.as_ref().is_some_and(|(_, b)| bound >= *b) {
                continue;
            }
            sizes[h] = size;
            self.nodes += 1;
            let (meets, costs) = self.model.check_costs(self.table, sizes);
            if !meets {
                break;
            }
            // The assigned hops at their exact costs with the others at their largest sizes
            // (their callees can only get slower): a tighter bound than their own bounds.
            let assigned: f64 = self.order[..=k].iter().map(|&g| costs[g]).sum();
            if self
                .best
                .as_ref()
                .is_some_and(|(_, b)| assigned + rest >= *b)
            {
                continue;
            }
            self.assign(k + 1, sizes, assigned);
        }
        sizes[h] = top;
    }

    /// The last hop: its smallest size meeting the objective by bisection (feasibility is
    /// monotone in memory), then the exact cost of each size from there up that its bound
    /// does not rule out.
    fn assign_last(&mut self, h: usize, sizes: &mut Assignment) {
        let candidates = &self.candidates[h];
        // The others' exact costs with this hop at its largest: they wait least then.
        let (_, at_top) = self.model.check_costs(self.table, sizes);
        self.nodes += 1;
        let others: f64 = at_top.iter().sum::<f64>() - at_top[h];
        let (mut lo, mut hi) = (0, candidates.len());
        // Invariant: sizes below lo miss, sizes from hi on meet (the largest was checked by
        // the caller's feasibility, with this hop at its largest).
        if hi == 0 {
            return;
        }
        hi -= 1;
        while lo < hi {
            let mid = (lo + hi) / 2;
            sizes[h] = candidates[mid];
            self.nodes += 1;
            if self.model.meets(self.table, sizes) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        for &size in &candidates[hi..] {
            if self
                .best
                .as_ref()
                .is_some_and(|(_, b)| others + self.bounds[h][size] >= *b)
            {
                continue;
            }
            sizes[h] = size;
            self.nodes += 1;
            let (meets, cost) = self.model.check(self.table, sizes, true);
            if meets && self.best.as_ref().is_none_or(|(_, b)| cost < *b) {
                self.best = Some((sizes.clone(), cost));
            }
        }
    }
}

/// The baseline: each function gets an equal share of the objective (the objective over the
/// most functions a request runs through one after another) and is tuned alone, to its
/// cheapest size whose own duration (cold starts at its ratio included) meets its share at
/// the objective's percentile, or its largest size when none does.
pub fn equal_split(model: &ChainModel, table: &Table) -> Assignment {
    let share_ms = model.objective.slo_ms / model.depth() as f64;
    let allowed = 1.0 - model.objective.percentile + 1e-12;
    model
        .hops
        .iter()
        .enumerate()
        .map(|(h, hop)| {
            let over = |size: usize, cold: bool| {
                let own = table.own(h, size, cold);
                own.iter().filter(|&&d| d > share_ms).count() as f64 / own.len() as f64
            };
            (0..hop.sizes.len())
                .find(|&size| {
                    let p = hop.cold_probability;
                    (1.0 - p) * over(size, false) + p * over(size, true) <= allowed
                })
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
        let hop = &mut with.hops[0];
        hop.cold_probability = 0.0;
        for size in &mut hop.sizes {
            let gb = f64::from(size.memory_mb) / 1024.0;
            size.usd_per_request +=
                f64::from(self.level) * gb * self.usd_per_gb_s / self.requests_per_second;
        }
        with
    }
}
