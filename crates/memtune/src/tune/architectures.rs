//! `--architectures x86_64,arm64`: one sweep per architecture (a temporary copy for each
//! architecture the function does not have now), then architecture and memory chosen together
//! ([`crate::strategy::architecture`]).

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{tune, Isolation, OnEvent, TuneError, TuneOptions, TuneOutcome};
use crate::platform::{FunctionConfig, LambdaApi};
use crate::strategy::architecture::{
    compare, ArchitectureComparison, ArchitectureOption, ArchitectureVerdict,
};
use memtune_facts::pricing::PriceBook;

/// Tunes `function` on each of `architectures` (its own alone when empty). Returns the outcome
/// of the chosen architecture (the function's own when none could be chosen) and the
/// comparison, when more than one architecture was asked for.
pub async fn tune_architectures<A: LambdaApi>(
    api: &A,
    book: &PriceBook,
    function: &FunctionConfig,
    options: &TuneOptions,
    architectures: &[String],
    in_flight: Arc<Semaphore>,
    on_event: &OnEvent,
) -> Result<(TuneOutcome, Option<ArchitectureComparison>), TuneError> {
    let current = function.architecture.as_str();
    if architectures.iter().all(|a| a == current) {
        let outcome = tune(api, book, &function.name, options, in_flight, on_event).await?;
        return Ok((outcome, None));
    }
    let mut outcomes: Vec<(String, Result<TuneOutcome, TuneError>)> = Vec::new();
    for arch in architectures {
        let isolation = if arch == current {
            options.isolation.clone()
        } else {
            Isolation::Clone {
                architecture: Some(arch.clone()),
            }
        };
        let options = TuneOptions {
            isolation,
            ..options.clone()
        };
        let result = tune(
            api,
            book,
            &function.name,
            &options,
            in_flight.clone(),
            on_event,
        )
        .await;
        outcomes.push((arch.clone(), result));
    }
    let mut verdicts = Vec::new();
    let mut measured = Vec::new();
    for (arch, result) in outcomes {
        let verdict = match &result {
            Ok(outcome) => verdict_of(outcome),
            Err(TuneError::NotPortable { error_type, .. }) => ArchitectureVerdict::NotPortable {
                error_type: error_type.clone(),
            },
            Err(e @ TuneError::FailedEverywhere { .. }) => {
                ArchitectureVerdict::NoRecommendation { why: e.to_string() }
            }
            // Anything else (AWS refused, a restore failed) fails the run.
            Err(_) => return result.map(|outcome| (outcome, None)),
        };
        verdicts.push(ArchitectureOption {
            architecture: arch.clone(),
            verdict,
        });
        if let Ok(outcome) = result {
            measured.push((arch, outcome));
        }
    }
    let comparison = compare(&options.strategy, current, verdicts);
    let wanted = comparison.chosen.as_deref().unwrap_or(current);
    let position = measured
        .iter()
        .position(|(arch, _)| arch == wanted)
        .or((!measured.is_empty()).then_some(0));
    match position {
        Some(i) => Ok((measured.swap_remove(i).1, Some(comparison))),
        None => Err(TuneError::Invalid(format!(
            "{} ran on none of the architectures: {}",
            function.name, comparison.summary
        ))),
    }
}

/// The strategy's choice on one architecture, as measured there.
fn verdict_of(outcome: &TuneOutcome) -> ArchitectureVerdict {
    match &outcome.recommendation {
        Ok(r) => {
            let warm = outcome
                .sizes
                .iter()
                .find(|s| s.memory_mb == r.memory_mb)
                .and_then(|s| s.warm.as_ref());
            ArchitectureVerdict::Recommended {
                memory_mb: r.memory_mb,
                cost_per_invocation_usd: r.cost.mean_usd,
                p50_ms: warm.map_or(r.trimmed_mean_ms, |w| w.p50.ms),
                p99_ms: warm.map_or(r.trimmed_mean_ms, |w| w.p99.ms),
            }
        }
        Err(e) => ArchitectureVerdict::NoRecommendation { why: e.to_string() },
    }
}
