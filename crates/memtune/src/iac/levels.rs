//! Concurrency levels given on the command line: `--provisioned FN[:ALIAS]=N` and
//! `--reserved FN=N`, checked before any file is read.

use super::run::Recommendation;
use super::template::Kind;

/// A level for one deployed function (and for provisioned concurrency, the alias it is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub function: String,
    pub alias: Option<String>,
    pub value: u32,
}

/// A level memtune cannot use, with how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag} {given}: {problem}")]
pub struct BadLevel {
    pub flag: &'static str,
    pub given: String,
    pub problem: String,
}

pub fn flag(kind: Kind) -> &'static str {
    match kind {
        Kind::Provisioned => "provisioned",
        _ => "reserved",
    }
}

/// Every `given` level of `kind`, or the first one that is wrong.
pub fn parse(kind: Kind, given: &[String]) -> Result<Vec<Level>, BadLevel> {
    let mut levels: Vec<Level> = Vec::new();
    for text in given {
        let bad = |problem: String| BadLevel {
            flag: flag(kind),
            given: text.clone(),
            problem,
        };
        let level = parse_one(kind, text).map_err(bad)?;
        if levels.iter().any(|l| l.function == level.function) {
            return Err(bad(format!(
                "{} is given twice; give each function one level",
                level.function
            )));
        }
        levels.push(level);
    }
    Ok(levels)
}

fn parse_one(kind: Kind, text: &str) -> Result<Level, String> {
    let usage = match kind {
        Kind::Provisioned => "write FN[:ALIAS]=N, e.g. orders-api:live=5",
        _ => "write FN=N, e.g. orders-api=50",
    };
    let (target, n) = text.rsplit_once('=').ok_or_else(|| usage.to_string())?;
    let value: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a whole number; {usage}"))?;
    if kind == Kind::Provisioned && value == 0 {
        return Err("provisioned concurrency must be at least 1 (remove the setting from the template to turn it off)".into());
    }
    let (function, alias) = match target.split_once(':') {
        Some((f, a)) => (f, Some(a)),
        None => (target, None),
    };
    if function.is_empty()
        || function.len() > 64
        || !function
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{function:?} is not a function name (letters, digits, - and _, at most 64); {usage}"
        ));
    }
    if let Some(alias) = alias {
        if kind != Kind::Provisioned {
            return Err(format!(
                "reserved concurrency is set on the function, not an alias; {usage}"
            ));
        }
        let valid = !alias.is_empty()
            && alias.len() <= 128
            && alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !alias.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(format!(
                "{alias:?} is not an alias name (letters, digits, - and _, not only digits; $LATEST cannot have provisioned concurrency); {usage}"
            ));
        }
    }
    Ok(Level {
        function: function.to_string(),
        alias: alias.map(str::to_string),
        value,
    })
}

/// The levels as values to match to template functions.
pub fn recommendations(levels: &[Level]) -> Vec<Recommendation> {
    levels
        .iter()
        .map(|l| Recommendation::new(&l.function, l.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(kind: Kind, text: &str) -> Result<Level, BadLevel> {
        parse(kind, &[text.to_string()]).map(|mut l| l.remove(0))
    }

    #[test]
    fn reads_function_alias_and_level() {
        assert_eq!(
            one(Kind::Provisioned, "orders-api:live=5").unwrap(),
            Level {
                function: "orders-api".into(),
                alias: Some("live".into()),
                value: 5
            }
        );
        let reserved = one(Kind::Reserved, "orders=0").unwrap();
        assert_eq!((reserved.alias, reserved.value), (None, 0));
    }

    #[test]
    fn bad_levels_say_what_is_wrong_and_how_to_write_them() {
        let cases = [
            (Kind::Provisioned, "orders", "write FN[:ALIAS]=N"),
            (Kind::Provisioned, "orders=five", "not a whole number"),
            (Kind::Provisioned, "orders=-1", "not a whole number"),
            (Kind::Provisioned, "orders=0", "at least 1"),
            (Kind::Provisioned, "orders:$LATEST=2", "not an alias name"),
            (Kind::Provisioned, "orders:12=2", "not an alias name"),
            (Kind::Provisioned, "=2", "not a function name"),
            (Kind::Reserved, "orders:live=2", "set on the function"),
        ];
        for (kind, text, problem) in cases {
            let err = one(kind, text).unwrap_err().to_string();
            assert!(err.contains(problem), "{text}: {err}");
            assert!(
                err.starts_with(&format!("--{} {text}: ", flag(kind))),
                "{err}"
            );
        }
        let twice = parse(Kind::Reserved, &["a=1".into(), "a=2".into()]).unwrap_err();
        assert!(twice.to_string().contains("a is given twice"), "{twice}");
    }
}
