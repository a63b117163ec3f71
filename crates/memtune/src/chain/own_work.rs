//! A caller's own work: its REPORT Duration minus the calls it waited on. A caller writes one
//! `CALL <callee-function-name> <callee-request-id>` line per synchronous call before its
//! REPORT line; the callees' REPORT lines (matched by those request ids) give what each call
//! took. The chain's call tree says how the calls overlap: the caller's stages run one after
//! another, so their waits add up; the calls of one stage run in parallel, so the slowest of
//! them is what the stage waited for. Calls to functions outside the chain are own work.

use std::collections::{BTreeMap, HashMap};

/// One `CALL` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub function: String,
    pub request_id: String,
}

/// The `CALL` lines of a log (tail), in order.
pub fn calls(log: &str) -> Vec<Call> {
    log.lines()
        .filter_map(|line| {
            let rest = line.trim().split_once("CALL ")?.1;
            let words: Vec<&str> = rest.split_whitespace().collect();
            // `CALL <callee> <request-id>`, or with the caller's stage first (the lab's form).
            let (function, request_id) = match words.as_slice() {
                [stage, f, id, ..] if stage.parse::<u32>().is_ok() => (*f, *id),
                [f, id, ..] => (*f, *id),
                _ => return None,
            };
            Some(Call {
                function: function.to_string(),
                request_id: request_id.to_string(),
            })
        })
        .collect()
}

/// Why an invocation's own work is unknown.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OwnWorkError {
    #[error("no REPORT line found for {function}'s request {request_id}")]
    UnmatchedCall {
        function: String,
        request_id: String,
    },
    #[error("it called {found} of the {expected} functions the chain says it calls")]
    MissingCall { expected: usize, found: usize },
    #[error("its callees took {waited:.1} ms, more than its own {duration:.1} ms")]
    LongerThanCaller { duration: f64, waited: f64 },
}

/// `duration_ms` minus what the caller waited on. `callee_ms` gives each callee request's
/// REPORT Duration by request id; `stages` are the calls the chain says the caller makes
/// (empty for a function that calls none), so a missing call is noticed rather than counted
/// as own work.
pub fn own_ms(
    duration_ms: f64,
    calls: &[Call],
    callee_ms: &HashMap<String, f64>,
    stages: &[Vec<String>],
) -> Result<f64, OwnWorkError> {
    let mut per_function: BTreeMap<&str, f64> = BTreeMap::new();
    for call in calls {
        if !stages.iter().flatten().any(|f| *f == call.function) {
            continue;
        }
        let took = callee_ms
            .get(&call.request_id)
            .ok_or_else(|| OwnWorkError::UnmatchedCall {
                function: call.function.clone(),
                request_id: call.request_id.clone(),
            })?;
        *per_function.entry(&call.function).or_default() += took;
    }
    let expected = stages.iter().map(Vec::len).sum();
    if per_function.len() < expected {
        return Err(OwnWorkError::MissingCall {
            expected,
            found: per_function.len(),
        });
    }
    let waited: f64 = stages
        .iter()
        .map(|stage| {
            stage
                .iter()
                .map(|f| per_function[f.as_str()])
                .fold(0.0, f64::max)
        })
        .sum();
    if waited > duration_ms {
        return Err(OwnWorkError::LongerThanCaller {
            duration: duration_ms,
            waited,
        });
    }
    Ok(duration_ms - waited)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(id, ms)| (id.to_string(), *ms)).collect()
    }

    #[test]
    fn reads_call_lines_among_other_output() {
        let log = "START RequestId: r1\n2026-01-01T00:00:00Z r1 INFO CALL pricing abc-1\n\
                   CALL stock abc-2\nsome CALL\nCALL 2 tax abc-3\nREPORT RequestId: r1\tDuration: 9.00 ms\n";
        let found = calls(log);
        assert_eq!(found.len(), 3);
        assert_eq!(
            (found[2].function.as_str(), found[2].request_id.as_str()),
            ("tax", "abc-3")
        );
        assert_eq!(found[0].function, "pricing");
        assert_eq!(found[1].request_id, "abc-2");
    }

    #[test]
    fn a_chain_caller_subtracts_its_callee() {
        let c = calls("CALL b r-b\n");
        let own = own_ms(120.0, &c, &ids(&[("r-b", 70.0)]), &[vec!["b".into()]]).unwrap();
        assert_eq!(own, 50.0);
    }

    #[test]
    fn a_fan_out_caller_subtracts_its_slowest_callee() {
        let c = calls("CALL b rb\nCALL c rc\n");
        let own = own_ms(
            100.0,
            &c,
            &ids(&[("rb", 30.0), ("rc", 60.0)]),
            &[vec!["b".into(), "c".into()]],
        );
        assert_eq!(own, Ok(40.0));
    }

    #[test]
    fn stages_add_up_and_calls_outside_the_chain_are_own_work() {
        let c = calls("CALL 1 b rb\nCALL 1 c rc\nCALL 2 d rd\nCALL 3 metrics rm\n");
        let stages = vec![
            vec!["b".to_string(), "c".to_string()],
            vec!["d".to_string()],
        ];
        let took = ids(&[("rb", 30.0), ("rc", 60.0), ("rd", 25.0)]);
        // 60 (the slower of b and c) + 25 (d); the call to `metrics` is not in the chain.
        assert_eq!(own_ms(100.0, &c, &took, &stages), Ok(15.0));
    }

    #[test]
    fn unmatched_missing_and_impossible_calls_are_refused() {
        let c = calls("CALL b rb\n");
        assert!(matches!(
            own_ms(100.0, &c, &ids(&[]), &[vec!["b".into()]]),
            Err(OwnWorkError::UnmatchedCall { .. })
        ));
        assert!(matches!(
            own_ms(100.0, &[], &ids(&[]), &[vec!["b".into()]]),
            Err(OwnWorkError::MissingCall {
                expected: 1,
                found: 0
            })
        ));
        assert!(matches!(
            own_ms(10.0, &c, &ids(&[("rb", 30.0)]), &[vec!["b".into()]]),
            Err(OwnWorkError::LongerThanCaller { .. })
        ));
    }
}
