//! What `memtune patch` changes: per matched function, replace its memory literal, change a
//! shared default (SAM Globals, serverless provider) when every function inheriting it moves
//! to the same value, add a per-function override when only some do, and report values that
//! come from parameters or expressions instead of touching them. Provisioned and reserved
//! concurrency are replaced or added on the function the same way (with SAM's
//! `AutoPublishAlias` when a provisioned level needs one).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use super::cloudformation::{AUTO_PUBLISH_ALIAS, PROVISIONED_CONFIG};
use super::edit::{apply, Edit};
use super::matching::{Assigned, Assignment, Unmatched};
use super::template::{
    AliasName, Concurrency, Format, Kind, Memory, QualifierConfig, Setting, Template,
    TemplateFunction, Value,
};

/// The alias `memtune patch` adds with a SAM function's first provisioned concurrency when
/// no alias was asked for.
pub const DEFAULT_ALIAS: &str = "live";

/// One setting to write: where its values land, and for provisioned concurrency the alias
/// asked for per deployed function (`--provisioned FN:ALIAS=N`).
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub kind: Kind,
    pub assignment: &'a Assignment,
    pub aliases: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The deployed functions concerned, comma separated.
    pub functions: String,
    pub file: PathBuf,
    pub line: usize,
    /// `Orders`, `functions.resize`, `Globals.Function.MemorySize`.
    pub resource: String,
    pub kind: Kind,
    pub wanted: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A literal replaced.
    Change {
        old: u32,
    },
    /// A per-function memory line added; it ran with `was` from `from`.
    Add {
        was: u32,
        from: String,
    },
    /// A concurrency setting added where there was none, with what else had to be added.
    Added {
        also: Option<String>,
    },
    Unchanged,
    NotPatched {
        reason: String,
    },
}

/// A file's text before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchedFile {
    pub path: PathBuf,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub findings: Vec<Finding>,
    pub unmatched: Vec<(Kind, Unmatched)>,
    /// Only files that change.
    pub files: Vec<PatchedFile>,
}

/// A patch that would not do what it should: nothing is written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("patching {} would {why}; nothing was written (please report this)", path.display())]
pub struct UnsafePatch {
    pub path: PathBuf,
    /// What the patch would do to the file, e.g. "break it: ...".
    pub why: String,
}

/// Memory only, from a run.
pub fn plan(templates: &[Template], assignment: &Assignment) -> Result<Plan, UnsafePatch> {
    let no_aliases = BTreeMap::new();
    plan_all(
        templates,
        &[Wanted {
            kind: Kind::Memory,
            assignment,
            aliases: &no_aliases,
        }],
    )
}

pub fn plan_all(templates: &[Template], wanted: &[Wanted]) -> Result<Plan, UnsafePatch> {
    let mut plan = Plan::default();
    for w in wanted {
        plan.unmatched
            .extend(w.assignment.unmatched.iter().map(|u| (w.kind, u.clone())));
        for c in &w.assignment.conflicts {
            let t = &templates[c.at.template];
            let f = &t.functions[c.at.function];
            plan.findings.push(Finding {
                functions: c.function.clone(),
                file: t.path.clone(),
                line: f.line,
                resource: f.resource.clone(),
                kind: w.kind,
                wanted: c.value,
                outcome: Outcome::NotPatched {
                    reason: c.reason.clone(),
                },
            });
        }
    }
    for (index, template) in templates.iter().enumerate() {
        let mut edits = Vec::new();
        let mut all_matched = Vec::new();
        for w in wanted {
            let matched: BTreeMap<usize, &Assigned> = w
                .assignment
                .matched
                .iter()
                .filter(|(at, _)| at.template == index)
                .map(|(at, a)| (at.function, a))
                .collect();
            match w.kind {
                Kind::Memory => plan_memory(template, &matched, &mut edits, &mut plan.findings),
                kind => plan_concurrency(
                    template,
                    kind,
                    &matched,
                    w.aliases,
                    &mut edits,
                    &mut plan.findings,
                ),
            }
            all_matched.push((w.kind, matched, w.aliases));
        }
        if !edits.is_empty() {
            let after = apply(&template.text, &edits);
            verify(template, &after, &all_matched)?;
            plan.files.push(PatchedFile {
                path: template.path.clone(),
                before: template.text.clone(),
                after,
            });
        }
    }
    plan.findings
        .sort_by(|a, b| (&a.file, a.line, a.kind).cmp(&(&b.file, b.line, b.kind)));
    Ok(plan)
}

fn plan_memory(
    t: &Template,
    matched: &BTreeMap<usize, &Assigned>,
    edits: &mut Vec<Edit>,
    findings: &mut Vec<Finding>,
) {
    let finding = |functions: String, line: usize, resource: &str, mb: u32, outcome| Finding {
        functions,
        file: t.path.clone(),
        line,
        resource: resource.to_string(),
        kind: Kind::Memory,
        wanted: mb,
        outcome,
    };
    let key = t.format.memory_key();
    // Shared defaults whose inheritors all move to one value change as a whole.
    let mut default_moves: BTreeSet<usize> = BTreeSet::new();
    for (d, default) in t.defaults.iter().enumerate() {
        let inheritors: Vec<usize> = (0..t.functions.len())
            .filter(|&f| t.functions[f].memory == Memory::Inherited(d))
            .collect();
        let targets: Vec<u32> = inheritors
            .iter()
            .filter_map(|f| matched.get(f).map(|a| a.value))
            .collect();
        let (
            Value::Literal {
                number: old_mb,
                digits,
            },
            Some(&target),
        ) = (&default.setting.value, targets.first())
        else {
            continue;
        };
        if targets.len() == inheritors.len() && targets.iter().all(|&m| m == target) {
            default_moves.insert(d);
            let functions = inheritors
                .iter()
                .flat_map(|f| matched[f].functions.clone())
                .collect::<Vec<_>>()
                .join(", ");
            let outcome = if *old_mb == target {
                Outcome::Unchanged
            } else {
                edits.push(Edit {
                    range: digits.clone(),
                    text: target.to_string(),
                });
                Outcome::Change { old: *old_mb }
            };
            findings.push(finding(
                functions,
                default.setting.line,
                &default.name,
                target,
                outcome,
            ));
        }
    }
    for (&f, assigned) in matched {
        let function = &t.functions[f];
        let target = assigned.value;
        let names = assigned.functions.join(", ");
        let add = |was: u32, from: String, edits: &mut Vec<Edit>| {
            if was == target {
                return Outcome::Unchanged;
            }
            match &function.insertion {
                Some(ins) => {
                    edits.push(Edit {
                        range: ins.offset..ins.offset,
                        text: ins.entry(key, &target.to_string()),
                    });
                    Outcome::Add { was, from }
                }
                None => no_place(key),
            }
        };
        let (line, outcome) = match &function.memory {
            Memory::Own(s) => (s.line, replace(s, key, target, edits)),
            Memory::Inherited(d) if default_moves.contains(d) => continue,
            Memory::Inherited(d) => {
                let default = &t.defaults[*d];
                match &default.setting.value {
                    Value::Literal { number, .. } => (
                        added_line(function),
                        add(*number, default.name.clone(), edits),
                    ),
                    Value::Expression(e) => (
                        default.setting.line,
                        Outcome::NotPatched {
                            reason: format!("{key} comes from {} = {e}", default.name),
                        },
                    ),
                }
            }
            Memory::PlatformDefault(mb) => {
                (added_line(function), add(*mb, "the default".into(), edits))
            }
        };
        findings.push(finding(names, line, &function.resource, target, outcome));
    }
}

/// A literal replaced (or left when equal); an expression reported.
fn replace(setting: &Setting, key: &str, target: u32, edits: &mut Vec<Edit>) -> Outcome {
    match &setting.value {
        Value::Literal { number, .. } if *number == target => Outcome::Unchanged,
        Value::Literal { number, digits } => {
            edits.push(Edit {
                range: digits.clone(),
                text: target.to_string(),
            });
            Outcome::Change { old: *number }
        }
        Value::Expression(e) => Outcome::NotPatched {
            reason: format!("{key} comes from {e}"),
        },
    }
}

fn no_place(key: &str) -> Outcome {
    Outcome::NotPatched {
        reason: format!("no place to add {key} (no properties to write it beside)"),
    }
}

fn added_line(function: &TemplateFunction) -> usize {
    function
        .insertion
        .as_ref()
        .map_or(function.line, |i| i.line)
}

fn concurrency(function: &TemplateFunction, kind: Kind) -> &Concurrency {
    match kind {
        Kind::Provisioned => &function.provisioned,
        _ => &function.reserved,
    }
}

fn plan_concurrency(
    t: &Template,
    kind: Kind,
    matched: &BTreeMap<usize, &Assigned>,
    aliases: &BTreeMap<String, String>,
    edits: &mut Vec<Edit>,
    findings: &mut Vec<Finding>,
) {
    let key = t.format.key(kind);
    let sam = matches!(
        t.format,
        Format::CloudFormationYaml | Format::CloudFormationJson
    );
    for (&f, assigned) in matched {
        let function = &t.functions[f];
        let target = assigned.value;
        let mut line = function.line;
        let outcome = 'outcome: {
            let asked: BTreeSet<&String> = assigned
                .functions
                .iter()
                .filter_map(|name| aliases.get(name))
                .collect();
            if kind == Kind::Provisioned {
                if let Some(reason) = alias_mismatch(function.alias.as_ref(), &asked, t.format) {
                    break 'outcome Outcome::NotPatched { reason };
                }
            }
            // SAM puts a function's provisioned concurrency on the alias AutoPublishAlias
            // publishes.
            let on_sam_function = sam && matches!(function.provisioned, Concurrency::OnFunction(_));
            let alias_to_add =
                (kind == Kind::Provisioned && on_sam_function && function.alias.is_none())
                    .then(|| asked.first().map_or(DEFAULT_ALIAS, |a| a.as_str()));
            let before = edits.len();
            let outcome = match concurrency(function, kind) {
                Concurrency::Elsewhere(why) => Outcome::NotPatched {
                    reason: why.clone(),
                },
                Concurrency::PerQualifier {
                    holder,
                    configs,
                    add,
                } => {
                    let asked = asked.first().map(|a| a.as_str());
                    match pick(holder, configs, asked, add.is_some()) {
                        Pick::One(QualifierConfig {
                            setting: Some(setting),
                            ..
                        }) => {
                            line = setting.line;
                            replace(setting, key, target, edits)
                        }
                        Pick::One(config) => match &config.insertion {
                            Some(ins) => {
                                line = ins.line;
                                edits.push(Edit {
                                    range: ins.offset..ins.offset,
                                    text: ins.nested(PROVISIONED_CONFIG, key, &target.to_string()),
                                });
                                Outcome::Added {
                                    also: Some(format!("on {holder} {}", config.resource)),
                                }
                            }
                            None => no_place(PROVISIONED_CONFIG),
                        },
                        Pick::Unclear(reason) => Outcome::NotPatched { reason },
                        Pick::Add(alias) => match add {
                            Some(new) => {
                                line = new.line;
                                edits.push(Edit {
                                    range: new.offset..new.offset,
                                    text: new.text(alias, target),
                                });
                                Outcome::Added {
                                    also: Some(format!("a new {holder} for qualifier {alias}")),
                                }
                            }
                            None => Outcome::NotPatched {
                                reason: format!("it has no {holder} named {alias}; add one (with a version) first"),
                            },
                        },
                    }
                }
                Concurrency::OnFunction(Some(setting)) => {
                    line = setting.line;
                    replace(setting, key, target, edits)
                }
                Concurrency::OnFunction(None) => {
                    let Some(ins) = &function.insertion else {
                        break 'outcome no_place(key);
                    };
                    line = ins.line;
                    let text = match (kind, sam) {
                        (Kind::Provisioned, true) => {
                            ins.nested(PROVISIONED_CONFIG, key, &target.to_string())
                        }
                        _ => ins.entry(key, &target.to_string()),
                    };
                    edits.push(Edit {
                        range: ins.offset..ins.offset,
                        text,
                    });
                    Outcome::Added { also: None }
                }
            };
            match (alias_to_add, &function.insertion) {
                (Some(alias), Some(ins)) if edits.len() > before => {
                    let json = t.format == Format::CloudFormationJson;
                    edits.insert(
                        before,
                        Edit {
                            range: ins.offset..ins.offset,
                            text: ins.entry(AUTO_PUBLISH_ALIAS, &scalar(alias, json)),
                        },
                    );
                    let also = format!(
                        "also added {AUTO_PUBLISH_ALIAS}: {alias}, which SAM needs for provisioned concurrency: each deploy publishes a version and points alias {alias} at it"
                    );
                    match outcome {
                        Outcome::Change { old } => Outcome::Added {
                            also: Some(format!("was {old}; {also}")),
                        },
                        _ => Outcome::Added { also: Some(also) },
                    }
                }
                _ => outcome,
            }
        };
        findings.push(Finding {
            functions: assigned.functions.join(", "),
            file: t.path.clone(),
            line,
            resource: function.resource.clone(),
            kind,
            wanted: target,
            outcome,
        });
    }
}

enum Pick<'a> {
    One(&'a QualifierConfig),
    Add(&'a str),
    Unclear(String),
}

/// The Terraform config for the alias asked for (or the only one when none is asked for).
fn pick<'a>(
    holder: &str,
    configs: &'a [QualifierConfig],
    asked: Option<&'a str>,
    can_add: bool,
) -> Pick<'a> {
    let Some(alias) = asked else {
        return match configs {
            [one] => Pick::One(one),
            [] if can_add => Pick::Unclear(format!(
                "it has no {holder}; name the alias to add one: --provisioned FN:ALIAS=N"
            )),
            [] => Pick::Unclear(format!(
                "it has no {holder}; add one (with a version) first"
            )),
            _ => Pick::Unclear(format!(
                "it has several of {holder}; name the alias: --provisioned FN:ALIAS=N"
            )),
        };
    };
    if let Some(config) = configs
        .iter()
        .find(|c| c.qualifier == AliasName::Literal(alias.to_string()))
    {
        return Pick::One(config);
    }
    match configs.iter().find_map(|c| match &c.qualifier {
        AliasName::Expression(e) => Some((&c.resource, e)),
        AliasName::Literal(_) => None,
    }) {
        Some((resource, e)) => Pick::Unclear(format!(
            "the qualifier of {resource} comes from {e}; cannot tell whether it is {alias}"
        )),
        None => Pick::Add(alias),
    }
}

/// Why provisioned concurrency written here would not land on the alias asked for.
fn alias_mismatch(
    alias: Option<&AliasName>,
    asked: &BTreeSet<&String>,
    format: Format,
) -> Option<String> {
    let source = if format == Format::Serverless {
        "the Serverless Framework puts provisionedConcurrency on alias"
    } else {
        "AutoPublishAlias is"
    };
    if asked.len() > 1 {
        let all: Vec<&str> = asked.iter().map(|a| a.as_str()).collect();
        return Some(format!(
            "the deployed functions sharing this definition ask for different aliases ({})",
            all.join(", ")
        ));
    }
    let asked = asked.first()?;
    match alias? {
        AliasName::Literal(name) if name == *asked => None,
        AliasName::Literal(name) => Some(format!("{source} {name}, not {asked}")),
        AliasName::Expression(e) => Some(format!(
            "{AUTO_PUBLISH_ALIAS} comes from {e}; cannot tell whether it is {asked}"
        )),
    }
}

/// An alias name as a YAML or JSON scalar.
fn scalar(name: &str, json: bool) -> String {
    let plain = name.bytes().any(|b| b.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if json || !plain {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

/// The level a function has for a concurrency setting (on `alias`) according to the file.
fn level(function: &TemplateFunction, kind: Kind, alias: Option<&str>) -> Option<u32> {
    match concurrency(function, kind) {
        Concurrency::OnFunction(Some(s)) => s.value.literal(),
        Concurrency::PerQualifier {
            holder, configs, ..
        } => match pick(holder, configs, alias, false) {
            Pick::One(config) => config.setting.as_ref()?.value.literal(),
            _ => None,
        },
        _ => None,
    }
}

type Matched<'a> = (
    Kind,
    BTreeMap<usize, &'a Assigned>,
    &'a BTreeMap<String, String>,
);

/// The patched text must parse as the same kind of file and give every matched function the
/// value it was assigned (or leave it as it was when it could not be patched).
fn verify(t: &Template, after: &str, matched: &[Matched]) -> Result<(), UnsafePatch> {
    let fail = |why: String| UnsafePatch {
        path: t.path.clone(),
        why,
    };
    let patched =
        super::parse(&t.path, after.to_string()).map_err(|e| fail(format!("break it: {e}")))?;
    if patched.functions.len() != t.functions.len() {
        return Err(fail("change which functions it defines".into()));
    }
    for (kind, matched, aliases) in matched {
        for (&f, assigned) in matched {
            let (old, new) = (&t.functions[f], &patched.functions[f]);
            let alias = assigned
                .functions
                .iter()
                .find_map(|name| aliases.get(name))
                .map(String::as_str);
            let (before, now) = match kind {
                Kind::Memory => (t.effective(old).1, patched.effective(new).1),
                _ => (level(old, *kind, alias), level(new, *kind, alias)),
            };
            if now != before && now != Some(assigned.value) {
                return Err(fail(format!(
                    "give {} {} instead of {}",
                    old.resource,
                    now.map_or("nothing".into(), |n| kind.amount(n)),
                    kind.amount(assigned.value)
                )));
            }
            let sam = matches!(
                (t.format, &new.provisioned),
                (
                    Format::CloudFormationYaml | Format::CloudFormationJson,
                    Concurrency::OnFunction(_)
                )
            );
            if *kind == Kind::Provisioned && sam && now != before && new.alias.is_none() {
                return Err(fail(format!(
                    "give {} provisioned concurrency without an alias",
                    old.resource
                )));
            }
        }
    }
    Ok(())
}

impl Plan {
    /// One line per change, then what was not patched, unchanged and unmatched.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let at = |f: &Finding| {
            format!(
                "{}:{} {} ({})",
                f.file.display(),
                f.line,
                f.resource,
                f.functions
            )
        };
        for f in &self.findings {
            let (kind, n) = (f.kind, f.wanted);
            let _ = match &f.outcome {
                Outcome::Change { old } => writeln!(out, "{}: {}", at(f), kind.change(*old, n)),
                Outcome::Add { was, from } => writeln!(
                    out,
                    "{}: {} (added; was {} from {from})",
                    at(f),
                    kind.change(*was, n),
                    was
                ),
                Outcome::Added { also: None } => {
                    writeln!(out, "{}: {} (added)", at(f), kind.amount(n))
                }
                Outcome::Added { also: Some(also) } => {
                    writeln!(out, "{}: {} (added; {also})", at(f), kind.amount(n))
                }
                _ => Ok(()),
            };
        }
        for f in &self.findings {
            let _ = match &f.outcome {
                Outcome::NotPatched { reason } => writeln!(
                    out,
                    "not patched: {}: {reason}; suggested {}",
                    at(f),
                    match f.kind {
                        Kind::Memory => f.wanted.to_string(),
                        kind => kind.amount(f.wanted),
                    }
                ),
                Outcome::Unchanged => writeln!(
                    out,
                    "unchanged: {}: already {}",
                    at(f),
                    f.kind.amount(f.wanted)
                ),
                _ => Ok(()),
            };
        }
        for (kind, u) in &self.unmatched {
            let why = u.note.as_deref().unwrap_or("no given file defines it");
            let wanted = match kind {
                Kind::Memory => format!("recommended {}", kind.amount(u.value)),
                _ => kind.amount(u.value),
            };
            let _ = writeln!(out, "unmatched: {} ({wanted}): {why}", u.function);
        }
        out
    }

    pub fn changes(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| {
                matches!(
                    f.outcome,
                    Outcome::Change { .. } | Outcome::Add { .. } | Outcome::Added { .. }
                )
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::iac::matching::{assign, Mapping};
    use crate::iac::parse;
    use crate::iac::run::Recommendation;

    const SAM: &str = "\
Globals:
  Function:
    MemorySize: 512
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.handler
  B:
    Type: AWS::Serverless::Function
    Properties:
      Handler: b.handler
";

    fn run(text: &str, recs: &[(&str, u32)]) -> Plan {
        let templates = vec![parse(Path::new("template.yaml"), text.into()).unwrap()];
        let recs: Vec<Recommendation> = recs
            .iter()
            .map(|&(f, mb)| Recommendation::new(f, mb))
            .collect();
        plan(&templates, &assign(&templates, &recs, &Mapping::default())).unwrap()
    }

    #[test]
    fn all_inheritors_moving_together_change_globals() {
        let p = run(SAM, &[("A", 1024), ("B", 1024)]);
        assert_eq!(p.files[0].after, SAM.replace("512", "1024"));
        assert_eq!(p.findings.len(), 1);
        assert_eq!(p.findings[0].resource, "Globals.Function.MemorySize");
        assert_eq!(p.findings[0].functions, "A, B");
    }

    #[test]
    fn some_inheritors_moving_get_their_own_line() {
        let p = run(SAM, &[("A", 1024), ("B", 512)]);
        let after = &p.files[0].after;
        assert!(
            after.contains("    Properties:\n      MemorySize: 1024\n      Handler: a.handler\n")
        );
        assert!(after.contains("MemorySize: 512\n"), "Globals stays");
        assert!(p.summary().contains("template.yaml:8 A (A): 512 -> 1024 MB (added; was 512 from Globals.Function.MemorySize)"), "{}", p.summary());
        assert!(
            p.summary()
                .contains("unchanged: template.yaml:12 B (B): already 512 MB"),
            "{}",
            p.summary()
        );
    }

    #[test]
    fn expressions_are_reported_not_patched() {
        let text = SAM.replace("MemorySize: 512", "MemorySize: !Ref Mem");
        let p = run(&text, &[("A", 1024), ("B", 1024)]);
        assert!(p.files.is_empty());
        assert!(p.summary().contains("not patched: template.yaml:3 A (A): MemorySize comes from Globals.Function.MemorySize = !Ref Mem; suggested 1024"), "{}", p.summary());
        assert_eq!(p.changes(), 0);
    }

    fn config(qualifier: AliasName, level: Option<u32>) -> QualifierConfig {
        QualifierConfig {
            resource: "c".into(),
            qualifier,
            setting: level.map(|n| Setting {
                line: 1,
                value: Value::Literal {
                    number: n,
                    digits: 0..1,
                },
            }),
            insertion: None,
        }
    }

    #[test]
    fn the_config_for_an_alias_is_picked_or_the_reason_given() {
        let live = config(AliasName::Literal("live".into()), Some(2));
        let var = config(AliasName::Expression("var.a".into()), Some(1));
        let h = "holder";
        assert!(
            matches!(pick(h, std::slice::from_ref(&live), None, true), Pick::One(c) if c == &live)
        );
        assert!(
            matches!(pick(h, &[var.clone(), live.clone()], Some("live"), true), Pick::One(c) if c == &live)
        );
        assert!(matches!(
            pick(h, std::slice::from_ref(&live), Some("blue"), true),
            Pick::Add("blue")
        ));
        let Pick::Unclear(why) = pick(h, &[live.clone(), var.clone()], Some("blue"), true) else {
            panic!()
        };
        assert!(why.contains("comes from var.a"), "{why}");
        let Pick::Unclear(why) = pick(h, &[live.clone(), var], None, true) else {
            panic!()
        };
        assert!(why.contains("several"), "{why}");
        let Pick::Unclear(why) = pick(h, &[], None, false) else {
            panic!()
        };
        assert!(why.contains("add one (with a version) first"), "{why}");
    }

    #[test]
    fn alias_names_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("live", false), "live");
        assert_eq!(scalar("live", true), "\"live\"");
        assert_eq!(scalar("on", false), "\"on\"");
        assert_eq!(scalar("2024", false), "\"2024\"");
        assert_eq!(
            Kind::Provisioned.change(2, 5),
            "provisioned concurrency 2 -> 5"
        );
        assert_eq!(Kind::Memory.change(256, 512), "256 -> 512 MB");
    }
}
