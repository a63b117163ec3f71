//! The trade-off of a recommendation, said plainly: what changes (cost per invocation and per
//! month, p50 and p99, before -> after, all measured) and why the size beat the runner-up.
//! Every report format renders it; it is made here, with the decision.

use serde::{Deserialize, Serialize};

use crate::measure::SizeStats;

/// What a recommendation changes, in one sentence and in fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tradeoff {
    /// One sentence for a human: before -> after, and why this size.
    pub summary: String,
    pub current_mb: u32,
    pub recommended_mb: u32,
    /// Measured, as the reports' size rows show them; `before` is None when the current size
    /// was not sampled.
    pub cost_per_invocation_usd: BeforeAfter,
    /// Cost per invocation x production's monthly invocations, when known.
    pub cost_per_month_usd: Option<BeforeAfter>,
    pub p50_ms: BeforeAfter,
    pub p99_ms: BeforeAfter,
    /// The size that came second, and why the recommended one beat it.
    pub runner_up: Option<RunnerUp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BeforeAfter {
    pub before: Option<f64>,
    pub after: Option<f64>,
}

impl BeforeAfter {
    /// Relative change, when both are known.
    pub fn change(&self) -> Option<f64> {
        match (self.before, self.after) {
            (Some(b), Some(a)) if b > 0.0 => Some(a / b - 1.0),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerUp {
    pub memory_mb: u32,
    /// Why the recommended size beat it.
    pub why: String,
}

/// The trade-off of moving from `current_mb` to `recommended_mb`, from `measured` statistics;
/// `notes` (the guard's, the minimum change's) end the sentence.
pub(super) fn tradeoff(
    measured: &[SizeStats],
    current_mb: u32,
    recommended_mb: u32,
    monthly_invocations: Option<f64>,
    runner_up: Option<RunnerUp>,
    notes: &[String],
) -> Tradeoff {
    let at = |mb: u32| measured.iter().find(|s| s.memory_mb == mb);
    let stat = |f: fn(&SizeStats) -> Option<f64>| BeforeAfter {
        before: at(current_mb).and_then(f),
        after: at(recommended_mb).and_then(f),
    };
    let cost = stat(|s| s.cost.map(|c| c.mean_usd));
    let monthly = monthly_invocations.filter(|&m| m > 0.0);
    let cost_per_month = monthly.map(|m| BeforeAfter {
        before: cost.before.map(|c| c * m),
        after: cost.after.map(|c| c * m),
    });
    let p50 = stat(|s| s.warm.as_ref().map(|w| w.p50.ms));
    let p99 = stat(|s| s.warm.as_ref().map(|w| w.p99.ms));
    let mut t = Tradeoff {
        summary: String::new(),
        current_mb,
        recommended_mb,
        cost_per_invocation_usd: cost,
        cost_per_month_usd: cost_per_month,
        p50_ms: p50,
        p99_ms: p99,
        runner_up,
    };
    t.summary = summary(&t, notes);
    t
}

/// "512 -> 1769 MB: $12.05 -> $12.11 per 1M invocations (+0.5%, $0.36 a month more), p50
/// 1404.8 -> 423.1 ms, p99 1447.9 -> 425.0 ms (-70.6%); it beat 2048 MB: ...".
fn summary(t: &Tradeoff, notes: &[String]) -> String {
    let keep = t.current_mb == t.recommended_mb;
    let per_million = |usd: Option<f64>| usd.map_or("n/m".into(), |u| format!("${:.2}", u * 1e6));
    let ms = |v: Option<f64>| v.map_or("n/m".into(), |v| format!("{v:.1}"));
    let mut parts = Vec::new();
    if keep {
        parts.push(format!(
            "keep {} MB: {} per 1M invocations, p50 {} ms, p99 {} ms (measured)",
            t.current_mb,
            per_million(t.cost_per_invocation_usd.after),
            ms(t.p50_ms.after),
            ms(t.p99_ms.after)
        ));
    } else {
        let c = &t.cost_per_invocation_usd;
        let mut cost_change = Vec::new();
        if let Some(x) = c.change() {
            cost_change.push(signed_pct(x));
        }
        if let Some(BeforeAfter {
            before: Some(b),
            after: Some(a),
        }) = t.cost_per_month_usd
        {
            let (word, usd) = if a <= b {
                ("saved", b - a)
            } else {
                ("more", a - b)
            };
            cost_change.push(format!("${usd:.2} a month {word}"));
        }
        let cost_change = if cost_change.is_empty() {
            String::new()
        } else {
            format!(" ({})", cost_change.join(", "))
        };
        let p99_change = t
            .p99_ms
            .change()
            .map(|x| format!(" ({})", signed_pct(x)))
            .unwrap_or_default();
        parts.push(format!(
            "{} -> {} MB: {} -> {} per 1M invocations{cost_change}, p50 {} -> {} ms, p99 {} -> {} ms{p99_change} (measured)",
            t.current_mb,
            t.recommended_mb,
            per_million(c.before),
            per_million(c.after),
            ms(t.p50_ms.before),
            ms(t.p50_ms.after),
            ms(t.p99_ms.before),
            ms(t.p99_ms.after),
        ));
    }
    if let Some(r) = &t.runner_up {
        parts.push(format!("it beat {} MB: {}", r.memory_mb, r.why));
    }
    parts.extend(notes.iter().cloned());
    parts.join("; ")
}

/// A relative change with its sign, one decimal; "0.0%" rather than "-0.0%".
fn signed_pct(fraction: f64) -> String {
    let pct = (fraction * 1000.0).round() / 10.0;
    if pct == 0.0 {
        "0.0%".into()
    } else {
        format!("{pct:+.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::size;
    use super::*;

    #[test]
    fn a_change_says_cost_and_latency_before_and_after_and_why() {
        let measured = vec![
            size(512, 12.05e-6, 1404.8, 1447.9),
            size(1769, 12.11e-6, 423.1, 425.0),
        ];
        let runner = RunnerUp {
            memory_mb: 2048,
            why: "2048 MB costs 15.0% more per invocation".into(),
        };
        let t = tradeoff(&measured, 512, 1769, Some(6e6), Some(runner), &[]);
        assert_eq!(t.cost_per_invocation_usd.before, Some(12.05e-6));
        assert_eq!(t.p99_ms.after, Some(425.0));
        let month = t.cost_per_month_usd.unwrap();
        assert!((month.after.unwrap() - month.before.unwrap() - 0.36).abs() < 1e-9);
        assert_eq!(
            t.summary,
            "512 -> 1769 MB: $12.05 -> $12.11 per 1M invocations (+0.5%, $0.36 a month more), \
             p50 1404.8 -> 423.1 ms, p99 1447.9 -> 425.0 ms (-70.6%) (measured); it beat 2048 MB: \
             2048 MB costs 15.0% more per invocation"
        );
    }

    #[test]
    fn a_kept_size_and_an_unmeasured_current_size_say_so() {
        let measured = vec![
            size(512, 1.0e-6, 150.0, 157.0),
            size(256, 0.97e-6, 165.0, 170.0),
        ];
        let note = "256 MB would save 3.0%, less than the minimum change".to_string();
        let t = tradeoff(&measured, 512, 512, None, None, std::slice::from_ref(&note));
        assert_eq!(
            t.summary,
            format!("keep 512 MB: $1.00 per 1M invocations, p50 150.0 ms, p99 157.0 ms (measured); {note}")
        );
        assert_eq!(t.cost_per_month_usd, None);
        let t = tradeoff(&measured, 1024, 256, None, None, &[]);
        assert!(
            t.summary.starts_with("1024 -> 256 MB: n/m -> $0.97"),
            "{}",
            t.summary
        );
        assert_eq!(t.p99_ms.change(), None);
        assert_eq!(signed_pct(-0.0004), "0.0%");
        assert_eq!(signed_pct(-0.306), "-30.6%");
    }
}
