//! Permission probes: calls that IAM authorizes like the calls a run makes, but that change
//! nothing. Lambda authorizes a request before it looks up the resource or checks a
//! RevisionId, so a probe answered with anything but AccessDenied proves the permission.

/// A version number no function can have (versions are numbered from 1 and never reach it),
/// so a request qualified with it is authorized against a version ARN and then finds nothing.
pub const IMPOSSIBLE_VERSION: &str = "4294967295";

/// A RevisionId Lambda never hands out (they are random UUIDs), so a conditional update
/// carrying it is refused with PreconditionFailed once it is authorized.
pub const IMPOSSIBLE_REVISION: &str = "00000000-0000-0000-0000-000000000000";

/// One side-effect-free call, standing for the IAM action a run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// ListVersionsByFunction, one item.
    ListVersions,
    /// ListAliases, one item.
    ListAliases,
    /// Invoke with InvocationType DryRun, qualified by [`IMPOSSIBLE_VERSION`] (memtune invokes
    /// versions): 404 when allowed.
    Invoke,
    /// UpdateFunctionConfiguration setting the memory it has, with [`IMPOSSIBLE_REVISION`]:
    /// 412 when allowed.
    UpdateConfiguration { memory_mb: u32 },
    /// PublishVersion with [`IMPOSSIBLE_REVISION`]: 412 when allowed.
    PublishVersion,
    /// DeleteFunction qualified by [`IMPOSSIBLE_VERSION`] (never unqualified, which would
    /// delete the function): 404 when allowed.
    DeleteVersion,
    /// DeleteAlias of an alias the function does not have: 204 or 404 when allowed.
    DeleteAlias { alias: String },
    /// UpdateAlias of an alias the function does not have, with [`IMPOSSIBLE_REVISION`]: 404
    /// or 412 when allowed.
    UpdateAlias { alias: String },
}

impl Probe {
    /// The IAM action it checks.
    pub fn action(&self) -> &'static str {
        match self {
            Probe::ListVersions => "lambda:ListVersionsByFunction",
            Probe::ListAliases => "lambda:ListAliases",
            Probe::Invoke => "lambda:InvokeFunction",
            Probe::UpdateConfiguration { .. } => "lambda:UpdateFunctionConfiguration",
            Probe::PublishVersion => "lambda:PublishVersion",
            Probe::DeleteVersion => "lambda:DeleteFunction",
            Probe::DeleteAlias { .. } => "lambda:DeleteAlias",
            Probe::UpdateAlias { .. } => "lambda:UpdateAlias",
        }
    }
}
