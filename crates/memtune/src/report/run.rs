//! [`Report`]: what every format renders, one `recommend` run or one `fleet` run, kept as
//! produced so that JSON renders (and re-renders from a stored file) unchanged; [`Row`] is
//! the common view the other formats read.

use crate::fleet::outcome::{FleetRun, RunTotals, Status};
use crate::tune::document::FunctionDocument;

#[derive(Debug, Clone)]
pub enum Report {
    /// One `memtune recommend` run.
    Function(Box<FunctionDocument>),
    /// One `memtune fleet` (or `memtune demo`) run.
    Fleet(Box<FleetRun>),
}

/// One function of a run, whatever the run's kind.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub function: &'a str,
    pub status: Status,
    /// Why the function was skipped or failed.
    pub reason: Option<&'a str>,
    /// Memory when the run started.
    pub memory_mb: u32,
    /// Present when sizes were sampled.
    pub document: Option<&'a FunctionDocument>,
}

/// Text [`Report::from_json`] cannot read as a run or a document.
#[derive(Debug, thiserror::Error)]
pub enum NotAReport {
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("neither a fleet run (`memtune fleet --format json`) nor a recommend document (`memtune recommend --format json`)")]
    UnknownKind,
    #[error("a {kind} of another shape: {source}")]
    OtherShape {
        kind: &'static str,
        source: serde_json::Error,
    },
}

impl Report {
    pub fn run_id(&self) -> &str {
        match self {
            Report::Function(d) => &d.run_id,
            Report::Fleet(run) => &run.run_id,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Report::Function(d) => &d.function.region,
            Report::Fleet(run) => &run.region,
        }
    }

    /// When the run started (fleet) or its document was made (recommend), RFC 3339.
    pub fn started_at(&self) -> &str {
        match self {
            Report::Function(d) => &d.generated_at,
            Report::Fleet(run) => &run.started_at,
        }
    }

    pub fn rows(&self) -> Vec<Row<'_>> {
        match self {
            Report::Function(d) => {
                let (status, reason) = match &d.recommendation {
                    Some(_) => (Status::Recommended, None),
                    None => (
                        Status::Failed,
                        Some(d.no_recommendation.as_deref().unwrap_or("no feasible size")),
                    ),
                };
                vec![Row {
                    function: &d.function.name,
                    status,
                    reason,
                    memory_mb: d.current.memory_mb,
                    document: Some(d),
                }]
            }
            Report::Fleet(run) => run
                .functions
                .iter()
                .map(|r| Row {
                    function: &r.function,
                    status: r.status,
                    reason: r.reason.as_deref(),
                    memory_mb: r
                        .document
                        .as_deref()
                        .map_or(r.memory_mb, |d| d.current.memory_mb),
                    document: r.document.as_deref(),
                })
                .collect(),
        }
    }

    /// Counts and exploration spent over the whole run (`wall_s` is 0 for a recommend run,
    /// whose document does not record it).
    pub fn totals(&self) -> RunTotals {
        match self {
            Report::Fleet(run) => run.totals.clone(),
            Report::Function(d) => RunTotals {
                functions: 1,
                recommended: usize::from(d.recommendation.is_some()),
                failed: usize::from(d.recommendation.is_none()),
                skipped: 0,
                invocations: d.exploration.invocations,
                gb_seconds: d.exploration.gb_seconds,
                usd: d.exploration.usd,
                wall_s: 0.0,
            },
        }
    }

    /// Reads what `recommend --format json` or `fleet --format json` printed.
    pub fn from_json(text: &str) -> Result<Report, NotAReport> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(NotAReport::NotJson)?;
        let kind = if value.get("functions").is_some_and(|f| f.is_array()) {
            "fleet run"
        } else if value.get("sizes").is_some() && value.get("function").is_some() {
            "recommend document"
        } else {
            return Err(NotAReport::UnknownKind);
        };
        let report = if kind == "fleet run" {
            serde_json::from_value(value).map(|run| Report::Fleet(Box::new(run)))
        } else {
            serde_json::from_value(value).map(|doc| Report::Function(Box::new(doc)))
        };
        report.map_err(|source| NotAReport::OtherShape { kind, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::Json;
    use crate::report::{sample, Renderer};

    #[test]
    fn a_stored_fleet_run_reads_back_with_every_row() {
        let run = sample::fleet(3);
        let text = serde_json::to_string(&run).unwrap();
        let report = Report::from_json(&text).unwrap();
        assert!(matches!(report, Report::Fleet(_)));
        let rows = report.rows();
        assert_eq!(rows.len(), 4, "3 tuned and 1 skipped");
        assert_eq!(rows[3].status, Status::Skipped);
        assert_eq!(
            rows[3].memory_mb, 256,
            "memory of a skipped function survives"
        );
        assert_eq!(report.totals(), run.totals);
        assert_eq!(
            Json.render(&report),
            Json.render(&Report::Fleet(Box::new(run))),
            "JSON renders again byte for byte"
        );
    }

    #[test]
    fn a_stored_document_reads_back_as_a_one_function_run() {
        let doc = sample::document("api", 1024, 512, 3);
        let report = Report::from_json(&serde_json::to_string(&doc).unwrap()).unwrap();
        let Report::Function(back) = &report else {
            panic!("read as a fleet")
        };
        assert_eq!(**back, doc);
        assert_eq!(
            Json.render(&report),
            Json.render(&Report::Function(Box::new(doc.clone())))
        );
        assert_eq!(report.rows()[0].status, Status::Recommended);
        assert_eq!(report.totals().invocations, doc.exploration.invocations);
    }

    #[test]
    fn other_json_is_refused_with_what_was_expected() {
        let err = Report::from_json(r#"{"window": 3}"#).unwrap_err();
        assert!(err.to_string().contains("neither a fleet run"), "{err}");
        let err = Report::from_json("[1,").unwrap_err();
        assert!(err.to_string().starts_with("not JSON"), "{err}");
        let err = Report::from_json(r#"{"functions": [{"function": 3}]}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("a fleet run of another shape"),
            "{err}"
        );
    }
}
