//! `memtune bench chains`: `memtune chain` on the lab's three call chains (a short API chain,
//! a fan-out, a heavy-INIT hop; config/lab/chains.toml), each decision judged by the lab's
//! truth: its true end-to-end percentile against the objective, and its true cost against
//! the cheapest assignment meeting the objective (every assignment of the 64 MB grid) and
//! against the equal split.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Semaphore;

use memtune::chain::run::MeasureOptions;
use memtune::chain::tune::{tune, TuneSettings};
use memtune::fleet::config::FleetConfig;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::sweep::sampling::Sampling;
use memtune_facts::pricing::PriceBook;
use memtune_lab::backfill::Backfill;
use memtune_lab::chain_truth::{self, ChainModel, ChainSettings, ChainTruth};
use memtune_lab::profiles::ProfileSet;
use memtune_lab::{self as lab, LabConfig};

/// The lab's chain profiles.
const PROFILES: &str = include_str!("../../config/lab/chains.toml");

/// The three chains as a memtune user would declare them, with objectives that bind.
pub const CHAINS: &str = r#"
[tuning]
allow_empty_payload = true

[[chain]]
name = "checkout"
entry = "checkout-api"
calls = { "checkout-api" = [["auth-check"]], "auth-check" = [["db-reader"]] }
slo_ms = 900
payloads = { "checkout-api" = '{"cart": 3}', "auth-check" = '{"token": "lab"}', "db-reader" = '{"table": "orders"}' }

[[chain]]
name = "feed"
entry = "feed-aggregator"
calls = { "feed-aggregator" = [["feed-ranker", "feed-profile", "feed-ads"]] }
slo_ms = 1000

[[chain]]
name = "quote"
entry = "report-api"
calls = { "report-api" = [["pricing-engine"], ["tax-lookup"]] }
slo_ms = 3000
payloads = { "report-api" = '{"basket": 12}', "pricing-engine" = '{"basket": 12}' }
"#;

/// One function of a benchmarked chain.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionRow {
    pub function: String,
    pub chosen_mb: u32,
    pub cheapest_mb: u32,
    pub equal_split_mb: u32,
}

/// One chain: the decision and the truth about it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainRow {
    pub chain: String,
    pub slo_ms: f64,
    pub percentile: f64,
    pub functions: Vec<FunctionRow>,
    /// True USD per million requests of the chosen sizes, the cheapest meeting the objective
    /// and the equal split.
    pub chosen_usd_per_million: f64,
    pub cheapest_usd_per_million: f64,
    pub equal_split_usd_per_million: f64,
    /// True end-to-end percentile of each, ms.
    pub chosen_tail_ms: f64,
    pub cheapest_tail_ms: f64,
    pub equal_split_tail_ms: f64,
    /// The tuner's own estimate of the chosen sizes' percentile.
    pub model_tail_ms: f64,
    /// Chosen over cheapest, in percent.
    pub over_cheapest_pct: f64,
    pub meets_objective: bool,
    /// Wall seconds of `memtune chain` (sweeps, queries, model and search).
    pub tune_seconds: f64,
    pub search_nodes: u64,
    pub grid: f64,
}

/// Tunes the three chains on a lab started here (seed `seed`), `invocations` warm
/// invocations per size.
pub async fn run(seed: u64, invocations: u32) -> Result<Vec<ChainRow>, String> {
    let profiles =
        ProfileSet::parse(PROFILES, "config/lab/chains.toml").map_err(|e| e.to_string())?;
    let config = FleetConfig::parse(CHAINS, "bench chains", None).map_err(|e| e.to_string())?;
    let mut lab_config = LabConfig::new(profiles.clone());
    lab_config.seed = seed;
    let started_ms = chrono::Utc::now().timestamp_millis();
    let server = lab::start(lab_config, "127.0.0.1:0".parse().expect("literal"))
        .await
        .map_err(|e| format!("cannot start the lab: {e}"))?;
    let sdk = server.client_config().await;
    let clients = (
        &AwsLambda::new(&sdk),
        &AwsCloudWatch::new(&sdk),
        &AwsLogs::new(&sdk),
    );
    let book = PriceBook::builtin();
    // The sweeps' journals, removed at the end.
    let state = std::env::temp_dir().join(format!("memtune-bench-chains-{}", std::process::id()));
    std::fs::create_dir_all(&state).map_err(|e| format!("{}: {e}", state.display()))?;
    let truth_settings = ChainSettings {
        book: &book,
        region: "us-east-1",
        samples: chain_truth::DEFAULT_SAMPLES,
        seed,
        backfill: Backfill::new(seed, started_ms),
    };
    let mut rows = Vec::new();
    for chain in &config.chains {
        let options = MeasureOptions {
            run_id: format!("bench-chain-{}", chain.name),
            region: "us-east-1".into(),
            state_dir: state.clone(),
            endpoint_url: Some(server.endpoint()),
            role: None,
            settle_timeout: Duration::from_secs(60),
            seed,
            sizes: vec![128, 256, 448, 832, 1600, 3008],
            invocations,
            sampling: Sampling::default(),
            query_limit: Duration::from_secs(60),
        };
        let settings = TuneSettings {
            book: &book,
            production_days: Some(14),
            fallback_cold_start_ratio: config.tuning.cold_start_ratio,
            today: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        };
        let started = Instant::now();
        let (run, _) = tune(
            clients,
            chain,
            &options,
            &settings,
            Arc::new(Semaphore::new(4)),
            &|_, _| {},
        )
        .await
        .map_err(|e| format!("chain {}: {e}", chain.name))?;
        let tune_seconds = started.elapsed().as_secs_f64();
        let d = &run.decision;
        let model = ChainModel::new(
            &profiles,
            &chain.entry,
            &chain_truth::default_grid(),
            &truth_settings,
        )
        .map_err(|e| e.to_string())?;
        let truth_of = |pick: &dyn Fn(&memtune::chain::FunctionChoice) -> u32| {
            let memory: BTreeMap<String, u32> = d
                .functions
                .iter()
                .map(|f| (f.function.clone(), pick(f)))
                .collect();
            model.truth(&memory, |_| 0).map_err(|e| e.to_string())
        };
        let chosen = truth_of(&|f| f.chosen_mb)?;
        let split = truth_of(&|f| f.equal_split_mb)?;
        let search = model
            .cheapest(chain.slo_ms, chain.percentile)
            .map_err(|e| e.to_string())?;
        let cheapest = search.cheapest.ok_or_else(|| {
            format!(
                "chain {}: nothing on the grid meets the objective",
                chain.name
            )
        })?;
        let tail = |t: &ChainTruth| percentile_of(t, chain.percentile);
        rows.push(ChainRow {
            chain: chain.name.clone(),
            slo_ms: chain.slo_ms,
            percentile: chain.percentile,
            functions: d
                .functions
                .iter()
                .map(|f| FunctionRow {
                    function: f.function.clone(),
                    chosen_mb: f.chosen_mb,
                    cheapest_mb: cheapest.memory.get(&f.function).copied().unwrap_or(0),
                    equal_split_mb: f.equal_split_mb,
                })
                .collect(),
            chosen_usd_per_million: chosen.cost_usd * 1e6,
            cheapest_usd_per_million: cheapest.cost_usd * 1e6,
            equal_split_usd_per_million: split.cost_usd * 1e6,
            chosen_tail_ms: tail(&chosen),
            cheapest_tail_ms: tail(&cheapest),
            equal_split_tail_ms: tail(&split),
            model_tail_ms: d.chosen.tail_ms,
            over_cheapest_pct: (chosen.cost_usd / cheapest.cost_usd - 1.0) * 100.0,
            meets_objective: tail(&chosen) <= chain.slo_ms,
            tune_seconds,
            search_nodes: d.search.nodes,
            grid: d.search.grid,
        });
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&state);
    Ok(rows)
}

/// The truth's percentile the objective names (p99 and p90 are computed; p50 otherwise).
fn percentile_of(t: &ChainTruth, percentile: f64) -> f64 {
    match percentile {
        p if p >= 99.0 => t.end_to_end.p99_ms,
        p if p >= 90.0 => t.end_to_end.p90_ms,
        _ => t.end_to_end.p50_ms,
    }
}

/// The rows as text.
pub fn render(rows: &[ChainRow]) -> String {
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "chain {} (p{} <= {:.0} ms): tuned in {:.1} s, {} of {:.0} assignments evaluated\n",
            r.chain, r.percentile, r.slo_ms, r.tune_seconds, r.search_nodes, r.grid
        ));
        out.push_str(&format!(
            "  {:<18} {:>10} {:>12} {:>12}\n",
            "function", "chosen MB", "cheapest MB", "equal split"
        ));
        for f in &r.functions {
            out.push_str(&format!(
                "  {:<18} {:>10} {:>12} {:>12}\n",
                f.function, f.chosen_mb, f.cheapest_mb, f.equal_split_mb
            ));
        }
        out.push_str(&format!(
            "  $/1M requests: chosen {:.2}, cheapest {:.2} ({:+.1}%), equal split {:.2}\n",
            r.chosen_usd_per_million,
            r.cheapest_usd_per_million,
            r.over_cheapest_pct,
            r.equal_split_usd_per_million
        ));
        out.push_str(&format!(
            "  true p{}: chosen {:.0} ms (model {:.0} ms; {}), cheapest {:.0} ms, equal split {:.0} ms\n\n",
            r.percentile,
            r.chosen_tail_ms,
            r.model_tail_ms,
            if r.meets_objective { "meets" } else { "MISSES" },
            r.cheapest_tail_ms,
            r.equal_split_tail_ms
        ));
    }
    out
}
