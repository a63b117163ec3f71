//! The CI gate: compare each matched function's memory in the templates with the run's
//! recommendation, and render the comparison as Markdown for a pull request.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::matching::{Assignment, Unmatched};
use super::template::{Memory, Template, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub functions: String,
    pub resource: String,
    pub file: PathBuf,
    pub line: usize,
    pub template: TemplateMemory,
    pub recommended_mb: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateMemory {
    Mb(u32),
    /// Set by a parameter or expression: not comparable.
    Expression(String),
}

impl Row {
    /// (recommended - template) / template, in percent.
    pub fn difference_pct(&self) -> Option<f64> {
        match self.template {
            TemplateMemory::Mb(mb) => {
                Some((f64::from(self.recommended_mb) - f64::from(mb)) / f64::from(mb) * 100.0)
            }
            TemplateMemory::Expression(_) => None,
        }
    }

    pub fn beyond(&self, tolerance_pct: f64) -> bool {
        self.difference_pct()
            .is_some_and(|d| d.abs() > tolerance_pct)
    }
}

pub fn rows(templates: &[Template], assignment: &Assignment) -> Vec<Row> {
    let mut rows: Vec<Row> = assignment
        .matched
        .iter()
        .map(|(at, assigned)| {
            let t = &templates[at.template];
            let f = &t.functions[at.function];
            let (setting, effective_mb) = t.effective(f);
            let resource = match &f.memory {
                Memory::Inherited(d) => format!("{} (from {})", f.resource, t.defaults[*d].name),
                Memory::PlatformDefault(_) => format!("{} (default)", f.resource),
                Memory::Own(_) => f.resource.clone(),
            };
            let template = match setting.map(|s| &s.value) {
                Some(Value::Literal { number, .. }) => TemplateMemory::Mb(*number),
                Some(Value::Expression(e)) => TemplateMemory::Expression(e.clone()),
                None => TemplateMemory::Mb(effective_mb.unwrap_or_default()),
            };
            Row {
                functions: assigned.functions.join(", "),
                resource,
                file: t.path.clone(),
                line: setting.map_or(f.line, |s| s.line),
                template,
                recommended_mb: assigned.value,
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    rows
}

/// The pull-request comment: the functions beyond tolerance first, then what could not be
/// compared. Returns the text and whether any function is beyond tolerance.
pub fn markdown(
    rows: &[Row],
    assignment: &Assignment,
    unmatched: &[Unmatched],
    tolerance_pct: f64,
) -> (String, bool) {
    let beyond: Vec<&Row> = rows.iter().filter(|r| r.beyond(tolerance_pct)).collect();
    let mut out = String::from("## memtune memory check\n\n");
    if rows.is_empty() {
        out.push_str("No function of the run is defined in the given files.\n");
    } else if beyond.is_empty() {
        let _ = writeln!(
            out,
            "All {} matched functions are within {tolerance_pct}% of the recommended memory.",
            rows.len()
        );
    } else {
        let _ = writeln!(
            out,
            "{} of {} matched functions differ from the recommended memory by more than {tolerance_pct}%.\n",
            beyond.len(),
            rows.len()
        );
        out.push_str("| function | resource | template MB | recommended MB | difference |\n");
        out.push_str("|---|---|---:|---:|---:|\n");
        for r in &beyond {
            let TemplateMemory::Mb(mb) = r.template else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | `{}` ({}:{}) | {mb} | {} | {:+.1}% |",
                r.functions,
                r.resource,
                r.file.display(),
                r.line,
                r.recommended_mb,
                r.difference_pct().unwrap_or_default()
            );
        }
        out.push_str("\nRun `memtune patch --from RUN.json --write PATH...` to apply.\n");
    }
    let mut notes = Vec::new();
    for r in rows {
        if let TemplateMemory::Expression(e) = &r.template {
            notes.push(format!(
                "`{}` ({}:{}): memory comes from `{e}`; recommended {} MB",
                r.resource,
                r.file.display(),
                r.line,
                r.recommended_mb
            ));
        }
    }
    for c in &assignment.conflicts {
        notes.push(format!("{}: {}", c.function, c.reason));
    }
    for u in unmatched {
        let why = u.note.as_deref().unwrap_or("no given file defines it");
        notes.push(format!(
            "{} (recommended {} MB): {why}",
            u.function, u.value
        ));
    }
    if !notes.is_empty() {
        out.push_str("\nNot compared:\n\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    (out, !beyond.is_empty())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::iac::matching::{assign, Mapping};
    use crate::iac::parse;
    use crate::iac::run::Recommendation;

    fn check(text: &str, recs: &[(&str, u32)], tolerance: f64) -> (String, bool) {
        let templates = vec![parse(Path::new("main.tf"), text.into()).unwrap()];
        let recs: Vec<Recommendation> = recs
            .iter()
            .map(|&(f, mb)| Recommendation::new(f, mb))
            .collect();
        let a = assign(&templates, &recs, &Mapping::default());
        markdown(&rows(&templates, &a), &a, &a.unmatched, tolerance)
    }

    const TF: &str = "resource \"aws_lambda_function\" \"a\" {\n  function_name = \"a\"\n  memory_size = 1000\n}\nresource \"aws_lambda_function\" \"b\" {\n  function_name = \"b\"\n  memory_size = var.mem\n}\n";

    #[test]
    fn within_tolerance_passes() {
        let (md, beyond) = check(TF, &[("a", 1090), ("b", 512)], 10.0);
        assert!(!beyond);
        assert!(
            md.contains("All 2 matched functions are within 10%"),
            "{md}"
        );
        assert!(
            md.contains("memory comes from `var.mem`; recommended 512 MB"),
            "{md}"
        );
    }

    #[test]
    fn beyond_tolerance_fails_with_a_table() {
        let (md, beyond) = check(TF, &[("a", 1111), ("c", 128)], 10.0);
        assert!(beyond);
        assert!(
            md.contains("| a | `aws_lambda_function.a` (main.tf:3) | 1000 | 1111 | +11.1% |"),
            "{md}"
        );
        assert!(
            md.contains("c (recommended 128 MB): no given file defines it"),
            "{md}"
        );
    }
}
