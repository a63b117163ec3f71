//! Which functions a fleet run covers: names (globs and regexes), runtime, architecture and
//! tags, minus an exclude list.

use std::collections::BTreeMap;

use regex_lite::Regex;

use super::glob::Glob;
use crate::platform::FunctionConfig;

/// The `[select]` section, checked. Empty lists match everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A function is selected by name when it matches any glob or any regex.
    pub names: Vec<Glob>,
    pub name_regex: Vec<Regex>,
    pub runtimes: Vec<Glob>,
    pub architectures: Vec<String>,
    /// Every tag must be present with a value matching its glob.
    pub tags: BTreeMap<String, Glob>,
    pub exclude: Vec<Glob>,
}

/// How the configuration-only criteria (everything but tags) judge a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    NotSelected,
    /// Selected, then removed by this exclude pattern.
    Excluded(String),
    /// Selected so far; tags still to check.
    Candidate,
}

impl Selection {
    /// Judges a function on its configuration alone (no API call needed).
    pub fn judge(&self, f: &FunctionConfig) -> Verdict {
        let by_name = (self.names.is_empty() && self.name_regex.is_empty())
            || self.names.iter().any(|g| g.matches(&f.name))
            || self.name_regex.iter().any(|r| r.is_match(&f.name));
        let runtime = f.runtime.as_deref().unwrap_or("");
        let by_runtime =
            self.runtimes.is_empty() || self.runtimes.iter().any(|g| g.matches(runtime));
        let by_arch = self.architectures.is_empty() || self.architectures.contains(&f.architecture);
        if !(by_name && by_runtime && by_arch) {
            return Verdict::NotSelected;
        }
        match self.exclude.iter().find(|g| g.matches(&f.name)) {
            Some(g) => Verdict::Excluded(g.to_string()),
            None => Verdict::Candidate,
        }
    }

    /// The criteria as the config wrote them (`names = ["orders-*"], runtimes = [...]`), or
    /// "every function" when there are none.
    pub fn describe(&self) -> String {
        let quoted = |items: Vec<&str>| {
            let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
            format!("[{}]", items.join(", "))
        };
        let mut parts = Vec::new();
        let mut add = |key: &str, items: Vec<&str>| {
            if !items.is_empty() {
                parts.push(format!("{key} = {}", quoted(items)));
            }
        };
        add("names", self.names.iter().map(Glob::as_str).collect());
        add(
            "name_regex",
            self.name_regex.iter().map(Regex::as_str).collect(),
        );
        add("runtimes", self.runtimes.iter().map(Glob::as_str).collect());
        add(
            "architectures",
            self.architectures.iter().map(String::as_str).collect(),
        );
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|(k, v)| format!("{k} = {:?}", v.as_str()))
            .collect();
        if !tags.is_empty() {
            parts.push(format!("tags {{ {} }}", tags.join(", ")));
        }
        if parts.is_empty() {
            "every function".into()
        } else {
            parts.join(", ")
        }
    }

    pub fn needs_tags(&self) -> bool {
        !self.tags.is_empty()
    }

    pub fn tags_match(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags
            .iter()
            .all(|(k, want)| tags.get(k).is_some_and(|v| want.matches(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, runtime: &str, arch: &str) -> FunctionConfig {
        FunctionConfig {
            architecture: arch.into(),
            runtime: Some(runtime.into()),
            ..FunctionConfig::sample(name, 512)
        }
    }

    #[test]
    fn empty_selection_takes_everything() {
        let s = Selection::default();
        assert_eq!(
            s.judge(&function("a", "python3.12", "x86_64")),
            Verdict::Candidate
        );
        assert!(s.tags_match(&BTreeMap::new()));
    }

    #[test]
    fn names_runtimes_architectures_and_excludes() {
        let s = Selection {
            names: vec![Glob::new("orders-*")],
            name_regex: vec![Regex::new("^pay(ment)?s?-").unwrap()],
            runtimes: vec![Glob::new("python3.*"), Glob::new("nodejs*")],
            architectures: vec!["arm64".into()],
            exclude: vec![Glob::new("*-canary")],
            ..Selection::default()
        };
        let judge = |n, r, a| s.judge(&function(n, r, a));
        assert_eq!(
            judge("orders-api", "python3.12", "arm64"),
            Verdict::Candidate
        );
        assert_eq!(
            judge("payments-api", "nodejs22.x", "arm64"),
            Verdict::Candidate
        );
        assert_eq!(judge("search", "python3.12", "arm64"), Verdict::NotSelected);
        assert_eq!(judge("orders-api", "java21", "arm64"), Verdict::NotSelected);
        assert_eq!(
            judge("orders-api", "python3.12", "x86_64"),
            Verdict::NotSelected
        );
        assert_eq!(
            judge("orders-canary", "python3.12", "arm64"),
            Verdict::Excluded("*-canary".into())
        );
    }

    #[test]
    fn every_tag_must_match() {
        let s = Selection {
            tags: BTreeMap::from([
                ("team".to_string(), Glob::new("checkout")),
                ("env".to_string(), Glob::new("prod*")),
            ]),
            ..Selection::default()
        };
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(s.tags_match(&tags(&[("team", "checkout"), ("env", "prod-eu")])));
        assert!(!s.tags_match(&tags(&[("team", "checkout")])));
        assert!(!s.tags_match(&tags(&[("team", "media"), ("env", "prod")])));
    }
}
