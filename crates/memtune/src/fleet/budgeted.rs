//! A [`LambdaApi`] whose invocations go through the run's [`InvocationBudget`]: each one waits
//! for room, and its outcome (ran or throttled) steers the budget. Everything else passes
//! straight through, so the sweep needs no knowledge of the fleet.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use super::budget::InvocationBudget;
use crate::platform::definition::{FunctionDefinition, NewFunction};
use crate::platform::{
    AccountConcurrency, AliasInfo, FunctionConfig, InvokeResponse, LambdaApi, PlatformError,
    PlatformResult, ProvisionedConcurrency,
};

pub struct Budgeted<A: LambdaApi> {
    pub inner: A,
    pub budget: Arc<InvocationBudget>,
}

impl<A: LambdaApi> LambdaApi for Budgeted<A> {
    fn get_definition(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<FunctionDefinition>> + Send {
        self.inner.get_definition(name)
    }

    fn download_package(
        &self,
        location: &str,
        limit: usize,
    ) -> impl Future<Output = PlatformResult<Vec<u8>>> + Send {
        self.inner.download_package(location, limit)
    }

    fn create_function(
        &self,
        new: &NewFunction,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.inner.create_function(new)
    }

    fn delete_function(&self, name: &str) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_function(name)
    }

    fn delete_log_group(&self, log_group: &str) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_log_group(log_group)
    }

    fn stage_package(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.stage_package(bucket, key, bytes)
    }

    fn delete_staged_package(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_staged_package(bucket, key)
    }

    fn staging_bucket_region(
        &self,
        bucket: &str,
    ) -> impl Future<Output = PlatformResult<Option<String>>> + Send {
        self.inner.staging_bucket_region(bucket)
    }

    async fn invoke(
        &self,
        name: &str,
        qualifier: &str,
        payload: Vec<u8>,
    ) -> PlatformResult<InvokeResponse> {
        let _permit = self.budget.acquire().await;
        let result = self.inner.invoke(name, qualifier, payload).await;
        match &result {
            // A function's own reservation throttles only that function (whose share the
            // job already caps): the account still has room for everyone else.
            Err(PlatformError::Throttled(t)) if !t.reserved_limit => self.budget.on_throttle(),
            Ok(_) => self.budget.on_success(),
            Err(_) => {}
        }
        result
    }

    fn get_configuration(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.inner.get_configuration(name, qualifier)
    }

    fn poll_configuration(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.inner.poll_configuration(name)
    }

    fn update_memory(
        &self,
        name: &str,
        memory_mb: u32,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.inner.update_memory(name, memory_mb, revision_id)
    }

    fn publish_version(
        &self,
        name: &str,
        description: &str,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<FunctionConfig>> + Send {
        self.inner.publish_version(name, description, revision_id)
    }

    fn list_versions(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Vec<FunctionConfig>>> + Send {
        self.inner.list_versions(name)
    }

    fn list_aliases(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Vec<AliasInfo>>> + Send {
        self.inner.list_aliases(name)
    }

    fn delete_version(
        &self,
        name: &str,
        version: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_version(name, version)
    }

    fn delete_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_alias(name, alias)
    }

    fn update_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send {
        self.inner.update_alias(name, alias, version, revision_id)
    }

    fn get_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send {
        self.inner.get_alias(name, alias)
    }

    fn route_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        routing: &crate::platform::VersionWeights,
        revision_id: &str,
    ) -> impl Future<Output = PlatformResult<AliasInfo>> + Send {
        self.inner
            .route_alias(name, alias, version, routing, revision_id)
    }

    fn list_functions(&self) -> impl Future<Output = PlatformResult<Vec<FunctionConfig>>> + Send {
        self.inner.list_functions()
    }

    fn list_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = PlatformResult<BTreeMap<String, String>>> + Send {
        self.inner.list_tags(arn)
    }

    fn account_settings(&self) -> impl Future<Output = PlatformResult<AccountConcurrency>> + Send {
        self.inner.account_settings()
    }

    fn get_function_concurrency(
        &self,
        name: &str,
    ) -> impl Future<Output = PlatformResult<Option<u32>>> + Send {
        self.inner.get_function_concurrency(name)
    }

    fn get_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> impl Future<Output = PlatformResult<Option<ProvisionedConcurrency>>> + Send {
        self.inner.get_provisioned_concurrency(name, qualifier)
    }

    fn put_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
        level: u32,
    ) -> impl Future<Output = PlatformResult<ProvisionedConcurrency>> + Send {
        self.inner
            .put_provisioned_concurrency(name, qualifier, level)
    }

    fn delete_provisioned_concurrency(
        &self,
        name: &str,
        qualifier: &str,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.delete_provisioned_concurrency(name, qualifier)
    }

    // A probe runs nothing (a DryRun invoke included), so it takes no room in the budget.
    fn probe(
        &self,
        name: &str,
        probe: &crate::platform::probe::Probe,
    ) -> impl Future<Output = PlatformResult<()>> + Send {
        self.inner.probe(name, probe)
    }
}
