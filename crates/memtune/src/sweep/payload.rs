//! Invocation payloads: one JSON document or a weighted set, with `{{uuid}}`, `{{seq}}` and
//! `{{now}}` placeholders so each invocation can carry its own idempotency key.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a run invoked with, as far as reproducing it goes (the payload itself is the user's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    /// The empty event `{}`: no payload was given.
    Empty,
    /// One payload (`--payload`).
    #[default]
    One,
    /// Weighted payloads (`--payloads`).
    Weighted,
}

/// Payloads that are not JSON, or a weighted set that is not one.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("weighted payloads must be a JSON array of {{\"weight\", \"payload\"}}: {0}")]
    NotAWeightedSet(serde_json::Error),
    #[error("weighted payloads: the array is empty")]
    EmptySet,
    #[error("weighted payloads: entry {0} needs a weight > 0")]
    NoWeight(usize),
    /// `index` is shown only in a set of more than one.
    #[error("payload{} is not valid JSON: {source}", index.map(|i| format!(" {i}")).unwrap_or_default())]
    NotJson {
        index: Option<usize>,
        source: serde_json::Error,
    },
}

/// Payload templates and how often each is used.
#[derive(Debug, Clone, PartialEq)]
pub struct Payloads {
    templates: Vec<(f64, String)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightedEntry {
    #[serde(default = "one")]
    weight: f64,
    payload: serde_json::Value,
}

fn one() -> f64 {
    1.0
}

impl Payloads {
    /// A single payload template, checked to be JSON once placeholders are filled in.
    pub fn single(template: &str) -> Result<Payloads, PayloadError> {
        let payloads = Payloads {
            templates: vec![(1.0, template.to_string())],
        };
        payloads.check()?;
        Ok(payloads)
    }

    pub fn kind(&self) -> PayloadKind {
        match self.templates.as_slice() {
            [(_, only)] if only.trim() == "{}" => PayloadKind::Empty,
            [_] => PayloadKind::One,
            _ => PayloadKind::Weighted,
        }
    }

    /// `[{"weight": 3, "payload": {...}}, ...]`; string payloads are used as templates.
    pub fn weighted(json: &str) -> Result<Payloads, PayloadError> {
        let entries: Vec<WeightedEntry> =
            serde_json::from_str(json).map_err(PayloadError::NotAWeightedSet)?;
        if entries.is_empty() {
            return Err(PayloadError::EmptySet);
        }
        let mut templates = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            if !(e.weight.is_finite() && e.weight > 0.0) {
                return Err(PayloadError::NoWeight(i));
            }
            let text = match e.payload {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            templates.push((e.weight, text));
        }
        let payloads = Payloads { templates };
        payloads.check()?;
        Ok(payloads)
    }

    fn check(&self) -> Result<(), PayloadError> {
        let several = self.templates.len() > 1;
        for (i, (_, t)) in self.templates.iter().enumerate() {
            let filled = fill(t, 0);
            serde_json::from_str::<serde::de::IgnoredAny>(&filled).map_err(|source| {
                PayloadError::NotJson {
                    index: several.then_some(i),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Hex SHA-256 of the templates and weights: equal digests, the same payloads.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for (weight, template) in &self.templates {
            h.update(weight.to_bits().to_le_bytes());
            h.update((template.len() as u64).to_le_bytes());
            h.update(template.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The most bytes a template can fill in to, and which template that is (0-based): each
    /// placeholder counted at its longest (`{{seq}}` as the largest u64, `{{now}}` with
    /// nanoseconds).
    pub fn largest(&self) -> (usize, usize) {
        const LONGEST: [(&str, usize); 3] = [
            ("{{uuid}}", 36),
            ("{{seq}}", 20),
            ("{{now}}", "2026-01-01T00:00:00.000000000+00:00".len()),
        ];
        let bytes = |t: &str| {
            LONGEST.iter().fold(t.len(), |n, (placeholder, longest)| {
                n + t.matches(placeholder).count() * longest.saturating_sub(placeholder.len())
            })
        };
        self.templates
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (i, bytes(t)))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, 0))
    }

    /// How many templates there are.
    pub fn count(&self) -> usize {
        self.templates.len()
    }

    /// A deterministic picker: the same seed gives the same sequence of payload choices.
    pub fn picker(&self, seed: u64) -> PayloadPicker<'_> {
        PayloadPicker {
            payloads: self,
            rng: StdRng::seed_from_u64(seed),
            total: self.templates.iter().map(|(w, _)| w).sum(),
        }
    }
}

pub struct PayloadPicker<'a> {
    payloads: &'a Payloads,
    rng: StdRng,
    total: f64,
}

impl PayloadPicker<'_> {
    /// The payload of invocation number `seq`.
    pub fn next(&mut self, seq: u64) -> Vec<u8> {
        let mut x = self.rng.random::<f64>() * self.total;
        let templates = &self.payloads.templates;
        let chosen = templates
            .iter()
            .find(|(w, _)| {
                x -= w;
                x < 0.0
            })
            .unwrap_or(&templates[templates.len() - 1]);
        fill(&chosen.1, seq).into_bytes()
    }
}

fn fill(template: &str, seq: u64) -> String {
    if !template.contains("{{") {
        return template.to_string();
    }
    template
        .replace("{{uuid}}", &uuid::Uuid::new_v4().to_string())
        .replace("{{seq}}", &seq.to_string())
        .replace("{{now}}", &chrono::Utc::now().to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let p = Payloads::single(r#"{"key": "{{uuid}}", "n": {{seq}}, "at": "{{now}}"}"#).unwrap();
        let mut pick = p.picker(1);
        let a: serde_json::Value = serde_json::from_slice(&pick.next(7)).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&pick.next(8)).unwrap();
        assert_eq!(a["n"], 7);
        assert_ne!(a["key"], b["key"]);
    }

    #[test]
    fn the_digest_follows_templates_and_weights() {
        let a = Payloads::single(r#"{"a": 1}"#).unwrap();
        assert_eq!(
            a.digest(),
            Payloads::single(r#"{"a": 1}"#).unwrap().digest()
        );
        assert_ne!(
            a.digest(),
            Payloads::single(r#"{"a": 2}"#).unwrap().digest()
        );
        let w = |x: u32| format!(r#"[{{"weight": {x}, "payload": {{"a": 1}}}}]"#);
        assert_ne!(
            Payloads::weighted(&w(1)).unwrap().digest(),
            Payloads::weighted(&w(2)).unwrap().digest()
        );
    }

    #[test]
    fn the_largest_payload_counts_placeholders_at_their_longest() {
        let p = Payloads::weighted(
            r#"[{"payload": {"a": 1}}, {"payload": "{\"k\": \"{{uuid}}\", \"n\": {{seq}}, \"t\": \"{{now}}\"}"}]"#,
        )
        .unwrap();
        let (which, bytes) = p.largest();
        assert_eq!(which, 1);
        let mut pick = p.picker(1);
        let filled = (0..50)
            .map(|i| pick.next(u64::MAX - i).len())
            .max()
            .unwrap();
        assert!(filled <= bytes, "{filled} > {bytes}");
        assert!(bytes - filled <= 10, "bound {bytes} far above {filled}");
    }

    #[test]
    fn malformed_json_is_rejected() {
        let e = Payloads::single("{not json").unwrap_err();
        assert!(
            e.to_string().starts_with("payload is not valid JSON"),
            "{e}"
        );
    }

    #[test]
    fn weights_are_respected() {
        let p = Payloads::weighted(
            r#"[{"weight": 3, "payload": {"a": 1}}, {"weight": 1, "payload": {"b": 1}}]"#,
        )
        .unwrap();
        let mut pick = p.picker(42);
        let a = (0..4000)
            .filter(|i| pick.next(*i).starts_with(b"{\"a\""))
            .count();
        assert!((2800..3200).contains(&a), "{a}");
        assert!(Payloads::weighted("[]").is_err());
        assert!(Payloads::weighted(r#"[{"weight": 0, "payload": {}}]"#).is_err());
    }
}
