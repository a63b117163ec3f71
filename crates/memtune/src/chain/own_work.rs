//! A caller's own work: its REPORT Duration minus the calls it waited on. A caller writes one
//! `CALL <callee-function-name> <callee-request-id>` line per synchronous call before its
//! REPORT line; the callees' REPORT lines (matched by those request ids) give what each call
//! took. Calls to one function add up (they ran one after another); calls to different
//! functions of a fan-out overlap, so the slowest of them is what the caller waited for.

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
    #[error("it called {found} functions, but the chain's next stage has {expected}")]
    MissingCall { expected: usize, found: usize },
    #[error("its callees took {waited:.1} ms, more than its own {duration:.1} ms")]
    LongerThanCaller { duration: f64, waited: f64 },
}

/// `duration_ms` minus what the caller waited on. `callee_ms` gives each callee request's
/// REPORT Duration by request id; `next_stage` is the stage the caller must call (empty for
/// the last stage), so a missing call is noticed rather than counted as own work.
pub fn own_ms(
    duration_ms: f64,
    calls: &[Call],
    callee_ms: &HashMap<String, f64>,
    next_stage: &[String],
) -> Result<f64, OwnWorkError> {
    let mut per_function: BTreeMap<&str, f64> = BTreeMap::new();
    for call in calls {
        let took = callee_ms
            .get(&call.request_id)
            .ok_or_else(|| OwnWorkError::UnmatchedCall {
                function: call.function.clone(),
                request_id: call.request_id.clone(),
            })?;
        *per_function.entry(&call.function).or_default() += took;
    }
    let called = next_stage
        .iter()
        .filter(|f| per_function.contains_key(f.as_str()))
        .count();
    if called < next_stage.len() {
        return Err(OwnWorkError::MissingCall {
            expected: next_stage.len(),
            found: called,
        });
    }
    let waited = per_function.values().copied().fold(0.0, f64::max);
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
        let own = own_ms(120.0, &c, &ids(&[("r-b", 70.0)]), &["b".into()]).unwrap();
        assert_eq!(own, 50.0);
    }

    #[test]
    fn a_fan_out_caller_subtracts_its_slowest_callee() {
        let c = calls("CALL b rb\nCALL c rc\n");
        let own = own_ms(
            100.0,
            &c,
            &ids(&[("rb", 30.0), ("rc", 60.0)]),
            &["b".into(), "c".into()],
        );
        assert_eq!(own, Ok(40.0));
    }

    #[test]
    fn unmatched_missing_and_impossible_calls_are_refused() {
        let c = calls("CALL b rb\n");
        assert!(matches!(
            own_ms(100.0, &c, &ids(&[]), &["b".into()]),
            Err(OwnWorkError::UnmatchedCall { .. })
        ));
        assert!(matches!(
            own_ms(100.0, &[], &ids(&[]), &["b".into()]),
            Err(OwnWorkError::MissingCall {
                expected: 1,
                found: 0
            })
        ));
        assert!(matches!(
            own_ms(10.0, &c, &ids(&[("rb", 30.0)]), &["b".into()]),
            Err(OwnWorkError::LongerThanCaller { .. })
        ));
    }
}
