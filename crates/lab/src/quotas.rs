//! Lambda's request-rate quotas per account and region (`memtune lab --quotas aws`), as the
//! Lambda quotas page gives them (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits,
//! "Lambda API requests", read 2026-12-07): GetFunction 100 requests per second, GetPolicy 15,
//! every other control-plane API 15 together, and Invoke 10 x the concurrency quota. None of
//! them can be increased. Over a quota Lambda answers 429 TooManyRequestsException with
//! "Rate exceeded" and a Reason.
//!
//! Each quota is a token bucket holding one second of requests, refilled continuously.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::StatusCode;

use crate::aws_error::AwsError;

/// Requests per second per account and region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiQuotas {
    /// Every Lambda API except Invoke, GetFunction and GetPolicy, together.
    pub control_plane_rps: f64,
    pub get_function_rps: f64,
    pub get_policy_rps: f64,
    /// Invoke requests per second per unit of the account's concurrency quota.
    pub invoke_rps_per_concurrency: f64,
}

impl ApiQuotas {
    pub const AWS: ApiQuotas = ApiQuotas {
        control_plane_rps: 15.0,
        get_function_rps: 100.0,
        get_policy_rps: 15.0,
        invoke_rps_per_concurrency: 10.0,
    };
}

impl std::str::FromStr for ApiQuotas {
    type Err = String;

    fn from_str(s: &str) -> Result<ApiQuotas, String> {
        match s {
            "aws" => Ok(ApiQuotas::AWS),
            other => Err(format!(
                "'{other}' is not a quota set: use aws (Lambda's request-rate quotas)"
            )),
        }
    }
}

/// Which quota a Lambda action counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiClass {
    ControlPlane,
    GetFunction,
    GetPolicy,
    Invoke,
}

impl ApiClass {
    /// `action` is the IAM action name, e.g. `GetFunctionConfiguration`.
    pub fn of(action: &str) -> ApiClass {
        match action {
            "GetFunction" => ApiClass::GetFunction,
            "GetPolicy" => ApiClass::GetPolicy,
            "InvokeFunction" => ApiClass::Invoke,
            _ => ApiClass::ControlPlane,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

struct Bucket {
    tokens: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        Bucket {
            tokens: rate,
            rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The quotas of one account and region, and how often they admitted and refused.
pub struct RateLimiter {
    buckets: Mutex<[Bucket; 4]>,
    admitted: [AtomicU64; 4],
    refused: [AtomicU64; 4],
}

impl RateLimiter {
    pub fn new(quotas: ApiQuotas, concurrency: u32) -> RateLimiter {
        RateLimiter {
            buckets: Mutex::new([
                Bucket::new(quotas.control_plane_rps),
                Bucket::new(quotas.get_function_rps),
                Bucket::new(quotas.get_policy_rps),
                Bucket::new(quotas.invoke_rps_per_concurrency * concurrency as f64),
            ]),
            admitted: Default::default(),
            refused: Default::default(),
        }
    }

    /// Admits one request of `class`, or refuses it as Lambda does.
    pub fn admit(&self, class: ApiClass) -> Result<(), AwsError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets[class.index()].take(Instant::now()) {
            self.admitted[class.index()].fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.refused[class.index()].fetch_add(1, Ordering::Relaxed);
        // The SDK's ThrottleReason has no account-wide invocation-rate reason; Lambda names
        // the rate its caller exceeded.
        let reason = match class {
            ApiClass::Invoke => "FunctionInvocationRateLimitExceeded",
            _ => "CallerRateLimitExceeded",
        };
        let mut e = AwsError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        )
        .with("Reason", reason);
        e.retry_after_s = Some(1);
        Err(e)
    }

    /// Requests refused so far, per class.
    pub fn refused(&self, class: ApiClass) -> u64 {
        self.refused[class.index()].load(Ordering::Relaxed)
    }

    /// Requests admitted so far, per class.
    pub fn admitted(&self, class: ApiClass) -> u64 {
        self.admitted[class.index()].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_a_second_and_refills() {
        let limiter = RateLimiter::new(ApiQuotas::AWS, 1000);
        let admitted = (0..40)
            .filter(|_| limiter.admit(ApiClass::ControlPlane).is_ok())
            .count();
        assert_eq!(admitted, 15);
        assert_eq!(limiter.admitted(ApiClass::ControlPlane), 15);
        assert_eq!(limiter.refused(ApiClass::ControlPlane), 25);
        // GetFunction has its own quota.
        assert!(limiter.admit(ApiClass::GetFunction).is_ok());
        let e = limiter.admit(ApiClass::ControlPlane).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            e.extra,
            vec![("Reason", "CallerRateLimitExceeded".to_string())]
        );
        std::thread::sleep(std::time::Duration::from_millis(140));
        assert!(limiter.admit(ApiClass::ControlPlane).is_ok());
    }

    #[test]
    fn actions_map_to_their_quota() {
        assert_eq!(ApiClass::of("GetFunction"), ApiClass::GetFunction);
        assert_eq!(
            ApiClass::of("GetFunctionConfiguration"),
            ApiClass::ControlPlane
        );
        assert_eq!(ApiClass::of("InvokeFunction"), ApiClass::Invoke);
        assert!("none".parse::<ApiQuotas>().is_err());
    }
}
