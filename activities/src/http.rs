//! HTTPS to the counterparties: a client that trusts exactly the configured CA files (never the
//! system store, never "accept invalid certs"), and the classification of what went wrong.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::time::Duration;

/// What a failed call means for the caller, per counterparty error (REQ S-4.1d, Q-9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartyError {
    /// Not processed (connection refused, 503): safe to retry as is.
    #[error("{party} unavailable: {detail}")]
    Unavailable { party: &'static str, detail: String },
    /// Sent but the outcome is unknown (timeout, 504, broken reply): query before creating again.
    #[error("{party} outcome unknown: {detail}")]
    Unknown { party: &'static str, detail: String },
    /// The party refused the request with a business code: retrying the same request won't help.
    #[error("{party} refused ({code}): {message}")]
    Rejected { party: &'static str, code: String, message: String },
    /// The reply failed signature/decryption checks: never trusted; re-fetch by query.
    #[error("{party} reply failed integrity checks: {detail}")]
    Integrity { party: &'static str, detail: String },
    /// Our side failed before anything was sent (a request that does not encode, a key that
    /// does not sign, a channel the hospital has not configured): never counted as the party's
    /// refusal, and not retried as is (the same input fails the same way).
    #[error("{party} request not sent: {stage} failed on our side: {detail}")]
    Local { party: &'static str, stage: LocalStage, detail: String },
}

/// Where on our side a request failed before it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalStage {
    /// The request did not serialize, or an id built for it is invalid.
    Encode,
    /// The envelope could not be signed or encrypted with the hospital's keys.
    Sign,
    /// The hospital's configuration lacks what the request needs.
    Configuration,
}

impl LocalStage {
    /// Maps a failure of this stage at `party` to `PartyError::Local` (for `map_err`).
    pub fn of<E: std::fmt::Display>(self, party: &'static str) -> impl FnOnce(E) -> PartyError {
        move |e| PartyError::Local { party, stage: self, detail: e.to_string() }
    }
}

impl std::fmt::Display for LocalStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Encode => "encoding",
            Self::Sign => "signing",
            Self::Configuration => "configuration",
        })
    }
}

impl PartyError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PartyError::Unavailable { .. })
    }

    pub fn needs_query(&self) -> bool {
        matches!(self, PartyError::Unknown { .. } | PartyError::Integrity { .. })
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            PartyError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("CA file {path}: {detail}")]
    CaFile { path: String, detail: String },
    #[error("client certificate or key {path}: {detail}")]
    ClientIdentity { path: String, detail: String },
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

pub fn https_client(ca_files: &[&Path], timeout: Duration) -> Result<reqwest::Client, TlsSetupError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for p in ca_files {
        let bad = |detail: String| TlsSetupError::CaFile { path: p.display().to_string(), detail };
        for cert in CertificateDer::pem_file_iter(p).map_err(|e| bad(e.to_string()))? {
            roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsSetupError::CaFile { path: format!("{ca_files:?}"), detail: "no certificate found".into() });
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls).timeout(timeout).build()?)
}

/// A client for plain-HTTP endpoints on the operator's side (a trace collector beside medpay);
/// https needs `https_client` with the endpoint's CA.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, TlsSetupError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder().timeout(timeout).build()?)
}

/// Sends and reads the body, mapping transport failures and 5xx to `Unavailable`/`Unknown`.
pub async fn send(party: &'static str, req: reqwest::RequestBuilder) -> Result<(u16, String), PartyError> {
    let (started, at) = (std::time::Instant::now(), std::time::SystemTime::now());
    let result = exchange(party, req).await;
    crate::metrics::observe(crate::metrics::PARTY_CALL_SECONDS, &[("party", party)], started.elapsed());
    crate::trace::exchanged(party, at, std::time::SystemTime::now());
    result
}

async fn exchange(party: &'static str, req: reqwest::RequestBuilder) -> Result<(u16, String), PartyError> {
    let resp = req.send().await.map_err(|e| {
        // reqwest's message alone ("error sending request") hides why: the causes say it
        // (connection refused, certificate expired, unknown issuer).
        let detail = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        if e.is_connect() { PartyError::Unavailable { party, detail } } else { PartyError::Unknown { party, detail } }
    })?;
    let status = resp.status().as_u16();
    let body =
        resp.text().await.map_err(|e| PartyError::Unknown { party, detail: format!("reading the reply: {e}") })?;
    match status {
        503 | 502 | 429 => Err(PartyError::Unavailable {
            party,
            detail: format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()),
        }),
        500..=599 => Err(PartyError::Unknown {
            party,
            detail: format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()),
        }),
        _ => Ok((status, body)),
    }
}

pub use medpay_schemas::time::now_ms;
