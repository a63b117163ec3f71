//! Renderings of a run: each format is one module behind [`Renderer`] and renders both a single
//! function and a fleet (docs/reports.md). The result they render, [`FunctionDocument`], is
//! the tuner's (`tune::document`); this module only reads it.
//!
//! [`FunctionDocument`]: crate::tune::document::FunctionDocument

pub mod capacity;
mod cells;
pub mod chain;
mod chart;
pub mod csv;
pub mod fleet;
pub mod hosting;
pub mod html;
pub mod json;
pub mod markdown;
mod run;
#[cfg(test)]
pub(crate) mod sample;
pub mod table;

pub use cells::count;
pub use run::{Report, Row};

/// A rendering of a run (table, json, markdown, html, csv).
pub trait Renderer {
    fn render(&self, report: &Report) -> String;
}
