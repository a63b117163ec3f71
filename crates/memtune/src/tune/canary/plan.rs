//! How long a canary run takes: each candidate serves its share of the alias's traffic until
//! CloudWatch has counted enough requests. Lambda's metrics come in whole periods (1 minute),
//! so that is a whole number of periods, at least one, plus one more for the last period's
//! datapoints to be published.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The request rates every plan states its time at, besides the alias's own.
pub const REFERENCE_RATES: [f64; 3] = [1.0, 10.0, 100.0];

/// The least requests a candidate serves before it is measured: production's mix of payloads
/// varies more than a test event, so it needs more samples than a sweep's few invocations.
pub const DEFAULT_SAMPLES: u32 = 100;

/// What a canary run will do, before it does it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryPlan {
    pub alias: String,
    /// The alias's requests per second over the last hour (CloudWatch Invocations).
    pub rate_per_s: f64,
    pub share: f64,
    /// Requests each candidate serves at least.
    pub samples_per_candidate: u32,
    /// CloudWatch's period for Lambda's metrics.
    pub period_s: u32,
    /// Candidates the search starts with (the current size is the main version itself).
    pub first_candidates: u32,
    /// Candidates it may add while the decision is open.
    pub further_candidates: u32,
}

/// The time a run takes at one rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunTime {
    pub rate_per_s: f64,
    /// None: no traffic, so never.
    pub per_candidate: Option<Duration>,
    /// With the first candidates and two confirmations.
    pub expected: Option<Duration>,
    /// With every candidate the search may add.
    pub most: Option<Duration>,
}

/// Metric periods a candidate needs for `samples` requests at `rate_per_s` x `share`.
pub fn periods_per_candidate(
    rate_per_s: f64,
    share: f64,
    samples: u32,
    period_s: u32,
) -> Option<u32> {
    let per_period = rate_per_s * share * f64::from(period_s);
    if !(per_period > 0.0 && per_period.is_finite()) {
        return None;
    }
    Some(((f64::from(samples) / per_period).ceil() as u32).max(1))
}

impl CanaryPlan {
    /// How long the run takes at `rate_per_s`.
    pub fn at(&self, rate_per_s: f64) -> RunTime {
        let per_candidate = periods_per_candidate(
            rate_per_s,
            self.share,
            self.samples_per_candidate,
            self.period_s,
        )
        .map(|n| Duration::from_secs(u64::from(n + 1) * u64::from(self.period_s)));
        let times = |candidates: u32| per_candidate.map(|d| d * candidates);
        RunTime {
            rate_per_s,
            per_candidate,
            expected: times(self.first_candidates + 2),
            most: times(self.first_candidates + self.further_candidates),
        }
    }

    /// The run's time at the alias's rate, then at each reference rate.
    pub fn times(&self) -> Vec<RunTime> {
        std::iter::once(self.rate_per_s)
            .chain(REFERENCE_RATES)
            .map(|rate| self.at(rate))
            .collect()
    }
}

/// `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s.div_ceil(60)),
        3600..86_400 => {
            let minutes = s.div_ceil(60);
            format!("{} h {} min", minutes / 60, minutes % 60)
        }
        _ => {
            let hours = s.div_ceil(3600);
            format!("{} d {} h", hours / 24, hours % 24)
        }
    }
}

/// One line per rate: `at 10 req/s: 5 min per candidate, about 35 min (at most 2 h 5 min)`.
pub fn describe(time: &RunTime) -> String {
    let rate = time.rate_per_s;
    let rate = if rate >= 10.0 || rate == rate.round() {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    };
    match (time.per_candidate, time.expected, time.most) {
        (Some(each), Some(expected), Some(most)) => format!(
            "at {rate} req/s: {} per candidate, about {} (at most {})",
            human(each),
            human(expected),
            human(most)
        ),
        _ => format!("at {rate} req/s: never (the alias gets no traffic)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: f64) -> CanaryPlan {
        CanaryPlan {
            alias: "live".into(),
            rate_per_s: rate,
            share: 0.05,
            samples_per_candidate: 100,
            period_s: 60,
            first_candidates: 3,
            further_candidates: 21,
        }
    }

    #[test]
    fn periods_cover_the_samples_and_at_least_one_period() {
        // 5% of 1 req/s: 3 requests a minute, so 100 take 34 minutes.
        assert_eq!(periods_per_candidate(1.0, 0.05, 100, 60), Some(34));
        assert_eq!(periods_per_candidate(10.0, 0.05, 100, 60), Some(4));
        // 300 a minute: one period, which the back-off needs anyway.
        assert_eq!(periods_per_candidate(100.0, 0.05, 100, 60), Some(1));
        assert_eq!(periods_per_candidate(0.0, 0.05, 100, 60), None);
    }

    #[test]
    fn the_plan_states_its_time_at_its_rate_and_at_1_10_and_100() {
        let times = plan(2.5).times();
        let rates: Vec<f64> = times.iter().map(|t| t.rate_per_s).collect();
        assert_eq!(rates, [2.5, 1.0, 10.0, 100.0]);
        let lines: Vec<String> = times.iter().map(describe).collect();
        assert_eq!(
            lines,
            [
                "at 2.50 req/s: 15 min per candidate, about 1 h 15 min (at most 6 h 0 min)",
                "at 1 req/s: 35 min per candidate, about 2 h 55 min (at most 14 h 0 min)",
                "at 10 req/s: 5 min per candidate, about 25 min (at most 2 h 0 min)",
                "at 100 req/s: 2 min per candidate, about 10 min (at most 48 min)",
            ]
        );
    }

    #[test]
    fn an_alias_without_traffic_never_finishes() {
        let t = plan(0.0).at(0.0);
        assert_eq!(t.expected, None);
        assert_eq!(
            describe(&t),
            "at 0 req/s: never (the alias gets no traffic)"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(61)), "2 min");
        assert_eq!(human(Duration::from_secs(3 * 3600 + 1200)), "3 h 20 min");
        assert_eq!(human(Duration::from_secs(52 * 3600)), "2 d 4 h");
    }
}
