//! Whether a recommendation may be applied without a human: every guard must pass.

use crate::tune::confidence::confidence;
use crate::tune::document::FunctionDocument;

/// The guards of `[apply]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Guards {
    /// Savings per month (from production traffic) at least this; unknown savings pass only
    /// when this is 0 or less.
    pub min_monthly_savings_usd: f64,
    /// p99 at the recommended size at most this much above the current p99, in %.
    pub max_p99_regression_pct: f64,
    /// [`confidence`] at least this (0..=1).
    pub min_confidence: f64,
}

impl Default for Guards {
    fn default() -> Self {
        Guards {
            min_monthly_savings_usd: 1.0,
            max_p99_regression_pct: 10.0,
            min_confidence: 0.9,
        }
    }
}

/// The memory size to apply, or why the current size is kept. None when there is nothing to
/// apply (no recommendation, or it is the current size).
pub fn evaluate(doc: &FunctionDocument, guards: &Guards) -> Option<Result<u32, String>> {
    let rec = doc.recommendation.as_ref()?;
    if rec.memory_mb == doc.current.memory_mb {
        return None;
    }
    Some(check(doc, guards).map(|()| rec.memory_mb))
}

fn check(doc: &FunctionDocument, g: &Guards) -> Result<(), String> {
    let rec = doc.recommendation.as_ref().expect("checked by evaluate");
    // Only a size whose SLO is confirmed is ever applied, whatever the other guards allow.
    if let Some(slo) = rec.slo.filter(|s| !s.is_met()) {
        return Err(format!(
            "SLO {}: {} {:.1} ms against {:.0} ms",
            slo.status.as_str(),
            slo.percentile.as_str(),
            slo.estimate_ms,
            slo.slo_ms
        ));
    }
    match rec.monthly_savings_usd {
        Some(s) if s < g.min_monthly_savings_usd => {
            return Err(format!(
                "savings ${s:.2}/month < min {:.2}",
                g.min_monthly_savings_usd
            ))
        }
        None if g.min_monthly_savings_usd > 0.0 => {
            return Err(format!(
                "savings per month unknown (no production traffic, or the current size was not measured) < min {:.2}",
                g.min_monthly_savings_usd
            ))
        }
        _ => {}
    }
    match (doc.current.p99_ms, rec.p99_ms) {
        (Some(now), Some(after)) if now > 0.0 => {
            let change = (after / now - 1.0) * 100.0;
            if change > g.max_p99_regression_pct {
                return Err(format!(
                    "p99 {change:+.1}% ({now:.1} -> {after:.1} ms) > max +{}%",
                    g.max_p99_regression_pct
                ));
            }
        }
        _ => {
            return Err(
                "p99 regression unknown: the current or recommended size has no measured p99"
                    .into(),
            )
        }
    }
    match confidence(doc) {
        Some(c) if c >= g.min_confidence => Ok(()),
        Some(c) => Err(format!("confidence {c:.2} < min {:.2}", g.min_confidence)),
        None => Err("confidence unknown: the current size has no measured cost interval".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::confidence::tests::doc;

    /// 512 -> 1024 MB: cheaper with separated intervals; p99 is 120 ms at both.
    fn clear_win(savings: Option<f64>) -> FunctionDocument {
        let mut d = doc(512, 1024, &[(512, 2.0e-6, 0.1e-6), (1024, 1.5e-6, 0.1e-6)]);
        d.recommendation.as_mut().unwrap().monthly_savings_usd = savings;
        d
    }

    #[test]
    fn a_clear_win_passes_every_guard() {
        assert_eq!(
            evaluate(&clear_win(Some(5.0)), &Guards::default()),
            Some(Ok(1024))
        );
    }

    #[test]
    fn small_or_unknown_savings_keep_the_current_size() {
        let err = evaluate(&clear_win(Some(0.12)), &Guards::default())
            .unwrap()
            .unwrap_err();
        assert_eq!(err, "savings $0.12/month < min 1.00");
        let unknown = evaluate(&clear_win(None), &Guards::default()).unwrap();
        assert!(unknown.unwrap_err().contains("unknown"));
        let lenient = Guards {
            min_monthly_savings_usd: 0.0,
            ..Guards::default()
        };
        assert_eq!(evaluate(&clear_win(None), &lenient), Some(Ok(1024)));
    }

    #[test]
    fn a_p99_regression_beyond_the_limit_keeps_the_current_size() {
        let mut d = clear_win(Some(5.0));
        d.recommendation.as_mut().unwrap().p99_ms = Some(150.0);
        let err = evaluate(&d, &Guards::default()).unwrap().unwrap_err();
        assert_eq!(err, "p99 +25.0% (120.0 -> 150.0 ms) > max +10%");
        let tolerant = Guards {
            max_p99_regression_pct: 30.0,
            ..Guards::default()
        };
        assert_eq!(evaluate(&d, &tolerant), Some(Ok(1024)));
    }

    #[test]
    fn low_confidence_keeps_the_current_size() {
        let mut d = doc(512, 1024, &[(512, 2.0e-6, 0.5e-6), (1024, 1.9e-6, 0.5e-6)]);
        d.recommendation.as_mut().unwrap().monthly_savings_usd = Some(5.0);
        let err = evaluate(&d, &Guards::default()).unwrap().unwrap_err();
        assert!(err.starts_with("confidence 0."), "{err}");
    }

    #[test]
    fn an_slo_not_met_is_never_applied() {
        use crate::measure::Percentile;
        use crate::strategy::{SloStatus, SloVerdict};
        let lenient = Guards {
            min_monthly_savings_usd: 0.0,
            max_p99_regression_pct: 1000.0,
            min_confidence: 0.0,
        };
        let with = |status: SloVerdict| {
            let mut d = clear_win(Some(5.0));
            d.recommendation.as_mut().unwrap().slo = Some(SloStatus {
                slo_ms: 200.0,
                percentile: Percentile::P99,
                estimate_ms: 180.0,
                upper_bound_ms: Some(230.0),
                confidence: 0.995,
                status,
            });
            evaluate(&d, &lenient)
        };
        assert_eq!(with(SloVerdict::Met), Some(Ok(1024)));
        let err = with(SloVerdict::Unconfirmed).unwrap().unwrap_err();
        assert_eq!(err, "SLO unconfirmed: p99 180.0 ms against 200 ms");
        assert!(with(SloVerdict::Unmet)
            .unwrap()
            .unwrap_err()
            .starts_with("SLO unmet"));
    }

    #[test]
    fn nothing_to_apply_at_the_current_size() {
        assert_eq!(
            evaluate(&doc(512, 512, &[(512, 2.0e-6, 0.1e-6)]), &Guards::default()),
            None
        );
    }
}
