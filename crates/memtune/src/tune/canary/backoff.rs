//! Automatic back-off: a candidate that serves production worse than the alias's main
//! version, by more than an on-call engineer would accept, is taken out at once.

use serde::{Deserialize, Serialize};

/// How much worse than the main version a candidate may serve before it is taken out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BackOffLimits {
    /// Failure rate (errors and throttles per request) above the main version's, in
    /// fraction points: 0.01 = one percentage point.
    pub max_error_rate_increase: f64,
    /// p99 duration above the main version's, as a fraction: 0.5 = 50% slower.
    pub max_p99_increase: f64,
    /// Failures a candidate must have before its rate is judged (one failure in a few requests
    /// says little).
    pub min_failures: f64,
    /// Requests a candidate must have served before its p99 is judged.
    pub min_requests_for_p99: f64,
}

impl Default for BackOffLimits {
    fn default() -> Self {
        BackOffLimits {
            max_error_rate_increase: 0.01,
            max_p99_increase: 0.5,
            min_failures: 3.0,
            min_requests_for_p99: 50.0,
        }
    }
}

/// What one version served over a window, from its CloudWatch metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionTraffic {
    pub invocations: f64,
    pub errors: f64,
    pub throttles: f64,
    pub p99_ms: Option<f64>,
}

impl VersionTraffic {
    /// Errors and throttles per request (a throttled request is not an invocation).
    pub fn failure_rate(&self) -> f64 {
        let requests = self.invocations + self.throttles;
        if requests > 0.0 {
            (self.errors + self.throttles) / requests
        } else {
            0.0
        }
    }
}

/// Whether a candidate may keep its share.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Healthy,
    /// Why it was taken out.
    Unsafe(String),
}

/// Compares a candidate with the main version over the same window.
pub fn judge(main: &VersionTraffic, candidate: &VersionTraffic, limits: &BackOffLimits) -> Verdict {
    let failures = candidate.errors + candidate.throttles;
    let (mine, theirs) = (candidate.failure_rate(), main.failure_rate());
    if failures >= limits.min_failures && mine > theirs + limits.max_error_rate_increase {
        return Verdict::Unsafe(format!(
            "failure rate {:.1}% against the main version's {:.1}% (limit +{:.1} points)",
            mine * 100.0,
            theirs * 100.0,
            limits.max_error_rate_increase * 100.0
        ));
    }
    if let (Some(mine), Some(theirs)) = (candidate.p99_ms, main.p99_ms) {
        let enough = candidate.invocations >= limits.min_requests_for_p99;
        if enough && theirs > 0.0 && mine > theirs * (1.0 + limits.max_p99_increase) {
            return Verdict::Unsafe(format!(
                "p99 {mine:.0} ms against the main version's {theirs:.0} ms (limit +{:.0}%)",
                limits.max_p99_increase * 100.0
            ));
        }
    }
    Verdict::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(invocations: f64, errors: f64, p99_ms: f64) -> VersionTraffic {
        VersionTraffic {
            invocations,
            errors,
            throttles: 0.0,
            p99_ms: Some(p99_ms),
        }
    }

    #[test]
    fn a_candidate_like_the_main_version_keeps_its_share() {
        let limits = BackOffLimits::default();
        let main = traffic(5700.0, 6.0, 200.0);
        assert_eq!(
            judge(&main, &traffic(300.0, 1.0, 240.0), &limits),
            Verdict::Healthy
        );
    }

    #[test]
    fn a_raised_error_rate_is_taken_out() {
        let limits = BackOffLimits::default();
        let main = traffic(5700.0, 6.0, 200.0);
        let Verdict::Unsafe(why) = judge(&main, &traffic(300.0, 30.0, 200.0), &limits) else {
            panic!("10% errors kept its share");
        };
        assert!(
            why.starts_with("failure rate 10.0% against the main version's 0.1%"),
            "{why}"
        );
    }

    #[test]
    fn throttles_count_as_failures() {
        let limits = BackOffLimits::default();
        let main = traffic(1000.0, 0.0, 200.0);
        let throttled = VersionTraffic {
            throttles: 20.0,
            ..traffic(100.0, 0.0, 200.0)
        };
        assert!(matches!(
            judge(&main, &throttled, &limits),
            Verdict::Unsafe(_)
        ));
    }

    #[test]
    fn too_few_failures_or_requests_are_not_judged() {
        let limits = BackOffLimits::default();
        let main = traffic(1000.0, 0.0, 200.0);
        // Two errors in ten requests: 20%, but two errors say little.
        assert_eq!(
            judge(&main, &traffic(10.0, 2.0, 200.0), &limits),
            Verdict::Healthy
        );
        // A slow p99 over 20 requests is their slowest one.
        assert_eq!(
            judge(&main, &traffic(20.0, 0.0, 900.0), &limits),
            Verdict::Healthy
        );
    }

    #[test]
    fn a_p99_beyond_the_limit_is_taken_out_and_the_limit_is_configurable() {
        let main = traffic(5000.0, 0.0, 200.0);
        let slow = traffic(250.0, 0.0, 280.0);
        let limits = BackOffLimits::default();
        assert!(matches!(judge(&main, &slow, &limits), Verdict::Healthy));
        let strict = BackOffLimits {
            max_p99_increase: 0.25,
            ..limits
        };
        let Verdict::Unsafe(why) = judge(&main, &slow, &strict) else {
            panic!("40% slower kept its share under a 25% limit");
        };
        assert_eq!(
            why,
            "p99 280 ms against the main version's 200 ms (limit +25%)"
        );
    }
}
