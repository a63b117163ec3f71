//! Which memory sizes to sample.

use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};

/// Sizes or bounds Lambda would not take, or sizes that are not numbers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SizeError {
    #[error("{flag} {mb} is outside Lambda's range: use {MIN_MEMORY_MB}..{MAX_MEMORY_MB}")]
    BoundOutOfRange { flag: &'static str, mb: u32 },
    #[error("--min-mb {min_mb} is above --max-mb {max_mb}")]
    MinAboveMax { min_mb: u32, max_mb: u32 },
    #[error("memory size {0} MB is outside Lambda's range: use sizes from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MB")]
    SizeOutOfRange(u32),
    #[error(
        "no size to sample between {min_mb} and {max_mb} MB: widen the bounds or pass --sizes"
    )]
    NothingToSample { min_mb: u32, max_mb: u32 },
    #[error("'{0}' in --sizes is not a memory size in MB (e.g. --sizes 128,512,1024)")]
    NotASize(String),
    #[error("--sizes is empty: give sizes in MB, e.g. --sizes 128,512,1024")]
    NoSizes,
}

/// A fixed set of sizes, within bounds, optionally with the function's current size added so
/// the recommendation can be compared with it.
#[derive(Debug, Clone, PartialEq)]
pub struct SizePlan {
    pub sizes: Vec<u32>,
    pub min_mb: u32,
    pub max_mb: u32,
    pub include_current: bool,
}

impl SizePlan {
    /// Checks sizes and bounds: each within Lambda's 128..10240 MB, min <= max.
    pub fn new(
        sizes: Vec<u32>,
        min_mb: u32,
        max_mb: u32,
        include_current: bool,
    ) -> Result<SizePlan, SizeError> {
        let valid = MIN_MEMORY_MB..=MAX_MEMORY_MB;
        for (flag, mb) in [("--min-mb", min_mb), ("--max-mb", max_mb)] {
            if !valid.contains(&mb) {
                return Err(SizeError::BoundOutOfRange { flag, mb });
            }
        }
        if min_mb > max_mb {
            return Err(SizeError::MinAboveMax { min_mb, max_mb });
        }
        if let Some(bad) = sizes.iter().find(|s| !valid.contains(s)) {
            return Err(SizeError::SizeOutOfRange(*bad));
        }
        let plan = SizePlan {
            sizes,
            min_mb,
            max_mb,
            include_current,
        };
        if plan.sizes(min_mb).is_empty() {
            return Err(SizeError::NothingToSample { min_mb, max_mb });
        }
        Ok(plan)
    }

    /// The sizes to sample for a function currently at `current_mb`, ascending, unique.
    pub fn sizes(&self, current_mb: u32) -> Vec<u32> {
        let mut sizes: Vec<u32> = self
            .sizes
            .iter()
            .copied()
            .filter(|s| (self.min_mb..=self.max_mb).contains(s))
            .collect();
        if self.include_current && (self.min_mb..=self.max_mb).contains(&current_mb) {
            sizes.push(current_mb);
        }
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }
}

/// Parses `128,512,1024`.
pub fn parse_sizes(text: &str) -> Result<Vec<u32>, SizeError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| SizeError::NotASize(s.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err(SizeError::NoSizes)
            } else {
                Ok(v)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_filter_and_current_is_added() {
        let plan = SizePlan::new(vec![128, 512, 3008], 256, 4096, true).unwrap();
        assert_eq!(plan.sizes(1024), [512, 1024, 3008]);
        assert_eq!(plan.sizes(512), [512, 3008]);
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert!(SizePlan::new(vec![64], 128, 10240, false).is_err());
        assert!(SizePlan::new(vec![128], 2048, 1024, false).is_err());
        assert!(SizePlan::new(vec![128], 1024, 2048, false).is_err());
        assert!(parse_sizes("128,abc").is_err());
        assert_eq!(parse_sizes("128, 256").unwrap(), [128, 256]);
    }
}
