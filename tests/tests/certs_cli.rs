//! `medpay certs check` as an operator runs it (REQ T-4.3d): the configured certificates with
//! expiry and days left, a warning inside 30 days, a failing exit for an expired or unreadable
//! one. The fixture was made with `openssl req -x509 -days 10` (valid 2026-11-26 .. 2026-12-06).

use medpay_harness::medpay_bin;
use std::process::Command;

fn check(ca_file: &str, at: &str) -> (bool, String) {
    let out = Command::new(medpay_bin())
        .args(["certs", "check", "--at", at])
        .env("MEDPAY_PARTIES_CA_FILE", ca_file)
        .env("MEDPAY_HIS_CA_FILE", concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/expiring-cert.pem"))
        .env_remove("MEDPAY_PARTIES_PARAMS_FILE")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn expiry_is_listed_warned_and_fails_the_check_once_past() {
    let cert = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/expiring-cert.pem");
    let (ok, out) = check(cert, "2026-10-01");
    assert!(ok, "{out}");
    assert!(
        out.contains("parties TLS trust (CA)") && out.contains("HIS TLS trust (CA)") && out.contains("2026-12-07"),
        "both certificates listed with their expiry (Beijing date): {out}"
    );
    let (ok, out) = check(cert, "2026-11-27");
    assert!(ok, "a warning does not fail the check: {out}");
    assert!(
        out.lines().filter(|l| l.contains("WARN") && l.contains(" 9 ") && l.contains("medpay-test-expiring")).count()
            == 2,
        "{out}"
    );
    let (ok, out) = check(cert, "2026-12-07");
    assert!(!ok && out.contains("EXPIRED") && out.contains("2 certificate(s) expired or unreadable"), "{out}");
    let (ok, out) = check("/nonexistent/ca.pem", "2026-10-01");
    assert!(!ok && out.contains("UNREADABLE") && out.contains("/nonexistent/ca.pem"), "{out}");
}
