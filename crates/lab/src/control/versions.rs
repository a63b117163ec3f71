//! Published versions and the aliases that point at them (with weighted routing).

use serde_json::{json, Value};

use super::{
    now_string, paginate, precondition_failed, random_uuid, with_marker, AliasState, FunctionState,
    Lab, PublishedVersion, LATEST,
};
use crate::aws_error::AwsError;

impl Lab {
    pub fn publish_version(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            lab.check_mutable(f, body)?;
            if let Some(sha) = body.get("CodeSha256").and_then(Value::as_str) {
                if sha != f.code_sha256 {
                    return Err(AwsError::invalid(format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                        f.code_sha256
                    )));
                }
            }
            // Lambda publishes nothing new when neither code nor configuration changed since
            // the last version: it returns that version.
            if let Some((n, last)) = f.versions.iter().next_back() {
                if last.config == f.active && last.code_sha256 == f.code_sha256 {
                    let n = n.to_string();
                    return Ok(lab.configuration_json(f, &n));
                }
            }
            let n = f.next_version;
            f.next_version += 1;
            let description = body
                .get("Description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let revision_id = random_uuid(&mut f.rng);
            f.counters.versions_published += 1;
            let ready_at = lab.snapshot_ready_at(f);
            f.versions.insert(
                n,
                PublishedVersion {
                    config: f.active.clone(),
                    code_sha256: f.code_sha256.clone(),
                    revision_id,
                    last_modified: now_string(),
                    description,
                    ready_at,
                },
            );
            Ok(lab.configuration_json(f, &n.to_string()))
        })
    }

    pub fn list_versions(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let mut all = vec![lab.configuration_json(f, LATEST)];
            all.extend(
                f.versions
                    .keys()
                    .map(|n| lab.configuration_json(f, &n.to_string())),
            );
            let (page, next) = paginate(all, marker, max_items)?;
            Ok(with_marker(json!({ "Versions": page }), next))
        })
    }

    fn alias_json(&self, name: &str, alias: &str, a: &AliasState) -> Value {
        let mut doc = json!({
            "AliasArn": format!("{}:{alias}", self.function_arn(name)),
            "Name": alias,
            "FunctionVersion": a.function_version,
            "Description": a.description,
            "RevisionId": a.revision_id,
        });
        if let Some((v, w)) = &a.routing {
            doc["RoutingConfig"] = json!({ "AdditionalVersionWeights": { v.clone(): w } });
        }
        doc
    }

    fn check_version(&self, f: &FunctionState, version: &str) -> Result<(), AwsError> {
        if version == LATEST {
            return Ok(());
        }
        match version.parse::<u32>() {
            Ok(n) if f.versions.contains_key(&n) => Ok(()),
            _ => Err(self.not_found(&f.profile.name, Some(version))),
        }
    }

    fn parse_routing(
        &self,
        f: &FunctionState,
        body: &Value,
    ) -> Result<Option<Option<(String, f64)>>, AwsError> {
        let Some(routing) = body.get("RoutingConfig") else {
            return Ok(None);
        };
        let weights = routing
            .get("AdditionalVersionWeights")
            .and_then(Value::as_object);
        match weights.map(|w| w.iter().collect::<Vec<_>>()) {
            None => Ok(Some(None)),
            Some(w) if w.is_empty() => Ok(Some(None)),
            Some(w) if w.len() == 1 => {
                // The HTTP layer checked the weight is a number within 0..=1.
                let (v, weight) = w[0];
                let weight = weight.as_f64().unwrap_or_default();
                self.check_version(f, v)?;
                Ok(Some(Some((v.clone(), weight))))
            }
            Some(_) => Err(AwsError::invalid(
                "Only one additional version can be specified in RoutingConfig",
            )),
        }
    }

    pub fn create_alias(&self, name: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            // The HTTP layer checked the name's pattern (lab::validation).
            let alias = body.get("Name").and_then(Value::as_str).unwrap_or("");
            let version = body
                .get("FunctionVersion")
                .and_then(Value::as_str)
                .ok_or_else(|| AwsError::invalid("FunctionVersion is required"))?;
            lab.check_version(f, version)?;
            if f.aliases.contains_key(alias) {
                return Err(AwsError::conflict(format!(
                    "Alias already exists: {}:{alias}",
                    lab.function_arn(name)
                )));
            }
            let routing = lab.parse_routing(f, body)?.flatten();
            let state = AliasState {
                function_version: version.to_string(),
                description: body
                    .get("Description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                revision_id: random_uuid(&mut f.rng),
                routing,
            };
            let doc = lab.alias_json(name, alias, &state);
            f.aliases.insert(alias.to_string(), state);
            Ok(doc)
        })
    }

    pub fn get_alias(&self, name: &str, alias: &str) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let a = f
                .aliases
                .get(alias)
                .ok_or_else(|| alias_not_found(lab, name, alias))?;
            Ok(lab.alias_json(name, alias, a))
        })
    }

    pub fn update_alias(&self, name: &str, alias: &str, body: &Value) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            if !f.aliases.contains_key(alias) {
                return Err(alias_not_found(lab, name, alias));
            }
            if let Some(v) = body.get("FunctionVersion").and_then(Value::as_str) {
                lab.check_version(f, v)?;
            }
            let routing = lab.parse_routing(f, body)?;
            let new_revision = random_uuid(&mut f.rng);
            let a = f.aliases.get_mut(alias).expect("checked above");
            if let Some(rev) = body.get("RevisionId").and_then(Value::as_str) {
                if rev != a.revision_id {
                    return Err(precondition_failed());
                }
            }
            let moved = body
                .get("FunctionVersion")
                .and_then(Value::as_str)
                .filter(|v| *v != a.function_version)
                .map(str::to_string);
            if let Some(v) = &moved {
                a.function_version = v.clone();
            }
            if let Some(d) = body.get("Description").and_then(Value::as_str) {
                a.description = d.to_string();
            }
            if let Some(r) = routing {
                a.routing = r;
            }
            a.revision_id = new_revision;
            let doc = lab.alias_json(name, alias, a);
            if moved.is_some() {
                // Its provisioned concurrency moves along: allocated again on the new version.
                Lab::reallocate(f, alias, lab.allocation_wait());
            }
            Ok(doc)
        })
    }

    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<(), AwsError> {
        self.with_function(name, None, |lab, f| {
            // Lambda answers 204 for an alias that does not exist.
            let _ = lab;
            f.aliases.remove(alias);
            f.provisioned.remove(alias);
            Ok(())
        })
    }

    pub fn list_aliases(
        &self,
        name: &str,
        function_version: Option<&str>,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let all: Vec<Value> = f
                .aliases
                .iter()
                .filter(|(_, a)| function_version.is_none_or(|v| a.function_version == v))
                .map(|(k, a)| lab.alias_json(name, k, a))
                .collect();
            let (page, next) = paginate(all, marker, max_items)?;
            Ok(with_marker(json!({ "Aliases": page }), next))
        })
    }
}

fn alias_not_found(lab: &Lab, name: &str, alias: &str) -> AwsError {
    AwsError::not_found(format!(
        "Alias not found: {}:{alias}",
        lab.function_arn(name)
    ))
}
