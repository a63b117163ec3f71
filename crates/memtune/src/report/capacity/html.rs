//! A capacity report as one self-contained HTML page, with an SVG chart per function.

use super::{markdown, recommendation_text};
use crate::capacity::CapacityReport;

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(report: &CapacityReport) -> String {
    let mut body = String::new();
    for f in &report.functions {
        body.push_str(&format!(
            "<section><h2>{}</h2><p>{}</p>{}</section>\n",
            escape(&f.name),
            escape(&recommendation_text(f)),
            super::chart::concurrency_by_hour(f)
        ));
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>memtune capacity</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:auto}}\
         pre{{white-space:pre-wrap}}</style></head><body>\n<h1>Capacity</h1>\n{body}\
         <h2>Details</h2><pre>{}</pre>\n</body></html>\n",
        escape(&markdown::render(report))
    )
}
