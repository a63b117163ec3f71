//! What AWS documents about Lambda and both memtune's tuner and its lab rely on, defined once:
//! the architectures, the memory range, how memory buys CPU, the REPORT line and the prices.
//!
//! Only documented facts live here. How a simulated workload's duration depends on memory is
//! the lab's model (`memtune_lab::workload`), and how the tuner fits measured durations is its
//! own (`memtune::fit`); neither crosses into this crate.

pub mod hosting_prices;
pub mod pricing;
pub mod report_line;
pub mod toml_lines;

use serde::{Deserialize, Serialize};

pub const MIN_MEMORY_MB: u32 = 128;
pub const MAX_MEMORY_MB: u32 = 10240;
/// Memory size at which a function gets one full vCPU.
pub const ONE_VCPU_MB: f64 = 1769.0;
const FIVE_VCPU_MB: f64 = 5.0 * ONE_VCPU_MB;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// vCPUs Lambda allocates at a memory size: proportional up to 5 vCPU at 8845 MB, then
/// linear up to 6 vCPU at the 10240 MB maximum.
pub fn vcpus(memory_mb: f64) -> f64 {
    if memory_mb <= FIVE_VCPU_MB {
        memory_mb / ONE_VCPU_MB
    } else {
        5.0 + (memory_mb - FIVE_VCPU_MB) / (f64::from(MAX_MEMORY_MB) - FIVE_VCPU_MB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcpus_follow_lambda_allocation() {
        assert_eq!(vcpus(1769.0), 1.0);
        assert!((vcpus(3538.0) - 2.0).abs() < 1e-12);
        assert!((vcpus(8845.0) - 5.0).abs() < 1e-12);
        assert!((vcpus(10240.0) - 6.0).abs() < 1e-12);
        assert!((vcpus(128.0) - 128.0 / 1769.0).abs() < 1e-12);
    }
}
