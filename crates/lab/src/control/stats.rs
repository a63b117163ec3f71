//! The lab's own counters (not an AWS API): invocations, throttles, GB-s and concurrency,
//! lab-wide and per function.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Lab;

/// Lab-wide counters, as served on `/_lab/stats`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LabStats {
    pub invocations: u64,
    pub throttles: u64,
    pub gb_seconds: f64,
    pub peak_concurrency: u32,
    pub in_flight: u32,
    pub functions: BTreeMap<String, FunctionStats>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FunctionStats {
    pub invocations: u64,
    pub cold_starts: u64,
    pub throttles: u64,
    pub gb_seconds: f64,
    pub peak_concurrency: u32,
    pub in_flight: u32,
    /// Versions PublishVersion created (a version handed back unchanged is not counted).
    pub versions_published: u64,
}

impl Lab {
    pub fn stats(&self) -> LabStats {
        let inner = self.lock();
        LabStats {
            invocations: inner.invocations,
            throttles: inner.throttles,
            gb_seconds: inner.gb_seconds,
            peak_concurrency: inner.peak,
            in_flight: inner.in_flight,
            functions: inner
                .functions
                .iter()
                .map(|(k, f)| (k.clone(), f.counters.clone()))
                .collect(),
        }
    }
}
