//! Fourteen days of production traffic before the lab started, described rather than stored.
//!
//! Each function's traffic follows a daily sinusoid around `requests_per_day`. Counts are
//! integers that come from rounding a closed-form cumulative curve, so the number of invocations
//! in any range is two evaluations of that curve (`invocations_between` is O(1)) and the counts
//! of adjacent ranges always add up. Every invocation, numbered since the epoch, has its own
//! duration drawn from the seed ([`Production::raw_duration_of`]): FilterLogEvents' REPORT
//! lines and CloudWatch's Duration statistics read the same draws, so production's figures are
//! a finite sample with its own sampling error, as a real account's are, not the workload's
//! distribution. Logs Insights still aggregates the analytic distribution weighted by the count.

use memtune_facts::report_line::{self, Report, ReportStatus};
use rand::rngs::{SmallRng, StdRng};
use rand::{Rng, SeedableRng};

use super::environments::{self, Environments, MinuteLoad};
use super::profiles::{FunctionProfile, LogFormat};
use super::workload::DurationDistribution;

pub const BACKFILL_DAYS: i64 = 14;
pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
const MINUTES_PER_DAY: f64 = 1440.0;
/// Insights reports memory fields in bytes, counting a megabyte as 10^6 bytes.
pub const BYTES_PER_MB: f64 = 1_000_000.0;
/// The most backfilled invocations a Duration statistic draws for one period. Above it the
/// lab computes the statistic over every k-th invocation: a p99 over 20,000 has 200 values
/// above it and a sampling error of a few percent, more than weeks of a busy function's
/// traffic would give, and drawing it costs about a millisecond.
pub const MAX_DURATION_SAMPLE: u64 = 20_000;

/// The backfilled window: the 14 days before the minute in which the lab started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backfill {
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Backfill {
    pub fn new(seed: u64, started_at_ms: i64) -> Backfill {
        let end_ms = floor_to(started_at_ms, MINUTE_MS);
        Backfill {
            seed,
            start_ms: end_ms - BACKFILL_DAYS * DAY_MS,
            end_ms,
        }
    }

    /// The production traffic model of one function.
    pub fn production<'a>(&self, profile: &'a FunctionProfile) -> Production<'a> {
        Production::new(*self, profile)
    }

    /// [start_ms, end_ms) clipped to the window and widened to whole minutes, as minute numbers.
    fn minutes(&self, start_ms: i64, end_ms: i64) -> (i64, i64) {
        let first = ceil_to(start_ms.max(self.start_ms), MINUTE_MS) / MINUTE_MS;
        let last = ceil_to(end_ms.min(self.end_ms), MINUTE_MS) / MINUTE_MS;
        (first, last.max(first))
    }
}

pub fn floor_to(ms: i64, unit: i64) -> i64 {
    ms.div_euclid(unit) * unit
}

fn ceil_to(ms: i64, unit: i64) -> i64 {
    floor_to(ms + unit - 1, unit)
}

/// SplitMix64: a fast, well-mixed hash step for deterministic per-item randomness.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A stable hash of a seed, a name and some numbers.
pub fn hash_of(seed: u64, name: &str, parts: &[u64]) -> u64 {
    let mut h = mix(seed ^ 0x6c62_272e_07bb_0142);
    for b in name.bytes() {
        h = mix(h ^ b as u64);
    }
    for p in parts {
        h = mix(h ^ p);
    }
    h
}

/// A uniform number in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// One synthesized production invocation, as its REPORT line describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticReport {
    pub timestamp_ms: i64,
    pub request_id: String,
    pub log_stream: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u32,
    pub init_ms: Option<f64>,
    /// `timeout` or `error` (out of memory); `None` for a normal end.
    pub status: Option<&'static str>,
    pub message: String,
}

/// One function's production traffic at its configured memory.
#[derive(Debug, Clone)]
pub struct Production<'a> {
    pub window: Backfill,
    pub profile: &'a FunctionProfile,
    per_minute: f64,
    /// Rounding offsets of the cumulative count, error and cold-start curves.
    count_offset: f64,
    error_offset: f64,
    cold_offset: f64,
    /// Fraction of invocations that count as errors (handled errors, timeouts, OOM kills).
    pub error_fraction: f64,
    pub durations: DurationDistribution,
    pub init: DurationDistribution,
    /// Seconds an invocation holds an environment on average (INIT weighted by cold starts).
    mean_busy_s: f64,
    /// `hash_of(seed, name, &[])`, from which each invocation's draws are seeded.
    name_hash: u64,
}

impl<'a> Production<'a> {
    fn new(window: Backfill, profile: &'a FunctionProfile) -> Production<'a> {
        let model = profile.model();
        let memory = profile.memory_mb;
        let durations = duration_distribution(profile);
        let error_fraction = if model.out_of_memory(memory) {
            1.0
        } else {
            let timeout = 1.0 - durations.cdf_uncapped(profile.timeout_ms());
            timeout + (1.0 - timeout) * model.error_rate(memory)
        };
        let init = model.init_distribution(memory, profile.architecture);
        // With environments modelled, INIT is not part of an invocation's Duration and
        // concurrency follows the handler's time alone.
        let cold = match profile.traffic.environments {
            Some(_) => 0.0,
            None => profile.traffic.cold_start_ratio,
        };
        let h = |tag: u64| unit(hash_of(window.seed, &profile.name, &[tag]));
        Production {
            window,
            profile,
            per_minute: profile.traffic.requests_per_day / MINUTES_PER_DAY,
            count_offset: h(1),
            error_offset: h(2),
            cold_offset: h(3),
            error_fraction,
            mean_busy_s: (durations.mean() + cold * init.mean()) / 1000.0,
            durations,
            init,
            name_hash: hash_of(window.seed, &profile.name, &[]),
        }
    }

    /// The duration invocation `global` (numbered since the epoch) drew, before the timeout
    /// caps it: the same for its REPORT line and for CloudWatch's statistics.
    pub fn raw_duration_of(&self, global: i64) -> f64 {
        let seed = mix(mix(self.name_hash ^ global as u64) ^ 13);
        self.durations
            .sample_uncapped(&mut SmallRng::seed_from_u64(seed))
    }

    /// The durations CloudWatch's Duration statistics see for the invocations in minutes
    /// within [start_ms, end_ms), and how many invocations each stands for: every one, or for
    /// more than [`MAX_DURATION_SAMPLE`] every k-th by number since the epoch (so that a window
    /// a minute later keeps nearly the same ones and reads nearly the same statistics).
    /// Throttled arrivals ran no code, so they have no Duration.
    pub fn duration_sample(&self, start_ms: i64, end_ms: i64) -> (Vec<f64>, f64) {
        let ran = self.ran(start_ms, end_ms);
        let n: i64 = ran.iter().map(|(a, b)| (b - a).max(0)).sum();
        if n == 0 {
            return (Vec::new(), 0.0);
        }
        let stride = (n as u64).div_ceil(MAX_DURATION_SAMPLE).max(1) as i64;
        let timeout_ms = self.profile.timeout_ms();
        let values: Vec<f64> = ran
            .iter()
            .flat_map(|&(a, b)| {
                let from = (a + stride - 1).div_euclid(stride) * stride;
                (from..b).step_by(stride as usize)
            })
            .map(|g| self.raw_duration_of(g).min(timeout_ms))
            .collect();
        let weight = n as f64 / values.len().max(1) as f64;
        (values, weight)
    }

    /// The numbers (since the epoch) of the invocations that ran in the minutes within
    /// [start_ms, end_ms), as ranges: with environments modelled, each minute's first
    /// `invocations` arrivals (the rest were throttled, as its REPORT lines show); without,
    /// every arrival.
    fn ran(&self, start_ms: i64, end_ms: i64) -> Vec<(i64, i64)> {
        let (first, last) = self.window.minutes(start_ms, end_ms);
        if first >= last {
            return Vec::new();
        }
        match self.environments() {
            Some(env) => (first..last)
                .zip(self.loads_with(first, last, |m| env.provisioned_at(m)))
                .map(|(minute, load)| {
                    let a = self.count_before(minute);
                    (a, a + load.invocations as i64)
                })
                .collect(),
            None => vec![(self.count_before(first), self.count_before(last))],
        }
    }

    /// Expected invocations from the epoch to the start of `minute` (the integral of the daily
    /// sinusoid `rate * (1 + A cos(2π (t - peak) / day))`).
    fn expected_before(&self, minute: i64) -> f64 {
        let t = &self.profile.traffic;
        let period = MINUTES_PER_DAY;
        let phase = std::f64::consts::TAU * (minute as f64 - t.peak_hour_utc * 60.0) / period;
        let wave = t.daily_amplitude * period / std::f64::consts::TAU * phase.sin();
        self.per_minute * (minute as f64 + wave + self.burst_minutes_before(minute))
    }

    /// Extra mean-rate minutes that bursts added before `minute`: each burst of a day starts at
    /// a minute drawn from the seed and the day.
    fn burst_minutes_before(&self, minute: i64) -> f64 {
        let t = &self.profile.traffic;
        if t.bursts_per_day == 0 || t.burst_factor <= 1.0 {
            return 0.0;
        }
        let extra = t.burst_factor - 1.0;
        let length = t.burst_minutes as i64;
        let day = minute.div_euclid(1440);
        let into_day = minute - day * 1440;
        let whole_days = day as f64 * (t.bursts_per_day as i64 * length) as f64;
        let today: i64 = (0..t.bursts_per_day as u64)
            .map(|k| {
                let start = (hash_of(self.window.seed, &self.profile.name, &[day as u64, k, 5])
                    % (1440 - length as u64)) as i64;
                (into_day - start).clamp(0, length)
            })
            .sum();
        extra * (whole_days + today as f64)
    }

    /// Invocations from the epoch to the start of `minute`, as an integer.
    fn count_before(&self, minute: i64) -> i64 {
        (self.expected_before(minute) + self.count_offset).floor() as i64
    }

    /// Of the first `n` invocations, how many have a property that a fraction `p` of them has.
    fn share(n: i64, p: f64, offset: f64) -> i64 {
        (n as f64 * p + offset).floor() as i64
    }

    fn between(&self, start_ms: i64, end_ms: i64, p: Option<(f64, f64)>) -> u64 {
        let (first, last) = self.window.minutes(start_ms, end_ms);
        let (a, b) = (self.count_before(first), self.count_before(last));
        let n = match p {
            None => b - a,
            Some((p, offset)) => Self::share(b, p, offset) - Self::share(a, p, offset),
        };
        n.max(0) as u64
    }

    /// Invocations in minutes that start within [start_ms, end_ms).
    pub fn invocations_between(&self, start_ms: i64, end_ms: i64) -> u64 {
        match self.environments() {
            Some(_) => self.sum_loads(start_ms, end_ms, |l| l.invocations),
            None => self.between(start_ms, end_ms, None),
        }
    }

    /// The profile's execution-environment model, when it has one.
    pub fn environments(&self) -> Option<&'a Environments> {
        self.profile.traffic.environments.as_ref()
    }

    /// Arrivals in `minute` (since the epoch), throttled ones included.
    pub fn arrivals_in_minute(&self, minute: i64) -> u64 {
        (self.count_before(minute + 1) - self.count_before(minute)).max(0) as u64
    }

    /// The load of minutes [first, last) under the profile's environment model with the
    /// provisioned level `provisioned(minute)`; empty without a model.
    pub fn loads_with(
        &self,
        first: i64,
        last: i64,
        provisioned: impl Fn(i64) -> u32,
    ) -> Vec<MinuteLoad> {
        let Some(env) = self.environments() else {
            return Vec::new();
        };
        let idle = env.idle_minutes as i64;
        let arrivals = self.arrivals_from(first - idle, last.max(first));
        environments::simulate(
            &arrivals,
            first,
            env.idle_minutes as usize,
            self.mean_busy_s,
            self.profile.reserved_concurrency,
            provisioned,
        )
    }

    /// Arrivals of minutes [first, last).
    pub fn arrivals_from(&self, first: i64, last: i64) -> Vec<u64> {
        (first..last).map(|m| self.arrivals_in_minute(m)).collect()
    }

    /// Seconds an invocation keeps an environment busy on average.
    pub fn mean_busy_s(&self) -> f64 {
        self.mean_busy_s
    }

    /// The load of the minutes within [start_ms, end_ms) (clipped to the window) with the
    /// profile's provisioned level.
    pub fn loads_between(&self, start_ms: i64, end_ms: i64) -> Vec<MinuteLoad> {
        let (first, last) = self.window.minutes(start_ms, end_ms);
        match self.environments() {
            Some(env) => self.loads_with(first, last, |m| env.provisioned_at(m)),
            None => Vec::new(),
        }
    }

    /// A sum over the minutes' loads within [start_ms, end_ms).
    pub fn sum_loads(&self, start_ms: i64, end_ms: i64, f: impl Fn(&MinuteLoad) -> u64) -> u64 {
        self.loads_between(start_ms, end_ms).iter().map(f).sum()
    }

    /// Invocations that failed (the `Errors` metric) in minutes within [start_ms, end_ms).
    /// Throttled arrivals are not invocations, so they are no errors either.
    pub fn errors_between(&self, start_ms: i64, end_ms: i64) -> u64 {
        let (p, offset) = (self.error_fraction, self.error_offset);
        self.ran(start_ms, end_ms)
            .iter()
            .map(|&(a, b)| (Self::share(b, p, offset) - Self::share(a, p, offset)).max(0) as u64)
            .sum()
    }

    /// Invocations that started a new execution environment.
    pub fn cold_starts_between(&self, start_ms: i64, end_ms: i64) -> u64 {
        if self.environments().is_some() {
            return self.sum_loads(start_ms, end_ms, |l| l.cold_starts);
        }
        let ratio = self.profile.traffic.cold_start_ratio;
        self.between(start_ms, end_ms, Some((ratio, self.cold_offset)))
    }

    /// Concurrency in one minute by Little's law (arrival rate x time busy), rounded up.
    fn concurrency_in_minute(&self, minute: i64) -> u32 {
        let n = self.count_before(minute + 1) - self.count_before(minute);
        (n as f64 / 60.0 * self.mean_busy_s).ceil() as u32
    }

    /// The highest per-minute concurrency in [start_ms, end_ms).
    pub fn peak_concurrency_between(&self, start_ms: i64, end_ms: i64) -> u32 {
        if self.environments().is_some() {
            return self
                .loads_between(start_ms, end_ms)
                .iter()
                .map(|l| l.concurrency)
                .max()
                .unwrap_or(0);
        }
        let (first, last) = self.window.minutes(start_ms, end_ms);
        (first..last)
            .map(|m| self.concurrency_in_minute(m))
            .max()
            .unwrap_or(0)
    }

    /// How many log streams (execution environments) a day of traffic is spread over.
    pub fn streams_per_day(&self) -> u64 {
        let peak_rate = self.per_minute * (1.0 + self.profile.traffic.daily_amplitude) / 60.0;
        (peak_rate * self.mean_busy_s).ceil().max(1.0) as u64
    }

    /// The name of stream `k` of the day that contains `ms`.
    pub fn stream_name(&self, ms: i64, k: u64) -> String {
        let day = floor_to(ms, DAY_MS);
        let date = chrono::DateTime::from_timestamp_millis(day)
            .map(|d| d.format("%Y/%m/%d").to_string())
            .unwrap_or_default();
        let hi = hash_of(self.window.seed, &self.profile.name, &[day as u64, k, 1]);
        let lo = hash_of(self.window.seed, &self.profile.name, &[day as u64, k, 2]);
        format!("{date}/[$LATEST]{hi:016x}{lo:016x}")
    }

    /// The REPORT lines of one minute (empty outside the window), in timestamp order.
    pub fn reports_in_minute(&self, minute: i64) -> Vec<SyntheticReport> {
        let (first, last) = self
            .window
            .minutes(minute * MINUTE_MS, (minute + 1) * MINUTE_MS);
        if first >= last {
            return Vec::new();
        }
        let before = self.count_before(minute);
        let n = self.count_before(minute + 1) - before;
        // With environments modelled, throttled arrivals leave no REPORT line and the minute's
        // cold starts are its first invocations (the rise comes at once).
        let (ran, colds) = match self.environments() {
            Some(env) => {
                let load = self.loads_with(minute, minute + 1, |m| env.provisioned_at(m))[0];
                (load.invocations as i64, Some(load.cold_starts as i64))
            }
            None => (n, None),
        };
        (0..ran)
            .map(|i| {
                let cold = colds.map(|c| i < c);
                self.report(minute, i, ran, before + i, cold)
            })
            .collect()
    }

    /// Invocation `i` of the `n` in `minute`; `global` numbers it since the epoch.
    /// `cold` is the environment model's verdict; without one the cold-start ratio decides.
    fn report(
        &self,
        minute: i64,
        i: i64,
        n: i64,
        global: i64,
        cold: Option<bool>,
    ) -> SyntheticReport {
        let p = self.profile;
        let model = p.model();
        let seed = hash_of(self.window.seed, &p.name, &[global as u64, 7]);
        let mut rng = StdRng::seed_from_u64(seed);
        let timestamp_ms =
            minute * MINUTE_MS + ((i as f64 + 0.5) * MINUTE_MS as f64 / n as f64) as i64;
        let ratio = p.traffic.cold_start_ratio;
        let cold = cold.unwrap_or_else(|| {
            Self::share(global + 1, ratio, self.cold_offset)
                > Self::share(global, ratio, self.cold_offset)
        });
        let init_ms = cold.then(|| self.init.sample_uncapped(&mut rng));
        let raw = self.raw_duration_of(global);
        let timeout_ms = p.timeout_ms();
        let oom = model.out_of_memory(p.memory_mb);
        let status = if oom {
            Some("error")
        } else if raw >= timeout_ms {
            Some("timeout")
        } else {
            None
        };
        let duration_ms = raw.min(timeout_ms);
        let used = if oom {
            p.memory_mb
        } else {
            let used = model.max_memory_used_mb(p.memory_mb) as f64 * rng.random_range(0.97..1.03);
            (used.round() as u32).clamp(1, p.memory_mb)
        };
        let request_id = uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string();
        let stream = self.stream_name(timestamp_ms, mix(seed) % self.streams_per_day());
        let mut report = SyntheticReport {
            timestamp_ms,
            request_id,
            log_stream: stream,
            duration_ms,
            billed_ms: (duration_ms + init_ms.unwrap_or(0.0)).ceil().max(1.0) as u64,
            memory_mb: p.memory_mb,
            max_memory_used_mb: used,
            init_ms,
            status,
            message: String::new(),
        };
        report.message = report_message(&report, p.log_format);
        report
    }
}

/// The model's distribution of REPORT durations at the function's configured memory.
///
/// A function configured below its working set is killed part way through every invocation;
/// those durations (uniform over 5-60% of the base duration) are described by a log-normal
/// with the same mean and spread, so that they too have an analytic form.
pub fn duration_distribution(profile: &FunctionProfile) -> DurationDistribution {
    let model = profile.model();
    let timeout_ms = profile.timeout_ms();
    if model.out_of_memory(profile.memory_mb) {
        let base = model.base_duration_ms(profile.memory_mb, profile.architecture);
        return DurationDistribution::new(base * 0.325, 0.49, 0.0, 1.0, timeout_ms);
    }
    model.distribution(profile.memory_mb, profile.architecture, timeout_ms)
}

/// The REPORT event text in the function's log format, as Lambda writes it.
fn report_message(r: &SyntheticReport, format: LogFormat) -> String {
    let report = Report {
        request_id: r.request_id.clone(),
        duration_ms: r.duration_ms,
        billed_ms: r.billed_ms,
        memory_mb: r.memory_mb,
        max_memory_used_mb: r.max_memory_used_mb,
        init_ms: r.init_ms,
        restore_ms: None,
        status: match r.status {
            None => ReportStatus::Success,
            Some("error") => ReportStatus::Error(Some("Runtime.OutOfMemory".into())),
            Some(_) => ReportStatus::Timeout,
        },
    };
    match format {
        LogFormat::Text => report_line::text(&report),
        LogFormat::Json => {
            let time = chrono::DateTime::from_timestamp_millis(r.timestamp_ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            report_line::json_event(&report, &time)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn profile() -> FunctionProfile {
        ProfileSet::parse(
            "[[function]]\nname = \"api\"\nmemory_mb = 512\n[function.workload]\ncpu_ms = 50.0\nio_ms = 20.0\nerror_rate = 0.02\ninit_ms = 300.0\n[function.traffic]\nrequests_per_day = 100000\ndaily_amplitude = 0.5\ncold_start_ratio = 0.05\n",
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0)
    }

    const STARTED: i64 = 1_760_000_123_456;

    #[test]
    fn throttled_arrivals_are_no_errors() {
        // Half the invocations fail; a reservation of 2 throttles most of every minute.
        let p = ProfileSet::parse(
            "[[function]]\nname = \"api\"\nmemory_mb = 512\nreserved_concurrency = 2\n\
             [function.workload]\ncpu_ms = 20.0\nio_ms = 400.0\nerror_rate = 0.5\n\
             [function.traffic]\nrequests_per_day = 2000000\n\
             [function.traffic.environments]\nalias = \"live\"\n",
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0);
        let b = Backfill::new(2, STARTED);
        let prod = b.production(&p);
        let day = (b.start_ms, b.start_ms + DAY_MS);
        let loads = prod.loads_between(day.0, day.1);
        let arrivals: u64 = loads.iter().map(|l| l.arrivals).sum();
        let invocations = prod.invocations_between(day.0, day.1);
        assert!(invocations < arrivals / 2, "{invocations} of {arrivals}");
        let errors = prod.errors_between(day.0, day.1);
        assert!(
            (errors as f64 - 0.5 * invocations as f64).abs() <= 1440.0,
            "{errors} errors of {invocations} invocations ({arrivals} arrivals)"
        );
    }

    #[test]
    fn duration_samples_are_the_report_lines_durations_and_scatter_like_a_sample() {
        let p = profile();
        let b = Backfill::new(9, STARTED);
        let prod = b.production(&p);
        // One minute: every invocation, the same durations its REPORT lines carry.
        let minute = b.start_ms / MINUTE_MS + 900;
        let (values, weight) = prod.duration_sample(minute * MINUTE_MS, (minute + 1) * MINUTE_MS);
        let reports = prod.reports_in_minute(minute);
        assert_eq!(weight, 1.0);
        let logged: Vec<f64> = reports.iter().map(|r| r.duration_ms).collect();
        assert_eq!(values, logged);
        // The whole window: 1.4 million invocations, every 71st drawn, each standing for ~71.
        let (values, weight) = prod.duration_sample(b.start_ms, b.end_ms);
        let n = prod.invocations_between(b.start_ms, b.end_ms) as f64;
        assert!(
            values.len() as u64 <= MAX_DURATION_SAMPLE,
            "{}",
            values.len()
        );
        assert!((weight * values.len() as f64 - n).abs() < 1e-6 * n);
        // The sample's mean and p99 are near the distribution's, but not exactly it.
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let truth = prod.durations.mean();
        assert!((mean / truth - 1.0).abs() < 0.01, "{mean} {truth}");
        assert_ne!(mean, truth);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let p99 = sorted[(0.99 * sorted.len() as f64).ceil() as usize - 1];
        let truth = prod.durations.quantile(0.99);
        assert!((p99 / truth - 1.0).abs() < 0.02, "{p99} {truth}");
        // Another seed draws other invocations.
        let other = Backfill::new(10, STARTED).production(&p);
        assert_ne!(other.duration_sample(b.start_ms, b.end_ms).0, values);
    }

    #[test]
    fn counts_add_up_over_adjacent_ranges_and_match_the_daily_volume() {
        let p = profile();
        let b = Backfill::new(9, STARTED);
        let prod = b.production(&p);
        let total = prod.invocations_between(b.start_ms, b.end_ms);
        let expected = 14.0 * 100_000.0;
        assert!(
            (total as f64 - expected).abs() / expected < 0.001,
            "{total}"
        );
        let mid = b.start_ms + 5 * DAY_MS + 17 * MINUTE_MS;
        assert_eq!(
            prod.invocations_between(b.start_ms, mid) + prod.invocations_between(mid, b.end_ms),
            total
        );
        assert_eq!(prod.invocations_between(b.end_ms, b.end_ms + DAY_MS), 0);
        let errors = prod.errors_between(b.start_ms, b.end_ms) as f64;
        assert!((errors / total as f64 - 0.02).abs() < 0.001, "{errors}");
    }

    #[test]
    fn traffic_peaks_at_the_peak_hour() {
        let p = profile();
        let b = Backfill::new(9, STARTED);
        let prod = b.production(&p);
        let day = floor_to(b.start_ms, DAY_MS) + DAY_MS;
        let hour =
            |h: i64| prod.invocations_between(day + h * 3_600_000, day + (h + 1) * 3_600_000);
        assert!(hour(15) > 2 * hour(3), "{} {}", hour(15), hour(3));
    }

    #[test]
    fn minute_reports_are_deterministic_and_match_the_counts() {
        let p = profile();
        let b = Backfill::new(9, STARTED);
        let prod = b.production(&p);
        let minute = b.start_ms / MINUTE_MS + 900;
        let reports = prod.reports_in_minute(minute);
        assert_eq!(
            reports.len() as u64,
            prod.invocations_between(minute * MINUTE_MS, (minute + 1) * MINUTE_MS)
        );
        assert_eq!(reports, b.production(&p).reports_in_minute(minute));
        assert!(reports
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms));
        assert!(reports[0].message.starts_with("REPORT RequestId: "));
        assert!(prod.reports_in_minute(b.end_ms / MINUTE_MS).is_empty());
    }

    #[test]
    fn a_different_seed_gives_different_minutes_but_the_same_volume() {
        let p = profile();
        let (a, b) = (Backfill::new(1, STARTED), Backfill::new(2, STARTED));
        let m = a.start_ms / MINUTE_MS + 100;
        assert_ne!(
            a.production(&p).reports_in_minute(m)[0].request_id,
            b.production(&p).reports_in_minute(m)[0].request_id
        );
        let day = |x: &Backfill| {
            x.production(&p)
                .invocations_between(x.start_ms, x.start_ms + DAY_MS)
        };
        assert!(day(&a).abs_diff(day(&b)) <= 1);
    }
}

#[cfg(test)]
mod environment_tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn profile(extra: &str) -> FunctionProfile {
        ProfileSet::parse(
            &format!(
                "[[function]]\nname = \"api\"\nmemory_mb = 512\nreserved_concurrency = 9\n\
                 [function.workload]\ncpu_ms = 20.0\nio_ms = 400.0\ninit_ms = 500.0\n\
                 [function.traffic]\nrequests_per_day = 200000\ndaily_amplitude = 0.5\n\
                 bursts_per_day = 4\nburst_factor = 10.0\nburst_minutes = 2\n\
                 [function.traffic.environments]\nalias = \"live\"\n{extra}"
            ),
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0)
    }

    const STARTED: i64 = 1_760_000_123_456;

    #[test]
    fn minutes_add_up_and_report_lines_carry_init_on_cold_starts_only() {
        let p = profile("provisioned = 2\n");
        let b = Backfill::new(4, STARTED);
        let prod = b.production(&p);
        let day = (b.start_ms, b.start_ms + DAY_MS);
        let loads = prod.loads_between(day.0, day.1);
        assert_eq!(loads.len(), 1440);
        let arrivals: u64 = loads.iter().map(|l| l.arrivals).sum();
        let (a, z) = (b.start_ms / MINUTE_MS, b.start_ms / MINUTE_MS + 1440);
        assert_eq!(arrivals as i64, prod.count_before(z) - prod.count_before(a));
        for l in &loads {
            assert_eq!(l.invocations + l.throttles, l.arrivals);
            assert_eq!(
                l.provisioned_invocations + l.on_demand_invocations,
                l.invocations
            );
            assert!(l.concurrency <= 9 && l.provisioned == 2);
        }
        let throttles: u64 = loads.iter().map(|l| l.throttles).sum();
        assert!(throttles > 0, "bursts of 10x pass the reservation of 9");
        // Throttled arrivals ran no code: Duration and Errors count the invocations only.
        let invocations: u64 = loads.iter().map(|l| l.invocations).sum();
        let (values, weight) = prod.duration_sample(day.0, day.1);
        let counted = values.len() as f64 * weight;
        assert!(
            (counted - invocations as f64).abs() < 1e-6,
            "{counted} {invocations}"
        );
        assert_eq!(
            prod.invocations_between(day.0, day.1),
            loads.iter().map(|l| l.invocations).sum::<u64>()
        );
        // The minute with the most cold starts is a burst; its REPORT lines say so.
        let (i, burst) = loads
            .iter()
            .enumerate()
            .max_by_key(|(_, l)| l.cold_starts)
            .unwrap();
        assert!(burst.cold_starts >= 5, "{burst:?}");
        let reports = prod.reports_in_minute(a + i as i64);
        assert_eq!(reports.len() as u64, burst.invocations);
        let cold: Vec<_> = reports.iter().filter(|r| r.init_ms.is_some()).collect();
        assert_eq!(cold.len() as u64, burst.cold_starts);
        assert!(cold[0].message.contains("Init Duration"));
        assert!(!reports.last().unwrap().message.contains("Init Duration"));
        let total: u64 = loads.iter().map(|l| l.cold_starts).sum();
        assert_eq!(prod.cold_starts_between(day.0, day.1), total);
    }

    #[test]
    fn provisioned_environments_take_cold_starts_away() {
        let b = Backfill::new(4, STARTED);
        let cold = |extra: &str| {
            let p = profile(extra);
            let prod = b.production(&p);
            prod.cold_starts_between(b.start_ms, b.end_ms)
        };
        let (none, some, all) = (
            cold(""),
            cold("provisioned = 3\n"),
            cold("provisioned = 9\n"),
        );
        assert!(none > some && some > all, "{none} {some} {all}");
        assert_eq!(all, 0);
        let scheduled =
            cold("provisioned_schedule = [{ hour = 0, level = 9 }, { hour = 12, level = 0 }]\n");
        assert!(scheduled > 0 && scheduled < none, "{scheduled} {none}");
    }
}
