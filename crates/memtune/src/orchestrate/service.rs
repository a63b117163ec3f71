//! A service's fleet runs (`memtune serve`): each opens the history and connects to AWS
//! anew, on the runtime it runs on, and is cancelled by dropping it. A config with
//! `[[target]]` entries runs every target's regions, each as its role, as `memtune fleet` does.

use std::path::{Path, PathBuf};

use futures::future::join_all;
use std::sync::Arc;

use super::organisation::{self, target_run_id, OrganisationInputs, TargetRun};
use super::{restore_stopped, run, Finished, OnEvent, RunError, RunInputs};
use crate::fleet::config::FleetConfig;
use crate::fleet::run::RunSettings;
use crate::history::History;
use crate::platform::assume::assume_role;
use crate::platform::aws::{load_config, AwsLambda, ConnectOptions};
use crate::platform::pacing::{pacing, ApiRates};
use memtune_facts::pricing::PriceBook;

/// What every run of a service shares: everything but the run id.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    pub connect: ConnectOptions,
    pub book: PriceBook,
    pub config: FleetConfig,
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    pub region: String,
    /// Days of production data each run reads first; None to read none.
    pub production_days: Option<u32>,
}

impl ServiceRun {
    /// Paced to Lambda's quotas, unless the endpoint is not AWS (`--quotas` of fleet).
    fn pacing(&self) -> Option<ApiRates> {
        pacing(None, self.connect.endpoint_url.as_deref())
            .ok()
            .flatten()
    }

    /// A run's settings from the config, skipping functions tuned recently and unchanged
    /// since (a service never forces).
    fn settings(
        &self,
        history: &History,
        run_id: String,
        region: String,
    ) -> Result<RunSettings, RunError> {
        let retune = history.retune_policy(self.config.tuning.retune_after_days, false)?;
        let mut settings = RunSettings::for_config(
            &self.config,
            run_id,
            region,
            self.state_dir.clone(),
            self.connect.endpoint_url.clone(),
        );
        settings.retune = Arc::new(retune);
        Ok(settings)
    }

    /// One run over every `[[target]]` account and region, each recorded in the history as
    /// `RUN-ACCOUNT-REGION`; functions tuned recently and unchanged since are skipped. A
    /// target that cannot be reached fails alone.
    pub async fn run_targets(
        &self,
        run_id: String,
        on_event: impl Fn(&str, &str) -> OnEvent,
    ) -> Result<Vec<TargetRun>, RunError> {
        let history = History::open(&self.state_dir)?;
        let settings = self.settings(&history, run_id, String::new())?;
        drop(history);
        let base = load_config(&self.connect)
            .await
            .map_err(RunError::Connect)?;
        let inputs = OrganisationInputs {
            base: &base,
            book: &self.book,
            config: &self.config,
            config_path: &self.config_path,
            production_days: self.production_days,
            pacing: self.pacing(),
        };
        let history = || History::open(&self.state_dir).ok();
        // No interrupt: the service cancels a run by dropping it, and restores afterwards.
        Ok(organisation::run(&inputs, settings, history, on_event, std::future::pending()).await)
    }

    /// Restores every function the stopped run `run_id` had in flight and marks it
    /// interrupted; over `[[target]]`s, in each account and region at once, as its role. One
    /// line per function, and per target that could not be reached.
    pub async fn restore(&self, run_id: &str) -> Vec<String> {
        let base = match load_config(&self.connect).await {
            Ok(base) => base,
            Err(e) => {
                return vec![format!(
                    "cannot restore run {run_id}: {e}; run `memtune restore`"
                )]
            }
        };
        let state_dir = self.state_dir.as_path();
        if self.config.targets.is_empty() {
            return restore_marked(&AwsLambda::new(&base), state_dir, run_id).await;
        }
        let places = self
            .config
            .targets
            .iter()
            .flat_map(|t| t.regions.iter().map(move |r| (t, r)));
        let restores = places.map(|(target, region)| {
            let base = &base;
            async move {
                let id = target_run_id(run_id, &target.account, region);
                match assume_role(base, &target.role(), region).await {
                    Ok(sdk) => restore_marked(&AwsLambda::new(&sdk), state_dir, &id).await,
                    Err(e) => vec![format!(
                        "{}/{region}: cannot restore run {id}: {e}; run `memtune restore`",
                        target.account
                    )],
                }
            }
        });
        join_all(restores).await.into_iter().flatten().collect()
    }

    /// One run with this id, recorded in the history; functions tuned recently and unchanged
    /// since are skipped (a service never forces).
    pub async fn run(&self, run_id: String, on_event: OnEvent) -> Result<Finished, RunError> {
        let history = History::open(&self.state_dir)?;
        let mut settings = self.settings(&history, run_id, self.region.clone())?;
        // Clients of the run's own runtime.
        let sdk = load_config(&self.connect)
            .await
            .map_err(RunError::Connect)?;
        let api = match self.pacing() {
            Some(rates) => AwsLambda::paced(&sdk, rates),
            None => AwsLambda::new(&sdk),
        };
        settings.canary = Some(crate::fleet::run::CanaryClients::new(&sdk, &self.config));
        let inputs = RunInputs {
            sdk: &sdk,
            api: &api,
            book: &self.book,
            config: &self.config,
            config_path: &self.config_path,
            production_days: self.production_days,
        };
        // No interrupt: the service cancels a run by dropping it, and restores afterwards.
        run(
            &inputs,
            settings,
            Some(history),
            on_event,
            std::future::pending(),
        )
        .await
    }
}

/// Restores a stopped run's functions and marks it interrupted; one line per function, and
/// one if it could not be marked.
async fn restore_marked(api: &AwsLambda, state_dir: &Path, run_id: &str) -> Vec<String> {
    let (mut lines, marked) = restore_stopped(api, state_dir, run_id).await;
    if let Err(e) = marked {
        lines.push(format!("cannot mark run {run_id} interrupted: {e}"));
    }
    lines
}
