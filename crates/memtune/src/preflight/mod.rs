//! Preflight: everything that can be checked before a run changes or invokes anything, so a
//! run that would fail half-way (after publishing versions, after spending invocations) is
//! refused up front with one line instead: payloads within Lambda's Invoke limit, the IAM
//! permissions every call of the run needs ([`permissions`], by side-effect-free probes), and
//! a state directory that can hold the journals and the history ([`state`]).

pub mod permissions;
pub mod state;

use crate::fleet::Plan;
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};
use crate::sweep::payload::Payloads;

pub use permissions::Needs;
pub use state::StateError;

/// Lambda refuses a synchronous Invoke request of this many bytes or more
/// (RequestTooLargeException: "Request must be smaller than 6291456 bytes").
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{which} is {bytes} bytes once its placeholders are filled in; Lambda takes synchronous Invoke payloads smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes (6 MB): send a smaller event")]
    PayloadTooLarge { which: String, bytes: usize },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Denied(permissions::Denied),
    /// A probe got no answer (network, throttling, a service error): nothing is known.
    #[error("cannot check the permissions on {function}: {source}")]
    Unchecked {
        function: String,
        source: Box<PlatformError>,
    },
}

/// Refuses payloads Lambda would refuse; `owner` names whose they are (`--payload`, a
/// function of a fleet).
pub fn check_payload_size(payloads: &Payloads, owner: &str) -> Result<(), PreflightError> {
    let (index, bytes) = payloads.largest();
    if bytes < MAX_SYNC_PAYLOAD_BYTES {
        return Ok(());
    }
    let which = match payloads.count() {
        1 => format!("the payload of {owner}"),
        n => format!("payload {} of {n} of {owner}", index + 1),
    };
    Err(PreflightError::PayloadTooLarge { which, bytes })
}

/// A fleet run's checks over its plan: every job's payloads, then the permissions on every
/// function it will tune: a sweep in place, of its copies (isolate = "clone", other
/// architectures), or both; UpdateAlias when it applies through an alias.
pub async fn check_plan<A: LambdaApi>(
    api: &A,
    plan: &Plan,
    update_alias: bool,
) -> Result<(), PreflightError> {
    for job in &plan.jobs {
        check_payload_size(&job.payloads, &job.function.name)?;
    }
    let mut in_place = Vec::new();
    let mut copied = Vec::new();
    for job in &plan.jobs {
        let (itself, copies) = job.samples_in_place_and_on_copies();
        if itself {
            in_place.push(&job.function);
        }
        if copies {
            copied.push(&job.function);
        }
    }
    let sweep = Needs {
        sweep: true,
        update_alias,
        copy: false,
    };
    permissions::check(api, &in_place, sweep).await?;
    let copy = Needs {
        copy: true,
        update_alias: false,
        ..sweep
    };
    permissions::check(api, &copied, copy).await?;
    // Applied through an alias on the function itself, though only its copies were swept.
    if update_alias {
        let alias_only: Vec<&FunctionConfig> = plan
            .jobs
            .iter()
            .filter(|j| !j.samples_in_place_and_on_copies().0)
            .map(|j| &j.function)
            .collect();
        let alias = Needs {
            sweep: false,
            update_alias: true,
            copy: false,
        };
        permissions::check(api, &alias_only, alias).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_from_six_mb_up_are_refused_with_their_size() {
        let event = |n: usize| format!(r#"{{"blob": "{}"}}"#, "x".repeat(n));
        let room = MAX_SYNC_PAYLOAD_BYTES - event(0).len();
        let fits = Payloads::single(&event(room - 1)).unwrap();
        assert!(check_payload_size(&fits, "--payload").is_ok());
        let over = Payloads::single(&event(room)).unwrap();
        let e = check_payload_size(&over, "--payload").unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "the payload of --payload is {MAX_SYNC_PAYLOAD_BYTES} bytes"
            )),
            "{e}"
        );
    }

    #[test]
    fn placeholders_count_at_their_longest() {
        let room = MAX_SYNC_PAYLOAD_BYTES - r#"{"k": "", "b": ""}"#.len();
        // Fits as written; the uuid's 36 characters push it over.
        let t = format!(
            r#"{{"k": "{{{{uuid}}}}", "b": "{}"}}"#,
            "x".repeat(room - 20)
        );
        let p = Payloads::single(&t).unwrap();
        assert!(t.len() < MAX_SYNC_PAYLOAD_BYTES);
        assert!(check_payload_size(&p, "f").is_err());
    }

    #[test]
    fn a_weighted_set_names_the_payload_that_is_too_large() {
        let big = "y".repeat(MAX_SYNC_PAYLOAD_BYTES);
        let set = format!(r#"[{{"payload": {{}}}}, {{"payload": {{"b": "{big}"}}}}]"#);
        let p = Payloads::weighted(&set).unwrap();
        let e = check_payload_size(&p, "--payloads").unwrap_err();
        assert!(
            e.to_string().starts_with("payload 2 of 2 of --payloads is"),
            "{e}"
        );
    }
}
