//! memtune: an auto-tuning memory optimizer for AWS Lambda.
//!
//! The library holds every stage (lab, platform, measurement, fitting, strategy, reporting);
//! `main.rs` is a thin clap front end over it.

pub mod apply;
pub mod bench;
pub mod cli;
pub mod fit;
pub mod fleet;
pub mod history;
pub mod iac;
pub mod inspect;
pub mod lab;
pub mod measure;
pub mod platform;
pub mod pricing;
pub mod report;
pub mod serve;
pub mod strategy;
pub mod sweep;
mod toml_lines;
pub mod tune;
