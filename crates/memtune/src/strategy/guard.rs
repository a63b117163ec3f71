//! What a change is compared with: the function's current size as measured. The latency
//! guard (`max_p99_increase`, `max_p50_increase`) sets aside sizes much slower than the
//! current one, and the
//! minimum change (`min_change`, `min_change_usd_per_month`) keeps the current size when a
//! change is not worth a deploy. Both judge measured values (each size's own samples, what
//! the reports show), never the fitted curve's estimates.

use serde::{Deserialize, Serialize};

use super::spec::Strategy;
use crate::measure::{CostStats, Percentile, SizeStats, WarmStats};

/// The function's current size and what was measured, for comparing a change with it.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    pub memory_mb: u32,
    /// Every sampled size's statistics from its own samples, as reports show them (all sizes
    /// were invoked with the same payloads).
    pub measured: &'a [SizeStats],
    /// Production's invocations per month, for savings per month.
    pub monthly_invocations: Option<f64>,
}

impl Baseline<'_> {
    /// A size's measured warm statistics and cost.
    pub(super) fn at(&self, memory_mb: u32) -> Option<(&WarmStats, CostStats)> {
        let s = self.measured.iter().find(|s| s.memory_mb == memory_mb)?;
        Some((s.warm.as_ref()?, s.cost?))
    }

    /// What moving from the current size to `memory_mb` saves, by the measured costs.
    pub(super) fn saving(&self, memory_mb: u32) -> Option<Saving> {
        let (_, now) = self.at(self.memory_mb)?;
        let (_, then) = self.at(memory_mb)?;
        let per_invocation = now.mean_usd - then.mean_usd;
        Some(Saving {
            fraction: per_invocation / now.mean_usd,
            usd_per_month: self
                .monthly_invocations
                .filter(|&m| m > 0.0)
                .map(|m| per_invocation * m),
        })
    }
}

/// A saving against the current size; negative when the other size costs more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// Fraction of the current cost per invocation.
    pub fraction: f64,
    /// With production's monthly invocations.
    pub usd_per_month: Option<f64>,
}

impl Saving {
    /// "3.1% ($0.40 a month)".
    pub fn describe(&self) -> String {
        let pct = format!("{:.1}%", self.fraction * 100.0);
        match self.usd_per_month {
            Some(usd) => format!("{pct} (${usd:.2} a month)"),
            None => pct,
        }
    }
}

/// How the current size stands, for the guard and the minimum change.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CurrentSize {
    /// Measured and feasible: the reference for both.
    Safe { p50_ms: f64, p99_ms: f64 },
    /// Set aside by the screen: any safe size may replace it, however slow.
    Unsafe { reasons: Vec<String> },
    /// Not sampled: nothing to compare with.
    NotMeasured,
}

/// The measured p50 and p99 above which the guard sets a size aside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Limits {
    pub current_p50_ms: f64,
    pub current_p99_ms: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// What the latency guard did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LatencyGuard {
    /// Sizes whose measured p99 (or p50) exceeds its limit were not considered.
    Applied {
        max_p99_increase: Option<f64>,
        max_p50_increase: Option<f64>,
        current_p50_ms: f64,
        current_p99_ms: f64,
        p99_limit_ms: Option<f64>,
        p50_limit_ms: Option<f64>,
        /// The sizes set aside, ascending.
        excluded_mb: Vec<u32>,
        /// The size the objective would have chosen without the guard, when the guard set it
        /// aside.
        forgone: Option<Forgone>,
    },
    /// The current size is unsafe, so the guard does not hold a change back.
    CurrentUnsafe { reasons: Vec<String> },
    /// The current size was not sampled: there is no latency to compare with.
    CurrentNotMeasured,
}

/// A cheaper, slower size the guard set aside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forgone {
    pub memory_mb: u32,
    /// The percentile that set it aside (`p99` first), its value there and at the current
    /// size, and the increase the strategy allows.
    pub percentile: Percentile,
    pub ms: f64,
    pub current_ms: f64,
    pub max_increase: f64,
    /// Against the current size.
    pub saving: Option<Saving>,
}

impl LatencyGuard {
    /// What the guard cost, and how to allow it, for the reason; None when it set nothing aside
    /// that the objective wanted.
    pub fn note(&self) -> Option<String> {
        match self {
            LatencyGuard::Applied {
                forgone: Some(f), ..
            } => {
                let saving = f
                    .saving
                    .filter(|s| s.fraction > 0.0)
                    .map(|s| format!(" would save {}, but it", s.describe()))
                    .unwrap_or_default();
                let p = f.percentile.as_str();
                Some(format!(
                    "{} MB{saving} has a {p} of {:.1} ms, {:.0}% above the current {:.1} ms \
                     (the latency guard allows {:.0}%): raise max_{p}_increase in a strategy \
                     file, or use --strategy cost, to allow it",
                    f.memory_mb,
                    f.ms,
                    (f.ms / f.current_ms - 1.0) * 100.0,
                    f.current_ms,
                    f.max_increase * 100.0
                ))
            }
            LatencyGuard::CurrentUnsafe { reasons } => Some(format!(
                "the current size is unsafe ({}), so the latency guard does not hold a change back",
                reasons.join(", ")
            )),
            _ => None,
        }
    }
}

/// The guard's limits, relative to a safe current size's measured p50 and p99.
pub(super) fn limits(strategy: &Strategy, current: &CurrentSize) -> Option<Limits> {
    let CurrentSize::Safe { p50_ms, p99_ms } = *current else {
        return None;
    };
    strategy.guards_latency().then_some(Limits {
        current_p50_ms: p50_ms,
        current_p99_ms: p99_ms,
        p50_ms: strategy.max_p50_increase.map(|x| p50_ms * (1.0 + x)),
        p99_ms: strategy.max_p99_increase.map(|x| p99_ms * (1.0 + x)),
    })
}

/// The percentile by which the guard sets `memory_mb` aside (p99 first), with its measured
/// value; None when it passes. A size without measurements is not judged (the decision only
/// sees measured sizes).
pub(super) fn exceeds(
    baseline: &Baseline,
    memory_mb: u32,
    limits: &Limits,
) -> Option<(Percentile, f64)> {
    let (warm, _) = baseline.at(memory_mb)?;
    let over = |limit: Option<f64>, ms: f64| limit.is_some_and(|l| ms > l);
    if over(limits.p99_ms, warm.p99.ms) {
        Some((Percentile::P99, warm.p99.ms))
    } else if over(limits.p50_ms, warm.p50.ms) {
        Some((Percentile::P50, warm.p50.ms))
    } else {
        None
    }
}

/// A change held back because it is worth less than the strategy's minimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    /// What the objective chose.
    pub memory_mb: u32,
    pub saving: Saving,
    /// Fraction of the current trimmed-mean duration the change would cut (negative: slower).
    pub faster: f64,
    pub min_change: f64,
    pub min_change_usd_per_month: f64,
}

impl HeldBack {
    pub fn note(&self) -> String {
        let usd = if self.min_change_usd_per_month > 0.0 && self.saving.usd_per_month.is_some() {
            format!(" and ${:.2} a month", self.min_change_usd_per_month)
        } else {
            String::new()
        };
        let min = self.min_change * 100.0;
        format!(
            "{} MB would save {} and be {:.1}% {}, below the minimum change (a saving of {min:.0}%{usd}, \
             or {min:.0}% faster; min_change, min_change_usd_per_month): not worth a change",
            self.memory_mb,
            self.saving.describe(),
            self.faster.abs() * 100.0,
            if self.faster >= 0.0 {
                "faster"
            } else {
                "slower"
            },
        )
    }
}

/// The change to `memory_mb` held back as not worth it, if it is: it neither saves
/// `min_change` of the cost per invocation (and, with monthly invocations, at least
/// `min_change_usd_per_month`) nor cuts `min_change` of the duration. Only a safe current
/// size is kept; without a minimum every change counts.
pub(super) fn held_back(
    strategy: &Strategy,
    baseline: &Baseline,
    current: &CurrentSize,
    memory_mb: u32,
) -> Option<HeldBack> {
    let (min, min_usd) = (strategy.min_change, strategy.min_change_usd_per_month);
    if (min == 0.0 && min_usd == 0.0)
        || memory_mb == baseline.memory_mb
        || !matches!(current, CurrentSize::Safe { .. })
    {
        return None;
    }
    let saving = baseline.saving(memory_mb)?;
    let (now, _) = baseline.at(baseline.memory_mb)?;
    let (then, _) = baseline.at(memory_mb)?;
    let faster = 1.0 - then.trimmed_mean_ms / now.trimmed_mean_ms;
    let saves_enough =
        saving.fraction >= min && saving.usd_per_month.is_none_or(|usd| usd >= min_usd);
    let faster_enough = faster >= min;
    (!saves_enough && !faster_enough).then_some(HeldBack {
        memory_mb,
        saving,
        faster,
        min_change: min,
        min_change_usd_per_month: min_usd,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::size;
    use super::*;

    fn guarded() -> Strategy {
        Strategy::load(super::super::spec::DEFAULT_STRATEGY).unwrap()
    }

    /// 512 MB now; 128 MB 40% cheaper with p99 +74%, 256 MB 3% cheaper and 10% slower.
    fn sizes() -> Vec<SizeStats> {
        vec![
            size(128, 0.6e-6, 250.0, 273.0),
            size(256, 0.97e-6, 165.0, 170.0),
            size(512, 1.0e-6, 150.0, 157.0),
        ]
    }

    #[test]
    fn the_guard_limits_are_relative_to_a_safe_current_size() {
        let safe = CurrentSize::Safe {
            p50_ms: 150.0,
            p99_ms: 157.0,
        };
        let l = limits(&guarded(), &safe).unwrap();
        assert_eq!((l.current_p50_ms, l.current_p99_ms), (150.0, 157.0));
        assert!((l.p99_ms.unwrap() - 188.4).abs() < 1e-9);
        assert!((l.p50_ms.unwrap() - 180.0).abs() < 1e-9);
        let measured = sizes();
        let b = Baseline {
            memory_mb: 512,
            measured: &measured,
            monthly_invocations: None,
        };
        assert_eq!(exceeds(&b, 128, &l), Some((Percentile::P99, 273.0)));
        assert_eq!(exceeds(&b, 256, &l), None);
        assert_eq!(
            exceeds(&b, 640, &l),
            None,
            "an unmeasured size is not judged"
        );
        // A p99 within its limit does not let a much slower median through.
        let slow_median = vec![
            size(256, 0.7e-6, 200.0, 170.0),
            size(512, 1.0e-6, 150.0, 157.0),
        ];
        let b = Baseline {
            measured: &slow_median,
            ..b
        };
        assert_eq!(exceeds(&b, 256, &l), Some((Percentile::P50, 200.0)));
        let unsafe_now = CurrentSize::Unsafe {
            reasons: vec!["2 timeout(s)".into()],
        };
        assert_eq!(limits(&guarded(), &unsafe_now), None);
        assert_eq!(limits(&guarded(), &CurrentSize::NotMeasured), None);
        assert_eq!(limits(&Strategy::load("cost").unwrap(), &safe), None);
    }

    #[test]
    fn a_small_saving_is_held_back_a_large_one_or_a_faster_size_is_not() {
        let measured = sizes();
        let safe = CurrentSize::Safe {
            p50_ms: 150.0,
            p99_ms: 157.0,
        };
        let at = |monthly: Option<f64>| Baseline {
            memory_mb: 512,
            measured: &measured,
            monthly_invocations: monthly,
        };
        // 3% cheaper and slower: below 5%.
        let held = held_back(&guarded(), &at(None), &safe, 256).unwrap();
        assert!((held.saving.fraction - 0.03).abs() < 1e-9);
        assert!(held.faster < 0.0);
        assert!(
            held.note().contains("256 MB would save 3.0%"),
            "{}",
            held.note()
        );
        // 40% cheaper: a change, unless it saves less than $1 a month.
        assert_eq!(held_back(&guarded(), &at(None), &safe, 128), None);
        assert_eq!(held_back(&guarded(), &at(Some(1e7)), &safe, 128), None);
        let tiny = held_back(&guarded(), &at(Some(1e5)), &safe, 128).unwrap();
        assert_eq!(
            tiny.saving.usd_per_month.map(|u| (u * 100.0).round()),
            Some(4.0)
        );
        assert!(tiny.note().contains("$0.04 a month"), "{}", tiny.note());
        // Pure strategies, an unsafe current size and the current size itself: no minimum.
        assert_eq!(
            held_back(&Strategy::load("cost").unwrap(), &at(None), &safe, 256),
            None
        );
        let unsafe_now = CurrentSize::Unsafe { reasons: vec![] };
        assert_eq!(held_back(&guarded(), &at(None), &unsafe_now, 256), None);
        assert_eq!(held_back(&guarded(), &at(None), &safe, 512), None);
    }

    #[test]
    fn a_faster_change_is_worth_it_even_when_it_costs_more() {
        let measured = vec![
            size(512, 1.0e-6, 1400.0, 1450.0),
            size(1769, 1.005e-6, 420.0, 425.0),
        ];
        let b = Baseline {
            memory_mb: 512,
            measured: &measured,
            monthly_invocations: Some(1e5),
        };
        let safe = CurrentSize::Safe {
            p50_ms: 1400.0,
            p99_ms: 1450.0,
        };
        assert_eq!(held_back(&guarded(), &b, &safe, 1769), None);
    }

    #[test]
    fn the_guard_note_says_what_was_forgone_and_how_to_allow_it() {
        let guard = LatencyGuard::Applied {
            max_p99_increase: Some(0.2),
            max_p50_increase: Some(0.2),
            current_p50_ms: 67.5,
            current_p99_ms: 157.3,
            p99_limit_ms: Some(188.76),
            p50_limit_ms: Some(81.0),
            excluded_mb: vec![128],
            forgone: Some(Forgone {
                memory_mb: 128,
                percentile: Percentile::P99,
                ms: 272.9,
                current_ms: 157.3,
                max_increase: 0.2,
                saving: Some(Saving {
                    fraction: 0.415,
                    usd_per_month: Some(9.41),
                }),
            }),
        };
        let note = guard.note().unwrap();
        assert!(
            note.starts_with("128 MB would save 41.5% ($9.41 a month), but it has a p99 of 272.9 ms, 73% above the current 157.3 ms"),
            "{note}"
        );
        assert!(note.contains("--strategy cost"), "{note}");
        assert_eq!(LatencyGuard::CurrentNotMeasured.note(), None);
    }
}
