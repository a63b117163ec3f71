//! memtune: an auto-tuning memory optimizer for AWS Lambda.
//!
//! The library holds every stage (lab, platform, measurement, fitting, strategy, reporting);
//! `main.rs` is a thin clap front end over it.

pub mod cli;
pub mod lab;
