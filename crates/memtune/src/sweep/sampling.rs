//! How invocations are sent and counted, beyond what to send: a pause between invocations of
//! one function (`--min-interval-ms`, for a rate-limited downstream) and function errors that
//! count as successful samples (`--allowed-errors`).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::platform::InvokeResponse;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sampling {
    /// `errorType`s of function errors that count as successful invocations.
    pub allowed_errors: Vec<String>,
    /// The least time between the starts of two invocations of the function (all sizes
    /// together).
    pub min_interval: Duration,
}

impl Sampling {
    /// Turns a function error of an allowed type into a success: the response stays as it
    /// was, minus its `X-Amz-Function-Error`.
    pub fn accept(&self, mut response: InvokeResponse) -> InvokeResponse {
        if response.function_error.is_some() && self.allows(&response.payload) {
            response.function_error = None;
        }
        response
    }

    fn allows(&self, payload: &[u8]) -> bool {
        if self.allowed_errors.is_empty() {
            return false;
        }
        let kind = serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("errorType")?.as_str().map(str::to_string));
        kind.is_some_and(|k| self.allowed_errors.contains(&k))
    }
}

/// Spaces invocations at least `interval` apart, whichever task sends them.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for the next slot and takes it.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(Instant::now() + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: &str) -> InvokeResponse {
        InvokeResponse {
            status: 200,
            function_error: Some("Unhandled".into()),
            log_tail: None,
            executed_version: None,
            payload: format!(r#"{{"errorType": "{kind}", "errorMessage": "x"}}"#).into_bytes(),
        }
    }

    #[test]
    fn only_the_allowed_error_types_become_successes() {
        let s = Sampling {
            allowed_errors: vec!["NotFound".into()],
            ..Sampling::default()
        };
        assert_eq!(s.accept(failed("NotFound")).function_error, None);
        assert!(s.accept(failed("Error")).function_error.is_some());
        assert!(Sampling::default()
            .accept(failed("NotFound"))
            .function_error
            .is_some());
    }

    #[tokio::test]
    async fn the_pacer_spaces_invocations() {
        let pacer = Pacer::new(Duration::from_millis(30));
        let start = Instant::now();
        for _ in 0..3 {
            pacer.wait().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(60));
        let unpaced = Pacer::new(Duration::ZERO);
        let start = Instant::now();
        unpaced.wait().await;
        unpaced.wait().await;
        assert!(start.elapsed() < Duration::from_millis(30));
    }
}
