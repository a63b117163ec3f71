//! The statistics the decision rests on after an adaptive search: the fitted curve pooled with
//! each size's own samples, and the bound a size's percentile would have once confirmed.

use crate::fit::{self, Fit};
use crate::measure::{self, Infeasibility, Percentile, SizeStats, StatsOptions};

use super::limits::bound_confidence;

/// The upper bound a size's p-quantile would have with `n` warm samples whose mean came out
/// as its present estimate (the fitted curve's, pooled with its own samples when measured).
/// `ahead` is the fit anticipating the samples still to come ([`Fit::anticipating`]), so the
/// noise spread's band narrows with them too; callers make it once for many sizes.
pub(super) fn anticipated_upper(
    ahead: &Fit,
    memory_mb: u32,
    own: Option<&measure::WarmStats>,
    n: u32,
    p: f64,
    confidence: f64,
) -> f64 {
    let fitted = ahead.mean_ms(memory_mb);
    let cv = own.map_or(0.0, |w| w.cv).max(ahead.noise_sigma());
    let estimate = own.map_or(fitted, |w| w.trimmed_mean_ms);
    let sample_se = cv * estimate / f64::from(n.max(1)).sqrt();
    let (mean, band) = combine_means(fitted, ahead.mean_band(memory_mb), estimate, sample_se);
    ahead.quantile_upper(memory_mb, p, mean, band, confidence)
}

/// The statistics the decision uses after an adaptive search: at each measured feasible size
/// the fitted curve's estimates, which pool every sample instead of the few taken at that size
/// (cost from the fitted mean; percentiles from the pooled noise model, or from production's
/// tail when the fit has one, or from the spread around the size where that proves wider
/// ([`Fit::spread_is_wider_at`]), with upper bounds from the band around the size's pooled mean,
/// which its own samples narrow). A size whose pooled
/// p99 estimate reaches past the timeout margin is infeasible even when its own few samples
/// looked fine: a handful of invocations cannot show a tail.
/// Only measured sizes remain candidates.
pub fn smoothed(
    stats: &[SizeStats],
    fit: &Fit,
    cost_of: &dyn Fn(u32, f64) -> f64,
    options: &StatsOptions,
) -> Vec<SizeStats> {
    let tail_limit_ms = options.timeout_fraction * options.timeout_ms;
    let level = bound_confidence(options.confidence);
    stats
        .iter()
        .cloned()
        .map(|mut s| {
            if !s.is_feasible() {
                return s;
            }
            let m = s.memory_mb;
            if let (Some(warm), Some(cost)) = (s.warm.as_mut(), s.cost.as_mut()) {
                let fitted = fit.mean_ms(m);
                let cv = warm.cv.max(fit.noise_sigma());
                let own = own_estimate(fit, warm, cv);
                // Where the curve misses this size's own data, its own mean stands, and its
                // percentiles still come from the pooled noise model (or production's tail)
                // around it, as the grid's would from its samples (which may have missed a slow
                // class). Left to its own order statistics it could never be confirmed: a p99
                // bound takes 299 samples.
                let pooled = pooled_mean(own, fitted, fit.mean_band(m)).or_else(|| {
                    own.map(|(own_ms, se)| {
                        (own_ms, ((own_ms - 1.96 * se).max(0.0), own_ms + 1.96 * se))
                    })
                });
                let Some((mean, (low, high))) = pooled else {
                    return s;
                };
                let cost_at = |ms: f64| cost_of(m, ms + 0.5) + cost.init_usd;
                cost.mean_usd = cost_at(mean);
                cost.ci_low_usd = cost_at(low);
                cost.ci_high_usd = cost_at(high);
                warm.trimmed_mean_ms = mean;
                for percentile in [Percentile::P50, Percentile::P90, Percentile::P99] {
                    let p = percentile.fraction();
                    let q = match percentile {
                        Percentile::P50 => &mut warm.p50,
                        Percentile::P90 => &mut warm.p90,
                        Percentile::P99 => &mut warm.p99,
                    };
                    // The noise model's offsets (or the spread around this size, where it
                    // proves wider), around this size's mean; the bound carries that mean's
                    // uncertainty, which the size's own samples narrow.
                    // Where the size's own samples reach past the model's percentile, the
                    // bound keeps its relative width above them: a slow sample is an estimate,
                    // not a bound, and a bound clamped to it would confirm a heavy tail.
                    let scale = mean / fitted;
                    let modelled = fit.quantile_ms(m, p) * scale;
                    let upper = fit.quantile_upper(m, p, mean, (low, high), level);
                    let own_excess = (q.ms / modelled).max(1.0);
                    q.ms = q.ms.max(modelled);
                    q.upper_ms = Some((upper * own_excess).max(q.ms));
                    q.confidence = level;
                    q.own_spread = fit.spread_is_wider_at(m, p);
                }
                let upper_ms = warm.p99.upper_ms.unwrap_or(warm.p99.ms);
                if warm.p99.ms > tail_limit_ms {
                    s.infeasible.push(Infeasibility::SlowTail {
                        p99_ms: warm.p99.ms,
                        limit_ms: tail_limit_ms,
                    });
                } else if upper_ms > tail_limit_ms {
                    s.infeasible.push(Infeasibility::UnboundedTail {
                        p99_ms: warm.p99.ms,
                        upper_ms,
                        confidence: level,
                        limit_ms: tail_limit_ms,
                    });
                }
            }
            s
        })
        .collect()
}

/// What a size's own samples say about its mean, with its standard error at coefficient of
/// variation `cv`; `None` with fewer than two samples. As the fit does: with production's
/// tail, the median times production's mean over median (a median's error is 1.25 times a
/// mean's; `cv` is the size's own, which a slow sample inflates: that errs wide, on the safe
/// side of an SLO); else the sample mean.
pub(super) fn own_estimate(fit: &Fit, warm: &measure::WarmStats, cv: f64) -> Option<(f64, f64)> {
    if warm.samples < 2 {
        return None;
    }
    let root_n = (warm.samples as f64).sqrt();
    Some(match fit.production_tail() {
        Some(tail) => {
            let mean = warm.p50.ms * tail.mean_over_median();
            (mean, fit::MEDIAN_SE_FACTOR * cv * mean / root_n)
        }
        None => (warm.mean_ms, cv * warm.mean_ms / root_n),
    })
}

/// A size's mean estimate from the fitted curve and its own samples' (`own`: estimate and
/// standard error), weighted by their precision, with its 95% band. `None` when the two
/// disagree by more than two standard errors of their difference: the curve misfits here.
pub(super) fn pooled_mean(
    own: Option<(f64, f64)>,
    fitted_ms: f64,
    band: (f64, f64),
) -> Option<(f64, (f64, f64))> {
    let Some((own_ms, own_se)) = own else {
        return Some((fitted_ms, band));
    };
    let fit_se = (band.1 - band.0) / (2.0 * 1.96);
    if (own_ms - fitted_ms).abs() > 2.0 * own_se.hypot(fit_se) {
        return None;
    }
    Some(combine_means(fitted_ms, band, own_ms, own_se))
}

/// The precision-weighted mean of the fitted curve's estimate (with its 95% band) and a
/// sample mean (with its standard error), and the 95% band of the result.
fn combine_means(
    fitted_ms: f64,
    band: (f64, f64),
    sample_mean_ms: f64,
    sample_se: f64,
) -> (f64, (f64, f64)) {
    let fit_se = (band.1 - band.0) / (2.0 * 1.96);
    if fit_se <= 0.0 || sample_se <= 0.0 {
        return (fitted_ms, band);
    }
    let (w_fit, w_sample) = (fit_se.powi(-2), sample_se.powi(-2));
    let mean = (w_fit * fitted_ms + w_sample * sample_mean_ms) / (w_fit + w_sample);
    let half = 1.96 / (w_fit + w_sample).sqrt();
    (mean, ((mean - half).max(0.0), mean + half))
}
