//! Scale-out: two `medpay run` instances behind one hospital, sharing the Temporal
//! task queue and a PostgreSQL ledger, as `docker compose --scale medpay=2` runs them. The HIS
//! creates each payment on one instance and confirms it on the other; the bank calls the other
//! back; the first is SIGKILLed while the patients are at the cashier. Every payment ends Paid
//! on the survivor, nothing is doubled at any party, and a refund through the survivor of a
//! payment the dead instance created completes. The per-instance caches (run ids, paid
//! callbacks, authCode exchanges, core sign-in) meet a peer here: each must fall back to what
//! the peer shares (the ledger, Temporal, the party) rather than assume.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::json;
use std::process::Command;

const ORG: &str = SANDBOX_ORG;

/// A fresh database on the test PostgreSQL server, or `None` when there is none (outside
/// scripts/test.sh and CI, where its absence fails the test instead).
fn fresh_postgres() -> Option<String> {
    let Ok(admin) = std::env::var("MEDPAY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none() && std::env::var_os("MEDPAY_REQUIRE_POSTGRES").is_none(),
            "the scale-out test needs MEDPAY_TEST_POSTGRES_URL (scripts/test.sh sets it)"
        );
        eprintln!("MEDPAY_TEST_POSTGRES_URL not set: scale-out test not run");
        return None;
    };
    let name = format!("medpay_scale_{}_{}", std::process::id(), free_port());
    let out = Command::new("psql")
        .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
}

#[test]
fn two_instances_one_killed_at_the_cashier_every_payment_paid_once() {
    let Some(ledger) = fresh_postgres() else { return };
    let b_api = format!("127.0.0.1:{}", free_port());
    let callback = format!("http://{b_api}/v1/bank/callback");
    // Instance A is the stack's own; the bank is told to call B back (the hospital's load
    // balancer in production).
    let mut s = Stack::start("scale", &[("MEDPAY_LEDGER_URL", &ledger), ("MEDPAY_CALLBACK_URL", &callback)]);
    let _b = s.spawn_peer(&b_api);
    let a_api = s.api.clone();

    let ords: Vec<String> = (0..6).map(|i| format!("HIS-SC-{i}")).collect();
    let mut mixes = vec![];
    for ord in &ords {
        let mut body = json!({"org_code": ORG, "med_org_ord": ord, "scene": "outpatient", "auth_code": s.auth_code("mixed"), "openid": "o",
                          "lines": [{"code": "XA01", "name": "药品", "amount_fen": 30_000}]});
        medpay_schemas::bill::sample::complete(&mut body);
        let (status, created) = http("POST", &a_api, "/v1/payments", Some(&body.to_string())).unwrap();
        assert_eq!(status, 201, "created on A: {created}");
        let path = format!("/v1/payments/{ORG}/{ord}");
        poll(&b_api, &path, "the pre-settlement, read on B", 60, |v| v["state"] == "PreSettled");
        let (status, _) = http("POST", &b_api, &format!("{path}/confirm"), Some(r#"{"confirm":true}"#)).unwrap();
        assert_eq!(status, 202, "confirmed on B");
        let ordered =
            poll(&b_api, &path, "the bank order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
        mixes.push(ordered["workflow"]["cashier"]["mix_trade_no"].as_str().unwrap().to_string());
    }

    // A dies while every patient stands at the cashier.
    s.kill_medpay();
    for mix in &mixes {
        assert_eq!(s.pay(mix)["mix_pay_status"], "MIX_PAY_SUCCESS");
    }
    for ord in &ords {
        let done =
            poll(&b_api, &format!("/v1/payments/{ORG}/{ord}"), "paid on the survivor", 90, |v| v["state"] == "Paid");
        assert_eq!(
            done["own_pay_fen"].as_i64().unwrap()
                + done["fund_fen"].as_i64().unwrap()
                + done["psn_acct_fen"].as_i64().unwrap(),
            30_000,
            "{done}"
        );
    }

    // Nothing doubled at any party: one insurance order, one self-pay order and one mixed order
    // per bill, and the bank's notices acknowledged by the survivor.
    let books = s.books();
    for ord in &ords {
        let count = |list: &str, field: &str, value: &str| {
            books[list].as_array().unwrap().iter().filter(|o| o[field] == value).count()
        };
        assert_eq!(count("mid_orders", "med_org_ord", ord), 1, "{ord}: mid-platform orders");
        assert_eq!(count("mixed_orders", "serial_no", ord), 1, "{ord}: mixed orders");
        assert_eq!(count("self_pay_orders", "out_trade_no", &format!("SP{ord}")), 1, "{ord}: self-pay orders");
    }
    for mix in &mixes {
        let acked = books["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["mix_trade_no"] == mix.as_str() && c["acknowledged"] == true);
        assert!(acked, "{mix}: the survivor acknowledged the bank's notice: {}", books["callbacks"]);
    }

    // A refund through the survivor of a payment the dead instance created.
    let refund = json!({"org_code": ORG, "med_org_ord": ords[0], "refund_no": "R-SC-0", "cash_fen": 500});
    let (status, started) = http("POST", &b_api, "/v1/refunds", Some(&refund.to_string())).unwrap();
    assert_eq!(status, 201, "{started}");
    poll(&b_api, &format!("/v1/refunds/{ORG}/R-SC-0"), "the refund", 90, |v| v["state"] == "Refunded");
    let books = s.books();
    assert_eq!(
        books["bank_refunds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["out_trade_no"] == format!("SP{}", ords[0]))
            .count(),
        1,
        "one bank refund"
    );
}
