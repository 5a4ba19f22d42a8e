//! The bank's orders per the channel's rules: the payer's
//! ID digest by the hospital's configured algorithm (MD5 as the channels document), the relative
//! flag from the authorisation, the patient's entry as `access_type`, the order's creation time,
//! and `med_ins_test_env` from the hospital's stage (REQ O-5: true during the joint test only).
//! The sandbox bank checks each as the channel would (WeChat's 268545961 for the payer's binding).

use medpay_harness::http;
use medpay_harness::stack::{Stack, curl_json, poll};
use serde_json::{Value, json};
use std::path::Path;

const H1: &str = medpay_harness::SANDBOX_ORG;

fn relative_payment(s: &Stack, ord: &str) -> String {
    let code = curl_json(
        &s.ca,
        &s.sandbox_url("/sandbox/patient/authorize"),
        &json!({"persona": "relative-payer", "for_relative": true}),
    )["authCode"]
        .clone();
    let mut body = json!({"org_code": H1, "med_org_ord": ord, "scene": "outpatient", "access": "official_account", "auth_code": code, "openid": "o",
                      "lines": [{"code": "L0", "name": "项目", "amount_fen": 8_000}]});
    medpay_schemas::bill::sample::complete(&mut body);
    let (status, created) = http("POST", &s.api, "/v1/payments", Some(&body.to_string())).unwrap();
    assert_eq!(status, 201, "{created}");
    format!("/v1/payments/{H1}/{ord}")
}

fn edit_hospital(s: &Stack, edit: impl Fn(&mut toml::Table)) {
    let file = s.dir.join(format!("hospitals/{H1}.toml"));
    let mut t: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edit(&mut t);
    std::fs::write(&file, toml::to_string(&t).unwrap()).unwrap();
}

fn failed_at_the_bank(s: &Stack, path: &str) -> Value {
    poll(&s.api, path, "the pre-settlement", 60, |v| v["state"] == "PreSettled");
    assert_eq!(http("POST", &s.api, &format!("{path}/confirm"), Some(r#"{"confirm":true}"#)).unwrap().0, 202);
    let v = poll(&s.api, path, "failed", 60, |v| v["state"] == "Failed");
    assert_eq!(v["failure"]["code"], "BANK_ORDER_REFUSED", "{v}");
    v
}

#[test]
fn bank_orders_carry_the_payers_binding_the_entry_and_the_stage() {
    let prepare =
        |dir: &Path| vec![("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), dir.join("hospitals").display().to_string())];
    let mut s = Stack::start_hospitals("bank-orders", &["--joint-test"], &[], &prepare);
    let toml = std::fs::read_to_string(s.dir.join(format!("hospitals/{H1}.toml"))).unwrap();
    assert!(toml.contains("stage = \"joint_test\"") && toml.contains("id_digest = \"md5\""), "{toml}");

    // Joint test, MD5 digest, paying for a relative from the official account: accepted and paid.
    let path = relative_payment(&s, "BO-1");
    let mix = s.confirm(&path, true).expect("ordered");
    assert_eq!(s.pay(&mix)["mix_pay_status"], "MIX_PAY_SUCCESS");
    poll(&s.api, &path, "paid", 60, |v| v["state"] == "Paid");
    let books = s.books();
    let mixed = books["mixed_orders"].as_array().unwrap().iter().find(|o| o["serial_no"] == "BO-1").unwrap().clone();
    assert_eq!(
        (mixed["pay_for_relatives"].clone(), mixed["med_ins_test_env"].clone()),
        (json!(true), json!(true)),
        "{mixed}"
    );
    let own =
        books["self_pay_orders"].as_array().unwrap().iter().find(|o| o["out_trade_no"] == "SPBO-1").unwrap().clone();
    assert_eq!(own["access_type"], "7", "WeChat's official account: {own}");

    // The same hospital put to production while the parties are still the test environment:
    // the order says med_ins_test_env=false and the joint-test bank refuses it.
    edit_hospital(&s, |t| {
        t.insert("stage".into(), "production".into());
    });
    s.kill_medpay();
    s.restart_medpay();
    let path = relative_payment(&s, "BO-2");
    let v = failed_at_the_bank(&s, &path);
    assert!(v["failure"]["message"].as_str().unwrap().contains("med_ins_test_env must be true"), "{v}");

    // Back to the joint test with the SM3 digest (what medpay sent before the rule was the
    // hospital's): the payer's binding does not match, as WeChat's 268545961 says.
    edit_hospital(&s, |t| {
        t.insert("stage".into(), "joint_test".into());
        t["bank_orders"].as_table_mut().unwrap().insert("id_digest".into(), "sm3".into());
    });
    s.kill_medpay();
    s.restart_medpay();
    let path = relative_payment(&s, "BO-3");
    let v = failed_at_the_bank(&s, &path);
    assert_eq!(v["failure"]["party_code"], "268545961", "{v}");
    assert!(v["failure"]["message"].as_str().unwrap().contains("payer_id_digest"), "{v}");
    s.stop();
}

/// Issue "Business completeness" item 6: a bank that also notifies the self-pay order's payment
/// (to the order's `mer_url`, which is medpay's callback endpoint) has that notice verified,
/// recorded in the payment's exchange log, checked against the self-pay part and acknowledged —
/// not refused as forged, which left the bank repeating it and the forged-callback alarm firing.
/// The payment itself is settled by the mixed order's callback (REQ SR-7b).
#[test]
fn a_self_pay_notice_is_recorded_and_acknowledged_not_taken_for_a_forgery() {
    let s = Stack::start_hospitals("selfpay-notice", &["--selfpay-notices"], &[], &|_: &Path| vec![]);
    let path = s.paid("resident", "SPN-1", &[8_000]);
    let paid = poll(&s.api, &path, "the self-pay notice recorded", 30, |v| {
        v["exchanges"].as_array().unwrap().iter().any(|e| e["operation"] == "self-pay notice")
    });
    let notice =
        paid["exchanges"].as_array().unwrap().iter().find(|e| e["operation"] == "self-pay notice").unwrap().clone();
    assert_eq!((notice["outcome"].clone(), notice["signature_ok"].clone()), (json!("ok"), json!(true)), "{notice}");
    assert_eq!(paid["workflow"]["settled_by"], "callback", "{paid}");
    let books = s.books();
    let attempts: Vec<&Value> =
        books["callbacks"].as_array().unwrap().iter().filter(|c| c["mix_trade_no"] == "selfpay:SPSPN-1").collect();
    assert!(
        !attempts.is_empty() && attempts.iter().all(|c| c["acknowledged"] == true),
        "the bank got its acknowledgement: {attempts:?}"
    );
    let (_, metrics) = http("GET", &s.api, "/metrics", None).unwrap();
    assert!(metrics.lines().any(|l| l == "medpay_forged_callbacks_total 0"), "no notice was taken for a forgery");
    s.stop();
}
