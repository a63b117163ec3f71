//! Benchmarks run as `memtune bench ...`: they print figures, they do not assert them.

pub mod lab_load;
