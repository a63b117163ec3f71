//! Live production traffic while the lab runs: for each function with `[function.live]`, a
//! task invokes its alias at `requests_per_second` (Poisson arrivals, seeded), each payload
//! drawn from the production mix, through the same path as Invoke (so routing weights,
//! cold starts, throttles, metrics and logs all apply). It stops with the lab.
//!
//! Time: a simulated second lasts `time_scale` wall seconds, so requests arrive at
//! `requests_per_second / time_scale` per wall second, while each holds its execution
//! environment `duration x time_scale` wall seconds (concurrency is the simulated one).
//! CloudWatch and Logs timestamps are wall-clock: a 60 s metric period holds
//! `60 x requests_per_second / time_scale` live invocations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use serde_json::json;
use tokio::task::JoinHandle;

use super::control::Lab;
use super::production::{self, Live, CLASS_KEY};
use super::profiles::FunctionProfile;
use super::LabConfig;

/// Whether every `[function.live]` can run at the configured time scale.
pub fn check(config: &LabConfig) -> Result<(), String> {
    config
        .profiles
        .functions
        .iter()
        .filter_map(|f| f.live.as_ref().map(|l| (f, l)))
        .try_for_each(|(f, live)| production::check_time_scale(&f.name, live, config.time_scale))
}

/// Publishes version 1 of each live function and points its alias at it, unless the alias
/// already exists (an environment model may have created it).
pub fn publish_aliases(lab: &Lab) {
    for profile in &lab.config.profiles.functions {
        let Some(live) = &profile.live else {
            continue;
        };
        if lab.get_alias(&profile.name, &live.alias).is_ok() {
            continue;
        }
        let published = lab
            .publish_version(&profile.name, &json!({}))
            .and_then(|v| {
                let version = v["Version"].as_str().unwrap_or("1").to_string();
                lab.create_alias(
                    &profile.name,
                    &json!({ "Name": live.alias, "FunctionVersion": version }),
                )
            });
        debug_assert!(published.is_ok(), "{published:?}");
    }
}

/// The running generators; dropping it stops them.
#[derive(Default)]
pub struct LiveTraffic {
    tasks: Vec<JoinHandle<()>>,
    sent: Arc<AtomicU64>,
}

impl LiveTraffic {
    /// Starts a generator per live function of `lab`.
    pub fn start(lab: &Arc<Lab>) -> LiveTraffic {
        let sent = Arc::new(AtomicU64::new(0));
        let tasks = lab
            .config
            .profiles
            .functions
            .iter()
            .filter_map(|f| f.live.clone().map(|live| (f.clone(), live)))
            .map(|(profile, live)| tokio::spawn(generate(lab.clone(), profile, live, sent.clone())))
            .collect();
        LiveTraffic { tasks, sent }
    }

    /// Requests sent so far, over all live functions (throttled ones included).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for LiveTraffic {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn generate(lab: Arc<Lab>, profile: FunctionProfile, live: Live, sent: Arc<AtomicU64>) {
    let time_scale = lab.config.time_scale;
    let Ok(gaps) = Exp::new(live.requests_per_second) else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(super::control::seed_for(
        lab.config.seed,
        &format!("live:{}", profile.name),
    ));
    let start = tokio::time::Instant::now();
    let mut simulated_s = 0.0;
    loop {
        simulated_s += gaps.sample(&mut rng);
        let due = start + std::time::Duration::from_secs_f64(simulated_s * time_scale);
        tokio::time::sleep_until(due).await;
        let payload = match production::draw(&profile.production_mix, rng.random()) {
            Some(class) => json!({ CLASS_KEY: class.class }).to_string(),
            None => "{}".to_string(),
        };
        let lab = lab.clone();
        let (name, alias) = (profile.name.clone(), live.alias.clone());
        sent.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            // Throttles and errors are production's lot: they show in the metrics.
            let _ = lab
                .invoke(&name, Some(&alias), payload.as_bytes(), false)
                .await;
        });
    }
}
