//! `medpay`: parse the command line and dispatch. Errors reach the user through anyhow here.

use clap::Parser;
use medpay_worker::cli::{
    AcceptanceCommand, CertsCommand, Cli, Command, ConfigCommand, HistoryCommand, OnboardingCommand, ReconCommand,
    RolloutCommand, SecretsCommand,
};
use medpay_worker::config::Config;
use medpay_worker::{commands, run_service, temporal};

// The worker allocates and frees many short-lived buffers per request (gRPC, HTTP, JSON):
// mimalloc spends less on them than glibc's malloc (docs/BENCHMARKS-decisions.md, allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Errors are printed as one line with their whole chain ("cannot open the ledger at ...:
/// ledger database: ... duplicate key ..."), so the first line a log shows names the cause.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medpay: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `medpay run` takes its thread count from its configuration (see `RuntimeConfig`), loaded
    // once here; the tools and the benchmark's load generator use one thread per core.
    let run_config = match &cli.command {
        Command::Run { .. } => Some(Config::load(cli.config.as_deref())?),
        _ => None,
    };
    let runtime = medpay_worker::tokio_runtime(run_config.as_ref().map(|c| c.runtime.threads))?;
    runtime.block_on(async_main(cli, run_config))
}

async fn async_main(cli: Cli, run_config: Option<Config>) -> anyhow::Result<()> {
    match cli.command {
        Command::Envelope { command } => commands::envelope::run(command),
        Command::Acceptance {
            command:
                AcceptanceCommand::Run { org, channel, api, api_ca, sandbox, sandbox_ca, openid, out, pdf, wait_mins },
        } => {
            let options = medpay_worker::acceptance::Options {
                org,
                channel,
                api,
                api_ca,
                sandbox,
                sandbox_ca,
                openid,
                out,
                pdf,
                wait_mins,
            };
            exit_1_unless(medpay_worker::acceptance::run(&Config::load(cli.config.as_deref())?, options).await?)
        }
        Command::Onboarding { command: OnboardingCommand::Forms { org, out, facts, pdf, strict } } => {
            let config = Config::load(cli.config.as_deref())?;
            exit_1_unless(medpay_worker::onboarding::forms(&config, &org, facts.as_deref(), &out, pdf, strict)?)
        }
        Command::Rollout { command } => rollout(&Config::load(cli.config.as_deref())?, command).await,
        Command::Recon { command } => recon(&Config::load(cli.config.as_deref())?, command).await,
        Command::Config { command } => config(&Config::load(cli.config.as_deref())?, command).await,
        Command::Replay { files } => {
            commands::replay::replay(&Config::load(cli.config.as_deref())?.temporal, &files).await
        }
        Command::Keygen { out, id } => commands::secrets::keygen(&out, &id),
        Command::History { command: HistoryCommand::Export { workflow_id, out } } => {
            let config = Config::load(cli.config.as_deref())?;
            let client = temporal::connect(&config.temporal).await?;
            commands::replay::export(&client, &workflow_id, &out).await
        }
        Command::Secrets { command: SecretsCommand::Seal { input, out, generate_master_key } } => {
            commands::secrets::seal(input.as_deref(), out.as_deref(), generate_master_key)
        }
        Command::Certs { command: CertsCommand::Check { at, warn_days } } => {
            let config = Config::load(cli.config.as_deref())?;
            let bad = medpay_worker::certs::run(&config, at.as_deref(), warn_days)?;
            anyhow::ensure!(
                bad == 0,
                "{bad} certificate(s) expired or unreadable: renew them (docs/RUNBOOK.md, certificate renewal)"
            );
            Ok(())
        }
        Command::Doctor => {
            medpay_worker::redact::init_logging();
            let config = Config::load(cli.config.as_deref())?;
            let client = temporal::connect(&config.temporal).await?;
            let (workflow_id, report) =
                medpay_worker::selfcheck::run_self_check(&client, &config.temporal.task_queue, "cli").await?;
            medpay_worker::selfcheck::print_report(&workflow_id, &report);
            if report.all_ok() { Ok(()) } else { anyhow::bail!("self-check failed") }
        }
        Command::Run { no_api, no_worker } => {
            medpay_worker::redact::init_logging();
            let config = run_config.map_or_else(|| Config::load(cli.config.as_deref()), Ok)?;
            run_service(config, !no_api, !no_worker).await
        }
    }
}

/// `medpay rollout status|set`.
async fn rollout(config: &Config, command: RolloutCommand) -> anyhow::Result<()> {
    match command {
        RolloutCommand::Status { org } => commands::rollout::status(config, &org).await,
        RolloutCommand::Set { org, stage, share, scenes, allow, actor, reason } => {
            let args = commands::rollout::SetArgs {
                stage: &stage,
                share,
                scenes: &scenes,
                allow: allow.as_deref(),
                actor: &actor,
                reason: &reason,
            };
            commands::rollout::set(config, &org, args).await
        }
    }
}

/// `medpay recon show|run`.
async fn recon(config: &Config, command: ReconCommand) -> anyhow::Result<()> {
    match command {
        ReconCommand::Show { org, day, csv } => commands::recon::show(config, &org, &day, csv.as_deref()).await,
        ReconCommand::Run { kind, org, period } => {
            let client = temporal::connect(&config.temporal).await?;
            commands::recon::run(&client, &config.temporal.task_queue, &kind, &org, &period).await
        }
    }
}

/// `medpay config [show]|check`.
async fn config(config: &Config, command: Option<ConfigCommand>) -> anyhow::Result<()> {
    match command {
        None | Some(ConfigCommand::Show) => {
            print!("{}", toml::to_string_pretty(config)?);
            Ok(())
        }
        Some(ConfigCommand::Check { org, online, warn_days }) => {
            let failed = commands::config_check::run(config, org.as_deref(), online, warn_days).await?;
            anyhow::ensure!(failed == 0, "{failed} check(s) failed: see the lines marked FAILED above");
            Ok(())
        }
    }
}

/// A command whose report already said what failed exits 1 without an error line of its own.
fn exit_1_unless(passed: bool) -> anyhow::Result<()> {
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}
