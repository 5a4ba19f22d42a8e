//! Refunds end to end (REQ 6.2, X-8a): the HIS API of `medpay run` against a real Temporal dev
//! server and the sandbox. Full refunds of insurance-only, self-pay-only and mixed payments
//! return exactly what was paid, the channel is notified, concurrent identical requests make one
//! refund, bad requests get 4xx with stable codes; a bank that keeps failing puts the refund in
//! NeedsAttention until an operator decides; a 6203 EXP resolves by asking again.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::{Value, json};

const ORG: &str = SANDBOX_ORG;

fn refund(s: &Stack, body: &Value) -> (u16, Value) {
    let (status, text) = http("POST", &s.api, "/v1/refunds", Some(&body.to_string())).unwrap();
    (status, json(&text))
}

fn full_refund(s: &Stack, persona: &str, ord: &str, refund_no: &str) -> Value {
    json!({"org_code": ORG, "med_org_ord": ord, "refund_no": refund_no, "auth_code": s.auth_code(persona), "openid": "o", "reason": "patient left"})
}

#[test]
fn full_refunds_concurrency_and_bad_requests() {
    let mut s = Stack::start("refund", &[]);
    let cases = [
        ("insurance-only", "HIS-R-INS", 1_200),
        ("self-pay-only", "HIS-R-CASH", 3_456),
        ("mixed", "HIS-R-MIX", 30_000),
    ];
    let mut paid = vec![];
    for (persona, ord, fen) in cases {
        let p = s.paid(persona, ord, &[fen]);
        paid.push(poll(&s.api, &p, "paid", 5, |v| v["state"] == "Paid"));
    }

    // Bad requests first: nothing is stored.
    let (st, e) = refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-NONE", "refund_no": "RN-X"}));
    assert_eq!((st, e["code"].as_str()), (404, Some("UNKNOWN_PAYMENT")));
    let (st, e) =
        refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-CASH", "refund_no": "RN-X", "cash_fen": 3_457}));
    assert_eq!((st, e["code"].as_str()), (409, Some("EXCEEDS_REFUNDABLE")), "{e}");
    let (st, e) =
        refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-CASH", "refund_no": "RN-X", "cash_fen": -1}));
    assert_eq!((st, e["code"].as_str()), (422, Some("INVALID_REFUND")));
    assert_eq!(http("GET", &s.api, &format!("/v1/refunds/{ORG}/RN-X"), None).unwrap().0, 404);

    // Two identical requests at once: one refund.
    let body = full_refund(&s, "mixed", "HIS-R-MIX", "RN-MIX");
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2).map(|_| sc.spawn(|| refund(&s, &body).0)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 201], "one created, one the same");
    let mut other = body.clone();
    other["cash_fen"] = json!(1);
    assert_eq!(refund(&s, &other).1["code"], "REFUND_CONFLICT");
    assert_eq!(refund(&s, &full_refund(&s, "insurance-only", "HIS-R-INS", "RN-INS")).0, 201);
    assert_eq!(
        refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-CASH", "refund_no": "RN-CASH"})).0,
        201,
        "self-pay only needs no authCode"
    );
    // The worker dies mid-refund and comes back; the HIS, unsure, sends the same request again.
    // Killed once the channel authorisations are kept: a worker killed between the channel's
    // answer and keeping it loses a single-use authCode's exchange, which by design puts the
    // refund in NeedsAttention for an operator's retry with a fresh code (CI saw that race here).
    for refund_no in ["RN-INS", "RN-MIX"] {
        poll(&s.api, &format!("/v1/refunds/{ORG}/{refund_no}"), "authorised", 60, |v| {
            !v["insurance_refund_sn"].is_null() || v["state"] != "Requested"
        });
    }
    s.kill_medpay();
    s.restart_medpay();
    assert_eq!(
        refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-CASH", "refund_no": "RN-CASH"})).0,
        200,
        "the same refund"
    );

    for ((_, ord, _), (refund_no, p)) in cases.iter().zip(["RN-INS", "RN-CASH", "RN-MIX"].iter().zip(&paid)) {
        let r = poll(&s.api, &format!("/v1/refunds/{ORG}/{refund_no}"), "refunded", 60, |v| v["state"] == "Refunded");
        assert_eq!(
            (r["fund_fen"].as_i64(), r["psn_acct_fen"].as_i64(), r["cash_fen"].as_i64()),
            (p["fund_fen"].as_i64(), p["psn_acct_fen"].as_i64(), p["own_pay_fen"].as_i64()),
            "{ord}"
        );
        assert_eq!(r["notified"], true);
        let after = poll(&s.api, &format!("/v1/payments/{ORG}/{ord}"), "payment", 5, |_| true);
        assert_eq!(
            (after["refunded_fund_fen"].as_i64(), after["refunded_cash_fen"].as_i64()),
            (p["fund_fen"].as_i64(), p["own_pay_fen"].as_i64())
        );
    }
    // Nothing left: a second refund of the same payment is refused.
    let (st, e) = refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-R-CASH", "refund_no": "RN-CASH-2"}));
    assert_eq!((st, e["code"].as_str()), (409, Some("NOTHING_TO_REFUND")));

    let books = s.books();
    let count = |k: &str| books[k].as_array().unwrap().len();
    // 6203 only where there is an insurance part (REQ 6.2 step 4), the bank only where there is
    // cash (step 5), the notice for every refund (step 6).
    assert_eq!((count("mid_refunds"), count("bank_refunds"), count("refund_notices")), (2, 2, 3));
    let mix_sp = books["self_pay_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["out_trade_no"] == "SPHIS-R-MIX")
        .unwrap()
        .clone();
    assert_eq!(mix_sp["refunded"], mix_sp["total"]);
    s.record("refund-H51010500001-RN-MIX", "refund-mixed-full");
    s.stop();
}

#[test]
fn bank_failures_attention_operator_and_exp() {
    let (his, his_env) = medpay_harness::receiver::Receiver::his("refund-faults");
    let mut env = vec![("MEDPAY_REFUND_ATTENTION_AFTER_SECS", "6")];
    env.extend(his_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let s = Stack::start("refund-faults", &env);
    for ord in ["HIS-RF-BURST", "HIS-RF-DOWN", "HIS-RF-EXP", "HIS-RF-EXPF"] {
        let p = s.paid("mixed", ord, &[30_000]);
        assert!(
            poll(&s.api, &p, "paid", 5, |_| true)["own_pay_fen"].as_i64() > Some(0),
            "the bank refund needs a self-pay part"
        );
    }
    // Every second bank refund call fails: retried to one refund.
    s.faults(json!({"global": {"endpoints": {"bank.self_pay_refund": {"error_permille": 500}}}}));
    assert_eq!(refund(&s, &full_refund(&s, "mixed", "HIS-RF-BURST", "RN-BURST")).0, 201);
    poll(&s.api, &format!("/v1/refunds/{ORG}/RN-BURST"), "refunded through the 5xx burst", 60, |v| {
        v["state"] == "Refunded"
    });

    // The bank is down for good: NeedsAttention, visible in the API; an operator retries once
    // the bank is back.
    s.faults(json!({"global": {"endpoints": {"bank.self_pay_refund": {"error_permille": 1000}}}}));
    assert_eq!(refund(&s, &full_refund(&s, "mixed", "HIS-RF-DOWN", "RN-DOWN")).0, 201);
    let stuck =
        poll(&s.api, &format!("/v1/refunds/{ORG}/RN-DOWN"), "NeedsAttention", 60, |v| v["state"] == "NeedsAttention");
    assert!(stuck["attention"].as_str().unwrap().contains("Cash"), "{stuck}");
    assert_eq!(stuck["insurance_refund_status"], "SUCC", "the insurance part went back before the bank step");
    let (st, _) =
        http("POST", &s.api, &format!("/v1/refunds/{ORG}/RN-BURST/actions"), Some(r#"{"action":"retry"}"#)).unwrap();
    assert_eq!(st, 409, "a finished refund takes no operator action");
    s.faults(json!({}));
    let (st, body) =
        http("POST", &s.api, &format!("/v1/refunds/{ORG}/RN-DOWN/actions"), Some(r#"{"action":"retry"}"#)).unwrap();
    assert_eq!(st, 202, "{body}");
    poll(&s.api, &format!("/v1/refunds/{ORG}/RN-DOWN"), "refunded after the operator's retry", 60, |v| {
        v["state"] == "Refunded"
    });

    // 6203 EXP: asked again, the mid-platform resolves it (SUCC -> refunded; FAIL -> attention,
    // and the operator abandons it, which makes the money refundable again).
    s.faults(json!({"orders": {"HIS-RF-EXP": {"refund_exp": true}, "HIS-RF-EXPF": {"refund_exp": true, "exp_resolves_to": "FAIL"}}}));
    assert_eq!(refund(&s, &full_refund(&s, "mixed", "HIS-RF-EXP", "RN-EXP")).0, 201);
    assert_eq!(refund(&s, &full_refund(&s, "mixed", "HIS-RF-EXPF", "RN-EXPF")).0, 201);
    poll(&s.api, &format!("/v1/refunds/{ORG}/RN-EXP"), "EXP resolved to SUCC", 60, |v| v["state"] == "Refunded");
    let failed = poll(&s.api, &format!("/v1/refunds/{ORG}/RN-EXPF"), "EXP resolved to FAIL", 60, |v| {
        v["state"] == "NeedsAttention"
    });
    assert!(failed["attention"].as_str().unwrap().contains("FAIL"), "{failed}");
    let (st, _) = http(
        "POST",
        &s.api,
        &format!("/v1/refunds/{ORG}/RN-EXPF/actions"),
        Some(r#"{"action":"abandon","reason":"insurance centre refused; patient informed"}"#),
    )
    .unwrap();
    assert_eq!(st, 202);
    poll(&s.api, &format!("/v1/refunds/{ORG}/RN-EXPF"), "abandoned", 30, |v| v["state"] == "Abandoned");
    let p = poll(&s.api, &format!("/v1/payments/{ORG}/HIS-RF-EXPF"), "released", 5, |v| v["refunded_fund_fen"] == 0);
    assert_eq!(p["refunded_cash_fen"], 0);
    // The HIS was told of each movement: the refund
    // needing attention, its episodes apart, and how each ended.
    assert_eq!(his_events(&his, "RN-EXPF"), ["refund.requested", "refund.needs_attention", "refund.abandoned"]);
    assert_eq!(his_events(&his, "RN-DOWN"), ["refund.requested", "refund.needs_attention", "refund.refunded"]);

    let books = s.books();
    let bank_refunds = books["bank_refunds"].as_array().unwrap();
    for out in ["SPHIS-RF-BURST", "SPHIS-RF-DOWN", "SPHIS-RF-EXP"] {
        assert_eq!(
            bank_refunds.iter().filter(|r| r["out_trade_no"] == out).count(),
            1,
            "{out}: exactly one bank refund"
        );
    }
    s.record("refund-H51010500001-RN-DOWN", "refund-attention-retry");
    s.record("refund-H51010500001-RN-EXP", "refund-exp-resolved");
    s.record("refund-H51010500001-RN-EXPF", "refund-abandoned");
    s.stop();
}

/// REQ 6.2 step 3 (获取授权 from the core / mid-platform):
/// with no authCode the mid-platform authorises the refund itself, so an insurance refund needs
/// no patient action; a partial refund of both parts follows the refdType rules (HI for the
/// insurance parts, CASH for the cash, each with its own payAuthNo) instead of being refused,
/// and the rest is then one ALL. A hospital whose refunds are authorised at the channel still
/// needs the HIS's authCode.
#[test]
fn refunds_authorised_by_the_platform_and_partial_refunds_of_both_parts() {
    let prepare = |dir: &std::path::Path| {
        vec![("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), dir.join("hospitals").display().to_string())]
    };
    let (his, his_env) = medpay_harness::receiver::Receiver::his("refund-platform");
    let env: Vec<(&str, &str)> = his_env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut s = Stack::start_hospitals("refund-platform", &[], &env, &prepare);
    let p = poll(&s.api, &s.paid("mixed", "HIS-RP-MIX", &[30_000]), "paid", 5, |v| v["state"] == "Paid");
    let (fund, acct, cash) =
        (p["fund_fen"].as_i64().unwrap(), p["psn_acct_fen"].as_i64().unwrap(), p["own_pay_fen"].as_i64().unwrap());
    assert!(fund > 1_000 && cash > 500, "{p}");
    let (st, e) = refund(
        &s,
        &json!({"org_code": ORG, "med_org_ord": "HIS-RP-MIX", "refund_no": "RP-1", "fund_fen": 1_000, "cash_fen": 500}),
    );
    assert_eq!(st, 201, "no authCode, a partial refund of both parts: {e}");
    let r = poll(&s.api, &format!("/v1/refunds/{ORG}/RP-1"), "refunded", 60, |v| v["state"] == "Refunded");
    assert_eq!(
        (r["fund_fen"].as_i64(), r["cash_fen"].as_i64(), r["notified"].clone()),
        (Some(1_000), Some(500), json!(true)),
        "{r}"
    );
    assert_eq!(his_events(&his, "RP-1"), ["refund.requested", "refund.refunded"]);
    let told = poll(&s.api, &format!("/v1/refunds/{ORG}/RP-1"), "the notices in the API", 10, |v| {
        v["workflow"]["his_notices"].as_array().is_some_and(|a| a.len() == 2)
    });
    assert_eq!(told["workflow"]["his_notices"], json!(["RP-1:refund.requested:0", "RP-1:refund.refunded:0"]));
    let (st, e) = refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-RP-MIX", "refund_no": "RP-2"}));
    assert_eq!(st, 201, "the rest: {e}");
    poll(&s.api, &format!("/v1/refunds/{ORG}/RP-2"), "refunded", 60, |v| v["state"] == "Refunded");
    let after = poll(&s.api, "/v1/payments/H51010500001/HIS-RP-MIX", "payment", 5, |_| true);
    assert_eq!(
        (
            after["refunded_fund_fen"].as_i64(),
            after["refunded_psn_acct_fen"].as_i64(),
            after["refunded_cash_fen"].as_i64()
        ),
        (Some(fund), Some(acct), Some(cash))
    );
    // At the platform: HI then CASH for RP-1, one ALL-sized refund for RP-2; every payAuthNo from
    // the platform's refund authorisation, none from the channel.
    let books = s.books();
    let refunds: Vec<(i64, i64, i64)> = books["mid_refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (fen(&m["fund"]), fen(&m["acct"]), fen(&m["cash"])))
        .collect();
    assert_eq!(refunds, vec![(1_000, 0, 0), (0, 0, 500), (fund - 1_000, acct, cash - 500)], "{books}");
    let ops: Vec<String> = after["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["party"].as_str().unwrap(), e["operation"].as_str().unwrap()))
        .collect();
    assert_eq!(ops.iter().filter(|o| *o == "mid-platform refund authorisation").count(), 3, "{ops:?}");
    assert!(!ops.iter().any(|o| o.contains("(refund)")), "no channel authorisation: {ops:?}");

    // The same hospital with refunds authorised at the channel: the HIS must bring an authCode.
    let file = s.dir.join(format!("hospitals/{ORG}.toml"));
    let toml = std::fs::read_to_string(&file)
        .unwrap()
        .replace("refund_authorisation = \"platform\"", "refund_authorisation = \"channel\"");
    std::fs::write(&file, toml).unwrap();
    s.kill_medpay();
    s.restart_medpay();
    s.paid("mixed", "HIS-RP-CH", &[30_000]);
    let (st, e) = refund(&s, &json!({"org_code": ORG, "med_org_ord": "HIS-RP-CH", "refund_no": "RP-3"}));
    assert_eq!((st, e["code"].as_str()), (409, Some("AUTH_CODE_REQUIRED")), "{e}");
    let (st, e) = refund(
        &s,
        &json!({"org_code": ORG, "med_org_ord": "HIS-RP-CH", "refund_no": "RP-3", "fund_fen": 1, "cash_fen": 1, "auth_code": s.auth_code("mixed"), "openid": "o"}),
    );
    assert_eq!((st, e["code"].as_str()), (409, Some("PARTIAL_MIXED_REFUND")), "{e}");
    assert_eq!(refund(&s, &full_refund(&s, "mixed", "HIS-RP-CH", "RP-4")).0, 201);
    poll(&s.api, &format!("/v1/refunds/{ORG}/RP-4"), "refunded", 60, |v| v["state"] == "Refunded");
    s.stop();
}

/// A money field of the sandbox's books (fen, as a number or a string).
fn fen(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not fen: {v}"))
}

/// The events the HIS was told for a refund, in order, once its final notice arrived; each
/// notice's id names its event.
fn his_events(his: &medpay_harness::receiver::Receiver, refund_no: &str) -> Vec<String> {
    let of_refund = |n: &&Value| n["refund_no"] == refund_no;
    let notices = his.notices_until(&format!("the final notice of {refund_no}"), |all| {
        all.iter().filter(of_refund).any(|n| {
            ["refund.refunded", "refund.abandoned", "refund.settled_offline"]
                .contains(&n["event"].as_str().unwrap_or_default())
        })
    });
    let notices: Vec<&Value> = notices.iter().filter(of_refund).collect();
    for n in &notices {
        assert_eq!(n["notice_id"].as_str().unwrap().split(':').nth(1), n["event"].as_str(), "{n}");
    }
    notices.iter().map(|n| n["event"].as_str().unwrap().to_string()).collect()
}
