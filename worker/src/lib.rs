//! The `medpay` binary's library: configuration, Temporal wiring, the HTTP API and the CLI
//! commands. `main.rs` only parses arguments and dispatches here.

pub mod acceptance;
pub mod api;
pub mod certs;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod config;
pub mod onboarding;
pub mod recon;
pub mod redact;
pub mod selfcheck;
pub mod temporal;

use anyhow::Context;
use config::Config;
use std::sync::Arc;

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Secret files stored in clear get a warning at start (REQ S-4.1e wants them sealed at rest).
fn warn_unsealed(config: &Config) {
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
fn start_traces(t: &config::TelemetryConfig) -> anyhow::Result<()> {
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

/// The runtime for `medpay run` with its configured thread count (`runtime.threads`); one
/// thread per core for everything else.
pub fn tokio_runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
}

/// `medpay run`: the worker and the API in one process, stopping both on a signal.
pub async fn run_service(config: Config, api: bool, worker: bool) -> anyhow::Result<()> {
    run_service_with(config, api, worker, temporal::no_extra_registrations).await
}

/// `run_service` with more workflows and activities on the worker (`medpay-tools run`).
pub async fn run_service_with(
    config: Config,
    api: bool,
    worker: bool,
    extra: temporal::ExtraRegistrations,
) -> anyhow::Result<()> {
    warn_unsealed(&config);
    start_traces(&config.telemetry)?;
    let client = temporal::connect(&config.temporal).await?;
    temporal::ensure_search_attributes(&client, &config.temporal.namespace).await?;
    if let Some(dir) = config
        .ledger
        .url
        .strip_prefix("sqlite://")
        .and_then(|p| std::path::Path::new(p.split('?').next().unwrap_or(p)).parent())
    {
        std::fs::create_dir_all(dir).ok();
    }
    let ledger = medpay_activities::ledger::Ledger::connect(&config.ledger.url)
        .await
        .with_context(|| format!("cannot open the ledger at {} (ledger.url)", redact_url(&config.ledger.url)))?;
    let parties = load_parties(&config.parties)?;
    let his = his_notifier(&config)?;
    // The payload key also seals the authCode exchanges shared with peer instances.
    let sealer: Option<Arc<dyn medpay_activities::pay_auth_cache::ExchangeSealer>> =
        match &config.temporal.payload_key_file {
            Some(f) => Some(Arc::new(codec::Sm4GcmCodec::from_key_file(f)?)),
            None => None,
        };
    let payments = parties.clone().map(|p| {
        Arc::new(medpay_activities::payment::PaymentActivities {
            parties: p,
            ledger: ledger.clone(),
            his: his.clone(),
            sealer: sealer.clone(),
        })
    });
    let recon = Arc::new(medpay_activities::recon::ReconActivities {
        ledger: ledger.clone(),
        parties: parties.clone(),
        settings: Arc::new(recon::settings(&config.recon)?),
    });
    if config.recon.schedules && worker {
        let orgs: Vec<String> = parties.as_ref().map(|p| p.hospitals.keys().cloned().collect()).unwrap_or_default();
        let created = recon::ensure_schedules(&client, &config.temporal.task_queue, &config.recon, &orgs).await?;
        if !created.is_empty() {
            tracing::info!(?created, "created reconciliation schedules");
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let api_task = if api {
        let listener = tokio::net::TcpListener::bind(&config.api.listen)
            .await
            .with_context(|| format!("cannot listen on {} (api.listen)", config.api.listen))?;
        let codec = match &config.temporal.payload_key_file {
            Some(f) => Some(Arc::new(codec::Sm4GcmCodec::from_key_file(f)?)),
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
            api::CodecState { codec, token, ui_origin: config.temporal.ui_url.trim_end_matches('/').to_string() };
        let state = api::AppState {
            client: client.clone(),
            task_queue: Arc::from(config.temporal.task_queue.as_str()),
            ledger: ledger.clone(),
            codec,
            parties: parties.clone(),
            payment: config.payment,
            refund: config.refund,
            guard: Arc::new(api::guard::Guard::new(config.api.guard.clone())?),
            config: Arc::new(config.clone()),
            callbacks: Arc::default(),
            runs: Arc::default(),
            gates: Arc::default(),
        };
        let rx = stop_rx.clone();
        let service = api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        match api_tls(&config.api).await? {
            None => Some(tokio::spawn(async move {
                axum::serve(listener, service).with_graceful_shutdown(wait_stop(rx)).await.context("http api")
            })),
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    wait_stop(rx).await;
                    stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
                });
                let server = axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle);
                Some(tokio::spawn(async move { server.serve(service).await.context("https api") }))
            }
        }
    } else {
        None
    };
    // The SDK's worker future is not Send, so it runs on this task rather than a spawned one.
    let worker_run = async {
        if worker {
            temporal::run_worker(
                client.clone(),
                &config.temporal,
                payments.clone(),
                recon.clone(),
                extra,
                wait_stop(stop_rx.clone()),
            )
            .await
            .context("worker")
        } else {
            wait_stop(stop_rx.clone()).await;
            Ok(())
        }
    };
    tokio::pin!(worker_run);
    if worker {
        tracing::info!(task_queue = %config.temporal.task_queue, "worker started");
    }
    // The quick start and tests wait for these lines.
    if api {
        println!(
            "medpay API      : {}://{}",
            if config.api.tls_cert_file.is_some() { "https" } else { "http" },
            config.api.listen
        );
    }
    println!("Temporal UI     : {}", config.temporal.ui_url);
    println!("ledger          : {}", redact_url(&config.ledger.url));
    println!(
        "Temporal server : {} (namespace {}, task queue {})",
        config.temporal.address, config.temporal.namespace, config.temporal.task_queue
    );
    let api_done = async {
        match api_task {
            Some(t) => t.await.context("http api task")?,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(api_done);
    tokio::select! {
        () = shutdown_signal() => {
            let _ = stop_tx.send(true);
            let (w, a) = tokio::join!(&mut worker_run, async { if api { api_done.await } else { Ok(()) } });
            w?;
            a?;
            Ok(())
        }
        res = &mut worker_run => {
            let _ = stop_tx.send(true);
            res?;
            anyhow::bail!("the worker stopped unexpectedly")
        }
        res = &mut api_done => {
            let _ = stop_tx.send(true);
            res?;
            anyhow::bail!("the HTTP API stopped unexpectedly")
        }
    }
}

/// The HIS notifier from `[his]`: a notify URL needs its HMAC key.
fn his_notifier(config: &Config) -> anyhow::Result<Option<Arc<medpay_activities::his::HisNotifier>>> {
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
async fn api_tls(api: &config::ApiConfig) -> anyhow::Result<Option<axum_server::tls_rustls::RustlsConfig>> {
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
