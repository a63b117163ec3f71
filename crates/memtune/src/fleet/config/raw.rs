//! The fleet configuration file as written: every section and key, before the checks give
//! them meaning (`super`). Unknown keys are refused here.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) select: Option<Spanned<RawSelect>>,
    #[serde(default)]
    pub(super) tuning: Option<Spanned<RawTuning>>,
    #[serde(default)]
    pub(super) limits: Option<Spanned<RawLimits>>,
    #[serde(default)]
    pub(super) function: Vec<Spanned<RawOverride>>,
    #[serde(default)]
    pub(super) apply: Option<Spanned<RawApply>>,
    #[serde(default)]
    pub(super) serve: Option<Spanned<RawServe>>,
    #[serde(default)]
    pub(super) target: Vec<Spanned<RawTarget>>,
    #[serde(default)]
    pub(super) chain: Vec<Spanned<RawChain>>,
    pub(super) capacity: Option<Spanned<RawCapacity>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
    pub(super) enabled: Option<bool>,
    pub(super) days: Option<u32>,
    pub(super) cold_start_target: Option<f64>,
    pub(super) p99_target_ms: Option<f64>,
    pub(super) max_connections: Option<u32>,
    #[serde(default)]
    pub(super) names: Vec<String>,
    pub(super) query_timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChain {
    pub(super) name: String,
    pub(super) entry: Option<String>,
    #[serde(default)]
    pub(super) calls: BTreeMap<String, Vec<Vec<String>>>,
    pub(super) slo_ms: Option<f64>,
    pub(super) percentile: Option<f64>,
    #[serde(default)]
    pub(super) payloads: BTreeMap<String, toml::Value>,
    pub(super) min_mb: Option<u32>,
    pub(super) max_mb: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) account: String,
    pub(super) role_arn: String,
    pub(super) external_id: Option<String>,
    pub(super) session_name: Option<String>,
    #[serde(default)]
    pub(super) regions: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    pub(super) schedule: Option<String>,
    pub(super) listen: Option<String>,
    pub(super) token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApply {
    pub(super) mode: Option<String>,
    pub(super) min_monthly_savings_usd: Option<f64>,
    pub(super) max_p99_regression_pct: Option<f64>,
    pub(super) min_confidence: Option<f64>,
    pub(super) apply_via_alias: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSelect {
    #[serde(default)]
    pub(super) names: Vec<String>,
    #[serde(default)]
    pub(super) name_regex: Vec<String>,
    #[serde(default)]
    pub(super) runtimes: Vec<String>,
    #[serde(default)]
    pub(super) architectures: Vec<String>,
    #[serde(default)]
    pub(super) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTuning {
    pub(super) strategy: Option<String>,
    pub(super) search: Option<String>,
    pub(super) slo_ms: Option<f64>,
    pub(super) sizes: Option<Vec<u32>>,
    pub(super) min_mb: Option<u32>,
    pub(super) max_mb: Option<u32>,
    pub(super) invocations: Option<u32>,
    pub(super) warmup: Option<u32>,
    pub(super) payload: Option<toml::Value>,
    pub(super) payload_file: Option<String>,
    pub(super) payloads_file: Option<String>,
    pub(super) min_interval_ms: Option<u64>,
    pub(super) allowed_errors: Option<Vec<String>>,
    pub(super) cold_start_ratio: Option<f64>,
    pub(super) allow_empty_payload: Option<bool>,
    pub(super) seed: Option<u64>,
    pub(super) retune_after_days: Option<u32>,
    pub(super) isolate: Option<String>,
    pub(super) staging_bucket: Option<String>,
    pub(super) architectures: Option<Vec<String>>,
    pub(super) cold_starts: Option<bool>,
    pub(super) traffic: Option<String>,
    pub(super) max_share: Option<String>,
    pub(super) max_error_increase: Option<f64>,
    pub(super) max_p99_increase: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) max_in_flight: Option<u32>,
    pub(super) unreserved_fraction: Option<f64>,
    pub(super) reserved_margin: Option<f64>,
    pub(super) concurrent_functions: Option<u32>,
    pub(super) max_functions: Option<u32>,
    pub(super) max_usd: Option<f64>,
    pub(super) deadline: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverride {
    pub(super) name: String,
    pub(super) strategy: Option<String>,
    pub(super) search: Option<String>,
    pub(super) slo_ms: Option<f64>,
    pub(super) sizes: Option<Vec<u32>>,
    pub(super) min_mb: Option<u32>,
    pub(super) max_mb: Option<u32>,
    pub(super) invocations: Option<u32>,
    pub(super) warmup: Option<u32>,
    pub(super) payload: Option<toml::Value>,
    pub(super) payload_file: Option<String>,
    pub(super) payloads_file: Option<String>,
    pub(super) min_interval_ms: Option<u64>,
    pub(super) allowed_errors: Option<Vec<String>>,
    pub(super) isolate: Option<String>,
    pub(super) staging_bucket: Option<String>,
    pub(super) architectures: Option<Vec<String>>,
    pub(super) cold_starts: Option<bool>,
    pub(super) traffic: Option<String>,
    #[serde(default)]
    pub(super) skip: bool,
    pub(super) reason: Option<String>,
}

/// The knob keys as written, shared by `[tuning]` and `[[function]]`.
pub(super) struct RawKnobs {
    pub(super) strategy: Option<String>,
    pub(super) search: Option<String>,
    pub(super) slo_ms: Option<f64>,
    pub(super) sizes: Option<Vec<u32>>,
    pub(super) min_mb: Option<u32>,
    pub(super) max_mb: Option<u32>,
    pub(super) invocations: Option<u32>,
    pub(super) warmup: Option<u32>,
    pub(super) payload: Option<toml::Value>,
    pub(super) payload_file: Option<String>,
    pub(super) payloads_file: Option<String>,
    pub(super) min_interval_ms: Option<u64>,
    pub(super) allowed_errors: Option<Vec<String>>,
    pub(super) isolate: Option<String>,
    pub(super) staging_bucket: Option<String>,
    pub(super) architectures: Option<Vec<String>>,
    pub(super) cold_starts: Option<bool>,
    pub(super) traffic: Option<String>,
}
