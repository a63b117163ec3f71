//! The IAM permissions a run needs, checked by [`Probe`]s before it changes anything.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;

use super::PreflightError;
use crate::platform::probe::Probe;
use crate::platform::{FunctionConfig, LambdaApi, PlatformError, PlatformResult};
use crate::sweep::clone::clone_name;

/// What a run will call on a function besides reading its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// A sweep: set memory, publish versions, invoke them, then find and delete them (and
    /// whatever a restore may find to delete).
    pub sweep: bool,
    /// Applying through an alias (fleet auto-apply with `via_alias`).
    pub update_alias: bool,
    /// Sweeping a temporary copy of each function (`--isolate clone`): GetFunction on the
    /// function; CreateFunction passing its role, the sweep and the deletions on the copy's
    /// name (which IAM may treat apart).
    pub copy: bool,
}

/// Functions checked at once in a fleet run.
const FUNCTIONS_AT_ONCE: usize = 8;
/// A throttled probe is tried again this many times.
const THROTTLE_RETRIES: u32 = 4;

/// IAM refused actions the run needs: on which functions, and which actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    pub functions: Vec<String>,
    pub actions: BTreeSet<&'static str>,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let actions: Vec<String> = self
            .actions
            .iter()
            .map(|a| format!("{a} ({})", why(a)))
            .collect();
        let on = match self.functions.as_slice() {
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} and {} more functions", rest.len()),
            [] => "the function".into(),
        };
        write!(
            f,
            "IAM denies {} on {on}: grant {} as docs/iam.md shows; nothing was changed or invoked",
            actions.join(", "),
            if self.actions.len() == 1 {
                "it"
            } else {
                "them"
            }
        )
    }
}

/// What memtune does with an action, for the line that says it is denied.
fn why(action: &str) -> &'static str {
    match action {
        "lambda:ListVersionsByFunction" => "to find the versions it published",
        "lambda:ListAliases" => "to find aliases on the versions it published",
        "lambda:InvokeFunction" => "to invoke the versions it measures",
        "lambda:UpdateFunctionConfiguration" => "to set and restore memory",
        "lambda:PublishVersion" => "to publish a version per memory size",
        "lambda:DeleteFunction" => "to delete the versions it publishes",
        "lambda:DeleteAlias" => "to delete aliases an interrupted run left",
        "lambda:UpdateAlias" => "to apply through the alias",
        "lambda:GetFunction" => "to read the code and environment it copies",
        "lambda:CreateFunction" => "to create the temporary copy",
        "iam:PassRole" => "to give the copy the function's execution role",
        "logs:DeleteLogGroup" => "to delete the copy's log group",
        "lambda:TagResource" => "to tag the copy as memtune's, on creation",
        _ => "needed by the run",
    }
}

/// The probes for a function and what the run needs; `spare_alias` is an alias name the
/// function does not have.
pub fn probes(
    needs: &Needs,
    function: &FunctionConfig,
    target: &str,
    spare_alias: &str,
) -> Vec<Probe> {
    let mut out = Vec::new();
    if needs.copy {
        let role = &function.settings.role;
        out.extend([
            Probe::CreateFunction { role: role.clone() },
            Probe::PassRole { role: role.clone() },
            Probe::TagCopy {
                arn: sibling_arn(&function.arn, target),
            },
            Probe::DeleteCopy,
            Probe::DeleteLogGroup,
        ]);
    }
    if needs.sweep {
        out.extend([
            Probe::ListVersions,
            Probe::ListAliases,
            Probe::Invoke,
            Probe::UpdateConfiguration {
                memory_mb: function.memory_mb,
            },
            Probe::PublishVersion,
            Probe::DeleteVersion,
            Probe::DeleteAlias {
                alias: spare_alias.to_string(),
            },
        ]);
    }
    if needs.update_alias {
        out.push(Probe::UpdateAlias {
            alias: spare_alias.to_string(),
        });
    }
    out
}

/// The ARN a function named `name` has beside the function of `arn` (same account and
/// region; unqualified).
fn sibling_arn(arn: &str, name: &str) -> String {
    match arn.split_once(":function:") {
        Some((prefix, _)) => format!("{prefix}:function:{name}"),
        None => name.to_string(),
    }
}

/// How a probe was answered.
#[derive(Debug, PartialEq)]
enum Verdict {
    Allowed,
    Denied,
    NoAnswer(PlatformError),
}

/// Lambda authorizes first: any answer but AccessDenied (not found, precondition failed, an
/// update in progress, an invalid parameter) means the call was allowed.
fn judge(answer: PlatformResult<()>) -> Verdict {
    match answer {
        Ok(()) => Verdict::Allowed,
        Err(PlatformError::AccessDenied(_)) => Verdict::Denied,
        Err(
            e @ (PlatformError::Unreachable(_)
            | PlatformError::Service(_)
            | PlatformError::Throttled(_)
            | PlatformError::Setup(_)),
        ) => Verdict::NoAnswer(e),
        Err(_) => Verdict::Allowed,
    }
}

async fn send<A: LambdaApi>(api: &A, name: &str, probe: &Probe) -> Verdict {
    let mut tries = 0;
    loop {
        match api.probe(name, probe).await {
            Err(PlatformError::Throttled(t)) if tries < THROTTLE_RETRIES => {
                tries += 1;
                tokio::time::sleep(t.pause(Duration::from_millis(200 * 2u64.pow(tries)))).await;
            }
            answer => return judge(answer),
        }
    }
}

/// An alias name the function does not have, for the alias probes.
async fn spare_alias<A: LambdaApi>(api: &A, name: &str) -> String {
    let taken: BTreeSet<String> = api
        .list_aliases(name)
        .await
        .map(|aliases| aliases.into_iter().map(|a| a.name).collect())
        .unwrap_or_default();
    loop {
        let candidate = format!("memtune-preflight-{:016x}", rand::random::<u64>());
        if !taken.contains(&candidate) {
            return candidate;
        }
    }
}

/// The actions IAM denies on one function.
async fn denied_on<A: LambdaApi>(
    api: &A,
    function: &FunctionConfig,
    needs: &Needs,
) -> Result<BTreeSet<&'static str>, PreflightError> {
    // A copy's name, as a run of `needs` would create it: it does not exist yet.
    let target = if needs.copy {
        clone_name(&function.name, "preflight", &function.architecture)
    } else {
        function.name.clone()
    };
    let alias = spare_alias(api, &target).await;
    let mut denied = BTreeSet::new();
    let mut sends: Vec<(&str, Probe)> = probes(needs, function, &target, &alias)
        .into_iter()
        .map(|p| (target.as_str(), p))
        .collect();
    if needs.copy {
        sends.push((function.name.as_str(), Probe::GetFunction));
    }
    for (name, probe) in sends {
        match send(api, name, &probe).await {
            Verdict::Allowed => {}
            Verdict::Denied => {
                denied.insert(probe.action());
            }
            Verdict::NoAnswer(source) => {
                return Err(PreflightError::Unchecked {
                    function: function.name.clone(),
                    source: Box::new(source),
                })
            }
        }
    }
    Ok(denied)
}

/// Checks that IAM allows every call the run will make on each function; Err names what is
/// denied (on every function where it is) in one line.
pub async fn check<A: LambdaApi>(
    api: &A,
    functions: &[&FunctionConfig],
    needs: Needs,
) -> Result<(), PreflightError> {
    if needs == Needs::default() {
        return Ok(());
    }
    let answers: Vec<_> = futures::stream::iter(
        functions
            .iter()
            .map(|f| async move { (f.name.clone(), denied_on(api, f, &needs).await) }),
    )
    .buffered(FUNCTIONS_AT_ONCE)
    .collect()
    .await;
    let mut denied = Denied {
        functions: Vec::new(),
        actions: BTreeSet::new(),
    };
    for (name, answer) in answers {
        let actions = answer?;
        if !actions.is_empty() {
            denied.functions.push(name);
            denied.actions.extend(actions);
        }
    }
    if denied.functions.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::Denied(denied))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_answer_but_access_denied_means_allowed() {
        let allowed = [
            PlatformError::NotFound("no version 4294967295".into()),
            PlatformError::RevisionMismatch("412".into()),
            PlatformError::Conflict("update in progress".into()),
            PlatformError::InvalidParameter("bad".into()),
        ];
        for e in allowed {
            assert_eq!(judge(Err(e)), Verdict::Allowed);
        }
        assert_eq!(judge(Ok(())), Verdict::Allowed);
        assert_eq!(
            judge(Err(PlatformError::AccessDenied("no".into()))),
            Verdict::Denied
        );
        let refused = crate::platform::failure::Unreachable {
            operation: "DeleteFunction".into(),
            target: crate::platform::failure::Target {
                endpoint: "http://127.0.0.1:1".into(),
                region: "us-east-1".into(),
                custom_endpoint: true,
            },
            cause: crate::platform::failure::ConnectCause::Refused,
        };
        assert!(matches!(
            judge(Err(PlatformError::Unreachable(refused))),
            Verdict::NoAnswer(_)
        ));
    }

    #[test]
    fn a_sweep_probes_every_call_it_makes_and_only_those() {
        let f = FunctionConfig::sample("orders", 512);
        let sweep = Needs {
            sweep: true,
            update_alias: false,
            copy: false,
        };
        let actions: BTreeSet<_> = probes(&sweep, &f, "orders", "spare")
            .iter()
            .map(Probe::action)
            .collect();
        for a in [
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:InvokeFunction",
            "lambda:DeleteFunction",
            "lambda:ListVersionsByFunction",
        ] {
            assert!(actions.contains(a), "{a} missing");
        }
        assert!(!actions.contains("lambda:UpdateAlias"));
        assert!(probes(&Needs::default(), &f, "orders", "spare").is_empty());
        // The configuration probe sets the memory the function already has.
        assert!(probes(&sweep, &f, "orders", "spare")
            .contains(&Probe::UpdateConfiguration { memory_mb: 512 }));
    }

    #[test]
    fn a_copy_is_probed_for_tagging_under_the_name_it_will_have() {
        let f = FunctionConfig {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:orders".into(),
            ..FunctionConfig::sample("orders", 512)
        };
        let copy = Needs {
            sweep: false,
            update_alias: false,
            copy: true,
        };
        let probes = probes(&copy, &f, "orders-memtune-clone-x86-1", "spare");
        assert!(probes.contains(&Probe::TagCopy {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:orders-memtune-clone-x86-1".into()
        }));
    }

    #[test]
    fn the_denied_line_names_actions_functions_and_the_docs() {
        let d = Denied {
            functions: vec!["a".into(), "b".into(), "c".into()],
            actions: ["lambda:DeleteFunction"].into_iter().collect(),
        };
        let line = d.to_string();
        assert!(
            line.contains("lambda:DeleteFunction (to delete the versions it publishes)"),
            "{line}"
        );
        assert!(line.contains("on a and 2 more functions"), "{line}");
        assert!(line.contains("docs/iam.md"), "{line}");
    }
}
