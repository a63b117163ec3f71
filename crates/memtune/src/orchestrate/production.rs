//! The production figures a fleet run reads first (batched CloudWatch and Logs reads).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fleet::config::FleetConfig;
use crate::fleet::discover;
use crate::inspect::production;
use crate::platform::aws::AwsLambda;
use crate::platform::cloudwatch::AwsCloudWatch;
use crate::platform::logs::AwsLogs;
use crate::tune::production::Production;
use memtune_facts::pricing::PriceBook;

/// Production figures of the selected functions, and how many functions were selected (None
/// when the selection cannot be listed); those without any figures are simply absent, and the
/// run orders and tunes them without.
pub(super) async fn read_production(
    sdk: &aws_config::SdkConfig,
    api: &AwsLambda,
    book: &PriceBook,
    config: &FleetConfig,
    region: &str,
    days: u32,
) -> Option<(BTreeMap<String, Production>, usize)> {
    let Ok(found) = discover::discover(api, &config.selection).await else {
        return None;
    };
    let names: Vec<String> = found
        .selected
        .iter()
        .map(|d| d.config.name.clone())
        .collect();
    let clients = (api, &AwsCloudWatch::new(sdk), &AwsLogs::new(sdk));
    let found: BTreeMap<String, Production> = production::read(
        clients,
        book,
        region,
        &names,
        days,
        Duration::from_secs(120),
    )
    .await
    .into_iter()
    .filter_map(|(name, p)| Some((name, p.ok()?)))
    .collect();
    Some((found, names.len()))
}
