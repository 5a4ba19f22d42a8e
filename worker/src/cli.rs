//! Command-line interface of the `medpay` binary.

use crate::commands::envelope::EnvelopeCommand;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "medpay",
    version,
    about = "Medical-insurance mobile payment (interlink mode) engine for hospitals, per T/SCPCA 010-2024"
)]
pub struct Cli {
    /// Configuration file (TOML); MEDPAY_* environment variables override it.
    #[arg(long, global = true, env = "MEDPAY_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the Temporal worker and the HTTP API (the product).
    Run {
        /// Only the worker, no HTTP API.
        #[arg(long, conflicts_with = "no_worker")]
        no_api: bool,
        /// Only the HTTP API, no worker (scale workers separately).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the self-check workflow through the server and a worker; exit non-zero on failure.
    Doctor,
    /// Sign/encrypt and verify/decrypt wire envelopes step by step (integration debugging).
    Envelope {
        #[command(subcommand)]
        command: EnvelopeCommand,
    },
    /// Print the effective configuration (defaults + file + environment), or check it.
    Config {
        #[command(subcommand)]
        command: Option<ConfigCommand>,
    },
    /// Seal a secret file at rest with the master key (MEDPAY_MASTER_KEY / MEDPAY_MASTER_KEY_FILE).
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Certificates and keys named by the configuration: expiry and days left (REQ T-4.3d).
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Create a payload key file for the Temporal codec (SM4-GCM).
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// Key id recorded in every payload it encrypts.
        #[arg(long, default_value = "k1")]
        id: String,
    },
    /// Replay recorded workflow histories (JSON from `history export`) against this build.
    Replay {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Reconciliation (REQ C-6.3): run one period through the worker and print its summary.
    Recon {
        #[command(subcommand)]
        command: ReconCommand,
    },
    /// The joint-test acceptance run (REQ O-5) through the running product, with its report.
    Acceptance {
        #[command(subcommand)]
        command: AcceptanceCommand,
    },
    /// Going live (REQ O-5): Appendix A's application forms.
    Onboarding {
        #[command(subcommand)]
        command: OnboardingCommand,
    },
    /// The rollout gate (REQ O-5 go-live): onboarding → joint-test → closed-production → pilot →
    /// live, or suspended; who may pay at each stage, every change recorded.
    Rollout {
        #[command(subcommand)]
        command: RolloutCommand,
    },
    /// Workflow histories on the server.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReconCommand {
    /// Start (or re-run) a period and wait for its summary.
    Run {
        /// selfpay (daily) or insurance (monthly).
        #[arg(long)]
        kind: String,
        /// The hospital's org code.
        #[arg(long)]
        org: medpay_schemas::OrgCode,
        /// yyyy-MM-dd (selfpay) or yyyy-MM (insurance).
        #[arg(long)]
        period: String,
    },
    /// The three-way view of a day for finance: each payment beside the bank's and the
    /// platform's statements, with a verdict per row (from the ledger; no worker needed).
    Show {
        /// The hospital's org code.
        #[arg(long)]
        org: medpay_schemas::OrgCode,
        /// The Beijing day, yyyy-MM-dd.
        #[arg(long)]
        day: String,
        /// Also write the view as CSV (UTF-8 with a BOM, Chinese and English headings) here.
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AcceptanceCommand {
    /// Pure insurance, pure self-pay and mixed payments in registration, outpatient and
    /// pharmacy; a full and a partial refund; a declined bill; a lost callback healed by the
    /// query; today's reconciliation — on each channel. Writes report.json/html(/pdf) into --out
    /// and records the outcome for `medpay rollout set --stage live`. Exit 1 when a case fails.
    Run {
        #[arg(long)]
        org: medpay_schemas::OrgCode,
        /// wechat or alipay (default: every channel the hospital takes).
        #[arg(long)]
        channel: Option<String>,
        /// The product's API base URL (default: http:// + api.listen).
        #[arg(long)]
        api: Option<String>,
        /// The CA of an API that serves HTTPS itself.
        #[arg(long)]
        api_ca: Option<PathBuf>,
        /// The sandbox's base URL: the run plays the patient there; without it a test person
        /// opens a link per case.
        #[arg(long)]
        sandbox: Option<String>,
        /// The sandbox's CA (default: parties.ca_file).
        #[arg(long)]
        sandbox_ca: Option<PathBuf>,
        /// The patients' openid (default: the first test person's in the onboarding facts).
        #[arg(long)]
        openid: Option<String>,
        #[arg(long, default_value = "acceptance")]
        out: PathBuf,
        /// Also print report.pdf with headless Chromium.
        #[arg(long)]
        pdf: bool,
        /// Minutes a test person has per case (without --sandbox).
        #[arg(long, default_value_t = 10)]
        wait_mins: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum OnboardingCommand {
    /// Fill tables A.1-A.5 from the hospital's configuration and its onboarding facts file;
    /// write HTML (print-ready) and CSV into --out and list every missing fact by name.
    Forms {
        #[arg(long)]
        org: medpay_schemas::OrgCode,
        #[arg(long)]
        out: PathBuf,
        /// The onboarding facts (default: the hospital's `onboarding_facts`).
        #[arg(long)]
        facts: Option<PathBuf>,
        /// Also print appendix-a.pdf with headless Chromium.
        #[arg(long)]
        pdf: bool,
        /// Exit 1 when a fact is missing.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// The hospital's stage, share, acceptance reports and change history.
    Status {
        #[arg(long)]
        org: medpay_schemas::OrgCode,
    },
    /// Move the hospital to a stage (recorded with --actor and --reason). `live` needs an
    /// acceptance report that passed for the current configuration on every channel.
    Set {
        #[arg(long)]
        org: medpay_schemas::OrgCode,
        /// onboarding, joint-test, closed-production, pilot, live or suspended.
        #[arg(long)]
        stage: String,
        /// In pilot: the share of patients let in, in percent.
        #[arg(long, default_value_t = 0)]
        share: u32,
        /// In pilot: the scenes the share applies to (default: every scene).
        #[arg(long, value_delimiter = ',')]
        scenes: Vec<String>,
        /// Replace the extra allowlist of openids (test devices), comma-separated.
        #[arg(long, value_delimiter = ',')]
        allow: Option<Vec<String>>,
        #[arg(long)]
        actor: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Save a workflow's history as JSON, for replay tests and incident reports.
    Export {
        workflow_id: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration (the default).
    Show,
    /// Every hospital's configuration usable? Files, credentials, key pairs, certificates; with
    /// --online also a TLS handshake and one harmless signed call per party. Exit 1 on a failure.
    Check {
        /// Only this hospital (org code).
        #[arg(long)]
        org: Option<String>,
        /// Also call each party (core 9001 sign-in, queries of an order that does not exist).
        #[arg(long)]
        online: bool,
        #[arg(long, default_value_t = 30)]
        warn_days: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// List every configured certificate and key; warn under --warn-days, fail on an expired one.
    Check {
        /// Check as of this day (YYYY-MM-DD, UTC) instead of now: "what will have expired by then?"
        #[arg(long)]
        at: Option<String>,
        #[arg(long, default_value_t = 30)]
        warn_days: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Encrypt a credentials, key or token file (SM4-GCM under the master key); medpay opens
    /// sealed files wherever it reads a secret file. `--generate-master-key` prints a new key.
    Seal {
        #[arg(long = "in", required_unless_present = "generate_master_key")]
        input: Option<PathBuf>,
        #[arg(long, required_unless_present = "generate_master_key")]
        out: Option<PathBuf>,
        #[arg(long)]
        generate_master_key: bool,
    },
}
