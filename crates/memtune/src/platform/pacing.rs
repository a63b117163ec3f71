//! Pacing memtune's own Lambda API calls to the account's request-rate quotas, per account
//! and region: every control-plane call (all but Invoke, GetFunction and GetPolicy) shares one
//! quota, GetFunction has its own. Calls wait their turn here instead of being refused with a
//! 429 that the SDK's few retries might not absorb, so pacing never fails a function.
//!
//! Each quota is paced by the generic cell rate algorithm: call n may start no earlier than
//! n / rate seconds after the first, so calls leave evenly spaced, in the order they asked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per second allowed per account and region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiRates {
    pub control_plane_rps: f64,
    pub get_function_rps: f64,
}

impl ApiRates {
    /// Lambda's quotas (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits, "Lambda
    /// API requests", read 2026-12-07): control plane 15/s, GetFunction 100/s; neither can
    /// be increased.
    pub const AWS: ApiRates = ApiRates {
        control_plane_rps: 15.0,
        get_function_rps: 100.0,
    };
}

impl std::str::FromStr for ApiRates {
    type Err = String;

    fn from_str(s: &str) -> Result<ApiRates, String> {
        match s {
            "aws" => Ok(ApiRates::AWS),
            other => Err(format!(
                "'{other}' is not a quota set: use aws (Lambda's request-rate quotas) or none"
            )),
        }
    }
}

/// Whether to pace: `--quotas aws|none`, and by default AWS's quotas unless a custom
/// endpoint (a lab, whose quotas are off unless it was started with `--quotas aws`) is used.
pub fn pacing(flag: Option<&str>, endpoint_url: Option<&str>) -> Result<Option<ApiRates>, String> {
    match flag {
        Some("none") => Ok(None),
        Some(other) => other.parse().map(Some),
        None if endpoint_url.is_some() => Ok(None),
        None => Ok(Some(ApiRates::AWS)),
    }
}

/// One paced quota.
struct Cadence {
    interval: Duration,
    /// When the next call may start.
    next: Mutex<Option<Instant>>,
    calls: AtomicU64,
}

impl Cadence {
    fn new(rps: f64) -> Cadence {
        Cadence {
            interval: Duration::from_secs_f64(1.0 / rps.max(0.001)),
            next: Mutex::new(None),
            calls: AtomicU64::new(0),
        }
    }

    /// Waits for this call's turn.
    async fn turn(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The paced quotas of one account and region, and the calls made under each.
pub struct Pacer {
    control_plane: Cadence,
    get_function: Cadence,
}

/// Calls made so far, per quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiCalls {
    pub control_plane: u64,
    pub get_function: u64,
}

/// The share of a quota memtune paces to. At the quota itself, calls that leave evenly but
/// arrive bunched (latency varies) find the service's bucket drained now and then and are
/// refused; a tenth below it, the bucket refills between bunches.
pub const PACE_SHARE: f64 = 0.9;

impl Pacer {
    pub fn new(rates: ApiRates) -> Pacer {
        Pacer {
            control_plane: Cadence::new(rates.control_plane_rps * PACE_SHARE),
            get_function: Cadence::new(rates.get_function_rps * PACE_SHARE),
        }
    }

    pub async fn control_plane(&self) {
        self.control_plane.turn().await
    }

    pub async fn get_function(&self) {
        self.get_function.turn().await
    }

    pub fn calls(&self) -> ApiCalls {
        ApiCalls {
            control_plane: self.control_plane.calls.load(Ordering::Relaxed),
            get_function: self.get_function.calls.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_leave_evenly_spaced_at_the_rate() {
        let pacer = std::sync::Arc::new(Pacer::new(ApiRates {
            control_plane_rps: 100.0,
            get_function_rps: 1000.0,
        }));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move {
                p.control_plane().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        let last = times.last().unwrap().duration_since(start).as_secs_f64();
        assert!(
            (0.185..=0.3).contains(&last),
            "20 calls at 100/s ended at {last} s"
        );
        // GetFunction does not wait behind the control plane.
        let before = Instant::now();
        pacer.get_function().await;
        assert!(before.elapsed() < Duration::from_millis(20));
        assert_eq!(
            pacer.calls(),
            ApiCalls {
                control_plane: 20,
                get_function: 1
            }
        );
    }
}
