//! The sandbox's TLS: a CA and a server certificate for 127.0.0.1/localhost, generated on first
//! start into `<data dir>/tls/` (kept across restarts). Clients trust `ca.pem`; nobody disables
//! verification.

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use std::path::{Path, PathBuf};

pub struct TlsFiles {
    pub ca_cert: PathBuf,
    /// The sandbox parties' server certificate.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A certificate for the hospital side (medpay's HTTPS endpoint that receives the bank's
    /// callbacks), so the bank's callback client can verify it against the same CA.
    pub hospital_cert: PathBuf,
    pub hospital_key: PathBuf,
}

pub fn ensure(dir: &Path) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles {
        ca_cert: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        hospital_cert: dir.join("hospital.pem"),
        hospital_key: dir.join("hospital.key"),
    };
    if [&files.ca_cert, &files.cert, &files.key, &files.hospital_cert, &files.hospital_key].iter().all(|p| p.is_file())
    {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "medpay-interlink sandbox CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    std::fs::write(&files.ca_cert, ca_cert.pem())?;
    for (name, cert_path, key_path) in [
        ("medpay-interlink sandbox", &files.cert, &files.key),
        ("medpay-interlink hospital (dev)", &files.hospital_cert, &files.hospital_key),
    ] {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        let cert = params.signed_by(&key, &issuer)?;
        std::fs::write(cert_path, cert.pem())?;
        std::fs::write(key_path, key.serialize_pem())?;
    }
    Ok(files)
}

/// An HTTPS client trusting only the given CA files (the bank's callback client: medpay's
/// endpoint, under the sandbox's CA or the one `--callback-ca` names).
pub fn https_client(ca_files: &[&Path], timeout: std::time::Duration) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for p in ca_files {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let certs =
            CertificateDer::pem_file_iter(p).with_context(|| format!("cannot read the CA file {}", p.display()))?;
        for cert in certs {
            let cert = cert.with_context(|| format!("a certificate in {} is not readable", p.display()))?;
            roots.add(cert).with_context(|| format!("a certificate in {} is not usable", p.display()))?;
        }
    }
    anyhow::ensure!(!roots.is_empty(), "no CA certificate found in {ca_files:?}");
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls).timeout(timeout).build()?)
}
