//! `--traffic ALIAS[:SHARE]` (and `traffic = "live:5%"` in fleet configs): which alias's
//! production traffic a canary run samples, and what share of it one candidate gets.

use std::fmt;

/// The share of the alias's traffic a candidate gets unless one is given.
pub const DEFAULT_SHARE: f64 = 0.05;
/// The largest share a candidate may get unless the cap is configured.
pub const DEFAULT_MAX_SHARE: f64 = 0.10;

/// An alias and the share (0..1) of its invocations routed to one candidate at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    pub alias: String,
    pub share: f64,
}

impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.alias, percent(self.share))
    }
}

/// A share as a percentage: `5%`, `2.5%`.
pub fn percent(share: f64) -> String {
    format!("{}%", (share * 1000.0).round() / 10.0)
}

/// Parses a percentage, `5%` or `5` (meaning 5%), above 0 and at most 100.
pub fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().trim_end_matches('%').trim();
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value > 0.0 && value <= 100.0).then_some(value / 100.0)
}

/// Parses `ALIAS[:SHARE]`; the share must not exceed `max_share`. The error is one line
/// saying what is wrong and how to fix it.
pub fn parse(spec: &str, max_share: f64) -> Result<Traffic, String> {
    let (alias, share) = match spec.split_once(':') {
        Some((alias, share)) => (alias, Some(share)),
        None => (spec, None),
    };
    if !valid_alias(alias) {
        return Err(format!(
            "'{alias}' is not an alias name: use letters, digits, - and _ (not only digits), as in --traffic live:5%"
        ));
    }
    let share = match share {
        None => DEFAULT_SHARE.min(max_share),
        Some(text) => parse_percent(text).ok_or_else(|| {
            format!("'{text}' is not a share of traffic: use a percentage above 0, as in --traffic {alias}:5%")
        })?,
    };
    if share > max_share + 1e-12 {
        return Err(format!(
            "a canary share of {} is above the cap of {}: use a smaller share, or raise the cap (--max-share)",
            percent(share),
            percent(max_share)
        ));
    }
    Ok(Traffic {
        alias: alias.to_string(),
        share,
    })
}

/// Lambda's alias names: 1-128 of letters, digits, - and _, not all digits (those are
/// versions).
fn valid_alias(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_alone_gets_the_default_share() {
        let t = parse("live", DEFAULT_MAX_SHARE).unwrap();
        assert_eq!((t.alias.as_str(), t.share), ("live", 0.05));
        assert_eq!(t.to_string(), "live:5%");
        // A cap below the default lowers the default with it.
        assert_eq!(parse("live", 0.02).unwrap().share, 0.02);
    }

    #[test]
    fn shares_are_percentages_with_or_without_the_sign() {
        assert_eq!(parse("live:2.5%", 0.1).unwrap().share, 0.025);
        assert_eq!(parse("prod_1:10", 0.1).unwrap().share, 0.1);
    }

    #[test]
    fn bad_specs_say_what_to_write() {
        for bad in [
            "",
            ":5%",
            "7:5%",
            "li ve",
            "live:0",
            "live:-1%",
            "live:abc",
            "live:101%",
        ] {
            let e = parse(bad, 1.0).unwrap_err();
            assert!(e.contains("--traffic"), "{bad}: {e}");
        }
        let e = parse("live:20%", 0.1).unwrap_err();
        assert!(e.contains("above the cap of 10%"), "{e}");
    }
}
