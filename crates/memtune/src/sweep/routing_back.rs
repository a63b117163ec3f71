//! Putting an alias's routing back as a run found it (a canary's share of traffic taken away),
//! conditionally on the alias's RevisionId. Only a routing the run itself set is undone; one
//! someone else chose meanwhile is left as it is.

use super::journal::{AliasRoute, Entry, Journal, RoutingIntents};
use super::put_back::PutBackError;
use super::settle::SettleError;
use crate::platform::{LambdaApi, PlatformError};

/// How putting an alias's routing back ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutingBack {
    AlreadyOriginal,
    Restored,
    /// The alias routes as memtune never set it: someone else's change, kept.
    SetBySomeoneElse(AliasRoute),
    /// The alias (or the function) no longer exists.
    AliasGone,
}

/// A routing in words: `version 7` or `version 7, 5% to version 9`.
pub fn route_text(route: &AliasRoute) -> String {
    let mut text = format!("version {}", route.version);
    for (version, weight) in &route.weights {
        text.push_str(&format!(", {}% to version {version}", weight * 100.0));
    }
    text
}

/// One line saying what putting the alias's routing back did.
pub fn describe(intents: &RoutingIntents, back: &RoutingBack) -> String {
    let alias = &intents.alias;
    let original = route_text(&intents.original);
    match back {
        RoutingBack::AlreadyOriginal => {
            format!("alias {alias} already routes as found ({original})")
        }
        RoutingBack::Restored => format!("alias {alias} routes as found again ({original})"),
        RoutingBack::SetBySomeoneElse(now) => format!(
            "alias {alias} NOT restored: someone else set it to {} (found as {original}): kept their change",
            route_text(now)
        ),
        RoutingBack::AliasGone => format!("alias {alias} no longer exists; no routing to restore"),
    }
}

/// Sets the alias's original routing again unless it is already there or routes in a way the
/// run never set; the intent is journaled first, and the update is conditional on the
/// RevisionId just read, so a change made in between is kept too.
pub async fn put_routing_back<A: LambdaApi>(
    api: &A,
    name: &str,
    intents: &RoutingIntents,
    journal: &mut Journal,
) -> Result<RoutingBack, PutBackError> {
    let alias = intents.alias.as_str();
    let now = match api.get_alias(name, alias).await {
        Ok(now) => now,
        Err(PlatformError::NotFound(_)) => return Ok(RoutingBack::AliasGone),
        Err(e) => return Err(SettleError::Platform(e).into()),
    };
    let route = AliasRoute::of(&now);
    if route == intents.original {
        return Ok(RoutingBack::AlreadyOriginal);
    }
    if !intents.ours.contains(&route) {
        return Ok(RoutingBack::SetBySomeoneElse(route));
    }
    journal
        .write(&Entry::IntendRouting {
            alias: alias.to_string(),
            from: route,
            to: intents.original.clone(),
        })
        .map_err(|source| PutBackError::Journal {
            path: journal.path().display().to_string(),
            source,
        })?;
    let original = &intents.original;
    match api
        .route_alias(
            name,
            alias,
            &original.version,
            &original.weights,
            &now.revision_id,
        )
        .await
    {
        Ok(_) => Ok(RoutingBack::Restored),
        Err(PlatformError::RevisionMismatch(_)) => {
            let changed = api
                .get_alias(name, alias)
                .await
                .map_err(|e| PutBackError::Settle(SettleError::Platform(e)))?;
            Ok(RoutingBack::SetBySomeoneElse(AliasRoute::of(&changed)))
        }
        Err(PlatformError::NotFound(_)) => Ok(RoutingBack::AliasGone),
        Err(e) => Err(SettleError::Platform(e).into()),
    }
}
