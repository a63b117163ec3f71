//! A chain tuned end to end: production's cold starts and traffic read, each function
//! measured, the model built and the decision taken. What `memtune chain` and its benchmark
//! run; neither prints nor applies here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::build;
use super::decision::{decide, ColdStarts};
use super::run::{measure, ChainRun, HopMeasurement, MeasureError, MeasureOptions, MeasuredHop};
use crate::fleet::config::chains::Chain;
use crate::inspect::production;
use crate::platform::cloudwatch::MetricsApi;
use crate::platform::logs::LogsApi;
use crate::platform::LambdaApi;
use crate::sweep::SweepEvent;
use crate::tune::production::Production;
use memtune_facts::pricing::{PriceBook, PricingError};

/// What the tuning reads besides the functions themselves.
#[derive(Debug, Clone)]
pub struct TuneSettings<'a> {
    pub book: &'a PriceBook,
    /// Days of production read for cold starts and traffic; None skips production.
    pub production_days: Option<u32>,
    /// The cold-start ratio of a function without production figures.
    pub fallback_cold_start_ratio: f64,
    /// YYYY-MM-DD: decides whether INIT is billed.
    pub today: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error(transparent)]
    Measure(#[from] MeasureError),
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

/// Tunes `chain`: the run as the reports render it, and what was measured of each function
/// (its configuration before, for apply).
pub async fn tune<A: LambdaApi, M: MetricsApi, G: LogsApi>(
    clients: (&A, &M, &G),
    chain: &Chain,
    options: &MeasureOptions,
    settings: &TuneSettings<'_>,
    in_flight: Arc<Semaphore>,
    on_event: &(dyn Fn(&str, SweepEvent) + Send + Sync),
) -> Result<(ChainRun, Vec<HopMeasurement>), TuneError> {
    let (api, _, logs) = clients;
    let names: Vec<String> = chain.functions().into_iter().map(str::to_string).collect();
    let figures = match settings.production_days {
        Some(days) => {
            production::read(
                clients,
                settings.book,
                &options.region,
                &names,
                days,
                Duration::from_secs(60),
            )
            .await
        }
        None => BTreeMap::new(),
    };
    let cold: BTreeMap<String, ColdStarts> = names
        .iter()
        .map(|n| {
            let production = figures.get(n).and_then(|p| p.as_ref().ok());
            (
                n.clone(),
                cold_starts(production, settings.fallback_cold_start_ratio),
            )
        })
        .collect();
    let measured = measure(api, logs, chain, options, in_flight, on_event).await?;
    let (model, current) = build::model(
        chain,
        &measured,
        &cold,
        settings.book,
        &options.region,
        &settings.today,
    )?;
    let monthly = figures
        .get(&chain.entry)
        .and_then(|p| p.as_ref().ok())
        .map_or(0.0, |p| p.monthly_invocations);
    let provisioning =
        build::entry_provisioning(chain, &measured[0], monthly, settings.book, &options.region);
    let decision = decide(&chain.name, &model, &current, provisioning, options.seed);
    let run = ChainRun {
        run_id: options.run_id.clone(),
        region: options.region.clone(),
        decision,
        measured: measured.iter().map(MeasuredHop::from).collect(),
    };
    Ok((run, measured))
}

/// A function's cold starts as production shows them: their ratio (`fallback` without
/// production figures) and INIT's log-normal spread from its p50 and p99 (z = 2.326).
pub fn cold_starts(production: Option<&Production>, fallback: f64) -> ColdStarts {
    let init_sigma = production
        .and_then(|p| Some((p.init_p50_ms?, p.init_p99_ms?)))
        .filter(|(p50, p99)| *p50 > 0.0 && p99 >= p50)
        .map_or(0.0, |(p50, p99)| (p99 / p50).ln() / 2.326);
    ColdStarts {
        probability: production
            .and_then(|p| p.cold_start_ratio)
            .unwrap_or(fallback),
        init_sigma,
    }
}
