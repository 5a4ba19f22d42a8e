//! What `medpay run` builds from its configuration before anything runs: the ledger, the
//! hospitals' parties, the HIS notifier, the trace exporter, the API's TLS, the activities; and
//! the warnings an operator should see at start.

use crate::config::{self, Config};
use anyhow::Context;
use medpay_activities::ledger::Ledger;
use medpay_activities::payment::PaymentActivities;
use medpay_activities::recon::ReconActivities;
use std::sync::Arc;

/// Secret files stored in clear get a warning at start (REQ S-4.1e wants them sealed at rest).
pub(crate) fn warn_unsealed(config: &Config) {
    let files = [
        ("parties.params_file", &config.parties.params_file),
        ("temporal.payload_key_file", &config.temporal.payload_key_file),
        ("api.guard.keys_file", &config.api.guard.keys_file),
        ("api.codec_token_file", &config.api.codec_token_file),
        ("his.notify_key_file", &config.his.notify_key_file),
    ];
    for (setting, path) in files {
        let Some(path) = path else { continue };
        if std::fs::read_to_string(path).is_ok_and(|t| !medpay_crypto::sealed::is_sealed(&t)) {
            tracing::warn!(setting, path = %path.display(), "secret file stored in clear; seal it: medpay secrets seal --in FILE --out FILE.sealed (with MEDPAY_MASTER_KEY)");
        }
    }
}

/// Exports traces when `telemetry.otlp_endpoint` is set (see `medpay_activities::trace`).
pub(crate) fn start_traces(t: &config::TelemetryConfig) -> anyhow::Result<()> {
    let Some(endpoint) = &t.otlp_endpoint else { return Ok(()) };
    url::Url::parse(endpoint).with_context(|| format!("telemetry.otlp_endpoint {endpoint:?} is not a URL"))?;
    let client = match &t.otlp_ca_file {
        Some(ca) => medpay_activities::http::https_client(&[ca.as_path()], std::time::Duration::from_secs(5))?,
        None => medpay_activities::http::http_client(std::time::Duration::from_secs(5))?,
    };
    medpay_activities::trace::start_export(endpoint.clone(), t.service_name.clone(), client);
    tracing::info!(endpoint, "exporting traces (OTLP/HTTP JSON), one per payment");
    Ok(())
}

/// The hospitals' parties: a directory of per-hospital files, or the quick start's one
/// credentials file in the sandbox's layout. A hospital that cannot be used is logged by name and
/// reason and not served; the others are.
pub fn load_parties(p: &config::PartiesConfig) -> anyhow::Result<Option<Arc<medpay_activities::parties::Parties>>> {
    use medpay_activities::parties::Parties;
    let parties = match (&p.hospitals_dir, &p.params_file, &p.ca_file) {
        (Some(dir), _, _) => Parties::load_dir(dir, &p.callback_url)?,
        (None, Some(params), Some(ca)) => Parties::load(params, &p.base_url, ca, &p.callback_url)?,
        (None, Some(_), None) => {
            anyhow::bail!("parties.params_file is set but parties.ca_file is not: the parties' CA must be configured")
        }
        _ => return Ok(None),
    };
    for (hospital, why) in &parties.refused {
        tracing::error!(hospital = %hospital, reason = %why, "hospital not served: its configuration cannot be used (fix it and restart; `medpay config check` says the same)");
    }
    if parties.hospitals.is_empty() {
        anyhow::bail!(
            "no hospital can be served: {}",
            parties.refused.iter().map(|(h, why)| format!("{h}: {why}")).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(Some(Arc::new(parties)))
}

/// The HIS notifier from `[his]`: a notify URL needs its HMAC key.
pub(crate) fn his_notifier(config: &Config) -> anyhow::Result<Option<Arc<medpay_activities::his::HisNotifier>>> {
    let Some(url) = &config.his.notify_url else { return Ok(None) };
    let key_file = config.his.notify_key_file.as_ref().context("his.notify_url (MEDPAY_HIS_NOTIFY_URL) needs his.notify_key_file (MEDPAY_HIS_NOTIFY_KEY_FILE): notices are signed")?;
    let key = medpay_crypto::sealed::read_secret_file(key_file)
        .with_context(|| format!("cannot read his.notify_key_file {}", key_file.display()))?
        .trim()
        .as_bytes()
        .to_vec();
    anyhow::ensure!(
        key.len() >= 16,
        "his.notify_key_file {} holds fewer than 16 bytes: use a long random key",
        key_file.display()
    );
    let ca = config.his.ca_file.as_ref().or(config.parties.ca_file.as_ref());
    let http = match ca {
        Some(ca) => medpay_activities::http::https_client(&[ca.as_path()], std::time::Duration::from_secs(15))?,
        None => anyhow::bail!("his.notify_url needs a CA to trust (his.ca_file or parties.ca_file)"),
    };
    Ok(Some(Arc::new(medpay_activities::his::HisNotifier {
        http,
        url: url.clone(),
        key: medpay_schemas::Secret::new(key),
    })))
}

/// A database URL without its password, for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// The API's TLS configuration (REQ T-4.3a) when `api.tls_cert_file` and `api.tls_key_file`
/// are set; one without the other is a configuration error, not a silent plain-HTTP API.
pub(crate) async fn api_tls(api: &config::ApiConfig) -> anyhow::Result<Option<axum_server::tls_rustls::RustlsConfig>> {
    match (&api.tls_cert_file, &api.tls_key_file) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.with_context(|| {
                format!(
                    "cannot use the API's TLS certificate {} and key {} (api.tls_cert_file, api.tls_key_file)",
                    cert.display(),
                    key.display()
                )
            })?;
            Ok(Some(tls))
        }
        _ => anyhow::bail!(
            "api.tls_cert_file and api.tls_key_file go together (MEDPAY_API_TLS_CERT_FILE, MEDPAY_API_TLS_KEY_FILE): set both to serve HTTPS, or neither"
        ),
    }
}

/// The ledger at `ledger.url`, its SQLite directory created when missing.
pub(crate) async fn open_ledger(config: &Config) -> anyhow::Result<Ledger> {
    if let Some(dir) = config
        .ledger
        .url
        .strip_prefix("sqlite://")
        .and_then(|p| std::path::Path::new(p.split('?').next().unwrap_or(p)).parent())
    {
        std::fs::create_dir_all(dir).ok();
    }
    Ledger::connect(&config.ledger.url)
        .await
        .with_context(|| format!("cannot open the ledger at {} (ledger.url)", redact_url(&config.ledger.url)))
}

/// The payment, refund and reconciliation activities over one ledger; payments only when parties
/// are configured. The payload key also seals the authCode exchanges shared with peer instances.
pub(crate) fn activities(
    config: &Config,
    ledger: &Ledger,
    parties: &Option<Arc<medpay_activities::parties::Parties>>,
) -> anyhow::Result<(Option<Arc<PaymentActivities>>, Arc<ReconActivities>)> {
    let his = his_notifier(config)?;
    let sealer: Option<Arc<dyn medpay_activities::pay_auth_cache::ExchangeSealer>> =
        match &config.temporal.payload_key_file {
            Some(f) => Some(Arc::new(crate::codec::Sm4GcmCodec::from_key_file(f)?)),
            None => None,
        };
    let payments = parties.clone().map(|p| {
        Arc::new(PaymentActivities { parties: p, ledger: ledger.clone(), his: his.clone(), sealer: sealer.clone() })
    });
    let recon = Arc::new(ReconActivities {
        ledger: ledger.clone(),
        parties: parties.clone(),
        settings: Arc::new(crate::recon::settings(&config.recon)?),
    });
    Ok((payments, recon))
}

/// The API's state: the Temporal client, the ledger, the codec endpoint's key and token, the
/// guard.
pub(crate) fn api_state(
    config: &Config,
    client: &temporalio_client::Client,
    ledger: &Ledger,
    parties: &Option<Arc<medpay_activities::parties::Parties>>,
) -> anyhow::Result<crate::api::AppState> {
    let codec = match &config.temporal.payload_key_file {
        Some(f) => Some(Arc::new(crate::codec::Sm4GcmCodec::from_key_file(f)?)),
        None => None,
    };
    let token = match &config.api.codec_token_file {
        Some(f) => Some(medpay_schemas::Secret::new(
            medpay_crypto::sealed::read_secret_file(f)
                .with_context(|| format!("cannot read api.codec_token_file {}", f.display()))?
                .trim()
                .to_string(),
        )),
        None => None,
    };
    let codec =
        crate::api::CodecState { codec, token, ui_origin: config.temporal.ui_url.trim_end_matches('/').to_string() };
    Ok(crate::api::AppState {
        client: client.clone(),
        task_queue: Arc::from(config.temporal.task_queue.as_str()),
        ledger: ledger.clone(),
        codec,
        parties: parties.clone(),
        payment: config.payment,
        refund: config.refund,
        guard: Arc::new(crate::api::guard::Guard::new(config.api.guard.clone())?),
        config: Arc::new(config.clone()),
        callbacks: Arc::default(),
        runs: Arc::default(),
        gates: Arc::default(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://medpay:s3cret@db:5432/medpay"),
            "postgres://medpay:***@db:5432/medpay"
        );
        assert_eq!(super::redact_url("sqlite://.data/ledger.db?mode=rwc"), "sqlite://.data/ledger.db?mode=rwc");
    }
}
