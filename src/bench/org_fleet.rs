//! A fleet run over several accounts and regions of one lab, through an assumed role, with
//! the lab enforcing Lambda's request-rate quotas (or not): wall time against the floor the
//! control-plane quota sets. Every account-region runs at once, so the floor is the largest
//! number of control-plane calls one account-region needed, divided by its quota.

use std::time::Instant;

use serde::Serialize;

use memtune::fleet::config::FleetConfig;
use memtune::fleet::outcome::Status;
use memtune::fleet::run::RunSettings;
use memtune::orchestrate::organisation::{self, OrganisationInputs};
use memtune::platform::pacing::ApiRates;
use memtune_facts::pricing::PriceBook;
use memtune_lab::profiles::ProfileSet;
use memtune_lab::quotas::{ApiClass, ApiQuotas};
use memtune_lab::tenancy::TenancyConfig;
use memtune_lab::{self as lab, synthetic, LabConfig};

/// Regions the account-regions are spread over, in this order (all priced in
/// config/pricing.toml).
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "us-west-2", "us-east-2"];
const ROLE: &str = "memtune-bench";

#[derive(Debug, Clone, Serialize)]
pub struct OrgBenchReport {
    pub accounts: usize,
    pub regions: usize,
    pub functions: usize,
    pub recommended: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Failed with a throttle (429) in their reason.
    pub failed_for_quota: usize,
    pub seconds: f64,
    /// Largest control-plane calls of one account-region / its quota (15/s); None unpaced.
    pub floor_seconds: Option<f64>,
    pub control_plane_calls: u64,
    pub get_function_calls: u64,
    /// Requests the lab refused with 429 for exceeding a rate quota.
    pub lab_refused_control_plane: u64,
    pub lab_refused_get_function: u64,
    pub quotas: bool,
}

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_001u64 + i as u64)
}

fn config(accounts: usize, regions: &[&str], concurrent_functions: u32) -> FleetConfig {
    let mut text = format!(
        "[tuning]\nallow_empty_payload = true\nsizes = [128, 256, 512, 1024, 1536, 3008]\n\
         invocations = 10\nwarmup = 0\n[limits]\nconcurrent_functions = {concurrent_functions}\n"
    );
    let regions: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    for i in 0..accounts {
        let a = account(i);
        text.push_str(&format!(
            "[[target]]\naccount = \"{a}\"\nrole_arn = \"arn:aws:iam::{a}:role/{ROLE}\"\nregions = [{}]\n",
            regions.join(", ")
        ));
    }
    FleetConfig::parse(&text, "bench org config", None).expect("the bench config is valid")
}

/// `functions` in all, spread evenly over `accounts` x `regions`.
pub async fn run(
    functions: usize,
    accounts: usize,
    regions: usize,
    quotas: bool,
    seed: u64,
    concurrent_functions: u32,
) -> std::io::Result<OrgBenchReport> {
    let regions = &REGIONS[..regions.clamp(1, REGIONS.len())];
    let places = accounts * regions.len();
    let per_place = functions.div_ceil(places);
    let profiles = ProfileSet {
        functions: synthetic::generate(per_place, seed),
        ..ProfileSet::default()
    };
    let mut lab_config = LabConfig::new(profiles);
    lab_config.seed = seed;
    // The tuner's own account, where its long-term keys live, then the targets.
    let mut ids = vec!["100000000000".to_string()];
    ids.extend((0..accounts).map(account));
    lab_config.tenancy = TenancyConfig {
        accounts: ids,
        regions: regions.iter().map(|r| r.to_string()).collect(),
        roles: vec![ROLE.parse().map_err(std::io::Error::other)?],
    };
    lab_config.quotas = quotas.then_some(ApiQuotas::AWS);
    let server = lab::start(lab_config, "127.0.0.1:0".parse().expect("literal")).await?;
    let base = server.client_config().await;
    let state_dir = std::env::temp_dir().join(format!("memtune-bench-org-{}", std::process::id()));
    let config = config(accounts, regions, concurrent_functions);
    let mut settings = RunSettings::for_config(
        &config,
        format!("bench-{}", std::process::id()),
        String::new(),
        state_dir.clone(),
        Some(server.endpoint()),
    );
    settings.seed = seed;
    let book = PriceBook::builtin();
    let inputs = OrganisationInputs {
        base: &base,
        book: &book,
        config: &config,
        config_path: std::path::Path::new("bench org config"),
        production_days: None,
        pacing: quotas.then_some(ApiRates::AWS),
    };
    let started = Instant::now();
    let targets = organisation::run(
        &inputs,
        settings,
        || None,
        |_, _| std::sync::Arc::new(|_| {}),
        std::future::pending::<()>(),
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut refused = (0, 0);
    for (account, region) in targets.iter().map(|t| (&t.account, &t.region)) {
        refused.0 += server
            .tenants
            .refused(account, region, ApiClass::ControlPlane);
        refused.1 += server
            .tenants
            .refused(account, region, ApiClass::GetFunction);
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    let mut report = OrgBenchReport {
        accounts,
        regions: regions.len(),
        functions: 0,
        recommended: 0,
        skipped: 0,
        failed: 0,
        failed_for_quota: 0,
        seconds,
        floor_seconds: None,
        control_plane_calls: 0,
        get_function_calls: 0,
        lab_refused_control_plane: refused.0,
        lab_refused_get_function: refused.1,
        quotas,
    };
    let mut floor: Option<f64> = None;
    for t in &targets {
        let finished = t.outcome.as_ref().map_err(|e| {
            std::io::Error::other(format!("{}/{}: {}", t.account, t.region, e.line()))
        })?;
        let results = finished
            .history
            .results(&finished.run.run_id)
            .map_err(std::io::Error::other)?;
        for r in &results {
            report.functions += 1;
            match r.status {
                Status::Recommended => report.recommended += 1,
                Status::Skipped => report.skipped += 1,
                Status::Failed => {
                    report.failed += 1;
                    let reason = r.reason.as_deref().unwrap_or("");
                    if reason.contains("hrottl") || reason.contains("Rate exceeded") {
                        report.failed_for_quota += 1;
                    }
                }
            }
        }
        if let Some(calls) = t.api_calls {
            report.control_plane_calls += calls.control_plane;
            report.get_function_calls += calls.get_function;
            let own = calls.control_plane as f64 / ApiRates::AWS.control_plane_rps;
            floor = Some(floor.map_or(own, |f| f.max(own)));
        }
    }
    report.floor_seconds = floor;
    Ok(report)
}
