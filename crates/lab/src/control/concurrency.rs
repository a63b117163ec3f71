//! Account limits and reserved concurrency.

use serde_json::{json, Value};

use super::Lab;
use crate::aws_error::AwsError;

/// Lambda keeps this much unreserved concurrency for functions without a reservation.
pub(super) const MIN_UNRESERVED: u32 = 100;

impl Lab {
    pub fn account_settings(&self) -> Value {
        let inner = self.lock();
        let reserved: u32 = inner.functions.values().filter_map(|f| f.reserved).sum();
        let limit = self.account.concurrent_executions;
        json!({
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800u64,
                "CodeSizeUnzipped": 262_144_000u64,
                "CodeSizeZipped": 52_428_800u64,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit.saturating_sub(reserved),
            },
            "AccountUsage": {
                "TotalCodeSize": 4096 * inner.functions.len() as u64,
                "FunctionCount": inner.functions.len(),
            }
        })
    }

    pub fn get_function_concurrency(&self, name: &str) -> Result<Value, AwsError> {
        self.with_function(name, None, |_, f| {
            Ok(match f.reserved {
                Some(r) => json!({ "ReservedConcurrentExecutions": r }),
                None => json!({}),
            })
        })
    }

    pub fn put_function_concurrency(
        &self,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<Value, AwsError> {
        let mut inner = self.lock();
        let others: u32 = inner
            .functions
            .iter()
            .filter(|(k, _)| k.as_str() != name)
            .filter_map(|(_, f)| f.reserved)
            .sum();
        let limit = self.account.concurrent_executions;
        let f = inner
            .functions
            .get_mut(name)
            .ok_or_else(|| self.not_found(name, None))?;
        if let Some(r) = reserved {
            let provisioned: u32 = f.provisioned.values().map(|p| p.requested).sum();
            if r < provisioned {
                return Err(AwsError::invalid(format!(
                    "ReservedConcurrentExecutions {r} should not be lower than function's total provisioned concurrency [{provisioned}]."
                )));
            }
            if others + r + MIN_UNRESERVED > limit {
                return Err(AwsError::invalid(format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
                )));
            }
        }
        f.reserved = reserved;
        Ok(json!({ "ReservedConcurrentExecutions": reserved }))
    }
}
