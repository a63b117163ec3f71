//! `memtune chain NAME --config FILE`: tune the functions of a `[[chain]]` together under its
//! end-to-end objective.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tokio::sync::Semaphore;

use super::aws_args::{platform_error, preflight_error, region_prices, AwsArgs};
use super::output::{self, OutputFile};
use super::CliError;
use memtune::apply::change::ApplyContext;
use memtune::chain::run::{ChainRun, MeasureError, MeasureOptions};
use memtune::chain::tune::{tune, TuneError, TuneSettings};
use memtune::fleet::config::FleetConfig;
use memtune::history::RunStart;
use memtune::orchestrate::chain::apply_chain_recorded;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::logs::AwsLogs;
use memtune::platform::{FunctionConfig, LambdaApi};
use memtune::preflight::{self, state, Needs};
use memtune::report::chain as render;
use memtune::sweep::journal::{self, new_run_id};
use memtune::sweep::restore::restore_run;
use memtune::sweep::sampling::Sampling;
use memtune_facts::pricing::PriceBook;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune chain checkout --config fleet.toml
  memtune chain checkout --config fleet.toml --format markdown -o chain.md

Sweeps each function of the chain alone with its payload from [[chain]] (journaled, restored
after each), measures each caller's own work (its Duration minus the calls named by its
`CALL <function> <request-id>` log lines, from the callees' REPORT lines), fits one curve per
function, and chooses every function's memory together: the cheapest assignment whose
end-to-end percentile meets slo_ms, with cold starts at production's ratio. Changes nothing
in the end.

Exit codes: 0 decided (even when nothing meets the objective: the report says so), 1 a call
failed, 2 bad input, an unknown chain or function, or a missing permission, 130 interrupted.")]
pub struct ChainArgs {
    /// The chain's name in the config's [[chain]] entries.
    chain: String,
    /// Fleet config holding the [[chain]].
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Sizes (MB) each function is swept at; default: six from the chain's min_mb to max_mb.
    #[arg(long, value_delimiter = ',', value_name = "MB,...")]
    sizes: Vec<u32>,
    /// Warm invocations per size (after the one cold start that opens it).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(3..=1000))]
    invocations: u32,
    /// Days of production to read for cold-start ratios and traffic.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=90))]
    days: u32,
    /// Skip production: cold starts at the config's [tuning] cold_start_ratio.
    #[arg(long)]
    no_production: bool,
    /// Invocations in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    parallel: u32,
    /// Seed of the payload picks and of the end-to-end draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// table, json or markdown.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = output::format::<Format>)]
    format: Format,
    #[command(flatten)]
    output: OutputFile,
    /// Price book (TOML) instead of the built-in config/pricing.toml.
    #[arg(long)]
    pricing: Option<PathBuf>,
    /// Apply the chosen sizes to every function of the chain as one change (all or none),
    /// recorded in the history: `memtune rollback RUN_ID` undoes it.
    #[arg(long)]
    apply: bool,
    /// Apply without asking (required without a terminal).
    #[arg(long, requires = "apply")]
    yes: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

/// Six sizes spread over `min..=max` in log-memory, each a multiple of 64 MB.
fn default_sizes(min_mb: u32, max_mb: u32) -> Vec<u32> {
    let (lo, hi) = (f64::from(min_mb).ln(), f64::from(max_mb).ln());
    let mut sizes: Vec<u32> = (0..6)
        .map(|i| {
            let m = (lo + (hi - lo) * f64::from(i) / 5.0).exp();
            ((m / 64.0).round() as u32 * 64).clamp(min_mb, max_mb)
        })
        .collect();
    sizes.dedup();
    sizes
}

pub async fn run(args: ChainArgs) -> Result<(), CliError> {
    args.output.check()?;
    let config = FleetConfig::load(&args.config).map_err(|e| CliError::usage(e.to_string()))?;
    let Some(chain) = config.chains.iter().find(|c| c.name == args.chain) else {
        let known: Vec<&str> = config.chains.iter().map(|c| c.name.as_str()).collect();
        return Err(CliError::usage(format!(
            "{}: no [[chain]] named '{}' (chains there: {})",
            args.config.display(),
            args.chain,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let sizes = if args.sizes.is_empty() {
        default_sizes(chain.min_mb, chain.max_mb)
    } else {
        args.sizes.clone()
    };
    if let Some(bad) = sizes
        .iter()
        .find(|s| !(chain.min_mb..=chain.max_mb).contains(s))
    {
        return Err(CliError::usage(format!(
            "--sizes: {bad} MB is outside chain '{}''s range {}..{} MB (min_mb, max_mb)",
            chain.name, chain.min_mb, chain.max_mb
        )));
    }
    if sizes.len() < 2 {
        return Err(CliError::usage(
            "--sizes: give two or more sizes to fit a curve",
        ));
    }
    let book = match &args.pricing {
        Some(path) => PriceBook::load(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => PriceBook::builtin(),
    };
    if args.apply && !args.yes && !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "--apply without a terminal to confirm on: add --yes",
        ));
    }
    let state_dir = journal::state_dir();
    state::check_journals(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    if args.apply {
        state::check_history(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let sdk = args.aws.load().await?;
    let (region, _) = region_prices(&book, &sdk)?;
    let api = AwsLambda::new(&sdk);
    let mut configs = Vec::new();
    for function in chain.functions() {
        let c = api
            .get_configuration(function, None)
            .await
            .map_err(|e| platform_error(&format!("cannot read {function}"), &e))?;
        memtune::sweep::refuse_if_unfinished(&state_dir, &c)
            .map_err(|e| CliError::usage(e.to_string()))?;
        configs.push(c);
    }
    let needs = Needs {
        sweep: true,
        update_alias: args.apply,
        copy: false,
    };
    let refs: Vec<&_> = configs.iter().collect();
    preflight::permissions::check(&api, &refs, needs)
        .await
        .map_err(preflight_error)?;

    let options = MeasureOptions {
        run_id: new_run_id(),
        region: region.clone(),
        state_dir,
        endpoint_url: args.aws.options().endpoint_url,
        role: None,
        settle_timeout: Duration::from_secs(180),
        seed: args.seed,
        sizes,
        invocations: args.invocations,
        sampling: Sampling::default(),
        query_limit: Duration::from_secs(120),
    };
    let settings = TuneSettings {
        book: &book,
        production_days: (!args.no_production).then_some(args.days),
        fallback_cold_start_ratio: config.tuning.cold_start_ratio,
        today: chrono::Utc::now().format("%Y-%m-%d").to_string(),
    };
    let clients = (&api, &AwsCloudWatch::new(&sdk), &AwsLogs::new(&sdk));
    let in_flight = Arc::new(Semaphore::new(args.parallel as usize));
    let on_event = |_: &str, _| {};
    let tuned = tokio::select! {
        r = tune(clients, chain, &options, &settings, in_flight, &on_event) => r,
        _ = super::shutdown_signal() => {
            let mut lines = restore_run(&api, &journal::state_dir(), &options.run_id).await;
            if lines.is_empty() {
                lines.push("nothing had been changed yet".into());
            }
            return Err(CliError { code: 130, message: format!("interrupted; {}", lines.join("; ")) });
        }
    };
    let (run, measured) = tuned.map_err(|e| match &e {
        TuneError::Measure(MeasureError::Fit { .. } | MeasureError::TooFewMatched { .. })
        | TuneError::Pricing(_) => CliError::usage(e.to_string()),
        TuneError::Measure(_) => CliError::failed(e.to_string()),
    })?;
    let text = match args.format {
        Format::Table => render::table::render(&run),
        Format::Json => render::json(&run),
        Format::Markdown => render::markdown::render(&run),
    };
    args.output.write(&text)?;
    if args.apply {
        let changes: Vec<(FunctionConfig, u32)> = measured
            .iter()
            .zip(run.decision.assignment())
            .map(|(m, (_, mb))| (m.config.clone(), mb))
            .collect();
        apply(&api, &args, &run, &options, &changes).await?;
    }
    Ok(())
}

/// Applies the chosen sizes, all or none, after asking unless --yes.
async fn apply(
    api: &AwsLambda,
    args: &ChainArgs,
    run: &ChainRun,
    options: &MeasureOptions,
    changes: &[(FunctionConfig, u32)],
) -> Result<(), CliError> {
    if !run.decision.feasible() {
        return Err(CliError::failed(format!(
            "chain {}: no sizes meet the objective: nothing applied",
            run.decision.chain
        )));
    }
    let moves: Vec<String> = changes
        .iter()
        .filter(|(c, mb)| c.memory_mb != *mb)
        .map(|(c, mb)| format!("{} {} -> {mb} MB", c.name, c.memory_mb))
        .collect();
    if moves.is_empty() {
        eprintln!(
            "chain {}: every function already has its chosen size: nothing to apply",
            run.decision.chain
        );
        return Ok(());
    }
    if !args.yes {
        eprint!("apply {}? [y/N] ", moves.join(", "));
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("not applied");
            return Ok(());
        }
    }
    let history =
        state::open_history(&options.state_dir).map_err(|e| CliError::failed(e.to_string()))?;
    let source = format!("{} [[chain]] {}", args.config.display(), run.decision.chain);
    let text = std::fs::read(&args.config).unwrap_or_default();
    let start = RunStart::now(&options.run_id, &options.region, source, &text);
    let ctx = ApplyContext {
        run_id: &options.run_id,
        state_dir: &options.state_dir,
        region: Some(options.region.clone()),
        endpoint_url: options.endpoint_url.clone(),
        role: None,
    };
    apply_chain_recorded(api, &ctx, &history, &start, changes, Instant::now())
        .await
        .map_err(|e| CliError::failed(format!("chain {}: {e}", run.decision.chain)))?;
    eprintln!(
        "applied: {}; undo with `memtune rollback {}`",
        moves.join(", "),
        options.run_id
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::default_sizes;

    #[test]
    fn default_sizes_spread_over_the_range() {
        // Six sizes a factor (3008/128)^(1/5) = 1.8796 apart, to the nearest 64 MB:
        // 240.6 -> 256, 452.2 -> 448, 850.0 -> 832, 1597.7 -> 1600.
        assert_eq!(default_sizes(128, 3008), [128, 256, 448, 832, 1600, 3008]);
        assert_eq!(default_sizes(512, 640), [512, 576, 640]);
    }
}
