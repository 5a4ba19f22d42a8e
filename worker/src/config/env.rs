//! The environment variables that override the configuration file (containers, CI): one table
//! that names each, the configuration key it sets (README's configuration table documents the
//! key) and how its value is parsed. A value that does not parse or does not fit its key's type
//! is refused with the variable's name; nothing saturates.

use super::*;
use std::path::Path;

/// One environment variable: its name, the configuration key it overrides, and the parser that
/// sets the key (an error is the reason the value was refused).
pub struct EnvVar {
    pub name: &'static str,
    pub key: &'static str,
    set: fn(&mut Config, &str) -> Result<(), String>,
}

/// Every environment variable `medpay` reads for its configuration. Each setter is one
/// `Ok(assignment)`, so the table stays one entry per variable.
#[allow(clippy::unit_arg)]
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar { name: "MEDPAY_RUNTIME_THREADS", key: "runtime.threads", set: |c, v| Ok(c.runtime.threads = number(v)?) },
    EnvVar { name: "MEDPAY_TEMPORAL_ADDRESS", key: "temporal.address", set: |c, v| Ok(c.temporal.address = v.into()) },
    EnvVar {
        name: "MEDPAY_TEMPORAL_NAMESPACE",
        key: "temporal.namespace",
        set: |c, v| Ok(c.temporal.namespace = v.into()),
    },
    EnvVar { name: "MEDPAY_TASK_QUEUE", key: "temporal.task_queue", set: |c, v| Ok(c.temporal.task_queue = v.into()) },
    EnvVar {
        name: "MEDPAY_TEMPORAL_MAX_CACHED_WORKFLOWS",
        key: "temporal.max_cached_workflows",
        set: |c, v| Ok(c.temporal.max_cached_workflows = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_TEMPORAL_GRPC_COMPRESSION",
        key: "temporal.grpc_compression",
        set: |c, v| Ok(c.temporal.grpc_compression = compression(v)?),
    },
    EnvVar { name: "MEDPAY_TEMPORAL_UI_URL", key: "temporal.ui_url", set: |c, v| Ok(c.temporal.ui_url = v.into()) },
    EnvVar { name: "MEDPAY_API_LISTEN", key: "api.listen", set: |c, v| Ok(c.api.listen = v.into()) },
    EnvVar {
        name: "MEDPAY_PAYLOAD_KEY_FILE",
        key: "temporal.payload_key_file",
        set: |c, v| Ok(c.temporal.payload_key_file = Some(v.into())),
    },
    EnvVar { name: "MEDPAY_LEDGER_URL", key: "ledger.url", set: |c, v| Ok(c.ledger.url = v.into()) },
    EnvVar {
        name: "MEDPAY_CODEC_TOKEN_FILE",
        key: "api.codec_token_file",
        set: |c, v| Ok(c.api.codec_token_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_API_TLS_CERT_FILE",
        key: "api.tls_cert_file",
        set: |c, v| Ok(c.api.tls_cert_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_API_TLS_KEY_FILE",
        key: "api.tls_key_file",
        set: |c, v| Ok(c.api.tls_key_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_PARTIES_PARAMS_FILE",
        key: "parties.params_file",
        set: |c, v| Ok(c.parties.params_file = Some(v.into())),
    },
    EnvVar { name: "MEDPAY_PARTIES_BASE_URL", key: "parties.base_url", set: |c, v| Ok(c.parties.base_url = v.into()) },
    EnvVar {
        name: "MEDPAY_PARTIES_CA_FILE",
        key: "parties.ca_file",
        set: |c, v| Ok(c.parties.ca_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_CALLBACK_URL",
        key: "parties.callback_url",
        set: |c, v| Ok(c.parties.callback_url = v.into()),
    },
    EnvVar {
        name: "MEDPAY_PAYMENT_CALLBACK_WAIT_SECS",
        key: "payment.callback_wait_secs",
        set: |c, v| Ok(c.payment.callback_wait_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_PAYMENT_QUERY_EVERY_SECS",
        key: "payment.query_every_secs",
        set: |c, v| Ok(c.payment.query_every_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_PAYMENT_QUERY_FOR_SECS",
        key: "payment.query_for_secs",
        set: |c, v| Ok(c.payment.query_for_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_PAYMENT_LATE_CALLBACK_SECS",
        key: "payment.late_callback_secs",
        set: |c, v| Ok(c.payment.late_callback_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_PAYMENT_CONFIRM_DEADLINE_SECS",
        key: "payment.confirm_deadline_secs",
        set: |c, v| Ok(c.payment.confirm_deadline_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_REFUND_ATTENTION_AFTER_SECS",
        key: "refund.attention_after_secs",
        set: |c, v| Ok(c.refund.attention_after_secs = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_REFUND_WINDOW_DAYS",
        key: "refund.window_days",
        set: |c, v| Ok(c.refund.window_days = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_RECON_SFTP_HOST",
        key: "recon.sftp_host",
        set: |c, v| Ok(c.recon.sftp_host = Some(v.into())),
    },
    EnvVar { name: "MEDPAY_RECON_SFTP_PORT", key: "recon.sftp_port", set: |c, v| Ok(c.recon.sftp_port = number(v)?) },
    EnvVar { name: "MEDPAY_RECON_SFTP_USER", key: "recon.sftp_user", set: |c, v| Ok(c.recon.sftp_user = v.into()) },
    EnvVar {
        name: "MEDPAY_RECON_SFTP_KEY_FILE",
        key: "recon.sftp_key_file",
        set: |c, v| Ok(c.recon.sftp_key_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_RECON_SFTP_KNOWN_HOSTS",
        key: "recon.sftp_known_hosts",
        set: |c, v| Ok(c.recon.sftp_known_hosts = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_RECON_STAGING_DIR",
        key: "recon.staging_dir",
        set: |c, v| Ok(c.recon.staging_dir = v.into()),
    },
    EnvVar {
        name: "MEDPAY_RECON_REPORTS_DIR",
        key: "recon.reports_dir",
        set: |c, v| Ok(c.recon.reports_dir = v.into()),
    },
    EnvVar { name: "MEDPAY_HIS_NOTIFY_URL", key: "his.notify_url", set: |c, v| Ok(c.his.notify_url = Some(v.into())) },
    EnvVar {
        name: "MEDPAY_HIS_NOTIFY_KEY_FILE",
        key: "his.notify_key_file",
        set: |c, v| Ok(c.his.notify_key_file = Some(v.into())),
    },
    EnvVar { name: "MEDPAY_HIS_CA_FILE", key: "his.ca_file", set: |c, v| Ok(c.his.ca_file = Some(v.into())) },
    EnvVar {
        name: "MEDPAY_API_KEYS_FILE",
        key: "api.guard.keys_file",
        set: |c, v| Ok(c.api.guard.keys_file = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_RATE_PER_IP",
        key: "api.guard.per_ip.per_sec",
        set: |c, v| Ok(c.api.guard.per_ip.per_sec = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_RATE_PER_DEVICE",
        key: "api.guard.per_device.per_sec",
        set: |c, v| Ok(c.api.guard.per_device.per_sec = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_RATE_DEVICE_BURST",
        key: "api.guard.per_device.burst",
        set: |c, v| Ok(c.api.guard.per_device.burst = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_RATE_CALLBACK_PER_IP",
        key: "api.guard.callback_per_ip.per_sec",
        set: |c, v| Ok(c.api.guard.callback_per_ip.per_sec = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_BLOCK_AFTER_FAILURES",
        key: "api.guard.block_after_failures",
        set: |c, v| Ok(c.api.guard.block_after_failures = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_ORDER_BURST_MAX",
        key: "api.guard.order_burst_max",
        set: |c, v| Ok(c.api.guard.order_burst_max = number(v)?),
    },
    EnvVar {
        name: "MEDPAY_MAX_BILL_FEN",
        key: "api.limits.max_bill_fen",
        set: |c, v| Ok(c.api.limits.max_bill_fen = positive_fen(v)?),
    },
    EnvVar {
        name: "MEDPAY_MAX_LINE_FEN",
        key: "api.limits.max_line_fen",
        set: |c, v| Ok(c.api.limits.max_line_fen = positive_fen(v)?),
    },
    EnvVar {
        name: "MEDPAY_SDK_METRICS_LISTEN",
        key: "temporal.sdk_metrics_listen",
        set: |c, v| Ok(c.temporal.sdk_metrics_listen = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_OTLP_ENDPOINT",
        key: "telemetry.otlp_endpoint",
        set: |c, v| Ok(c.telemetry.otlp_endpoint = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_PARTIES_HOSPITALS_DIR",
        key: "parties.hospitals_dir",
        set: |c, v| Ok(c.parties.hospitals_dir = Some(v.into())),
    },
    EnvVar {
        name: "MEDPAY_PATIENT_PUBLIC_URL",
        key: "patient.public_url",
        set: |c, v| Ok(c.patient.public_url = v.into()),
    },
    EnvVar {
        name: "MEDPAY_PATIENT_AUTHORISE_URL",
        key: "patient.authorise_url",
        set: |c, v| Ok(c.patient.authorise_url = v.into()),
    },
    EnvVar {
        name: "MEDPAY_PATIENT_CASHIER_URL",
        key: "patient.cashier_url",
        set: |c, v| Ok(c.patient.cashier_url = v.into()),
    },
    EnvVar {
        name: "MEDPAY_PATIENT_LINK_TTL_SECS",
        key: "patient.link_ttl_secs",
        set: |c, v| Ok(c.patient.link_ttl_secs = number(v)?),
    },
];

/// A whole number that fits the key's type (a count, seconds, a port, a rate).
fn number<T: std::str::FromStr<Err = std::num::ParseIntError>>(v: &str) -> Result<T, String> {
    v.trim().parse::<T>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            format!("out of range (at most {})", std::any::type_name::<T>())
        }
        _ => format!("not a whole number: {e}"),
    })
}

fn positive_fen(v: &str) -> Result<i64, String> {
    match number::<i64>(v)? {
        n if n > 0 => Ok(n),
        _ => Err("must be a positive number of fen".into()),
    }
}

fn compression(v: &str) -> Result<GrpcCompressionSetting, String> {
    match v.trim() {
        "none" => Ok(GrpcCompressionSetting::None),
        "gzip" => Ok(GrpcCompressionSetting::Gzip),
        _ => Err("expected none or gzip".into()),
    }
}

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
        for var in ENV_VARS {
            let Some(value) = get(var.name) else { continue };
            (var.set)(self, &value).map_err(|message| ConfigError::Env { var: var.name, value, message })?;
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

    /// A value too large for its key is refused by name, not saturated to the type's maximum.
    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let mut c = Config::default();
        for (var, value) in [
            ("MEDPAY_RECON_SFTP_PORT", "70000"),
            ("MEDPAY_RATE_PER_IP", "4294967296"),
            ("MEDPAY_MAX_BILL_FEN", "0"),
            ("MEDPAY_PAYMENT_QUERY_EVERY_SECS", "-1"),
            ("MEDPAY_TEMPORAL_GRPC_COMPRESSION", "zstd"),
        ] {
            let err = c.apply_env(|k| (k == var).then(|| value.to_string())).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(value), "{var}={value}: {err}");
        }
        assert_eq!(c.recon.sftp_port, Config::default().recon.sftp_port, "a refused value changes nothing");
    }

    /// Every variable is set by its own entry (a copy-paste slip would set another key) and
    /// named in README's configuration table.
    #[test]
    fn every_variable_sets_its_own_key_and_is_documented() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let mut names = std::collections::BTreeSet::new();
        for var in ENV_VARS {
            assert!(names.insert(var.name), "{} twice", var.name);
            assert!(readme.contains(&format!("`{}`", var.name)), "README does not document {}", var.name);
            let mut c = Config::default();
            let before = toml::Value::try_from(&c).unwrap();
            let value = if var.name == "MEDPAY_TEMPORAL_GRPC_COMPRESSION" { "gzip" } else { "7" };
            c.apply_env(|k| (k == var.name).then(|| value.to_string())).unwrap();
            let after = toml::Value::try_from(&c).unwrap();
            let changed = changed_keys(&before, &after, "");
            assert_eq!(changed, vec![var.key.to_string()], "{} changed {changed:?}", var.name);
        }
    }

    fn changed_keys(a: &toml::Value, b: &toml::Value, at: &str) -> Vec<String> {
        match (a, b) {
            (toml::Value::Table(x), toml::Value::Table(y)) => {
                let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
                keys.into_iter()
                    .flat_map(|k| {
                        let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                        match (x.get(k), y.get(k)) {
                            (Some(p), Some(q)) => changed_keys(p, q, &path),
                            _ => vec![path],
                        }
                    })
                    .collect()
            }
            _ if a == b => vec![],
            _ => vec![at.to_string()],
        }
    }
}
