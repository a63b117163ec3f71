//! Function profiles: the simulated functions a lab serves, as TOML (the file `memtune lab
//! --fleet` names; not the tuner's fleet, `memtune::fleet`).
//!
//! A profile file holds `[[function]]` tables (a function's configuration, its `workload` and
//! its production `traffic`) and may `include` other profile files, relative to itself. Unknown
//! keys and impossible values are rejected with the file and line they stand on.

use memtune_facts::toml_lines::{key_line, line_of};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::chain::{self, Call};
use super::environments::Environments;
use super::measured::MeasuredCurve;
use super::production::{self, Live, RequestClass};
use super::workload::Workload;
use memtune_facts::{Architecture, MAX_MEMORY_MB, MIN_MEMORY_MB};

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
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
    #[error("{path}: no *.toml fleet file in this directory")]
    EmptyDirectory { path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LogFormat {
    #[default]
    Text,
    #[serde(rename = "JSON")]
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        }
    }
}

/// Production traffic the lab backfills into CloudWatch for the 14 days before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    #[serde(default)]
    pub requests_per_day: f64,
    /// Relative swing of the daily cycle: 0 = flat, 0.5 = peak 1.5x, trough 0.5x the mean.
    #[serde(default)]
    pub daily_amplitude: f64,
    /// Hour of the day (UTC) with the most traffic.
    #[serde(default = "default_peak_hour")]
    pub peak_hour_utc: f64,
    /// Fraction of production invocations that start a new execution environment (without
    /// `environments`; with it, cold starts follow from concurrency).
    #[serde(default = "default_cold_ratio")]
    pub cold_start_ratio: f64,
    /// Bursts a day, each at a seeded minute: `burst_minutes` at `burst_factor` times the mean
    /// rate, on top of `requests_per_day`.
    #[serde(default)]
    pub bursts_per_day: u32,
    #[serde(default = "default_burst_factor")]
    pub burst_factor: f64,
    #[serde(default = "default_burst_minutes")]
    pub burst_minutes: u32,
    /// Execution environments minute by minute: cold starts, provisioned concurrency and
    /// throttles follow from arrivals and durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Environments>,
}

fn default_burst_factor() -> f64 {
    1.0
}
fn default_burst_minutes() -> u32 {
    1
}

fn default_peak_hour() -> f64 {
    15.0
}
fn default_cold_ratio() -> f64 {
    0.01
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            requests_per_day: 0.0,
            daily_amplitude: 0.0,
            peak_hour_utc: default_peak_hour(),
            cold_start_ratio: default_cold_ratio(),
            bursts_per_day: 0,
            burst_factor: default_burst_factor(),
            burst_minutes: default_burst_minutes(),
            environments: None,
        }
    }
}

/// One simulated function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionProfile {
    pub name: String,
    #[serde(default = "default_runtime")]
    pub runtime: String,
    #[serde(default = "default_arch")]
    pub architecture: Architecture,
    /// Configured memory size, in MB.
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default = "default_package_type")]
    pub package_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub workload: Workload,
    /// A measured duration curve, in place of `workload`'s physics (`measured`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<MeasuredCurve>,
    #[serde(default)]
    pub traffic: Traffic,
    /// false: the code has a native dependency built for `architecture` only, so a copy of
    /// the function on the other architecture fails at INIT.
    #[serde(default = "portable_by_default")]
    pub portable: bool,
    /// The size of the .zip package in MB (default: a few bytes), for code too large to
    /// send to CreateFunction inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_mb: Option<u32>,
    /// Production's request classes; a test event runs `workload` (see `production`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production_mix: Vec<RequestClass>,
    /// Traffic the lab sends through an alias while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Live>,
    /// Synchronous calls to other functions of the lab, in stages (`chain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Call>,
}

fn portable_by_default() -> bool {
    true
}

fn default_runtime() -> String {
    "python3.12".into()
}
fn default_arch() -> Architecture {
    Architecture::X86_64
}
fn default_memory() -> u32 {
    128
}
fn default_timeout() -> u32 {
    3
}
fn default_package_type() -> String {
    "Zip".into()
}

impl FunctionProfile {
    pub fn timeout_ms(&self) -> f64 {
        self.timeout_s as f64 * 1000.0
    }

    /// The first impossible value, as (key, message).
    pub(crate) fn validate(&self) -> Option<(&'static str, String)> {
        let bad = |key: &'static str, msg: &str| Some((key, msg.to_string()));
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad(
                "name",
                "name must be 1-64 letters, digits, hyphens or underscores",
            );
        }
        if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&self.memory_mb) {
            return bad("memory_mb", "memory_mb must be between 128 and 10240");
        }
        if !(1..=900).contains(&self.timeout_s) {
            return bad("timeout_s", "timeout_s must be between 1 and 900 seconds");
        }
        if !matches!(self.package_type.as_str(), "Zip" | "Image") {
            return bad("package_type", "package_type must be \"Zip\" or \"Image\"");
        }
        let problem = match &self.curve {
            Some(_) if self.workload != Workload::default() => bad(
                "curve",
                "a function has either [function.workload] or [function.curve], not both",
            ),
            Some(curve) => curve.validate(),
            None => Self::workload_problem(&self.workload),
        };
        problem
            .or_else(|| self.validate_traffic())
            .or_else(|| self.validate_production())
            .or_else(|| self.calls.iter().find_map(Call::validate))
    }

    fn validate_production(&self) -> Option<(&'static str, String)> {
        if self.curve.is_some() && !self.production_mix.is_empty() {
            return Some((
                "production_mix",
                "a production_mix needs [function.workload], not [function.curve]".into(),
            ));
        }
        self.production_mix
            .iter()
            .find_map(|c| Self::workload_problem(&c.workload))
            .or_else(|| production::validate(&self.production_mix, self.live.as_ref()))
    }

    fn workload_problem(w: &Workload) -> Option<(&'static str, String)> {
        let bad = |key: &'static str, msg: &str| Some((key, msg.to_string()));
        let checks: [(&'static str, f64, f64, f64); 13] = [
            ("cpu_ms", w.cpu_ms, 0.0, 1e8),
            ("parallel_fraction", w.parallel_fraction, 0.0, 1.0),
            ("io_ms", w.io_ms, 0.0, 1e8),
            ("transfer_mb", w.transfer_mb, 0.0, 1e6),
            ("bandwidth_mb_s", w.bandwidth_mb_s, 1e-3, 1e6),
            (
                "working_set_mb",
                w.working_set_mb,
                1.0,
                MAX_MEMORY_MB as f64 * 2.0,
            ),
            ("gc_pressure", w.gc_pressure, 0.0, 100.0),
            ("arm64_cpu_factor", w.arm64_cpu_factor, 0.1, 10.0),
            ("init_ms", w.init_ms, 0.0, 1e7),
            ("init_cpu_fraction", w.init_cpu_fraction, 0.0, 1.0),
            ("noise_cv", w.noise_cv, 0.0, 5.0),
            ("outlier_rate", w.outlier_rate, 0.0, 1.0),
            ("error_rate", w.error_rate, 0.0, 1.0),
        ];
        for (key, value, lo, hi) in checks {
            if !value.is_finite() || value < lo || value > hi {
                return Some((key, format!("{key} = {value} is outside {lo}..={hi}")));
            }
        }
        let mut previous = 0;
        for &(memory_mb, cv) in &w.noise_cv_by_memory {
            if memory_mb <= previous || !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb) {
                return bad(
                    "noise_cv_by_memory",
                    "noise_cv_by_memory sizes must rise strictly within 128..=10240 MB",
                );
            }
            if !(0.0..=5.0).contains(&cv) {
                return Some((
                    "noise_cv_by_memory",
                    format!("noise_cv_by_memory: cv {cv} at {memory_mb} MB is outside 0..=5"),
                ));
            }
            previous = memory_mb;
        }
        let mut previous = 0;
        for &(memory_mb, rate) in &w.error_rate_by_memory {
            if memory_mb <= previous || !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb) {
                return bad(
                    "error_rate_by_memory",
                    "error_rate_by_memory sizes must rise strictly within 128..=10240 MB",
                );
            }
            if !(0.0..=1.0).contains(&rate) {
                return Some((
                    "error_rate_by_memory",
                    format!("error_rate_by_memory: rate {rate} at {memory_mb} MB is outside 0..=1"),
                ));
            }
            previous = memory_mb;
        }
        let mut previous = 0;
        for &(memory_mb, factor) in &w.duration_factor_by_memory {
            if memory_mb <= previous || !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb) {
                return bad(
                    "duration_factor_by_memory",
                    "duration_factor_by_memory sizes must rise strictly within 128..=10240 MB",
                );
            }
            if !(factor > 0.0 && factor <= 100.0) {
                return Some((
                    "duration_factor_by_memory",
                    format!(
                        "duration_factor_by_memory: factor {factor} at {memory_mb} MB is outside \
                         0..=100 (0 excluded)"
                    ),
                ));
            }
            previous = memory_mb;
        }
        if w.outlier_factor < 1.0 || !w.outlier_factor.is_finite() {
            return bad("outlier_factor", "outlier_factor must be >= 1");
        }
        if w.threads == 0 {
            return bad("threads", "threads must be >= 1");
        }
        if w.cpu_ms + w.io_ms + w.transfer_mb <= 0.0 {
            return bad(
                "cpu_ms",
                "the workload does nothing: set cpu_ms, io_ms or transfer_mb",
            );
        }
        None
    }

    fn validate_traffic(&self) -> Option<(&'static str, String)> {
        let bad = |key: &'static str, msg: &str| Some((key, msg.to_string()));
        let t = &self.traffic;
        if !(t.requests_per_day >= 0.0 && t.requests_per_day.is_finite()) {
            return bad("requests_per_day", "requests_per_day must be >= 0");
        }
        if !(0.0..=1.0).contains(&t.daily_amplitude) {
            return bad("daily_amplitude", "daily_amplitude must be within 0..=1");
        }
        if !(0.0..=1.0).contains(&t.cold_start_ratio) {
            return bad("cold_start_ratio", "cold_start_ratio must be within 0..=1");
        }
        if !(0.0..24.0).contains(&t.peak_hour_utc) {
            return bad("peak_hour_utc", "peak_hour_utc must be within 0..24");
        }
        if t.bursts_per_day > 96 {
            return bad("bursts_per_day", "bursts_per_day must be within 0..=96");
        }
        if !(1.0..=1000.0).contains(&t.burst_factor) {
            return bad("burst_factor", "burst_factor must be within 1..=1000");
        }
        if !(1..=60).contains(&t.burst_minutes) {
            return bad("burst_minutes", "burst_minutes must be within 1..=60");
        }
        t.environments.as_ref().and_then(Environments::validate)
    }
}

/// Account-wide settings of the simulated account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    #[serde(default = "default_concurrency")]
    pub concurrent_executions: u32,
    #[serde(default = "default_account")]
    pub account_id: String,
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_concurrency() -> u32 {
    1000
}
fn default_account() -> String {
    "123456789012".into()
}
fn default_region() -> String {
    "us-east-1".into()
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            concurrent_executions: default_concurrency(),
            account_id: default_account(),
            region: default_region(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    account: Option<AccountSettings>,
    #[serde(default)]
    function: Vec<toml::Spanned<FunctionProfile>>,
}

/// A loaded set of profiles: the account settings and every function, in file order.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    pub account: AccountSettings,
    pub functions: Vec<FunctionProfile>,
}

impl ProfileSet {
    /// Loads a profile file, or every `*.toml` file of a directory in name order, as if one file
    /// included them all (a function defined twice is an error either way).
    pub fn load(path: &Path) -> Result<ProfileSet, ProfileError> {
        let mut profiles = ProfileSet::default();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        if path.is_dir() {
            for file in profile_files(path)? {
                load_into(&file, &mut profiles, &mut seen, 0)?;
            }
        } else {
            load_into(path, &mut profiles, &mut seen, 0)?;
        }
        check_calls(&profiles, &seen)?;
        Ok(profiles)
    }

    /// Parses profile text that has no includes (tests, embedded profile sets).
    pub fn parse(text: &str, origin: &str) -> Result<ProfileSet, ProfileError> {
        let mut profiles = ProfileSet::default();
        let mut seen = BTreeMap::new();
        parse_into(text, origin, None, &mut profiles, &mut seen, 0)?;
        check_calls(&profiles, &seen)?;
        Ok(profiles)
    }

    pub fn function(&self, name: &str) -> Option<&FunctionProfile> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// Every callee exists and the calls form no cycle; the error stands on the caller's
/// `[[function]]` line (`seen` holds each function's `file:line`).
fn check_calls(profiles: &ProfileSet, seen: &BTreeMap<String, String>) -> Result<(), ProfileError> {
    let graph = profiles
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.calls.as_slice()));
    let Some((function, message)) = chain::check_call_graph(graph) else {
        return Ok(());
    };
    let here = seen.get(&function).cloned().unwrap_or_default();
    let (path, line) = here.rsplit_once(':').unwrap_or((here.as_str(), "1"));
    Err(ProfileError::Invalid {
        path: path.to_string(),
        line: line.parse().unwrap_or(1),
        message,
    })
}

/// The `*.toml` files of a directory, in name order.
fn profile_files(dir: &Path) -> Result<Vec<PathBuf>, ProfileError> {
    let shown = dir.display().to_string();
    let io = |source| ProfileError::Io {
        path: shown.clone(),
        source,
    };
    let mut files = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<PathBuf>, _>>()
        .map_err(io)?;
    files.retain(|f| f.is_file() && f.extension().is_some_and(|e| e == "toml"));
    files.sort();
    if files.is_empty() {
        return Err(ProfileError::EmptyDirectory { path: shown });
    }
    Ok(files)
}

fn load_into(
    path: &Path,
    profiles: &mut ProfileSet,
    seen: &mut BTreeMap<String, String>,
    depth: usize,
) -> Result<(), ProfileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: shown.clone(),
        source,
    })?;
    parse_into(&text, &shown, path.parent(), profiles, seen, depth)
}

fn parse_into(
    text: &str,
    origin: &str,
    dir: Option<&Path>,
    profiles: &mut ProfileSet,
    seen: &mut BTreeMap<String, String>,
    depth: usize,
) -> Result<(), ProfileError> {
    let invalid = |line: usize, message: String| ProfileError::Invalid {
        path: origin.to_string(),
        line,
        message,
    };
    if depth > 8 {
        return Err(invalid(
            1,
            "includes nest deeper than 8 files (a cycle?)".into(),
        ));
    }
    let file: ProfileFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        invalid(line, e.message().trim().to_string())
    })?;
    if let Some(account) = file.account {
        if account.concurrent_executions == 0 {
            return Err(invalid(
                key_line(text, 0, "concurrent_executions"),
                "concurrent_executions must be >= 1".into(),
            ));
        }
        profiles.account = account;
    }
    for include in &file.include {
        let base = dir.map(Path::to_path_buf).unwrap_or_default();
        let target: PathBuf = base.join(include);
        load_into(&target, profiles, seen, depth + 1).map_err(|e| match e {
            ProfileError::Io { source, .. } => invalid(
                key_line(text, 0, "include"),
                format!("cannot read included file {}: {source}", target.display()),
            ),
            other => other,
        })?;
    }
    for spanned in file.function {
        let start = spanned.span().start;
        let profile = spanned.into_inner();
        if let Some((key, message)) = profile.validate() {
            return Err(invalid(
                key_line(text, start, key),
                format!("function '{}': {message}", profile.name),
            ));
        }
        let here = format!("{origin}:{}", line_of(text, start));
        if let Some(first) = seen.insert(profile.name.clone(), here) {
            return Err(invalid(
                key_line(text, start, "name"),
                format!(
                    "function '{}' is defined twice (first at {first})",
                    profile.name
                ),
            ));
        }
        profiles.functions.push(profile);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_function_with_defaults() {
        let profiles = ProfileSet::parse(
            "[[function]]\nname = \"a\"\nmemory_mb = 512\n[function.workload]\ncpu_ms = 100.0\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(profiles.functions.len(), 1);
        assert_eq!(profiles.functions[0].memory_mb, 512);
        assert_eq!(profiles.functions[0].workload.threads, 1);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let err = ProfileSet::parse(
            "[[function]]\nname = \"a\"\n\n[function.workload]\ncpu_msx = 100.0\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("t.toml:5:"), "{err}");
        assert!(err.contains("cpu_msx"), "{err}");
    }

    /// The error for a function whose workload has `cpu_ms = 1.0` and then the line `key`
    /// (line 5 of t.toml).
    fn workload_error(key: &str) -> String {
        let text =
            format!("[[function]]\nname = \"a\"\n[function.workload]\ncpu_ms = 1.0\n{key}\n");
        ProfileSet::parse(&text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn impossible_value_names_its_line() {
        assert_eq!(
            workload_error("noise_cv = -1.0"),
            "t.toml:5: function 'a': noise_cv = -1 is outside 0..=5"
        );
    }

    #[test]
    fn a_noise_table_must_rise_in_memory() {
        assert_eq!(
            workload_error("noise_cv_by_memory = [[1024, 0.3], [512, 0.6]]"),
            "t.toml:5: function 'a': noise_cv_by_memory sizes must rise strictly within \
             128..=10240 MB"
        );
    }

    #[test]
    fn a_noise_tables_cv_must_be_in_range() {
        assert_eq!(
            workload_error("noise_cv_by_memory = [[512, 0.6], [1024, 7.0]]"),
            "t.toml:5: function 'a': noise_cv_by_memory: cv 7 at 1024 MB is outside 0..=5"
        );
    }

    #[test]
    fn a_duration_factor_table_must_rise_in_memory_with_positive_factors() {
        assert_eq!(
            workload_error("duration_factor_by_memory = [[1024, 1.0], [1024, 0.6]]"),
            "t.toml:5: function 'a': duration_factor_by_memory sizes must rise strictly within \
             128..=10240 MB"
        );
        assert_eq!(
            workload_error("duration_factor_by_memory = [[512, 1.0], [1024, 0.0]]"),
            "t.toml:5: function 'a': duration_factor_by_memory: factor 0 at 1024 MB is outside \
             0..=100 (0 excluded)"
        );
    }

    #[test]
    fn a_directory_loads_its_toml_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let function = |name: &str| {
            format!("[[function]]\nname = \"{name}\"\n[function.workload]\ncpu_ms = 1.0\n")
        };
        std::fs::write(dir.path().join("b.toml"), function("second")).unwrap();
        std::fs::write(dir.path().join("a.toml"), function("first")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a fleet").unwrap();
        let profiles = ProfileSet::load(dir.path()).unwrap();
        let names: Vec<&str> = profiles.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        // A name in two files is an error, as within one.
        std::fs::write(dir.path().join("c.toml"), function("first")).unwrap();
        let err = ProfileSet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("function 'first' is defined twice"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let err = ProfileSet::load(empty.path()).unwrap_err().to_string();
        assert!(
            err.ends_with(": no *.toml fleet file in this directory"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let text = "[[function]]\nname = \"a\"\n[function.workload]\ncpu_ms = 1.0\n\
                    [[function]]\nname = \"a\"\n[function.workload]\ncpu_ms = 1.0\n";
        let err = ProfileSet::parse(text, "t.toml").unwrap_err().to_string();
        assert!(err.contains("defined twice"), "{err}");
        assert!(err.starts_with("t.toml:6:"), "{err}");
    }
}
