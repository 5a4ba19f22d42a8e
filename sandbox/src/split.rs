//! `--split-parties`: each counterparty on a listener of its own, with its own CA, as a real
//! hospital meets them (four hosts, four trust chains); the mid-platform requires a client
//! certificate (mutual TLS), as provincial platforms often do. The main listener keeps serving
//! everything (control, patient pages) for tests and demos.

use crate::tls;
use anyhow::Context;
use axum::Router;
use rustls::pki_types::pem::PemObject;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One party's listener.
pub struct PartyListener {
    /// "channel", "core", "mid_platform", "bank" (the hospital file's table names).
    pub party: &'static str,
    pub base_url: String,
    pub ca_cert: PathBuf,
    /// The client certificate and key the party issued to the hospital, when it requires one.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    pub handle: axum_server::Handle<SocketAddr>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The path prefix of each party on the sandbox's router.
const PARTIES: [(&str, &str, bool); 4] =
    [("channel", "/wechat", false), ("core", "/core", false), ("mid_platform", "/mid", true), ("bank", "/bank", false)];

pub async fn start(router: Router, data_dir: &Path) -> anyhow::Result<Vec<PartyListener>> {
    let mut out = Vec::new();
    for (party, prefix, client_auth) in PARTIES {
        // Each party's own CA; its "hospital" certificate is the client certificate it issues.
        let files = tls::ensure(&data_dir.join("tls").join(party))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind a party listener")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(&files.cert)?.collect::<Result<Vec<_>, _>>()?;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&files.key)?;
        let builder = rustls::ServerConfig::builder();
        let mut config = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls::pki_types::CertificateDer::pem_file_iter(&files.ca_cert)? {
                roots.add(c?)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
            builder.with_client_cert_verifier(verifier).with_single_cert(certs, key)?
        } else {
            builder.with_no_client_auth().with_single_cert(certs, key)?
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let handle = axum_server::Handle::new();
        let serve = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        )?
        .handle(handle.clone())
        .serve(router.clone().into_make_service());
        out.push(PartyListener {
            party,
            base_url: format!("https://{addr}{prefix}"),
            ca_cert: files.ca_cert,
            client_identity: client_auth.then_some((files.hospital_cert, files.hospital_key)),
            handle,
            task: tokio::spawn(serve),
        });
    }
    Ok(out)
}
