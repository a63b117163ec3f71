//! `[[chain]]`: functions that call each other synchronously, tuned together under one
//! end-to-end objective (`memtune chain NAME`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::raw::RawChain;
use super::{check_payloads, problem, Problem};
use crate::sweep::payload::Payloads;
use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};

/// One chain as configured: a call tree rooted at its entry function.
#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// The function every request enters through.
    pub entry: String,
    /// Who calls whom: each caller's synchronous calls in stages. Stages run one after
    /// another; the calls of one stage run in parallel and the stage lasts as long as its
    /// slowest call. Every function of the chain but the entry has exactly one caller.
    pub calls: BTreeMap<String, Vec<Vec<String>>>,
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
    /// Every function of the chain, depth first from the entry (a caller before its callees,
    /// callees in call order).
    pub fn functions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut todo = vec![self.entry.as_str()];
        while let Some(f) = todo.pop() {
            out.push(f);
            todo.extend(self.callees(f).into_iter().rev());
        }
        out
    }

    /// The stages of calls `function` makes (empty for a function that calls none).
    pub fn stages_of(&self, function: &str) -> &[Vec<String>] {
        self.calls.get(function).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The functions `function` calls, in call order.
    pub fn callees(&self, function: &str) -> Vec<&str> {
        self.stages_of(function)
            .iter()
            .flatten()
            .map(String::as_str)
            .collect()
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
    let Some(entry) = raw
        .entry
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
    else {
        return Err(problem(
            at,
            "name",
            format!("chain '{name}' has no entry: name the function requests enter through, e.g. entry = \"api\""),
        ));
    };
    let seen = check_calls(&name, &entry, &raw.calls).map_err(|m| problem(at, "calls", m))?;
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
                format!("chain '{name}': payloads names '{function}', which is neither its entry nor called in it"),
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
        entry,
        calls: raw.calls,
        slo_ms,
        percentile,
        payloads,
        min_mb,
        max_mb,
    })
}

/// What is wrong with a chain's call tree, or its functions: every callee called once,
/// every caller reached from the entry, no call back to the entry, no empty name or stage.
fn check_calls(
    name: &str,
    entry: &str,
    calls: &BTreeMap<String, Vec<Vec<String>>>,
) -> Result<BTreeSet<String>, String> {
    let mut caller_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (caller, stages) in calls {
        if stages.is_empty() {
            return Err(format!("chain '{name}': '{caller}' calls nothing: give it stages, e.g. \"{caller}\" = [[\"b\"]], or remove it"));
        }
        for (i, stage) in stages.iter().enumerate() {
            if stage.is_empty() {
                return Err(format!(
                    "chain '{name}': stage {} of '{caller}' is empty: each stage names one or more functions",
                    i + 1
                ));
            }
            for callee in stage {
                if callee.trim().is_empty() {
                    return Err(format!(
                        "chain '{name}': a function name in stage {} of '{caller}' is empty",
                        i + 1
                    ));
                }
                if callee == entry {
                    return Err(format!("chain '{name}': '{caller}' calls the entry '{entry}': the calls must not loop back"));
                }
                if let Some(first) = caller_of.insert(callee, caller) {
                    return Err(format!(
                        "chain '{name}': '{callee}' is called by '{first}' and again by '{caller}': a chain calls each function once"
                    ));
                }
            }
        }
    }
    // Every caller must be reached from the entry; with one caller each, that also rules
    // out cycles.
    let mut reached = BTreeSet::from([entry.to_string()]);
    let mut todo = vec![entry];
    while let Some(f) = todo.pop() {
        for callee in calls.get(f).into_iter().flatten().flatten() {
            if reached.insert(callee.clone()) {
                todo.push(callee);
            }
        }
    }
    if let Some(lost) = calls.keys().find(|c| !reached.contains(*c)) {
        return Err(format!(
            "chain '{name}': '{lost}' makes calls but is not reached from the entry '{entry}': name its caller in calls, or remove it"
        ));
    }
    Ok(reached)
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

    const GOOD: &str = "[[chain]]\nname = \"checkout\"\nentry = \"api\"\n\
        calls = { api = [[\"ledger\"], [\"price\", \"stock\"]], ledger = [[\"db\"]] }\n\
        slo_ms = 300\npercentile = 99\n\
        payloads = { api = '{\"cart\": 1}', price = { sku = 7 }, stock = '{}', ledger = '{}', db = '{}' }\n";

    #[test]
    fn a_chain_parses_as_a_call_tree_with_payloads_and_objective() {
        let config = parse(GOOD).expect("valid");
        let chain = &config.chains[0];
        assert_eq!(chain.name, "checkout");
        assert_eq!(chain.entry, "api");
        assert_eq!(chain.functions(), ["api", "ledger", "db", "price", "stock"]);
        assert_eq!(chain.stages_of("api")[1], ["price", "stock"]);
        assert_eq!((chain.slo_ms, chain.percentile), (300.0, 99.0));
        assert_eq!(chain.payloads.len(), 5);
        assert_eq!((chain.min_mb, chain.max_mb), (128, 3008));
    }

    #[test]
    fn a_missing_payload_is_empty_only_when_allowed() {
        let text =
            "[[chain]]\nname = \"c\"\nentry = \"a\"\ncalls = { a = [[\"b\"]] }\nslo_ms = 100\n";
        let err = parse(text).unwrap_err();
        assert!(err.contains("no payload for 'a'"), "{err}");
        let allowed = format!("[tuning]\nallow_empty_payload = true\n{text}");
        assert_eq!(parse(&allowed).expect("valid").chains[0].payloads.len(), 2);
    }

    #[test]
    fn each_mistake_is_one_line_naming_its_line() {
        let head = "[tuning]\nallow_empty_payload = true\n[[chain]]\nname = \"c\"\n";
        let cases = [
            ("calls = { a = [[\"b\"]] }\nslo_ms = 1\n", 4, "has no entry"),
            (
                "entry = \"a\"\ncalls = { a = [] }\nslo_ms = 1\n",
                6,
                "calls nothing",
            ),
            (
                "entry = \"a\"\ncalls = { a = [[\"b\"], []] }\nslo_ms = 1\n",
                6,
                "stage 2 of 'a' is empty",
            ),
            (
                "entry = \"a\"\ncalls = { a = [[\"b\"], [\"b\"]] }\nslo_ms = 1\n",
                6,
                "calls each function once",
            ),
            (
                "entry = \"a\"\ncalls = { a = [[\"b\"]], c = [[\"b\"]] }\nslo_ms = 1\n",
                6,
                "called by 'a' and again by 'c'",
            ),
            (
                "entry = \"a\"\ncalls = { a = [[\"b\"]], b = [[\"a\"]] }\nslo_ms = 1\n",
                6,
                "must not loop back",
            ),
            (
                "entry = \"a\"\ncalls = { a = [[\"b\"]], x = [[\"y\"]] }\nslo_ms = 1\n",
                6,
                "not reached from the entry",
            ),
            ("entry = \"a\"\n", 4, "has no slo_ms"),
            ("entry = \"a\"\nslo_ms = -3\n", 6, "positive number"),
            (
                "entry = \"a\"\nslo_ms = 9\npercentile = 100\n",
                7,
                "not a percentile",
            ),
            (
                "entry = \"a\"\nslo_ms = 9\nmax_mb = 20000\n",
                7,
                "outside Lambda's range",
            ),
            (
                "entry = \"a\"\nslo_ms = 9\nmin_mb = 512\nmax_mb = 256\n",
                8,
                "must be above",
            ),
            (
                "entry = \"a\"\nslo_ms = 9\npayloads = { b = '{}' }\n",
                7,
                "neither its entry nor called",
            ),
            (
                "entry = \"a\"\nslo_ms = 9\nstages = [[\"a\"]]\n",
                7,
                "unknown field",
            ),
            (
                "entry = \"a\"\nslo_ms = 9\n[[chain]]\nname = \"c\"\nentry = \"b\"\nslo_ms = 9\n",
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
