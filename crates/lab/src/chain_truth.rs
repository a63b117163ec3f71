//! The truth of a call chain (`chain`): for a memory assignment, the end-to-end duration a
//! client of the entry function sees (its percentiles with and without cold starts) and the
//! cost per request; and the cheapest assignment on a memory grid that meets a percentile
//! objective, by exhaustive search.
//!
//! The end-to-end duration has no closed form (sums and maxima of log-normal mixtures with
//! cold-start mixtures), so it is computed over a fixed set of draws: every invocation of the
//! chain (a node: the entry, each call, recursively) gets its own Latin-hypercube draws of its
//! noise, outliers, cold start and INIT, the same at every memory size. Each node's duration
//! at each size is tabulated once; an assignment then only adds and maxes those columns. With
//! the draws shared across sizes, a size whose durations are no shorter at any draw than those
//! of a smaller (cheaper) size can never be part of the cheapest assignment, so the search
//! drops it before enumerating: the result equals the search without that pruning.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::backfill::Backfill;
use super::capacity_truth::{Evaluator, Plan};
use super::chain;
use super::profiles::{FunctionProfile, ProfileSet};
use memtune_facts::pricing::{billed_ms, PriceBook, PricingError};

/// Draws per node by default.
pub const DEFAULT_SAMPLES: usize = 20_000;

/// The search grid by default: 128 MB to 3008 MB in 64 MB steps (46 sizes).
pub fn default_grid() -> Vec<u32> {
    (128..=3008).step_by(64).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ChainTruthError {
    #[error("no function '{name}' in the lab's profiles to start a chain from (functions that make calls: {callers})")]
    UnknownEntry { name: String, callers: String },
    #[error("'{name}' is not a function of chain '{entry}' (its functions: {members})")]
    NotInChain {
        name: String,
        entry: String,
        members: String,
    },
    #[error("{name} at {memory_mb} MB was not evaluated (evaluated sizes: {sizes})")]
    SizeNotEvaluated {
        name: String,
        memory_mb: u32,
        sizes: String,
    },
    #[error("{name} runs out of memory at {memory_mb} MB: give it more memory")]
    OutOfMemory { name: String, memory_mb: u32 },
    #[error("percentile {0} must be above 0 and below 100 (e.g. 99)")]
    Percentile(f64),
    #[error("samples {0} must be between 100 and 1000000")]
    Samples(usize),
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

/// How the truth is computed.
#[derive(Debug, Clone)]
pub struct ChainSettings<'a> {
    pub book: &'a PriceBook,
    pub region: &'a str,
    /// Draws per node.
    pub samples: usize,
    pub seed: u64,
    /// The production window a lab started then backfills, for functions whose cold starts
    /// follow from their environment model.
    pub backfill: Backfill,
}

/// End-to-end percentiles, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

/// One function of a chain under an assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HopTruth {
    pub name: String,
    pub memory_mb: u32,
    /// Invocations of this function per request to the entry.
    pub invocations: usize,
    pub cold_start_probability: f64,
    /// USD per request to the entry, all its invocations together.
    pub cost_usd: f64,
}

/// The truth of a chain under one memory assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainTruth {
    pub entry: String,
    pub memory: BTreeMap<String, u32>,
    pub end_to_end: Percentiles,
    pub end_to_end_warm: Percentiles,
    /// USD per request: every invocation's billed duration (INIT weighted by its cold-start
    /// probability where INIT is billed) and request price.
    pub cost_usd: f64,
    pub functions: Vec<HopTruth>,
}

/// The cheapest assignment meeting an objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainSearch {
    pub entry: String,
    pub slo_ms: f64,
    pub percentile: f64,
    pub sizes: Vec<u32>,
    /// Assignments on the grid (sizes out of memory excluded), and those evaluated after
    /// dropping dominated sizes.
    pub assignments: u64,
    pub evaluated: u64,
    pub cheapest: Option<ChainTruth>,
}

/// The state of a search for the cheapest assignment.
struct Search {
    slo_ms: f64,
    percentile: f64,
    scratch: Scratch,
    best: Option<(f64, Vec<usize>)>,
    evaluated: u64,
    /// None: no pruning, every assignment evaluated.
    bounds: Option<Bounds>,
}

/// What lets a search skip partial assignments.
struct Bounds {
    /// `own_cost[f][size]`: a lower bound of function f's cost at a size.
    own_cost: Vec<Vec<f64>>,
    /// `least_rest[j]`: the least total of those bounds over functions j and on.
    least_rest: Vec<f64>,
    envelopes: Vec<Table>,
}

impl Bounds {
    fn new(model: &ChainModel, candidates: &[Vec<usize>]) -> Bounds {
        let envelopes = model.envelopes(candidates);
        let mut scratch = Scratch::new(model.nodes.len(), model.samples);
        let own_cost: Vec<Vec<f64>> = (0..candidates.len())
            .map(|f| {
                (0..model.sizes.len())
                    .map(|s| {
                        if candidates[f].contains(&s) {
                            model.least_cost(f, s, &envelopes, &mut scratch)
                        } else {
                            f64::INFINITY
                        }
                    })
                    .collect()
            })
            .collect();
        let mut least_rest = vec![0.0; candidates.len() + 1];
        for f in (0..candidates.len()).rev() {
            let least = candidates[f]
                .iter()
                .map(|&s| own_cost[f][s])
                .fold(f64::INFINITY, f64::min);
            least_rest[f] = least_rest[f + 1] + least;
        }
        Bounds {
            own_cost,
            least_rest,
            envelopes,
        }
    }
}

/// One invocation of the chain per request.
struct Node {
    function: usize,
    /// Wall time the call adds for its caller (0 for the entry).
    overhead_ms: f64,
    /// Child nodes by stage, stages in order.
    stages: Vec<Vec<usize>>,
}

/// One function of the chain.
struct Function {
    name: String,
    cold_start_probability: f64,
    timeout_ms: f64,
    /// Per size: USD per request and per billed ms, or None when out of memory.
    prices: Vec<Option<(f64, f64)>>,
    init_billed: bool,
}

/// Per node and size, the drawn durations.
struct Table {
    /// Warm handler durations (capped at the timeout), by draw.
    warm: Vec<f32>,
    /// INIT where the draw starts cold, else 0, by draw.
    cold_init: Vec<f32>,
    /// Mean billed INIT per invocation.
    init_billed_ms: f64,
}

/// A chain's per-node duration tables over a set of sizes: built once, combined per
/// assignment.
pub struct ChainModel {
    entry: String,
    sizes: Vec<u32>,
    samples: usize,
    functions: Vec<Function>,
    /// Depth first: every node's children come after it.
    nodes: Vec<Node>,
    /// `tables[node][size index]`; None where the function runs out of memory.
    tables: Vec<Vec<Option<Table>>>,
}

impl ChainModel {
    /// Tabulates the chain that starts at `entry` at `sizes` (sorted and deduplicated here).
    pub fn new(
        profiles: &ProfileSet,
        entry: &str,
        sizes: &[u32],
        settings: &ChainSettings,
    ) -> Result<ChainModel, ChainTruthError> {
        if !(100..=1_000_000).contains(&settings.samples) {
            return Err(ChainTruthError::Samples(settings.samples));
        }
        let Some(root) = profiles.function(entry) else {
            let callers: Vec<&str> = profiles
                .functions
                .iter()
                .filter(|f| !f.calls.is_empty())
                .map(|f| f.name.as_str())
                .collect();
            return Err(ChainTruthError::UnknownEntry {
                name: entry.to_string(),
                callers: if callers.is_empty() {
                    "none".into()
                } else {
                    callers.join(", ")
                },
            });
        };
        let mut sizes = sizes.to_vec();
        sizes.sort_unstable();
        sizes.dedup();
        let prices = settings.book.region(settings.region)?;
        let mut profiles_used: Vec<&FunctionProfile> = Vec::new();
        let mut nodes = Vec::new();
        expand(profiles, root, 0.0, &mut profiles_used, &mut nodes);
        let mut functions = Vec::new();
        for p in &profiles_used {
            let arch = p.architecture;
            let model = p.model();
            let price_rows = sizes
                .iter()
                .map(|&m| {
                    if model.out_of_memory(m) {
                        return Ok(None);
                    }
                    let request = prices.invocation_cost(m, 0.0, 0.0, arch)?;
                    let per_ms = prices.invocation_cost(m, 1.0, 0.0, arch)? - request;
                    Ok(Some((request, per_ms)))
                })
                .collect::<Result<Vec<_>, PricingError>>()?;
            functions.push(Function {
                name: p.name.clone(),
                cold_start_probability: cold_start_probability(p, settings)?,
                timeout_ms: p.timeout_ms(),
                prices: price_rows,
                init_billed: settings.book.init_billing.is_billed(
                    &p.package_type,
                    &p.runtime,
                    &settings.book.as_of,
                ),
            });
        }
        let tables = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let f = &functions[node.function];
                let p = profiles_used[node.function];
                let draws = Draws::new(settings.seed, i, settings.samples);
                sizes.iter().map(|&m| table(p, f, m, &draws)).collect()
            })
            .collect();
        Ok(ChainModel {
            entry: entry.to_string(),
            sizes,
            samples: settings.samples,
            functions,
            nodes,
            tables,
        })
    }

    /// The chain's functions, in call order (the entry first).
    pub fn function_names(&self) -> Vec<&str> {
        self.functions.iter().map(|f| f.name.as_str()).collect()
    }

    pub fn sizes(&self) -> &[u32] {
        &self.sizes
    }

    /// The truth under `memory` (function name -> MB); functions it does not name run at
    /// `default_mb(name)`.
    pub fn truth(
        &self,
        memory: &BTreeMap<String, u32>,
        default_mb: impl Fn(&str) -> u32,
    ) -> Result<ChainTruth, ChainTruthError> {
        if let Some(name) = memory
            .keys()
            .find(|n| !self.functions.iter().any(|f| &f.name == *n))
        {
            return Err(ChainTruthError::NotInChain {
                name: name.clone(),
                entry: self.entry.clone(),
                members: self.function_names().join(", "),
            });
        }
        let mut assignment = Vec::new();
        for f in &self.functions {
            let memory_mb = memory
                .get(&f.name)
                .copied()
                .unwrap_or_else(|| default_mb(&f.name));
            let Some(index) = self.sizes.iter().position(|&s| s == memory_mb) else {
                return Err(ChainTruthError::SizeNotEvaluated {
                    name: f.name.clone(),
                    memory_mb,
                    sizes: self
                        .sizes
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                });
            };
            if f.prices[index].is_none() {
                return Err(ChainTruthError::OutOfMemory {
                    name: f.name.clone(),
                    memory_mb,
                });
            }
            assignment.push(index);
        }
        Ok(self.describe(&assignment))
    }

    /// The cheapest assignment on the model's sizes whose end-to-end `percentile` (with cold
    /// starts) is at most `slo_ms`; ties go to the smaller sizes in call order.
    pub fn cheapest(&self, slo_ms: f64, percentile: f64) -> Result<ChainSearch, ChainTruthError> {
        self.search(slo_ms, percentile, true)
    }

    /// [`Self::cheapest`] without dropping dominated sizes: every assignment evaluated.
    pub fn cheapest_exhaustive(
        &self,
        slo_ms: f64,
        percentile: f64,
    ) -> Result<ChainSearch, ChainTruthError> {
        self.search(slo_ms, percentile, false)
    }

    fn search(
        &self,
        slo_ms: f64,
        percentile: f64,
        prune: bool,
    ) -> Result<ChainSearch, ChainTruthError> {
        if !(percentile > 0.0 && percentile < 100.0) {
            return Err(ChainTruthError::Percentile(percentile));
        }
        let feasible: Vec<Vec<usize>> = self
            .functions
            .iter()
            .map(|f| {
                (0..self.sizes.len())
                    .filter(|&i| f.prices[i].is_some())
                    .collect()
            })
            .collect();
        let assignments = feasible.iter().map(|c| c.len() as u64).product();
        let candidates: Vec<Vec<usize>> = if prune {
            feasible
                .iter()
                .enumerate()
                .map(|(f, c)| self.undominated(f, c))
                .collect()
        } else {
            feasible
        };
        let mut search = Search {
            slo_ms,
            percentile,
            scratch: Scratch::new(self.nodes.len(), self.samples),
            best: None,
            evaluated: 0,
            bounds: prune.then(|| Bounds::new(self, &candidates)),
        };
        if candidates.iter().all(|c| !c.is_empty()) {
            let mut assignment = vec![None; candidates.len()];
            self.branch(0, &mut assignment, &candidates, &mut search);
        }
        let (best, evaluated) = (search.best, search.evaluated);
        Ok(ChainSearch {
            entry: self.entry.clone(),
            slo_ms,
            percentile,
            sizes: self.sizes.clone(),
            assignments,
            evaluated,
            cheapest: best.map(|(_, a)| self.describe(&a)),
        })
    }

    /// Tries every size of function `j` and on; with bounds, skips a partial assignment that
    /// cannot beat the best so far (its cost bound) or cannot meet the objective (the
    /// remaining functions at their envelopes miss it).
    fn branch(
        &self,
        j: usize,
        assignment: &mut [Option<usize>],
        candidates: &[Vec<usize>],
        search: &mut Search,
    ) {
        if j == candidates.len() {
            let full: Vec<usize> = assignment.iter().map(|s| s.expect("assigned")).collect();
            search.evaluated += 1;
            let cost = self.evaluate(&full, true, &mut search.scratch);
            if search.best.as_ref().is_none_or(|(b, _)| cost < *b)
                && search.scratch.percentile(0, search.percentile) <= search.slo_ms
            {
                search.best = Some((cost, full));
            }
            return;
        }
        for &size in &candidates[j] {
            assignment[j] = Some(size);
            if let Some(bounds) = &search.bounds {
                let spent: f64 = (0..=j)
                    .map(|g| bounds.own_cost[g][assignment[g].expect("assigned")])
                    .sum();
                let least = spent + bounds.least_rest[j + 1];
                if search.best.as_ref().is_some_and(|(b, _)| least >= *b) {
                    continue;
                }
                if j + 1 < candidates.len() {
                    self.evaluate_with(assignment, &bounds.envelopes, true, &mut search.scratch);
                    if search.scratch.percentile(0, search.percentile) > search.slo_ms {
                        continue;
                    }
                }
            }
            self.branch(j + 1, assignment, candidates, search);
        }
        assignment[j] = None;
    }

    /// The sizes of `candidates` no smaller candidate dominates: one that is at least as
    /// fast at every draw of every node of the function (warm and INIT) is also cheaper per
    /// ms, so the larger size cannot be in the cheapest assignment.
    fn undominated(&self, function: usize, candidates: &[usize]) -> Vec<usize> {
        let nodes: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].function == function)
            .collect();
        let at_most = |a: usize, b: usize| {
            nodes.iter().all(|&n| {
                let (ta, tb) = (
                    self.tables[n][a].as_ref().expect("feasible"),
                    self.tables[n][b].as_ref().expect("feasible"),
                );
                ta.warm.iter().zip(&tb.warm).all(|(x, y)| x <= y)
                    && ta.cold_init.iter().zip(&tb.cold_init).all(|(x, y)| x <= y)
            })
        };
        candidates
            .iter()
            .enumerate()
            .filter(|&(k, &b)| !candidates[..k].iter().any(|&a| at_most(a, b)))
            .map(|(_, &b)| b)
            .collect()
    }

    /// Fills `scratch` with every node's elapsed time per draw and returns the cost per
    /// request. `assignment[f]` is a size index per function.
    fn evaluate(&self, assignment: &[usize], cold: bool, scratch: &mut Scratch) -> f64 {
        let sizes: Vec<Option<usize>> = assignment.iter().copied().map(Some).collect();
        self.evaluate_with(&sizes, &[], cold, scratch)
    }

    /// [`Self::evaluate`] where a function without a size (None) runs at `envelopes[node]`;
    /// those cost nothing.
    fn evaluate_with(
        &self,
        assignment: &[Option<usize>],
        envelopes: &[Table],
        cold: bool,
        scratch: &mut Scratch,
    ) -> f64 {
        let mut cost = 0.0;
        for (i, node) in self.nodes.iter().enumerate().rev() {
            let f = &self.functions[node.function];
            let size = assignment[node.function];
            let t = match size {
                Some(size) => self.tables[i][size].as_ref().expect("feasible sizes only"),
                None => &envelopes[i],
            };
            let (done, later) = scratch.elapsed.split_at_mut(i + 1);
            let out = &mut done[i];
            let mut handler_sum = 0.0;
            for k in 0..self.samples {
                let mut calls = 0.0f32;
                for stage in &node.stages {
                    let slowest = stage
                        .iter()
                        .map(|&c| later[c - i - 1][k])
                        .fold(0.0f32, f32::max);
                    calls += slowest;
                }
                let handler = (t.warm[k] + calls).min(f.timeout_ms as f32);
                handler_sum += handler as f64;
                let init = if cold { t.cold_init[k] } else { 0.0 };
                out[k] = node.overhead_ms as f32 + init + handler;
            }
            let Some(size) = size else {
                continue;
            };
            let (request, per_ms) = f.prices[size].expect("feasible sizes only");
            // Billing rounds up to the next ms: on average half a ms more than the mean.
            let mean_billed = handler_sum / self.samples as f64 + 0.5;
            let init = if cold && f.init_billed {
                t.init_billed_ms
            } else {
                0.0
            };
            cost += request + per_ms * (mean_billed + init);
        }
        cost
    }

    /// Per node, the shortest duration at each draw over its function's candidate sizes:
    /// no assignment's end-to-end duration is shorter at any draw than with these.
    fn envelopes(&self, candidates: &[Vec<usize>]) -> Vec<Table> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let tables: Vec<&Table> = candidates[node.function]
                    .iter()
                    .map(|&s| self.tables[i][s].as_ref().expect("feasible sizes only"))
                    .collect();
                let fastest = |column: fn(&Table) -> &Vec<f32>| {
                    (0..self.samples)
                        .map(|k| {
                            tables
                                .iter()
                                .map(|t| column(t)[k])
                                .fold(f32::INFINITY, f32::min)
                        })
                        .collect()
                };
                Table {
                    warm: fastest(|t| &t.warm),
                    cold_init: fastest(|t| &t.cold_init),
                    init_billed_ms: 0.0,
                }
            })
            .collect()
    }

    /// A function's cost per request at a size with every other function at its envelope:
    /// its calls take no longer in any assignment, so this bounds its cost from below.
    fn least_cost(
        &self,
        function: usize,
        size: usize,
        envelopes: &[Table],
        scratch: &mut Scratch,
    ) -> f64 {
        let mut alone = vec![None; self.functions.len()];
        alone[function] = Some(size);
        self.evaluate_with(&alone, envelopes, true, scratch)
    }

    fn describe(&self, assignment: &[usize]) -> ChainTruth {
        let mut scratch = Scratch::new(self.nodes.len(), self.samples);
        self.evaluate(assignment, false, &mut scratch);
        let end_to_end_warm = scratch.percentiles();
        let cost_usd = self.evaluate(assignment, true, &mut scratch);
        let end_to_end = scratch.percentiles();
        let functions = self
            .functions
            .iter()
            .enumerate()
            .map(|(fi, f)| HopTruth {
                name: f.name.clone(),
                memory_mb: self.sizes[assignment[fi]],
                invocations: self.nodes.iter().filter(|n| n.function == fi).count(),
                cold_start_probability: f.cold_start_probability,
                cost_usd: self.function_cost(fi, assignment[fi], &scratch),
            })
            .collect();
        ChainTruth {
            entry: self.entry.clone(),
            memory: self
                .functions
                .iter()
                .zip(assignment)
                .map(|(f, &i)| (f.name.clone(), self.sizes[i]))
                .collect(),
            end_to_end,
            end_to_end_warm,
            cost_usd,
            functions,
        }
    }

    /// One function's cost per request, from the elapsed times `scratch` holds (of an
    /// evaluation with cold starts).
    fn function_cost(&self, function: usize, size: usize, scratch: &Scratch) -> f64 {
        let f = &self.functions[function];
        let (request, per_ms) = f.prices[size].expect("feasible sizes only");
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.function == function)
            .map(|(i, n)| {
                let t = self.tables[i][size].as_ref().expect("feasible sizes only");
                // Elapsed minus what is not billed: the call overhead and INIT (billed apart).
                let handler_mean = scratch.elapsed[i]
                    .iter()
                    .zip(&t.cold_init)
                    .map(|(e, init)| (e - init) as f64 - n.overhead_ms)
                    .sum::<f64>()
                    / self.samples as f64;
                let init = if f.init_billed { t.init_billed_ms } else { 0.0 };
                request + per_ms * (handler_mean + 0.5 + init)
            })
            .sum()
    }
}

/// The nodes of the call tree under `profile`, depth first.
fn expand<'a>(
    profiles: &'a ProfileSet,
    profile: &'a FunctionProfile,
    overhead_ms: f64,
    used: &mut Vec<&'a FunctionProfile>,
    nodes: &mut Vec<Node>,
) -> usize {
    let function = used
        .iter()
        .position(|p| p.name == profile.name)
        .unwrap_or_else(|| {
            used.push(profile);
            used.len() - 1
        });
    let index = nodes.len();
    nodes.push(Node {
        function,
        overhead_ms,
        stages: Vec::new(),
    });
    let mut stages = Vec::new();
    for (_, calls) in chain::stages(&profile.calls) {
        let children = calls
            .iter()
            .filter_map(|call| {
                // Profile validation guarantees the callee exists and no cycle.
                let callee = profiles.function(call.callee())?;
                Some(expand(profiles, callee, call.overhead_ms, used, nodes))
            })
            .collect();
        stages.push(children);
    }
    nodes[index].stages = stages;
    index
}

/// The share of production invocations that start cold: from the environment model over the
/// backfilled window (at the profile's own provisioned concurrency) where there is one, else
/// `traffic.cold_start_ratio` (1% unless set).
fn cold_start_probability(
    profile: &FunctionProfile,
    settings: &ChainSettings,
) -> Result<f64, PricingError> {
    let prices = settings.book.region(settings.region)?;
    let evaluator = Evaluator::new(profile, settings.backfill, settings.book, prices)?;
    let (Some(evaluator), Some(env)) = (evaluator, profile.traffic.environments.as_ref()) else {
        return Ok(profile.traffic.cold_start_ratio);
    };
    let plan = if env.provisioned_schedule.is_empty() {
        Plan::Level(env.provisioned)
    } else {
        Plan::Schedule(env.provisioned_schedule.clone())
    };
    Ok(evaluator.evaluate(&plan).cold_start_rate)
}

/// A node's draws: Latin-hypercube (each stratum of 1/N once, in a seeded order).
struct Draws {
    warm_z: Vec<f64>,
    warm_outlier: Vec<f64>,
    cold: Vec<f64>,
    init_z: Vec<f64>,
    init_outlier: Vec<f64>,
}

impl Draws {
    fn new(seed: u64, node: usize, n: usize) -> Draws {
        let mut rng = StdRng::seed_from_u64(seed ^ (0xc4a1_u64 << 16) ^ node as u64);
        let mut uniform = || {
            let mut u: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
            u.shuffle(&mut rng);
            u
        };
        let normal = Normal::standard();
        let to_z = |u: Vec<f64>| u.into_iter().map(|u| normal.inverse_cdf(u)).collect();
        let (a, b, c, d, e) = (uniform(), uniform(), uniform(), uniform(), uniform());
        Draws {
            warm_z: to_z(a),
            warm_outlier: b,
            cold: c,
            init_z: to_z(d),
            init_outlier: e,
        }
    }
}

fn table(profile: &FunctionProfile, f: &Function, memory_mb: u32, draws: &Draws) -> Option<Table> {
    let model = profile.model();
    if model.out_of_memory(memory_mb) {
        return None;
    }
    let arch = profile.architecture;
    let warm_dist = model.distribution(memory_mb, arch, f.timeout_ms);
    let init_dist = model.init_distribution(memory_mb, arch);
    let warm = draws
        .warm_z
        .iter()
        .zip(&draws.warm_outlier)
        .map(|(&z, &u)| warm_dist.at_draw(z, u) as f32)
        .collect();
    let mut billed_sum = 0.0;
    let cold_init = (0..draws.cold.len())
        .map(|k| {
            if draws.cold[k] >= f.cold_start_probability {
                return 0.0;
            }
            let init = init_dist.at_draw(draws.init_z[k], draws.init_outlier[k]);
            billed_sum += billed_ms(init);
            init as f32
        })
        .collect();
    Some(Table {
        warm,
        cold_init,
        init_billed_ms: billed_sum / draws.cold.len() as f64,
    })
}

/// Elapsed times per node and draw, reused across assignments.
struct Scratch {
    elapsed: Vec<Vec<f32>>,
    sorted: Vec<f32>,
}

impl Scratch {
    fn new(nodes: usize, samples: usize) -> Scratch {
        Scratch {
            elapsed: vec![vec![0.0; samples]; nodes],
            sorted: vec![0.0; samples],
        }
    }

    /// The nearest-rank `percentile` of node `node`'s elapsed times.
    fn percentile(&mut self, node: usize, percentile: f64) -> f64 {
        self.sorted.copy_from_slice(&self.elapsed[node]);
        let n = self.sorted.len();
        let rank = ((percentile / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1;
        let (_, v, _) = self.sorted.select_nth_unstable_by(rank, f32::total_cmp);
        *v as f64
    }

    fn percentiles(&mut self) -> Percentiles {
        Percentiles {
            p50_ms: self.percentile(0, 50.0),
            p90_ms: self.percentile(0, 90.0),
            p99_ms: self.percentile(0, 99.0),
        }
    }
}
