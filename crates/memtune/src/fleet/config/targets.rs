//! `[[target]]`: the accounts and regions one run tunes, each reached through a role to
//! assume. Without targets a run tunes the account and region of the ambient credentials.

use super::raw::RawTarget;
use super::{problem, Problem};
use crate::platform::assume::AssumedRole;

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

impl Target {
    /// The role a run acts as in this target, as journals record it.
    pub fn role(&self) -> AssumedRole {
        AssumedRole {
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            session_name: self.session_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fleet::config::FleetConfig;

    fn parse(text: &str) -> Result<FleetConfig, String> {
        FleetConfig::parse(text, "fleet.toml", None).map_err(|e| e.to_string())
    }

    const ONE: &str = "[[target]]\naccount = \"111111111111\"\nrole_arn = \"arn:aws:iam::111111111111:role/ops/memtune\"\nexternal_id = \"ext-1\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n";

    #[test]
    fn targets_parse_with_defaults() {
        let config = parse(ONE).unwrap();
        let t = &config.targets[0];
        assert_eq!(t.session_name, "memtune");
        assert_eq!(t.external_id.as_deref(), Some("ext-1"));
        assert_eq!(t.regions, ["eu-west-1", "us-east-1"]);
        assert!(parse("").unwrap().targets.is_empty());
    }

    #[test]
    fn bad_targets_are_one_line_with_their_place() {
        let wrong_role = ONE.replace("::111111111111:role", "::222222222222:role");
        let cases = [
            (
                ONE.replace("111111111111\"\nrole", "1111\"\nrole"),
                "fleet.toml:2: account = '1111' is not an AWS account id",
            ),
            (
                wrong_role,
                "fleet.toml:3: role_arn is in account 222222222222",
            ),
            (
                ONE.replace("[\"us-east-1\", \"eu-west-1\"]", "[]"),
                "fleet.toml:5: target 111111111111 has no regions",
            ),
            (
                ONE.replace("\"eu-west-1\"", "\"us-east-1\""),
                "lists a region twice",
            ),
            (
                ONE.replace("\"eu-west-1\"", "\"Europe\""),
                "'Europe' is not a region name",
            ),
            (ONE.replace("ext-1", "x"), "external_id must be 2 to 1224"),
            (
                format!("{ONE}{ONE}"),
                "account 111111111111 has two [[target]] entries",
            ),
        ];
        for (text, expected) in cases {
            let e = parse(&text).unwrap_err();
            assert!(e.contains(expected), "{e}");
        }
    }
}
