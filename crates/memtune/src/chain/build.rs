//! The end-to-end model of a measured chain: each function's own-work curve at every
//! candidate size of the 64 MB grid (and its current size), its production cold-start
//! probability, and its prices.

use std::collections::BTreeMap;

use super::decision::{hop_from_fit, ColdStarts};
use super::model::{Assignment, ChainModel, Objective};
use super::run::HopMeasurement;
use super::search::EntryProvisioning;
use crate::fleet::config::chains::Chain;
use crate::tune::{architecture, cost_fn};
use memtune_facts::pricing::{PriceBook, PricingError};

/// The step of the candidate grid.
pub const GRID_STEP_MB: u32 = 64;

/// Multiples of 64 MB within `min_mb..=max_mb`, and `current_mb` (so "now" is on the grid).
pub fn candidates(min_mb: u32, max_mb: u32, current_mb: u32) -> Vec<u32> {
    let first = min_mb.div_ceil(GRID_STEP_MB) * GRID_STEP_MB;
    let mut sizes: Vec<u32> = (first..=max_mb).step_by(GRID_STEP_MB as usize).collect();
    if !sizes.contains(&current_mb) {
        sizes.push(current_mb);
        sizes.sort_unstable();
    }
    sizes
}

/// The model and each function's current size index. `measured` holds the chain's
/// functions in `Chain::functions` order; `cold` gives each function's production cold
/// starts; `today` (YYYY-MM-DD) decides whether INIT is billed.
pub fn model(
    chain: &Chain,
    measured: &[HopMeasurement],
    cold: &BTreeMap<String, ColdStarts>,
    book: &PriceBook,
    region: &str,
    today: &str,
) -> Result<(ChainModel, Assignment), PricingError> {
    let mut hops = Vec::new();
    let mut current = Vec::new();
    for m in measured {
        let config = &m.config;
        let cost = cost_fn(book, region, architecture(config))?;
        let price = |memory_mb: u32| {
            let request = cost(memory_mb, 0.0);
            ((cost(memory_mb, 1000.0) - request) / 1000.0, request)
        };
        let sizes = candidates(chain.min_mb, chain.max_mb, config.memory_mb);
        current.push(
            sizes
                .iter()
                .position(|&s| s == config.memory_mb)
                .unwrap_or(0),
        );
        let billed = book.init_billing.is_billed(
            &config.package_type,
            config.runtime.as_deref().unwrap_or_default(),
            today,
        );
        hops.push(hop_from_fit(
            &m.function,
            &m.fit,
            &sizes,
            &m.init,
            cold.get(&m.function).copied().unwrap_or_default(),
            billed,
            &price,
        ));
    }
    let index = |name: &str| {
        measured
            .iter()
            .position(|m| m.function == name)
            .unwrap_or(0)
    };
    let calls = measured
        .iter()
        .map(|m| {
            chain
                .stages_of(&m.function)
                .iter()
                .map(|s| s.iter().map(|f| index(f)).collect())
                .collect()
        })
        .collect();
    let model = ChainModel {
        hops,
        calls,
        objective: Objective {
            slo_ms: chain.slo_ms,
            percentile: chain.percentile / 100.0,
        },
    };
    Ok((model, current))
}

/// Provisioned concurrency on the entry, sized by Little's law for production's mean rate
/// with every request taking the whole objective: an estimate (`memtune capacity` sizes a
/// level from 1-minute metrics); `None` without production traffic or prices.
pub fn entry_provisioning(
    chain: &Chain,
    entry: &HopMeasurement,
    monthly_invocations: f64,
    book: &PriceBook,
    region: &str,
) -> Option<EntryProvisioning> {
    let requests_per_second = monthly_invocations / (30.0 * 86_400.0);
    if requests_per_second <= 0.0 {
        return None;
    }
    let prices = book
        .region(region)
        .ok()?
        .provisioned(architecture(&entry.config))
        .ok()?;
    let level = (requests_per_second * chain.slo_ms / 1000.0)
        .ceil()
        .max(1.0) as u32;
    Some(EntryProvisioning {
        level,
        requests_per_second,
        usd_per_gb_s: prices.concurrency_gb_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_steps_64_mb_and_holds_the_current_size() {
        assert_eq!(candidates(128, 384, 256), [128, 192, 256, 320, 384]);
        assert_eq!(candidates(100, 300, 1000), [128, 192, 256, 1000]);
        assert_eq!(candidates(128, 256, 200), [128, 192, 200, 256]);
    }
}
