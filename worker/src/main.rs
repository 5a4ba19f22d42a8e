//! `medpay`: parse the command line and dispatch. Errors reach the user through anyhow here.

use clap::Parser;
use medpay_worker::cli::{
    AcceptanceCommand, CertsCommand, Cli, Command, ConfigCommand, HistoryCommand, OnboardingCommand, ReconCommand,
    RolloutCommand, SecretsCommand,
};
use medpay_worker::config::Config;
use medpay_worker::{commands, run_service, temporal};

// The worker allocates and frees many short-lived buffers per request (gRPC, HTTP, JSON);
// glibc's malloc spent ~10% of the worker's CPU in a payment benchmark (perf), mimalloc less.
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
            if !medpay_worker::acceptance::run(&Config::load(cli.config.as_deref())?, options).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Onboarding { command: OnboardingCommand::Forms { org, out, facts, pdf, strict } } => {
            let complete = medpay_worker::onboarding::forms(
                &Config::load(cli.config.as_deref())?,
                &org,
                facts.as_deref(),
                &out,
                pdf,
                strict,
            )?;
            if !complete {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Rollout { command: RolloutCommand::Status { org } } => {
            commands::rollout::status(&Config::load(cli.config.as_deref())?, &org).await
        }
        Command::Rollout { command: RolloutCommand::Set { org, stage, share, scenes, allow, actor, reason } } => {
            let args = commands::rollout::SetArgs {
                stage: &stage,
                share,
                scenes: &scenes,
                allow: allow.as_deref(),
                actor: &actor,
                reason: &reason,
            };
            commands::rollout::set(&Config::load(cli.config.as_deref())?, &org, args).await
        }
        Command::Recon { command: ReconCommand::Show { org, day, csv } } => {
            let config = Config::load(cli.config.as_deref())?;
            commands::recon::show(&config, &org, &day, csv.as_deref()).await
        }
        Command::Recon { command: ReconCommand::Run { kind, org, period } } => {
            let config = Config::load(cli.config.as_deref())?;
            let client = temporal::connect(&config.temporal).await?;
            commands::recon::run(&client, &config.temporal.task_queue, &kind, &org, &period).await
        }
        Command::Config { command: None | Some(ConfigCommand::Show) } => {
            let config = Config::load(cli.config.as_deref())?;
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Config { command: Some(ConfigCommand::Check { org, online, warn_days }) } => {
            let config = Config::load(cli.config.as_deref())?;
            let failed = commands::config_check::run(&config, org.as_deref(), online, warn_days).await?;
            anyhow::ensure!(failed == 0, "{failed} check(s) failed: see the lines marked FAILED above");
            Ok(())
        }
        Command::Replay { files } => {
            commands::replay::replay(&Config::load(cli.config.as_deref())?.temporal, &files).await
        }
        Command::Keygen { out, id } => {
            anyhow::ensure!(!out.exists(), "{} exists: refusing to overwrite a key file", out.display());
            std::fs::write(&out, medpay_worker::codec::Sm4GcmCodec::generate_key_file(&id)?)?;
            #[cfg(unix)]
            std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            println!("wrote payload key {id} to {} (mode 600)", out.display());
            Ok(())
        }
        Command::History { command: HistoryCommand::Export { workflow_id, out } } => {
            let config = Config::load(cli.config.as_deref())?;
            let client = temporal::connect(&config.temporal).await?;
            commands::replay::export(&client, &workflow_id, &out).await
        }
        Command::Secrets { command: SecretsCommand::Seal { input, out, generate_master_key } } => {
            if generate_master_key {
                println!("{}", hex::encode(medpay_crypto::random::random_bytes::<16>()?));
                return Ok(());
            }
            let (Some(input), Some(out)) = (input, out) else { anyhow::bail!("--in and --out are required") };
            let master = medpay_crypto::sealed::master_key_from_env()?.ok_or_else(|| anyhow::anyhow!("set MEDPAY_MASTER_KEY (32 hex digits) or MEDPAY_MASTER_KEY_FILE; `medpay secrets seal --generate-master-key` makes one"))?;
            let plain = zeroize::Zeroizing::new(
                std::fs::read(&input).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?,
            );
            anyhow::ensure!(
                !medpay_crypto::sealed::is_sealed(&String::from_utf8_lossy(&plain)),
                "{} is already sealed",
                input.display()
            );
            let sealed = medpay_crypto::sealed::seal(&master, &plain)?;
            write_private(&out, sealed.as_bytes())?;
            println!(
                "sealed {} -> {} (remove the plain file once medpay runs with the sealed one)",
                input.display(),
                out.display()
            );
            Ok(())
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

/// Writes a file only its owner can read (0600 on Unix).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
