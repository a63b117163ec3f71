//! Reserved-concurrency advice: which functions can take more than their share of the
//! account's concurrency, whether the peaks add up past the limit, who is already throttled,
//! and a cap per function for a downstream that takes at most so many connections.

use serde::{Deserialize, Serialize};

/// What one function showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub name: String,
    pub peak_concurrency: u32,
    pub reserved: Option<u32>,
    pub throttles: u64,
    pub invocations: u64,
}

/// The advice for one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservedAdvice {
    pub peak_concurrency: u32,
    pub reserved: Option<u32>,
    /// The unreserved concurrency divided among the functions analysed that have no
    /// reservation: what each can take without starving the others.
    pub fair_share: u32,
    pub exceeds_share: bool,
    pub throttles: u64,
    /// Its share of `--max-connections`, in proportion to its peak: reserve at most this.
    pub connection_cap: Option<u32>,
    /// What to reserve, if anything.
    pub suggested_reserved: Option<u32>,
    pub reason: String,
}

/// The account's side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountAdvice {
    pub limit: u32,
    pub unreserved: u32,
    pub sum_of_peaks: u32,
    pub peaks_exceed_limit: bool,
    pub throttled_functions: Vec<String>,
    pub max_connections: Option<u32>,
}

pub fn advise(
    usage: &[Usage],
    limit: u32,
    unreserved: u32,
    max_connections: Option<u32>,
) -> (AccountAdvice, Vec<ReservedAdvice>) {
    let sum_of_peaks: u32 = usage.iter().map(|u| u.peak_concurrency).sum();
    let unreserved_functions = usage.iter().filter(|u| u.reserved.is_none()).count().max(1);
    let fair_share = unreserved / unreserved_functions as u32;
    let advice = usage
        .iter()
        .map(|u| {
            let exceeds_share = u.reserved.is_none() && u.peak_concurrency > fair_share;
            let connection_cap = max_connections.map(|n| {
                let share = n as f64 * u.peak_concurrency as f64 / sum_of_peaks.max(1) as f64;
                (share.floor() as u32).max(1)
            });
            let (suggested_reserved, reason) = match (connection_cap, exceeds_share) {
                (Some(cap), _) if u.reserved.is_none_or(|r| r > cap) => (
                    Some(cap),
                    format!(
                        "each environment holds a connection: {cap} keeps its share of the \
                         downstream's connections"
                    ),
                ),
                (_, true) => (
                    Some(fair_share.max(1)),
                    format!(
                        "its peak of {} can take more than its share ({fair_share}) of the \
                         account's unreserved concurrency",
                        u.peak_concurrency
                    ),
                ),
                _ if u.throttles > 0 && u.reserved.is_some_and(|r| u.peak_concurrency >= r) => (
                    u.reserved.map(|r| r + (r / 4).max(1)),
                    format!(
                        "{} invocations were throttled at its reservation of {}",
                        u.throttles,
                        u.reserved.unwrap_or(0)
                    ),
                ),
                _ => (None, "within its share".into()),
            };
            ReservedAdvice {
                peak_concurrency: u.peak_concurrency,
                reserved: u.reserved,
                fair_share,
                exceeds_share,
                throttles: u.throttles,
                connection_cap,
                suggested_reserved,
                reason,
            }
        })
        .collect();
    let account = AccountAdvice {
        limit,
        unreserved,
        sum_of_peaks,
        peaks_exceed_limit: sum_of_peaks > limit,
        throttled_functions: usage
            .iter()
            .filter(|u| u.throttles > 0)
            .map(|u| u.name.clone())
            .collect(),
        max_connections,
    };
    (account, advice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(name: &str, peak: u32, reserved: Option<u32>, throttles: u64) -> Usage {
        Usage {
            name: name.into(),
            peak_concurrency: peak,
            reserved,
            throttles,
            invocations: 1000,
        }
    }

    #[test]
    fn peaks_beyond_the_share_throttles_and_connection_caps_are_advised() {
        let all = [
            usage("big", 700, None, 0),
            usage("small", 50, None, 0),
            usage("capped", 40, Some(40), 12),
        ];
        let (account, advice) = advise(&all, 1000, 960, None);
        assert_eq!(advice[0].fair_share, 480);
        assert!(advice[0].exceeds_share && !advice[1].exceeds_share);
        assert_eq!(advice[0].suggested_reserved, Some(480));
        assert_eq!(advice[2].suggested_reserved, Some(50));
        assert_eq!(account.sum_of_peaks, 790);
        assert!(!account.peaks_exceed_limit);
        assert_eq!(account.throttled_functions, vec!["capped".to_string()]);
        let (_, advice) = advise(&all, 1000, 960, Some(100));
        let caps: Vec<Option<u32>> = advice.iter().map(|a| a.connection_cap).collect();
        assert_eq!(caps, vec![Some(88), Some(6), Some(5)]);
        assert_eq!(advice[1].suggested_reserved, Some(6));
    }
}
