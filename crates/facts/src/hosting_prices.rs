//! Prices of the alternatives to on-demand Lambda (`[[hosting_region]]` in
//! `config/pricing.toml`): Fargate, the Application Load Balancer and Lambda Managed Instances
//! with the EC2 instances it runs on (provisioned concurrency is priced on the Lambda region
//! rows). Data only; `memtune::hosting` does the arithmetic.

use serde::Deserialize;

use crate::Architecture;

/// One region's prices of the hosting alternatives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostingRegion {
    pub name: String,
    pub as_of: String,
    pub fargate: FargatePrices,
    pub alb: AlbPrices,
    pub managed_instances: ManagedInstancePrices,
    #[serde(rename = "instance")]
    pub instances: Vec<InstancePrice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateRate {
    pub vcpu_hour: f64,
    pub gb_hour: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargatePrices {
    pub source: String,
    pub x86_64: FargateRate,
    pub arm64: FargateRate,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbPrices {
    pub source: String,
    pub hour: f64,
    pub lcu_hour: f64,
    pub new_connections_per_lcu: f64,
    pub gb_processed_per_lcu: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedInstancePrices {
    pub source: String,
    /// Fraction of the EC2 on-demand price added as the management fee.
    pub management_fee: f64,
    pub request_price_per_million: f64,
    /// Instances a capacity provider keeps running at least.
    pub min_instances: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancePrice {
    pub name: String,
    pub architecture: Architecture,
    pub vcpus: u32,
    pub memory_gib: f64,
    /// USD per instance-hour, EC2 on-demand, Linux.
    pub hour: f64,
    pub source: String,
}

impl FargatePrices {
    pub fn rate(&self, arch: Architecture) -> FargateRate {
        match arch {
            Architecture::X86_64 => self.x86_64,
            Architecture::Arm64 => self.arm64,
        }
    }
}

impl HostingRegion {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        let f = &self.fargate;
        let a = &self.alb;
        let m = &self.managed_instances;
        let figures = [
            f.x86_64.vcpu_hour,
            f.x86_64.gb_hour,
            f.arm64.vcpu_hour,
            f.arm64.gb_hour,
            a.hour,
            a.lcu_hour,
            m.management_fee,
            m.request_price_per_million,
        ];
        if figures.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(format!(
                "hosting_region {name}: prices must be finite and >= 0"
            ));
        }
        if !(a.new_connections_per_lcu > 0.0 && a.gb_processed_per_lcu > 0.0) {
            return Err(format!("hosting_region {name}: LCU dimensions must be > 0"));
        }
        for i in &self.instances {
            let positive = |x: f64| x.is_finite() && x > 0.0;
            if i.vcpus == 0 || !positive(i.memory_gib) || !positive(i.hour) {
                return Err(format!(
                    "hosting_region {name}, instance {}: vcpus, memory_gib and hour must be > 0",
                    i.name
                ));
            }
        }
        Ok(())
    }
}
