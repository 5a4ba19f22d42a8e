//! REQ SR-7a/SR-7b: the bank's word is checked before it is believed. A verified success notice
//! whose figures differ from what was ordered (the total, the cash part, the fund part, the
//! personal-account part, an "other" insurance part never ordered) never makes a payment `Paid`:
//! each is an integrity alarm (`PendingReconciliation`, `INTEGRITY_ALARM` naming the field,
//! counted for the alert). And "self-pay failed, insurance succeeded" (SR-7a) is an alarm too.

use medpay_harness::stack::{Stack, curl_json, poll};
use medpay_harness::{form_encode, http};
use serde_json::{Value, json};

/// Orders and pays a bill; the bank's own notice is lost and its query down, so the only word
/// the payment gets is the signed notice made with `overrides`.
fn alarm_for(s: &Stack, ord: &str, overrides: Value) -> Value {
    let (path, mix) = s.order("resident", ord, "outpatient", &[8_000], true);
    let mix = mix.expect("ordered");
    s.pay(&mix);
    let notice = curl_json(
        &s.ca,
        &s.sandbox_url("/sandbox/control/callbacks"),
        &json!({"mix_trade_no": mix, "overrides": overrides}),
    );
    let (status, body) =
        http("POST", &s.api, "/v1/bank/callback", Some(&form_encode(&notice["callbacks"][0]))).unwrap();
    assert_eq!(status, 200, "a verified notice is acknowledged (and judged by the workflow): {body}");
    poll(&s.api, &path, "the integrity alarm", 60, |v| {
        v["state"] == "PendingReconciliation" && v["failure"]["code"] == "INTEGRITY_ALARM"
    })
}

#[test]
fn a_success_with_other_figures_than_ordered_is_never_paid() {
    let s = Stack::start("integrity", &[]);
    s.faults(json!({"global": {"callback": {"lost": true}, "endpoints": {"bank.query": {"error_permille": 1000}}}}));
    // The resident persona's 80.00 bill: 40.00 fund, 40.00 cash, nothing from the personal account.
    let cases = [
        ("SR7B-TOTAL", json!({"total_fee": "8001"}), "total_fee 8001 (ordered 8000)"),
        ("SR7B-CASH", json!({"wechat_pay_cash_fee": "3999"}), "wechat_pay_cash_fee 3999 (ordered 4000)"),
        ("SR7B-FUND", json!({"med_ins_gov_fee": "4001"}), "med_ins_gov_fee 4001 (ordered 4000)"),
        ("SR7B-ACCT", json!({"med_ins_self_fee": "1"}), "med_ins_self_fee 1 (ordered 0)"),
        ("SR7B-OTHER", json!({"med_ins_other_fee": "5"}), "med_ins_other_fee 5 (ordered 0)"),
    ];
    for (ord, overrides, names) in &cases {
        let v = alarm_for(&s, ord, overrides.clone());
        let message = v["failure"]["message"].as_str().unwrap();
        assert!(message.contains("SR-7b") && message.contains(names), "{ord}: {message}");
        assert!(v["paid_at_ms"].is_null(), "{ord} never paid: {v}");
    }
    // SR-7a: the self-pay part failed while the insurance part succeeded.
    let v = alarm_for(
        &s,
        "SR7A-1",
        json!({"mix_pay_status": "MIX_PAY_FAIL", "self_pay_status": "SELF_PAY_FAIL", "med_ins_pay_status": "MED_INS_PAY_SUCCESS"}),
    );
    assert!(v["failure"]["message"].as_str().unwrap().contains("SR-7a"), "{v}");
    // Counted once each for the alert (MedpayIntegrityAlarm).
    let (_, metrics) = http("GET", &s.api, "/metrics", None).unwrap();
    assert!(
        metrics.contains(&format!("medpay_integrity_refusals_total {}\n", cases.len() + 1)),
        "{}",
        metrics.lines().filter(|l| l.contains("integrity")).collect::<Vec<_>>().join("\n")
    );
    // The same notice without overrides for a fresh order: paid, as before.
    s.faults(json!({}));
    let (path, mix) = s.order("resident", "SR7-GOOD", "outpatient", &[8_000], true);
    s.pay(&mix.expect("ordered"));
    let paid = poll(&s.api, &path, "paid", 60, |v| v["state"] == "Paid");
    assert!(paid["failure"].is_null(), "{paid}");
    s.stop();
}
