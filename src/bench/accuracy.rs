//! `memtune bench accuracy`: how good are the recommendations, and what did finding them
//! cost? Every profile of a corpus is tuned on an in-process lab (time scale 0) with each
//! strategy, by grid search (AWS Lambda Power Tuning's defaults) and by adaptive search, and
//! each recommendation is scored against the lab's noise-free truth on the 1 MB grid.
//! Exploration is what the lab billed: every invocation's billed duration, the INIT of each
//! cold start included (billed on Lambda since 2025-08-01), for both searches alike.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use memtune::fit::ProductionTail;
use memtune::inspect::production;
use memtune::measure::Percentile;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::strategy::{SloVerdict, Strategy};
use memtune::sweep::payload::Payloads;
use memtune::tune::adaptive::AdaptiveLimits;
use memtune::tune::plan::SizePlan;
use memtune::tune::{self, Search, TuneOptions};
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::{FunctionProfile, ProfileSet};
use memtune_lab::truth::{self, FunctionTruth};
use memtune_lab::{self as lab, synthetic, LabConfig};

use super::real_curves::{self, RealSet};

const REGION: &str = "us-east-1";
/// Power Tuning's default powerValues and invocations per size.
const GRID: [u32; 6] = [128, 256, 512, 1024, 1536, 3008];
const GRID_INVOCATIONS: u32 = 10;
/// A size is as feasible for scoring as memtune's screening demands.
const MEMORY_HEADROOM: f64 = 1.2;
/// Functions tuned at once.
const PARALLEL_FUNCTIONS: usize = 4;
/// Generated profiles per workload family in the full corpus.
const PER_FAMILY: usize = 2;
/// A recommendation costing more than this times the best size's is oversized.
pub const OVERSIZE_FACTOR: f64 = 1.5;

/// The built-in sets of profiles to tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// Physical-model profiles: [`corpus`].
    Lab,
    /// Measured curves ([`real_curves`]) of the development set.
    RealDev,
    /// Measured curves of the report set, never tuned on.
    RealReport,
}

/// The profiles of a built-in corpus; `quick` keeps a subset (every fourth measured curve).
pub fn profiles(corpus: Corpus, quick: bool, seed: u64) -> Vec<FunctionProfile> {
    let real = match corpus {
        Corpus::Lab => return self::corpus(quick, seed),
        Corpus::RealDev => real_curves::corpus(RealSet::Dev),
        Corpus::RealReport => real_curves::corpus(RealSet::Report),
    };
    real.into_iter()
        .step_by(if quick { 4 } else { 1 })
        .collect()
}

/// The lab corpus: calibrated real curves, the demo profiles and generated ones (two of
/// each workload family; the quick corpus takes the first four).
pub fn corpus(quick: bool, seed: u64) -> Vec<FunctionProfile> {
    let calibrated = ProfileSet::parse(
        include_str!("../../config/lab/calibrated.toml"),
        "config/lab/calibrated.toml",
    )
    .expect("the calibrated fleet is valid (a test checks it)")
    .functions;
    let demo = lab::demo_profiles().functions;
    let generated = synthetic::generate(
        if quick {
            4
        } else {
            PER_FAMILY * synthetic::FAMILIES
        },
        seed,
    );
    if quick {
        let mut few: Vec<FunctionProfile> = calibrated.into_iter().step_by(4).collect();
        few.extend(demo.into_iter().step_by(3));
        few.extend(generated);
        return few;
    }
    calibrated
        .into_iter()
        .chain(demo)
        .chain(generated)
        .collect()
}

/// Which strategies and searches to run.
#[derive(Debug, Clone)]
pub struct AccuracySpec {
    pub profiles: Vec<FunctionProfile>,
    pub strategies: Vec<String>,
    pub searches: Vec<&'static str>,
    pub seed: u64,
    /// Whether the adaptive search takes its tail from production's CloudWatch figures, as
    /// `recommend` does. Off, both searches decide on their own invocations alone: the grid
    /// (Power Tuning) reads no production data, so only then do both have the same information.
    pub production_tail: bool,
}

/// One tuning, scored.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub seed: u64,
    pub profile: String,
    /// The workload family of a generated profile; `None` for calibrated and demo ones.
    pub family: Option<String>,
    pub strategy: String,
    pub search: String,
    pub recommended_mb: Option<u32>,
    pub best_mb: Option<u32>,
    /// Cost at the recommendation / cost at the best size - 1 (true, noise-free costs).
    pub cost_regret: Option<f64>,
    /// For speed: mean duration at the recommendation / the fastest feasible mean - 1.
    pub duration_regret: Option<f64>,
    /// For latency-slo: the SLO, and whether the true p99 at the recommendation meets it.
    pub slo_ms: Option<f64>,
    pub slo_met: Option<bool>,
    /// For a recommendation that meets its SLO by the estimate: whether the percentile's upper
    /// bound confirms it, or it rests on the estimate alone. `None` without an SLO, or when no
    /// measured size meets it even by its estimate.
    pub slo_confirmed: Option<bool>,
    /// The true p99 at the recommendation, to tell a near miss from a far one.
    pub true_p99_ms: Option<f64>,
    /// What the search believed of the SLO percentile at the recommendation: its estimate and
    /// upper bound (to tell a miss the bound allowed from one the estimate alone let through).
    pub estimated_ms: Option<f64>,
    pub upper_bound_ms: Option<f64>,
    /// Whether any size meets the SLO at all.
    pub slo_reachable: Option<bool>,
    pub recommended_feasible: Option<bool>,
    /// The sizes sampled, with invocations at each: `[memory_mb, invocations]`.
    pub sampled: Vec<[u32; 2]>,
    pub invocations: u64,
    /// Exploration GB-s as billed, INIT of every cold start included.
    pub gb_seconds: f64,
    /// The cold starts the search caused, and the GB-s of their INIT (part of `gb_seconds`).
    pub cold_starts: u64,
    pub init_gb_seconds: f64,
    pub usd: f64,
    pub wall_ms: f64,
    pub error: Option<String>,
}

/// Summary of one strategy x search.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub strategy: String,
    pub search: String,
    pub runs: usize,
    pub failed: usize,
    /// Runs without a recommendation on a profile where some size is feasible.
    pub failed_with_safe_size: usize,
    pub median_regret: f64,
    pub p95_regret: f64,
    pub max_regret: f64,
    pub infeasible_recommendations: usize,
    /// Recommendations that cost more than [`OVERSIZE_FACTOR`] times the best size (the
    /// cheapest feasible one; for latency-slo, the cheapest that meets a reachable SLO): more
    /// than an SLO requires. `None` for speed, whose best size is not the cheapest.
    pub oversized: Option<usize>,
    /// Runs with an SLO (latency-slo's): the SLO columns mean nothing without one.
    pub slo_runs: usize,
    pub slo_missed: usize,
    /// Recommendations that meet the SLO by their estimate alone: no upper bound confirms it.
    pub slo_unconfirmed: usize,
    pub median_gb_seconds: f64,
    /// INIT's share of all the exploration GB-s of these runs.
    pub init_share: f64,
    pub median_invocations: f64,
    pub median_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccuracyReport {
    pub seed: u64,
    pub profiles: usize,
    pub summaries: Vec<Summary>,
    pub runs: Vec<Scored>,
    pub wall_seconds: f64,
}

impl AccuracyReport {
    /// The summary of one search (`grid`, `adaptive`) when the report ran one strategy.
    pub fn summary(&self, search: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.search == search)
    }
}

/// Truth and the feasible set memtune is held to, per profile.
struct Reference {
    truth: FunctionTruth,
    feasible: Vec<bool>,
}

impl Reference {
    fn new(profile: &FunctionProfile, book: &PriceBook, timeout_fraction: f64) -> Reference {
        let sizes = truth::every_size();
        let prices = book
            .region(REGION)
            .expect("the built-in book prices us-east-1");
        let truth = truth::function_truth(profile, &sizes, book, prices)
            .expect("us-east-1 prices both architectures");
        let limit = timeout_fraction * profile.timeout_ms();
        let feasible = truth
            .sizes
            .iter()
            .map(|s| {
                let used = profile.model().max_memory_used_mb(s.memory_mb) as f64;
                !s.out_of_memory
                    && s.p99_ms <= limit
                    && s.memory_mb as f64 >= MEMORY_HEADROOM * used
            })
            .collect();
        Reference { truth, feasible }
    }

    fn index(&self, memory_mb: u32) -> usize {
        (memory_mb - truth::every_size()[0]) as usize
    }

    fn is_feasible(&self, memory_mb: u32) -> bool {
        self.feasible[self.index(memory_mb)]
    }

    /// The cheapest feasible size, among those `allowed`.
    fn cheapest(&self, allowed: impl Fn(usize) -> bool) -> Option<u32> {
        self.truth
            .sizes
            .iter()
            .enumerate()
            .filter(|(i, _)| self.feasible[*i] && allowed(*i))
            .min_by(|a, b| a.1.cost_usd.total_cmp(&b.1.cost_usd))
            .map(|(_, s)| s.memory_mb)
    }

    /// An SLO on p99 that some sizes meet and others do not: 30% above the best p99.
    fn slo_ms(&self) -> Option<f64> {
        self.truth
            .sizes
            .iter()
            .enumerate()
            .filter(|(i, _)| self.feasible[*i])
            .map(|(_, s)| s.p99_ms)
            .min_by(f64::total_cmp)
            .map(|p99| p99 * 1.3)
    }
}

/// Runs the whole matrix and scores it.
pub async fn run(spec: &AccuracySpec) -> std::io::Result<AccuracyReport> {
    let started = Instant::now();
    let book = PriceBook::builtin();
    // Every case tunes its own copy of the function: the lab draws noise per function and
    // version, so one case's sampling cannot shift the noise another case sees.
    let profiles = ProfileSet {
        functions: spec
            .profiles
            .iter()
            .flat_map(|p| {
                spec.strategies.iter().flat_map(move |strategy| {
                    spec.searches.iter().map(move |search| FunctionProfile {
                        name: case_function(&p.name, strategy, search),
                        ..p.clone()
                    })
                })
            })
            .collect(),
        ..ProfileSet::default()
    };
    let adaptive_functions: Vec<String> = spec
        .profiles
        .iter()
        .filter(|_| spec.production_tail && spec.searches.contains(&"adaptive"))
        .flat_map(|p| {
            spec.strategies
                .iter()
                .map(|strategy| case_function(&p.name, strategy, "adaptive"))
        })
        .collect();
    let mut config = LabConfig::new(profiles);
    config.seed = spec.seed;
    let server = lab::start(config, "127.0.0.1:0".parse().expect("literal")).await?;
    let sdk = server.client_config().await;
    let api = Arc::new(AwsLambda::new(&sdk));
    let tails = Arc::new(production_tails(&sdk, &book, &adaptive_functions).await);
    let state = tempdir()?;
    let references: Arc<Vec<Reference>> = Arc::new(
        spec.profiles
            .iter()
            .map(|p| Reference::new(p, &book, 0.667))
            .collect(),
    );
    let gate = Arc::new(Semaphore::new(PARALLEL_FUNCTIONS));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, profile) in spec.profiles.iter().enumerate() {
        let (api, gate, references, tails) =
            (api.clone(), gate.clone(), references.clone(), tails.clone());
        let (profile, strategies, searches) = (
            profile.clone(),
            spec.strategies.clone(),
            spec.searches.clone(),
        );
        let state = state.clone();
        let seed = spec.seed;
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("never closed");
            let book = PriceBook::builtin();
            let mut scored = Vec::new();
            for strategy in &strategies {
                for search in &searches {
                    let case = Case {
                        profile: &profile,
                        reference: &references[i],
                        strategy,
                        search,
                        state: &state,
                        seed,
                        production_tail: tails
                            .get(&case_function(&profile.name, strategy, search))
                            .copied()
                            .flatten(),
                    };
                    scored.push(case.run(api.as_ref(), &book).await);
                }
            }
            scored
        });
    }
    let mut runs = Vec::new();
    while let Some(done) = tasks.join_next().await {
        runs.extend(done.map_err(std::io::Error::other)?);
    }
    server.stop().await;
    runs.sort_by(|a, b| {
        (&a.strategy, &a.search, &a.profile).cmp(&(&b.strategy, &b.search, &b.profile))
    });
    let _ = std::fs::remove_dir_all(&state);
    Ok(AccuracyReport {
        seed: spec.seed,
        profiles: spec.profiles.len(),
        summaries: summarize(&runs, &spec.strategies, &spec.searches),
        runs,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The production tail of every adaptive case's function, read from the lab's CloudWatch the
/// way `recommend` reads it (14 days of backfilled traffic at the profile's memory size, a
/// finite sample of simulated invocations).
async fn production_tails(
    sdk: &aws_config::SdkConfig,
    book: &PriceBook,
    names: &[String],
) -> BTreeMap<String, Option<ProductionTail>> {
    let clients = (
        &AwsLambda::new(sdk),
        &AwsCloudWatch::new(sdk),
        &AwsLogs::new(sdk),
    );
    production::read(clients, book, REGION, names, 14, Duration::from_secs(60))
        .await
        .into_iter()
        .map(|(name, p)| (name, p.ok().and_then(|p| p.tail())))
        .collect()
}

/// The lab function one case tunes: a copy of the profile named after the case.
fn case_function(profile: &str, strategy: &str, search: &str) -> String {
    format!("{profile}--{strategy}--{search}")
}

fn tempdir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "memtune-bench-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

struct Case<'a> {
    profile: &'a FunctionProfile,
    reference: &'a Reference,
    strategy: &'a str,
    search: &'a str,
    state: &'a std::path::Path,
    seed: u64,
    /// What the function's production metrics say about its tail, as `recommend` reads it.
    production_tail: Option<ProductionTail>,
}

impl Case<'_> {
    fn options(&self) -> TuneOptions {
        let slo = (self.strategy == "latency-slo")
            .then(|| self.reference.slo_ms())
            .flatten();
        let strategy = Strategy::load(self.strategy)
            .expect("built-in strategies load")
            .with_slo(slo, slo.map(|_| Percentile::P99));
        let search = if self.search == "grid" {
            Search::Grid(SizePlan::new(GRID.to_vec(), 128, 10240, false).expect("valid grid"))
        } else {
            Search::Adaptive(AdaptiveLimits {
                // Scored on finding the optimum; the CLI adds the current size for comparison.
                include_current: false,
                production_tail: self.production_tail,
                ..AdaptiveLimits::new(128, 10240, strategy.search.invocations)
            })
        };
        let (invocations, warmup) = if self.search == "grid" {
            (GRID_INVOCATIONS, 0)
        } else {
            (strategy.search.invocations, 0)
        };
        TuneOptions {
            run_id: format!(
                "bench-{}-{}-{}",
                self.profile.name, self.strategy, self.search
            ),
            strategy,
            search,
            invocations,
            warmup,
            payloads: Payloads::single("{}").expect("valid JSON"),
            region: REGION.into(),
            cold_start_ratio: self.profile.traffic.cold_start_ratio,
            state_dir: self.state.to_path_buf(),
            endpoint_url: None,
            role: None,
            settle_timeout: Duration::from_secs(60),
            seed: self.seed,
            // The bench scores the pure objectives, which no saving per month changes.
            monthly_invocations: None,
            cold_starts: false,
            isolation: Default::default(),
            sampling: Default::default(),
            staging_bucket: None,
        }
    }

    async fn run(&self, api: &AwsLambda, book: &PriceBook) -> Scored {
        let options = self.options();
        let slo = options
            .strategy
            .slo_ms
            .filter(|_| self.strategy == "latency-slo");
        let started = Instant::now();
        // One invocation at a time per function: the lab draws each function's noise from
        // its own seeded generator, so a fixed order makes the benchmark reproducible.
        let in_flight = Arc::new(Semaphore::new(1));
        let function = case_function(&self.profile.name, self.strategy, self.search);
        let outcome = tune::tune(api, book, &function, &options, in_flight, &|_| {}).await;
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut scored = Scored {
            seed: self.seed,
            profile: self.profile.name.clone(),
            family: synthetic::family(self.profile).map(str::to_string),
            strategy: self.strategy.to_string(),
            search: self.search.to_string(),
            recommended_mb: None,
            best_mb: None,
            cost_regret: None,
            duration_regret: None,
            slo_ms: slo,
            slo_met: None,
            slo_confirmed: None,
            true_p99_ms: None,
            estimated_ms: None,
            upper_bound_ms: None,
            slo_reachable: None,
            recommended_feasible: None,
            sampled: Vec::new(),
            invocations: 0,
            gb_seconds: 0.0,
            cold_starts: 0,
            init_gb_seconds: 0.0,
            usd: 0.0,
            wall_ms,
            error: None,
        };
        let reference = self.reference;
        let sizes = &reference.truth.sizes;
        let best = match slo {
            Some(slo) => {
                let meets = |i: usize| sizes[i].p99_ms <= slo;
                let best = reference.cheapest(meets);
                scored.slo_reachable = Some(best.is_some());
                best.or_else(|| reference.cheapest(|_| true))
            }
            None => reference.cheapest(|_| true),
        };
        scored.best_mb = best;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                if let Some(spent) = e.exploration() {
                    scored.invocations = spent.invocations;
                    scored.gb_seconds = spent.gb_seconds;
                    scored.usd = spent.usd;
                }
                scored.error = Some(e.to_string());
                return scored;
            }
        };
        scored.sampled = outcome
            .sizes
            .iter()
            .map(|s| [s.memory_mb, s.invocations as u32])
            .collect();
        scored.invocations = outcome.exploration.invocations;
        scored.gb_seconds = outcome.exploration.gb_seconds;
        scored.cold_starts = outcome.sizes.iter().map(|s| s.cold_starts as u64).sum();
        scored.init_gb_seconds = outcome
            .sizes
            .iter()
            .map(|s| {
                let init_ms = s.mean_init_ms.unwrap_or(0.0) * s.cold_starts as f64;
                s.memory_mb as f64 / 1024.0 * init_ms / 1000.0
            })
            .sum();
        scored.usd = outcome.exploration.usd;
        let Ok(rec) = &outcome.recommendation else {
            scored.error = outcome.recommendation.as_ref().err().map(|e| e.to_string());
            return scored;
        };
        let at = &sizes[reference.index(rec.memory_mb)];
        scored.recommended_mb = Some(rec.memory_mb);
        scored.recommended_feasible = Some(reference.is_feasible(rec.memory_mb));
        scored.slo_met = slo.map(|slo| at.p99_ms <= slo);
        scored.slo_confirmed = rec
            .slo
            .filter(|s| s.status != SloVerdict::Unmet)
            .map(|s| s.status == SloVerdict::Met);
        scored.true_p99_ms = Some(at.p99_ms);
        scored.estimated_ms = rec.slo.map(|s| s.estimate_ms);
        scored.upper_bound_ms = rec.slo.and_then(|s| s.upper_bound_ms);
        scored.cost_regret = best.map(|b| at.cost_usd / sizes[reference.index(b)].cost_usd - 1.0);
        let fastest = sizes
            .iter()
            .enumerate()
            .filter(|(i, _)| reference.feasible[*i])
            .map(|(_, s)| s.mean_ms)
            .min_by(f64::total_cmp);
        scored.duration_regret = fastest.map(|f| at.mean_ms / f - 1.0);
        scored
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

fn summarize(runs: &[Scored], strategies: &[String], searches: &[&str]) -> Vec<Summary> {
    let mut out = Vec::new();
    for strategy in strategies {
        for search in searches {
            let group: Vec<&Scored> = runs
                .iter()
                .filter(|r| &r.strategy == strategy && r.search == *search)
                .collect();
            let mut regrets: Vec<f64> = group.iter().filter_map(|r| summary_regret(r)).collect();
            regrets.sort_by(f64::total_cmp);
            out.push(Summary {
                strategy: strategy.clone(),
                search: search.to_string(),
                runs: group.len(),
                failed: group.iter().filter(|r| r.recommended_mb.is_none()).count(),
                failed_with_safe_size: group
                    .iter()
                    .filter(|r| r.recommended_mb.is_none() && r.best_mb.is_some())
                    .count(),
                median_regret: percentile(&regrets, 0.5),
                p95_regret: percentile(&regrets, 0.95),
                max_regret: regrets.last().copied().unwrap_or(f64::NAN),
                infeasible_recommendations: group
                    .iter()
                    .filter(|r| r.recommended_feasible == Some(false))
                    .count(),
                oversized: (strategy != "speed").then(|| {
                    group
                        .iter()
                        .filter(|r| r.cost_regret.is_some_and(|c| c > OVERSIZE_FACTOR - 1.0))
                        .count()
                }),
                slo_runs: group.iter().filter(|r| r.slo_ms.is_some()).count(),
                slo_missed: group
                    .iter()
                    .filter(|r| r.slo_reachable == Some(true) && r.slo_met == Some(false))
                    .count(),
                slo_unconfirmed: group
                    .iter()
                    .filter(|r| r.slo_confirmed == Some(false))
                    .count(),
                median_gb_seconds: median(group.iter().map(|r| r.gb_seconds)),
                init_share: group.iter().map(|r| r.init_gb_seconds).sum::<f64>()
                    / group.iter().map(|r| r.gb_seconds).sum::<f64>(),
                median_invocations: median(group.iter().map(|r| r.invocations as f64)),
                median_usd: median(group.iter().map(|r| r.usd)),
            });
        }
    }
    out
}

/// The regret a run counts with in the summary: speed is judged on duration, the others on
/// cost. A recommendation that misses a reachable SLO is wrong, not cheap: it counts as
/// unbounded regret rather than as the negative regret its lower cost would give.
fn summary_regret(run: &Scored) -> Option<f64> {
    if run.slo_reachable == Some(true) && run.slo_met == Some(false) {
        return Some(f64::INFINITY);
    }
    if run.strategy == "speed" {
        run.duration_regret
    } else {
        run.cost_regret
    }
}

/// Median over profiles of adaptive's exploration GB-s divided by grid's (INIT included in
/// both).
pub fn median_gb_s_ratio(runs: &[Scored], strategy: &str) -> f64 {
    median_ratio_of(&runs.iter().collect::<Vec<_>>(), strategy)
}

/// [`median_gb_s_ratio`] over runs of any number of seeds: each adaptive run is paired with
/// grid's on the same profile and seed.
pub fn median_ratio_of(runs: &[&Scored], strategy: &str) -> f64 {
    let ratios = runs
        .iter()
        .filter(|r| r.strategy == strategy && r.search == "adaptive")
        .filter_map(|a| {
            runs.iter()
                .find(|g| {
                    g.strategy == strategy
                        && g.search == "grid"
                        && g.profile == a.profile
                        && g.seed == a.seed
                })
                .filter(|g| g.gb_seconds > 0.0)
                .map(|g| a.gb_seconds / g.gb_seconds)
        });
    median(ratios)
}

/// The q-quantile (1: the largest) of these runs' regrets as the summary counts them.
pub fn regret_quantile(runs: &[&Scored], q: f64) -> f64 {
    let mut regrets: Vec<f64> = runs.iter().filter_map(|r| summary_regret(r)).collect();
    regrets.sort_by(f64::total_cmp);
    percentile(&regrets, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strategy: &str, cost_regret: f64, slo_met: Option<bool>) -> Scored {
        Scored {
            seed: 1,
            profile: "f".into(),
            family: None,
            strategy: strategy.into(),
            search: "adaptive".into(),
            recommended_mb: Some(512),
            best_mb: Some(1024),
            cost_regret: Some(cost_regret),
            duration_regret: Some(0.5),
            slo_ms: slo_met.map(|_| 100.0),
            slo_met,
            slo_confirmed: slo_met.map(|_| true),
            true_p99_ms: None,
            estimated_ms: None,
            upper_bound_ms: None,
            slo_reachable: slo_met.map(|_| true),
            recommended_feasible: Some(true),
            sampled: Vec::new(),
            invocations: 10,
            gb_seconds: 1.0,
            cold_starts: 1,
            init_gb_seconds: 0.1,
            usd: 0.0,
            wall_ms: 0.0,
            error: None,
        }
    }

    #[test]
    fn the_summary_counts_slo_decisions_left_on_the_estimate() {
        let mut runs = vec![
            run("latency-slo", 0.1, Some(true)),
            run("latency-slo", 0.2, Some(true)),
            run("cost", 0.0, None),
        ];
        runs[1].slo_confirmed = Some(false);
        let summaries = summarize(&runs, &["latency-slo".into(), "cost".into()], &["adaptive"]);
        let (slo, cost) = (&summaries[0], &summaries[1]);
        assert_eq!(
            (slo.slo_runs, slo.slo_unconfirmed, slo.slo_missed),
            (2, 1, 0)
        );
        assert_eq!((cost.slo_runs, cost.slo_unconfirmed), (0, 0));
    }

    #[test]
    fn a_missed_slo_counts_as_unbounded_regret_not_as_a_saving() {
        assert_eq!(
            summary_regret(&run("latency-slo", -0.3, Some(false))),
            Some(f64::INFINITY)
        );
        assert_eq!(
            summary_regret(&run("latency-slo", 0.04, Some(true))),
            Some(0.04)
        );
        assert_eq!(summary_regret(&run("cost", 0.01, None)), Some(0.01));
        assert_eq!(summary_regret(&run("speed", 0.01, None)), Some(0.5));
    }
}
