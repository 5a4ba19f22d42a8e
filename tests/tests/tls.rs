//! REQ T-4.3a and T-4.3c (confidentiality and integrity of messages): medpay serves its API over HTTPS itself when given a certificate — the HIS's
//! create and confirm, the status reads, and the bank's callback all arrive over TLS (the
//! sandbox bank trusts the hospital's CA, as a real bank is given it), plain HTTP to the port
//! gets no answer, and a certificate without its key is a refusal to start, never a plain API.

use medpay_harness::stack::{Stack, curl_json};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `curl` over TLS to the API: (status, JSON body).
fn https(ca: &Path, method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--max-time",
        "20",
        "--cacert",
        ca.to_str().unwrap(),
        "-X",
        method,
        "-H",
        "content-type: application/json",
        "-w",
        "\n%{http_code}",
        url,
    ]);
    if let Some(b) = body {
        c.args(["-d", &b.to_string()]);
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let body = serde_json::from_str(body)
        .unwrap_or_else(|_| json!({"curl": String::from_utf8_lossy(&out.stderr), "body": body}));
    (code.trim().parse().unwrap_or(0), body)
}

fn poll(ca: &Path, url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, v) = https(ca, "GET", url, None);
        if done(&v) {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timed out: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_api_and_the_bank_callback_over_medpays_own_https() {
    let dir = std::env::temp_dir().join(format!("medpay-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(vec![]).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "hospital test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.subject_alt_names.push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params.distinguished_name.push(rcgen::DnType::CommonName, "medpay API");
    let cert = params.signed_by(&key, &rcgen::Issuer::from_params(&ca_params, &ca_key)).unwrap();
    let (ca_file, cert_file, key_file) = (dir.join("hospital-ca.pem"), dir.join("api.pem"), dir.join("api.key"));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();

    let tls = [
        ("MEDPAY_API_TLS_CERT_FILE", cert_file.to_str().unwrap()),
        ("MEDPAY_API_TLS_KEY_FILE", key_file.to_str().unwrap()),
    ];
    // The bank calls back over HTTPS (the Stack's callback URL is rewritten below).
    let prepare = |_: &Path| vec![];
    let mut s = Stack::start_hospitals("tls", &["--callback-ca", ca_file.to_str().unwrap()], &tls, &prepare);
    s.kill_medpay();
    let base = format!("https://{}", s.api);
    s.set_env("MEDPAY_CALLBACK_URL", &format!("{base}/v1/bank/callback"));
    s.restart_medpay();
    let (status, health) = https(&ca_file, "GET", &format!("{base}/healthz"), None);
    assert_eq!(status, 200, "{health}");
    let plain =
        Command::new("curl").args(["-sS", "--max-time", "5", &format!("http://{}/healthz", s.api)]).output().unwrap();
    assert!(!plain.status.success(), "plain HTTP must get no answer from the TLS port");

    let code = curl_json(&s.ca, &s.sandbox_url("/sandbox/patient/authorize"), &json!({"persona": "mixed"}))["authCode"]
        .clone();
    let mut body = json!({"org_code": "H51010500001", "med_org_ord": "TLS-1", "scene": "outpatient", "auth_code": code, "openid": "o",
                          "lines": [{"code": "L0", "name": "项目", "amount_fen": 8_800}]});
    medpay_schemas::bill::sample::complete(&mut body);
    assert_eq!(https(&ca_file, "POST", &format!("{base}/v1/payments"), Some(&body)).0, 201);
    let path = format!("{base}/v1/payments/H51010500001/TLS-1");
    poll(&ca_file, &path, |v| v["state"] == "PreSettled");
    assert_eq!(https(&ca_file, "POST", &format!("{path}/confirm"), Some(&json!({"confirm": true}))).0, 202);
    let ordered = poll(&ca_file, &path, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
    let mix = ordered["workflow"]["cashier"]["mix_trade_no"].as_str().unwrap().to_string();
    s.pay(&mix);
    let paid = poll(&ca_file, &path, |v| v["state"] == "Paid");
    assert_eq!(paid["workflow"]["settled_by"], "callback", "the bank's callback reached medpay over HTTPS: {paid}");

    // A certificate without its key: medpay refuses to start, naming both settings.
    let out = Command::new(medpay_harness::medpay_bin())
        .arg("run")
        .envs(s.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("MEDPAY_API_LISTEN", "127.0.0.1:1")
        .env_remove("MEDPAY_API_TLS_KEY_FILE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("api.tls_cert_file and api.tls_key_file go together"), "{text}");
    s.stop();
    std::fs::remove_dir_all(&dir).ok();
}
