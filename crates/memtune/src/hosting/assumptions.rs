//! The assumptions a hosting comparison rests on: configurable, printed with every result.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    /// Requests one Fargate task serves at once.
    pub per_task_concurrency: u32,
    /// Share of a task's (or an instance's) vCPU the peak may use.
    pub utilisation_target: f64,
    /// Tasks that run at least (one per Availability Zone).
    pub min_tasks: u32,
    /// Share of one load balancer's hourly price charged to this function (1 = its own).
    pub alb_share: f64,
    /// Bytes the load balancer processes per request (request + response).
    pub bytes_per_request: f64,
    /// New connections per request (1 = no keep-alive; lower with keep-alive clients).
    pub new_connections_per_request: f64,
    /// Another option is "clearly better" when it costs at least this share less.
    pub margin: f64,
    /// Provisioned concurrency level; None = the busiest hour's mean concurrency.
    pub provisioned_level: Option<u32>,
    /// Peak / busiest-hour mean concurrency when CloudWatch serves no ConcurrentExecutions.
    pub peak_to_mean: f64,
    /// Mean duration within this share of the fastest measured size counts as "added vCPU
    /// stops helping".
    pub cpu_knee_tolerance: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            per_task_concurrency: 10,
            utilisation_target: 0.6,
            min_tasks: 2,
            alb_share: 1.0,
            bytes_per_request: 10_000.0,
            new_connections_per_request: 1.0,
            margin: 0.2,
            provisioned_level: None,
            peak_to_mean: 2.0,
            cpu_knee_tolerance: 0.05,
        }
    }
}

impl Assumptions {
    /// Why the assumptions cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.per_task_concurrency == 0 {
            return Err("--per-task-concurrency must be at least 1".into());
        }
        if !(self.utilisation_target > 0.0 && self.utilisation_target <= 1.0) {
            return Err("--utilisation-target must be in (0, 1]".into());
        }
        if !(0.0..=1.0).contains(&self.alb_share) {
            return Err("--alb-share must be in [0, 1]".into());
        }
        if !(0.0..1.0).contains(&self.margin) {
            return Err("--margin must be in [0, 1)".into());
        }
        if !(self.peak_to_mean >= 1.0 && self.peak_to_mean.is_finite()) {
            return Err("--peak-to-mean must be at least 1".into());
        }
        if !(self.bytes_per_request >= 0.0 && self.new_connections_per_request >= 0.0) {
            return Err(
                "--bytes-per-request and --new-connections-per-request must be >= 0".into(),
            );
        }
        Ok(())
    }

    /// The assumptions in one line, as printed with each result.
    pub fn line(&self) -> String {
        let level = self
            .provisioned_level
            .map_or("busiest hour's mean concurrency".to_string(), |l| {
                l.to_string()
            });
        format!(
            "Fargate: {} requests per task, min {} tasks; CPU target {:.0}%; ALB share {:.0}%, \
             {} B and {} new connections per request; provisioned level: {level}; \
             clearly better: {:.0}% cheaper; arm64 runs as fast as measured (not measured \
             on arm64); always-on capacity sized for the peak",
            self.per_task_concurrency,
            self.min_tasks,
            self.utilisation_target * 100.0,
            self.alb_share * 100.0,
            self.bytes_per_request,
            self.new_connections_per_request,
            self.margin * 100.0,
        )
    }
}
