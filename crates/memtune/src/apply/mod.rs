//! Applying recommendations and taking them back.
//!
//! [`guard`] decides (pure) whether a recommendation may be applied under the fleet's
//! `[apply]` policy; [`change`] sets it on the function, conditionally and journaled first;
//! [`rollback`] reverts what a run applied, from its audit record ([`AppliedChange`]).

pub mod change;
pub mod guard;
pub mod provision;
pub mod rollback;

use serde::{Deserialize, Serialize};

pub use guard::Guards;

/// `[apply]` of a fleet config.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyPolicy {
    pub mode: ApplyMode,
    pub guards: Guards,
    /// Apply by pointing this alias at a new version instead of changing $LATEST.
    pub via_alias: Option<String>,
}

impl Default for ApplyPolicy {
    fn default() -> Self {
        ApplyPolicy {
            mode: ApplyMode::Propose,
            guards: Guards::default(),
            via_alias: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Report recommendations; change nothing.
    Propose,
    /// Apply those that pass every guard.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyMethod {
    /// UpdateFunctionConfiguration of $LATEST.
    Update,
    /// A new version with the memory, and the alias moved to it.
    Alias,
    /// Provisioned concurrency set on an alias (memory unchanged).
    Provisioned,
}

impl ApplyMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMethod::Update => "update",
            ApplyMethod::Alias => "alias",
            ApplyMethod::Provisioned => "provisioned",
        }
    }

    pub fn parse(text: &str) -> Option<ApplyMethod> {
        match text {
            "update" => Some(ApplyMethod::Update),
            "alias" => Some(ApplyMethod::Alias),
            "provisioned" => Some(ApplyMethod::Provisioned),
            _ => None,
        }
    }
}

/// One change memtune made, as the audit log keeps it: enough to revert it, and to tell
/// whether someone changed the function since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedChange {
    pub run_id: String,
    pub function: String,
    pub method: ApplyMethod,
    pub alias: Option<String>,
    /// The version the alias served before.
    pub previous_version: Option<String>,
    /// The version memtune published for the alias (deleted again on rollback).
    pub published_version: Option<String>,
    pub before_memory_mb: u32,
    /// Of $LATEST (update) or of the alias (alias), before the change.
    pub before_revision_id: String,
    pub after_memory_mb: u32,
    /// Of $LATEST (update) or of the alias (alias), right after the change.
    pub after_revision_id: String,
    pub applied_at: String,
    /// The alias's provisioned concurrency before and after (method `provisioned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<ProvisionedChange>,
}

/// An alias's provisioned concurrency before and after a change; None is no configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedChange {
    pub before: Option<u32>,
    pub after: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyAction {
    Applied,
    /// A guard kept the current size.
    Kept,
    /// It was tried and refused (the function changed meanwhile, an error).
    NotApplied,
}

/// What auto-apply did with one function's recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    pub action: ApplyAction,
    pub from_mb: u32,
    pub to_mb: u32,
    pub reason: Option<String>,
    pub change: Option<AppliedChange>,
}

impl ApplyOutcome {
    /// The table's action column.
    pub fn describe(&self) -> String {
        let reason = self.reason.as_deref().unwrap_or("");
        match self.action {
            ApplyAction::Applied => match self.change.as_ref().and_then(|c| c.alias.as_ref()) {
                Some(alias) => format!("applied via alias {alias}"),
                None => "applied".into(),
            },
            ApplyAction::Kept => format!("kept: {reason}"),
            ApplyAction::NotApplied => format!("not applied: {reason}"),
        }
    }
}
