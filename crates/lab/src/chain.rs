//! Chain profiles: a function's synchronous calls to other functions of the lab, in stages
//! (`[[function.calls]]`). The calls of one stage run in parallel and the stage lasts as long
//! as its slowest call; stages run one after the other. The calls themselves are made by the
//! Invoke path (`control/calls.rs`); this file holds their profile shape and the checks a
//! profile set must pass (callees exist, no call cycle).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Wall time one synchronous Invoke adds on top of the callee's own time, in ms, unless a
/// call sets `overhead_ms`: the request and response crossing the Lambda service. A model
/// parameter of the lab, not a figure AWS publishes.
pub const DEFAULT_INVOKE_OVERHEAD_MS: f64 = 10.0;

/// Attempts a caller makes when its call is throttled (the AWS SDKs' standard retry mode:
/// 3 attempts), and the wait before the second; each later wait doubles.
pub const CALL_ATTEMPTS: u32 = 3;
pub const FIRST_RETRY_WAIT_MS: f64 = 100.0;

/// The application log line a caller writes for each synchronous call that ran, before its
/// own REPORT line: `CALL <stage> <callee-function-name> <callee-request-id>`.
pub fn call_line(stage: u32, callee: &str, request_id: &str) -> String {
    format!("CALL {stage} {callee} {request_id}")
}

/// One `[[function.calls]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// Stages run in ascending order; the calls of one stage run in parallel.
    pub stage: u32,
    /// The callee: a function name, or `name:qualifier` (an alias or version).
    pub function: String,
    /// The event sent, as JSON text; none: `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default = "default_overhead")]
    pub overhead_ms: f64,
}

fn default_overhead() -> f64 {
    DEFAULT_INVOKE_OVERHEAD_MS
}

impl Call {
    /// The callee's function name, without a qualifier.
    pub fn callee(&self) -> &str {
        self.function.split(':').next().unwrap_or(&self.function)
    }

    /// The qualifier after `name:`, if any.
    pub fn qualifier(&self) -> Option<&str> {
        self.function.split_once(':').map(|(_, q)| q)
    }

    /// The first impossible value, as (key, message), without looking at other functions.
    pub(crate) fn validate(&self) -> Option<(&'static str, String)> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let qualifier_ok = self
            .qualifier()
            .is_none_or(|q| name_ok(q) || q == "$LATEST");
        if !name_ok(self.callee()) || !qualifier_ok || self.function.matches(':').count() > 1 {
            return Some((
                "function",
                format!(
                    "calls: '{}' is not a function name or name:qualifier (e.g. \"auth\" or \"auth:live\")",
                    self.function
                ),
            ));
        }
        if !(self.overhead_ms.is_finite() && (0.0..=10_000.0).contains(&self.overhead_ms)) {
            return Some((
                "overhead_ms",
                format!(
                    "calls: overhead_ms = {} is outside 0..=10000",
                    self.overhead_ms
                ),
            ));
        }
        if let Some(payload) = &self.payload {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(payload) {
                return Some((
                    "payload",
                    format!(
                        "calls: the payload to '{}' is not JSON ({e})",
                        self.function
                    ),
                ));
            }
        }
        None
    }
}

/// The calls of a function grouped by stage, stages in ascending order.
pub fn stages(calls: &[Call]) -> Vec<(u32, Vec<&Call>)> {
    let mut by_stage: BTreeMap<u32, Vec<&Call>> = BTreeMap::new();
    for call in calls {
        by_stage.entry(call.stage).or_default().push(call);
    }
    by_stage.into_iter().collect()
}

/// What is wrong with the calls between a set of functions: a callee that is not among them,
/// or a cycle. `calls_of` gives each function's calls by name.
pub fn check_call_graph<'a>(
    functions: impl Iterator<Item = (&'a str, &'a [Call])> + Clone,
) -> Option<(String, String)> {
    let graph: BTreeMap<&str, &[Call]> = functions.collect();
    for (&name, calls) in &graph {
        if let Some(call) = calls.iter().find(|c| !graph.contains_key(c.callee())) {
            return Some((
                name.to_string(),
                format!(
                    "function '{name}' calls '{}', which is not a function of the lab; \
                     define it or remove the call",
                    call.callee()
                ),
            ));
        }
    }
    // Depth-first search with the path kept: a callee already on the path closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        graph: &BTreeMap<&'a str, &'a [Call]>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name, Mark::Open);
        path.push(name);
        for call in graph.get(name).copied().unwrap_or_default() {
            let callee = graph
                .get_key_value(call.callee())
                .map(|(k, _)| *k)
                .unwrap_or(name);
            if let Some(cycle) = visit(callee, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for &name in graph.keys() {
        if let Some(cycle) = visit(name, &graph, &mut marks, &mut Vec::new()) {
            return Some((
                cycle[0].to_string(),
                format!(
                    "the calls form a cycle ({}); a synchronous call chain must end, so remove \
                     one of these calls",
                    cycle.join(" -> ")
                ),
            ));
        }
    }
    None
}
