//! `--format json`: the run as it is: the document of a recommend run, the whole fleet run
//! (docs/json-schema.md).

use super::{Renderer, Report};

pub struct Json;

impl Renderer for Json {
    fn render(&self, report: &Report) -> String {
        let text = match report {
            Report::Function(doc) => serde_json::to_string_pretty(doc),
            Report::Fleet(run) => serde_json::to_string_pretty(run),
        };
        text.expect("a run is plain data") + "\n"
    }
}
