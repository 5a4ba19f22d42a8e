//! Runtime configuration: a TOML file (optional) with environment overrides. Every default is
//! the embedded quick-start setup on loopback, so `medpay run` works with no file at all.

use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// on one thread: at ~20 CPU-ms per payment that is ~50 payments/s, beyond what one Temporal
    /// server here sustains, and a second thread only added hand-offs between the two (the
    /// benchmark measured 364 context switches per payment with the runtime's default of one
    /// thread per core, 247 with one thread, and 1 CPU-ms less per payment). Raise it when
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
    /// in-flight payment costs ~80 KiB there (benchmark); an evicted one is rebuilt from its
    /// history on its next task, which costs CPU instead. 500 keeps 1,000 payments waiting at
    /// the cashier under 150 MB (115 MiB measured; 169 MiB at 1,000) for ~8% longer to settle
    /// them all once they are paid.
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
    pub guard: crate::api::guard::GuardConfig,
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

/// Environment variables that override the file, for containers and CI.
pub const ENV_OVERRIDES: [(&str, &str); 50] = [
    ("MEDPAY_RUNTIME_THREADS", "runtime.threads"),
    ("MEDPAY_TEMPORAL_ADDRESS", "temporal.address"),
    ("MEDPAY_TEMPORAL_NAMESPACE", "temporal.namespace"),
    ("MEDPAY_TASK_QUEUE", "temporal.task_queue"),
    ("MEDPAY_TEMPORAL_MAX_CACHED_WORKFLOWS", "temporal.max_cached_workflows"),
    ("MEDPAY_TEMPORAL_GRPC_COMPRESSION", "temporal.grpc_compression"),
    ("MEDPAY_TEMPORAL_UI_URL", "temporal.ui_url"),
    ("MEDPAY_API_LISTEN", "api.listen"),
    ("MEDPAY_PAYLOAD_KEY_FILE", "temporal.payload_key_file"),
    ("MEDPAY_LEDGER_URL", "ledger.url"),
    ("MEDPAY_CODEC_TOKEN_FILE", "api.codec_token_file"),
    ("MEDPAY_API_TLS_CERT_FILE", "api.tls_cert_file"),
    ("MEDPAY_API_TLS_KEY_FILE", "api.tls_key_file"),
    ("MEDPAY_PARTIES_PARAMS_FILE", "parties.params_file"),
    ("MEDPAY_PARTIES_BASE_URL", "parties.base_url"),
    ("MEDPAY_PARTIES_CA_FILE", "parties.ca_file"),
    ("MEDPAY_CALLBACK_URL", "parties.callback_url"),
    ("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", "payment.callback_wait_secs"),
    ("MEDPAY_PAYMENT_QUERY_EVERY_SECS", "payment.query_every_secs"),
    ("MEDPAY_PAYMENT_QUERY_FOR_SECS", "payment.query_for_secs"),
    ("MEDPAY_PAYMENT_LATE_CALLBACK_SECS", "payment.late_callback_secs"),
    ("MEDPAY_PAYMENT_CONFIRM_DEADLINE_SECS", "payment.confirm_deadline_secs"),
    ("MEDPAY_REFUND_ATTENTION_AFTER_SECS", "refund.attention_after_secs"),
    ("MEDPAY_REFUND_WINDOW_DAYS", "refund.window_days"),
    ("MEDPAY_RECON_SFTP_HOST", "recon.sftp_host"),
    ("MEDPAY_RECON_SFTP_PORT", "recon.sftp_port"),
    ("MEDPAY_RECON_SFTP_USER", "recon.sftp_user"),
    ("MEDPAY_RECON_SFTP_KEY_FILE", "recon.sftp_key_file"),
    ("MEDPAY_RECON_SFTP_KNOWN_HOSTS", "recon.sftp_known_hosts"),
    ("MEDPAY_RECON_STAGING_DIR", "recon.staging_dir"),
    ("MEDPAY_RECON_REPORTS_DIR", "recon.reports_dir"),
    ("MEDPAY_HIS_NOTIFY_URL", "his.notify_url"),
    ("MEDPAY_HIS_NOTIFY_KEY_FILE", "his.notify_key_file"),
    ("MEDPAY_HIS_CA_FILE", "his.ca_file"),
    ("MEDPAY_API_KEYS_FILE", "api.guard.keys_file"),
    ("MEDPAY_RATE_PER_IP", "api.guard.per_ip.per_sec"),
    ("MEDPAY_RATE_PER_DEVICE", "api.guard.per_device.per_sec"),
    ("MEDPAY_RATE_DEVICE_BURST", "api.guard.per_device.burst"),
    ("MEDPAY_RATE_CALLBACK_PER_IP", "api.guard.callback_per_ip.per_sec"),
    ("MEDPAY_BLOCK_AFTER_FAILURES", "api.guard.block_after_failures"),
    ("MEDPAY_ORDER_BURST_MAX", "api.guard.order_burst_max"),
    ("MEDPAY_MAX_BILL_FEN", "api.limits.max_bill_fen"),
    ("MEDPAY_MAX_LINE_FEN", "api.limits.max_line_fen"),
    ("MEDPAY_SDK_METRICS_LISTEN", "temporal.sdk_metrics_listen"),
    ("MEDPAY_OTLP_ENDPOINT", "telemetry.otlp_endpoint"),
    ("MEDPAY_PARTIES_HOSPITALS_DIR", "parties.hospitals_dir"),
    ("MEDPAY_PATIENT_PUBLIC_URL", "patient.public_url"),
    ("MEDPAY_PATIENT_AUTHORISE_URL", "patient.authorise_url"),
    ("MEDPAY_PATIENT_CASHIER_URL", "patient.cashier_url"),
    ("MEDPAY_PATIENT_LINK_TTL_SECS", "patient.link_ttl_secs"),
];

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| ConfigError::Read { path: p.display().to_string(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path: p.display().to_string(), source })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.payment.check().map_err(|message| ConfigError::Invalid { message })?;
        if config.api.limits.max_bill_fen <= 0 || config.api.limits.max_line_fen <= 0 {
            return Err(ConfigError::Invalid {
                message: "api.limits.max_bill_fen and max_line_fen must be positive".into(),
            });
        }
        let ttl = config.patient.link_ttl_secs;
        if !(medpay_schemas::patient::LINK_TTL_MIN_SECS..=medpay_schemas::patient::LINK_TTL_MAX_SECS).contains(&ttl) {
            return Err(ConfigError::Invalid { message: format!("patient.link_ttl_secs {ttl} is outside 60..=86400") });
        }
        if config.runtime.threads == 0 {
            return Err(ConfigError::Invalid {
                message: "runtime.threads (MEDPAY_RUNTIME_THREADS) is 0: at least one thread must run the service"
                    .into(),
            });
        }
        Ok(config)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (var, _) in ENV_OVERRIDES {
            let Some(v) = get(var) else { continue };
            let secs = || {
                v.trim().parse::<u64>().map_err(|e| ConfigError::Env { var, value: v.clone(), message: e.to_string() })
            };
            let fen = || match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                Ok(_) => {
                    Err(ConfigError::Env { var, value: v.clone(), message: "must be a positive number of fen".into() })
                }
                Err(e) => Err(ConfigError::Env { var, value: v.clone(), message: e.to_string() }),
            };
            match var {
                "MEDPAY_PAYMENT_CALLBACK_WAIT_SECS" => self.payment.callback_wait_secs = secs()?,
                "MEDPAY_TEMPORAL_MAX_CACHED_WORKFLOWS" => {
                    self.temporal.max_cached_workflows = usize::try_from(secs()?).unwrap_or(usize::MAX)
                }
                "MEDPAY_RUNTIME_THREADS" => self.runtime.threads = usize::try_from(secs()?).unwrap_or(usize::MAX),
                "MEDPAY_TEMPORAL_GRPC_COMPRESSION" => {
                    self.temporal.grpc_compression = match v.trim() {
                        "none" => GrpcCompressionSetting::None,
                        "gzip" => GrpcCompressionSetting::Gzip,
                        _ => {
                            return Err(ConfigError::Env {
                                var,
                                value: v.clone(),
                                message: "expected none or gzip".into(),
                            });
                        }
                    }
                }
                "MEDPAY_PAYMENT_QUERY_EVERY_SECS" => self.payment.query_every_secs = secs()?,
                "MEDPAY_PAYMENT_QUERY_FOR_SECS" => self.payment.query_for_secs = secs()?,
                "MEDPAY_PAYMENT_LATE_CALLBACK_SECS" => self.payment.late_callback_secs = secs()?,
                "MEDPAY_PAYMENT_CONFIRM_DEADLINE_SECS" => self.payment.confirm_deadline_secs = secs()?,
                "MEDPAY_REFUND_ATTENTION_AFTER_SECS" => self.refund.attention_after_secs = secs()?,
                "MEDPAY_REFUND_WINDOW_DAYS" => self.refund.window_days = secs()?,
                "MEDPAY_RECON_SFTP_PORT" => {
                    self.recon.sftp_port = u16::try_from(secs()?).map_err(|e| ConfigError::Env {
                        var,
                        value: v.clone(),
                        message: e.to_string(),
                    })?
                }
                "MEDPAY_RECON_SFTP_HOST" => self.recon.sftp_host = Some(v),
                "MEDPAY_RECON_SFTP_USER" => self.recon.sftp_user = v,
                "MEDPAY_RECON_SFTP_KEY_FILE" => self.recon.sftp_key_file = Some(v.into()),
                "MEDPAY_RECON_SFTP_KNOWN_HOSTS" => self.recon.sftp_known_hosts = Some(v.into()),
                "MEDPAY_RECON_STAGING_DIR" => self.recon.staging_dir = v.into(),
                "MEDPAY_RECON_REPORTS_DIR" => self.recon.reports_dir = v.into(),
                "MEDPAY_HIS_NOTIFY_URL" => self.his.notify_url = Some(v),
                "MEDPAY_HIS_NOTIFY_KEY_FILE" => self.his.notify_key_file = Some(v.into()),
                "MEDPAY_HIS_CA_FILE" => self.his.ca_file = Some(v.into()),
                "MEDPAY_API_KEYS_FILE" => self.api.guard.keys_file = Some(v.into()),
                "MEDPAY_RATE_PER_IP" => self.api.guard.per_ip.per_sec = u32::try_from(secs()?).unwrap_or(u32::MAX),
                "MEDPAY_RATE_PER_DEVICE" => {
                    self.api.guard.per_device.per_sec = u32::try_from(secs()?).unwrap_or(u32::MAX)
                }
                "MEDPAY_RATE_DEVICE_BURST" => {
                    self.api.guard.per_device.burst = u32::try_from(secs()?).unwrap_or(u32::MAX)
                }
                "MEDPAY_RATE_CALLBACK_PER_IP" => {
                    self.api.guard.callback_per_ip.per_sec = u32::try_from(secs()?).unwrap_or(u32::MAX)
                }
                "MEDPAY_BLOCK_AFTER_FAILURES" => {
                    self.api.guard.block_after_failures = u32::try_from(secs()?).unwrap_or(u32::MAX)
                }
                "MEDPAY_ORDER_BURST_MAX" => self.api.guard.order_burst_max = u32::try_from(secs()?).unwrap_or(u32::MAX),
                "MEDPAY_MAX_BILL_FEN" => self.api.limits.max_bill_fen = fen()?,
                "MEDPAY_MAX_LINE_FEN" => self.api.limits.max_line_fen = fen()?,
                "MEDPAY_SDK_METRICS_LISTEN" => self.temporal.sdk_metrics_listen = Some(v),
                "MEDPAY_OTLP_ENDPOINT" => self.telemetry.otlp_endpoint = Some(v),
                "MEDPAY_PARTIES_HOSPITALS_DIR" => self.parties.hospitals_dir = Some(v.into()),
                "MEDPAY_PATIENT_PUBLIC_URL" => self.patient.public_url = v,
                "MEDPAY_PATIENT_AUTHORISE_URL" => self.patient.authorise_url = v,
                "MEDPAY_PATIENT_CASHIER_URL" => self.patient.cashier_url = v,
                "MEDPAY_PATIENT_LINK_TTL_SECS" => self.patient.link_ttl_secs = secs()?,
                "MEDPAY_TEMPORAL_ADDRESS" => self.temporal.address = v,
                "MEDPAY_TEMPORAL_NAMESPACE" => self.temporal.namespace = v,
                "MEDPAY_TASK_QUEUE" => self.temporal.task_queue = v,
                "MEDPAY_TEMPORAL_UI_URL" => self.temporal.ui_url = v,
                "MEDPAY_API_LISTEN" => self.api.listen = v,
                "MEDPAY_PAYLOAD_KEY_FILE" => self.temporal.payload_key_file = Some(v.into()),
                "MEDPAY_LEDGER_URL" => self.ledger.url = v,
                "MEDPAY_CODEC_TOKEN_FILE" => self.api.codec_token_file = Some(v.into()),
                "MEDPAY_API_TLS_CERT_FILE" => self.api.tls_cert_file = Some(v.into()),
                "MEDPAY_API_TLS_KEY_FILE" => self.api.tls_key_file = Some(v.into()),
                "MEDPAY_PARTIES_PARAMS_FILE" => self.parties.params_file = Some(v.into()),
                "MEDPAY_PARTIES_BASE_URL" => self.parties.base_url = v,
                "MEDPAY_PARTIES_CA_FILE" => self.parties.ca_file = Some(v.into()),
                "MEDPAY_CALLBACK_URL" => self.parties.callback_url = v,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut c: Config = toml::from_str("[temporal]\naddress = \"http://127.0.0.1:17233\"\n").unwrap();
        assert_eq!(c.temporal.address, "http://127.0.0.1:17233");
        assert_eq!(c.temporal.task_queue, "medpay");
        c.apply_env(|k| (k == "MEDPAY_API_LISTEN").then(|| "127.0.0.1:9999".to_string())).unwrap();
        assert_eq!(c.api.listen, "127.0.0.1:9999");
    }

    #[test]
    fn deadlines_default_to_the_standard_and_bad_numbers_are_named() {
        let mut c = Config::default();
        assert_eq!((c.payment.callback_wait_secs, c.payment.query_every_secs, c.payment.query_for_secs), (20, 5, 60));
        c.apply_env(|k| (k == "MEDPAY_PAYMENT_QUERY_FOR_SECS").then(|| "6".to_string())).unwrap();
        assert_eq!(c.payment.query_for_secs, 6);
        let err = c.apply_env(|k| (k == "MEDPAY_PAYMENT_CALLBACK_WAIT_SECS").then(|| "20s".to_string())).unwrap_err();
        assert!(err.to_string().contains("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS"), "{err}");
    }

    #[test]
    fn one_runtime_thread_by_default_and_more_on_request() {
        let mut c = Config::default();
        assert_eq!(c.runtime.threads, 1);
        c.apply_env(|k| (k == "MEDPAY_RUNTIME_THREADS").then(|| "4".to_string())).unwrap();
        assert_eq!(c.runtime.threads, 4);
        assert!(c.apply_env(|k| (k == "MEDPAY_RUNTIME_THREADS").then(|| "many".to_string())).is_err());
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_ignored() {
        assert!(toml::from_str::<Config>("[temporal]\nadress = \"x\"\n").is_err());
    }
}
