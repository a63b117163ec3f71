//! Test hooks (not AWS APIs) that stage what real accounts do to a tuner.

use serde_json::Value;

use super::Lab;
use crate::aws_error::AwsError;

impl Lab {
    /// Test hook (not an AWS API): the first time `name` is read (GetFunctionConfiguration or
    /// GetFunction) while its update has settled at a memory other than the one it started
    /// with (a tuner has it at a test size), `edit` lands first, as an UpdateFunctionConfiguration from
    /// someone else (no RevisionId): the colleague who changes a function mid-sweep, at the
    /// worst moment, every time. [`Lab::landed_edit`] says whether Lambda took it.
    pub fn edit_at_test_size(&self, name: &str, edit: Value) -> Result<(), AwsError> {
        self.with_function(name, None, |_, f| {
            f.edit_at_test_size = Some(edit);
            f.landed_edit = None;
            Ok(())
        })
    }

    /// Test hook (not an AWS API): from now on, a share `error_rate` (0..=1) of the
    /// invocations executing `version` of `name` (`$LATEST` or a number, however invoked:
    /// directly or as an alias's main or additional version) that would have succeeded fail
    /// with a handled function error instead: a bad canary. 0 lifts it.
    pub fn fail_version(&self, name: &str, version: &str, error_rate: f64) -> Result<(), AwsError> {
        if !(0.0..=1.0).contains(&error_rate) {
            return Err(AwsError::invalid(format!(
                "error_rate {error_rate} is outside 0..=1"
            )));
        }
        self.with_function(name, None, |_, f| {
            if error_rate == 0.0 {
                f.failing_versions.remove(version);
            } else {
                f.failing_versions.insert(version.to_string(), error_rate);
            }
            Ok(())
        })
    }

    /// Whether the [`Lab::edit_at_test_size`] edit has landed, and Lambda's refusal if any.
    pub fn landed_edit(&self, name: &str) -> Option<Result<(), String>> {
        let inner = self.lock();
        inner.functions.get(name)?.landed_edit.clone()
    }

    pub(super) fn land_edit_at_test_size(&self, name: &str) {
        let due = self.with_function(name, None, |_, f| {
            let at_test_size = f.pending.is_none() && f.active.memory_mb != f.profile.memory_mb;
            Ok(f.edit_at_test_size.take_if(|_| at_test_size))
        });
        if let Ok(Some(edit)) = due {
            let landed = self
                .update_function_configuration(name, &edit)
                .map(|_| ())
                .map_err(|e| format!("{}: {}", e.code, e.message));
            let mut inner = self.lock();
            if let Some(f) = inner.functions.get_mut(name) {
                f.landed_edit = Some(landed);
            }
        }
    }
}
