//! Fleet configuration files (`memtune fleet --config FILE`): which functions, how to tune
//! them, what limits the run, and per-function overrides. Every key is documented in
//! `config/fleet.example.toml`. Unknown keys and impossible values are errors naming the file
//! and line they stand on.

pub mod capacity;
pub mod chains;
mod raw;
pub mod targets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex_lite::Regex;

use super::glob::Glob;
use super::schedule::Schedule;
use super::select::Selection;
use crate::apply::{ApplyMode, ApplyPolicy, Guards};
use crate::strategy::{Objective, SearchMode, Strategy};
use crate::sweep::payload::Payloads;
use crate::tune::Isolation;
use memtune_facts::toml_lines::{key_line, line_of};
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};
use raw::{RawApply, RawFile, RawKnobs, RawLimits, RawOverride, RawSelect, RawServe, RawTuning};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// A checked fleet configuration.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub selection: Selection,
    pub tuning: Tuning,
    pub limits: Limits,
    /// `[[function]]` entries, in file order: later entries win over earlier ones.
    pub overrides: Vec<Override>,
    /// `[apply]`: propose recommendations, or apply those that pass the guards.
    pub apply: ApplyPolicy,
    /// `[serve]`: how `memtune serve` runs this config.
    pub serve: ServeSettings,
    /// `[[target]]`: accounts and regions reached through a role; empty: the ambient
    /// credentials' account and region.
    pub targets: Vec<targets::Target>,
    /// `[[chain]]`: functions that call each other, tuned under one end-to-end objective.
    pub chains: Vec<chains::Chain>,
    /// `[capacity]`: concurrency findings after the sweeps; None: not asked for.
    pub capacity: Option<capacity::CapacitySettings>,
}

/// `[serve]`; `memtune serve` flags win over these.
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    pub schedule: Option<Schedule>,
    pub listen: Option<std::net::SocketAddr>,
    /// The API token, when kept in the file rather than in MEMTUNE_API_TOKEN.
    pub token: Option<String>,
}

/// How each function is tuned unless an override says otherwise.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub strategy: Strategy,
    pub knobs: Knobs,
    pub cold_start_ratio: f64,
    /// Tune functions that have no configured payload with `{}`.
    pub allow_empty_payload: bool,
    pub seed: u64,
    /// A function tuned successfully less than this many days ago, and unchanged since, is
    /// not tuned again (0: always).
    pub retune_after_days: u32,
    /// `max_share`: the largest share of an alias's traffic a canary may get.
    pub max_share: f64,
    /// `max_error_increase` and `max_p99_increase`: when a canary is taken out.
    pub canary_limits: crate::tune::canary::backoff::BackOffLimits,
}

/// Settings both `[tuning]` and `[[function]]` may set; None means "not set here".
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    pub strategy: Option<Strategy>,
    /// Overrides the strategy's search mode.
    pub search: Option<SearchMode>,
    pub sizes: Option<Vec<u32>>,
    pub min_mb: Option<u32>,
    pub max_mb: Option<u32>,
    pub invocations: Option<u32>,
    pub warmup: Option<u32>,
    pub payloads: Option<Payloads>,
    /// The least time between two invocations of a function.
    pub min_interval: Option<Duration>,
    /// Function errors (by errorType) that count as successful invocations.
    pub allowed_errors: Option<Vec<String>>,
    /// `isolate = "clone"`: tuned on a temporary copy.
    pub isolation: Option<Isolation>,
    /// `staging_bucket = "..."`: where a copy's package over 50 MB is staged.
    pub staging_bucket: Option<String>,
    /// `architectures = ["x86_64", "arm64"]`: each swept, the other on a copy.
    pub architectures: Option<Vec<String>>,
    /// `cold_starts = true`: every sample on a fresh execution environment (grid only).
    pub cold_starts: Option<bool>,
    /// `traffic = "live:5%"`: tune on the alias's production traffic instead of test
    /// invocations (no payload needed).
    pub traffic: Option<crate::tune::canary::traffic::Traffic>,
}

/// What bounds the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Cap on invocations in flight across the fleet.
    pub max_in_flight: Option<u32>,
    /// Share of the account's unreserved concurrency the run may use.
    pub unreserved_fraction: f64,
    /// Share of a function's reserved concurrency left to production.
    pub reserved_margin: f64,
    /// Functions swept at the same time.
    pub concurrent_functions: u32,
    pub max_functions: Option<u32>,
    pub max_usd: Option<f64>,
    pub deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: None,
            unreserved_fraction: 0.10,
            reserved_margin: 0.20,
            concurrent_functions: 8,
            max_functions: None,
            max_usd: None,
            deadline: None,
        }
    }
}

/// One `[[function]]` entry.
#[derive(Debug, Clone)]
pub struct Override {
    pub name: Glob,
    pub knobs: Knobs,
    /// Why the function is not to be tuned, when `skip = true`.
    pub skip: Option<String>,
}

/// A problem at `key` of the section starting at byte `at`.
struct Problem {
    at: usize,
    key: &'static str,
    message: String,
}

fn problem(at: usize, key: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        at,
        key,
        message: message.into(),
    }
}

impl FleetConfig {
    pub fn load(path: &Path) -> Result<FleetConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: shown.clone(),
            source,
        })?;
        FleetConfig::parse(&text, &shown, path.parent())
    }

    /// Parses configuration text; relative file names resolve against `dir`.
    pub fn parse(text: &str, origin: &str, dir: Option<&Path>) -> Result<FleetConfig, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: origin.to_string(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().trim().to_string(),
        })?;
        let dir = dir.map(Path::to_path_buf).unwrap_or_default();
        check(raw, &dir).map_err(|p| ConfigError::Invalid {
            path: origin.to_string(),
            line: key_line(text, p.at, p.key),
            message: p.message,
        })
    }
}

fn check(raw: RawFile, dir: &Path) -> Result<FleetConfig, Problem> {
    let selection = match raw.select {
        Some(s) => {
            let at = s.span().start;
            check_select(s.into_inner(), at)?
        }
        None => Selection::default(),
    };
    let (tuning, tuning_at) = match raw.tuning {
        Some(t) => {
            let at = t.span().start;
            (check_tuning(t.into_inner(), at, dir)?, at)
        }
        None => (check_tuning(RawTuning::default(), 0, dir)?, 0),
    };
    let max_share = tuning.max_share;
    let limits = match raw.limits {
        Some(l) => {
            let at = l.span().start;
            check_limits(l.into_inner(), at)?
        }
        None => Limits::default(),
    };
    let overrides = raw
        .function
        .into_iter()
        .map(|o| {
            let at = o.span().start;
            check_override(o.into_inner(), at, dir, max_share).map(|o| (o, at))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let apply = match raw.apply {
        Some(a) => {
            let at = a.span().start;
            check_apply(a.into_inner(), at)?
        }
        None => ApplyPolicy::default(),
    };
    let serve = match raw.serve {
        Some(s) => {
            let at = s.span().start;
            check_serve(s.into_inner(), at)?
        }
        None => ServeSettings::default(),
    };
    let targets = raw
        .target
        .into_iter()
        .map(|t| {
            let at = t.span().start;
            targets::check_target(t.into_inner(), at).map(|t| (t, at))
        })
        .collect::<Result<Vec<_>, _>>()?;
    targets::check_distinct(&targets)?;
    if apply.mode == ApplyMode::Auto {
        let sections = std::iter::once((&tuning.knobs, tuning_at))
            .chain(overrides.iter().map(|(o, at)| (&o.knobs, *at)));
        if let Some((_, at)) = sections
            .into_iter()
            .find(|(k, _)| k.architectures.is_some())
        {
            return Err(problem(
                at,
                "architectures",
                "architectures may recommend another architecture, which [apply] mode = \"auto\" cannot apply \
                 (it needs a build of the code for it): use mode = \"propose\" and change the architecture in IaC",
            ));
        }
    }
    let chains = raw
        .chain
        .into_iter()
        .map(|c| {
            let at = c.span().start;
            chains::check_chain(c.into_inner(), at, dir, tuning.allow_empty_payload)
                .map(|c| (c, at))
        })
        .collect::<Result<Vec<_>, _>>()?;
    chains::check_distinct(&chains)?;
    let capacity = match raw.capacity {
        Some(c) => {
            let at = c.span().start;
            capacity::check_capacity(c.into_inner(), at)?
        }
        None => None,
    };
    Ok(FleetConfig {
        selection,
        tuning,
        limits,
        overrides: overrides.into_iter().map(|(o, _)| o).collect(),
        apply,
        serve,
        targets: targets.into_iter().map(|(t, _)| t).collect(),
        chains: chains.into_iter().map(|(c, _)| c).collect(),
        capacity,
    })
}

fn check_serve(raw: RawServe, at: usize) -> Result<ServeSettings, Problem> {
    let schedule = raw
        .schedule
        .as_deref()
        .map(Schedule::parse)
        .transpose()
        .map_err(|e| problem(at, "schedule", e.to_string()))?;
    let listen = raw
        .listen
        .as_deref()
        .map(|text| {
            crate::listen::parse(text).map_err(|e| problem(at, "listen", format!("listen = {e}")))
        })
        .transpose()?;
    if raw.token.as_deref() == Some("") {
        return Err(problem(
            at,
            "token",
            "token is empty; remove it to turn triggering over the API off",
        ));
    }
    Ok(ServeSettings {
        schedule,
        listen,
        token: raw.token,
    })
}

fn check_apply(raw: RawApply, at: usize) -> Result<ApplyPolicy, Problem> {
    let defaults = Guards::default();
    let mode = match raw.mode.as_deref() {
        None | Some("propose") => ApplyMode::Propose,
        Some("auto") => ApplyMode::Auto,
        Some(other) => {
            return Err(problem(
                at,
                "mode",
                format!("unknown apply mode '{other}': use \"propose\" or \"auto\""),
            ))
        }
    };
    let guards = Guards {
        min_monthly_savings_usd: raw
            .min_monthly_savings_usd
            .unwrap_or(defaults.min_monthly_savings_usd),
        max_p99_regression_pct: raw
            .max_p99_regression_pct
            .unwrap_or(defaults.max_p99_regression_pct),
        min_confidence: raw.min_confidence.unwrap_or(defaults.min_confidence),
    };
    if !guards.min_monthly_savings_usd.is_finite() {
        return Err(problem(
            at,
            "min_monthly_savings_usd",
            "min_monthly_savings_usd must be a number of USD",
        ));
    }
    if !(guards.max_p99_regression_pct.is_finite() && guards.max_p99_regression_pct >= 0.0) {
        return Err(problem(
            at,
            "max_p99_regression_pct",
            "max_p99_regression_pct must be a percentage >= 0",
        ));
    }
    if !(0.0..=1.0).contains(&guards.min_confidence) {
        return Err(problem(
            at,
            "min_confidence",
            "min_confidence must be within 0..=1",
        ));
    }
    if let Some(alias) = &raw.apply_via_alias {
        let valid = !alias.is_empty()
            && !alias.chars().all(|c| c.is_ascii_digit())
            && alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(problem(
                at,
                "apply_via_alias",
                format!("'{alias}' is not an alias name (letters, digits, - and _)"),
            ));
        }
    }
    Ok(ApplyPolicy {
        mode,
        guards,
        via_alias: raw.apply_via_alias,
    })
}

fn check_select(raw: RawSelect, at: usize) -> Result<Selection, Problem> {
    let name_regex = raw
        .name_regex
        .iter()
        .map(|r| {
            Regex::new(r).map_err(|e| problem(at, "name_regex", format!("bad regex '{r}': {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(bad) = raw
        .architectures
        .iter()
        .find(|a| !matches!(a.as_str(), "x86_64" | "arm64"))
    {
        return Err(problem(
            at,
            "architectures",
            format!("unknown architecture '{bad}': use \"x86_64\" or \"arm64\""),
        ));
    }
    let globs = |v: Vec<String>| v.iter().map(|s| Glob::new(s)).collect::<Vec<_>>();
    Ok(Selection {
        names: globs(raw.names),
        name_regex,
        runtimes: globs(raw.runtimes),
        architectures: raw.architectures,
        tags: raw
            .tags
            .into_iter()
            .map(|(k, v)| (k, Glob::new(&v)))
            .collect(),
        exclude: globs(raw.exclude),
    })
}

fn check_tuning(raw: RawTuning, at: usize, dir: &Path) -> Result<Tuning, Problem> {
    use crate::tune::canary::{backoff::BackOffLimits, traffic};
    let max_share = match &raw.max_share {
        None => traffic::DEFAULT_MAX_SHARE,
        Some(text) => traffic::parse_percent(text).ok_or_else(|| {
            problem(
                at,
                "max_share",
                format!("max_share = \"{text}\" is not a percentage above 0 and at most 100, e.g. \"10%\""),
            )
        })?,
    };
    let mut canary_limits = BackOffLimits::default();
    for (value, key, field) in [
        (
            raw.max_error_increase,
            "max_error_increase",
            &mut canary_limits.max_error_rate_increase,
        ),
        (
            raw.max_p99_increase,
            "max_p99_increase",
            &mut canary_limits.max_p99_increase,
        ),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v > 0.0) {
                return Err(problem(
                    at,
                    key,
                    format!("{key} must be a positive number of percent"),
                ));
            }
            *field = v / 100.0;
        }
    }
    let cold_start_ratio = raw.cold_start_ratio.unwrap_or(0.01);
    if !(0.0..=1.0).contains(&cold_start_ratio) {
        return Err(problem(
            at,
            "cold_start_ratio",
            "cold_start_ratio must be within 0..=1",
        ));
    }
    let mut knobs = check_knobs(
        RawKnobs {
            strategy: raw.strategy,
            search: raw.search,
            slo_ms: raw.slo_ms,
            sizes: raw.sizes,
            min_mb: raw.min_mb,
            max_mb: raw.max_mb,
            invocations: raw.invocations,
            warmup: raw.warmup,
            payload: raw.payload,
            payload_file: raw.payload_file,
            payloads_file: raw.payloads_file,
            min_interval_ms: raw.min_interval_ms,
            allowed_errors: raw.allowed_errors,
            isolate: raw.isolate,
            staging_bucket: raw.staging_bucket,
            architectures: raw.architectures,
            cold_starts: raw.cold_starts,
            traffic: raw.traffic,
        },
        at,
        dir,
        max_share,
    )?;
    let strategy = match knobs.strategy.take() {
        Some(s) => s,
        None => load_strategy(crate::strategy::DEFAULT_STRATEGY, None, at, dir)?,
    };
    let adaptive = knobs.search.unwrap_or(strategy.search.mode) == SearchMode::Adaptive;
    if knobs.cold_starts == Some(true) && adaptive && knobs.sizes.is_none() {
        return Err(problem(
            at,
            "cold_starts",
            format!(
                "cold_starts samples a grid, and strategy '{}' searches adaptively: set search = \"grid\" or sizes",
                strategy.name
            ),
        ));
    }
    Ok(Tuning {
        max_share,
        canary_limits,
        strategy,
        knobs,
        cold_start_ratio,
        allow_empty_payload: raw.allow_empty_payload.unwrap_or(false),
        seed: raw.seed.unwrap_or(1),
        retune_after_days: raw.retune_after_days.unwrap_or(14),
    })
}

fn check_limits(raw: RawLimits, at: usize) -> Result<Limits, Problem> {
    let defaults = Limits::default();
    let limits = Limits {
        max_in_flight: raw.max_in_flight,
        unreserved_fraction: raw
            .unreserved_fraction
            .unwrap_or(defaults.unreserved_fraction),
        reserved_margin: raw.reserved_margin.unwrap_or(defaults.reserved_margin),
        concurrent_functions: raw
            .concurrent_functions
            .unwrap_or(defaults.concurrent_functions),
        max_functions: raw.max_functions,
        max_usd: raw.max_usd,
        deadline: raw
            .deadline
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| problem(at, "deadline", m))?,
    };
    if limits.max_in_flight == Some(0) {
        return Err(problem(at, "max_in_flight", "max_in_flight must be >= 1"));
    }
    if !(limits.unreserved_fraction > 0.0 && limits.unreserved_fraction <= 1.0) {
        return Err(problem(
            at,
            "unreserved_fraction",
            "unreserved_fraction must be within 0 (exclusive) and 1",
        ));
    }
    if !(0.0..1.0).contains(&limits.reserved_margin) {
        return Err(problem(
            at,
            "reserved_margin",
            "reserved_margin must be within 0..1",
        ));
    }
    if !(1..=256).contains(&limits.concurrent_functions) {
        return Err(problem(
            at,
            "concurrent_functions",
            "concurrent_functions must be between 1 and 256",
        ));
    }
    if limits.max_functions == Some(0) {
        return Err(problem(at, "max_functions", "max_functions must be >= 1"));
    }
    if let Some(usd) = limits.max_usd {
        if !(usd.is_finite() && usd > 0.0) {
            return Err(problem(
                at,
                "max_usd",
                "max_usd must be a positive amount of USD",
            ));
        }
    }
    Ok(limits)
}

fn check_override(
    raw: RawOverride,
    at: usize,
    dir: &Path,
    max_share: f64,
) -> Result<Override, Problem> {
    if raw.name.is_empty() {
        return Err(problem(
            at,
            "name",
            "name must be a function name or a glob such as \"orders-*\"",
        ));
    }
    if raw.reason.is_some() && !raw.skip {
        return Err(problem(
            at,
            "reason",
            "reason explains a skip: set skip = true with it",
        ));
    }
    let knobs = check_knobs(
        RawKnobs {
            strategy: raw.strategy,
            search: raw.search,
            slo_ms: raw.slo_ms,
            sizes: raw.sizes,
            min_mb: raw.min_mb,
            max_mb: raw.max_mb,
            invocations: raw.invocations,
            warmup: raw.warmup,
            payload: raw.payload,
            payload_file: raw.payload_file,
            payloads_file: raw.payloads_file,
            min_interval_ms: raw.min_interval_ms,
            allowed_errors: raw.allowed_errors,
            isolate: raw.isolate,
            staging_bucket: raw.staging_bucket,
            architectures: raw.architectures,
            cold_starts: raw.cold_starts,
            traffic: raw.traffic,
        },
        at,
        dir,
        max_share,
    )?;
    Ok(Override {
        name: Glob::new(&raw.name),
        knobs,
        skip: raw.skip.then(|| {
            raw.reason
                .unwrap_or_else(|| "skip = true in the fleet config".into())
        }),
    })
}

fn check_knobs(raw: RawKnobs, at: usize, dir: &Path, max_share: f64) -> Result<Knobs, Problem> {
    let traffic = raw
        .traffic
        .as_deref()
        .map(|spec| {
            crate::tune::canary::traffic::parse(spec, max_share).map_err(|e| {
                problem(
                    at,
                    "traffic",
                    format!(
                        "traffic = \"{spec}\": {}",
                        e.replace("--traffic", "traffic =")
                            .replace("(--max-share)", "(max_share in [tuning])")
                    ),
                )
            })
        })
        .transpose()?;
    if let Some(slo) = raw.slo_ms {
        if !(slo.is_finite() && slo > 0.0) {
            return Err(problem(
                at,
                "slo_ms",
                "slo_ms must be a positive number of milliseconds",
            ));
        }
    }
    let strategy = match &raw.strategy {
        Some(name) => Some(load_strategy(name, raw.slo_ms, at, dir)?),
        None if raw.slo_ms.is_some() => {
            return Err(problem(
                at,
                "slo_ms",
                "slo_ms needs a strategy next to it (e.g. strategy = \"latency-slo\")",
            ))
        }
        None => None,
    };
    let valid = MIN_MEMORY_MB..=MAX_MEMORY_MB;
    if let Some(sizes) = &raw.sizes {
        if sizes.is_empty() {
            return Err(problem(
                at,
                "sizes",
                "sizes is empty: list sizes in MB, e.g. [128, 512, 1024]",
            ));
        }
        if let Some(bad) = sizes.iter().find(|s| !valid.contains(s)) {
            return Err(problem(
                at,
                "sizes",
                format!("memory size {bad} MB is outside Lambda's range {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"),
            ));
        }
    }
    for (key, value) in [("min_mb", raw.min_mb), ("max_mb", raw.max_mb)] {
        if let Some(v) = value.filter(|v| !valid.contains(v)) {
            return Err(problem(
                at,
                key,
                format!("{key} {v} is outside Lambda's range {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"),
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (raw.min_mb, raw.max_mb) {
        if lo > hi {
            return Err(problem(
                at,
                "min_mb",
                format!("min_mb {lo} is above max_mb {hi}"),
            ));
        }
    }
    if let Some(n) = raw.invocations.filter(|n| !(1..=1000).contains(n)) {
        return Err(problem(
            at,
            "invocations",
            format!("invocations {n} must be between 1 and 1000"),
        ));
    }
    if let Some(ms) = raw.min_interval_ms.filter(|ms| *ms > 3_600_000) {
        return Err(problem(
            at,
            "min_interval_ms",
            format!("min_interval_ms {ms} must be between 0 and 3600000 (an hour)"),
        ));
    }
    if let Some(n) = raw.warmup.filter(|n| *n > 100) {
        return Err(problem(
            at,
            "warmup",
            format!("warmup {n} must be between 0 and 100"),
        ));
    }
    let search = match raw.search.as_deref() {
        None => None,
        Some("grid") => Some(SearchMode::Grid),
        Some("adaptive") => Some(SearchMode::Adaptive),
        Some(other) => {
            return Err(problem(
                at,
                "search",
                format!("unknown search '{other}': use \"grid\" or \"adaptive\""),
            ))
        }
    };
    if raw.cold_starts == Some(true) {
        if search == Some(SearchMode::Adaptive) {
            return Err(problem(
                at,
                "cold_starts",
                "cold_starts samples a grid: set search = \"grid\" (or sizes) instead of \"adaptive\"",
            ));
        }
        if raw.warmup.is_some_and(|n| n > 0) {
            return Err(problem(
                at,
                "cold_starts",
                "cold_starts measures first invocations only: drop warmup",
            ));
        }
    }
    let isolation = match raw.isolate.as_deref() {
        None => None,
        Some("in-place") => Some(Isolation::InPlace),
        Some("clone") => Some(Isolation::Clone { architecture: None }),
        Some(other) => {
            return Err(problem(
                at,
                "isolate",
                format!("isolate = \"{other}\" is not \"in-place\" or \"clone\""),
            ))
        }
    };
    let architectures = raw
        .architectures
        .map(|listed| check_architectures(listed, at))
        .transpose()?;
    Ok(Knobs {
        strategy,
        search,
        sizes: raw.sizes,
        min_mb: raw.min_mb,
        max_mb: raw.max_mb,
        invocations: raw.invocations,
        warmup: raw.warmup,
        payloads: check_payloads(raw.payload, raw.payload_file, raw.payloads_file, at, dir)?,
        min_interval: raw.min_interval_ms.map(Duration::from_millis),
        allowed_errors: raw.allowed_errors,
        isolation,
        staging_bucket: raw.staging_bucket,
        architectures,
        cold_starts: raw.cold_starts,
        traffic,
    })
}

/// `architectures = [...]`: Lambda's two, each once, at least one.
fn check_architectures(listed: Vec<String>, at: usize) -> Result<Vec<String>, Problem> {
    if listed.is_empty() {
        return Err(problem(
            at,
            "architectures",
            "architectures is empty: list \"x86_64\", \"arm64\" or both",
        ));
    }
    let mut unique: Vec<String> = Vec::new();
    for a in listed {
        if !matches!(a.as_str(), "x86_64" | "arm64") {
            return Err(problem(
                at,
                "architectures",
                format!("unknown architecture '{a}': use \"x86_64\" or \"arm64\""),
            ));
        }
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    Ok(unique)
}

fn load_strategy(
    name: &str,
    slo_ms: Option<f64>,
    at: usize,
    dir: &Path,
) -> Result<Strategy, Problem> {
    let name_or_path = if Strategy::builtin_names().contains(&name) {
        name.to_string()
    } else {
        dir.join(name).display().to_string()
    };
    let strategy = Strategy::load(&name_or_path)
        .map_err(|e| problem(at, "strategy", e.to_string()))?
        .with_slo(slo_ms, None);
    if strategy.objective == Objective::LatencySlo && strategy.slo_ms.is_none() {
        return Err(problem(
            at,
            "strategy",
            format!(
                "strategy '{}' needs a latency target: set slo_ms next to it",
                strategy.name
            ),
        ));
    }
    if slo_ms.is_some() && strategy.objective != Objective::LatencySlo {
        return Err(problem(
            at,
            "slo_ms",
            format!(
                "slo_ms sets a latency target, which strategy '{}' does not use (it chooses \
                 by {}): use strategy = \"latency-slo\", or drop slo_ms",
                strategy.name,
                strategy.objective.as_str()
            ),
        ));
    }
    Ok(strategy)
}

/// `payload` (JSON text, or a TOML table or array taken as JSON), `payload_file` or
/// `payloads_file` (weighted, as `recommend --payloads`): at most one of them.
fn check_payloads(
    inline: Option<toml::Value>,
    file: Option<String>,
    weighted_file: Option<String>,
    at: usize,
    dir: &Path,
) -> Result<Option<Payloads>, Problem> {
    let read = |key: &'static str, name: &str| -> Result<String, Problem> {
        let path: PathBuf = dir.join(name);
        std::fs::read_to_string(&path)
            .map_err(|e| problem(at, key, format!("cannot read {}: {e}", path.display())))
    };
    let payloads = match (inline, file, weighted_file) {
        (None, None, None) => return Ok(None),
        (Some(value), None, None) => {
            let text = match value {
                toml::Value::String(s) => s,
                other => serde_json::to_string(&other)
                    .map_err(|e| problem(at, "payload", format!("payload cannot be JSON: {e}")))?,
            };
            Payloads::single(&text).map_err(|e| problem(at, "payload", e.to_string()))?
        }
        (None, Some(name), None) => Payloads::single(&read("payload_file", &name)?)
            .map_err(|e| problem(at, "payload_file", e.to_string()))?,
        (None, None, Some(name)) => Payloads::weighted(&read("payloads_file", &name)?)
            .map_err(|e| problem(at, "payloads_file", e.to_string()))?,
        _ => {
            return Err(problem(
                at,
                "payload",
                "set only one of payload, payload_file and payloads_file",
            ))
        }
    };
    Ok(Some(payloads))
}

/// `90s`, `45m`, `2h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad =
        || format!("deadline '{text}' is not a duration: use e.g. \"90s\", \"45m\" or \"2h\"");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    if seconds == 0 {
        return Err(format!("deadline '{text}' must be longer than 0"));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FleetConfig, String> {
        FleetConfig::parse(text, "fleet.toml", None).map_err(|e| e.to_string())
    }

    #[test]
    fn the_example_config_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let config = FleetConfig::load(&dir.join("fleet.example.toml")).unwrap();
        assert!(!config.overrides.is_empty());
        assert_eq!(config.tuning.strategy.name, "cost-guarded");
        assert_eq!(
            config.serve.schedule.as_ref().map(|s| s.text()),
            Some("0 3 * * *")
        );
    }

    #[test]
    fn defaults_apply_when_sections_are_missing() {
        let config = parse("").unwrap();
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.tuning.strategy.name, "cost-guarded");
        assert!(!config.tuning.allow_empty_payload);
        assert!(config.overrides.is_empty());
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let err = parse("[select]\nnames = [\"a\"]\n\n[limits]\nmax_inflight = 3\n").unwrap_err();
        assert!(err.starts_with("fleet.toml:5:"), "{err}");
        assert!(err.contains("max_inflight"), "{err}");
    }

    #[test]
    fn impossible_values_name_their_line() {
        let cases = [
            (
                "[limits]\nconcurrent_functions = 0\n",
                2,
                "concurrent_functions",
            ),
            ("[tuning]\nsizes = [64]\n", 2, "outside Lambda's range"),
            ("[select]\nname_regex = [\"(\"]\n", 2, "bad regex"),
            (
                "[tuning]\nstrategy = \"latency-slo\"\n",
                2,
                "needs a latency target",
            ),
            (
                "[tuning]\nstrategy = \"speed\"\nslo_ms = 100.0\n",
                3,
                "which strategy 'speed' does not use",
            ),
            ("[limits]\ndeadline = \"soon\"\n", 2, "not a duration"),
            ("[apply]\nmode = \"yolo\"\n", 2, "unknown apply mode"),
            ("[apply]\n\nmin_confidence = 1.5\n", 3, "min_confidence"),
            ("[apply]\napply_via_alias = \"1\"\n", 2, "not an alias name"),
            ("[serve]\nschedule = \"0 3 * *\"\n", 2, "has 4 fields"),
            ("[serve]\n\nlisten = \"localhost\"\n", 3, "not an address"),
            (
                "[[function]]\nname = \"a\"\n\n[[function]]\nname = \"b\"\npayload = \"{oops\"\n",
                6,
                "not valid JSON",
            ),
            (
                "[[function]]\nname = \"a\"\npayload = \"{}\"\npayload_file = \"x.json\"\n",
                3,
                "only one of",
            ),
            ("[capacity]\n\ndays = 30\n", 3, "use 1 to 14"),
            (
                "[capacity]\ncold_start_target = 0.01\np99_target_ms = 300.0\n",
                3,
                "not both",
            ),
            ("[capacity]\ncold_start_target = 1.5\n", 2, "within 0..1"),
            ("[capacity]\np99_target_ms = -1.0\n", 2, "positive number"),
            (
                "[capacity]\nmax_connections = 0\n",
                2,
                "max_connections must be >= 1",
            ),
            ("[capacity]\nnames = [\"\"]\n", 2, "empty pattern"),
            ("[capacity]\nquery_timeout_s = 0\n", 2, "between 1 and 3600"),
            ("[capacity]\nmax_conections = 5\n", 2, "unknown field"),
        ];
        for (text, line, expect) in cases {
            let err = parse(text).unwrap_err();
            assert!(
                err.starts_with(&format!("fleet.toml:{line}:")),
                "{text:?}: {err}"
            );
            assert!(err.contains(expect), "{text:?}: {err}");
        }
    }

    #[test]
    fn payloads_can_be_json_text_or_toml_tables() {
        let config = parse(
            "[[function]]\nname = \"a\"\npayload = '{\"id\": \"{{uuid}}\"}'\n\
             [[function]]\nname = \"b\"\npayload = { order = 42, items = [1, 2] }\n\
             [[function]]\nname = \"c\"\nskip = true\nreason = \"vendor code\"\n",
        )
        .unwrap();
        assert!(config.overrides[0].knobs.payloads.is_some());
        assert!(config.overrides[1].knobs.payloads.is_some());
        assert_eq!(config.overrides[2].skip.as_deref(), Some("vendor code"));
    }

    #[test]
    fn apply_and_retune_settings() {
        let config = parse(
            "[tuning]\nretune_after_days = 3\n[apply]\nmode = \"auto\"\nmin_monthly_savings_usd = 2.5\napply_via_alias = \"live\"\n",
        )
        .unwrap();
        assert_eq!(config.tuning.retune_after_days, 3);
        assert_eq!(config.apply.mode, ApplyMode::Auto);
        assert_eq!(config.apply.guards.min_monthly_savings_usd, 2.5);
        assert_eq!(config.apply.guards.min_confidence, 0.9);
        assert_eq!(config.apply.via_alias.as_deref(), Some("live"));
        let defaults = parse("").unwrap();
        assert_eq!(defaults.tuning.retune_after_days, 14);
        assert_eq!(defaults.apply, ApplyPolicy::default());
        let err = parse("[apply]\nmin_savings = 1\n").unwrap_err();
        assert!(err.starts_with("fleet.toml:2:"), "{err}");
    }

    #[test]
    fn capacity_defaults_targets_and_switching_off() {
        assert_eq!(parse("").unwrap().capacity, None);
        let c = parse("[capacity]\n").unwrap().capacity.unwrap();
        assert_eq!(c.days, 14);
        assert_eq!(
            c.target,
            crate::capacity::Target::ColdStartRate(crate::capacity::DEFAULT_COLD_START_TARGET)
        );
        assert!(c.covers("anything"));
        let c = parse(
            "[capacity]\ndays = 3\np99_target_ms = 250.0\nmax_connections = 40\nnames = [\"*-api\"]\n",
        )
        .unwrap()
        .capacity
        .unwrap();
        assert_eq!(c.days, 3);
        assert_eq!(c.target, crate::capacity::Target::P99Ms(250.0));
        assert_eq!(c.max_connections, Some(40));
        assert!(c.covers("orders-api") && !c.covers("orders-worker"));
        let off = parse("[capacity]\nenabled = false\ndays = 3\n").unwrap();
        assert_eq!(off.capacity, None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("45m").unwrap(), Duration::from_secs(2700));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("2").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn isolation_pauses_and_allowed_errors() {
        let config = parse(
            "[tuning]\nisolate = \"clone\"\nmin_interval_ms = 200\nallowed_errors = [\"NotFound\"]\n\
             [[function]]\nname = \"a\"\nmin_interval_ms = 50\n",
        )
        .unwrap();
        assert_eq!(
            config.tuning.knobs.isolation,
            Some(Isolation::Clone { architecture: None })
        );
        let knobs = &config.tuning.knobs;
        assert_eq!(knobs.min_interval, Some(Duration::from_millis(200)));
        assert_eq!(
            knobs.allowed_errors.as_deref(),
            Some(&["NotFound".to_string()][..])
        );
        assert_eq!(
            config.overrides[0].knobs.min_interval,
            Some(Duration::from_millis(50))
        );
        let err = parse("[tuning]\nisolate = \"copy\"\n").unwrap_err();
        assert!(err.contains("isolate = \"copy\" is not"), "{err}");
        let err = parse("[tuning]\nmin_interval_ms = 4000000\n").unwrap_err();
        assert!(err.contains("min_interval_ms 4000000"), "{err}");
    }

    #[test]
    fn functions_may_be_cloned_compared_across_architectures_and_cold_started() {
        let config = parse(
            "[tuning]\nsearch = \"grid\"\n\
             [[function]]\nname = \"api-*\"\nisolate = \"clone\"\narchitectures = [\"x86_64\", \"arm64\", \"arm64\"]\n\
             [[function]]\nname = \"login\"\ncold_starts = true\nsizes = [512, 1024]\n",
        )
        .unwrap();
        let api = &config.overrides[0].knobs;
        assert_eq!(api.isolation, Some(Isolation::Clone { architecture: None }));
        assert_eq!(
            api.architectures.as_deref(),
            Some(&["x86_64".to_string(), "arm64".to_string()][..]),
            "listed once each"
        );
        assert_eq!(config.overrides[1].knobs.cold_starts, Some(true));
        assert_eq!(config.tuning.knobs.isolation, None, "not set: in place");
    }

    #[test]
    fn isolation_architecture_and_cold_start_mistakes_name_their_line() {
        let cases = [
            (
                "[[function]]\nname = \"a\"\nisolate = \"copy\"\n",
                3,
                "isolate = \"copy\" is not \"in-place\" or \"clone\"",
            ),
            (
                "[[function]]\nname = \"a\"\narchitectures = [\"amd64\"]\n",
                3,
                "unknown architecture 'amd64'",
            ),
            (
                "[tuning]\narchitectures = []\n",
                2,
                "architectures is empty",
            ),
            (
                "[tuning]\ncold_starts = true\n",
                2,
                "cold_starts samples a grid, and strategy 'cost-guarded' searches adaptively",
            ),
            (
                "[[function]]\nname = \"a\"\nsearch = \"adaptive\"\ncold_starts = true\n",
                4,
                "cold_starts samples a grid",
            ),
            (
                "[[function]]\nname = \"a\"\nsizes = [512]\nwarmup = 2\ncold_starts = true\n",
                5,
                "drop warmup",
            ),
            (
                "[[function]]\nname = \"a\"\ncold_starts = \"yes\"\n",
                3,
                "invalid type",
            ),
            (
                "[apply]\nmode = \"auto\"\n[[function]]\nname = \"a\"\narchitectures = [\"arm64\"]\n",
                5,
                "cannot apply",
            ),
        ];
        for (text, line, expect) in cases {
            let err = parse(text).unwrap_err();
            assert!(
                err.starts_with(&format!("fleet.toml:{line}:")),
                "{text:?}: {err}"
            );
            assert!(err.contains(expect), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn traffic_per_function_with_a_cap_and_back_off_limits() {
        let config = parse(
            "[tuning]\nmax_share = \"8%\"\nmax_p99_increase = 30\n\
             [[function]]\nname = \"orders-*\"\ntraffic = \"live:2%\"\n\
             [[function]]\nname = \"billing\"\ntraffic = \"prod\"\n",
        )
        .unwrap();
        assert_eq!(config.tuning.max_share, 0.08);
        assert_eq!(config.tuning.canary_limits.max_p99_increase, 0.3);
        assert_eq!(config.tuning.canary_limits.max_error_rate_increase, 0.01);
        let t = config.overrides[0].knobs.traffic.as_ref().unwrap();
        assert_eq!((t.alias.as_str(), t.share), ("live", 0.02));
        assert_eq!(
            config.overrides[1].knobs.traffic.as_ref().unwrap().share,
            0.05
        );
        let err = parse(
            "[tuning]\nmax_share = \"4%\"\n[[function]]\nname = \"a\"\ntraffic = \"live:5%\"\n",
        )
        .unwrap_err();
        assert!(err.starts_with("fleet.toml:5:"), "{err}");
        assert!(err.contains("above the cap of 4%"), "{err}");
        assert!(err.contains("max_share in [tuning]"), "{err}");
        let err = parse("[tuning]\ntraffic = \"7\"\n").unwrap_err();
        assert!(err.contains("traffic = \"7\""), "{err}");
        let err = parse("[tuning]\nmax_error_increase = -1\n").unwrap_err();
        assert!(err.contains("max_error_increase must be"), "{err}");
    }
}
