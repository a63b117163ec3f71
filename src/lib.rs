//! The `memtune` binary's code: the commands (`cli`) and the benchmarks (`bench`), which run
//! the tuner (`memtune`) against the lab (`memtune_lab`). A library target only so that
//! integration tests can drive the benchmarks; `main.rs` calls [`cli::main`].

pub mod bench;
pub mod cli;
