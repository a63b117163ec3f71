//! Faults the lab injects on demand (`--faults throttle=0.05,error5xx=0.02,...`), so memtune's
//! retries, backoff and restore paths can be exercised.

use std::fmt;

/// Probability of each fault per request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Invoke answers 429 TooManyRequestsException.
    pub throttle: f64,
    /// Any Lambda call answers 500 ServiceException.
    pub error5xx: f64,
    /// Invoke takes much longer than the function's duration.
    pub slow: f64,
    /// UpdateFunctionConfiguration stays InProgress for a long time.
    pub stuck_update: f64,
    /// A provisioned concurrency allocation ends FAILED (FUNCTION_ERROR_INIT_FAILURE).
    pub provisioned_failure: f64,
}

impl Faults {
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }
}

impl std::str::FromStr for Faults {
    type Err = String;

    fn from_str(spec: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}' needs a probability, e.g. throttle=0.05"))?;
            let p: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    format!("fault '{name}': '{value}' is not a probability between 0 and 1")
                })?;
            match name.trim() {
                "throttle" => faults.throttle = p,
                "error5xx" => faults.error5xx = p,
                "slow" => faults.slow = p,
                "stuck-update" => faults.stuck_update = p,
                "provisioned-failure" => faults.provisioned_failure = p,
                other => {
                    return Err(format!(
                        "unknown fault '{other}': use throttle, error5xx, slow, stuck-update or provisioned-failure"
                    ))
                }
            }
        }
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle={},error5xx={},slow={},stuck-update={},provisioned-failure={}",
            self.throttle, self.error5xx, self.slow, self.stuck_update, self.provisioned_failure
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_spec() {
        let f: Faults = "throttle=0.05, error5xx=0.02,stuck-update=0.01"
            .parse()
            .unwrap();
        assert_eq!(f.throttle, 0.05);
        assert_eq!(f.error5xx, 0.02);
        assert_eq!(f.stuck_update, 0.01);
        assert_eq!(f.slow, 0.0);
    }

    #[test]
    fn rejects_bad_specs() {
        assert!("throttle"
            .parse::<Faults>()
            .unwrap_err()
            .contains("needs a probability"));
        assert!("throttle=2"
            .parse::<Faults>()
            .unwrap_err()
            .contains("between 0 and 1"));
        assert!("boom=0.1"
            .parse::<Faults>()
            .unwrap_err()
            .contains("unknown fault"));
    }
}
