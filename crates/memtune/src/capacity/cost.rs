//! What a month of a function costs with or without provisioned concurrency, from the prices
//! in the price book and what the window showed (memory, mean billed duration, INIT).

use serde::Serialize;

use memtune_facts::pricing::{gb_seconds, PricingError, RegionPrices};
use memtune_facts::Architecture;

/// Hours in a billing month, as AWS's pricing examples count them.
pub const MONTH_HOURS: f64 = 730.0;

/// The prices and figures one function's cost follows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostModel {
    pub memory_mb: u32,
    /// Mean billed duration of an invocation without INIT, in ms.
    pub mean_billed_ms: f64,
    /// Billed INIT of a cold start (0 where INIT is not billed), in ms.
    pub init_billed_ms: f64,
    pub request_usd: f64,
    pub on_demand_gb_s_usd: f64,
    pub provisioned_gb_s_usd: f64,
    pub provisioned_duration_gb_s_usd: f64,
}

/// A window's cost and its provisioned-concurrency part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowCost {
    pub total: f64,
    pub provisioned_concurrency: f64,
}

impl CostModel {
    pub fn new(
        prices: &RegionPrices,
        arch: Architecture,
        memory_mb: u32,
        mean_billed_ms: f64,
        init_billed_ms: f64,
    ) -> Result<CostModel, PricingError> {
        let provisioned = prices.provisioned(arch)?;
        Ok(CostModel {
            memory_mb,
            mean_billed_ms,
            init_billed_ms,
            request_usd: prices.request_price(),
            on_demand_gb_s_usd: prices.rate(arch)?.first_tier_price(),
            provisioned_gb_s_usd: provisioned.concurrency_gb_s,
            provisioned_duration_gb_s_usd: provisioned.duration_gb_s,
        })
    }

    /// USD for invocations split between on-demand and provisioned environments, cold starts
    /// on demand, and `provisioned_minutes` environment-minutes provisioned.
    pub fn window_usd(
        &self,
        invocations: u64,
        on_demand: u64,
        cold_starts: f64,
        provisioned_invocations: u64,
        provisioned_minutes: u64,
    ) -> WindowCost {
        let run = gb_seconds(self.memory_mb, self.mean_billed_ms);
        let init = gb_seconds(self.memory_mb, self.init_billed_ms);
        let provisioned_concurrency =
            gb_seconds(self.memory_mb, provisioned_minutes as f64 * 60_000.0)
                * self.provisioned_gb_s_usd;
        let total = invocations as f64 * self.request_usd
            + (on_demand as f64 * run + cold_starts * init) * self.on_demand_gb_s_usd
            + provisioned_invocations as f64 * run * self.provisioned_duration_gb_s_usd
            + provisioned_concurrency;
        WindowCost {
            total,
            provisioned_concurrency,
        }
    }

    /// The factor from a window of `minutes` to a month.
    pub fn to_month(&self, minutes: usize) -> f64 {
        MONTH_HOURS * 60.0 / minutes.max(1) as f64
    }

    /// us-east-1 x86_64 prices for a function of `memory_mb` running 100 ms with 300 ms INIT.
    #[cfg(test)]
    pub fn sample(memory_mb: u32) -> CostModel {
        let book = memtune_facts::pricing::PriceBook::builtin();
        CostModel::new(
            book.region("us-east-1").unwrap(),
            Architecture::X86_64,
            memory_mb,
            100.0,
            300.0,
        )
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioned_pays_for_itself_above_about_sixty_percent_utilisation() {
        let cost = CostModel::sample(1024);
        // One environment busy all month: 1 invocation of 100 ms every 100 ms for a minute.
        let per_minute = 600;
        let on_demand = cost.window_usd(per_minute, per_minute, 0.0, 0, 0).total;
        let provisioned = cost.window_usd(per_minute, 0, 0.0, per_minute, 1).total;
        assert!(provisioned < on_demand, "{provisioned} {on_demand}");
        // At 55% busy on-demand is cheaper, at 65% provisioned is.
        let at = |busy: f64| {
            let n = (per_minute as f64 * busy) as u64;
            (
                cost.window_usd(n, n, 0.0, 0, 0).total,
                cost.window_usd(n, 0, 0.0, n, 1).total,
            )
        };
        let (od, pc) = at(0.55);
        assert!(od < pc);
        let (od, pc) = at(0.65);
        assert!(pc < od);
        assert!((cost.to_month(1440 * 14) - 730.0 * 60.0 / 20160.0).abs() < 1e-12);
    }
}
