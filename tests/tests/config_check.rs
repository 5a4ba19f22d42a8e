//! `medpay config check [--online]`: against the split-party
//! sandbox (each party on its own listener with its own CA, the mid-platform requiring a client
//! certificate) serving two hospitals it says `ok` for every party of both; each planted
//! misconfiguration (a key pair that does not match, an expired CA, another party's CA, a missing
//! client certificate, a wrong URL, an unreachable host, a misspelt key) gets a precise FAILED
//! line naming the hospital, the party and what to do, and a non-zero exit.

use medpay_harness::{Proc, free_port, medpay_bin, sandbox_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Sandbox {
    _proc: Proc,
    dir: PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = std::env::temp_dir().join(format!("medpay-config-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let listen = format!("127.0.0.1:{}", free_port());
    let mut proc = Proc::spawn(Command::new(sandbox_bin()).args([
        "--listen",
        &listen,
        "--data-dir",
        dir.to_str().unwrap(),
        "--hospitals",
        "2",
        "--split-parties",
    ]));
    proc.wait_for_line("personas", Duration::from_secs(30));
    Sandbox { _proc: proc, dir }
}

/// A copy of the sandbox's hospital files, changed by `edit` (org code -> its TOML).
fn variant(s: &Sandbox, name: &str, edit: impl Fn(&str, &mut toml::Table)) -> PathBuf {
    let out = s.dir.join(format!("variant-{name}"));
    std::fs::create_dir_all(&out).unwrap();
    for org in ["H51010500001", "H51010500002"] {
        let mut t: toml::Table =
            toml::from_str(&std::fs::read_to_string(s.dir.join(format!("hospitals/{org}.toml"))).unwrap()).unwrap();
        edit(org, &mut t);
        std::fs::write(out.join(format!("{org}.toml")), toml::to_string(&t).unwrap()).unwrap();
    }
    out
}

fn check(dir: &Path) -> (bool, String) {
    let out = Command::new(medpay_bin())
        .args(["config", "check", "--online"])
        .env("MEDPAY_PARTIES_HOSPITALS_DIR", dir)
        .env_remove("MEDPAY_PARTIES_PARAMS_FILE")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The report's line for a hospital and a check.
fn line<'a>(report: &'a str, org: &str, what: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(org) && l.contains(what))
        .unwrap_or_else(|| panic!("no {org} {what} line in:\n{report}"))
}

fn set(t: &mut toml::Table, party: &str, key: &str, value: &str) {
    t[party].as_table_mut().unwrap().insert(key.into(), toml::Value::String(value.into()));
}

#[test]
fn config_check_says_ok_for_a_good_configuration_and_names_each_mistake() {
    let s = sandbox();
    let (ok, report) = check(&s.dir.join("hospitals"));
    assert!(ok, "{report}");
    for org in ["H51010500001", "H51010500002"] {
        for party in ["channel", "core", "mid_platform", "bank"] {
            assert!(line(&report, org, &format!("{party} online")).contains(" ok "), "{report}");
        }
        assert!(line(&report, org, "bank key pair").contains(" ok "), "{report}");
    }
    assert!(report.contains("2 hospital(s)") && report.contains(", 0 failed"), "{report}");

    // A key pair that does not match: hospital 1's bank key replaced by hospital 2's.
    let credentials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.join("credentials.json")).unwrap()).unwrap();
    let mut swapped = credentials.clone();
    swapped["hospitals"][0]["bank"]["hospital_private_key"] =
        credentials["hospitals"][1]["bank"]["hospital_private_key"].clone();
    let swapped_file = s.dir.join("swapped-credentials.json");
    std::fs::write(&swapped_file, swapped.to_string()).unwrap();
    let dir = variant(&s, "keys", |_, t| {
        drop(t.insert("credentials_file".into(), toml::Value::String(swapped_file.display().to_string())))
    });
    let (ok, report) = check(&dir);
    assert!(!ok, "{report}");
    assert!(
        line(&report, "H51010500001", "bank key pair").contains("FAILED")
            && report.contains("does NOT match the public key registered"),
        "{report}"
    );
    assert!(line(&report, "H51010500001", "bank online").contains("refused our request (4001"), "{report}");
    assert!(
        line(&report, "H51010500002", "bank online").contains(" ok "),
        "the other hospital is unaffected: {report}"
    );

    // An expired CA for the core.
    let expired = s.dir.join("expired-ca.pem");
    let mut params = rcgen::CertificateParams::new(vec!["expired.example".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    std::fs::write(&expired, params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap().pem()).unwrap();
    let dir = variant(&s, "expired", |org, t| {
        if org == "H51010500002" {
            set(t, "core", "ca", expired.to_str().unwrap())
        }
    });
    let (ok, report) = check(&dir);
    assert!(!ok);
    assert!(line(&report, "H51010500002", "core CA").contains("has EXPIRED"), "{report}");
    assert!(line(&report, "H51010500002", "core online").contains("FAILED"), "{report}");

    // A wrong URL (a path the mid-platform does not serve) and an unreachable host.
    let dir = variant(&s, "urls", |org, t| {
        if org == "H51010500001" {
            let base = t["mid_platform"]["base_url"].as_str().unwrap().replace("/mid", "/nothing-here");
            set(t, "mid_platform", "base_url", &base);
            set(t, "bank", "base_url", &format!("https://127.0.0.1:{}/bank", free_port()));
        }
    });
    let (ok, report) = check(&dir);
    assert!(!ok);
    assert!(
        line(&report, "H51010500001", "mid_platform online").contains("check base_url")
            || line(&report, "H51010500001", "mid_platform online").contains("wrong base_url"),
        "{report}"
    );
    assert!(line(&report, "H51010500001", "bank online").contains("cannot reach https://127.0.0.1:"), "{report}");

    // The mid-platform without the client certificate it requires; the bank with another party's CA.
    let dir = variant(&s, "tls", |org, t| {
        if org == "H51010500001" {
            let mid = t["mid_platform"].as_table_mut().unwrap();
            mid.remove("client_cert");
            mid.remove("client_key");
            let core_ca = t["core"]["ca"].as_str().unwrap().to_string();
            set(t, "bank", "ca", &core_ca);
        }
    });
    let (ok, report) = check(&dir);
    assert!(!ok);
    assert!(line(&report, "H51010500001", "mid_platform online").contains("requires a client certificate"), "{report}");
    assert!(line(&report, "H51010500001", "bank online").contains("the configured `ca` does not trust"), "{report}");
    assert!(line(&report, "H51010500002", "mid_platform online").contains(" ok "), "{report}");

    // A misspelt key: that hospital's file is refused by name, the other is still checked.
    let dir = variant(&s, "typo", |org, t| {
        if org == "H51010500002" {
            set(t, "bank", "bse_url", "https://x")
        }
    });
    let (ok, report) = check(&dir);
    assert!(!ok);
    assert!(report.contains("H51010500002.toml") && report.contains("unknown field `bse_url`"), "{report}");
    assert!(line(&report, "H51010500001", "bank online").contains(" ok "), "{report}");
    let _ = std::fs::remove_dir_all(&s.dir);
}
