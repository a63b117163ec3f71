//! The chain's decision: each function's memory, the end-to-end figures before and after,
//! the equal-split baseline, which hop owns the tail and whether provisioned concurrency on
//! the entry is the cheaper way. Renderers and apply only read it.

use serde::Serialize;

use super::init::InitFit;
use super::model::{
    level, Assignment, ChainModel, Draws, Evaluation, Hop, HopSize, Objective, Table, LEVELS,
};
use super::search::{cheapest, equal_split, fastest, EntryProvisioning, SearchStats};
use crate::fit::Fit;

/// Requests drawn per cold-start pattern for the end-to-end distribution.
pub const REQUESTS: usize = 4000;

/// The search aims this share under the objective: the model's percentile is an estimate
/// (fitted curves from a few dozen invocations per size, INIT from one cold start per size),
/// and a chain tuned to the last millisecond of an estimate misses the true objective about
/// half the time.
pub const HEADROOM: f64 = 0.01;

/// One function of the chain in the decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionChoice {
    pub function: String,
    /// The function that calls it (none for the entry).
    pub caller: Option<String>,
    pub current_mb: u32,
    /// The joint choice; the largest candidate size when nothing meets the objective.
    pub chosen_mb: u32,
    pub equal_split_mb: u32,
    /// Share of the tail this function owns at the chosen sizes (0..1).
    pub tail_share: f64,
}

/// Provisioned concurrency on the entry function, evaluated as a third way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvisionedOption {
    pub provisioning: EntryProvisioning,
    /// Each function's memory with the entry provisioned, in the order of `functions`.
    pub sizes_mb: Vec<u32>,
    pub evaluation: Evaluation,
    /// Whether it is the cheapest way to meet the objective.
    pub cheapest: bool,
}

/// The decision for one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainDecision {
    pub chain: String,
    pub objective: Objective,
    pub functions: Vec<FunctionChoice>,
    /// The chosen sizes' figures; `meets_objective` false when nothing meets it.
    pub chosen: Evaluation,
    pub current: Evaluation,
    pub equal_split: Evaluation,
    /// The function owning the largest share of the tail at the chosen sizes.
    pub tail_owner: String,
    pub provisioned: Option<ProvisionedOption>,
    pub search: SearchStats,
    pub requests_drawn: usize,
    pub seed: u64,
    /// The trade-off in words: cost and latency before and after, against the baseline.
    pub tradeoff: String,
}

impl ChainDecision {
    /// Whether the chosen sizes meet the objective (and so may be applied).
    pub fn feasible(&self) -> bool {
        self.chosen.meets_objective
    }

    /// Each function's chosen memory, in call order.
    pub fn assignment(&self) -> impl Iterator<Item = (&str, u32)> {
        self.functions
            .iter()
            .map(|f| (f.function.as_str(), f.chosen_mb))
    }
}

/// What production says about a function's cold starts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColdStarts {
    /// Share of its invocations that start cold.
    pub probability: f64,
    /// Log-normal spread of its INIT (from production's INIT p50 and p99; 0 unknown).
    pub init_sigma: f64,
}

/// A hop of the model from a function's fitted curve of its own work: [`LEVELS`] quantiles
/// at each candidate size, made non-increasing in memory (more memory is never slower in
/// the model; a fitted curve's wiggle would otherwise make larger sizes look worse by noise).
/// `price(memory_mb)` gives (USD per billed ms, USD per request).
pub fn hop_from_fit(
    function: &str,
    fit: &Fit,
    candidates_mb: &[u32],
    init: &InitFit,
    cold: ColdStarts,
    init_billed: bool,
    price: &dyn Fn(u32) -> (f64, f64),
) -> Hop {
    let mut sizes: Vec<HopSize> = Vec::with_capacity(candidates_mb.len());
    for &memory_mb in candidates_mb {
        let mut own_ms: Vec<f64> = (0..LEVELS)
            .map(|i| fit.quantile_ms(memory_mb, level(i)))
            .collect();
        for i in 1..LEVELS {
            own_ms[i] = own_ms[i].max(own_ms[i - 1]);
        }
        let mut init_ms = init.init_ms(memory_mb).unwrap_or(0.0);
        if let Some(smaller) = sizes.last() {
            for (own, prev) in own_ms.iter_mut().zip(&smaller.own_ms) {
                *own = own.min(*prev);
            }
            init_ms = init_ms.min(smaller.init_ms);
        }
        let (usd_per_ms, usd_per_request) = price(memory_mb);
        sizes.push(HopSize {
            memory_mb,
            own_ms,
            init_ms,
            usd_per_ms,
            usd_per_request,
        });
    }
    Hop {
        function: function.to_string(),
        sizes,
        cold_probability: cold.probability.clamp(0.0, 1.0),
        init_sigma: cold.init_sigma.clamp(0.0, 2.0),
        init_billed,
    }
}

/// Decides a chain: `current` holds each hop's size index now (in `model.hops` order).
pub fn decide(
    chain: &str,
    model: &ChainModel,
    current: &Assignment,
    provisioning: Option<EntryProvisioning>,
    seed: u64,
) -> ChainDecision {
    let table = Table::new(model, &Draws::new(model, REQUESTS, seed));
    let (found, search) = cheapest(&with_headroom(model), &table);
    let chosen_sizes = found.clone().unwrap_or_else(|| fastest(model));
    let chosen = model.evaluate(&table, &chosen_sizes);
    let split_sizes = equal_split(model, &table);
    let equal = model.evaluate(&table, &split_sizes);
    let now = model.evaluate(&table, current);
    let memory = |h: usize, sizes: &Assignment| model.hops[h].sizes[sizes[h]].memory_mb;
    let caller_of = |h: usize| {
        model
            .calls
            .iter()
            .position(|stages| stages.iter().flatten().any(|&c| c == h))
            .map(|g| model.hops[g].function.clone())
    };
    let functions: Vec<FunctionChoice> = (0..model.hops.len())
        .map(|h| FunctionChoice {
            function: model.hops[h].function.clone(),
            caller: caller_of(h),
            current_mb: memory(h, current),
            chosen_mb: memory(h, &chosen_sizes),
            equal_split_mb: memory(h, &split_sizes),
            tail_share: chosen.tail_shares[h],
        })
        .collect();
    let tail_owner = functions
        .iter()
        .max_by(|a, b| a.tail_share.total_cmp(&b.tail_share))
        .map(|f| f.function.clone())
        .unwrap_or_default();
    let provisioned = provisioning.map(|p| {
        let with = p.apply(model);
        // The same seed draws the same noise and the same cold starts elsewhere.
        let table = Table::new(&with, &Draws::new(&with, REQUESTS, seed));
        let (found_pc, _) = cheapest(&with_headroom(&with), &table);
        let sizes = found_pc.clone().unwrap_or_else(|| fastest(&with));
        let evaluation = with.evaluate(&table, &sizes);
        let cheapest = found_pc.is_some()
            && (found.is_none() || evaluation.usd_per_request < chosen.usd_per_request);
        ProvisionedOption {
            provisioning: p,
            sizes_mb: (0..model.hops.len()).map(|h| memory(h, &sizes)).collect(),
            evaluation,
            cheapest,
        }
    });
    let tradeoff = tradeoff(model.objective, &now, &chosen, &equal, provisioned.as_ref());
    ChainDecision {
        chain: chain.to_string(),
        objective: model.objective,
        functions,
        chosen,
        current: now,
        equal_split: equal,
        tail_owner,
        provisioned,
        search,
        requests_drawn: REQUESTS,
        seed,
        tradeoff,
    }
}

/// The model the search runs on: the objective [`HEADROOM`] tighter.
fn with_headroom(model: &ChainModel) -> ChainModel {
    let mut tighter = model.clone();
    tighter.objective.slo_ms *= 1.0 - HEADROOM;
    tighter
}

fn per_million(usd: f64) -> String {
    format!("${:.2} per million requests", usd * 1e6)
}

fn tradeoff(
    objective: Objective,
    now: &Evaluation,
    chosen: &Evaluation,
    equal: &Evaluation,
    provisioned: Option<&ProvisionedOption>,
) -> String {
    let p = format!("p{}", objective.percentile * 100.0);
    let mut words = if chosen.meets_objective {
        format!(
            "The chosen sizes cost {} with an end-to-end {p} of {:.0} ms (objective {:.0} ms); now {} at {:.0} ms. ",
            per_million(chosen.usd_per_request),
            chosen.tail_ms,
            objective.slo_ms,
            per_million(now.usd_per_request),
            now.tail_ms,
        )
    } else {
        format!(
            "No sizes meet the objective: even the largest give an end-to-end {p} of {:.0} ms over {:.0} ms. ",
            chosen.tail_ms, objective.slo_ms
        )
    };
    if chosen.meets_objective {
        words.push_str(&format!(
            "Giving each stage an equal share of the objective would cost {} ({:+.1}% against the chosen sizes) with a {p} of {:.0} ms{}.",
            per_million(equal.usd_per_request),
            (equal.usd_per_request / chosen.usd_per_request - 1.0) * 100.0,
            equal.tail_ms,
            if equal.meets_objective { "" } else { ", missing the objective" },
        ));
    }
    if let Some(pc) = provisioned.filter(|p| p.cheapest) {
        words.push_str(&format!(
            " Provisioned concurrency on the entry ({} environments) is the cheapest way to meet the objective: {} in all with a {p} of {:.0} ms.",
            pc.provisioning.level,
            per_million(pc.evaluation.usd_per_request),
            pc.evaluation.tail_ms,
        ));
    }
    words
}
