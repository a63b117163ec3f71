//! The safe sampling protocol: publish one version per memory size, put $LATEST back at once,
//! invoke the versions, and leave nothing behind.
//!
//! For a batch of sizes: set $LATEST's memory (with RevisionId), wait for the update, publish a
//! version described `memtune:<run-id>:<MB>`; once the batch is published, $LATEST gets its
//! original memory back, so production traffic sees a changed $LATEST for seconds. The
//! versions are then invoked by qualifier. Every mutation is journaled before it is made;
//! [`Sweeper::finish`] (or `memtune restore` after a crash) restores and deletes.

pub mod clone;
pub mod journal;
pub mod payload;
pub mod provisioned_back;
pub mod put_back;
pub mod restore;
pub mod routing_back;
pub mod sampling;
pub mod settle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::platform::{AliasInfo, FunctionConfig, InvokeResponse, LambdaApi, PlatformError};
use journal::{AliasRoute, Entry, Fingerprint, Journal};
use payload::Payloads;
use put_back::{PutBack, PutBackError};
use restore::{RestoreError, RestoreReport};
use sampling::{Pacer, Sampling};
use settle::SettleError;

/// How long a SnapStart version may take to be ready (its snapshot).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Throttled invocations are retried this many times (a throttled request did not run).
const INVOKE_THROTTLE_RETRIES: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("{0}")]
    Settle(#[from] SettleError),
    /// Someone else changed the function while memtune was sampling: memtune stops, so that
    /// it neither measures nor publishes a configuration it did not set.
    #[error("{function} was changed by someone else while memtune was sampling ({what}): memtune stopped and kept their change")]
    ChangedMeanwhile { function: String, what: String },
    #[error("cannot write the journal in {path}: {source}")]
    Journal {
        path: String,
        source: std::io::Error,
    },
}

/// One invocation as the sweep saw it.
#[derive(Debug, Clone)]
pub struct RawInvocation {
    pub memory_mb: u32,
    /// Warm-up invocations are kept out of the statistics.
    pub warmup: bool,
    pub result: Result<InvokeResponse, PlatformError>,
    /// How often it was throttled before it ran.
    pub throttled: u32,
}

/// What to sample at one size in a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeRequest {
    pub memory_mb: u32,
    pub invocations: u32,
    pub warmup: u32,
}

/// Progress, for a bar or a log.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepEvent {
    Configuring { memory_mb: u32 },
    Published { memory_mb: u32, version: String },
    LatestRestored { memory_mb: u32 },
    Invoked { memory_mb: u32 },
}

/// Decides, from what a size has returned so far, whether to stop sampling it (a size that
/// keeps running out of memory need not be invoked ten times).
pub type StopEarly = dyn Fn(&[RawInvocation]) -> bool + Send + Sync;

/// Where a search gets its measurements: test invocations of published versions
/// ([`Sweeper`]), or production traffic routed to them (a canary).
pub trait Sampler: Send {
    /// The configuration whose memory is the current size.
    fn original(&self) -> &FunctionConfig;

    /// Measures each size of the batch.
    fn sample(
        &mut self,
        batch: &[SizeRequest],
        stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> impl std::future::Future<Output = Result<Vec<RawInvocation>, SweepError>> + Send;
}

impl<A: LambdaApi> Sampler for Sweeper<'_, A> {
    fn original(&self) -> &FunctionConfig {
        Sweeper::original(self)
    }

    fn sample(
        &mut self,
        batch: &[SizeRequest],
        stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> impl std::future::Future<Output = Result<Vec<RawInvocation>, SweepError>> + Send {
        Sweeper::sample(self, batch, stop_early, on_event)
    }
}

/// A sweep over one function, from `begin` to `finish`.
pub struct Sweeper<'a, A: LambdaApi> {
    api: &'a A,
    journal: Journal,
    original: FunctionConfig,
    fingerprint: Fingerprint,
    /// Memory size -> published version.
    versions: BTreeMap<u32, String>,
    intended: Vec<u32>,
    payloads: Payloads,
    in_flight: Arc<Semaphore>,
    settle_timeout: Duration,
    seq: u64,
    seed: u64,
    sampling: Sampling,
    pacer: Pacer,
    /// SnapStart: how long each published version took to be ready, by memory size.
    snapshot_waits: Vec<(u32, Duration)>,
}

/// Where a sweep runs and how.
pub struct SweepSetup<'s> {
    pub state_dir: &'s Path,
    pub run_id: &'s str,
    pub function: &'s str,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub role: Option<crate::platform::assume::AssumedRole>,
    pub payloads: Payloads,
    /// Shared budget of invocations in flight (across functions in a fleet run).
    pub in_flight: Arc<Semaphore>,
    pub settle_timeout: Duration,
    pub seed: u64,
    pub sampling: Sampling,
}

impl<'a, A: LambdaApi> Sweeper<'a, A> {
    /// Reads the function, refuses if it is not safe to tune now, and starts its journal.
    pub async fn begin(api: &'a A, setup: SweepSetup<'_>) -> Result<Sweeper<'a, A>, SweepError> {
        let original = api.get_configuration(setup.function, None).await?;
        if original.state != "Active" {
            return Err(SweepError::Refused(format!(
                "{} is in state {}, not Active: wait until it is Active, then run memtune again",
                original.name, original.state
            )));
        }
        if original.update_in_progress() {
            return Err(SweepError::Refused(format!(
                "an update of {} is in progress: wait until LastUpdateStatus is Successful, then run memtune again",
                original.name
            )));
        }
        refuse_if_unfinished(setup.state_dir, &original)?;
        let journal = Journal::create_as(
            setup.state_dir,
            setup.run_id,
            &original,
            setup.region.clone(),
            setup.endpoint_url.clone(),
            setup.role.clone(),
        )
        .map_err(|source| SweepError::Journal {
            path: setup.state_dir.display().to_string(),
            source,
        })?;
        Ok(Sweeper::with_journal(api, setup, journal, original))
    }

    /// A sweep of `original` whose journal the caller has started (a temporary copy's).
    pub fn with_journal(
        api: &'a A,
        setup: SweepSetup<'_>,
        journal: Journal,
        original: FunctionConfig,
    ) -> Sweeper<'a, A> {
        Sweeper {
            api,
            journal,
            fingerprint: Fingerprint::of(&original),
            intended: vec![original.memory_mb],
            original,
            versions: BTreeMap::new(),
            payloads: setup.payloads,
            in_flight: setup.in_flight,
            settle_timeout: setup.settle_timeout,
            seq: 0,
            seed: setup.seed,
            pacer: Pacer::new(setup.sampling.min_interval),
            sampling: setup.sampling,
            snapshot_waits: Vec::new(),
        }
    }

    pub fn original(&self) -> &FunctionConfig {
        &self.original
    }

    /// SnapStart: how long each published version took to be ready, by memory size.
    pub fn snapshot_waits(&self) -> &[(u32, Duration)] {
        &self.snapshot_waits
    }

    pub fn journal_path(&self) -> PathBuf {
        self.journal.path().to_path_buf()
    }

    fn log(&mut self, entry: &Entry) -> Result<(), SweepError> {
        self.journal
            .write(entry)
            .map_err(|source| SweepError::Journal {
                path: self.journal.path().display().to_string(),
                source,
            })
    }

    /// Publishes a version for every size not published yet, restores $LATEST, then invokes.
    pub async fn sample(
        &mut self,
        batch: &[SizeRequest],
        stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<Vec<RawInvocation>, SweepError> {
        let fresh: Vec<u32> = batch
            .iter()
            .map(|r| r.memory_mb)
            .filter(|m| !self.versions.contains_key(m))
            .collect();
        if !fresh.is_empty() {
            let published = self.publish(&fresh, on_event).await;
            // $LATEST goes back to its original memory right away, even if publishing failed.
            let restored = self.restore_latest(on_event).await;
            published?;
            restored?;
        }
        self.invoke_batch(batch, stop_early, on_event).await
    }

    /// Publishes a version for every size not published yet and restores $LATEST, invoking
    /// nothing (a canary's versions serve production traffic instead); the version of each
    /// size.
    pub async fn publish_only(
        &mut self,
        sizes: &[u32],
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<Vec<String>, SweepError> {
        let fresh: Vec<u32> = sizes
            .iter()
            .copied()
            .filter(|m| !self.versions.contains_key(m))
            .collect();
        if !fresh.is_empty() {
            let published = self.publish(&fresh, on_event).await;
            let restored = self.restore_latest(on_event).await;
            published?;
            restored?;
        }
        Ok(sizes.iter().map(|m| self.versions[m].clone()).collect())
    }

    /// Changes an alias's routing from `from` (as read, at `revision_id`) to `to`, journaled
    /// first and conditional on the RevisionId: an alias someone else changed meanwhile stops
    /// the run, and their change is kept.
    pub async fn route(
        &mut self,
        alias: &str,
        from: &AliasRoute,
        to: &AliasRoute,
        revision_id: &str,
    ) -> Result<AliasInfo, SweepError> {
        self.log(&Entry::IntendRouting {
            alias: alias.to_string(),
            from: from.clone(),
            to: to.clone(),
        })?;
        let routed = self
            .api
            .route_alias(
                &self.original.name,
                alias,
                &to.version,
                &to.weights,
                revision_id,
            )
            .await;
        match routed {
            Ok(info) => Ok(info),
            Err(PlatformError::RevisionMismatch(_)) => {
                Err(self.changed(format!("alias {alias} changed: its RevisionId moved")))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn publish(
        &mut self,
        sizes: &[u32],
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<(), SweepError> {
        for &memory_mb in sizes {
            on_event(SweepEvent::Configuring { memory_mb });
            let config = self.set_latest_memory(memory_mb).await?;
            let description = format!(
                "{}{memory_mb}",
                journal::description_prefix(&self.journal.run_id)
            );
            self.log(&Entry::IntendPublish {
                memory_mb,
                description: description.clone(),
            })?;
            let published = self
                .api
                .publish_version(&self.original.name, &description, &config.revision_id)
                .await;
            let version = match published {
                Ok(version) => version,
                Err(PlatformError::RevisionMismatch(_)) => {
                    return Err(self.changed_meanwhile(Some(memory_mb)).await)
                }
                Err(other) => return Err(other.into()),
            };
            let created = version.description == description;
            self.log(&Entry::Published {
                version: version.version.clone(),
                memory_mb,
                created,
            })?;
            if version.memory_mb != memory_mb {
                return Err(SweepError::Refused(format!(
                    "Lambda published version {} with {} MB instead of {memory_mb} MB",
                    version.version, version.memory_mb
                )));
            }
            if self.original.settings.snap_start == "PublishedVersions" {
                let waited = settle::wait_version_active(
                    self.api,
                    &self.original.name,
                    &version.version,
                    SNAPSHOT_TIMEOUT,
                )
                .await?;
                self.snapshot_waits.push((memory_mb, waited));
            }
            on_event(SweepEvent::Published {
                memory_mb,
                version: version.version.clone(),
            });
            self.versions.insert(memory_mb, version.version);
        }
        Ok(())
    }

    /// Sets $LATEST's memory and returns the settled configuration, which is exactly what
    /// memtune read apart from memory: anything else means someone else is changing the
    /// function, and memtune stops before it publishes or measures their configuration.
    async fn set_latest_memory(&mut self, memory_mb: u32) -> Result<FunctionConfig, SweepError> {
        if !self.intended.contains(&memory_mb) {
            self.intended.push(memory_mb);
        }
        self.log(&Entry::IntendUpdate { memory_mb })?;
        let current =
            settle::wait_settled(self.api, &self.original.name, self.settle_timeout).await?;
        if let Some(what) = self.what_changed(&current, None) {
            return Err(self.changed(what));
        }
        if current.memory_mb == memory_mb {
            return Ok(current);
        }
        let fingerprint = &self.fingerprint;
        let intended = &self.intended;
        let still_ours = |c: &FunctionConfig| {
            intended.contains(&c.memory_mb) && fingerprint.same_apart_from_memory(c)
        };
        let updated = settle::update_memory(
            self.api,
            &self.original.name,
            memory_mb,
            &current.revision_id,
            self.settle_timeout,
            still_ours,
        )
        .await;
        let settled = match updated {
            Ok(settled) => settled,
            Err(
                SettleError::Platform(PlatformError::RevisionMismatch(_))
                | SettleError::ChangedMeanwhile,
            ) => return Err(self.changed_meanwhile(None).await),
            Err(other) => return Err(other.into()),
        };
        match self.what_changed(&settled, Some(memory_mb)) {
            Some(what) => Err(self.changed(what)),
            None => Ok(settled),
        }
    }

    /// What differs in `now` from what memtune read (and, when given, from the memory it has
    /// just set; otherwise memory must be a size it set); None when nothing does.
    fn what_changed(&self, now: &FunctionConfig, expected_mb: Option<u32>) -> Option<String> {
        let mut what: Vec<String> = self
            .fingerprint
            .differences(now)
            .into_iter()
            .map(str::to_string)
            .collect();
        let memory_ours = match expected_mb {
            Some(m) => now.memory_mb == m,
            None => self.intended.contains(&now.memory_mb),
        };
        if !memory_ours {
            what.insert(0, format!("MemorySize set to {} MB", now.memory_mb));
        }
        (!what.is_empty()).then(|| what.join(", "))
    }

    fn changed(&self, what: String) -> SweepError {
        SweepError::ChangedMeanwhile {
            function: self.original.name.clone(),
            what,
        }
    }

    /// After Lambda refused a conditional call (the RevisionId moved): reads the function
    /// again to say what changed.
    async fn changed_meanwhile(&self, expected_mb: Option<u32>) -> SweepError {
        let now = settle::wait_idle(self.api, &self.original.name, self.settle_timeout).await;
        let what = now
            .ok()
            .and_then(|now| self.what_changed(&now, expected_mb))
            .unwrap_or_else(|| "its RevisionId moved".into());
        self.changed(what)
    }

    /// Puts $LATEST's original memory back, memory alone, keeping anything else someone
    /// changed meanwhile; see [`put_back`].
    async fn restore_latest(
        &mut self,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<(), SweepError> {
        let memory_mb = self.original.memory_mb;
        let outcome = put_back::put_memory_back(
            self.api,
            &self.original.name,
            memory_mb,
            &self.intended,
            &mut self.journal,
            self.settle_timeout,
        )
        .await
        .map_err(|e| match e {
            PutBackError::Settle(e) => SweepError::Settle(e),
            PutBackError::Journal { path, source } => SweepError::Journal { path, source },
        })?;
        if let PutBack::SetBySomeoneElse(now) = outcome {
            return Err(self.changed(format!("MemorySize set to {} MB", now.memory_mb)));
        }
        self.log(&Entry::Restored)?;
        on_event(SweepEvent::LatestRestored { memory_mb });
        Ok(())
    }

    /// Invokes each size's version: one size's invocations run one after another (so they
    /// reuse a warm environment); sizes run side by side within the in-flight budget.
    async fn invoke_batch(
        &mut self,
        batch: &[SizeRequest],
        stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Result<Vec<RawInvocation>, SweepError> {
        let mut planned = Vec::new();
        for request in batch {
            let version = self.versions[&request.memory_mb].clone();
            let count = (request.warmup + request.invocations) as u64;
            let mut picker = self.payloads.picker(self.seed ^ self.seq);
            let payloads: Vec<Vec<u8>> = (0..count).map(|i| picker.next(self.seq + i)).collect();
            self.seq += count;
            planned.push((*request, version, payloads));
        }
        let runs = planned.into_iter().map(|(request, version, payloads)| {
            self.invoke_size(request, version, payloads, stop_early, on_event)
        });
        let results = futures::future::join_all(runs).await;
        Ok(results.into_iter().flatten().collect())
    }

    async fn invoke_size(
        &self,
        request: SizeRequest,
        version: String,
        payloads: Vec<Vec<u8>>,
        stop_early: &StopEarly,
        on_event: &(dyn Fn(SweepEvent) + Send + Sync),
    ) -> Vec<RawInvocation> {
        let mut out: Vec<RawInvocation> = Vec::new();
        for (i, payload) in payloads.into_iter().enumerate() {
            let warmup = (i as u32) < request.warmup;
            let Ok(_permit) = self.in_flight.acquire().await else {
                break;
            };
            let (result, throttled) = self.invoke_once(&version, payload).await;
            drop(_permit);
            out.push(RawInvocation {
                memory_mb: request.memory_mb,
                warmup,
                result,
                throttled,
            });
            on_event(SweepEvent::Invoked {
                memory_mb: request.memory_mb,
            });
            if stop_early(&out) {
                break;
            }
        }
        out
    }

    /// One invocation; throttles (which did not run the payload) are retried with backoff, or
    /// after the service's Retry-After when that is longer; nothing else is: a failure is a measurement.
    async fn invoke_once(
        &self,
        version: &str,
        payload: Vec<u8>,
    ) -> (Result<InvokeResponse, PlatformError>, u32) {
        let mut throttled = 0;
        loop {
            self.pacer.wait().await;
            match self
                .api
                .invoke(&self.original.name, version, payload.clone())
                .await
                .map(|r| self.sampling.accept(r))
            {
                Err(PlatformError::Throttled(t)) if throttled < INVOKE_THROTTLE_RETRIES => {
                    throttled += 1;
                    let backoff = Duration::from_millis(100 * 2u64.pow(throttled));
                    tokio::time::sleep(t.pause(backoff)).await;
                }
                result => return (result, throttled),
            }
        }
    }

    /// Restores $LATEST (if still needed) and deletes everything this run created.
    pub async fn finish(mut self) -> Result<RestoreReport, RestoreError> {
        let report = restore::restore(self.api, &mut self.journal).await?;
        let state = self
            .journal
            .state()
            .map_err(|source| RestoreError::Journal {
                path: self.journal.path().display().to_string(),
                source,
            })?;
        journal::archive(&state).map_err(|source| RestoreError::Journal {
            path: state.path.display().to_string(),
            source,
        })?;
        Ok(report)
    }
}

/// Refuses to start while another run's journal for the same function (same ARN: a function
/// of that name in another account or region is another function) is unfinished, or one that
/// may be of it cannot be read.
pub fn refuse_if_unfinished(state_dir: &Path, config: &FunctionConfig) -> Result<(), SweepError> {
    let function = config.name.as_str();
    let journals = journal::scan(state_dir).map_err(|source| SweepError::Journal {
        path: journal::journal_dir(state_dir).display().to_string(),
        source,
    })?;
    if let Some(bad) = journals.unreadable.iter().find(|j| j.may_be_of(function)) {
        return Err(SweepError::Refused(format!(
            "{function} is not tuned while {}",
            bad.describe()
        )));
    }
    let same = |j: &&journal::JournalState| {
        j.function == function && j.arn.as_deref().is_none_or(|arn| arn == config.arn)
    };
    match journals.unfinished.iter().find(same) {
        None => Ok(()),
        Some(j) if journal::process_alive(j.pid) => Err(SweepError::Refused(format!(
            "{function} is being tuned by another memtune run ({}, pid {}): wait for it to finish",
            j.run_id, j.pid
        ))),
        Some(j) => Err(SweepError::Refused(format!(
            "an interrupted memtune run ({}) may have left {function} changed: run `memtune restore` first",
            j.run_id
        ))),
    }
}
