//! How to reach one counterparty of a hospital: its `PartyConfig` (base URL, per-operation
//! paths, CA or the system's roots, client certificate, timeouts, profile), the reference paths
//! of each party's operations, the profile-free `Endpoint` the HTTPS clients are built from, and
//! the client itself (`party_client`). The party clients (`bank`, `mid_platform`, ...) and the
//! hospitals' configuration (`parties`) both build on this module; it needs neither.

use crate::http::TlsSetupError;
use medpay_schemas::wire::bank::BankOp;
use medpay_schemas::wire::mid_platform::MidPlatformOp;
use medpay_schemas::wire::{channel, core};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `ca = "system"`: the operating system's public roots (the channels' public endpoints).
pub const SYSTEM_ROOTS: &str = "system";

/// How to reach one counterparty of one hospital.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "P: Deserialize<'de> + Default"))]
pub struct PartyConfig<P> {
    /// Scheme, host, port and any prefix; each operation's path is appended.
    pub base_url: String,
    /// Per-operation paths where the party differs from the reference (keys: `path_keys`).
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    /// A PEM bundle of the CAs trusted for this party, or `"system"` for the system's roots.
    #[serde(default = "system_roots")]
    pub ca: String,
    /// A client certificate and key (PEM) for platforms that require mutual TLS.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    #[serde(default = "connect_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "request_ms")]
    pub request_timeout_ms: u64,
    /// The envelope knobs (mid-platform, bank) or the interface names (core).
    #[serde(default)]
    pub profile: P,
}

fn system_roots() -> String {
    SYSTEM_ROOTS.into()
}
pub(crate) fn connect_ms() -> u64 {
    3_000
}
pub(crate) fn request_ms() -> u64 {
    10_000
}

/// The channel's knobs. None yet beyond the endpoint: a struct so unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelProfile {}

/// The insurance core's interface names, which differ by province.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreProfile {
    /// 人员信息获取接口 (the person-info query by payAuthNo).
    pub person_info_infno: String,
    /// Whether calls carry `cainfo`/`signtype` and replies must (REQ S-4.1a). On by default;
    /// off only for a province's test core that takes unsigned calls.
    pub signed: bool,
    /// The signature scheme when signed (SM2 over SM3 by default, REQ B-1).
    pub sign: medpay_crypto::signer::SignatureScheme,
}

impl Default for CoreProfile {
    fn default() -> Self {
        Self {
            person_info_infno: "queryPsninfobyZFB".into(),
            signed: true,
            sign: medpay_crypto::signer::SignatureScheme::sm2(Default::default()),
        }
    }
}

/// The reference paths of each party's operations (docs/PROTOCOLS.md), by the key a hospital's
/// `paths` table uses to override them.
pub fn default_paths(party: Party) -> Vec<(&'static str, &'static str)> {
    match party {
        Party::Channel => vec![("user_query", channel::WECHAT_USER_QUERY_PATH)],
        Party::Alipay => vec![("gateway", channel::ALIPAY_GATEWAY_PATH)],
        Party::Core => vec![("call_service", core::CALL_SERVICE_PATH)],
        Party::MidPlatform => MidPlatformOp::ALL.iter().map(|op| (op.infno(), op.default_path())).collect(),
        Party::Bank => BankOp::ALL.iter().map(|op| (op.key(), op.default_path())).collect(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Channel,
    Alipay,
    Core,
    MidPlatform,
    Bank,
}

impl Party {
    pub const ALL: [Party; 5] = [Party::Channel, Party::Alipay, Party::Core, Party::MidPlatform, Party::Bank];

    /// The table name in the hospital's TOML.
    pub fn key(self) -> &'static str {
        match self {
            Party::Channel => "channel",
            Party::Alipay => "alipay",
            Party::Core => "core",
            Party::MidPlatform => "mid_platform",
            Party::Bank => "bank",
        }
    }
}

/// One party's endpoint without its profile, for what is the same for every party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub party: Party,
    pub base_url: String,
    pub paths: BTreeMap<String, String>,
    pub ca: String,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
}

impl Endpoint {
    /// The full URL of an operation: the override, else the reference path.
    pub fn url(&self, key: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), self.path(key))
    }

    pub fn path(&self, key: &str) -> String {
        self.paths.get(key).cloned().unwrap_or_else(|| {
            default_paths(self.party)
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, p)| p.to_string())
                .unwrap_or_default()
        })
    }
}

impl<P> PartyConfig<P> {
    pub fn endpoint(&self, party: Party) -> Endpoint {
        Endpoint {
            party,
            base_url: self.base_url.clone(),
            paths: self.paths.clone(),
            ca: self.ca.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            connect_timeout_ms: self.connect_timeout_ms,
            request_timeout_ms: self.request_timeout_ms,
        }
    }
}

/// Where Debian (and most distributions) keep the system's public roots as one PEM bundle;
/// `SSL_CERT_FILE` points elsewhere.
fn system_roots_file() -> std::path::PathBuf {
    std::env::var_os("SSL_CERT_FILE").map(Into::into).unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into())
}

/// The client for one counterparty: its CA bundle (or the system's roots), its client
/// certificate when the party requires mutual TLS, its timeouts.
pub fn party_client(e: &Endpoint) -> Result<reqwest::Client, TlsSetupError> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(party_tls(e)?)
        .connect_timeout(Duration::from_millis(e.connect_timeout_ms))
        .timeout(Duration::from_millis(e.request_timeout_ms))
        .build()?)
}

/// The TLS side of `party_client`: the party's CA (or the system's roots) and the client
/// certificate when configured.
pub fn party_tls(e: &Endpoint) -> Result<rustls::ClientConfig, TlsSetupError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = if e.ca == SYSTEM_ROOTS { system_roots_file() } else { e.ca.clone().into() };
    let mut roots = rustls::RootCertStore::empty();
    let bad = |detail: String| TlsSetupError::CaFile { path: ca.display().to_string(), detail };
    for cert in CertificateDer::pem_file_iter(&ca).map_err(|e| bad(e.to_string()))? {
        roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate found".into()));
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let tls = match (&e.client_cert, &e.client_key) {
        (Some(cert), Some(key)) => {
            let bad = |path: &Path, detail: String| TlsSetupError::ClientIdentity {
                path: path.display().to_string(),
                detail,
            };
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| bad(cert, e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(cert, e.to_string()))?;
            if chain.is_empty() {
                return Err(bad(cert, "no certificate found".into()));
            }
            let key_der = rustls::pki_types::PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| bad(key, format!("does not go with the certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(tls)
}
