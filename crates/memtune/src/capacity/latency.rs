//! The p99 users see with and without cold starts. CloudWatch's Duration excludes INIT, so
//! warm latency is its distribution; a cold invocation adds its INIT (from REPORT lines). Both
//! are read as quantile curves through the few quantiles known, the cold curve as INIT and
//! duration at the same rank added up, and mixed by the cold-start rate.

/// A quantile curve through (rank, value) points, increasing in both.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles(Vec<(f64, f64)>);

impl Quantiles {
    /// Points out of order or with NaN are dropped; ranks 0 and 1 are added flat.
    pub fn new(points: &[(f64, f64)]) -> Quantiles {
        let mut p: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(q, v)| q.is_finite() && v.is_finite() && (0.0..=1.0).contains(q))
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut monotone: Vec<(f64, f64)> = Vec::new();
        for (q, v) in p {
            let floor = monotone.last().map_or(0.0, |l| l.1);
            monotone.push((q, v.max(floor)));
        }
        if let Some(&(q, v)) = monotone.first() {
            if q > 0.0 {
                monotone.insert(0, (0.0, v));
            }
        }
        if let Some(&(q, v)) = monotone.last() {
            if q < 1.0 {
                monotone.push((1.0, v));
            }
        }
        Quantiles(monotone)
    }

    pub fn value(&self, q: f64) -> f64 {
        let p = &self.0;
        if p.is_empty() {
            return 0.0;
        }
        let i = p.partition_point(|(r, _)| *r < q).clamp(1, p.len() - 1);
        let ((q0, v0), (q1, v1)) = (p[i - 1], p[i]);
        if q1 <= q0 {
            return v1;
        }
        v0 + (v1 - v0) * ((q - q0) / (q1 - q0)).clamp(0.0, 1.0)
    }

    /// The share of values at or below `x`.
    pub fn cdf(&self, x: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            if self.value(mid) <= x {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The p99 of warm and cold latency mixed, and the share of the slowest 1% that is cold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct P99 {
    pub without_cold_starts_ms: f64,
    pub with_cold_starts_ms: f64,
    /// Of the invocations slower than the p99, the share that started cold.
    pub cold_share_of_slowest: f64,
}

pub fn p99(warm: &Quantiles, init: &Quantiles, cold_rate: f64) -> P99 {
    let cold_rate = cold_rate.clamp(0.0, 1.0);
    let cold = |q: f64| warm.value(q) + init.value(q);
    let cold_cdf = |x: f64| {
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            if cold(mid) <= x {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let mixed = |x: f64| (1.0 - cold_rate) * warm.cdf(x) + cold_rate * cold_cdf(x);
    let (mut lo, mut hi) = (0.0, cold(1.0).max(warm.value(1.0)));
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if mixed(mid) < 0.99 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let with = hi;
    let slow_cold = cold_rate * (1.0 - cold_cdf(with));
    let slow_all = 1.0 - mixed(with);
    P99 {
        without_cold_starts_ms: warm.value(0.99),
        with_cold_starts_ms: with,
        cold_share_of_slowest: if slow_all > 0.0 {
            (slow_cold / slow_all).clamp(0.0, 1.0)
        } else {
            f64::from(cold_rate > 0.0 && with > warm.value(0.99))
        },
    }
}

/// The highest cold-start rate under which the p99 stays at or below `p99_ms` (0 when even
/// warm invocations miss it).
pub fn max_cold_rate(warm: &Quantiles, init: &Quantiles, p99_ms: f64) -> f64 {
    if p99(warm, init, 0.0).with_cold_starts_ms > p99_ms {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if p99(warm, init, mid).with_cold_starts_ms <= p99_ms {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_starts_lift_the_p99_once_they_pass_one_percent() {
        let warm = Quantiles::new(&[(0.5, 100.0), (0.9, 120.0), (0.99, 150.0), (1.0, 200.0)]);
        let init = Quantiles::new(&[(0.5, 800.0), (0.99, 1000.0)]);
        assert!((warm.value(0.95) - 136.666).abs() < 0.01);
        let none = p99(&warm, &init, 0.0);
        assert!((none.with_cold_starts_ms - 150.0).abs() < 0.5, "{none:?}");
        let some = p99(&warm, &init, 0.002);
        assert!(some.with_cold_starts_ms < 200.0, "{some:?}");
        let many = p99(&warm, &init, 0.05);
        assert!(many.with_cold_starts_ms > 850.0, "{many:?}");
        assert!(many.cold_share_of_slowest > 0.9);
        assert_eq!(many.without_cold_starts_ms, 150.0);
        let rate = max_cold_rate(&warm, &init, 300.0);
        assert!(rate > 0.002 && rate < 0.05, "{rate}");
        assert!(p99(&warm, &init, rate).with_cold_starts_ms <= 300.0 + 1e-6);
        assert_eq!(max_cold_rate(&warm, &init, 100.0), 0.0);
    }
}
