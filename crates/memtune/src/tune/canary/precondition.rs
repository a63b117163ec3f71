//! What must hold before a canary run changes anything: the alias sends all its traffic to
//! one published version, and `$LATEST` (from which candidates are published) runs that
//! version's code with its configuration, memory aside.

use crate::platform::{AliasInfo, FunctionConfig};
use crate::sweep::journal::AliasRoute;
use crate::sweep::journal::Fingerprint;
use crate::sweep::routing_back::route_text;

/// Why a canary run cannot start; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("alias {alias} of {function} already has a routing configuration ({routes}): finish or remove that traffic shift, then run memtune again")]
    AlreadyRouted {
        function: String,
        alias: String,
        routes: String,
    },
    #[error("alias {alias} of {function} points at $LATEST: a canary needs the alias on a published version (publish one and point the alias at it)")]
    OnLatest { function: String, alias: String },
    #[error("$LATEST of {function} differs from version {version}, which alias {alias} serves, in {what}: candidates are published from $LATEST and would not run the alias's code and configuration; make $LATEST equal to version {version} (memory aside), then run memtune again")]
    LatestDiffers {
        function: String,
        alias: String,
        version: String,
        what: String,
    },
}

/// The settings (Lambda's names) in which `latest` differs from `serving`, memory aside. A
/// version's description is its own (set when it was published), so it is not compared.
pub fn differences(serving: &FunctionConfig, latest: &FunctionConfig) -> Vec<&'static str> {
    Fingerprint::of(serving)
        .differences(latest)
        .into_iter()
        .filter(|name| *name != "Description")
        .collect()
}

/// Checks the alias and the version it serves against `$LATEST`.
pub fn check(
    alias: &AliasInfo,
    serving: &FunctionConfig,
    latest: &FunctionConfig,
) -> Result<(), Refusal> {
    let function = latest.name.clone();
    if !alias.routing.is_empty() {
        return Err(Refusal::AlreadyRouted {
            function,
            alias: alias.name.clone(),
            routes: route_text(&AliasRoute::of(alias)),
        });
    }
    if alias.function_version == "$LATEST" {
        return Err(Refusal::OnLatest {
            function,
            alias: alias.name.clone(),
        });
    }
    let what = differences(serving, latest);
    if !what.is_empty() {
        return Err(Refusal::LatestDiffers {
            function,
            alias: alias.name.clone(),
            version: alias.function_version.clone(),
            what: what.join(", "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(version: &str) -> AliasInfo {
        AliasInfo {
            name: "live".into(),
            function_version: version.into(),
            description: String::new(),
            revision_id: "a1".into(),
            routing: Default::default(),
        }
    }

    fn serving() -> FunctionConfig {
        FunctionConfig {
            version: "7".into(),
            description: "release 42".into(),
            ..FunctionConfig::sample("orders", 1024)
        }
    }

    #[test]
    fn latest_equal_apart_from_memory_and_description_passes() {
        let latest = FunctionConfig {
            memory_mb: 512,
            revision_id: "r9".into(),
            ..FunctionConfig::sample("orders", 512)
        };
        assert_eq!(check(&alias("7"), &serving(), &latest), Ok(()));
    }

    #[test]
    fn other_code_or_configuration_on_latest_is_named() {
        let mut latest = FunctionConfig::sample("orders", 1024);
        latest.code_sha256 = "newer".into();
        latest.settings.environment_sha256 = "e".into();
        let e = check(&alias("7"), &serving(), &latest).unwrap_err();
        assert!(matches!(&e, Refusal::LatestDiffers { what, .. } if what == "Code, Environment"));
        assert!(
            e.to_string().contains("make $LATEST equal to version 7"),
            "{e}"
        );
    }

    #[test]
    fn an_alias_already_routing_or_on_latest_is_refused() {
        let latest = FunctionConfig::sample("orders", 1024);
        let mut routed = alias("7");
        routed.routing.insert("8".into(), 0.1);
        let e = check(&routed, &serving(), &latest).unwrap_err();
        assert_eq!(
            e.to_string(),
            "alias live of orders already has a routing configuration (version 7, 10% to version 8): finish or remove that traffic shift, then run memtune again"
        );
        let e = check(&alias("$LATEST"), &serving(), &latest).unwrap_err();
        assert!(matches!(e, Refusal::OnLatest { .. }));
    }
}
