//! `medpay config check [--org X] [--online]`: is each hospital's configuration usable, and are
//! its counterparties reachable with it? Offline: every hospital file parses, its credentials
//! file has the hospital, private keys parse and match the public keys registered with the
//! parties, CA bundles and client certificates are readable and in date. Online: per party a TLS
//! handshake and one harmless signed call (core 9001 sign-in, a 6301 and a bank query of an order
//! that does not exist, a channel user query with a code that does not exist), with the party's
//! answer in plain words. Non-zero exit on any failure.

use crate::config::Config;
use medpay_activities::http::PartyError;
use medpay_activities::parties::onboarding::{self, HospitalConfig, Party, SYSTEM_ROOTS};
use medpay_activities::parties::{HospitalParties, Parties};
use medpay_crypto::signer::PrivateKey;
use medpay_schemas::Secret;
use medpay_schemas::wire::bank::{BankOp, MixedOrderQueryRequest};
use medpay_schemas::wire::mid_platform::{MidPlatformOp, QueryOrderRequest};

/// One line of the report.
pub struct Finding {
    pub hospital: String,
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

fn finding(hospital: &str, what: impl Into<String>, ok: bool, detail: impl Into<String>) -> Finding {
    Finding { hospital: hospital.into(), what: what.into(), ok, detail: detail.into() }
}

/// The hospitals the configuration describes, and the files that could not be read.
fn hospitals(config: &Config) -> anyhow::Result<(Vec<HospitalConfig>, Vec<onboarding::Refused>)> {
    let p = &config.parties;
    if let Some(dir) = &p.hospitals_dir {
        return Ok(onboarding::read_dir(dir)?);
    }
    let (Some(params), Some(ca)) = (&p.params_file, &p.ca_file) else {
        anyhow::bail!(
            "no hospital is configured: set parties.hospitals_dir (MEDPAY_PARTIES_HOSPITALS_DIR), or parties.params_file and parties.ca_file"
        );
    };
    Ok((Parties::single_listener_configs(params, &p.base_url, ca)?, Vec::new()))
}

/// The deployment's own secret files: readable, and opened when sealed (the master key).
fn secrets(config: &Config, out: &mut Vec<Finding>) {
    let files = [
        ("payload codec keys", config.temporal.payload_key_file.as_ref()),
        ("API keys", config.api.guard.keys_file.as_ref()),
        ("codec token", config.api.codec_token_file.as_ref()),
        ("HIS notice key", config.his.notify_key_file.as_ref()),
    ];
    for (what, file) in files {
        let Some(f) = file else { continue };
        let (ok, detail) = match medpay_crypto::sealed::read_secret_file(f) {
            Ok(text) if text.trim().is_empty() => (false, format!("{} is empty", f.display())),
            Ok(_) => (true, format!("{} readable", f.display())),
            Err(e) => (false, format!("{}: {e}", f.display())),
        };
        out.push(finding("deployment", what, ok, detail));
    }
}

/// Certificates of one party: the CA bundle and the client certificate, with their dates.
fn certificates(c: &HospitalConfig, now: i64, warn_days: i64, out: &mut Vec<Finding>) {
    for e in c.endpoints() {
        let party = e.party.key();
        let mut files = vec![];
        if e.ca != SYSTEM_ROOTS {
            files.push(("CA", std::path::PathBuf::from(&e.ca)));
        }
        if let Some(cert) = &e.client_cert {
            files.push(("client certificate", cert.clone()));
        }
        for (kind, path) in files {
            let source = crate::certs::Source {
                name: format!("{party} {kind}"),
                origin: path.display().to_string(),
                text: std::fs::read_to_string(&path).map_err(|err| format!("cannot read: {err}")),
                key_only: false,
            };
            for f in crate::certs::check(&[source], now, warn_days) {
                let what = format!("{party} {kind}");
                let (ok, detail) = match f.status {
                    crate::certs::Status::Ok => {
                        (true, format!("{} valid, {} days left", path.display(), f.days_left.unwrap_or(0)))
                    }
                    crate::certs::Status::Warn => {
                        (true, format!("{} expires in {} days: renew it", path.display(), f.days_left.unwrap_or(0)))
                    }
                    crate::certs::Status::Expired => (
                        false,
                        format!(
                            "{} has EXPIRED ({} days ago): the handshake will fail; get a current one",
                            path.display(),
                            -f.days_left.unwrap_or(0)
                        ),
                    ),
                    crate::certs::Status::NoExpiry => (true, path.display().to_string()),
                    crate::certs::Status::Unreadable(why) => (false, format!("{}: {why}", path.display())),
                };
                out.push(finding(&c.org_code, what, ok, detail));
            }
        }
    }
}

/// The hospital's private keys against the public keys it registered with the parties (when
/// the credentials file records them).
fn key_pairs(h: &HospitalParties, out: &mut Vec<Finding>) {
    let mut pairs = vec![
        (
            "mid_platform",
            &h.config.mid_platform.profile.sign,
            &h.params.mid_platform.hospital_private_key,
            &h.params.mid_platform.hospital_public_key,
        ),
        ("bank", &h.config.bank.profile.sign, &h.params.bank.hospital_private_key, &h.params.bank.hospital_public_key),
    ];
    if let Some(core) = &h.params.core {
        pairs.push(("core", &h.config.core.profile.sign, &core.hospital_private_key, &core.hospital_public_key));
    }
    for (party, scheme, private, public) in pairs {
        let Some(public) = public else { continue };
        let derived = PrivateKey::from_text(scheme, private.expose()).map(|k| k.public_key());
        let registered = medpay_crypto::signer::PublicKey::from_text(scheme, public);
        let (ok, detail) = match (derived, registered) {
            (Ok(d), Ok(r)) if d == r => (true, "the private key matches the public key registered with the party".to_string()),
            (Ok(_), Ok(_)) => (false, "the private key does NOT match the public key registered with the party: the party will refuse every signature (a key was replaced on one side only)".into()),
            (Err(e), _) => (false, format!("the private key does not parse: {e}")),
            (_, Err(e)) => (false, format!("the registered public key does not parse: {e}")),
        };
        out.push(finding(&h.config.org_code, format!("{party} key pair"), ok, detail));
    }
}

/// What a probe's outcome means, in words. `refusal_of_us` are the codes with which the party
/// says it refused *our* request (signature, appId, partner id): everything else it answers
/// about the non-existent order shows the keys and the route are right.
fn judge(result: Result<(), PartyError>, refusal_of_us: &[&str], base_url: &str) -> (bool, String) {
    // TLS failures first: they look like connection or transport errors, but the fix is a file.
    if let Err(PartyError::Unavailable { detail, .. } | PartyError::Unknown { detail, .. }) = &result {
        if detail.contains("CertificateRequired") || detail.contains("certificate required") {
            return (
                false,
                format!(
                    "{base_url} requires a client certificate (mutual TLS): set client_cert and client_key to the certificate the party issued ({detail})"
                ),
            );
        }
        if detail.contains("invalid peer certificate") {
            return (
                false,
                format!(
                    "{base_url} presents a certificate the configured `ca` does not trust (or that has expired): set `ca` to the party's CA bundle ({detail})"
                ),
            );
        }
    }
    match result {
        Ok(()) => (true, "answered".into()),
        Err(PartyError::Rejected { code, message, .. }) if refusal_of_us.contains(&code.as_str()) => (
            false,
            format!(
                "refused our request ({code}: {message}): check the appId / partner id and that the party has the hospital's current public key"
            ),
        ),
        Err(PartyError::Rejected { code, message, .. }) if code.starts_with("HTTP") => {
            (false, format!("answered {code} ({message}): check base_url and the paths"))
        }
        Err(PartyError::Rejected { code, message, .. }) => {
            (true, format!("signed and answered as expected for a probe ({code}: {message})"))
        }
        Err(PartyError::Unavailable { detail, .. }) => (
            false,
            format!(
                "cannot reach {base_url}: {detail} (is the host and port right, is the party up, is a firewall in the way?)"
            ),
        ),
        Err(PartyError::Unknown { detail, .. }) => (
            false,
            format!(
                "no usable answer from {base_url}: {detail} (a wrong base_url or path answers with a web page; a TLS failure means the CA or client certificate)"
            ),
        ),
        Err(PartyError::Integrity { detail, .. }) => (
            false,
            format!("its reply does not verify: {detail} (is the party's public key in the credentials current?)"),
        ),
        Err(PartyError::Local { stage, detail, .. }) => (
            false,
            format!(
                "the probe was not sent: {stage} failed here ({detail}): check the hospital's keys and configuration"
            ),
        ),
    }
}

/// One harmless call to `party` as the hospital: the core's sign-in, and elsewhere a query of an
/// order that does not exist (`probe_no`), whose refusal shows the party read our request.
async fn call_party(h: &HospitalParties, party: Party, probe_no: &str, endpoint: &str) -> (bool, String) {
    let org = &h.config.org_code;
    let probe_no = probe_no.to_string();
    match party {
        Party::Alipay => match &h.alipay {
            Some(a) => judge(
                a.auth_query(&Secret::new(probe_no.clone()), &probe_no).await.map(drop),
                &["isv.invalid-signature", "isv.invalid-app-id", "40002"],
                endpoint,
            ),
            None => (false, "[alipay] is configured but no client was built".into()),
        },
        Party::Core => match h.core.sign_in().await {
            Ok(_) => (true, "signed in (9001)".into()),
            // The sign-in is a real call that must succeed: any refusal is of our request.
            Err(PartyError::Rejected { code, message, .. }) if !code.starts_with("HTTP") => (
                false,
                format!(
                    "refused the sign-in ({code}: {message}): check fixmedins_code, the [core] keys in the credentials and that the core has the hospital's current public key"
                ),
            ),
            Err(e) => judge(Err(e), &[], endpoint),
        },
        Party::Channel => judge(
            h.wechat.user_query(&Secret::new(probe_no.clone()), "medpay-config-check", &probe_no).await.map(drop),
            &["40001", "40002"],
            endpoint,
        ),
        Party::MidPlatform => {
            let req = medpay_schemas::PayOrdId::parse(probe_no.clone()).and_then(|id| {
                Ok(QueryOrderRequest {
                    pay_ord_id: id,
                    org_codg: medpay_schemas::OrgCode::parse(org.clone())?,
                    pay_token: Secret::new(probe_no.clone()),
                    id_no: Secret::new("0".into()),
                    user_name: Secret::new("0".into()),
                    id_type: "01".into(),
                })
            });
            match req {
                Ok(req) => judge(
                    h.mid.call::<_, serde_json::Value>(MidPlatformOp::QueryOrder, &req).await.map(drop),
                    &["1001", "1002"],
                    endpoint,
                ),
                Err(e) => (false, format!("cannot build the probe: {e}")),
            }
        }
        Party::Bank => {
            let req = medpay_schemas::MixTradeNo::parse(probe_no.clone()).and_then(|m| {
                Ok(MixedOrderQueryRequest {
                    query_type: "MIX_TRADE_NO".into(),
                    hospital_id: h.params.bank.hospital_id.clone(),
                    mix_trade_no: Some(m),
                    out_trade_no: None,
                    sub_mchid: medpay_schemas::SubMchId::parse(h.params.bank.sub_mchid.clone())?,
                    trx_date: "2000-01-01".into(),
                })
            });
            match req {
                Ok(req) => judge(
                    h.bank.call::<_, serde_json::Value>(BankOp::MixedOrderQuery, &probe_no, &req).await.map(drop),
                    &["4001", "4003"],
                    endpoint,
                ),
                Err(e) => (false, format!("cannot build the probe: {e}")),
            }
        }
    }
}

async fn probe(h: &HospitalParties, out: &mut Vec<Finding>) {
    let org = &h.config.org_code;
    let probe_no = format!("MEDPAYCHECK{}", medpay_activities::http::now_ms());
    for party in Party::ALL {
        let Some(tls_endpoint) = h.config.endpoints().into_iter().find(|e| e.party == party) else {
            continue;
        };
        let endpoint = tls_endpoint.base_url.clone();
        let (ok, detail) = call_party(h, party, &probe_no, &endpoint).await;
        let classified = detail.contains("requires a client certificate") || detail.contains("does not trust");
        let (ok, detail) = if !ok && tls_endpoint.client_cert.is_none() && !classified {
            match tokio::task::spawn_blocking(move || asks_for_client_certificate(&tls_endpoint)).await {
                Ok(true) => (
                    false,
                    format!(
                        "{endpoint} requires a client certificate (mutual TLS): set client_cert and client_key to the certificate the party issued (it ended a handshake without one)"
                    ),
                ),
                _ => (ok, detail),
            }
        } else {
            (ok, detail)
        };
        out.push(finding(org, format!("{} online", party.key()), ok, detail));
    }
}

/// Whether the party's server ends a connection for want of a client certificate. In TLS 1.3
/// its alert comes after the client's Finished, so the HTTP client may see only a connection
/// that closed ("connection was not ready"), depending on timing; here a handshake without a
/// certificate is followed by a read, which returns the alert itself.
fn asks_for_client_certificate(e: &onboarding::Endpoint) -> bool {
    use std::io::{Read, Write};
    let without = onboarding::Endpoint { client_cert: None, client_key: None, ..e.clone() };
    let Ok(config) = medpay_activities::endpoint::party_tls(&without) else { return false };
    let Ok(url) = url::Url::parse(&e.base_url) else { return false };
    let (Some(host), Some(port)) = (url.host_str().map(str::to_string), url.port_or_known_default()) else {
        return false;
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.clone()) else { return false };
    let Ok(mut conn) = rustls::ClientConnection::new(std::sync::Arc::new(config), name) else { return false };
    let Ok(mut sock) = std::net::TcpStream::connect((host.as_str(), port)) else { return false };
    let limit = Some(std::time::Duration::from_millis(e.request_timeout_ms.max(1_000)));
    let _ = (sock.set_read_timeout(limit), sock.set_write_timeout(limit));
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let asked = |err: &std::io::Error| {
        let text = err.to_string();
        text.contains("CertificateRequired") || text.contains("certificate required")
    };
    if let Err(err) = tls.write_all(b"GET / HTTP/1.1\r\nHost: medpay-config-check\r\nConnection: close\r\n\r\n") {
        return asked(&err);
    }
    let mut buf = [0u8; 64];
    // Any answer (even an HTTP error page) means the server took the connection.
    match tls.read(&mut buf) {
        Err(err) => asked(&err),
        Ok(_answered) => false,
    }
}

/// Prints the report; returns the number of failures (the exit status).
pub async fn run(config: &Config, org: Option<&str>, online: bool, warn_days: i64) -> anyhow::Result<usize> {
    let (configs, unreadable) = hospitals(config)?;
    let mut out = Vec::new();
    for (file, why) in unreadable {
        out.push(finding(&file, "hospital file", false, why));
    }
    let configs: Vec<HospitalConfig> = configs.into_iter().filter(|c| org.is_none_or(|o| c.org_code == o)).collect();
    if let Some(o) = org {
        anyhow::ensure!(!configs.is_empty(), "hospital {o} is not configured");
    }
    secrets(config, &mut out);
    let now = medpay_activities::http::now_ms() / 1000;
    for c in &configs {
        certificates(c, now, warn_days, &mut out);
    }
    let parties = Parties::from_configs(configs.clone(), Vec::new(), &config.parties.callback_url);
    for (hospital, why) in &parties.refused {
        out.push(finding(hospital, "credentials and keys", false, why.clone()));
    }
    for h in parties.hospitals.values() {
        out.push(finding(
            &h.config.org_code,
            "credentials and keys",
            true,
            format!("{} has the hospital; every key parses", h.config.credentials_file.display()),
        ));
        key_pairs(h, &mut out);
        if let Some(sftp) = h.config.statements.as_ref().and_then(|st| st.sftp.as_ref()) {
            let missing: Vec<String> = [&sftp.key_file, &sftp.known_hosts]
                .into_iter()
                .filter(|p| !p.is_file())
                .map(|p| p.display().to_string())
                .collect();
            let ok = missing.is_empty();
            let detail = if ok {
                format!("{}@{}:{} with pinned host keys", sftp.user, sftp.host, sftp.port)
            } else {
                format!("missing: {}", missing.join(", "))
            };
            out.push(finding(&h.config.org_code, "statements SFTP files", ok, detail));
        }
        if online {
            probe(h, &mut out).await;
        }
    }
    let failures = out.iter().filter(|f| !f.ok).count();
    for f in &out {
        println!("{:<14} {:<28} {:<6} {}", f.hospital, f.what, if f.ok { "ok" } else { "FAILED" }, f.detail);
    }
    println!(
        "config check: {} hospital(s), {} check(s), {failures} failed{}",
        configs.len(),
        out.len(),
        if online { "" } else { " (offline; --online also calls each party)" }
    );
    Ok(failures)
}
