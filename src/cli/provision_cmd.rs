//! `memtune provision FN --alias A --level N`: set provisioned concurrency on the alias
//! production invokes, recorded as a run that `memtune rollback` undoes.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Args;

use super::aws_args::{platform_error, AwsArgs};
use super::report_cmd;
use super::CliError;
use memtune::apply::change::{ApplyContext, ApplyError};
use memtune::apply::provision::{alias_traffic, guard, ProvisionRequest, ALLOCATION_TIMEOUT};
use memtune::history::RunStart;
use memtune::orchestrate::one_function::RecordedApplyError;
use memtune::orchestrate::provision::provision_recorded;
use memtune::platform::aws::AwsLambda;
use memtune::platform::cloudwatch::AwsCloudWatch;
use memtune::platform::LambdaApi;
use memtune::preflight::state;
use memtune::sweep::journal::{self, new_run_id};
use memtune::sweep::provisioned_back::level_text;

#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  memtune provision orders-api --alias live --level 5 --yes
  memtune provision orders-api --alias live --level 0 --yes    # remove it
  memtune rollback RUN_ID --yes                                # the level it had before

Provisioned concurrency goes on an alias, never on $LATEST or a version number, and only on
an alias production invokes: the Invocations metric by Resource (FUNCTION:ALIAS) must show
calls over the last --days. The change is journaled before it is made (`memtune restore`
puts the previous level back after a crash) and recorded as a run in the history
(`memtune rollback RUN_ID` restores the previous level, or removes the configuration if
there was none, unless someone else changed the level since). memtune waits until Lambda
has allocated the environments (READY).

Exit codes: 0 applied, 1 Lambda refused or failed, 2 bad input (nothing changed).")]
pub struct ProvisionArgs {
    /// The function (name or ARN).
    function: String,
    /// The alias production invokes.
    #[arg(long)]
    alias: String,
    /// Provisioned concurrent executions; 0 removes the configuration.
    #[arg(long)]
    level: u32,
    /// Days of the Invocations metric that must show the alias is invoked.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Return once Lambda accepted the level instead of waiting until it is READY.
    #[arg(long)]
    no_wait: bool,
    /// Do not ask first.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: ProvisionArgs) -> Result<(), CliError> {
    let request = ProvisionRequest {
        function: args.function.clone(),
        alias: args.alias.clone(),
        level: (args.level > 0).then_some(args.level),
    };
    guard(&request, None).map_err(CliError::usage)?;
    if !(1..=455).contains(&args.days) {
        return Err(CliError::usage(format!(
            "--days {}: CloudWatch keeps 1 to 455 days of metrics",
            args.days
        )));
    }
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "provision needs --yes when there is no terminal to confirm on",
        ));
    }
    let state_dir = journal::state_dir();
    state::check_journals(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    state::check_history(&state_dir).map_err(|e| CliError::usage(e.to_string()))?;
    let config = args.aws.load().await?;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let api = AwsLambda::new(&config);
    let function = api
        .get_configuration(&args.function, None)
        .await
        .map_err(|e| platform_error(&format!("cannot read {}", args.function), &e))?;
    let request = ProvisionRequest {
        function: function.name.clone(),
        ..request
    };
    // A crashed run's journal for this function first needs `memtune restore`.
    memtune::sweep::refuse_if_unfinished(&state_dir, &function)
        .map_err(|e| CliError::usage(e.to_string()))?;
    // An alias the function does not have, or a policy without the permission, is the
    // caller's to fix: found out before anything changes.
    api.get_provisioned_concurrency(&request.function, &request.alias)
        .await
        .map_err(|e| {
            platform_error(
                &format!(
                    "cannot read the provisioned concurrency of {}:{}",
                    request.function, request.alias
                ),
                &e,
            )
        })?;
    if request.level.is_some() {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let traffic = alias_traffic(
            &AwsCloudWatch::new(&config),
            &request.function,
            &request.alias,
            args.days,
            now_ms,
        )
        .await
        .map_err(CliError::failed)?;
        guard(&request, Some(traffic)).map_err(CliError::usage)?;
    }
    if !args.yes {
        confirm(&request)?;
    }
    let run_id = new_run_id();
    let history = state::open_history(&state_dir).map_err(|e| CliError::failed(e.to_string()))?;
    let command_line = report_cmd::command_line();
    let start = RunStart::now(
        &run_id,
        &region,
        command_line.clone(),
        command_line.as_bytes(),
    );
    let ctx = ApplyContext {
        run_id: &run_id,
        state_dir: &state_dir,
        region: Some(region.clone()),
        endpoint_url: args.aws.options().endpoint_url,
        // Run with the caller's own credentials: no `[[target]]` role to record.
        role: None,
    };
    let wait = if args.no_wait {
        Duration::ZERO
    } else {
        ALLOCATION_TIMEOUT
    };
    let done = provision_recorded(&api, &ctx, &history, &start, &request, wait, Instant::now())
        .await
        .map_err(|e| {
            let line = format!("{}: {e}", request.function);
            match e {
                RecordedApplyError::Apply(ApplyError::Denied(_)) => CliError::usage(line),
                _ => CliError::failed(line),
            }
        })?;
    let before = done.change.provisioned.and_then(|p| p.before);
    let status = done.status.map(|s| format!(", {s}")).unwrap_or_default();
    println!(
        "applied: alias {} of {} has provisioned concurrency {} (was {}){status}; undo with `memtune rollback {run_id}`",
        request.alias,
        request.function,
        level_text(request.level),
        level_text(before),
    );
    Ok(())
}

fn confirm(request: &ProvisionRequest) -> Result<(), CliError> {
    eprint!(
        "set provisioned concurrency {} on alias {} of {}? [y/N] ",
        level_text(request.level),
        request.alias,
        request.function
    );
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::usage("not confirmed: nothing was changed"))
    }
}
