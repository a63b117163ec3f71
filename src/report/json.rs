//! `--output json`: the documents as they are (one object for one function).

use super::{FunctionDocument, Renderer};

pub struct Json;

impl Renderer for Json {
    fn render(&self, docs: &[FunctionDocument]) -> String {
        let text = match docs {
            [one] => serde_json::to_string_pretty(one),
            many => serde_json::to_string_pretty(many),
        };
        text.expect("documents are plain data") + "\n"
    }
}
