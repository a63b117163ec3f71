//! A service's fleet runs (`memtune serve`): each opens the history and connects to AWS
//! anew, on the runtime it runs on, and is cancelled by dropping it.

use std::path::PathBuf;
use std::sync::Arc;

use super::{run, Finished, OnEvent, RunError, RunInputs};
use crate::fleet::config::FleetConfig;
use crate::fleet::run::RunSettings;
use crate::history::History;
use crate::platform::aws::{load_config, AwsLambda, ConnectOptions};
use crate::platform::pacing::pacing;
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
    /// One run with this id, recorded in the history; functions tuned recently and unchanged
    /// since are skipped (a service never forces).
    pub async fn run(&self, run_id: String, on_event: OnEvent) -> Result<Finished, RunError> {
        let history = History::open(&self.state_dir)?;
        let retune = history.retune_policy(self.config.tuning.retune_after_days, false)?;
        let mut settings = RunSettings::for_config(
            &self.config,
            run_id,
            self.region.clone(),
            self.state_dir.clone(),
            self.connect.endpoint_url.clone(),
        );
        settings.retune = Arc::new(retune);
        // Clients of the run's own runtime.
        let sdk = load_config(&self.connect)
            .await
            .map_err(RunError::Connect)?;
        // Paced to Lambda's quotas, unless the endpoint is not AWS (`--quotas` of fleet).
        let api = match pacing(None, self.connect.endpoint_url.as_deref()) {
            Ok(Some(rates)) => AwsLambda::paced(&sdk, rates),
            _ => AwsLambda::new(&sdk),
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
