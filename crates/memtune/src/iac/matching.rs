//! Which template function deploys as which function: an explicit mapping file first, then
//! the name the template gives (`FunctionName`, `function_name`, serverless `name`; a `!Sub`
//! of a literal, or of `${AWS::StackName}-...` with the stack from the run), then the
//! logical id / function key equal to the deployed name, then the naming conventions
//! (CloudFormation `<stack>-<LogicalId>-<suffix>`, Serverless `<service>-<stage>-<key>`).
//!
//! Mapping file (TOML), for names no rule finds:
//! ```toml
//! "orders-prod" = "infra/template.yaml:OrdersFunction"   # file (path suffix) : resource key
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::cloudformation::STACK_NAME;
use super::run::Recommendation;
use super::template::{Naming, Template, TemplateFunction};

/// A function within the loaded templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionRef {
    pub template: usize,
    pub function: usize,
}

/// A mapping file memtune cannot read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("not a mapping file: {0}")]
    NotToml(String),
    #[error("\"{deployed}\" = \"{target}\": write the target as \"path/to/template:ResourceKey\"")]
    BadTarget { deployed: String, target: String },
}

/// Deployed name -> (file path suffix, resource key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping(BTreeMap<String, (String, String)>);

impl Mapping {
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let raw: BTreeMap<String, String> =
            toml::from_str(text).map_err(|e| MappingError::NotToml(e.message().to_string()))?;
        let mut entries = BTreeMap::new();
        for (deployed, target) in raw {
            let Some((file, key)) = target
                .rsplit_once(':')
                .filter(|(f, k)| !f.is_empty() && !k.is_empty())
            else {
                return Err(MappingError::BadTarget { deployed, target });
            };
            entries.insert(deployed, (file.to_string(), key.to_string()));
        }
        Ok(Mapping(entries))
    }
}

/// Where the wanted values (a run's memory, or concurrency levels) land.
#[derive(Debug, Default, PartialEq)]
pub struct Assignment {
    /// Each matched template function with the deployed functions (one or more, agreeing on
    /// the value) that map to it.
    pub matched: BTreeMap<FunctionRef, Assigned>,
    /// Matched, but not patchable as one value: several candidates, or deployed functions
    /// that disagree.
    pub conflicts: Vec<Conflict>,
    pub unmatched: Vec<Unmatched>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub functions: Vec<String>,
    pub value: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub at: FunctionRef,
    pub function: String,
    pub value: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub function: String,
    pub value: u32,
    /// Set when a mapping entry names something no file defines.
    pub note: Option<String>,
}

pub fn assign(templates: &[Template], recs: &[Recommendation], mapping: &Mapping) -> Assignment {
    let mut assignment = Assignment::default();
    let mut found: BTreeMap<FunctionRef, Vec<&Recommendation>> = BTreeMap::new();
    for rec in recs {
        match locate(templates, rec, mapping) {
            Located::One(at) => found.entry(at).or_default().push(rec),
            Located::Many(candidates) => {
                let names: Vec<String> =
                    candidates.iter().map(|c| describe(templates, *c)).collect();
                assignment.conflicts.push(Conflict {
                    at: candidates[0],
                    function: rec.function.clone(),
                    value: rec.value,
                    reason: format!(
                        "{} matches several template functions ({}); name one in a --mapping file",
                        rec.function,
                        names.join(", ")
                    ),
                });
            }
            Located::None(note) => assignment.unmatched.push(Unmatched {
                function: rec.function.clone(),
                value: rec.value,
                note,
            }),
        }
    }
    let hint = named_by_expression(templates, |at| found.contains_key(&at));
    for u in assignment.unmatched.iter_mut().filter(|u| u.note.is_none()) {
        u.note.clone_from(&hint);
    }
    for (at, recs) in found {
        let value = recs[0].value;
        if recs.iter().all(|r| r.value == value) {
            let functions = recs.iter().map(|r| r.function.clone()).collect();
            assignment.matched.insert(at, Assigned { functions, value });
            continue;
        }
        let all: Vec<String> = recs
            .iter()
            .map(|r| format!("{} {}", r.function, r.value))
            .collect();
        for rec in &recs {
            assignment.conflicts.push(Conflict {
                at,
                function: rec.function.clone(),
                value: rec.value,
                reason: format!(
                    "deployed functions sharing this definition disagree ({})",
                    all.join(", ")
                ),
            });
        }
    }
    assignment
}

/// `template.yaml:Orders`, for messages.
pub fn describe(templates: &[Template], at: FunctionRef) -> String {
    let t = &templates[at.template];
    format!("{}:{}", t.path.display(), t.functions[at.function].resource)
}

/// A hint for unmatched names: the functions left whose deployed name memtune cannot compute.
fn named_by_expression(
    templates: &[Template],
    matched: impl Fn(FunctionRef) -> bool,
) -> Option<String> {
    let unknown: Vec<String> = templates
        .iter()
        .enumerate()
        .flat_map(|(t, tpl)| {
            tpl.functions
                .iter()
                .enumerate()
                .filter_map(move |(f, function)| {
                    matches!(function.naming, Naming::Unknown | Naming::StackName(_)).then_some((
                        FunctionRef {
                            template: t,
                            function: f,
                        },
                        tpl,
                        function,
                    ))
                })
        })
        .filter(|(at, ..)| !matched(*at))
        .map(|(_, tpl, f)| format!("{}:{}", tpl.path.display(), f.key))
        .collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "no given file names it; {} named by an expression, map with --mapping",
            unknown.join(", ")
        )
    })
}

enum Located {
    One(FunctionRef),
    Many(Vec<FunctionRef>),
    None(Option<String>),
}

fn locate(templates: &[Template], rec: &Recommendation, mapping: &Mapping) -> Located {
    let deployed = rec.function.as_str();
    let all = || {
        templates.iter().enumerate().flat_map(|(t, tpl)| {
            tpl.functions.iter().enumerate().map(move |(f, function)| {
                (
                    FunctionRef {
                        template: t,
                        function: f,
                    },
                    &tpl.path,
                    function,
                )
            })
        })
    };
    if let Some((file, key)) = mapping.0.get(deployed) {
        let hits: Vec<FunctionRef> = all()
            .filter(|(_, path, f)| &f.key == key && path.ends_with(Path::new(file)))
            .map(|(at, ..)| at)
            .collect();
        return match hits.as_slice() {
            [] => Located::None(Some(format!(
                "the mapping names {file}:{key}, which no given file defines"
            ))),
            [one] => Located::One(*one),
            _ => Located::Many(hits),
        };
    }
    let named = |f: &TemplateFunction| match (&f.naming, &rec.stack_name) {
        (Naming::Explicit(name), _) => name == deployed,
        (Naming::StackName(pattern), Some(stack)) => pattern.replace(STACK_NAME, stack) == deployed,
        _ => false,
    };
    let rules: [&dyn Fn(&TemplateFunction) -> bool; 3] = [
        &named,
        &|f| !matches!(f.naming, Naming::Explicit(_)) && f.key == deployed,
        &|f| follows_convention(f, deployed),
    ];
    for rule in rules {
        let hits: Vec<FunctionRef> = all()
            .filter(|(_, _, f)| rule(f))
            .map(|(at, ..)| at)
            .collect();
        match hits.len() {
            0 => continue,
            1 => return Located::One(hits[0]),
            _ => return Located::Many(hits),
        }
    }
    Located::None(None)
}

fn follows_convention(f: &TemplateFunction, deployed: &str) -> bool {
    match &f.naming {
        Naming::CloudFormation => deployed.contains(&format!("-{}-", f.key)),
        Naming::Serverless { service } => {
            let prefix_ok = service
                .as_ref()
                .is_none_or(|s| deployed.starts_with(&format!("{s}-")));
            prefix_ok && deployed.ends_with(&format!("-{}", f.key))
        }
        Naming::Explicit(_) | Naming::StackName(_) | Naming::Unknown => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iac::parse;

    fn templates() -> Vec<Template> {
        let sam = "Resources:\n  Orders:\n    Type: AWS::Serverless::Function\n  Named:\n    Type: AWS::Lambda::Function\n    Properties:\n      FunctionName: image-resize\n";
        let sls =
            "service: shop\nfunctions:\n  orders:\n    handler: h\n  report:\n    handler: h\n";
        vec![
            parse(Path::new("infra/template.yaml"), sam.into()).unwrap(),
            parse(Path::new("serverless.yml"), sls.into()).unwrap(),
        ]
    }

    fn rec(name: &str, mb: u32) -> Recommendation {
        Recommendation::new(name, mb)
    }

    fn at(template: usize, function: usize) -> FunctionRef {
        FunctionRef { template, function }
    }

    #[test]
    fn rules_in_order_of_certainty() {
        let t = templates();
        let recs = [
            rec("image-resize", 1024),
            rec("mystack-Orders-1AB2C3", 512),
            rec("shop-prod-report", 256),
            rec("Named", 999),
            rec("stranger", 128),
        ];
        let a = assign(&t, &recs, &Mapping::default());
        assert_eq!(a.matched[&at(0, 1)].functions, ["image-resize"]);
        assert_eq!(a.matched[&at(0, 0)].value, 512);
        assert_eq!(a.matched[&at(1, 1)].functions, ["shop-prod-report"]);
        // A function named explicitly is not matched by its logical id.
        let unmatched: Vec<&str> = a.unmatched.iter().map(|u| u.function.as_str()).collect();
        assert_eq!(unmatched, ["Named", "stranger"]);
    }

    #[test]
    fn ambiguity_and_disagreement_are_conflicts() {
        let t = templates();
        // "orders" is both the SAM logical id (case differs: no) and the serverless key.
        let a = assign(
            &t,
            &[rec("shop-dev-orders", 512), rec("shop-prod-orders", 1024)],
            &Mapping::default(),
        );
        assert!(a.matched.is_empty());
        assert_eq!(a.conflicts.len(), 2);
        assert!(
            a.conflicts[0].reason.contains("disagree"),
            "{:?}",
            a.conflicts
        );
        let a = assign(&t, &[rec("x-orders-Orders-y", 512)], &Mapping::default());
        assert_eq!(a.matched.len(), 1, "{a:?}");
    }

    #[test]
    fn mapping_file_wins_and_must_point_somewhere() {
        let t = templates();
        let m = Mapping::parse(
            "\"legacy-name\" = \"template.yaml:Orders\"\n\"gone\" = \"serverless.yml:nope\"\n",
        )
        .unwrap();
        let a = assign(&t, &[rec("legacy-name", 2048), rec("gone", 128)], &m);
        assert_eq!(a.matched[&at(0, 0)].value, 2048);
        assert!(a.unmatched[0]
            .note
            .as_ref()
            .unwrap()
            .contains("serverless.yml:nope"));
        assert!(Mapping::parse("\"a\" = \"no-colon\"")
            .unwrap_err()
            .to_string()
            .contains("path/to/template"));
    }
}
