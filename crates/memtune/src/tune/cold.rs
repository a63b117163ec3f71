//! `--cold-starts`: every sample on a fresh execution environment, as Power Tuning's
//! `onlyColdStarts` does. Lambda starts a version's first invocation cold, and publishes a new
//! version only when $LATEST changed, so sample i of a size M runs on a version published at
//! M + i MB (a 1 MB step changes the CPU share by under 0.1%): each gets its own version and
//! its first invocation. The samples are then counted at M, and what they measure is INIT
//! plus that first invocation.

use std::collections::{BTreeMap, BTreeSet};

use crate::measure::{Sample, SizeStats};
use crate::sweep::SizeRequest;
use memtune_facts::MAX_MEMORY_MB;

/// The warning a cold-start run's report carries.
pub const WARNING: &str = "cold starts only: each sample ran on a fresh execution environment (a version of its own); p50, p99 and cost are of INIT plus the first invocation";

/// One single-invocation request per sample; and the size each request's memory stands for.
pub fn plan(sizes: &[u32], invocations: u32) -> (Vec<SizeRequest>, BTreeMap<u32, u32>) {
    let mut taken: BTreeSet<u32> = sizes.iter().copied().collect();
    let mut nominal = BTreeMap::new();
    let mut requests = Vec::new();
    for &size in sizes {
        let mut candidates = (0..).map(|step: u32| {
            // Upwards while Lambda allows, then downwards.
            if size + step <= MAX_MEMORY_MB {
                size + step
            } else {
                size - (size + step - MAX_MEMORY_MB)
            }
        });
        for i in 0..invocations {
            let memory_mb = if i == 0 {
                size
            } else {
                candidates
                    .by_ref()
                    .find(|m| !taken.contains(m))
                    .expect("sizes are far fewer than Lambda's 10113 memory settings")
            };
            taken.insert(memory_mb);
            nominal.insert(memory_mb, size);
            requests.push(SizeRequest {
                memory_mb,
                invocations: 1,
                warmup: 0,
            });
        }
    }
    (requests, nominal)
}

/// The samples counted at the size they stand for, each as one measurement of INIT plus the
/// first invocation (its REPORT's Billed Duration includes INIT); and per size, the cold
/// starts and their mean INIT, which [`restore_init`] puts back.
pub fn as_measurements(
    samples: Vec<Sample>,
    nominal: &BTreeMap<u32, u32>,
) -> (Vec<Sample>, BTreeMap<u32, Vec<f64>>) {
    let mut init_by_size: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    let measured = samples
        .into_iter()
        .map(|mut s| {
            s.memory_mb = nominal.get(&s.memory_mb).copied().unwrap_or(s.memory_mb);
            if let Some(report) = s.report.as_mut() {
                if let Some(init) = report.init_ms.take() {
                    init_by_size.entry(s.memory_mb).or_default().push(init);
                    report.duration_ms += init;
                }
            }
            s.cold = false;
            s
        })
        .collect();
    (measured, init_by_size)
}

/// Puts the cold starts and the mean INIT back on each size's statistics.
pub fn restore_init(sizes: &mut [SizeStats], init_by_size: &BTreeMap<u32, Vec<f64>>) {
    for s in sizes {
        if let Some(init) = init_by_size.get(&s.memory_mb) {
            s.cold_starts = init.len();
            s.mean_init_ms = Some(init.iter().sum::<f64>() / init.len() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sample_gets_a_memory_of_its_own_near_its_size() {
        let (requests, nominal) = plan(&[1024, 1025, 10240], 3);
        let memories: Vec<u32> = requests.iter().map(|r| r.memory_mb).collect();
        assert_eq!(
            memories,
            [1024, 1026, 1027, 1025, 1028, 1029, 10240, 10239, 10238]
        );
        assert!(requests.iter().all(|r| r.invocations == 1 && r.warmup == 0));
        assert_eq!(nominal[&1027], 1024);
        assert_eq!(nominal[&1029], 1025);
        assert_eq!(nominal[&10238], 10240);
    }
}
