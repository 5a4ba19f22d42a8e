//! Certificate and key expiry (REQ T-4.3d), for `medpay certs check` and `GET /metrics`: every
//! certificate and key the configuration names, with
//! the certificates' expiry and days left; a warning under `warn_days`, a non-zero exit for an
//! expired or unreadable one. The same findings feed `GET /metrics`, so monitoring sees a
//! certificate running out long before a counterparty refuses the handshake.

use crate::config::Config;
use medpay_crypto::x509::read_pem_certificates;
use std::path::PathBuf;

/// Where a certificate or key comes from.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub origin: String,
    pub text: Result<String, String>,
    /// A private or raw public key: listed, but keys carry no expiry of their own.
    pub key_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Expired,
    NoExpiry,
    Unreadable(String),
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub name: String,
    pub origin: String,
    pub subject: Option<String>,
    pub not_after: Option<i64>,
    pub days_left: Option<i64>,
    pub status: Status,
}

fn file(name: &str, path: &PathBuf, key_only: bool) -> Source {
    Source {
        name: name.into(),
        origin: path.display().to_string(),
        text: std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}")),
        key_only,
    }
}

/// Every certificate and key the configuration names.
pub fn sources(config: &Config) -> Vec<Source> {
    let mut v = vec![];
    if let Some(p) = &config.parties.ca_file {
        v.push(file("parties TLS trust (CA)", p, false));
    }
    if let Some(p) = &config.his.ca_file {
        v.push(file("HIS TLS trust (CA)", p, false));
    }
    if let Some(p) = &config.recon.sftp_key_file {
        v.push(file("SFTP client key", p, true));
    }
    if let Some(p) = &config.temporal.payload_key_file {
        v.push(file("payload codec keys", p, true));
    }
    // Each hospital's own CAs and client certificates (`parties.hospitals_dir`).
    if let Some(dir) = &config.parties.hospitals_dir
        && let Ok((hospitals, _)) = medpay_activities::parties::onboarding::read_dir(dir)
    {
        for h in hospitals {
            for e in h.endpoints() {
                if e.ca != medpay_activities::parties::onboarding::SYSTEM_ROOTS {
                    v.push(file(&format!("{} {} CA", h.org_code, e.party.key()), &PathBuf::from(&e.ca), false));
                }
                if let Some(cert) = &e.client_cert {
                    v.push(file(&format!("{} {} client certificate", h.org_code, e.party.key()), cert, false));
                }
            }
        }
    }
    if let Some(p) = &config.parties.params_file {
        match medpay_crypto::sealed::read_secret_file(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<medpay_activities::parties::ParamsFile>(&t).map_err(|e| e.to_string()))
        {
            Err(e) => v.push(Source {
                name: "counterparty parameters".into(),
                origin: p.display().to_string(),
                text: Err(e),
                key_only: false,
            }),
            Ok(params) => {
                for h in params.hospitals {
                    let origin = format!("{} ({})", p.display(), h.org_code);
                    // A counterparty's public key may come as an X.509 certificate; then it expires.
                    for (name, text) in [
                        ("mid-platform public key", h.mid_platform.platform_public_key),
                        ("bank public key", h.bank.bank_public_key),
                    ] {
                        let key_only = !text.contains("BEGIN CERTIFICATE");
                        v.push(Source {
                            name: format!("{} {name}", h.org_code),
                            origin: origin.clone(),
                            text: Ok(text),
                            key_only,
                        });
                    }
                    for name in ["mid-platform private key", "bank private key"] {
                        v.push(Source {
                            name: format!("{} {name}", h.org_code),
                            origin: origin.clone(),
                            text: Ok(String::new()),
                            key_only: true,
                        });
                    }
                }
            }
        }
    }
    v
}

/// The findings at `now` (Unix seconds), one per certificate (a CA bundle gives several).
pub fn check(sources: &[Source], now: i64, warn_days: i64) -> Vec<Finding> {
    let mut out = vec![];
    for s in sources {
        let finding = |subject, not_after: Option<i64>, status| Finding {
            name: s.name.clone(),
            origin: s.origin.clone(),
            subject,
            not_after,
            days_left: not_after.map(|t| (t - now).div_euclid(86_400)),
            status,
        };
        match &s.text {
            Err(e) => out.push(finding(None, None, Status::Unreadable(e.clone()))),
            Ok(_) if s.key_only => out.push(finding(None, None, Status::NoExpiry)),
            Ok(text) => match read_pem_certificates(text) {
                Err(e) => out.push(finding(None, None, Status::Unreadable(e.to_string()))),
                Ok(certs) if certs.is_empty() => {
                    out.push(finding(None, None, Status::Unreadable("no certificate in the file".into())))
                }
                Ok(certs) => {
                    for c in certs {
                        let status = if c.not_after <= now {
                            Status::Expired
                        } else if c.not_after - now < warn_days * 86_400 {
                            Status::Warn
                        } else {
                            Status::Ok
                        };
                        out.push(finding(c.subject_cn, Some(c.not_after), status));
                    }
                }
            },
        }
    }
    out
}

/// `YYYY-MM-DD` (UTC midnight) to Unix seconds.
pub fn parse_date(s: &str) -> anyhow::Result<i64> {
    let p: Vec<i64> = s
        .split('-')
        .map(|x| x.parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--at {s:?}: expected YYYY-MM-DD"))?;
    anyhow::ensure!(
        p.len() == 3 && (1..=12).contains(&p[1]) && (1..=31).contains(&p[2]),
        "--at {s:?}: expected YYYY-MM-DD"
    );
    Ok(medpay_crypto::x509::days_from_civil(p[0], p[1], p[2]) * 86_400)
}

fn date(t: i64) -> String {
    medpay_schemas::time::BeijingDate::of(t * 1000).to_string()
}

/// Prints the table; the number of expired or unreadable entries is the caller's exit status.
pub fn run(config: &Config, at: Option<&str>, warn_days: i64) -> anyhow::Result<usize> {
    let now = match at {
        Some(s) => parse_date(s)?,
        None => medpay_activities::http::now_ms() / 1000,
    };
    let findings = check(&sources(config), now, warn_days);
    println!(
        "{:<36} {:<10} {:>11} {:>9}  {:<28} source",
        "certificate or key", "status", "expires", "days left", "subject"
    );
    let mut bad = 0;
    for f in &findings {
        let status = match &f.status {
            Status::Ok => "ok".to_string(),
            Status::Warn => format!("WARN <{warn_days}d"),
            Status::Expired => "EXPIRED".into(),
            Status::NoExpiry => "key".into(),
            Status::Unreadable(_) => "UNREADABLE".into(),
        };
        bad += usize::from(matches!(f.status, Status::Expired | Status::Unreadable(_)));
        let detail = if let Status::Unreadable(e) = &f.status { format!("  ({e})") } else { String::new() };
        println!(
            "{:<36} {:<10} {:>11} {:>9}  {:<28} {}{detail}",
            f.name,
            status,
            f.not_after.map(date).unwrap_or_else(|| "-".into()),
            f.days_left.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            f.subject.clone().unwrap_or_else(|| "-".into()),
            f.origin
        );
    }
    if findings.is_empty() {
        println!("(the configuration names no certificate or key)");
    }
    Ok(bad)
}

/// The findings in the Prometheus text format, for `GET /metrics`.
pub fn metrics(findings: &[Finding], out: &mut String) {
    out.push_str("# HELP medpay_certificate_expiry_seconds When a configured certificate expires (Unix seconds).\n# TYPE medpay_certificate_expiry_seconds gauge\n");
    for f in findings.iter().filter(|f| f.not_after.is_some()) {
        out.push_str(&format!(
            "medpay_certificate_expiry_seconds{{name=\"{}\",subject=\"{}\"}} {}\n",
            label(&f.name),
            label(f.subject.as_deref().unwrap_or("")),
            f.not_after.unwrap_or(0)
        ));
    }
    out.push_str("# HELP medpay_certificate_days_left Whole days until a configured certificate expires (negative: expired).\n# TYPE medpay_certificate_days_left gauge\n");
    for f in findings.iter().filter(|f| f.days_left.is_some()) {
        out.push_str(&format!(
            "medpay_certificate_days_left{{name=\"{}\",subject=\"{}\"}} {}\n",
            label(&f.name),
            label(f.subject.as_deref().unwrap_or("")),
            f.days_left.unwrap_or(0)
        ));
    }
    out.push_str("# HELP medpay_certificate_unreadable Configured certificate files that cannot be read or parsed.\n# TYPE medpay_certificate_unreadable gauge\n");
    out.push_str(&format!(
        "medpay_certificate_unreadable {}\n",
        findings.iter().filter(|f| matches!(f.status, Status::Unreadable(_))).count()
    ));
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_source(text: &str) -> Source {
        Source { name: "t".into(), origin: "test".into(), text: Ok(text.into()), key_only: false }
    }

    #[test]
    fn expiry_is_graded_against_the_given_day() {
        // The 10-day certificate of medpay_crypto::x509's tests: valid 2026-11-26 to 2026-12-06.
        let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/expiring-cert.pem"))
            .unwrap();
        let at = |d: &str| check(&[cert_source(&pem)], parse_date(d).unwrap(), 30)[0].clone();
        assert_eq!(at("2026-10-01").status, Status::Ok);
        assert_eq!(at("2026-11-27").status, Status::Warn);
        assert_eq!(at("2026-11-27").days_left, Some(9));
        assert_eq!(at("2026-12-07").status, Status::Expired);
        assert_eq!(at("2026-12-07").days_left, Some(-1));
        let broken = check(&[cert_source("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")], 0, 30);
        assert!(matches!(broken[0].status, Status::Unreadable(_)));
        let mut m = String::new();
        metrics(&[at("2026-11-27")], &mut m);
        assert!(m.contains("medpay_certificate_days_left{name=\"t\",subject=\"medpay-test-expiring\"} 9"), "{m}");
    }
}
