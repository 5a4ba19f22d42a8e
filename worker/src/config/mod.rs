//! Runtime configuration: a TOML file (optional) with environment overrides. Every default is
//! the embedded quick-start setup on loopback, so `medpay run` works with no file at all. The
//! environment variables and how they apply are in `env.rs`.

mod env;
pub use env::{ENV_VARS, EnvVar};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub temporal: TemporalConfig,
    pub api: ApiConfig,
    pub ledger: LedgerConfig,
    pub parties: PartiesConfig,
    /// The payment workflow's deadlines (defaults: the standard's, REQ Q-9).
    pub payment: medpay_schemas::payment_flow::PaymentTimings,
    pub refund: RefundConfig,
    pub recon: ReconConfig,
    pub his: HisConfig,
    pub runtime: RuntimeConfig,
    pub telemetry: TelemetryConfig,
    pub patient: PatientConfig,
}

/// The patient's page (REQ E-4.4, `/patient/`): where its links point and where its two
/// hand-overs go. The templates take `{return}` (this page's address, for the way back) and the
/// cashier's `{mix_trade_no}`; both are query-encoded when filled in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatientConfig {
    /// medpay's address as the patient's phone reaches it (behind the hospital's HTTPS proxy in
    /// production); empty: `http://` + `api.listen`.
    pub public_url: String,
    /// The channel's authorisation page. Empty: the page sends the patient to the counter.
    pub authorise_url: String,
    /// The mixed cashier. Empty: the page shows the split and waits for the bank's result.
    pub cashier_url: String,
    /// How long a link works unless the HIS asks otherwise (60 s to a day).
    pub link_ttl_secs: u64,
}

impl Default for PatientConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            authorise_url: String::new(),
            cashier_url: String::new(),
            link_ttl_secs: 1800,
        }
    }
}

impl Config {
    /// The patient page's base address (`patient.public_url`, else the API's listen address).
    pub fn patient_public_url(&self) -> String {
        if self.patient.public_url.is_empty() {
            format!("http://{}", self.api.listen)
        } else {
            self.patient.public_url.trim_end_matches('/').to_string()
        }
    }
}

/// Traces (`medpay_activities::trace`): off unless an OTLP/HTTP endpoint is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The collector's OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub otlp_endpoint: Option<String>,
    /// The CA of an https collector (otherwise only http endpoints are reachable).
    pub otlp_ca_file: Option<std::path::PathBuf>,
    /// The `service.name` of the spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { otlp_endpoint: None, otlp_ca_file: None, service_name: "medpay".into() }
    }
}

/// The threads `medpay run` works on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Threads running the API, the worker and the activities. 1 (the default) runs them all
    /// on one thread: it carries more payments than one Temporal server sustains, and a second
    /// thread only added hand-offs between the two (docs/BENCHMARKS-decisions.md, one runtime
    /// thread). Raise it when
    /// `medpay-tools bench product` shows the worker's CPU as the limit. Statement files are parsed
    /// on a separate blocking pool either way; the SDK's workflow thread and SQLite's
    /// connection threads are their own.
    pub threads: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self { threads: 1 }
    }
}

/// The outbound notice to the HIS when a payment ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HisConfig {
    /// Where to POST the signed notice; without it, no notice is sent (the HIS polls).
    pub notify_url: Option<String>,
    /// The HMAC key shared with the HIS (file contents, trimmed).
    pub notify_key_file: Option<std::path::PathBuf>,
    /// The CA of an https notify_url (otherwise the parties' CA is the only one trusted).
    pub ca_file: Option<std::path::PathBuf>,
}

/// Reconciliation: where statements come from, where reports go, when the schedules run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconConfig {
    /// SFTP server of the statements; without a host, files are read from `staging_dir`.
    pub sftp_host: Option<String>,
    pub sftp_port: u16,
    pub sftp_user: String,
    pub sftp_key_file: Option<std::path::PathBuf>,
    /// Host keys trusted for the SFTP server (never trust-on-first-use).
    pub sftp_known_hosts: Option<std::path::PathBuf>,
    /// Remote path templates: {mer_id}, {org_code}, {yyyymmdd}, {yyyymm}.
    pub selfpay_remote: String,
    pub insurance_remote: String,
    pub staging_dir: std::path::PathBuf,
    pub reports_dir: std::path::PathBuf,
    /// Create the Temporal Schedules at start-up (daily self-pay, monthly insurance).
    pub schedules: bool,
    /// Beijing time of the daily self-pay run ("H:MM"), and the day of month of the insurance run.
    pub selfpay_at: String,
    pub insurance_day: u8,
}

impl Default for ReconConfig {
    fn default() -> Self {
        Self {
            sftp_host: None,
            sftp_port: 22,
            sftp_user: "medpaysftp".into(),
            sftp_key_file: None,
            sftp_known_hosts: None,
            selfpay_remote: medpay_activities::recon::fetch::SELFPAY_REMOTE.into(),
            insurance_remote: medpay_activities::recon::fetch::INSURANCE_REMOTE.into(),
            staging_dir: ".data/statements".into(),
            reports_dir: ".data/reports".into(),
            schedules: true,
            selfpay_at: "2:00".into(),
            insurance_day: 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RefundConfig {
    /// How long a failing refund step keeps retrying before the refund needs an operator.
    pub attention_after_secs: u64,
    /// Refunds are accepted this many days after the payment was paid.
    pub window_days: u64,
}

impl Default for RefundConfig {
    fn default() -> Self {
        Self { attention_after_secs: 3600, window_days: 365 }
    }
}

/// Where the counterparties are and the hospitals' onboarding parameters. Without
/// `params_file` the payment API answers 503 `PARTIES_NOT_CONFIGURED`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartiesConfig {
    /// JSON with each hospital's parameters (the sandbox's `credentials.json` has this shape).
    pub params_file: Option<std::path::PathBuf>,
    /// Base URL serving `/wechat`, `/core`, `/mid`, `/bank` (the sandbox's layout).
    pub base_url: String,
    /// The only CA trusted for the parties.
    pub ca_file: Option<std::path::PathBuf>,
    /// Our callback URL as the bank must call it (public, behind the TLS proxy).
    pub callback_url: String,
    /// One TOML file per hospital (`deploy/config/hospital.example.toml`): each party's host, CA,
    /// client certificate, paths and profile. When set, `params_file`, `base_url` and `ca_file`
    /// are not used (each hospital's file names its own credentials file).
    pub hospitals_dir: Option<std::path::PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// `sqlite://<file>?mode=rwc` (embedded, default) or `postgres://user@host:port/db`.
    pub url: String,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self { url: "sqlite://.data/ledger.db?mode=rwc".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemporalConfig {
    /// gRPC address of the Temporal frontend.
    pub address: String,
    pub namespace: String,
    /// The task queue our workflows and activities run on.
    pub task_queue: String,
    /// Where operators find the Web UI (printed at start-up, linked from errors).
    pub ui_url: String,
    /// The payload codec's key file (`medpay keygen --out FILE`): without it no workflow runs,
    /// because history would hold personal data in clear.
    pub payload_key_file: Option<std::path::PathBuf>,
    /// Workflows kept in the worker's memory between tasks (the SDK's sticky cache). Each
    /// in-flight payment costs memory there; an evicted one is rebuilt from its history on its
    /// next task, which costs CPU instead. 500 trades a bounded memory for a little longer to
    /// settle a crowd at the cashier (docs/BENCHMARKS-decisions.md, the sticky cache).
    pub max_cached_workflows: usize,
    /// gRPC compression to the Temporal frontend. Off by default: payloads are SM4-GCM
    /// ciphertext, which does not compress, so gzip only costs CPU on both ends (the SDK's
    /// default is gzip). Turn it on for a frontend across a slow WAN link.
    pub grpc_compression: GrpcCompressionSetting,
    /// Where the Temporal SDK serves its own worker metrics (Prometheus format, `temporal_`
    /// names: task slots, pollers and poll latency, sticky cache); off when unset.
    pub sdk_metrics_listen: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrpcCompressionSetting {
    #[default]
    None,
    Gzip,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address of the HTTP API for the HIS.
    pub listen: String,
    /// File holding the bearer token the Web UI's codec requests must carry (recommended
    /// everywhere but a loopback dev box; without it anyone reaching the API can decode).
    pub codec_token_file: Option<std::path::PathBuf>,
    /// The API's own TLS certificate chain and key (PEM): with both, medpay serves HTTPS itself
    /// (REQ T-4.3a) — the HIS's calls and the bank's callbacks arrive encrypted even without a
    /// proxy in front. A TLS-terminating proxy stays the recommended production shape.
    pub tls_cert_file: Option<std::path::PathBuf>,
    pub tls_key_file: Option<std::path::PathBuf>,
    /// API keys and rate limits (`[api.guard]`).
    pub guard: GuardConfig,
    /// The largest bill and bill line accepted (`[api.limits]`).
    pub limits: BillLimits,
}

/// Amounts above these are refused with 422 `AMOUNT_TOO_LARGE`: a typo of a few digits in the
/// HIS (or a hostile client) must not reach the insurance platform as a bill. The defaults fit
/// the largest inpatient bills hospitals settle; lower them to what the hospital's own HIS
/// could ever send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillLimits {
    /// Per bill, in fen (default 1,000,000.00 yuan).
    pub max_bill_fen: i64,
    /// Per bill line, in fen (default 1,000,000.00 yuan).
    pub max_line_fen: i64,
}

impl Default for BillLimits {
    fn default() -> Self {
        Self { max_bill_fen: 100_000_000, max_line_fen: 100_000_000 }
    }
}

impl Default for TemporalConfig {
    fn default() -> Self {
        Self {
            address: "http://127.0.0.1:7233".into(),
            namespace: "default".into(),
            task_queue: "medpay".into(),
            ui_url: "http://127.0.0.1:8233".into(),
            payload_key_file: None,
            max_cached_workflows: 500,
            grpc_compression: GrpcCompressionSetting::None,
            sdk_metrics_listen: None,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            codec_token_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            guard: Default::default(),
            limits: BillLimits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is invalid: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("configuration is invalid: {message}")]
    Invalid { message: String },
    #[error("environment variable {var}={value:?} is invalid: {message}")]
    Env { var: &'static str, value: String, message: String },
}

/// The HIS API's and the callback's abuse protection (REQ S-4.1c; `api/guard.rs` applies it).
/// Requests per second and burst; a rate of 0 turns the limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    pub per_sec: u32,
    pub burst: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// `org_code=key` lines; without the file the HIS API is open (loopback dev only).
    pub keys_file: Option<std::path::PathBuf>,
    pub per_ip: Rate,
    pub per_device: Rate,
    pub callback_per_ip: Rate,
    /// Authentication failures from one IP or device before it is blocked.
    pub block_after_failures: u32,
    pub block_secs: u64,
    /// Distinct HIS order numbers one device may create within `order_burst_secs` before it is
    /// blocked (0: no limit). A cashier terminal makes a few a minute.
    pub order_burst_max: u32,
    pub order_burst_secs: u64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            keys_file: None,
            // The HIS is usually one busy client behind a proxy: no per-IP limit unless asked.
            per_ip: Rate { per_sec: 0, burst: 0 },
            per_device: Rate { per_sec: 10, burst: 20 },
            callback_per_ip: Rate { per_sec: 2_000, burst: 4_000 },
            block_after_failures: 10,
            block_secs: 300,
            order_burst_max: 30,
            order_burst_secs: 60,
        }
    }
}
