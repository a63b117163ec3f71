//! The re-tune policy: a function tuned recently is not tuned again while nothing that
//! decides its best memory size changed (code, memory, architecture, runtime, payload).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::jobs::Job;
use super::outcome::FunctionResult;
use super::Plan;

/// What a tuning result depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub code_sha256: String,
    pub memory_mb: u32,
    pub architecture: String,
    pub runtime: Option<String>,
    pub payload_sha256: String,
}

impl Snapshot {
    pub fn of(job: &Job) -> Snapshot {
        let f = &job.function;
        Snapshot {
            code_sha256: f.code_sha256.clone(),
            memory_mb: f.memory_mb,
            architecture: f.architecture.clone(),
            runtime: f.runtime.clone(),
            payload_sha256: job.payloads.digest(),
        }
    }
}

/// A function's last successful tuning, as the history remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastTuning {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    /// As the function should be now if nobody else touched it: the memory memtune applied
    /// in that run, if it applied one to $LATEST.
    pub snapshot: Snapshot,
}

/// Which functions to leave alone this run.
#[derive(Debug, Clone, Default)]
pub struct RetunePolicy {
    /// 0: always re-tune.
    pub after_days: u32,
    /// Re-tune everything.
    pub force: bool,
    /// By function ARN.
    pub last: BTreeMap<String, LastTuning>,
    pub now: DateTime<Utc>,
}

impl RetunePolicy {
    /// Why `job` is not tuned again, or None to tune it.
    pub fn skip_reason(&self, job: &Job) -> Option<String> {
        if self.force || self.after_days == 0 {
            return None;
        }
        let last = self.last.get(&job.function.arn)?;
        let age = self.now.signed_duration_since(last.started_at);
        if age.num_seconds() < 0 || age.num_days() >= self.after_days as i64 {
            return None;
        }
        (last.snapshot == Snapshot::of(job)).then(|| {
            format!(
                "unchanged since run {} ({} days ago); --force to re-tune",
                last.run_id,
                age.num_days()
            )
        })
    }

    /// Moves the jobs this policy skips out of `plan.jobs` into `plan.not_tuned`.
    pub fn apply_to(&self, plan: &mut Plan) {
        let (keep, skip): (Vec<Job>, Vec<Job>) = std::mem::take(&mut plan.jobs)
            .into_iter()
            .partition(|j| self.skip_reason(j).is_none());
        for job in skip {
            let reason = self.skip_reason(&job).unwrap_or_default();
            let digest = job.payloads.digest();
            let mut result = FunctionResult::skipped(job.function, reason);
            result.payload_sha256 = Some(digest);
            plan.not_tuned.push(result);
        }
        plan.jobs = keep;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::config::FleetConfig;
    use crate::fleet::discover::Discovered;
    use crate::platform::FunctionConfig;

    fn job(code: &str, memory_mb: u32, payload: &str) -> Job {
        let config = FleetConfig::parse(
            &format!("[[function]]\nname = \"*\"\npayload = '{payload}'\n"),
            "t.toml",
            None,
        )
        .unwrap();
        let found = Discovered {
            config: FunctionConfig {
                arn: "arn".into(),
                revision_id: "r".into(),
                code_sha256: code.into(),
                ..FunctionConfig::sample("orders", memory_mb)
            },
            tags: Default::default(),
            reserved_concurrency: None,
        };
        crate::fleet::jobs::resolve(&found, &config).unwrap()
    }

    fn policy(days_ago: i64, tuned: &Job) -> RetunePolicy {
        let now = Utc::now();
        RetunePolicy {
            after_days: 14,
            force: false,
            last: [(
                tuned.function.arn.clone(),
                LastTuning {
                    run_id: "run-1".into(),
                    started_at: now - chrono::Duration::days(days_ago),
                    snapshot: Snapshot::of(tuned),
                },
            )]
            .into(),
            now,
        }
    }

    #[test]
    fn an_unchanged_function_tuned_recently_is_skipped_with_the_run() {
        let j = job("c1", 512, "{}");
        let reason = policy(3, &j).skip_reason(&j).unwrap();
        assert_eq!(
            reason,
            "unchanged since run run-1 (3 days ago); --force to re-tune"
        );
    }

    #[test]
    fn force_age_and_any_change_re_tune() {
        let j = job("c1", 512, "{}");
        let mut p = policy(3, &j);
        p.force = true;
        assert_eq!(p.skip_reason(&j), None);
        assert_eq!(policy(14, &j).skip_reason(&j), None, "old enough");
        let p = policy(1, &j);
        assert_eq!(p.skip_reason(&job("c2", 512, "{}")), None, "new code");
        assert_eq!(p.skip_reason(&job("c1", 1024, "{}")), None, "memory");
        assert_eq!(
            p.skip_reason(&job("c1", 512, "{\"a\": 1}")),
            None,
            "payload"
        );
        let mut never = policy(1, &j);
        never.after_days = 0;
        assert_eq!(never.skip_reason(&j), None);
    }

    #[test]
    fn a_function_never_tuned_is_tuned() {
        let j = job("c1", 512, "{}");
        let mut p = policy(1, &j);
        p.last.clear();
        assert_eq!(p.skip_reason(&j), None);
    }
}
