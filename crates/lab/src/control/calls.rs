//! Synchronous calls a function makes while it runs (`[[function.calls]]`): each through
//! [`Lab::reserve`] and [`Lab::finish`] like any Invoke, so the callee's cold starts, INIT,
//! throttles and memory land in the caller's duration, REPORT line and metrics. The caller
//! logs `CALL <stage> <callee> <request-id>` for every call that ran.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::future::join_all;

use super::{Lab, Reservation};
use crate::chain::{self, Call, CALL_ATTEMPTS, FIRST_RETRY_WAIT_MS};

/// What one call cost the caller.
struct CallOutcome {
    /// Wall time the caller waited, in simulated ms: overheads, throttle waits, the callee.
    elapsed_ms: f64,
    /// The callee's request id, when an invocation ran.
    request_id: Option<String>,
    /// The call failed: throttled on every attempt, or the callee returned an error.
    failed: bool,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Lab {
    /// Holds the environment for the function's own work (INIT included), then makes its
    /// calls stage by stage.
    pub async fn run(self: &Arc<Lab>, reservation: &mut Reservation) {
        if !reservation.hold.is_zero() {
            tokio::time::sleep(reservation.hold).await;
        }
        self.make_calls(reservation).await;
    }

    fn make_calls<'a>(self: &'a Arc<Lab>, r: &'a mut Reservation) -> Boxed<'a, ()> {
        Box::pin(async move {
            if r.calls.is_empty() || !r.runs_handler() {
                return;
            }
            let calls = r.calls.clone();
            let (mut elapsed_ms, mut lines, mut failed) = (0.0, Vec::new(), false);
            for (stage, calls) in chain::stages(&calls) {
                let outcomes = join_all(calls.iter().map(|c| self.call(c))).await;
                // The stage lasts as long as its slowest call.
                elapsed_ms += outcomes.iter().map(|o| o.elapsed_ms).fold(0.0, f64::max);
                for (call, outcome) in calls.iter().zip(&outcomes) {
                    if let Some(id) = &outcome.request_id {
                        lines.push(chain::call_line(stage, call.callee(), id));
                    }
                    failed |= outcome.failed;
                }
            }
            r.add_calls(elapsed_ms, lines, failed);
        })
    }

    /// One synchronous call, retried as the SDKs retry a throttle.
    async fn call(self: &Arc<Lab>, call: &Call) -> CallOutcome {
        let mut waited_ms = 0.0;
        for attempt in 0..CALL_ATTEMPTS {
            self.wait_ms(call.overhead_ms).await;
            waited_ms += call.overhead_ms;
            match self.reserve(call.callee(), call.qualifier()) {
                Ok(mut callee) => {
                    self.run(&mut callee).await;
                    let ran_ms = callee.elapsed_ms();
                    let result = self.finish(callee, false);
                    return CallOutcome {
                        elapsed_ms: waited_ms + ran_ms,
                        request_id: Some(result.request_id),
                        failed: result.function_error,
                    };
                }
                Err(e) if e.code == "TooManyRequestsException" && attempt + 1 < CALL_ATTEMPTS => {
                    let wait = FIRST_RETRY_WAIT_MS * 2f64.powi(attempt as i32);
                    self.wait_ms(wait).await;
                    waited_ms += wait;
                }
                Err(_) => break,
            }
        }
        CallOutcome {
            elapsed_ms: waited_ms,
            request_id: None,
            failed: true,
        }
    }

    async fn wait_ms(&self, simulated_ms: f64) {
        let wall = self.scaled(simulated_ms / 1000.0);
        if !wall.is_zero() {
            tokio::time::sleep(wall).await;
        }
    }
}
