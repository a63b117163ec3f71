//! Finding the fleet: ListFunctions (all pages), then ListTags and GetFunctionConcurrency for
//! the functions the selection keeps.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};

use super::select::{Selection, Verdict};
use crate::platform::{FunctionConfig, LambdaApi, PlatformResult};

/// Per-function lookups in flight at once (ListTags and friends have low rate limits).
const LOOKUPS_IN_FLIGHT: usize = 8;

/// A selected function and what tuning it must respect.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub config: FunctionConfig,
    /// Fetched only when the selection filters on tags.
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Functions in the region.
    pub listed: usize,
    pub selected: Vec<Discovered>,
    /// Selected, then excluded: each with the exclude pattern that matched.
    pub excluded: Vec<(FunctionConfig, String)>,
}

pub async fn discover<A: LambdaApi>(api: &A, selection: &Selection) -> PlatformResult<Discovery> {
    let all = api.list_functions().await?;
    let listed = all.len();
    let mut candidates = Vec::new();
    let mut excluded = Vec::new();
    for config in all {
        match selection.judge(&config) {
            Verdict::NotSelected => {}
            Verdict::Excluded(pattern) => excluded.push((config, pattern)),
            Verdict::Candidate => candidates.push(config),
        }
    }
    let tagged: Vec<(FunctionConfig, BTreeMap<String, String>)> = if selection.needs_tags() {
        futures::stream::iter(candidates)
            .map(|config| async move {
                let tags = api.list_tags(&config.arn).await?;
                PlatformResult::Ok((config, tags))
            })
            .buffered(LOOKUPS_IN_FLIGHT)
            .try_filter(|(_, tags)| std::future::ready(selection.tags_match(tags)))
            .try_collect()
            .await?
    } else {
        candidates
            .into_iter()
            .map(|c| (c, BTreeMap::new()))
            .collect()
    };
    let selected = futures::stream::iter(tagged)
        .map(|(config, tags)| async move {
            let reserved_concurrency = api.get_function_concurrency(&config.name).await?;
            PlatformResult::Ok(Discovered {
                config,
                tags,
                reserved_concurrency,
            })
        })
        .buffered(LOOKUPS_IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(Discovery {
        listed,
        selected,
        excluded,
    })
}
