//! Both channels end to end: the REQ O-5 joint-test
//! matrix (pure insurance, pure self-pay, mixed × registration, outpatient, pharmacy) paid through
//! WeChat and through Alipay, each settling to the split the sandbox's rules give; Alipay's
//! authorisation query, the bank orders in Alipay's pay mode with the hospital's Alipay app and
//! Alipay's cashier parameters; the day's statement reconciles both alike; an Alipay payment's
//! insurance part refunded with a fresh Alipay authorisation; an authCode is good only at the
//! channel that issued it.

use medpay_harness::http;
use medpay_harness::stack::{Stack, poll};
use serde_json::json;

#[test]
fn the_joint_test_matrix_on_wechat_and_alipay() {
    let s = Stack::start_with("channels", &[], true);
    let bills = [
        ("insurance-only", 1_200, (1_080, 120, 0)),
        ("self-pay-only", 3_456, (0, 0, 3_456)),
        ("resident", 8_000, (4_000, 0, 4_000)),
    ];
    let mut paths = vec![];
    for channel in ["wechat", "alipay"] {
        for scene in ["registration", "outpatient", "pharmacy"] {
            for (persona, total, split) in bills {
                let ord = format!("O5-{channel}-{scene}-{persona}");
                let path = s.create_in(channel, persona, &ord, scene, &[total]);
                let mix = s.confirm(&path, true).expect("ordered");
                assert_eq!(s.pay(&mix)["mix_pay_status"], "MIX_PAY_SUCCESS", "{ord}");
                paths.push((channel, path, total, split));
            }
        }
    }
    for (channel, path, total, (fund, acct, own)) in &paths {
        let done = poll(&s.api, path, "paid", 60, |v| v["state"] == "Paid");
        assert_eq!(done["total_fen"], json!(total), "{path}");
        assert_eq!(
            (done["fund_fen"].as_i64(), done["psn_acct_fen"].as_i64(), done["own_pay_fen"].as_i64()),
            (Some(*fund), Some(*acct), Some(*own)),
            "{path}"
        );
        let operations: Vec<&str> = done["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["party"] == "channel")
            .filter_map(|e| e["operation"].as_str())
            .collect();
        let expected = if *channel == "alipay" { "alipay auth query" } else { "userQuery" };
        assert_eq!(operations, vec![expected], "{path}");
    }
    // At the bank: Alipay's orders in pay mode 10 with the hospital's Alipay app, and its
    // cashier parameters (a trade no.) handed to the front-end.
    let books = s.books();
    let credentials: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.join("credentials.json")).unwrap()).unwrap();
    let alipay_app = credentials["hospitals"][0]["channel"]["alipay_app_id"].as_str().unwrap();
    let alipay_self_pay: Vec<_> = books["self_pay_orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["out_trade_no"].as_str().unwrap().contains("alipay"))
        .collect();
    assert_eq!(alipay_self_pay.len(), 6, "pure self-pay and mixed bills in three scenes have a self-pay order");
    let alipay_mixed: Vec<_> = books["mixed_orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["serial_no"].as_str().unwrap().contains("alipay"))
        .collect();
    assert_eq!(alipay_mixed.len(), 9);
    let (_, view) = http("GET", &s.api, "/v1/payments/H51010500001/O5-alipay-outpatient-resident", None).unwrap();
    let view = medpay_harness::json(&view);
    assert_eq!(
        view["workflow"]["cashier"]["prepay"]["app_id"],
        json!(alipay_app),
        "Alipay's cashier parameters: {view}"
    );
    assert!(view["workflow"]["cashier"]["prepay"]["trade_no"].is_string(), "{view}");

    // Today's self-pay statement reconciles both channels' payments alike: every self-pay order
    // matched, nothing else.
    let day = medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string();
    medpay_harness::stack::curl_json(
        &s.ca,
        &s.sandbox_url("/sandbox/control/statements"),
        &json!({"kind": "selfpay", "period": day}),
    );
    let start = json!({"kind": "selfpay", "org_code": "H51010500001", "period": day});
    assert_eq!(http("POST", &s.api, "/v1/reconciliations", Some(&start.to_string())).unwrap().0, 202);
    let report =
        poll(&s.api, &format!("/v1/reconciliations/selfpay/H51010500001/{day}"), "the reconciliation", 60, |v| {
            v["state"] == "Reported"
        });
    assert_eq!(report["summary"]["classes"]["MATCHED"]["count"], json!(12), "6 self-pay orders per channel: {report}");
    assert_eq!(report["exceptions"].as_array().map(Vec::len), Some(0), "{report}");

    // An Alipay payment's insurance part refunded with a fresh Alipay authorisation (REQ 6.2).
    let code = s.auth_code_in("alipay", "insurance-only");
    let refund = json!({"org_code": "H51010500001", "med_org_ord": "O5-alipay-registration-insurance-only", "refund_no": "O5-R-ALI", "auth_code": code, "openid": "o", "channel": "alipay"});
    let (status, body) = http("POST", &s.api, "/v1/refunds", Some(&refund.to_string())).unwrap();
    assert_eq!(status, 201, "{body}");
    let refunded =
        poll(&s.api, "/v1/refunds/H51010500001/O5-R-ALI", "the Alipay refund", 60, |v| v["state"] == "Refunded");
    assert_eq!(
        refunded["fund_fen"].as_i64().unwrap() + refunded["psn_acct_fen"].as_i64().unwrap(),
        1_200,
        "{refunded}"
    );

    // An Alipay authCode presented as WeChat's is refused by WeChat: the payment fails at the
    // authorisation, nothing is ordered.
    let code = s.auth_code_in("alipay", "mixed");
    let mut body = json!({"org_code": "H51010500001", "med_org_ord": "O5-CROSS", "scene": "outpatient", "auth_code": code, "openid": "o", "lines": [{"code": "C", "name": "n", "amount_fen": 100}]});
    medpay_schemas::bill::sample::complete(&mut body);
    assert_eq!(http("POST", &s.api, "/v1/payments", Some(&body.to_string())).unwrap().0, 201);
    let failed = poll(&s.api, "/v1/payments/H51010500001/O5-CROSS", "failed", 60, |v| v["state"] == "Failed");
    assert_eq!(failed["failure"]["code"], "AUTHORISATION_REFUSED", "{failed}");
    s.stop();
}
