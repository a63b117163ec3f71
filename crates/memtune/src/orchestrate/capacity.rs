//! `[capacity]` after the sweeps: the selected functions' provisioned and reserved
//! concurrency, analysed as `memtune capacity` analyses them (nothing invoked or changed).

use crate::capacity::{self, observe, CapacityOptions, FleetCapacity};
use crate::fleet::config::capacity::CapacitySettings;
use crate::fleet::config::FleetConfig;
use crate::fleet::discover;
use crate::platform::aws::AwsLambda;
use crate::platform::cloudwatch::AwsCloudWatch;
use crate::platform::logs::AwsLogs;
use memtune_facts::pricing::PriceBook;

/// The functions the selection keeps (excluded ones left out) that `[capacity]` covers.
async fn covered(
    api: &AwsLambda,
    config: &FleetConfig,
    settings: &CapacitySettings,
) -> Result<Vec<String>, String> {
    let found = discover::discover(api, &config.selection)
        .await
        .map_err(|e| format!("listing the selected functions: {e}"))?;
    Ok(found
        .selected
        .into_iter()
        .map(|d| d.config.name)
        .filter(|name| settings.covers(name))
        .collect())
}

pub(super) async fn analyse(
    sdk: &aws_config::SdkConfig,
    api: &AwsLambda,
    book: &PriceBook,
    config: &FleetConfig,
    settings: &CapacitySettings,
    region: &str,
) -> FleetCapacity {
    let names = match covered(api, config, settings).await {
        Ok(names) => names,
        Err(failed) => {
            return FleetCapacity {
                account: None,
                report: None,
                failed: Some(failed),
                not_analysed: Vec::new(),
            }
        }
    };
    let options = CapacityOptions {
        window: observe::minute_window(settings.days, chrono::Utc::now().timestamp_millis()),
        region: region.to_string(),
        target: settings.target,
        max_connections: settings.max_connections,
        query_limit: settings.query_timeout,
    };
    capacity::analyse_fleet(
        api,
        &AwsCloudWatch::new(sdk),
        &AwsLogs::new(sdk),
        book,
        &names,
        &options,
    )
    .await
}
