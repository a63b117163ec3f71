//! `[[chain]]`: functions that call each other synchronously, tuned together under one
//! end-to-end objective (`memtune chain NAME`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::raw::RawChain;
use super::{check_payloads, problem, Problem};
use crate::sweep::payload::Payloads;
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};

/// One chain as configured.
#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// Stages in call order: each stage's function calls the next stage and waits for it.
    /// Only the last stage may fan out: its caller calls its functions in parallel and
    /// waits for the slowest.
    pub stages: Vec<Vec<String>>,
    /// The end-to-end objective: the `percentile` (0..100) of the chain's duration at most
    /// `slo_ms`.
    pub slo_ms: f64,
    pub percentile: f64,
    /// The payload each function is swept with, by function name.
    pub payloads: BTreeMap<String, Payloads>,
    pub min_mb: u32,
    pub max_mb: u32,
}

impl Chain {
    /// Every function of the chain, in call order.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().flatten().map(String::as_str)
    }

    /// The function every request enters through.
    pub fn entry(&self) -> &str {
        &self.stages[0][0]
    }
}

/// The least `max_mb` a chain searches up to by default: 3008 MB, where most functions stop
/// getting faster (two vCPUs).
const DEFAULT_MAX_MB: u32 = 3008;

pub(super) fn check_chain(
    raw: RawChain,
    at: usize,
    dir: &Path,
    allow_empty_payload: bool,
) -> Result<Chain, Problem> {
    let name = raw.name.trim().to_string();
    if name.is_empty() {
        return Err(problem(
            at,
            "name",
            "chain name is empty: give it a name such as \"checkout\"",
        ));
    }
    if raw.stages.is_empty() {
        return Err(problem(
            at,
            "stages",
            format!("chain '{name}' has no stages: list them in call order, e.g. [[\"api\"], [\"pricing\", \"stock\"]]"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, stage) in raw.stages.iter().enumerate() {
        if stage.is_empty() {
            return Err(problem(
                at,
                "stages",
                format!(
                    "chain '{name}': stage {} is empty: each stage names one or more functions",
                    i + 1
                ),
            ));
        }
        for function in stage {
            if function.trim().is_empty() {
                return Err(problem(
                    at,
                    "stages",
                    format!(
                        "chain '{name}': a function name in stage {} is empty",
                        i + 1
                    ),
                ));
            }
            if !seen.insert(function.clone()) {
                return Err(problem(
                    at,
                    "stages",
                    format!("chain '{name}': function '{function}' appears twice: a chain calls each function once"),
                ));
            }
        }
    }
    let last = raw.stages.len() - 1;
    if let Some(i) = raw.stages[..last].iter().position(|s| s.len() > 1) {
        return Err(problem(
            at,
            "stages",
            format!("chain '{name}': stage {} fans out but is not the last stage: the stage after it would have no single caller", i + 1),
        ));
    }
    let Some(slo_ms) = raw.slo_ms else {
        return Err(problem(
            at,
            "name",
            format!(
                "chain '{name}' has no slo_ms: set the end-to-end objective, e.g. slo_ms = 300"
            ),
        ));
    };
    if !(slo_ms.is_finite() && slo_ms > 0.0) {
        return Err(problem(
            at,
            "slo_ms",
            "slo_ms must be a positive number of milliseconds",
        ));
    }
    let percentile = raw.percentile.unwrap_or(99.0);
    if !(percentile.is_finite() && percentile > 0.0 && percentile < 100.0) {
        return Err(problem(
            at,
            "percentile",
            format!("percentile = {percentile} is not a percentile: use a number between 0 and 100 such as 99"),
        ));
    }
    let min_mb = raw.min_mb.unwrap_or(MIN_MEMORY_MB);
    let max_mb = raw.max_mb.unwrap_or(DEFAULT_MAX_MB);
    for (key, value) in [("min_mb", min_mb), ("max_mb", max_mb)] {
        if !(MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&value) {
            return Err(problem(
                at,
                key,
                format!(
                    "{key} = {value} is outside Lambda's range {MIN_MEMORY_MB}..{MAX_MEMORY_MB}"
                ),
            ));
        }
    }
    if min_mb >= max_mb {
        return Err(problem(
            at,
            "max_mb",
            format!("max_mb = {max_mb} must be above min_mb = {min_mb}"),
        ));
    }
    let mut payloads = BTreeMap::new();
    for (function, value) in raw.payloads {
        if !seen.contains(&function) {
            return Err(problem(
                at,
                "payloads",
                format!("chain '{name}': payloads names '{function}', which is not in its stages"),
            ));
        }
        if let Some(p) = check_payloads(Some(value), None, None, at, dir)? {
            payloads.insert(function, p);
        }
    }
    for function in &seen {
        if payloads.contains_key(function) {
            continue;
        }
        if !allow_empty_payload {
            return Err(problem(
                at,
                "payloads",
                format!("chain '{name}': no payload for '{function}': add it to payloads (or set allow_empty_payload = true in [tuning])"),
            ));
        }
        let empty = Payloads::single("{}").map_err(|e| problem(at, "payloads", e.to_string()))?;
        payloads.insert(function.clone(), empty);
    }
    Ok(Chain {
        name,
        stages: raw.stages,
        slo_ms,
        percentile,
        payloads,
        min_mb,
        max_mb,
    })
}

/// Chain names are how the command finds a chain: no two alike.
pub(super) fn check_distinct(chains: &[(Chain, usize)]) -> Result<(), Problem> {
    let mut names = BTreeSet::new();
    for (chain, at) in chains {
        if !names.insert(chain.name.as_str()) {
            return Err(problem(
                *at,
                "name",
                format!(
                    "chain '{}' is defined twice: give each [[chain]] its own name",
                    chain.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::FleetConfig;

    fn parse(text: &str) -> Result<FleetConfig, String> {
        FleetConfig::parse(text, "fleet.toml", None).map_err(|e| e.to_string())
    }

    const GOOD: &str = "[[chain]]\nname = \"checkout\"\n\
        stages = [[\"api\"], [\"ledger\"], [\"price\", \"stock\"]]\n\
        slo_ms = 300\npercentile = 99\n\
        payloads = { api = '{\"cart\": 1}', price = { sku = 7 }, stock = '{}', ledger = '{}' }\n";

    #[test]
    fn a_chain_parses_with_its_stages_payloads_and_objective() {
        let config = parse(GOOD).expect("valid");
        let chain = &config.chains[0];
        assert_eq!(chain.name, "checkout");
        assert_eq!(chain.entry(), "api");
        assert_eq!(
            chain.functions().collect::<Vec<_>>(),
            ["api", "ledger", "price", "stock"]
        );
        assert_eq!(chain.stages[2], ["price", "stock"]);
        assert_eq!((chain.slo_ms, chain.percentile), (300.0, 99.0));
        assert_eq!(chain.payloads.len(), 4);
        assert_eq!((chain.min_mb, chain.max_mb), (128, 3008));
    }

    #[test]
    fn a_missing_payload_is_empty_only_when_allowed() {
        let text = "[[chain]]\nname = \"c\"\nstages = [[\"a\"], [\"b\"]]\nslo_ms = 100\n";
        let err = parse(text).unwrap_err();
        assert!(err.contains("no payload for 'a'"), "{err}");
        let allowed = format!("[tuning]\nallow_empty_payload = true\n{text}");
        assert_eq!(parse(&allowed).expect("valid").chains[0].payloads.len(), 2);
    }

    #[test]
    fn each_mistake_is_one_line_naming_its_line() {
        let head = "[tuning]\nallow_empty_payload = true\n[[chain]]\nname = \"c\"\n";
        let cases = [
            ("stages = []\nslo_ms = 1\n", 5, "has no stages"),
            ("stages = [[\"a\"], []]\nslo_ms = 1\n", 5, "stage 2 is empty"),
            ("stages = [[\"a\"], [\"a\"]]\nslo_ms = 1\n", 5, "appears twice"),
            ("stages = [[\"a\"]]\n", 4, "has no slo_ms"),
            ("stages = [[\"a\", \"b\"], [\"c\"]]\nslo_ms = 1\n", 5, "fans out but is not the last"),
            ("stages = [[\"a\"]]\nslo_ms = -3\n", 6, "positive number"),
            ("stages = [[\"a\"]]\nslo_ms = 9\npercentile = 100\n", 7, "not a percentile"),
            ("stages = [[\"a\"]]\nslo_ms = 9\nmax_mb = 20000\n", 7, "outside Lambda's range"),
            ("stages = [[\"a\"]]\nslo_ms = 9\nmin_mb = 512\nmax_mb = 256\n", 8, "must be above"),
            ("stages = [[\"a\"]]\nslo_ms = 9\npayloads = { b = '{}' }\n", 7, "not in its stages"),
            ("stages = [[\"a\"]]\nslo_ms = 9\nfanout = 2\n", 7, "unknown field"),
            (
                "stages = [[\"a\"]]\nslo_ms = 9\n[[chain]]\nname = \"c\"\nstages = [[\"b\"]]\nslo_ms = 9\n",
                8,
                "defined twice",
            ),
        ];
        for (body, line, expect) in cases {
            let err = parse(&format!("{head}{body}")).unwrap_err();
            assert!(
                err.starts_with(&format!("fleet.toml:{line}:")) && err.contains(expect),
                "{body:?}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
