//! `[[target]]`: the accounts and regions one run tunes, each reached through a role to
//! assume. Without targets a run tunes the account and region of the ambient credentials.

use super::raw::RawTarget;
use super::{problem, Problem};

/// One account, the role memtune assumes in it, and the regions to tune there.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub account: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub regions: Vec<String>,
}

/// The session name when the config gives none; CloudTrail shows it.
pub const DEFAULT_SESSION_NAME: &str = "memtune";

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// STS's pattern for session names and external ids: word characters and `extra`.
fn sts_chars(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

pub(super) fn check_target(raw: RawTarget, at: usize) -> Result<Target, Problem> {
    if !is_account(&raw.account) {
        return Err(problem(
            at,
            "account",
            format!(
                "account = '{}' is not an AWS account id (12 digits)",
                raw.account
            ),
        ));
    }
    let role_account = raw
        .role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":role/"))
        .filter(|(_, name)| !name.is_empty())
        .map(|(account, _)| account);
    match role_account {
        None => {
            return Err(problem(
                at,
                "role_arn",
                format!(
                    "role_arn = '{}' is not a role ARN like arn:aws:iam::{}:role/memtune",
                    raw.role_arn, raw.account
                ),
            ))
        }
        Some(a) if a != raw.account => {
            return Err(problem(
                at,
                "role_arn",
                format!(
                    "role_arn is in account {a}, not in this target's account {}",
                    raw.account
                ),
            ))
        }
        Some(_) => {}
    }
    if let Some(id) = &raw.external_id {
        if id.len() < 2 || id.len() > 1224 || !sts_chars(id, "+=,.@:/-") {
            return Err(problem(
                at,
                "external_id",
                "external_id must be 2 to 1224 letters, digits or +=,.@:/-_",
            ));
        }
    }
    let session_name = raw
        .session_name
        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string());
    if session_name.len() < 2 || session_name.len() > 64 || !sts_chars(&session_name, "+=,.@-") {
        return Err(problem(
            at,
            "session_name",
            "session_name must be 2 to 64 letters, digits or +=,.@-_",
        ));
    }
    if raw.regions.is_empty() {
        return Err(problem(
            at,
            "regions",
            format!(
                "target {} has no regions: add regions = [\"us-east-1\", ...]",
                raw.account
            ),
        ));
    }
    if let Some(bad) = raw.regions.iter().find(|r| !is_region(r)) {
        return Err(problem(
            at,
            "regions",
            format!("'{bad}' is not a region name like us-east-1"),
        ));
    }
    let mut regions = raw.regions;
    let before = regions.len();
    regions.sort();
    regions.dedup();
    if regions.len() != before {
        return Err(problem(
            at,
            "regions",
            format!("target {} lists a region twice", raw.account),
        ));
    }
    Ok(Target {
        account: raw.account,
        role_arn: raw.role_arn,
        external_id: raw.external_id,
        session_name,
        regions,
    })
}

/// Two targets for the same account would tune its functions twice.
pub(super) fn check_distinct(targets: &[(Target, usize)]) -> Result<(), Problem> {
    for (i, (t, at)) in targets.iter().enumerate() {
        if targets[..i]
            .iter()
            .any(|(other, _)| other.account == t.account)
        {
            return Err(problem(
                *at,
                "account",
                format!(
                    "account {} has two [[target]] entries: list all its regions in one",
                    t.account
                ),
            ));
        }
    }
    Ok(())
}
