//! `medpay-tools`: what measures and abuses the product, kept out of it. The benchmarks, the
//! soak and the runbook drills start their own stack of processes (`procs`) and drive it as a
//! HIS and its patients would; `medpay-tools run` is the product's `medpay run` with the engine
//! baseline registered beside the product's workflows, which the stack runs so the benchmark can
//! compare the two on one worker. A separate binary rather than a feature of `medpay`: the
//! product image (`Dockerfile`) builds `medpay` alone, and nothing here can reach it by a flag.

mod baseline_activities;
mod baseline_workflow;
mod bench_crypto;
mod bench_items;
mod bench_product;
mod bench_recon;
mod bench_report;
mod bench_rows;
mod bench_side;
mod drill;
mod procs;
mod soak;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

// As `medpay`: the worker measured here must allocate as the product's does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "medpay-tools", version)]
struct Cli {
    /// The product's configuration file (for `run`), as `medpay --config`.
    #[arg(long, global = true, env = "MEDPAY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// `medpay run` with the engine baseline (`BaselineWorkflow`) registered too: what the
    /// benchmark's stack runs.
    Run,
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Payments and refunds under faults (worker SIGKILLs, a Temporal restart, failing parties,
    /// lost/duplicated/forged callbacks), then an audit against the sandbox's books.
    Soak(soak::SoakOptions),
    /// Rehearse a runbook playbook (docs/RUNBOOK.md) against a private sandbox stack.
    Drill {
        #[arg(value_enum)]
        situation: drill::Situation,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// SM2 sign/verify, SM4, SM3 beside `openssl speed` on this machine.
    Crypto {
        /// Seconds per figure.
        #[arg(long, default_value_t = 2)]
        seconds: u32,
    },
    /// Payments through the whole product beside the engine baseline, at several concurrencies.
    Product {
        #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
        concurrency: Vec<usize>,
        /// Items per concurrency level (at least twice the concurrency).
        #[arg(long, default_value_t = 40)]
        items: usize,
        /// Payments held open at the cashier at once for the in-flight RSS figure.
        #[arg(long, default_value_t = 1000)]
        in_flight: usize,
        /// Statement sizes for the reconciliation figures.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        recon_lines: Vec<u64>,
        /// Markdown report to (re)write, e.g. docs/BENCHMARKS.md.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The figures as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Reconciliation of synthetic days with planted exceptions: lines/s and peak memory.
    Recon {
        /// Statement sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        lines: Vec<u64>,
    },
}

/// The engine baseline's workflow and activity, beside the product's.
fn register_baseline(options: &mut temporalio_sdk::WorkerOptions) -> anyhow::Result<()> {
    options.register_workflow::<baseline_workflow::BaselineWorkflow>()?;
    options.register_activities(baseline_activities::BaselineActivities);
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medpay-tools: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    use medpay_worker::config::Config;
    let cli = Cli::parse();
    if let Command::Run = cli.command {
        let config = Config::load(cli.config.as_deref())?;
        medpay_worker::redact::init_logging();
        let runtime = medpay_worker::tokio_runtime(Some(config.runtime.threads))?;
        return runtime.block_on(medpay_worker::run_service_with(config, true, true, register_baseline));
    }
    medpay_worker::tokio_runtime(None)?.block_on(tools(cli.command))
}

async fn tools(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run => unreachable!("run is dispatched before"),
        Command::Bench { what: BenchCommand::Crypto { seconds } } => bench_crypto::run(seconds).map(drop),
        Command::Bench { what: BenchCommand::Recon { lines } } => bench_recon::bench(&lines).await.map(drop),
        Command::Bench { what: BenchCommand::Product { concurrency, items, in_flight, recon_lines, out, json } } => {
            bench_product::run(&concurrency, items, in_flight, &recon_lines, out.as_deref(), json.as_deref()).await
        }
        Command::Soak(o) => {
            let clean = soak::run(o).await?;
            anyhow::ensure!(clean, "the soak audit found lost or doubled payments or a money difference (see above)");
            Ok(())
        }
        Command::Drill { situation } => drill::run(situation).await,
    }
}
