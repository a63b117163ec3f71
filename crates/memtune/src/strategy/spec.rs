//! Strategy files: what to optimise, how to search and how strict the statistics are.
//!
//! The built-in strategies live in `strategies/*.toml` and are compiled in, so the binary
//! works from any directory; `--strategy PATH` loads a user's file instead. Unknown keys and
//! impossible values are rejected with the file and line they stand on.

use memtune_facts::toml_lines::{key_line, line_of};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::measure::{Percentile, StatsOptions};
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};

/// The strategy `recommend`, `fleet`, `demo` and `serve` use when none is named.
pub const DEFAULT_STRATEGY: &str = "cost-guarded";

const BUILTIN: [(&str, &str); 5] = [
    (
        "balanced",
        include_str!("../../../../strategies/balanced.toml"),
    ),
    ("cost", include_str!("../../../../strategies/cost.toml")),
    (
        "cost-guarded",
        include_str!("../../../../strategies/cost-guarded.toml"),
    ),
    (
        "latency-slo",
        include_str!("../../../../strategies/latency-slo.toml"),
    ),
    ("speed", include_str!("../../../../strategies/speed.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
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
    #[error("unknown strategy '{name}': the built-in strategies are {known}; or give the path of a strategy file")]
    Unknown { name: String, known: String },
}

/// What a strategy optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Cheapest cost per invocation.
    Cost,
    /// Fastest trimmed-mean duration.
    Speed,
    /// Weighted sum of normalised cost and duration (Power Tuning's `balanced`).
    Balanced,
    /// Cheapest size whose latency percentile meets an SLO.
    LatencySlo,
}

impl Objective {
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Cost => "cost",
            Objective::Speed => "speed",
            Objective::Balanced => "balanced",
            Objective::LatencySlo => "latency-slo",
        }
    }
}

/// A tuning strategy, as a strategy file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub objective: Objective,
    /// `cost`, `latency-slo`: among sizes within this fraction of the cheapest, take the fastest.
    #[serde(default = "default_cost_tolerance")]
    pub cost_tolerance: f64,
    /// `speed`: the smallest size within this fraction of the fastest.
    #[serde(default = "default_speed_tolerance")]
    pub speed_tolerance: f64,
    /// `balanced`: weight of cost against duration, 0..=1.
    #[serde(default = "default_balanced_weight")]
    pub balanced_weight: f64,
    /// Latency SLO in ms; required by `latency-slo`, reported on by the others when set.
    #[serde(default)]
    pub slo_ms: Option<f64>,
    #[serde(default = "default_slo_percentile")]
    pub slo_percentile: Percentile,
    /// A size must be at least this multiple of its max memory used.
    #[serde(default = "default_memory_headroom")]
    pub memory_headroom: f64,
    /// A size whose warm p99 exceeds this fraction of the timeout is infeasible.
    #[serde(default = "default_timeout_fraction")]
    pub timeout_fraction: f64,
    /// Fraction dropped from each end for the trimmed mean.
    #[serde(default = "default_trim_fraction")]
    pub trim_fraction: f64,
    /// Confidence level of intervals and bounds.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// Latency guard: a size whose measured p99 is more than this fraction above the current
    /// size's measured p99 is not recommended, unless the current size is unsafe. None: no
    /// guard.
    #[serde(default)]
    pub max_p99_increase: Option<f64>,
    /// The same for the median: a size whose measured p50 is more than this fraction above
    /// the current size's is not recommended either (a p99 from a few samples can hide a
    /// doubled median). None: no guard on it.
    #[serde(default)]
    pub max_p50_increase: Option<f64>,
    /// Minimum change: a change that neither saves this fraction of the cost per invocation
    /// nor cuts this fraction of the duration keeps the current size. 0: any change counts.
    #[serde(default)]
    pub min_change: f64,
    /// Minimum change in USD per month (with production's monthly invocations): a saving below
    /// it that is not also faster by `min_change` keeps the current size. 0: any saving counts.
    #[serde(default)]
    pub min_change_usd_per_month: f64,
    #[serde(default)]
    pub search: Search,
}

/// How the sweep chooses memory sizes and how often it invokes each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(default)]
    pub mode: SearchMode,
    /// The sizes of a grid search (adaptive search starts from them).
    #[serde(default = "default_sizes")]
    pub sizes: Vec<u32>,
    /// Measured invocations per size.
    #[serde(default = "default_invocations")]
    pub invocations: u32,
    /// Invocations per size before measuring (they absorb the cold start).
    #[serde(default = "default_warmup")]
    pub warmup: u32,
    #[serde(default = "default_min_mb")]
    pub min_mb: u32,
    #[serde(default = "default_max_mb")]
    pub max_mb: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Fit a duration curve and refine around its optimum.
    #[default]
    Adaptive,
    /// Measure exactly the listed sizes (Power Tuning's behaviour).
    Grid,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            mode: SearchMode::default(),
            sizes: default_sizes(),
            invocations: default_invocations(),
            warmup: default_warmup(),
            min_mb: default_min_mb(),
            max_mb: default_max_mb(),
        }
    }
}

fn default_cost_tolerance() -> f64 {
    0.02
}
fn default_speed_tolerance() -> f64 {
    0.05
}
fn default_balanced_weight() -> f64 {
    0.5
}
fn default_slo_percentile() -> Percentile {
    Percentile::P99
}
fn default_memory_headroom() -> f64 {
    1.2
}
fn default_timeout_fraction() -> f64 {
    0.667
}
fn default_trim_fraction() -> f64 {
    0.2
}
fn default_confidence() -> f64 {
    0.95
}
fn default_sizes() -> Vec<u32> {
    vec![128, 256, 512, 1024, 1536, 3008]
}
fn default_invocations() -> u32 {
    10
}
fn default_warmup() -> u32 {
    1
}
fn default_min_mb() -> u32 {
    MIN_MEMORY_MB
}
fn default_max_mb() -> u32 {
    MAX_MEMORY_MB
}

impl Strategy {
    /// Loads a built-in strategy by name, or a strategy file by path.
    pub fn load(name_or_path: &str) -> Result<Strategy, StrategyError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Strategy::parse(text, &format!("strategies/{name}.toml (built in)"));
        }
        let path = Path::new(name_or_path);
        let looks_like_path = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml");
        if !looks_like_path && !path.exists() {
            return Err(StrategyError::Unknown {
                name: name_or_path.to_string(),
                known: Strategy::builtin_names().join(", "),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| StrategyError::Io {
            path: name_or_path.to_string(),
            source,
        })?;
        Strategy::parse(&text, name_or_path)
    }

    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// Parses and validates a strategy file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Strategy, StrategyError> {
        let invalid = |line: usize, message: String| StrategyError::Invalid {
            path: origin.to_string(),
            line,
            message,
        };
        let strategy: Strategy = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, e.message().trim().to_string())
        })?;
        if let Some((key, message)) = strategy.problem() {
            let from = match key {
                Key::Top(_) => 0,
                Key::Search(_) => text.find("[search]").unwrap_or(0),
            };
            return Err(invalid(key_line(text, from, key.name()), message));
        }
        Ok(strategy)
    }

    /// Whether a latency guard (`max_p99_increase`, `max_p50_increase`) holds sizes back.
    pub fn guards_latency(&self) -> bool {
        self.max_p99_increase.is_some() || self.max_p50_increase.is_some()
    }

    /// Applies `--slo-ms` / `--slo-percentile`.
    pub fn with_slo(mut self, slo_ms: Option<f64>, percentile: Option<Percentile>) -> Strategy {
        self.slo_ms = slo_ms.or(self.slo_ms);
        self.slo_percentile = percentile.unwrap_or(self.slo_percentile);
        self
    }

    /// Statistics settings for a function with the given timeout.
    pub fn stats_options(&self, timeout_ms: f64) -> StatsOptions {
        StatsOptions {
            trim_fraction: self.trim_fraction,
            timeout_fraction: self.timeout_fraction,
            confidence: self.confidence,
            ..StatsOptions::new(timeout_ms)
        }
    }

    /// The first impossible value, with the key it stands on.
    fn problem(&self) -> Option<(Key, String)> {
        let fraction = |key: &'static str, x: f64, lo: f64, hi: f64| {
            (!(lo..=hi).contains(&x))
                .then(|| (Key::Top(key), format!("{key} = {x} is outside {lo}..={hi}")))
        };
        if self.name.trim().is_empty() {
            return Some((Key::Top("name"), "name must not be empty".into()));
        }
        fraction("cost_tolerance", self.cost_tolerance, 0.0, 1.0)
            .or_else(|| fraction("speed_tolerance", self.speed_tolerance, 0.0, 1.0))
            .or_else(|| fraction("balanced_weight", self.balanced_weight, 0.0, 1.0))
            .or_else(|| fraction("memory_headroom", self.memory_headroom, 1.0, 10.0))
            .or_else(|| fraction("timeout_fraction", self.timeout_fraction, 0.01, 1.0))
            .or_else(|| fraction("trim_fraction", self.trim_fraction, 0.0, 0.49))
            .or_else(|| fraction("confidence", self.confidence, 0.5, 0.999))
            .or_else(|| {
                let guard = self.max_p99_increase?;
                fraction("max_p99_increase", guard, 0.0, 10.0)
            })
            .or_else(|| {
                let guard = self.max_p50_increase?;
                fraction("max_p50_increase", guard, 0.0, 10.0)
            })
            .or_else(|| fraction("min_change", self.min_change, 0.0, 1.0))
            .or_else(|| {
                let usd = self.min_change_usd_per_month;
                (!(usd.is_finite() && usd >= 0.0)).then(|| {
                    (
                        Key::Top("min_change_usd_per_month"),
                        format!("min_change_usd_per_month = {usd} must be 0 or more USD"),
                    )
                })
            })
            .or_else(|| self.slo_problem())
            .or_else(|| self.search.problem())
    }

    fn slo_problem(&self) -> Option<(Key, String)> {
        let ms = self.slo_ms?;
        (!(ms.is_finite() && ms > 0.0)).then(|| {
            (
                Key::Top("slo_ms"),
                format!("slo_ms = {ms} must be a positive number of ms"),
            )
        })
    }
}

impl Search {
    fn problem(&self) -> Option<(Key, String)> {
        let lambda = MIN_MEMORY_MB..=MAX_MEMORY_MB;
        if !lambda.contains(&self.min_mb) {
            return Some((
                Key::Search("min_mb"),
                format!(
                    "min_mb = {} is outside {MIN_MEMORY_MB}..={MAX_MEMORY_MB}",
                    self.min_mb
                ),
            ));
        }
        if !lambda.contains(&self.max_mb) || self.max_mb < self.min_mb {
            return Some((
                Key::Search("max_mb"),
                format!(
                    "max_mb = {} is outside min_mb..={MAX_MEMORY_MB}",
                    self.max_mb
                ),
            ));
        }
        let range = self.min_mb..=self.max_mb;
        if let Some(size) = self.sizes.iter().find(|s| !range.contains(s)) {
            return Some((
                Key::Search("sizes"),
                format!(
                    "size {size} MB is outside min_mb..=max_mb ({}..={})",
                    self.min_mb, self.max_mb
                ),
            ));
        }
        if self.sizes.is_empty() || self.sizes.windows(2).any(|w| w[0] >= w[1]) {
            return Some((
                Key::Search("sizes"),
                "sizes must be a non-empty, strictly ascending list".into(),
            ));
        }
        (self.invocations == 0).then(|| {
            (
                Key::Search("invocations"),
                "invocations must be at least 1".into(),
            )
        })
    }
}

/// A key of the strategy file, top level or in `[search]`.
#[derive(Debug, Clone, Copy)]
enum Key {
    Top(&'static str),
    Search(&'static str),
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Top(k) | Key::Search(k) => k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_matches_its_name() {
        for name in Strategy::builtin_names() {
            let s = Strategy::load(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, name);
            assert!(!s.description.is_empty());
        }
        assert_eq!(
            Strategy::load("latency-slo").unwrap().objective,
            Objective::LatencySlo
        );
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let s = Strategy::parse("name = \"x\"\nobjective = \"cost\"\n", "x.toml").unwrap();
        assert_eq!(s.cost_tolerance, 0.02);
        assert_eq!(s.speed_tolerance, 0.05);
        assert_eq!(s.balanced_weight, 0.5);
        assert_eq!(s.memory_headroom, 1.2);
        assert_eq!(s.slo_percentile, Percentile::P99);
        assert_eq!(s.search, Search::default());
        assert_eq!(s.search.sizes, vec![128, 256, 512, 1024, 1536, 3008]);
        // A strategy file without them is the pure objective: no guard, any change counts.
        assert_eq!(s.max_p99_increase, None);
        assert_eq!((s.min_change, s.min_change_usd_per_month), (0.0, 0.0));
    }

    #[test]
    fn the_default_strategy_guards_latency_and_the_pure_ones_do_not() {
        let default = Strategy::load(DEFAULT_STRATEGY).unwrap();
        assert_eq!(default.objective, Objective::Cost);
        assert_eq!(default.max_p99_increase, Some(0.2));
        assert_eq!(default.max_p50_increase, Some(0.2));
        assert!(default.min_change > 0.0 && default.min_change_usd_per_month > 0.0);
        for pure in ["cost", "latency-slo", "speed", "balanced"] {
            let s = Strategy::load(pure).unwrap();
            assert_eq!(s.max_p99_increase, None, "{pure}");
            assert_eq!(s.max_p50_increase, None, "{pure}");
            assert_eq!(s.min_change, 0.0, "{pure}");
        }
        let err = Strategy::parse(
            "name = \"x\"\nobjective = \"cost\"\nmax_p99_increase = -0.1\n",
            "g.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "g.toml:3: max_p99_increase = -0.1 is outside 0..=10");
        let err = Strategy::parse(
            "name = \"x\"\nobjective = \"cost\"\nmin_change_usd_per_month = -1\n",
            "g.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("g.toml:3: min_change_usd_per_month"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = "name = \"x\"\nobjective = \"cost\"\n\n[search]\ninvocatons = 5\n";
        let err = Strategy::parse(text, "mine.toml").unwrap_err().to_string();
        assert!(err.starts_with("mine.toml:5:"), "{err}");
        assert!(err.contains("invocatons"), "{err}");
        let err = Strategy::parse("name = \"x\"\nobjectiv = \"cost\"\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("m.toml:"), "{err}");
        assert!(err.contains("objectiv"), "{err}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let text =
            "name = \"x\"\nobjective = \"speed\"\ncost_tolerance = 0.02\nbalanced_weight = 1.5\n";
        let err = Strategy::parse(text, "s.toml").unwrap_err().to_string();
        assert_eq!(err, "s.toml:4: balanced_weight = 1.5 is outside 0..=1");
        let text = "name = \"x\"\nobjective = \"cost\"\nmin_mb = 1\n[search]\nmin_mb = 128\nsizes = [512, 256]\n";
        let err = Strategy::parse(text, "s.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("s.toml:3:"),
            "top-level min_mb is unknown: {err}"
        );
        let text =
            "name = \"x\"\nobjective = \"cost\"\n[search]\nmin_mb = 128\nsizes = [512, 256]\n";
        let err = Strategy::parse(text, "s.toml").unwrap_err().to_string();
        assert!(err.starts_with("s.toml:5: sizes must be"), "{err}");
        let err = Strategy::parse("name = \"x\"\nobjective = \"fast\"\n", "s.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_names_list_the_builtins_and_paths_load() {
        let err = Strategy::load("cheapest").unwrap_err().to_string();
        assert!(
            err.contains("balanced, cost, cost-guarded, latency-slo, speed"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(
            &path,
            "name = \"mine\"\nobjective = \"balanced\"\nbalanced_weight = 0.8\n",
        )
        .unwrap();
        let s = Strategy::load(path.to_str().unwrap()).unwrap();
        assert_eq!(s.balanced_weight, 0.8);
        let missing = dir.path().join("absent.toml");
        let err = Strategy::load(missing.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }

    #[test]
    fn cli_flags_override_the_slo() {
        let s = Strategy::load("latency-slo")
            .unwrap()
            .with_slo(Some(250.0), Some(Percentile::P90));
        assert_eq!(s.slo_ms, Some(250.0));
        assert_eq!(s.slo_percentile, Percentile::P90);
        let kept = s.clone().with_slo(None, None);
        assert_eq!(kept, s);
    }
}
