//! Permission probes: calls that IAM authorizes like the calls a run makes, but that change
//! nothing. Lambda authorizes a request before it looks up the resource or checks a
//! RevisionId, so a probe answered with anything but AccessDenied proves the permission.

/// A version number no function can have (versions are numbered from 1 and never reach it),
/// so a request qualified with it is authorized against a version ARN and then finds nothing.
pub const IMPOSSIBLE_VERSION: &str = "4294967295";

/// A RevisionId Lambda never hands out (they are random UUIDs), so a conditional update
/// carrying it is refused with PreconditionFailed once it is authorized.
pub const IMPOSSIBLE_REVISION: &str = "00000000-0000-0000-0000-000000000000";

/// An S3 bucket that cannot exist (names starting with `sthree-` are reserved by S3), so
/// a CreateFunction with code in it is refused once it is authorized, and creates nothing.
pub const IMPOSSIBLE_BUCKET: &str = "sthree-memtune-permission-probe";

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
    /// GetFunction (a copy's source: its code location and environment): 200 when allowed.
    GetFunction,
    /// CreateFunction passing `role`, with code in [`IMPOSSIBLE_BUCKET`], for iam:PassRole:
    /// refused for the missing code when allowed. A denial of lambda:CreateFunction itself
    /// leaves iam:PassRole unknown ([`Probe::CreateFunction`] reports it).
    PassRole { role: String },
    /// The same request, for lambda:CreateFunction.
    CreateFunction { role: String },
    /// DeleteFunction of a whole function that does not exist yet (the copy): 404 when
    /// allowed. Only ever sent for a copy's name.
    DeleteCopy,
    /// DeleteLogGroup of the copy's group, which does not exist yet: ResourceNotFound when
    /// allowed.
    DeleteLogGroup,
    /// TagResource on the ARN the copy will have (it does not exist yet): 404 when allowed.
    /// CreateFunction with tags needs lambda:TagResource too.
    TagCopy { arn: String },
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
            Probe::GetFunction => "lambda:GetFunction",
            Probe::PassRole { .. } => "iam:PassRole",
            Probe::CreateFunction { .. } => "lambda:CreateFunction",
            Probe::DeleteCopy => "lambda:DeleteFunction",
            Probe::DeleteLogGroup => "logs:DeleteLogGroup",
            Probe::TagCopy { .. } => "lambda:TagResource",
        }
    }
}
