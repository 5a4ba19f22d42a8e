//! Many hospitals in one deployment: one medpay serving
//! two hospitals configured by per-hospital files, against a sandbox that issued each its own
//! keys, appIds and merchant ids and serves each party on its own listener with its own CA (the
//! mid-platform requiring the hospital's client certificate). Interleaved payments settle to the fen for each; a bank notice
//! signed with one hospital's credentials for the other's order is refused and counted; one
//! hospital's API key reaches none of the other's payments; a hospital added to the directory is
//! served after a restart, and a broken hospital file is refused by name without taking the
//! others down.

use medpay_harness::stack::{Stack, curl_json};
use medpay_harness::{form_encode, http, http_with, json};
use serde_json::{Value, json};
use std::path::Path;

const H1: &str = medpay_harness::SANDBOX_ORG;
const H2: &str = "H51010500002";
const KEY1: &str = "hospital-one-key-0123456789";
const KEY2: &str = "hospital-two-key-0123456789";

fn auth(org: &str) -> String {
    format!("Authorization: Bearer {}", if org == H1 { KEY1 } else { KEY2 })
}

fn call(s: &Stack, key_of: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, text) =
        http_with(method, &s.api, path, body.map(Value::to_string).as_deref(), &[&auth(key_of)]).unwrap();
    (status, if text.trim().is_empty() { Value::Null } else { json(&text) })
}

/// Creates, confirms and pays one payment of `org` (WeChat); returns the mixed order no.
fn pay(s: &Stack, org: &str, ord: &str, fen: i64) -> String {
    pay_in(s, "wechat", org, ord, fen)
}

/// The same, authorised in `channel`.
fn pay_in(s: &Stack, channel: &str, org: &str, ord: &str, fen: i64) -> String {
    let code = s.auth_code_in(channel, "mixed");
    let mut body = json!({"org_code": org, "med_org_ord": ord, "scene": "outpatient", "channel": channel, "auth_code": code, "openid": "o", "use_personal_account": false,
                      "lines": [{"code": "C1", "name": "检查", "amount_fen": fen}]});
    medpay_schemas::bill::sample::complete(&mut body);
    let (status, created) = call(s, org, "POST", "/v1/payments", Some(&body));
    assert_eq!(status, 201, "{created}");
    let path = format!("/v1/payments/{org}/{ord}");
    let wait = |state: &str| wait_state(s, org, &path, state);
    wait("PreSettled");
    assert_eq!(call(s, org, "POST", &format!("{path}/confirm"), Some(&json!({"confirm": true}))).0, 202);
    let ordered = wait("Ordered");
    let mix = ordered["mix_trade_no"].as_str().expect("mix_trade_no").to_string();
    curl_json(&s.ca, &s.sandbox_url("/sandbox/patient/pay"), &json!({"mix_trade_no": mix}));
    mix
}

/// The payment's ledger row once it reaches `state` (read with the hospital's own key).
fn wait_state(s: &Stack, org: &str, path: &str, state: &str) -> Value {
    for _ in 0..240 {
        let (_, v) = call(s, org, "GET", &format!("{path}?view=false&exchanges=false"), None);
        if v["state"] == state {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("{path} did not reach {state}");
}

fn keys_file(dir: &Path) -> String {
    let f = dir.join("api-keys");
    std::fs::write(&f, format!("{H1}={KEY1}\n{H2}={KEY2}\n")).unwrap();
    f.display().to_string()
}

#[test]
fn two_hospitals_one_deployment() {
    // medpay serves the directory `served/`: hospital 1 and a broken file at first.
    let prepare = |dir: &Path| {
        let served = dir.join("served");
        std::fs::create_dir_all(&served).unwrap();
        std::fs::copy(dir.join(format!("hospitals/{H1}.toml")), served.join(format!("{H1}.toml"))).unwrap();
        std::fs::write(served.join("H51010509999.toml"), "org_code = \"H51010509999\"\nnot_a_key = 1\n").unwrap();
        vec![
            ("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), served.display().to_string()),
            ("MEDPAY_API_KEYS_FILE".to_string(), keys_file(dir)),
        ]
    };
    let mut s = Stack::start_hospitals("hospitals", &["--hospitals", "2", "--split-parties"], &[], &prepare);
    // The broken file is refused by name at start (and shown to monitoring); hospital 1 is served.
    let (_, metrics) = http("GET", &s.api, "/metrics", None).unwrap();
    assert!(
        metrics.contains("medpay_hospitals_served 1\n")
            && metrics.contains("medpay_hospital_config_refused{hospital=\"H51010509999.toml\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("certificate_expiry_seconds{{name=\"{H1} bank CA\"")),
        "each hospital's CA is watched: {metrics}"
    );
    let mix = pay(&s, H1, "MANY-A-0", 1000);
    wait_state(&s, H1, &format!("/v1/payments/{H1}/MANY-A-0"), "Paid");
    let mut unconfigured = json!({"org_code": H2, "med_org_ord": "MANY-B-0", "scene": "outpatient", "auth_code": "x", "openid": "o", "lines": [{"code": "C", "name": "n", "amount_fen": 1}]});
    medpay_schemas::bill::sample::complete(&mut unconfigured);
    let (status, body) = call(&s, H2, "POST", "/v1/payments", Some(&unconfigured));
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("UNKNOWN_HOSPITAL")),
        "hospital 2 is not configured yet: {body}"
    );
    drop(mix);

    // Hospital 2's file is added; after a restart both are served, with nothing else changed.
    std::fs::copy(s.dir.join(format!("hospitals/{H2}.toml")), s.dir.join(format!("served/{H2}.toml"))).unwrap();
    s.kill_medpay();
    s.restart_medpay();

    // Interleaved payments of both hospitals, through both channels, settle each to the fen.
    let amounts = [(H1, 1234), (H2, 2345), (H1, 3456), (H2, 4567), (H1, 5678), (H2, 6789)];
    let mut mixes = vec![];
    for (i, (org, fen)) in amounts.iter().enumerate() {
        let channel = if i % 4 < 2 { "wechat" } else { "alipay" };
        mixes.push((org, pay_in(&s, channel, org, &format!("MANY-{i}"), *fen)));
    }
    for (i, (org, fen)) in amounts.iter().enumerate() {
        let v = wait_state(&s, org, &format!("/v1/payments/{org}/MANY-{i}"), "Paid");
        assert_eq!(v["total_fen"], json!(fen));
        assert_eq!(
            v["fund_fen"].as_i64().unwrap() + v["psn_acct_fen"].as_i64().unwrap() + v["own_pay_fen"].as_i64().unwrap(),
            *fen,
            "{v}"
        );
    }
    // The bank's books agree: each order with its own hospital's merchant, the same amounts.
    let books = s.books();
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.join("credentials.json")).unwrap()).unwrap();
    let sub_mchid = |org: &str| {
        credentials["hospitals"].as_array().unwrap().iter().find(|h| h["org_code"] == org).unwrap()["bank"]["sub_mchid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(sub_mchid(H1), sub_mchid(H2));
    for (org, mix) in &mixes {
        let order = books["mixed_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["mix_trade_no"] == mix.as_str())
            .expect("the bank has the order");
        assert_eq!(order["org_code"], json!(org), "{order}");
        assert_eq!(order["sub_mchid"], json!(sub_mchid(org)), "{order}");
    }

    // A notice signed with hospital 1's bank credentials about hospital 2's order: refused, counted.
    let (_, h2_mix) = mixes.iter().find(|(o, _)| **o == H2).unwrap();
    let forged =
        curl_json(&s.ca, &s.sandbox_url("/sandbox/control/callbacks"), &json!({"mix_trade_no": h2_mix, "as_org": H1}));
    let (status, text) =
        http("POST", &s.api, "/v1/bank/callback", Some(&form_encode(&forged["callbacks"][0]))).unwrap();
    assert_eq!(status, 401, "{text}");
    let (_, metrics) = http("GET", &s.api, "/metrics", None).unwrap();
    assert!(
        metrics.contains("medpay_forged_callbacks_total 1\n"),
        "counted: {}",
        metrics.lines().filter(|l| l.contains("forged")).collect::<Vec<_>>().join("\n")
    );

    // Hospital 1's key reaches none of hospital 2's payments: read, confirm, cancel, refund, reconcile.
    let other = format!("/v1/payments/{H2}/MANY-1");
    for (method, path, body) in [
        ("GET", other.clone(), None),
        ("POST", format!("{other}/confirm"), Some(json!({"confirm": true}))),
        ("POST", format!("{other}/cancel"), None),
        ("POST", "/v1/refunds".to_string(), Some(json!({"org_code": H2, "med_org_ord": "MANY-1", "refund_no": "R-X"}))),
        (
            "POST",
            "/v1/reconciliations".to_string(),
            Some(json!({"kind": "selfpay", "org_code": H2, "period": "2026-12-04"})),
        ),
    ] {
        let (status, v) = call(&s, H1, method, &path, body.as_ref());
        assert_eq!((status, v["code"].clone()), (403, json!("FORBIDDEN_ORG")), "{method} {path}: {v}");
    }
    s.stop();
}

/// REQ S-4.1b at the bank: with `[bank.profile.encrypt]` the payer's fields never travel in clear.
/// The sandbox bank requires it (and refuses clear business fields); a payment is paid end to end
/// (orders, callback, query all encrypted), and no bank request on the wire carries JSON in clear.
#[test]
fn the_bank_business_fields_travel_encrypted() {
    let prepare =
        |dir: &Path| vec![("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), dir.join("hospitals").display().to_string())];
    let wire = std::env::temp_dir().join(format!("medpay-wire-{}", std::process::id()));
    let s = Stack::start_hospitals("encrypt", &["--bank-encrypt", "--record", wire.to_str().unwrap()], &[], &prepare);
    let toml = std::fs::read_to_string(s.dir.join(format!("hospitals/{H1}.toml"))).unwrap();
    assert!(toml.contains("[bank.profile.encrypt]"), "{toml}");
    let (path, mix) = s.order("mixed", "ENC-1", "outpatient", &[8_800], true);
    s.pay(&mix.expect("ordered"));
    let paid = medpay_harness::stack::poll(&s.api, &path, "paid", 60, |v| v["state"] == "Paid");
    assert_eq!(paid["total_fen"], 8800);
    let mut bank_requests = 0;
    for f in std::fs::read_dir(&wire).unwrap().filter_map(Result::ok) {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        if text.contains("POST /bank/") {
            bank_requests += 1;
            assert!(text.contains("encrypt_type=SM4"), "{text}");
            let body = text.split("\n\n").nth(1).unwrap_or_default();
            assert!(!body.contains("%22") && !body.contains('"'), "business fields in clear: {body}");
        }
    }
    assert!(bank_requests >= 1, "the mixed order was recorded");
    // The same hospital configured without encryption: the bank refuses its clear fields, and
    // `medpay config check --online` says so.
    let mut t: toml::Table = toml::from_str(&toml).unwrap();
    t["bank"].as_table_mut().unwrap()["profile"].as_table_mut().unwrap().remove("encrypt");
    let clear = s.dir.join("clear");
    std::fs::create_dir_all(&clear).unwrap();
    std::fs::write(clear.join(format!("{H1}.toml")), toml::to_string(&t).unwrap()).unwrap();
    let out = std::process::Command::new(medpay_harness::medpay_bin())
        .args(["config", "check", "--online"])
        .env("MEDPAY_PARTIES_HOSPITALS_DIR", &clear)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.lines().any(|l| l.contains("bank online") && l.contains("FAILED") && l.contains("4003")),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&wire);
    s.stop();
}

/// Each hospital's reconciliation reads only its own statement, from the SFTP server its own file
/// names: the same day reconciled for two hospitals is two runs, each matching exactly its own
/// payments.
#[test]
fn each_hospital_reconciles_only_its_own_statement() {
    // Each hospital names its own SFTP server and layout in its file; the deployment's own
    // server setting points nowhere, so only the hospitals' settings can fetch anything.
    let prepare = |dir: &Path| {
        let served = dir.join("served");
        std::fs::create_dir_all(&served).unwrap();
        let known_hosts = dir.join("sftp/ssh/known_hosts");
        let line = std::fs::read_to_string(&known_hosts).unwrap();
        let port = line
            .split("]:")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse::<u16>().ok())
            .expect("the SFTP port in known_hosts");
        for org in [H1, H2] {
            let mut t: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join(format!("hospitals/{org}.toml"))).unwrap()).unwrap();
            let statements: toml::Table = toml::from_str(&format!(
                "[sftp]\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"medpaysftp\"\nkey_file = \"{}\"\nknown_hosts = \"{}\"\n[selfpay]\nencoding = \"utf-8\"\ndelimiter = \"|\"\n",
                dir.join("sftp/ssh/client_key").display(),
                known_hosts.display()
            ))
            .unwrap();
            t.insert("statements".into(), toml::Value::Table(statements));
            std::fs::write(served.join(format!("{org}.toml")), toml::to_string(&t).unwrap()).unwrap();
        }
        vec![
            ("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), served.display().to_string()),
            ("MEDPAY_RECON_SFTP_PORT".to_string(), "1".to_string()),
        ]
    };
    let s = Stack::start_hospitals_sftp("recon-many", &["--hospitals", "2"], &prepare);
    let day = medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string();
    // Self-pay parts: hospital 1 one payment of 11.00, hospital 2 two of 22.00 and 33.00.
    for (org, ord, fen) in [(H1, "RM-1", 1_100), (H2, "RM-2", 2_200), (H2, "RM-3", 3_300)] {
        pay(&s, org, ord, fen);
        wait_state(&s, org, &format!("/v1/payments/{org}/{ord}"), "Paid");
    }
    let files =
        curl_json(&s.ca, &s.sandbox_url("/sandbox/control/statements"), &json!({"kind": "selfpay", "period": day}));
    assert_eq!(files["files"].as_array().map(Vec::len), Some(2), "one statement per merchant: {files}");
    for org in [H1, H2] {
        let (status, v) = call(
            &s,
            org,
            "POST",
            "/v1/reconciliations",
            Some(&json!({"kind": "selfpay", "org_code": org, "period": day})),
        );
        assert_eq!(status, 202, "{v}");
    }
    let report = |org: &str| {
        for _ in 0..240 {
            let (_, v) = call(&s, org, "GET", &format!("/v1/reconciliations/selfpay/{org}/{day}"), None);
            if v["state"] == "Reported" {
                return v;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        panic!("{org}'s reconciliation did not report");
    };
    let (r1, r2) = (report(H1), report(H2));
    assert_ne!(r1["run_id"], r2["run_id"], "two runs");
    let matched =
        |r: &Value| (r["summary"]["classes"]["MATCHED"]["count"].as_u64(), r["exceptions"].as_array().map(Vec::len));
    assert_eq!(matched(&r1), (Some(1), Some(0)), "{r1}");
    assert_eq!(matched(&r2), (Some(2), Some(0)), "{r2}");
    s.stop();
}

/// A bank that writes its self-pay statement in GBK in its own layout (a tenth column, a memo
/// in Chinese): the hospital's file says so, the day
/// reconciles end to end to the classes its UTF-8 twin would give — the payments matched, the
/// refund matched, no exception — and the file on the wire is GBK, not UTF-8.
#[test]
fn a_gbk_statement_in_the_banks_own_layout_reconciles_end_to_end() {
    let prepare =
        |dir: &Path| vec![("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), dir.join("hospitals").display().to_string())];
    let s = Stack::start_hospitals_sftp("recon-gbk", &["--statements-gbk"], &prepare);
    let toml = std::fs::read_to_string(s.dir.join(format!("hospitals/{H1}.toml"))).unwrap();
    assert!(toml.contains("encoding = \"gbk\"") && toml.contains("count = 10"), "{toml}");
    let day = medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string();
    for (ord, fen) in [("GBK-1", 1_100), ("GBK-2", 2_200)] {
        pay(&s, H1, ord, fen);
        wait_state(&s, H1, &format!("/v1/payments/{H1}/{ord}"), "Paid");
    }
    let (status, v) = call(
        &s,
        H1,
        "POST",
        "/v1/refunds",
        Some(&json!({"org_code": H1, "med_org_ord": "GBK-2", "refund_no": "GBK-R", "cash_fen": 500})),
    );
    assert_eq!(status, 201, "{v}");
    wait_state(&s, H1, &format!("/v1/refunds/{H1}/GBK-R"), "Refunded");
    let files =
        curl_json(&s.ca, &s.sandbox_url("/sandbox/control/statements"), &json!({"kind": "selfpay", "period": day}));
    let file = files["files"][0].as_str().unwrap().to_string();
    let bytes = std::fs::read(s.dir.join("sftp/statements").join(&file)).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "the statement is GBK, not UTF-8");
    let (memo, _, _) = encoding_rs::GBK.encode("门诊缴费");
    assert!(bytes.windows(memo.len()).any(|w| w == &memo[..]), "the memo column is there in GBK");
    assert_eq!(
        call(&s, H1, "POST", "/v1/reconciliations", Some(&json!({"kind": "selfpay", "org_code": H1, "period": day}))).0,
        202
    );
    let mut report = Value::Null;
    for _ in 0..240 {
        report = call(&s, H1, "GET", &format!("/v1/reconciliations/selfpay/{H1}/{day}"), None).1;
        if report["state"] == "Reported" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let class = |c: &str| report["summary"]["classes"][c]["count"].as_u64();
    assert_eq!(
        (class("MATCHED"), class("REFUND_MATCHED"), report["exceptions"].as_array().map(Vec::len)),
        (Some(2), Some(1), Some(0)),
        "{report}"
    );
    assert_eq!(report["summary"]["loaded"]["rejected"], 0, "{report}");
    s.stop();
}
