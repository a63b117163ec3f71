//! Putting $LATEST's original memory back: memtune undoes its own change and nothing else.
//!
//! Memory alone is updated, conditionally on the RevisionId just read, so whatever else
//! someone changed meanwhile (a Timeout, the environment) is kept. A conflict (412: the
//! function changed since the read; 409: an update is in progress) is met by reading again.
//! The only refusal: memory itself is at a size memtune never set, i.e. someone else chose it.

use std::time::Duration;

use super::journal::{Entry, Journal};
use super::settle::{self, SettleError, FIRST_POLL, MAX_CONFLICTS, MAX_THROTTLES};
use crate::platform::{FunctionConfig, LambdaApi, PlatformError};

/// How putting memory back ended; each carries $LATEST as memtune last read it.
#[derive(Debug, Clone, PartialEq)]
pub enum PutBack {
    /// Memory already was the original: nothing to do.
    AlreadyOriginal(FunctionConfig),
    /// memtune set the original memory again.
    Restored(FunctionConfig),
    /// Memory is at a size memtune never set: someone else's choice, left as it is.
    SetBySomeoneElse(FunctionConfig),
}

impl PutBack {
    pub fn config(&self) -> &FunctionConfig {
        match self {
            PutBack::AlreadyOriginal(c) | PutBack::Restored(c) | PutBack::SetBySomeoneElse(c) => c,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PutBackError {
    #[error(transparent)]
    Settle(#[from] SettleError),
    #[error("cannot write the journal {path}: {source}")]
    Journal {
        path: String,
        source: std::io::Error,
    },
}

/// Sets `original_mb` on $LATEST unless memory is already there or at a size outside `ours`
/// (the original and every size memtune may have set). The intent is journaled before each
/// update.
pub async fn put_memory_back<A: LambdaApi>(
    api: &A,
    name: &str,
    original_mb: u32,
    ours: &[u32],
    journal: &mut Journal,
    timeout: Duration,
) -> Result<PutBack, PutBackError> {
    let (mut conflicts, mut throttles) = (0, 0);
    let mut updated = false;
    loop {
        let now = settle::wait_idle(api, name, timeout).await?;
        if now.memory_mb == original_mb {
            return Ok(if updated {
                PutBack::Restored(now)
            } else {
                PutBack::AlreadyOriginal(now)
            });
        }
        if !ours.contains(&now.memory_mb) {
            return Ok(PutBack::SetBySomeoneElse(now));
        }
        journal
            .write(&Entry::IntendUpdate {
                memory_mb: original_mb,
            })
            .map_err(|source| PutBackError::Journal {
                path: journal.path().display().to_string(),
                source,
            })?;
        match api.update_memory(name, original_mb, &now.revision_id).await {
            Ok(_) => {
                updated = true;
                // A failed update of memtune's own is an error, not something to retry.
                settle::wait_settled(api, name, timeout).await?;
            }
            Err(PlatformError::RevisionMismatch(_) | PlatformError::Conflict(_))
                if conflicts < MAX_CONFLICTS =>
            {
                conflicts += 1;
            }
            Err(PlatformError::Throttled(t)) if throttles < MAX_THROTTLES => {
                throttles += 1;
                tokio::time::sleep(t.pause(FIRST_POLL * 2u32.pow(throttles))).await;
            }
            Err(e) => return Err(SettleError::Platform(e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::platform::{
        AccountConcurrency, AliasInfo, InvokeResponse, PlatformResult, ProvisionedConcurrency,
    };

    /// $LATEST alone, with RevisionIds: each read can let "a colleague" change the function
    /// right after it, so that memtune's update arrives with a stale RevisionId.
    struct Function {
        latest: Mutex<FunctionConfig>,
        /// Edits that land one per read, just after it.
        edits_after_reads: Mutex<Vec<fn(&mut FunctionConfig)>>,
        revisions: Mutex<u32>,
        updates: Mutex<Vec<(u32, String)>>,
    }

    impl Function {
        fn at(memory_mb: u32, edits: Vec<fn(&mut FunctionConfig)>) -> Function {
            Function {
                latest: Mutex::new(FunctionConfig::sample("orders", memory_mb)),
                edits_after_reads: Mutex::new(edits),
                revisions: Mutex::new(1),
                updates: Mutex::new(Vec::new()),
            }
        }

        fn next_revision(&self) -> String {
            let mut n = self.revisions.lock().unwrap();
            *n += 1;
            format!("r{n}")
        }
    }

    impl LambdaApi for Function {
        async fn get_definition(
            &self,
            _: &str,
        ) -> PlatformResult<crate::platform::definition::FunctionDefinition> {
            unreachable!("putting memory back copies nothing")
        }
        async fn download_package(&self, _: &str, _: usize) -> PlatformResult<Vec<u8>> {
            unreachable!()
        }
        async fn create_function(
            &self,
            _: &crate::platform::definition::NewFunction,
        ) -> PlatformResult<FunctionConfig> {
            unreachable!()
        }
        async fn delete_function(&self, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
        async fn delete_log_group(&self, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
        async fn stage_package(&self, _: &str, _: &str, _: Vec<u8>) -> PlatformResult<()> {
            unreachable!()
        }
        async fn delete_staged_package(&self, _: &str, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
        async fn staging_bucket_region(&self, _: &str) -> PlatformResult<Option<String>> {
            unreachable!()
        }
        async fn get_configuration(
            &self,
            _: &str,
            _: Option<&str>,
        ) -> PlatformResult<FunctionConfig> {
            let read = self.latest.lock().unwrap().clone();
            let edit = {
                let mut edits = self.edits_after_reads.lock().unwrap();
                (!edits.is_empty()).then(|| edits.remove(0))
            };
            if let Some(edit) = edit {
                let revision = self.next_revision();
                let mut latest = self.latest.lock().unwrap();
                edit(&mut latest);
                latest.revision_id = revision;
            }
            Ok(read)
        }

        async fn update_memory(
            &self,
            _: &str,
            memory_mb: u32,
            revision_id: &str,
        ) -> PlatformResult<FunctionConfig> {
            self.updates
                .lock()
                .unwrap()
                .push((memory_mb, revision_id.to_string()));
            let revision = self.next_revision();
            let mut latest = self.latest.lock().unwrap();
            if latest.revision_id != revision_id {
                return Err(PlatformError::RevisionMismatch("stale".into()));
            }
            latest.memory_mb = memory_mb;
            latest.revision_id = revision;
            Ok(latest.clone())
        }

        async fn publish_version(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> PlatformResult<FunctionConfig> {
            unreachable!("putting memory back publishes nothing")
        }
        async fn list_versions(&self, _: &str) -> PlatformResult<Vec<FunctionConfig>> {
            unreachable!()
        }
        async fn list_aliases(&self, _: &str) -> PlatformResult<Vec<AliasInfo>> {
            unreachable!()
        }
        async fn delete_version(&self, _: &str, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
        async fn delete_alias(&self, _: &str, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
        async fn probe(&self, _: &str, _: &crate::platform::probe::Probe) -> PlatformResult<()> {
            unreachable!("putting memory back probes nothing")
        }
        async fn update_alias(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: &str,
        ) -> PlatformResult<AliasInfo> {
            unreachable!()
        }
        async fn get_alias(&self, _: &str, _: &str) -> PlatformResult<AliasInfo> {
            unreachable!()
        }
        async fn route_alias(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: &crate::platform::VersionWeights,
            _: &str,
        ) -> PlatformResult<AliasInfo> {
            unreachable!()
        }
        async fn invoke(&self, _: &str, _: &str, _: Vec<u8>) -> PlatformResult<InvokeResponse> {
            unreachable!()
        }
        async fn list_functions(&self) -> PlatformResult<Vec<FunctionConfig>> {
            unreachable!()
        }
        async fn list_tags(&self, _: &str) -> PlatformResult<BTreeMap<String, String>> {
            unreachable!()
        }
        async fn account_settings(&self) -> PlatformResult<AccountConcurrency> {
            unreachable!()
        }
        async fn get_function_concurrency(&self, _: &str) -> PlatformResult<Option<u32>> {
            unreachable!()
        }
        async fn get_provisioned_concurrency(
            &self,
            _: &str,
            _: &str,
        ) -> PlatformResult<Option<ProvisionedConcurrency>> {
            unreachable!("putting memory back reads memory alone")
        }
        async fn put_provisioned_concurrency(
            &self,
            _: &str,
            _: &str,
            _: u32,
        ) -> PlatformResult<ProvisionedConcurrency> {
            unreachable!()
        }
        async fn delete_provisioned_concurrency(&self, _: &str, _: &str) -> PlatformResult<()> {
            unreachable!()
        }
    }

    async fn put_back(f: &Function, dir: &std::path::Path) -> (PutBack, Vec<Entry>) {
        let original = FunctionConfig::sample("orders", 512);
        let mut journal = Journal::create(dir, "run", &original, None, None).unwrap();
        let outcome = put_memory_back(
            f,
            "orders",
            512,
            &[512, 1024],
            &mut journal,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        let lines = std::fs::read_to_string(journal.path()).unwrap();
        let entries = lines
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (outcome, entries)
    }

    #[tokio::test]
    async fn a_stale_revision_is_read_again_and_the_other_edits_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = Function::at(
            1024,
            vec![|c| c.timeout_s = 45, |c| c.description = "edited".into()],
        );
        let (outcome, journal) = put_back(&f, dir.path()).await;
        let now = outcome.config().clone();
        assert!(matches!(outcome, PutBack::Restored(_)), "{outcome:?}");
        assert_eq!(now.memory_mb, 512);
        assert_eq!((now.timeout_s, now.description.as_str()), (45, "edited"));
        let updates = f.updates.lock().unwrap().clone();
        // Two updates refused (412) with the revision each read saw, then one that took.
        assert_eq!(updates.len(), 3, "{updates:?}");
        assert!(updates.iter().all(|(m, _)| *m == 512));
        let intents = journal
            .iter()
            .filter(|e| **e == Entry::IntendUpdate { memory_mb: 512 })
            .count();
        assert_eq!(intents, 3, "each update is journaled first: {journal:?}");
    }

    #[tokio::test]
    async fn memory_someone_else_chose_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let f = Function::at(1000, Vec::new());
        let (outcome, journal) = put_back(&f, dir.path()).await;
        assert!(
            matches!(outcome, PutBack::SetBySomeoneElse(_)),
            "{outcome:?}"
        );
        assert!(f.updates.lock().unwrap().is_empty());
        assert!(journal.is_empty(), "{journal:?}");
    }

    #[tokio::test]
    async fn original_memory_needs_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let f = Function::at(512, vec![|c| c.timeout_s = 45]);
        let (outcome, _) = put_back(&f, dir.path()).await;
        assert!(
            matches!(outcome, PutBack::AlreadyOriginal(_)),
            "{outcome:?}"
        );
        assert!(f.updates.lock().unwrap().is_empty());
    }
}
