//! Tuning on production traffic (`--traffic ALIAS[:SHARE]`): candidate sizes are published
//! as versions of the alias's code and get a small share of the alias's traffic, one at a
//! time, through the alias's routing configuration; no test invocation is made. The search
//! (`tune::adaptive`) chooses the next candidate as it does for a sweep.
//!
//! `traffic` parses the setting, `precondition` says whether a run may start, `plan` how long
//! it takes, `observe` reads production (metrics and REPORT lines per version), `backoff`
//! judges a candidate against the main version, and `sampler` runs the candidates. Every
//! routing change and publication is journaled first (`sweep::journal`); restoring puts the
//! alias's routing back as found and deletes the candidates.

pub mod backoff;
pub mod observe;
pub mod plan;
pub mod precondition;
pub mod sampler;
pub mod traffic;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::{adaptive, architecture, cost_fn, observe as observe_raw, OnEvent, Search};
use super::{Exploration, TuneError, TuneOptions, TuneOutcome};
use crate::measure::{self, Infeasibility, Sample, SizeStats};
use crate::platform::cloudwatch::MetricsApi;
use crate::platform::logs::LogsApi;
use crate::platform::{AliasInfo, FunctionConfig, LambdaApi, PlatformError};
use crate::strategy;
use crate::sweep::{Sampler, SizeRequest, SweepError, SweepSetup, Sweeper};
use memtune_facts::pricing::PriceBook;
use plan::CanaryPlan;
use sampler::{Canary, CanarySettings, Served};

/// CloudWatch's period for Lambda's metrics.
pub const METRIC_PERIOD: Duration = Duration::from_secs(60);
/// How often a serving candidate is judged and the alias checked.
pub const POLL: Duration = Duration::from_secs(10);

impl CanarySettings {
    /// How a run through `traffic` samples: `samples` requests per size at least, one metric
    /// period at least, polled every [`POLL`]; `max_wait` is set from the plan
    /// ([`CanarySettings::wait_for`]).
    pub fn new(traffic: &traffic::Traffic, limits: backoff::BackOffLimits, samples: u32) -> Self {
        CanarySettings {
            alias: traffic.alias.clone(),
            share: traffic.share,
            limits,
            samples,
            period: METRIC_PERIOD,
            poll: POLL,
            max_wait: METRIC_PERIOD,
        }
    }

    /// A candidate whose traffic dried up waits three times its plan (three periods at
    /// least), then is measured on what it served; None when the alias has no traffic.
    pub fn wait_for(&mut self, plan: &CanaryPlan) -> Option<()> {
        let per_candidate = plan.at(plan.rate_per_s).per_candidate?;
        self.max_wait = (per_candidate * 3).max(self.period * 3);
        Some(())
    }
}

/// What was read before anything changes: the alias, the version it serves, `$LATEST`, and
/// the alias's request rate.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub alias: AliasInfo,
    pub serving: FunctionConfig,
    pub latest: FunctionConfig,
    pub rate_per_s: f64,
}

/// Why a canary run could not start (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{function} has no alias '{alias}': pass one of its aliases to --traffic")]
    NoAlias { function: String, alias: String },
    #[error(transparent)]
    Refused(#[from] precondition::Refusal),
    #[error("{0}")]
    Platform(#[from] PlatformError),
}

/// Reads the alias, its version and `$LATEST`, checks the preconditions, and reads the
/// alias's request rate; changes nothing.
pub async fn prepare<A: LambdaApi, M: MetricsApi>(
    api: &A,
    metrics: &M,
    function: &str,
    alias: &str,
) -> Result<Prepared, PrepareError> {
    let latest = api.get_configuration(function, None).await?;
    let alias_info = match api.get_alias(&latest.name, alias).await {
        Ok(a) => a,
        Err(PlatformError::NotFound(_)) => {
            return Err(PrepareError::NoAlias {
                function: latest.name.clone(),
                alias: alias.to_string(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let serving = if alias_info.function_version == "$LATEST" {
        latest.clone()
    } else {
        api.get_configuration(&latest.name, Some(&alias_info.function_version))
            .await?
    };
    precondition::check(&alias_info, &serving, &latest)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let rate_per_s = observe::alias_rate(metrics, &latest.name, alias, now_ms).await?;
    Ok(Prepared {
        alias: alias_info,
        serving,
        latest,
        rate_per_s,
    })
}

/// The plan of a run over `prepared` with `settings` and `search`.
pub fn plan(
    prepared: &Prepared,
    settings: &CanarySettings,
    strategy: &strategy::Strategy,
    search: &Search,
) -> CanaryPlan {
    let current = prepared.serving.memory_mb;
    let (first, further) = match search {
        Search::Adaptive(limits) => {
            let reach = adaptive::reach(strategy.objective, limits, current);
            (reach.first, reach.further_sizes)
        }
        Search::Grid(sizes) => (sizes.sizes(current), 0),
    };
    CanaryPlan {
        alias: prepared.alias.name.clone(),
        rate_per_s: prepared.rate_per_s,
        share: settings.share,
        samples_per_candidate: settings.samples,
        period_s: settings.period.as_secs() as u32,
        first_candidates: first.iter().filter(|&&m| m != current).count() as u32,
        further_candidates: further,
    }
}

/// What production served during the run, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficReport {
    pub alias: String,
    pub main_version: String,
    pub share: f64,
    /// Always 0: this mode never invokes the function.
    pub test_invocations: u64,
    pub served: Vec<Served>,
    /// What the candidates' requests cost beyond what the main version would have charged
    /// for them (negative: they saved), where both sizes were measured.
    pub canary_extra_usd: Option<f64>,
    pub plan: CanaryPlan,
}

/// A canary run's result: the tuning outcome and the traffic each size served.
#[derive(Debug)]
pub struct CanaryOutcome {
    pub tuned: TuneOutcome,
    pub traffic: TrafficReport,
}

/// Runs the canaries: the journal starts, candidates serve their share one at a time, and
/// whatever happens the alias routes as found again and the candidates are deleted.
pub async fn tune<A: LambdaApi, M: MetricsApi, L: LogsApi>(
    clients: (&A, &M, &L),
    book: &PriceBook,
    prepared: &Prepared,
    options: &TuneOptions,
    settings: CanarySettings,
    on_event: &OnEvent,
) -> Result<CanaryOutcome, TuneError> {
    let api = clients.0;
    let setup = SweepSetup {
        state_dir: &options.state_dir,
        run_id: &options.run_id,
        function: &prepared.latest.name,
        region: Some(options.region.clone()),
        endpoint_url: options.endpoint_url.clone(),
        role: options.role.clone(),
        payloads: options.payloads.clone(),
        in_flight: Arc::new(Semaphore::new(1)),
        settle_timeout: options.settle_timeout,
        seed: options.seed,
        sampling: options.sampling.clone(),
    };
    let sweeper = Sweeper::begin(api, setup).await?;
    // $LATEST as the journal read it, not as prepared: it may have changed in between.
    if let Err(refusal) =
        precondition::check(&prepared.alias, &prepared.serving, sweeper.original())
    {
        sweeper.finish().await?;
        return Err(SweepError::Refused(refusal.to_string()).into());
    }
    let share = settings.share;
    let plan = plan(prepared, &settings, &options.strategy, &options.search);
    let serving = &prepared.serving;
    let cost_of = cost_fn(book, &options.region, architecture(serving))?;
    let mut stats_options = options
        .strategy
        .stats_options(serving.timeout_s as f64 * 1000.0);
    stats_options.cold_start_ratio = options.cold_start_ratio;
    stats_options.seed = options.seed;
    let mut canary = Canary::new(sweeper, clients, serving.clone(), &prepared.alias, settings);
    let explored = match &options.search {
        Search::Adaptive(limits) => {
            // Production's own durations are the samples: no tail to borrow.
            let limits = adaptive::AdaptiveLimits {
                production_tail: None,
                ..limits.clone()
            };
            let objectives = adaptive::Objectives {
                strategy: &options.strategy,
                cost_of: &cost_of,
                stats: &stats_options,
                timeout_ms: serving.timeout_s as f64 * 1000.0,
                current_mb: Some(serving.memory_mb),
            };
            adaptive::explore(&mut canary, &objectives, &limits, on_event).await
        }
        Search::Grid(plan) => {
            let batch: Vec<SizeRequest> = plan
                .sizes(serving.memory_mb)
                .into_iter()
                .map(|memory_mb| SizeRequest {
                    memory_mb,
                    invocations: options.invocations,
                    warmup: 0,
                })
                .collect();
            canary
                .sample(&batch, &|_| false, on_event)
                .await
                .map(|raw| adaptive::Explored {
                    raw,
                    fit: None,
                    model: None,
                })
        }
    };
    let backed_off = canary.backed_off().clone();
    let (sweeper, served) = canary.into_parts();
    let (explored, restore) = super::sampled_then_restored(explored, sweeper.finish().await)?;
    let samples: Vec<Sample> = observe_raw(&explored.raw).into_iter().flatten().collect();
    let mut sizes = measure::size_stats(&samples, &stats_options, &cost_of);
    mark_backed_off(&mut sizes, &backed_off);
    if sizes.iter().all(|s| s.successes == 0) {
        return Err(TuneError::FailedEverywhere {
            function: serving.name.clone(),
            detail: "no REPORT line of the alias's versions was found in Logs".into(),
            exploration: Exploration::default(),
        });
    }
    let mut decide_on = match &explored.model {
        Some(model) => adaptive::smoothed(&sizes, model, &cost_of, &stats_options),
        None => sizes.clone(),
    };
    mark_backed_off(&mut decide_on, &backed_off);
    let baseline = strategy::Baseline {
        memory_mb: serving.memory_mb,
        measured: &sizes,
        monthly_invocations: options.monthly_invocations,
    };
    let recommendation = strategy::recommend(&options.strategy, &decide_on, Some(&baseline));
    let traffic = TrafficReport {
        alias: prepared.alias.name.clone(),
        main_version: prepared.alias.function_version.clone(),
        share,
        test_invocations: 0,
        canary_extra_usd: extra_cost(&served, &sizes, serving.memory_mb),
        served,
        plan,
    };
    let tuned = TuneOutcome {
        run_id: options.run_id.clone(),
        original: serving.clone(),
        architecture: architecture(serving),
        copy: None,
        snapshot_waits: Vec::new(),
        strategy: options.strategy.clone(),
        search: options.search.name(),
        sizes,
        fit: explored.fit,
        recommendation,
        exploration: Exploration::default(),
        restore,
        missing_report: None,
        payload: options.payloads.kind(),
    };
    Ok(CanaryOutcome { tuned, traffic })
}

/// A size taken out of production is never recommended, whatever its samples say.
fn mark_backed_off(sizes: &mut [SizeStats], backed_off: &BTreeMap<u32, String>) {
    for s in sizes {
        if let Some(reason) = backed_off.get(&s.memory_mb) {
            s.infeasible.push(Infeasibility::BackedOff {
                reason: reason.clone(),
            });
        }
    }
}

/// The candidates' requests at their measured mean cost, less the same requests at the main
/// version's; None when a size served was not measured.
pub fn extra_cost(served: &[Served], sizes: &[SizeStats], main_mb: u32) -> Option<f64> {
    let mean = |m: u32| {
        sizes
            .iter()
            .find(|s| s.memory_mb == m)
            .and_then(|s| s.cost.as_ref())
            .map(|c| c.mean_usd)
    };
    let main = mean(main_mb)?;
    served
        .iter()
        .filter(|s| !s.main)
        .map(|s| mean(s.memory_mb).map(|mine| (mine - main) * s.traffic.invocations))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::backoff::VersionTraffic;
    use super::*;
    use crate::measure::CostStats;

    fn size(memory_mb: u32, mean_usd: f64) -> SizeStats {
        SizeStats {
            memory_mb,
            invocations: 10,
            successes: 10,
            failures: Default::default(),
            cold_starts: 0,
            missing_reports: 0,
            warm: None,
            mean_init_ms: None,
            mean_restore_ms: None,
            max_memory_used_mb: None,
            cost: Some(CostStats {
                mean_usd,
                ci_low_usd: mean_usd,
                ci_high_usd: mean_usd,
                init_usd: 0.0,
            }),
            infeasible: Vec::new(),
        }
    }

    fn served(memory_mb: u32, main: bool, invocations: f64) -> Served {
        Served {
            memory_mb,
            version: memory_mb.to_string(),
            main,
            share: 0.05,
            traffic: VersionTraffic {
                invocations,
                ..VersionTraffic::default()
            },
            main_traffic: VersionTraffic::default(),
            reports: 0,
            seconds: 60.0,
            backed_off: None,
        }
    }

    #[test]
    fn the_canaries_cost_what_their_requests_cost_beyond_the_main_versions_price() {
        let sizes = [size(256, 1e-6), size(512, 2e-6), size(1024, 5e-6)];
        let served = [
            served(512, true, 5000.0),
            served(256, false, 100.0),
            served(1024, false, 200.0),
        ];
        // 100 requests a millionth cheaper, 200 three millionths dearer.
        let extra = extra_cost(&served, &sizes, 512).unwrap();
        assert!((extra - 5e-4).abs() < 1e-12, "{extra}");
        assert_eq!(extra_cost(&served, &sizes[1..], 512), None);
    }

    #[test]
    fn a_size_taken_out_is_infeasible_whatever_it_measured() {
        let mut sizes = vec![size(256, 1e-6), size(512, 2e-6)];
        mark_backed_off(&mut sizes, &[(256, "p99 900 ms".to_string())].into());
        assert!(!sizes[0].is_feasible());
        assert!(sizes[1].is_feasible());
    }
}
