//! What `memtune patch` changes: per matched function, replace its memory literal, change a
//! shared default (SAM Globals, serverless provider) when every function inheriting it moves
//! to the same value, add a per-function override when only some do, and report values that
//! come from parameters or expressions instead of touching them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use super::edit::{apply, Edit};
use super::matching::{Assigned, Assignment, Unmatched};
use super::template::{Memory, Setting, Template, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The deployed functions concerned, comma separated.
    pub functions: String,
    pub file: PathBuf,
    pub line: usize,
    /// `Orders`, `functions.resize`, `Globals.Function.MemorySize`.
    pub resource: String,
    pub recommended_mb: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A literal replaced.
    Change {
        old_mb: u32,
    },
    /// A per-function line added; it ran with `was_mb` from `from`.
    Add {
        was_mb: u32,
        from: String,
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
    pub unmatched: Vec<Unmatched>,
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

pub fn plan(templates: &[Template], assignment: &Assignment) -> Result<Plan, UnsafePatch> {
    let mut plan = Plan {
        unmatched: assignment.unmatched.clone(),
        ..Plan::default()
    };
    for c in &assignment.conflicts {
        let t = &templates[c.at.template];
        let f = &t.functions[c.at.function];
        plan.findings.push(Finding {
            functions: c.function.clone(),
            file: t.path.clone(),
            line: f.line,
            resource: f.resource.clone(),
            recommended_mb: c.recommended_mb,
            outcome: Outcome::NotPatched {
                reason: c.reason.clone(),
            },
        });
    }
    for (index, template) in templates.iter().enumerate() {
        let matched: BTreeMap<usize, &Assigned> = assignment
            .matched
            .iter()
            .filter(|(at, _)| at.template == index)
            .map(|(at, a)| (at.function, a))
            .collect();
        let mut edits = Vec::new();
        plan_template(template, &matched, &mut edits, &mut plan.findings);
        if !edits.is_empty() {
            let after = apply(&template.text, &edits);
            verify(template, &after, &matched)?;
            plan.files.push(PatchedFile {
                path: template.path.clone(),
                before: template.text.clone(),
                after,
            });
        }
    }
    plan.findings
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(plan)
}

fn plan_template(
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
        recommended_mb: mb,
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
            .filter_map(|f| matched.get(f).map(|a| a.memory_mb))
            .collect();
        let (Value::Literal { mb: old_mb, digits }, Some(&target)) =
            (&default.setting.value, targets.first())
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
                Outcome::Change { old_mb: *old_mb }
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
        let target = assigned.memory_mb;
        let names = assigned.functions.join(", ");
        let add = |was_mb: u32, from: String, edits: &mut Vec<Edit>| {
            if was_mb == target {
                return Outcome::Unchanged;
            }
            match &function.insertion {
                Some(ins) => {
                    edits.push(Edit {
                        range: ins.offset..ins.offset,
                        text: ins.text(target),
                    });
                    Outcome::Add { was_mb, from }
                }
                None => Outcome::NotPatched {
                    reason: format!("no place to add {key} (no properties to write it beside)"),
                },
            }
        };
        let (line, outcome) = match &function.memory {
            Memory::Own(Setting {
                line,
                value: Value::Literal { mb, digits },
            }) => {
                let outcome = if *mb == target {
                    Outcome::Unchanged
                } else {
                    edits.push(Edit {
                        range: digits.clone(),
                        text: target.to_string(),
                    });
                    Outcome::Change { old_mb: *mb }
                };
                (*line, outcome)
            }
            Memory::Own(Setting {
                line,
                value: Value::Expression(e),
            }) => (
                *line,
                Outcome::NotPatched {
                    reason: format!("{key} comes from {e}"),
                },
            ),
            Memory::Inherited(d) if default_moves.contains(d) => continue,
            Memory::Inherited(d) => {
                let default = &t.defaults[*d];
                match &default.setting.value {
                    Value::Literal { mb, .. } => {
                        let line = function
                            .insertion
                            .as_ref()
                            .map_or(function.line, |i| i.line);
                        (line, add(*mb, default.name.clone(), edits))
                    }
                    Value::Expression(e) => (
                        default.setting.line,
                        Outcome::NotPatched {
                            reason: format!("{key} comes from {} = {e}", default.name),
                        },
                    ),
                }
            }
            Memory::PlatformDefault(mb) => {
                let line = function
                    .insertion
                    .as_ref()
                    .map_or(function.line, |i| i.line);
                (line, add(*mb, "the default".into(), edits))
            }
        };
        findings.push(finding(names, line, &function.resource, target, outcome));
    }
}

/// The patched text must parse as the same kind of file and give every matched function the
/// memory it was assigned (or leave it as it was when it could not be patched).
fn verify(
    t: &Template,
    after: &str,
    matched: &BTreeMap<usize, &Assigned>,
) -> Result<(), UnsafePatch> {
    let fail = |why: String| UnsafePatch {
        path: t.path.clone(),
        why,
    };
    let patched =
        super::parse(&t.path, after.to_string()).map_err(|e| fail(format!("break it: {e}")))?;
    if patched.functions.len() != t.functions.len() {
        return Err(fail("change which functions it defines".into()));
    }
    for (&f, assigned) in matched {
        let before = t.effective(&t.functions[f]).1;
        let now = patched.effective(&patched.functions[f]).1;
        if now != before && now != Some(assigned.memory_mb) {
            return Err(fail(format!(
                "give {} {now:?} MB instead of {}",
                t.functions[f].resource, assigned.memory_mb
            )));
        }
    }
    Ok(())
}

impl Plan {
    /// One line per change, then what was not patched, unchanged and unmatched.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let at = |f: &Finding| format!("{}:{}", f.file.display(), f.line);
        for f in &self.findings {
            let _ = match &f.outcome {
                Outcome::Change { old_mb } => writeln!(
                    out,
                    "{} {} ({}): {old_mb} -> {} MB",
                    at(f),
                    f.resource,
                    f.functions,
                    f.recommended_mb
                ),
                Outcome::Add { was_mb, from } => writeln!(
                    out,
                    "{} {} ({}): {was_mb} -> {} MB (added; was {was_mb} from {from})",
                    at(f),
                    f.resource,
                    f.functions,
                    f.recommended_mb
                ),
                _ => Ok(()),
            };
        }
        for f in &self.findings {
            let _ = match &f.outcome {
                Outcome::NotPatched { reason } => writeln!(
                    out,
                    "not patched: {} {} ({}): {reason}; suggested {}",
                    at(f),
                    f.resource,
                    f.functions,
                    f.recommended_mb
                ),
                Outcome::Unchanged => writeln!(
                    out,
                    "unchanged: {} {} ({}): already {} MB",
                    at(f),
                    f.resource,
                    f.functions,
                    f.recommended_mb
                ),
                _ => Ok(()),
            };
        }
        for u in &self.unmatched {
            let why = u.note.as_deref().unwrap_or("no given file defines it");
            let _ = writeln!(
                out,
                "unmatched: {} (recommended {} MB): {why}",
                u.function, u.recommended_mb
            );
        }
        out
    }

    pub fn changes(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Change { .. } | Outcome::Add { .. }))
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
}
