//! The Lambda cost model: prices as data (`config/pricing.toml`, compiled in as the default),
//! and the arithmetic that turns memory and billed duration into dollars.
//!
//! cost per invocation = request price + GB-s price x memory/1024 x billed_ms/1000, where
//! INIT is billed at the same rate (weighted by how often an invocation is cold). Duration
//! tiers depend on the account's monthly volume, so per-invocation costs use the first tier
//! and [`ArchPrices::monthly_duration_cost`] applies the tiers to a monthly total. The free
//! tier belongs to the account, never to one function: it is data here, not a discount.

use std::path::Path;

use serde::Deserialize;

use crate::hosting_prices::HostingRegion;
use crate::Architecture;

const BUILTIN: &str = include_str!("../../../config/pricing.toml");
const BUILTIN_ORIGIN: &str = "config/pricing.toml (built in)";

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("no prices for region '{region}'; known regions: {known}")]
    UnknownRegion { region: String, known: String },
    #[error(
        "no provisioned-concurrency {arch} prices for region '{region}' in the pricing file; \
         add provisioned_{arch} = {{ concurrency_gb_s = ..., duration_gb_s = ... }} to it"
    )]
    NoProvisionedPrices { region: String, arch: String },
    #[error("no hosting prices ([[hosting_region]]) for region '{region}'; known: {known}")]
    NoHostingPrices { region: String, known: String },
    #[error("no {arch} prices in region '{region}'; it has: {known}")]
    UnknownArchitecture {
        region: String,
        arch: String,
        known: String,
    },
}

/// Every price memtune knows, as loaded from a pricing file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceBook {
    /// The date the prices were last checked against their source.
    pub as_of: String,
    pub currency: String,
    pub source: String,
    pub free_tier: FreeTier,
    pub init_billing: InitBilling,
    #[serde(rename = "region")]
    regions: Vec<RegionPrices>,
    /// Prices of the alternatives to on-demand Lambda, per region (`memtune hosting`).
    #[serde(default, rename = "hosting_region")]
    hosting_regions: Vec<HostingRegion>,
}

/// The monthly free tier of an account (all functions, both architectures).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeTier {
    pub requests: f64,
    pub gb_seconds: f64,
}

/// Which INIT durations are billed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitBilling {
    /// ISO date from which managed-runtime Zip functions pay for INIT too.
    pub managed_zip_billed_since: String,
    /// Runtimes starting with this are custom runtimes (always billed for INIT).
    pub custom_runtime_prefix: String,
}

impl InitBilling {
    /// Whether a function's INIT is billed on an ISO date (`YYYY-MM-DD`).
    pub fn is_billed(&self, package_type: &str, runtime: &str, on_date: &str) -> bool {
        package_type == "Image"
            || runtime.starts_with(&self.custom_runtime_prefix)
            || on_date >= self.managed_zip_billed_since.as_str()
    }
}

/// The prices of one region.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    pub name: String,
    /// Some figures were estimated rather than checked against AWS.
    #[serde(default)]
    pub approximate: bool,
    pub request_price_per_million: f64,
    /// Ephemeral storage above the free 512 MB, per GB-s.
    pub ephemeral_storage_gb_s: f64,
    /// Duration tiers per architecture; a region may lack one.
    #[serde(default)]
    x86_64: Option<Vec<Tier>>,
    #[serde(default)]
    arm64: Option<Vec<Tier>>,
    /// Provisioned-concurrency prices per architecture; a region may lack them.
    #[serde(default)]
    provisioned_x86_64: Option<ProvisionedPrices>,
    #[serde(default)]
    provisioned_arm64: Option<ProvisionedPrices>,
}

/// What provisioned concurrency costs: every GB-s an environment is provisioned, and the
/// duration of the invocations provisioned environments serve (instead of the on-demand price).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedPrices {
    pub concurrency_gb_s: f64,
    pub duration_gb_s: f64,
}

/// One duration tier: `price_gb_s` applies to the monthly volume up to `up_to_gb_s`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(default)]
    pub up_to_gb_s: Option<f64>,
    pub price_gb_s: f64,
}

/// The duration tiers of one architecture in one region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchPrices<'a> {
    pub tiers: &'a [Tier],
}

/// Free ephemeral storage per function, in MB.
pub const FREE_EPHEMERAL_STORAGE_MB: u32 = 512;

/// GB-seconds of one invocation: memory (MB / 1024) x billed duration (s).
pub fn gb_seconds(memory_mb: u32, billed_ms: f64) -> f64 {
    memory_mb as f64 / 1024.0 * billed_ms / 1000.0
}

/// Lambda bills duration rounded up to the next millisecond.
pub fn billed_ms(duration_ms: f64) -> f64 {
    duration_ms.max(0.0).ceil()
}

impl PriceBook {
    /// The prices compiled into memtune (`config/pricing.toml`).
    pub fn builtin() -> PriceBook {
        PriceBook::parse(BUILTIN, BUILTIN_ORIGIN)
            .expect("the built-in price book is valid (a unit test checks it)")
    }

    pub fn load(path: &Path) -> Result<PriceBook, PricingError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: shown.clone(),
            source,
        })?;
        PriceBook::parse(&text, &shown)
    }

    pub fn parse(text: &str, origin: &str) -> Result<PriceBook, PricingError> {
        let invalid = |message: String| PricingError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let book: PriceBook = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        book.validate().map_err(invalid)?;
        Ok(book)
    }

    fn validate(&self) -> Result<(), String> {
        if self.regions.is_empty() {
            return Err("no [[region]] prices".into());
        }
        for region in &self.regions {
            region.validate()?;
        }
        for region in &self.hosting_regions {
            region.validate()?;
        }
        Ok(())
    }

    pub fn region_names(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(|r| r.name.as_str())
    }

    pub fn region(&self, name: &str) -> Result<&RegionPrices, PricingError> {
        self.regions
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| PricingError::UnknownRegion {
                region: name.to_string(),
                known: self.region_names().collect::<Vec<_>>().join(", "),
            })
    }

    /// The hosting alternatives' prices of a region.
    pub fn hosting(&self, name: &str) -> Result<&HostingRegion, PricingError> {
        self.hosting_regions
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| PricingError::NoHostingPrices {
                region: name.to_string(),
                known: match self.hosting_regions.len() {
                    0 => "none".to_string(),
                    _ => self
                        .hosting_regions
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            })
    }

    /// USD for one invocation at first-tier prices, request price included.
    /// `init_ms_weighted` is the billed INIT per invocation (INIT x cold-start ratio).
    pub fn cost_per_invocation(
        &self,
        memory_mb: u32,
        billed_ms: f64,
        init_ms_weighted: f64,
        arch: Architecture,
        region: &str,
    ) -> Result<f64, PricingError> {
        let region = self.region(region)?;
        region.invocation_cost(memory_mb, billed_ms, init_ms_weighted, arch)
    }
}

impl RegionPrices {
    fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        let price_ok = |p: f64| p.is_finite() && p >= 0.0;
        if !price_ok(self.request_price_per_million) || !price_ok(self.ephemeral_storage_gb_s) {
            return Err(format!("region {name}: prices must be finite and >= 0"));
        }
        for (arch, tiers) in self.architectures() {
            validate_tiers(tiers).map_err(|m| format!("region {name}, {}: {m}", arch.as_str()))?;
        }
        for p in [self.provisioned_x86_64, self.provisioned_arm64]
            .into_iter()
            .flatten()
        {
            if !price_ok(p.concurrency_gb_s) || !price_ok(p.duration_gb_s) {
                return Err(format!(
                    "region {name}: provisioned prices must be finite and >= 0"
                ));
            }
        }
        if self.architectures().next().is_none() {
            return Err(format!("region {name}: no x86_64 or arm64 prices"));
        }
        Ok(())
    }

    /// The architectures this region has prices for, with their tiers.
    fn architectures(&self) -> impl Iterator<Item = (Architecture, &Vec<Tier>)> {
        [
            (Architecture::X86_64, &self.x86_64),
            (Architecture::Arm64, &self.arm64),
        ]
        .into_iter()
        .filter_map(|(arch, tiers)| tiers.as_ref().map(|t| (arch, t)))
    }

    pub fn rate(&self, arch: Architecture) -> Result<ArchPrices<'_>, PricingError> {
        let tiers = match arch {
            Architecture::X86_64 => &self.x86_64,
            Architecture::Arm64 => &self.arm64,
        };
        tiers
            .as_deref()
            .map(|tiers| ArchPrices { tiers })
            .ok_or_else(|| PricingError::UnknownArchitecture {
                region: self.name.clone(),
                arch: arch.as_str().to_string(),
                known: self
                    .architectures()
                    .map(|(a, _)| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Provisioned-concurrency prices of an architecture.
    pub fn provisioned(&self, arch: Architecture) -> Result<ProvisionedPrices, PricingError> {
        let prices = match arch {
            Architecture::X86_64 => self.provisioned_x86_64,
            Architecture::Arm64 => self.provisioned_arm64,
        };
        prices.ok_or_else(|| PricingError::NoProvisionedPrices {
            region: self.name.clone(),
            arch: arch.as_str().to_string(),
        })
    }

    /// USD per request.
    pub fn request_price(&self) -> f64 {
        self.request_price_per_million / 1e6
    }

    /// USD for one invocation at first-tier prices, request price included.
    pub fn invocation_cost(
        &self,
        memory_mb: u32,
        billed_ms: f64,
        init_ms_weighted: f64,
        arch: Architecture,
    ) -> Result<f64, PricingError> {
        let price = self.rate(arch)?.first_tier_price();
        let duration = gb_seconds(memory_mb, billed_ms + init_ms_weighted) * price;
        Ok(self.request_price() + duration)
    }

    /// USD for ephemeral storage configured beyond the free 512 MB, per invocation.
    pub fn ephemeral_storage_cost(&self, storage_mb: u32, billed_ms: f64) -> f64 {
        let extra_mb = storage_mb.saturating_sub(FREE_EPHEMERAL_STORAGE_MB);
        gb_seconds(extra_mb, billed_ms) * self.ephemeral_storage_gb_s
    }
}

fn validate_tiers(tiers: &[Tier]) -> Result<(), String> {
    let Some((last, bounded)) = tiers.split_last() else {
        return Err("no tiers".into());
    };
    if last.up_to_gb_s.is_some() {
        return Err("the last tier must have no up_to_gb_s".into());
    }
    let mut previous = 0.0;
    for tier in bounded {
        match tier.up_to_gb_s {
            Some(bound) if bound.is_finite() && bound > previous => previous = bound,
            _ => return Err("tier bounds must be finite and increasing".into()),
        }
    }
    if tiers
        .iter()
        .any(|t| !(t.price_gb_s.is_finite() && t.price_gb_s >= 0.0))
    {
        return Err("tier prices must be finite and >= 0".into());
    }
    Ok(())
}

impl ArchPrices<'_> {
    pub fn first_tier_price(&self) -> f64 {
        self.tiers[0].price_gb_s
    }

    /// The price of the next GB-s once the month has used `monthly_gb_s`.
    pub fn marginal_price(&self, monthly_gb_s: f64) -> f64 {
        self.tiers
            .iter()
            .find(|t| t.up_to_gb_s.is_none_or(|bound| monthly_gb_s < bound))
            .map_or(self.first_tier_price(), |t| t.price_gb_s)
    }

    /// USD for a month's duration volume (one architecture, one region), tiers applied.
    pub fn monthly_duration_cost(&self, monthly_gb_s: f64) -> f64 {
        let mut cost = 0.0;
        let mut lower = 0.0;
        for tier in self.tiers {
            let upper = tier.up_to_gb_s.unwrap_or(f64::INFINITY);
            cost += (monthly_gb_s.min(upper) - lower).max(0.0) * tier.price_gb_s;
            if monthly_gb_s <= upper {
                break;
            }
            lower = upper;
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12_f64.max(b.abs() * 1e-9)
    }

    #[test]
    fn builtin_book_parses_and_lists_expensive_regions() {
        let book = PriceBook::builtin();
        for region in [
            "us-east-1",
            "ap-east-1",
            "af-south-1",
            "me-south-1",
            "eu-south-1",
        ] {
            let r = book.region(region).unwrap();
            let x86 = r.rate(Architecture::X86_64).unwrap().first_tier_price();
            let arm = r.rate(Architecture::Arm64).unwrap().first_tier_price();
            assert!(arm < x86, "{region}");
        }
        let base = book.region("us-east-1").unwrap();
        let hk = book.region("ap-east-1").unwrap();
        assert!(!base.approximate && hk.approximate);
        let price = |r: &RegionPrices| r.rate(Architecture::X86_64).unwrap().first_tier_price();
        assert!(price(hk) > price(base));
    }

    #[test]
    fn hosting_prices_are_their_own_section() {
        let book = PriceBook::builtin();
        let h = book.hosting("us-east-1").unwrap();
        assert_eq!(h.fargate.rate(Architecture::Arm64).vcpu_hour, 0.03238);
        assert_eq!(h.managed_instances.min_instances, 3);
        assert!(h
            .instances
            .iter()
            .any(|i| i.architecture == Architecture::Arm64));
        let err = book.hosting("eu-west-1").unwrap_err().to_string();
        assert!(
            err.contains("'eu-west-1'") && err.contains("us-east-1"),
            "{err}"
        );
    }

    #[test]
    fn gb_seconds_and_billing_granularity() {
        assert!(close(gb_seconds(512, 300.0), 0.15));
        assert!(close(gb_seconds(1024, 1000.0), 1.0));
        assert_eq!(billed_ms(469.4), 470.0);
        assert_eq!(billed_ms(12.0), 12.0);
    }

    #[test]
    fn invocation_cost_by_hand() {
        let book = PriceBook::builtin();
        // 1024 MB x 1 s on x86_64: 1 GB-s x $0.0000166667 + $0.20 / 1M.
        let warm = book
            .cost_per_invocation(1024, 1000.0, 0.0, Architecture::X86_64, "us-east-1")
            .unwrap();
        assert!(close(warm, 0.0000166667 + 0.0000002), "{warm}");
        // 512 MB x 100 ms on arm64 plus 1% of a 200 ms INIT: 0.5 x 0.102 GB-s.
        let cold = book
            .cost_per_invocation(512, 100.0, 2.0, Architecture::Arm64, "us-east-1")
            .unwrap();
        assert!(
            close(cold, 0.5 * 0.102 * 0.0000133334 + 0.0000002),
            "{cold}"
        );
    }

    #[test]
    fn monthly_tiers_by_hand() {
        let book = PriceBook::builtin();
        let x86 = book
            .region("us-east-1")
            .unwrap()
            .rate(Architecture::X86_64)
            .unwrap();
        assert!(close(x86.monthly_duration_cost(1e6), 16.6667));
        // 20B GB-s: 6B at the first price, 9B at -10%, 5B at -20%.
        let expected = 6e9 * 0.0000166667 + 9e9 * 0.000015 + 5e9 * 0.0000133334;
        assert!(close(x86.monthly_duration_cost(20e9), expected));
        assert_eq!(x86.marginal_price(5e9), 0.0000166667);
        assert_eq!(x86.marginal_price(7e9), 0.000015);
        assert_eq!(x86.marginal_price(16e9), 0.0000133334);
    }

    #[test]
    fn ephemeral_storage_only_above_512_mb() {
        let region = PriceBook::builtin().region("us-east-1").unwrap().clone();
        assert_eq!(region.ephemeral_storage_cost(512, 1000.0), 0.0);
        assert!(close(
            region.ephemeral_storage_cost(1536, 1000.0),
            0.0000000309
        ));
    }

    #[test]
    fn init_billing_rule() {
        let rule = PriceBook::builtin().init_billing;
        assert!(!rule.is_billed("Zip", "python3.12", "2025-07-31"));
        assert!(rule.is_billed("Zip", "python3.12", "2025-08-01"));
        assert!(rule.is_billed("Zip", "provided.al2023", "2024-01-01"));
        assert!(rule.is_billed("Image", "python3.12", "2024-01-01"));
    }

    #[test]
    fn unknown_region_names_it_and_lists_known_ones() {
        let err = PriceBook::builtin()
            .region("mars-north-1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'mars-north-1'"), "{err}");
        assert!(
            err.contains("us-east-1") && err.contains("ap-east-1"),
            "{err}"
        );
    }

    #[test]
    fn missing_architecture_and_bad_tiers_are_errors() {
        let text = "as_of = \"2026-01-01\"\ncurrency = \"USD\"\nsource = \"x\"\n\
            [free_tier]\nrequests = 1\ngb_seconds = 1\n\
            [init_billing]\nmanaged_zip_billed_since = \"2025-08-01\"\ncustom_runtime_prefix = \"provided\"\n\
            [[region]]\nname = \"r\"\nrequest_price_per_million = 0.2\nephemeral_storage_gb_s = 0.0\n\
            x86_64 = [{ price_gb_s = 0.00001 }]\n";
        let book = PriceBook::parse(text, "t.toml").unwrap();
        let err = book
            .region("r")
            .unwrap()
            .rate(Architecture::Arm64)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "no arm64 prices in region 'r'; it has: x86_64");
        let bad = text.replace(
            "x86_64 = [{ price_gb_s = 0.00001 }]",
            "x86_64 = [{ up_to_gb_s = 5.0, price_gb_s = 0.00001 }]",
        );
        let err = PriceBook::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(err.contains("last tier"), "{err}");
    }
}
