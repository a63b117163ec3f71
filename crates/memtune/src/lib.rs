//! memtune: an auto-tuning memory optimizer for AWS Lambda.
//!
//! The tuner's library: every stage from reading a function to applying its new size
//! (docs/architecture.md). The AWS facts it shares with the lab come from `memtune_facts`;
//! it never uses the lab itself. The `memtune` binary (the workspace root) is a clap front
//! end over it.

pub mod apply;
pub mod capacity;
pub mod chain;
pub mod fit;
pub mod fleet;
pub mod history;
pub mod hosting;
pub mod iac;
pub mod inspect;
pub mod listen;
pub mod measure;
pub mod orchestrate;
pub mod platform;
pub mod preflight;
pub mod report;
pub mod serve;
pub mod strategy;
pub mod sweep;
pub mod tune;
