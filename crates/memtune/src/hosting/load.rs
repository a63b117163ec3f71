//! What one function asks of its host: traffic, duration, memory, CPU and cold starts.

use serde::Serialize;

/// AWS prices a month as 730 hours.
pub const HOURS_PER_MONTH: f64 = 730.0;
pub const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;

/// Where the peak concurrency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeakSource {
    /// CloudWatch `ConcurrentExecutions` (Maximum).
    Measured,
    /// Not served: the hourly mean concurrency's peak times this factor (an assumption).
    Derived { peak_to_mean: f64 },
}

/// One function's demand, at the memory size and duration the comparison uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Load {
    /// Requests per second of each hour of the window; order does not matter.
    pub hourly_rps: Vec<f64>,
    /// The highest number of requests in flight at once.
    pub peak_concurrency: f64,
    pub peak_source: PeakSource,
    pub memory_mb: u32,
    /// Mean warm duration, ms.
    pub duration_ms: f64,
    /// Warm p99 duration, ms.
    pub p99_ms: f64,
    /// Memory one invocation uses (max memory used), MB.
    pub memory_used_mb: f64,
    /// vCPU one request can use: where added vCPU stops shortening it.
    pub cpu_need_vcpus: f64,
    /// Cold starts / invocations on on-demand Lambda.
    pub cold_start_ratio: f64,
    pub init_ms: f64,
    pub runtime: Option<String>,
}

impl Load {
    /// Mean requests per second over the window.
    pub fn mean_rps(&self) -> f64 {
        if self.hourly_rps.is_empty() {
            return 0.0;
        }
        self.hourly_rps.iter().sum::<f64>() / self.hourly_rps.len() as f64
    }

    pub fn requests_per_month(&self) -> f64 {
        self.mean_rps() * SECONDS_PER_MONTH
    }

    /// Mean concurrency of each hour (Little's law: rate x duration).
    pub fn hourly_concurrency(&self) -> impl Iterator<Item = f64> + '_ {
        let seconds = self.duration_ms / 1000.0;
        self.hourly_rps.iter().map(move |r| r * seconds)
    }

    /// The busiest hour's mean concurrency.
    pub fn peak_hourly_concurrency(&self) -> f64 {
        self.hourly_concurrency().fold(0.0, f64::max)
    }

    /// The same function with its traffic scaled to `rps` (the shape kept): what the curves
    /// and break-even rates are computed on. A function with no traffic gets a flat shape.
    pub fn at_rate(&self, rps: f64) -> Load {
        let mean = self.mean_rps();
        let mut scaled = self.clone();
        if mean > 0.0 {
            let k = rps / mean;
            scaled.hourly_rps = self.hourly_rps.iter().map(|r| r * k).collect();
            scaled.peak_concurrency = self.peak_concurrency * k;
        } else {
            scaled.hourly_rps = vec![rps];
            scaled.peak_concurrency = rps * self.duration_ms / 1000.0;
        }
        scaled
    }
}
