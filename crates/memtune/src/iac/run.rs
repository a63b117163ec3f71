//! The recommendations of a run, from `memtune fleet --format json` (a fleet run) or
//! `memtune recommend --format json` (one document, or an array of them).

use serde_json::Value;

use crate::tune::document::FunctionDocument;

/// A deployed function and the value wanted for one of its settings: the memory a run
/// recommends, or a concurrency level given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    pub function: String,
    pub value: u32,
    /// The stack that deployed it, when the run read its tags.
    pub stack_name: Option<String>,
}

impl Recommendation {
    pub fn new(function: &str, value: u32) -> Recommendation {
        Recommendation {
            function: function.to_string(),
            value,
            stack_name: None,
        }
    }
}

/// A file that is not a run's or a document's JSON.
#[derive(Debug, thiserror::Error)]
pub enum NotARun {
    #[error("not JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("neither a `memtune fleet --format json` run, a `memtune recommend --format json` document nor a `memtune chain --format json` run")]
    UnknownKind,
    #[error("a function document does not match the memtune schema ({0})")]
    OtherSchema(serde_json::Error),
}

/// The recommendations in a run's JSON, in its order; functions without one (skipped,
/// failed, no feasible size) are left out and counted.
pub fn read(text: &str) -> Result<RunRecommendations, NotARun> {
    let value: Value = serde_json::from_str(text).map_err(NotARun::NotJson)?;
    if let Some(decision) = value.get("decision") {
        return chain(decision);
    }
    let documents: Vec<Value> = match value {
        Value::Object(ref o) if o.get("functions").is_some_and(Value::is_array) => o["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f.get("document").cloned().unwrap_or(Value::Null))
            .collect(),
        Value::Object(ref o) if o.contains_key("recommendation") => vec![value],
        Value::Array(docs) => docs,
        _ => return Err(NotARun::UnknownKind),
    };
    let mut run = RunRecommendations::default();
    for doc in documents {
        if doc.is_null() {
            run.without_recommendation += 1;
            continue;
        }
        let doc: FunctionDocument = serde_json::from_value(doc).map_err(NotARun::OtherSchema)?;
        match doc.recommendation {
            Some(r) => run.recommendations.push(Recommendation {
                function: doc.function.name,
                value: r.memory_mb,
                stack_name: doc.function.stack_name,
            }),
            None => run.without_recommendation += 1,
        }
    }
    Ok(run)
}

/// A `memtune chain --format json` run: each function's chosen size, when the chosen sizes
/// meet the chain's objective (else none is a recommendation).
fn chain(decision: &Value) -> Result<RunRecommendations, NotARun> {
    let functions = decision
        .get("functions")
        .and_then(Value::as_array)
        .ok_or(NotARun::UnknownKind)?;
    let feasible = decision["chosen"]["meets_objective"].as_bool() == Some(true);
    let mut run = RunRecommendations::default();
    for f in functions {
        let name = f["function"].as_str();
        let mb = f["chosen_mb"].as_u64().and_then(|v| u32::try_from(v).ok());
        match (feasible, name, mb) {
            (true, Some(name), Some(mb)) => run.recommendations.push(Recommendation::new(name, mb)),
            _ => run.without_recommendation += 1,
        }
    }
    Ok(run)
}

#[derive(Debug, Default, PartialEq)]
pub struct RunRecommendations {
    pub recommendations: Vec<Recommendation>,
    /// Functions the run skipped, failed or found no feasible size for.
    pub without_recommendation: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_json() {
        assert!(read("{\"a\": 1}")
            .unwrap_err()
            .to_string()
            .contains("neither"));
        assert!(read("not json")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        assert!(read(r#"{"recommendation": 3}"#)
            .unwrap_err()
            .to_string()
            .contains("schema"));
    }

    #[test]
    fn a_chain_run_recommends_its_chosen_sizes_only_when_they_meet_the_objective() {
        let text = |meets: bool| {
            format!(
                r#"{{"run_id": "r", "decision": {{"chosen": {{"meets_objective": {meets}}},
                "functions": [{{"function": "api", "chosen_mb": 512}}, {{"function": "db", "chosen_mb": 1024}}]}}}}"#
            )
        };
        let run = read(&text(true)).unwrap();
        assert_eq!(
            run.recommendations,
            [
                Recommendation::new("api", 512),
                Recommendation::new("db", 1024)
            ]
        );
        let run = read(&text(false)).unwrap();
        assert!(run.recommendations.is_empty());
        assert_eq!(run.without_recommendation, 2);
    }

    #[test]
    fn fleet_entries_without_a_document_are_counted() {
        let run =
            read(r#"{"functions": [{"function": "a", "status": "skipped", "document": null}]}"#)
                .unwrap();
        assert_eq!(run.without_recommendation, 1);
        assert!(run.recommendations.is_empty());
    }
}
