//! Tuning on a temporary copy (`--isolate clone`): the original function is only read, never
//! changed. The copy gets the original's code (downloaded from GetFunction's code location, or
//! the same image), role, runtime, handler, layers, environment, VPC, timeout, ephemeral
//! storage, tracing and log format, on the original's architecture or another one, and is
//! tagged as a copy. It is journaled BEFORE CreateFunction, so that `memtune restore` deletes
//! it (with its log group) after a crash; [`super::Sweeper::finish`] deletes it otherwise.
//!
//! A .zip package larger than CreateFunction takes inline (50 MB) goes through the staging
//! bucket the user names: journaled, put in S3, the copy created from it, and deleted once the
//! copy is Active (or by `memtune restore`). Without a staging bucket such a copy is refused
//! before anything is made.
//!
//! The copy writes to its own log group (`/aws/lambda/<copy>`), not to a custom group the
//! original may share with other functions: deleting it must never touch anyone's logs.

use std::time::{Duration, Instant};

use super::journal::{Entry, Journal};
use super::{refuse_if_unfinished, restore, SweepError, SweepSetup};
use crate::platform::definition::{
    CodeSource, FunctionDefinition, NewCode, NewFunction, MAX_INLINE_ZIP_BYTES,
    MAX_STAGED_ZIP_BYTES,
};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};

/// Lambda's limit on function names.
const MAX_NAME: usize = 64;
/// The tag naming the function a copy was made of.
pub const CLONE_OF_TAG: &str = "memtune:clone-of";
/// The tag naming the run that made a copy.
pub const RUN_TAG: &str = "memtune:run";
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);

/// A temporary copy, created and Active, with the journal that will delete it.
pub struct TemporaryCopy {
    pub journal: Journal,
    pub config: FunctionConfig,
    /// The original, as it was read (its RevisionId included).
    pub source: FunctionConfig,
}

/// `<original>-memtune-clone-<arch>-<run tail>`, the original's name shortened so that the
/// whole stays within Lambda's 64 characters.
pub fn clone_name(original: &str, run_id: &str, architecture: &str) -> String {
    let tail: String = run_id
        .rsplit('-')
        .next()
        .unwrap_or(run_id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    let arch = if architecture == "arm64" {
        "arm"
    } else {
        "x86"
    };
    let suffix = format!("-memtune-clone-{arch}-{tail}");
    let keep = MAX_NAME.saturating_sub(suffix.len());
    let mut base: String = original.chars().take(keep).collect();
    while base.ends_with('-') || base.ends_with('_') {
        base.pop();
    }
    format!("{base}{suffix}")
}

/// What CreateFunction gets to copy `d` as `name` on `architecture`.
pub fn copy_request(
    d: &FunctionDefinition,
    name: &str,
    architecture: &str,
    code: NewCode,
    run_id: &str,
) -> NewFunction {
    let c = &d.config;
    let s = &c.settings;
    let mut tags = d.tags.clone();
    tags.insert(CLONE_OF_TAG.into(), c.name.clone());
    tags.insert(RUN_TAG.into(), run_id.into());
    NewFunction {
        name: name.to_string(),
        code,
        role: s.role.clone(),
        runtime: c.runtime.clone(),
        handler: s.handler.clone(),
        architecture: architecture.to_string(),
        memory_mb: c.memory_mb,
        timeout_s: c.timeout_s,
        description: format!("memtune temporary copy of {} (run {run_id})", c.name),
        environment: d.environment.clone(),
        layers: s.layers.clone(),
        subnet_ids: s.vpc.subnet_ids.clone(),
        security_group_ids: s.vpc.security_group_ids.clone(),
        ipv6_allowed_for_dual_stack: s.vpc.ipv6_allowed_for_dual_stack,
        ephemeral_storage_mb: s.ephemeral_storage_mb,
        log_format: c.log_format.clone(),
        application_log_level: s.application_log_level.clone(),
        system_log_level: c.system_log_level.clone(),
        log_group: None,
        image_config: s.image_config.clone(),
        tracing_mode: s.tracing_mode.clone(),
        tags,
    }
}

/// The copy's code, as it was read.
enum Package {
    Inline(Vec<u8>),
    /// Too large to send inline: staged in this bucket first.
    Staged {
        bucket: String,
        bytes: Vec<u8>,
    },
    Image(String),
}

/// Where a copy's package is staged: one key per run and copy.
pub fn staging_key(run_id: &str, copy: &str) -> String {
    format!("memtune-staging/{run_id}/{copy}.zip")
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// Reads the copy's code: the image, or the .zip downloaded (up to what it can be sent as).
async fn read_package<A: LambdaApi>(
    api: &A,
    definition: &FunctionDefinition,
    staging_bucket: Option<&str>,
) -> Result<Package, SweepError> {
    let name = &definition.config.name;
    let location = match &definition.code {
        CodeSource::Image { uri } => return Ok(Package::Image(uri.clone())),
        CodeSource::Zip { location } => location,
    };
    let size = definition.code_size;
    if size > MAX_STAGED_ZIP_BYTES as u64 {
        return Err(SweepError::Refused(format!(
            "cannot copy {name}: its code is {}, more than the {} MB Lambda takes for a function",
            megabytes(size),
            MAX_STAGED_ZIP_BYTES / (1024 * 1024)
        )));
    }
    if size > MAX_INLINE_ZIP_BYTES as u64 && staging_bucket.is_none() {
        return Err(SweepError::Refused(format!(
            "cannot copy {name}: its code is {}, more than the {} MB CreateFunction takes inline; pass --staging-bucket BUCKET (an S3 bucket in the function's region that memtune may write to) to stage it there",
            megabytes(size),
            MAX_INLINE_ZIP_BYTES / (1024 * 1024)
        )));
    }
    let limit = match staging_bucket {
        Some(_) => MAX_STAGED_ZIP_BYTES,
        None => MAX_INLINE_ZIP_BYTES,
    };
    let bytes = api.download_package(location, limit).await.map_err(|e| {
        let why = match e {
            PlatformError::Service(why) => why,
            other => other.to_string(),
        };
        SweepError::Refused(format!("cannot copy {name}: {why}"))
    })?;
    Ok(match staging_bucket {
        Some(bucket) if bytes.len() > MAX_INLINE_ZIP_BYTES => Package::Staged {
            bucket: bucket.to_string(),
            bytes,
        },
        _ => Package::Inline(bytes),
    })
}

/// Creates a temporary copy of `setup.function` (on `architecture`, or the original's) and
/// waits until it is Active; a package too large to send inline goes through
/// `staging_bucket`. If anything fails once the copy (or its staged package) may exist, it is
/// deleted again before the error is returned.
pub async fn create<A: LambdaApi>(
    api: &A,
    setup: &SweepSetup<'_>,
    architecture: Option<&str>,
    staging_bucket: Option<&str>,
) -> Result<TemporaryCopy, SweepError> {
    let definition = api.get_definition(setup.function).await?;
    let source = definition.config.clone();
    if source.state != "Active" {
        return Err(SweepError::Refused(format!(
            "{} is in state {}, not Active: wait until it is Active, then run memtune again",
            source.name, source.state
        )));
    }
    let architecture = architecture.unwrap_or(&source.architecture).to_string();
    let name = clone_name(&source.name, setup.run_id, &architecture);
    // Download before journaling: nothing exists yet if the package cannot be had.
    let package = read_package(api, &definition, staging_bucket).await?;
    let expected = FunctionConfig {
        name: name.clone(),
        arn: copy_arn(&source.arn, &name),
        architecture: architecture.clone(),
        ..source.clone()
    };
    refuse_if_unfinished(setup.state_dir, &expected)?;
    let journal_error = |source| SweepError::Journal {
        path: setup.state_dir.display().to_string(),
        source,
    };
    let mut journal = Journal::create(
        setup.state_dir,
        setup.run_id,
        &expected,
        setup.region.clone(),
        setup.endpoint_url.clone(),
    )
    .map_err(journal_error)?;
    journal
        .write(&Entry::IntendClone {
            source: source.name.clone(),
            log_group: format!("/aws/lambda/{name}"),
        })
        .map_err(journal_error)?;
    let created = stage_and_create(
        api,
        setup,
        &definition,
        &name,
        &architecture,
        package,
        &mut journal,
    )
    .await;
    match created {
        Ok(config) => Ok(TemporaryCopy {
            journal,
            config,
            source,
        }),
        Err(e) => {
            let cleaned = restore::restore(api, &mut journal).await;
            if let Ok(state) = journal.state() {
                let _ = super::journal::archive(&state);
            }
            Err(match cleaned {
                Ok(_) => e,
                Err(r) => SweepError::Refused(format!(
                    "{e}; deleting the copy {name} failed too ({r}): run `memtune restore`"
                )),
            })
        }
    }
}

/// Stages the package if it must be, creates the copy, waits until it is Active, and deletes
/// the staged package (Lambda has its own copy of the code by then).
async fn stage_and_create<A: LambdaApi>(
    api: &A,
    setup: &SweepSetup<'_>,
    definition: &FunctionDefinition,
    name: &str,
    architecture: &str,
    package: Package,
    journal: &mut Journal,
) -> Result<FunctionConfig, SweepError> {
    let journal_error = |source| SweepError::Journal {
        path: setup.state_dir.display().to_string(),
        source,
    };
    let mut staged = None;
    let code = match package {
        Package::Inline(bytes) => NewCode::Zip(bytes),
        Package::Image(uri) => NewCode::Image(uri),
        Package::Staged { bucket, bytes } => {
            let key = staging_key(setup.run_id, name);
            journal
                .write(&Entry::IntendStage {
                    bucket: bucket.clone(),
                    key: key.clone(),
                })
                .map_err(journal_error)?;
            api.stage_package(&bucket, &key, bytes).await.map_err(|e| {
                SweepError::Refused(format!(
                    "cannot stage the code of {} in s3://{bucket}/{key}: {e}",
                    definition.config.name
                ))
            })?;
            staged = Some((bucket.clone(), key.clone()));
            NewCode::S3 { bucket, key }
        }
    };
    let request = copy_request(definition, name, architecture, code, setup.run_id);
    api.create_function(&request).await?;
    let config = wait_active(api, name, setup.settle_timeout).await?;
    if let Some((bucket, key)) = staged {
        // Left for `finish` (which deletes it with the copy) if this fails.
        match api.delete_staged_package(&bucket, &key).await {
            Ok(()) | Err(PlatformError::NotFound(_)) => {
                journal.write(&Entry::StageDeleted).map_err(journal_error)?
            }
            Err(e) => {
                tracing::warn!(bucket, key, error = %e, "deleting the staged package failed; retrying when the copy is deleted")
            }
        }
    }
    Ok(config)
}

/// Polls until the new function is Active (a new function is Pending for a while).
async fn wait_active<A: LambdaApi>(
    api: &A,
    name: &str,
    timeout: Duration,
) -> Result<FunctionConfig, SweepError> {
    let started = Instant::now();
    let mut pause = FIRST_POLL;
    loop {
        match api.get_configuration(name, None).await {
            Err(PlatformError::Throttled(_)) => {}
            Err(e) => return Err(e.into()),
            Ok(c) if c.state == "Active" && !c.update_in_progress() => return Ok(c),
            Ok(c) if c.state == "Failed" => {
                return Err(SweepError::Refused(format!(
                    "the copy {name} could not be created (State Failed: {})",
                    c.last_update_reason.as_deref().unwrap_or("no reason given")
                )))
            }
            Ok(_) => {}
        }
        if started.elapsed() >= timeout {
            return Err(SweepError::Refused(format!(
                "the copy {name} did not become Active within {timeout:?}"
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// The copy's ARN: the original's with the copy's name (same account and region).
fn copy_arn(original_arn: &str, name: &str) -> String {
    match original_arn.split_once(":function:") {
        Some((prefix, _)) => format!("{prefix}:function:{name}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_name_says_what_it_is_and_fits_in_64_characters() {
        let name = clone_name("orders-api", "20261127-031500-3fa2", "x86_64");
        assert_eq!(name, "orders-api-memtune-clone-x86-3fa2");
        let long = "a".repeat(64);
        let name = clone_name(&long, "20261127-031500-3fa2", "arm64");
        assert_eq!(name.len(), 64);
        assert!(name.ends_with("-memtune-clone-arm-3fa2"), "{name}");
    }

    #[test]
    fn a_copy_keeps_what_changes_behaviour_and_says_whose_copy_it_is() {
        let mut config = FunctionConfig::sample("orders", 512);
        config.settings.layers = vec!["arn:aws:lambda:us-east-1:123456789012:layer:l:1".into()];
        config.settings.vpc.subnet_ids = vec!["subnet-1".into()];
        let d = FunctionDefinition {
            config,
            code: CodeSource::Zip {
                location: "http://x".into(),
            },
            code_size: 1,
            environment: [("MODE".to_string(), "live".to_string())].into(),
            tags: [("team".to_string(), "a".to_string())].into(),
            log_group: Some("/shared/group".into()),
        };
        let r = copy_request(&d, "copy", "arm64", NewCode::Zip(vec![1]), "run1");
        assert_eq!(r.environment["MODE"], "live");
        assert_eq!(r.layers.len(), 1);
        assert_eq!(r.subnet_ids, ["subnet-1"]);
        assert_eq!(r.memory_mb, 512);
        assert_eq!(r.architecture, "arm64");
        assert_eq!(r.tags[CLONE_OF_TAG], "orders");
        assert_eq!(r.tags["team"], "a");
        assert_eq!(r.log_group, None, "never the original's shared group");
    }
}
