//! `memtune recommend FN --traffic ALIAS[:SHARE]`: tuning on production traffic through a
//! weighted alias instead of test invocations (the library's `tune::canary`).

use std::time::Duration;

use clap::Args;

use super::{
    apply_production, interrupted, new_run_id, preflight_sweep, read_production, Checked,
    RecommendArgs,
};
use crate::cli::aws_args::{platform_error, region_prices};
use crate::cli::report_cmd;
use crate::cli::CliError;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::preflight::state;
use memtune::report::markdown::Markdown;
use memtune::report::Report;
use memtune::sweep::journal;
use memtune::sweep::sampling::Sampling;
use memtune::tune::canary::backoff::BackOffLimits;
use memtune::tune::canary::plan::{self, CanaryPlan};
use memtune::tune::canary::sampler::CanarySettings;
use memtune::tune::canary::traffic::{self, Traffic};
use memtune::tune::canary::{self, PrepareError};
use memtune::tune::{document, Isolation, TuneOptions};

#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// Tune on production traffic through this alias instead of test invocations.
    ///
    /// ALIAS[:SHARE], e.g. live:5%: candidate sizes are published as versions of the alias's
    /// code and get SHARE of the alias's requests (default 5%), one at a time, through the
    /// alias's routing configuration. Needs $LATEST equal to the alias's version, memory
    /// aside, and an alias without a routing configuration.
    #[arg(
        long,
        value_name = "ALIAS[:SHARE]",
        conflicts_with_all = ["payload", "payloads", "passive", "architectures", "cold_starts", "isolate", "warmup", "allowed_errors", "min_interval_ms", "apply"]
    )]
    pub traffic: Option<String>,
    /// The largest share a candidate may get (default 10%).
    #[arg(long, value_name = "PCT", requires = "traffic")]
    pub max_share: Option<String>,
    /// Take a candidate out when its failure rate exceeds the main version's by more than
    /// this many percentage points (default 1).
    #[arg(long, value_name = "POINTS", requires = "traffic")]
    pub max_error_increase: Option<f64>,
    /// Take a candidate out when its p99 exceeds the main version's by more than this
    /// percentage (default 50).
    #[arg(long, value_name = "PCT", requires = "traffic")]
    pub max_p99_increase: Option<f64>,
}

/// `--traffic` and its limits, checked before any AWS call.
pub struct CheckedTraffic {
    pub traffic: Traffic,
    pub limits: BackOffLimits,
}

/// Parses `--traffic` and its limits; None without `--traffic`.
pub fn check(args: &TrafficArgs) -> Result<Option<CheckedTraffic>, CliError> {
    let Some(spec) = &args.traffic else {
        return Ok(None);
    };
    let max_share = match &args.max_share {
        Some(text) => traffic::parse_percent(text).ok_or_else(|| {
            CliError::usage(format!(
                "--max-share {text} is not a percentage above 0 and at most 100, as in --max-share 10%"
            ))
        })?,
        None => traffic::DEFAULT_MAX_SHARE,
    };
    let traffic = traffic::parse(spec, max_share).map_err(CliError::usage)?;
    let mut limits = BackOffLimits::default();
    for (value, flag, field) in [
        (
            args.max_error_increase,
            "--max-error-increase",
            &mut limits.max_error_rate_increase,
        ),
        (
            args.max_p99_increase,
            "--max-p99-increase",
            &mut limits.max_p99_increase,
        ),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v > 0.0) {
                return Err(CliError::usage(format!(
                    "{flag} must be a positive number of percent (points)"
                )));
            }
            *field = v / 100.0;
        }
    }
    Ok(Some(CheckedTraffic { traffic, limits }))
}

/// The plan's lines: the alias's rate, then the time at it and at 1, 10 and 100 req/s.
fn plan_lines(plan: &CanaryPlan) -> Vec<String> {
    let mut lines = vec![format!(
        "canary through alias {} at {} of its traffic, one candidate at a time ({} first, up to {} more while the decision is open), each serving at least {} requests (counted in {} s metric periods); no test invocations",
        plan.alias,
        traffic::percent(plan.share),
        plan.first_candidates,
        plan.further_candidates,
        plan.samples_per_candidate,
        plan.period_s
    )];
    let times = plan.times();
    lines.push(format!(
        "  now ({:.2} req/s over the last hour): {}",
        plan.rate_per_s,
        plan::describe(&times[0])
    ));
    lines.extend(
        times[1..]
            .iter()
            .map(|t| format!("  {}", plan::describe(t))),
    );
    lines
}

pub async fn run(
    args: &RecommendArgs,
    checked: Checked,
    canary_input: CheckedTraffic,
) -> Result<(), CliError> {
    let state_dir = journal::state_dir();
    if !args.dry_run {
        state::check_journals(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let config = args.aws.load().await?;
    let (region, _) = region_prices(&checked.book, &config)?;
    let api = AwsLambda::new(&config);
    let metrics = AwsCloudWatch::new(&config);
    let logs = AwsLogs::new(&config);
    let alias = canary_input.traffic.alias.clone();
    let prepared = canary::prepare(&api, &metrics, &args.function, &alias)
        .await
        .map_err(|e| match e {
            PrepareError::Platform(p) => platform_error(
                &format!("cannot read {} and its alias {alias}", args.function),
                &p,
            ),
            refused => CliError::usage(refused.to_string()),
        })?;
    let function = prepared.latest.clone();
    if !args.dry_run {
        preflight_sweep(&api, &state_dir, &function, true, false).await?;
    }
    let production = if args.no_production {
        Err("not read (--no-production)".to_string())
    } else {
        read_production(&config, &checked.book, &region, &function.name, args.days).await
    };
    let mut checked = checked;
    let (cold_start_ratio, production_warning) = apply_production(&production, args, &mut checked);
    let samples = args.invocations.unwrap_or(plan::DEFAULT_SAMPLES);
    let mut settings = CanarySettings::new(&canary_input.traffic, canary_input.limits, samples);
    let plan = canary::plan(&prepared, &settings, &checked.strategy, &checked.search);
    let lines = plan_lines(&plan);
    if args.dry_run {
        println!(
            "plan for {} through alias {alias} (version {}, {} MB):",
            function.name, prepared.alias.function_version, prepared.serving.memory_mb
        );
        for line in &lines {
            println!("  {line}");
        }
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if settings.wait_for(&plan).is_none() {
        return Err(CliError::usage(format!(
            "alias {alias} of {} served no requests in the last hour: a canary needs production traffic; tune it with a test payload (without --traffic)",
            function.name
        )));
    }
    for line in &lines {
        eprintln!("{line}");
    }
    let options = TuneOptions {
        run_id: new_run_id(),
        strategy: checked.strategy.clone(),
        search: checked.search.clone(),
        invocations: samples,
        warmup: 0,
        payloads: checked.payloads.clone(),
        region: region.clone(),
        cold_start_ratio,
        state_dir,
        endpoint_url: args.aws.options().endpoint_url,
        role: None,
        settle_timeout: Duration::from_secs(180),
        seed: args.seed,
        monthly_invocations: production.as_ref().ok().map(|p| p.monthly_invocations),
        cold_starts: false,
        isolation: Isolation::InPlace,
        sampling: Sampling::default(),
        staging_bucket: None,
    };
    let ran = tokio::select! {
        r = canary::tune((&api, &metrics, &logs), &checked.book, &prepared, &options, settings, &|_| {}) => r,
        _ = crate::cli::shutdown_signal() => {
            return Err(interrupted(&api, &options.run_id).await);
        }
    };
    let outcome = ran.map_err(|e| super::tune_error(e, &function))?;
    let mut doc = document::document(&outcome.tuned, &region);
    doc.traffic = Some(outcome.traffic);
    if let Ok(p) = &production {
        document::add_production(&mut doc, p);
    }
    doc.warnings.extend(production_warning);
    let no_recommendation = doc.no_recommendation.clone();
    let recommended = doc.recommendation.as_ref().map(|r| r.memory_mb);
    let markdown = Markdown {
        command: Some(report_cmd::command_line()),
        ..Markdown::default()
    };
    args.output.write(&report_cmd::render(
        &Report::Function(Box::new(doc)),
        args.format,
        markdown,
    ))?;
    match recommended {
        Some(_) => Ok(()),
        None => Err(CliError::failed(format!(
            "no recommendation for {}: {}",
            function.name,
            no_recommendation.as_deref().unwrap_or("no feasible size")
        ))),
    }
}
