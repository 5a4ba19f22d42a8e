//! The sandbox: the four counterparties of interlink-mode insurance mobile payment — the
//! channel (WeChat profile), the insurance core, the mid-platform and the clearing bank — as
//! real HTTPS servers that sign, encrypt and verify like the real ones, plus an SFTP server for
//! statement files, patient actions, scenarios and fault injection. Tests, demos and a
//! hospital's joint test (REQ O-5) run against it. Started by `medpay-sandbox` and by the quick
//! start.
//!
//! One HTTPS listener serves every party under its own path prefix:
//! `/wechat/...` (channel), `/core/...`, `/mid/...`, `/bank/...`, and `/sandbox/...` for the
//! patient and control endpoints.

pub mod app;
pub mod books;
pub mod callbacks;
pub mod clock;
pub mod control;
pub mod credentials;
pub mod disk;
pub mod faults;
pub mod flusher;
pub mod hospital_files;
pub mod parties;
pub mod patient;
pub mod patient_pages;
pub mod persons;
pub mod record;
pub mod sftp;
pub mod split;
pub mod state;
pub mod statements;
pub mod tls;

use anyhow::Context;
use app::App;
pub use app::SandboxConfig;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
pub use credentials::Credentials;
use medpay_schemas::wire;
use medpay_schemas::wire::bank::BankOp;
use medpay_schemas::wire::mid_platform::MidPlatformOp;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The mid-platform path of an operation, under the sandbox's `/mid` prefix.
pub fn mid_path(op: MidPlatformOp) -> String {
    format!("/mid{}", op.default_path())
}

/// The bank path of an operation, under the sandbox's `/bank` prefix.
pub fn bank_path(op: BankOp) -> String {
    format!("/bank{}", op.default_path())
}

/// Alipay's gateway under the sandbox's `/alipay` prefix.
pub fn alipay_gateway_path() -> String {
    format!("/alipay{}", wire::channel::ALIPAY_GATEWAY_PATH)
}

pub fn router(app: App) -> Router {
    let mut r = Router::new()
        .route(&format!("/wechat{}", wire::channel::WECHAT_USER_QUERY_PATH), post(parties::channel::wechat_user_query))
        .route(&alipay_gateway_path(), post(parties::channel::alipay_gateway))
        .route(&format!("/core{}", wire::core::CALL_SERVICE_PATH), post(parties::core::call_service))
        .route("/sandbox/patient/authorize", post(patient::authorize))
        .route("/sandbox/patient/pay", post(patient::pay))
        .route("/sandbox/patient/abandon", post(patient::abandon))
        .route("/sandbox/patient/authorize-page", get(patient_pages::authorize_page))
        .route("/sandbox/patient/authorize-form", post(patient_pages::authorize_form))
        .route("/sandbox/patient/cashier-page", get(patient_pages::cashier_page))
        .route("/sandbox/patient/cashier-form", post(patient_pages::cashier_form))
        .route("/sandbox/control/faults", get(control::get_faults).put(control::put_faults))
        .route("/sandbox/control/state", get(control::state))
        .route("/sandbox/control/statements", post(control::statements))
        .route("/sandbox/control/callbacks", post(control::sign_callbacks))
        .route("/sandbox/personas", get(control::personas));
    for op in MidPlatformOp::ALL {
        r = r.route(
            &mid_path(op),
            post(move |State(app): State<App>, body: String| parties::mid_platform::handle(app, op, body)),
        );
    }
    for op in
        [BankOp::SelfPayOrder, BankOp::MixedOrder, BankOp::MixedOrderQuery, BankOp::SelfPayRefund, BankOp::RefundNotify]
    {
        r = r.route(
            &bank_path(op),
            post(move |State(app): State<App>, body: String| parties::bank::handle(app, op, body)),
        );
    }
    let r = r.with_state(app.clone());
    match &app.config.record_dir {
        Some(dir) => match record::Recorder::new(dir.clone()) {
            Ok(rec) => r.layer(axum::middleware::from_fn_with_state(rec, record::middleware)),
            Err(e) => {
                tracing::error!("cannot record into {}: {e}", dir.display());
                r
            }
        },
        None => r,
    }
}

/// A running sandbox. Dropping it does not stop it: call [`SandboxHandle::stop`].
pub struct SandboxHandle {
    pub base_url: String,
    pub ca_cert: PathBuf,
    pub hospital_cert: PathBuf,
    pub hospital_key: PathBuf,
    pub credentials_path: PathBuf,
    /// medpay's per-hospital onboarding files for these parties (`parties.hospitals_dir`).
    pub hospitals_dir: PathBuf,
    /// With `split_parties`: each party's own listener.
    pub parties: Vec<split::PartyListener>,
    pub credentials: Credentials,
    pub sftp: Option<sftp::SftpInfo>,
    pub app: App,
    server: axum_server::Handle<std::net::SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    flusher: tokio::task::JoinHandle<()>,
}

impl SandboxHandle {
    pub async fn stop(self) {
        for p in &self.parties {
            p.handle.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
        }
        self.server.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
        let _ = self.task.await;
        self.flusher.abort();
        flusher::flush(&self.app);
        if self.sftp.is_some() {
            sftp::stop(&self.app.config.data_dir);
        }
    }

    /// Waits until the server stops (e.g. `medpay-sandbox` in the foreground).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}

pub async fn start(config: SandboxConfig) -> anyhow::Result<SandboxHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let tls_files = tls::ensure(&config.data_dir.join("tls"))?;
    let credentials_path = config.data_dir.join("credentials.json");
    let mut credentials = Credentials::load_or_generate(&credentials_path, config.hospitals)?;
    if config.bank_legacy_rsa2 {
        credentials.ensure_legacy_rsa(&credentials_path)?;
    }
    if config.bank_encrypt {
        credentials.ensure_biz_keys(&credentials_path)?;
    }
    let mut cas: Vec<&Path> = vec![&tls_files.ca_cert];
    if let Some(extra) = &config.callback_ca {
        cas.push(extra);
    }
    // The hospital must answer within 5 s (WeChat's rule for callbacks).
    let callback_client = tls::https_client(&cas, Duration::from_secs(5))?;
    let sftp = match config.sftp_port {
        Some(port) => Some(sftp::start(&config.data_dir, port)?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("sandbox cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let app = App::new(config, credentials.clone(), callback_client)?;
    let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls_files.cert, &tls_files.key).await?;
    let server = axum_server::Handle::new();
    let router = router(app.clone());
    let serve =
        axum_server::from_tcp_rustls(listener, rustls_config)?.handle(server.clone()).serve(router.into_make_service());
    let task = tokio::spawn(serve);
    let parties = if app.config.split_parties {
        split::start(self::router(app.clone()), &app.config.data_dir).await?
    } else {
        Vec::new()
    };
    let hospitals_dir = hospital_files::write(
        &app.config,
        &credentials,
        &credentials_path,
        &format!("https://{addr}"),
        &tls_files.ca_cert,
        &parties,
    )?;
    let flusher = flusher::spawn_flusher(app.clone());
    Ok(SandboxHandle {
        base_url: format!("https://{addr}"),
        ca_cert: tls_files.ca_cert,
        hospital_cert: tls_files.hospital_cert,
        hospital_key: tls_files.hospital_key,
        credentials_path,
        hospitals_dir,
        parties,
        credentials,
        sftp,
        app,
        server,
        task,
        flusher,
    })
}
