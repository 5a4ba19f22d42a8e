//! The environment variables that override the configuration file (containers, CI): the table
//! that names each and the key it sets, and how a value is parsed into the configuration.

use super::*;
use std::path::Path;

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
