//! Provisioned concurrency on an alias or a published version: IN_PROGRESS while Lambda
//! allocates the environments, then READY. Never on $LATEST; never on both an alias and the
//! version it points at; within the function's reserved concurrency, or else within what the
//! account leaves unreserved.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::concurrency::MIN_UNRESERVED;
use super::{now_string, paginate, with_marker, FunctionState, Lab, LATEST};
use crate::aws_error::AwsError;

/// How long Lambda takes to allocate provisioned environments, in simulated seconds (a minute
/// or two for small levels).
const ALLOCATION_SECONDS: f64 = 60.0;
/// The shortest wall time a configuration stays IN_PROGRESS, so clients see it at time scale 0.
const MIN_ALLOCATION_WALL: Duration = Duration::from_millis(20);

/// One qualifier's provisioned concurrency.
#[derive(Debug, Clone)]
pub(super) struct ProvisionedState {
    pub requested: u32,
    /// The allocation ends FAILED (the provisioned-failure fault).
    pub fails: bool,
    pub ready_at: Instant,
    pub last_modified: String,
}

impl ProvisionedState {
    fn ready(&self) -> bool {
        Instant::now() >= self.ready_at
    }

    /// READY: its environments serve invocations.
    pub fn serving(&self) -> bool {
        self.ready() && !self.fails
    }

    /// Environments allocated so far: all of them once READY.
    pub fn allocated(&self) -> u32 {
        if self.serving() {
            self.requested
        } else {
            0
        }
    }

    fn json(&self) -> Value {
        let status = match (self.ready(), self.fails) {
            (false, _) => "IN_PROGRESS",
            (true, false) => "READY",
            (true, true) => "FAILED",
        };
        let mut doc = json!({
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AllocatedProvisionedConcurrentExecutions": self.allocated(),
            "AvailableProvisionedConcurrentExecutions": self.allocated(),
            "Status": status,
            "LastModified": self.last_modified,
        });
        if status == "FAILED" {
            doc["StatusReason"] = json!("FUNCTION_ERROR_INIT_FAILURE");
        }
        doc
    }
}

fn not_configured() -> AwsError {
    AwsError::new(
        axum::http::StatusCode::NOT_FOUND,
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
    )
}

fn unpublished() -> AwsError {
    AwsError::invalid(
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
    )
}

impl Lab {
    /// The version a qualifier (alias or version number) stands for; $LATEST is refused.
    fn provisionable_version(
        &self,
        f: &FunctionState,
        qualifier: &str,
    ) -> Result<String, AwsError> {
        if qualifier == LATEST {
            return Err(unpublished());
        }
        let version = self.resolve(f, Some(qualifier))?;
        if version == LATEST {
            // An alias pointing at $LATEST.
            return Err(unpublished());
        }
        Ok(version)
    }

    /// Starts allocating when the alias is newly pointed at another version (UpdateAlias).
    pub(super) fn reallocate(f: &mut FunctionState, alias: &str, wait: Duration) {
        if let Some(p) = f.provisioned.get_mut(alias) {
            p.ready_at = Instant::now() + wait;
            p.last_modified = now_string();
        }
    }

    pub(super) fn allocation_wait(&self) -> Duration {
        self.scaled(ALLOCATION_SECONDS).max(MIN_ALLOCATION_WALL)
    }

    pub fn put_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
        requested: u32,
    ) -> Result<Value, AwsError> {
        let mut inner = self.lock();
        let fails = self.fault(&mut inner, self.config.faults.provisioned_failure);
        let limit = self.account.concurrent_executions;
        let reserved_total: u32 = inner.functions.values().filter_map(|f| f.reserved).sum();
        let unreserved_provisioned: u32 = inner
            .functions
            .iter()
            .filter(|(_, f)| f.reserved.is_none())
            .flat_map(|(n, f)| {
                f.provisioned
                    .iter()
                    .filter(move |(q, _)| !(n == name && q.as_str() == qualifier))
                    .map(|(_, p)| p.requested)
            })
            .sum();
        let f = inner
            .functions
            .get_mut(name)
            .ok_or_else(|| self.not_found(name, Some(qualifier)))?;
        Self::settle(f);
        let version = self.provisionable_version(f, qualifier)?;
        let is_alias = f.aliases.contains_key(qualifier);
        if is_alias && f.provisioned.contains_key(&version) {
            return Err(AwsError::conflict(
                "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
            ));
        }
        if !is_alias
            && f.aliases.iter().any(|(alias, a)| {
                a.function_version == version && f.provisioned.contains_key(alias)
            })
        {
            return Err(AwsError::conflict(
                "Version is pointed by a Provisioned Concurrency alias",
            ));
        }
        let others: u32 = f
            .provisioned
            .iter()
            .filter(|(q, _)| q.as_str() != qualifier)
            .map(|(_, p)| p.requested)
            .sum();
        match f.reserved {
            Some(reserved) if others + requested > reserved => {
                return Err(AwsError::invalid(
                    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
                ))
            }
            Some(_) => {}
            None => {
                let unreserved = limit.saturating_sub(reserved_total);
                let available = unreserved
                    .saturating_sub(MIN_UNRESERVED)
                    .saturating_sub(unreserved_provisioned);
                if requested > available {
                    return Err(AwsError::invalid(format!(
                        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{available}]."
                    )));
                }
            }
        }
        let state = ProvisionedState {
            requested,
            fails,
            ready_at: Instant::now() + self.allocation_wait(),
            last_modified: now_string(),
        };
        let doc = state.json();
        f.provisioned.insert(qualifier.to_string(), state);
        Ok(doc)
    }

    pub fn get_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> Result<Value, AwsError> {
        self.with_function(name, Some(qualifier), |lab, f| {
            if qualifier != LATEST {
                lab.resolve(f, Some(qualifier))?;
            }
            f.provisioned
                .get(qualifier)
                .map(ProvisionedState::json)
                .ok_or_else(not_configured)
        })
    }

    /// Idempotent, as on Lambda: a qualifier without a configuration answers 204 too.
    pub fn delete_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> Result<(), AwsError> {
        self.with_function(name, Some(qualifier), |lab, f| {
            if qualifier != LATEST {
                lab.resolve(f, Some(qualifier))?;
            }
            f.provisioned.remove(qualifier);
            Ok(())
        })
    }

    pub fn list_provisioned_concurrency(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<Value, AwsError> {
        self.with_function(name, None, |lab, f| {
            let all: Vec<Value> = f
                .provisioned
                .iter()
                .map(|(q, p)| {
                    let mut doc = p.json();
                    doc["FunctionArn"] = json!(format!("{}:{q}", lab.function_arn(name)));
                    doc
                })
                .collect();
            let (page, next) = paginate(all, marker, max_items)?;
            Ok(with_marker(
                json!({ "ProvisionedConcurrencyConfigs": page }),
                next,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::lab;
    use serde_json::json;

    #[test]
    fn provisioned_concurrency_needs_a_published_version() {
        let lab = lab();
        let e = lab
            .put_provisioned_concurrency("f", "$LATEST", 2)
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
        lab.publish_version("f", &json!({})).unwrap();
        lab.create_alias("f", &json!({"Name": "live", "FunctionVersion": "1"}))
            .unwrap();
        let put = lab.put_provisioned_concurrency("f", "live", 2).unwrap();
        assert_eq!(put["Status"], "IN_PROGRESS");
        assert_eq!(put["AllocatedProvisionedConcurrentExecutions"], 0);
        let e = lab.put_provisioned_concurrency("f", "1", 1).unwrap_err();
        assert_eq!(e.code, "ResourceConflictException");
        std::thread::sleep(super::MIN_ALLOCATION_WALL);
        let got = lab.get_provisioned_concurrency("f", "live").unwrap();
        assert_eq!(got["Status"], "READY");
        assert_eq!(got["AllocatedProvisionedConcurrentExecutions"], 2);
        lab.delete_provisioned_concurrency("f", "live").unwrap();
        let e = lab.get_provisioned_concurrency("f", "live").unwrap_err();
        assert_eq!(e.code, "ProvisionedConcurrencyConfigNotFoundException");
        lab.delete_provisioned_concurrency("f", "live").unwrap();
    }

    #[test]
    fn provisioned_concurrency_stays_within_the_reservation() {
        let lab = lab();
        lab.publish_version("f", &json!({})).unwrap();
        lab.put_function_concurrency("f", Some(3)).unwrap();
        let e = lab.put_provisioned_concurrency("f", "1", 4).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
        lab.put_provisioned_concurrency("f", "1", 3).unwrap();
        let e = lab.put_function_concurrency("f", Some(2)).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
    }
}
