//! SnapStart: a version published with `ApplyOn: PublishedVersions` is Pending while Lambda
//! initializes it and takes its snapshot, and Active after; it cannot be invoked meanwhile.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{FunctionState, Lab, LATEST};
use crate::aws_error::AwsError;

/// How long the snapshot of a published version takes, in simulated seconds.
const SNAPSHOT_SECONDS: f64 = 90.0;
/// The shortest wall time a version waits for its snapshot.
const MIN_SNAPSHOT_WALL: Duration = Duration::from_millis(20);

impl Lab {
    /// When a version published now is ready: None without SnapStart.
    pub(super) fn snapshot_ready_at(&self, f: &FunctionState) -> Option<Instant> {
        f.active
            .settings
            .snap_start()
            .then(|| Instant::now() + self.scaled(SNAPSHOT_SECONDS).max(MIN_SNAPSHOT_WALL))
    }
}

impl FunctionState {
    fn snapshot_pending(&self, version: &str) -> bool {
        version
            .parse::<u32>()
            .ok()
            .and_then(|n| self.versions.get(&n))
            .and_then(|v| v.ready_at)
            .is_some_and(|t| Instant::now() < t)
    }

    /// A version whose snapshot is being taken cannot be invoked.
    pub(super) fn check_version_ready(&self, version: &str) -> Result<(), AwsError> {
        if version != LATEST && self.snapshot_pending(version) {
            return Err(AwsError::conflict(
                "The operation cannot be performed at this time. The function is currently in the following state: Pending",
            ));
        }
        Ok(())
    }

    /// A version's configuration while its snapshot is being taken.
    pub(super) fn write_version_state(&self, version: &str, doc: &mut Value) {
        if version != LATEST && self.snapshot_pending(version) {
            doc["State"] = json!("Pending");
            doc["StateReason"] =
                json!("Lambda is initializing your function and taking a SnapStart snapshot.");
            doc["StateReasonCode"] = json!("Creating");
        }
    }
}
