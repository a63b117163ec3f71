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
    #[error("the staging bucket {bucket} does not exist: create it in {region}, or name another with --staging-bucket (staging_bucket in a fleet config)")]
    NoStagingBucket { bucket: String, region: String },
    #[error("the staging bucket {bucket} is in {bucket_region}, not {region}: Lambda reads a copy's code from a bucket in the function's region; name one in {region}")]
    StagingBucketElsewhere {
        bucket: String,
        bucket_region: String,
        region: String,
    },
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

/// Refuses a staging bucket that does not exist or is in another region than the functions,
/// by HeadBucket. HeadBucket needs s3:ListBucket, which staging itself does not: a denial
/// (or no answer) leaves the bucket unknown, and staging reports what S3 says if it fails.
pub async fn check_staging_bucket<A: LambdaApi>(
    api: &A,
    bucket: &str,
    region: &str,
) -> Result<(), PreflightError> {
    match api.staging_bucket_region(bucket).await {
        Err(PlatformError::NotFound(_)) => Err(PreflightError::NoStagingBucket {
            bucket: bucket.to_string(),
            region: region.to_string(),
        }),
        Ok(Some(bucket_region)) if !region.is_empty() && bucket_region != region => {
            Err(PreflightError::StagingBucketElsewhere {
                bucket: bucket.to_string(),
                bucket_region,
                region: region.to_string(),
            })
        }
        Ok(_) | Err(_) => Ok(()),
    }
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
    let mut buckets: Vec<(&str, &str)> = Vec::new();
    for job in &plan.jobs {
        let copies = job.samples_in_place_and_on_copies().1;
        if let Some(bucket) = job.staging_bucket.as_deref().filter(|_| copies) {
            let region = region_of(&job.function.arn);
            if !buckets.contains(&(bucket, region)) {
                buckets.push((bucket, region));
            }
        }
    }
    for (bucket, region) in buckets {
        check_staging_bucket(api, bucket, region).await?;
    }
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

/// The region an ARN names (`arn:aws:lambda:REGION:...`); empty when it names none.
fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_its_region() {
        assert_eq!(
            region_of("arn:aws:lambda:eu-west-1:123456789012:function:f"),
            "eu-west-1"
        );
        assert_eq!(region_of(""), "");
    }

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
