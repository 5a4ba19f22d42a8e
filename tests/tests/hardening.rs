//! The defects found by trying the product from outside, each as a class with the
//! test that would have caught it, on one stack: a payment that has ended is answered 409 and
//! never started again; amounts, blank and unknown fields refused by one policy; failures as
//! stable codes; a bank notice must name the order its number belongs to; the sandbox keeps its
//! books and never reissues a number across a crash; a fault the sandbox would ignore is refused.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::{Value, json};
use std::process::Command;

const ORG: &str = SANDBOX_ORG;

fn post(s: &Stack, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = http("POST", &s.api, path, Some(&body.to_string())).unwrap();
    (status, if text.is_empty() { Value::Null } else { json(&text) })
}

fn bill(s: &Stack, ord: &str, lines: Value) -> Value {
    let mut body = json!({"org_code": ORG, "med_org_ord": ord, "scene": "outpatient", "auth_code": s.auth_code("mixed"), "openid": "o", "lines": lines});
    medpay_schemas::bill::sample::complete(&mut body);
    body
}

/// `curl` to the sandbox's control API: (HTTP status, body).
fn sandbox_call(s: &Stack, method: &str, path: &str, body: &Value) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-X",
            method,
            "--cacert",
            s.ca.to_str().unwrap(),
            "-H",
            "content-type: application/json",
            "-d",
            &body.to_string(),
            "-w",
            "\n%{http_code}",
            &s.sandbox_url(path),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn metric(s: &Stack, name: &str) -> f64 {
    let (_, text) = http("GET", &s.api, "/metrics", None).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[test]
fn ended_payments_bad_amounts_failure_codes_bank_order_identity_and_the_sandbox_books() {
    // A pending payment's workflow stops listening for the bank after 4 s here (48 h by default).
    let (his, his_env) = medpay_harness::receiver::Receiver::his("hardening");
    let mut env = vec![("MEDPAY_PAYMENT_LATE_CALLBACK_SECS", "4")];
    env.extend(his_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut s = Stack::start("hardening", &env);

    // A paid payment's workflow has ended: confirming or cancelling it is a 409 naming its
    // state (it was a 503 "Workflow not found" that an HIS retries forever), and the same
    // create again is the same payment, not a second run on the same HIS order.
    let original = bill(
        &s,
        "HIS-H-PAID",
        json!([{"code": "XA01", "name": "药品", "amount_fen": 20_000}, {"code": "XA02", "name": "检查", "amount_fen": 10_000}]),
    );
    assert_eq!(post(&s, "/v1/payments", &original).0, 201);
    let paid = format!("/v1/payments/{ORG}/HIS-H-PAID");
    let first_mix = s.confirm(&paid, true).expect("ordered");
    s.pay(&first_mix);
    poll(&s.api, &paid, "paid", 60, |v| v["state"] == "Paid");
    for action in ["confirm", "cancel"] {
        let (status, e) = post(&s, &format!("{paid}/{action}"), &json!({"confirm": true}));
        let (status, e) =
            if action == "cancel" { post(&s, &format!("{paid}/cancel"), &Value::Null) } else { (status, e) };
        assert_eq!(status, 409, "{action}: {e}");
        assert!(e["message"].as_str().unwrap().contains("Paid"), "{action}: the message names the state: {e}");
    }
    assert_eq!(post(&s, &format!("{paid}/confirm"), &json!({"confirm": true})).1["code"], "PAYMENT_ENDED");
    // The HIS retries its create (same body): the same payment, 200, still Paid, no new run.
    let (status, again) = post(&s, "/v1/payments", &original);
    assert_eq!(status, 200, "{again}");
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(json(&http("GET", &s.api, &paid, None).unwrap().1)["state"], "Paid");
    let books_before = s.books()["mid_orders"].as_array().unwrap().len();

    // Amounts: a configurable ceiling per line and per bill (422 AMOUNT_TOO_LARGE), blank codes
    // and names, blank authCodes, unknown fields: one policy, every body.
    let too_large = [
        json!([{"code": "X", "name": "药", "amount_fen": i64::MAX}]),
        json!([{"code": "X", "name": "药", "amount_fen": 60_000_000}, {"code": "Y", "name": "检", "amount_fen": 60_000_000}]),
    ];
    for lines in too_large {
        let (status, e) = post(&s, "/v1/payments", &bill(&s, "HIS-H-BIG", lines));
        assert_eq!((status, e["code"].as_str()), (422, Some("AMOUNT_TOO_LARGE")), "{e}");
    }
    for (lines, what) in [
        (json!([{"code": "", "name": "药", "amount_fen": 100}]), "empty code"),
        (json!([{"code": "X", "name": "  ", "amount_fen": 100}]), "blank name"),
    ] {
        let (status, e) = post(&s, "/v1/payments", &bill(&s, "HIS-H-BLANK", lines));
        assert_eq!((status, e["code"].as_str()), (422, Some("INVALID_PAYMENT")), "{what}: {e}");
    }
    let mut blank_auth = bill(&s, "HIS-H-BLANK", json!([{"code": "X", "name": "药", "amount_fen": 100}]));
    blank_auth["auth_code"] = json!(" ");
    assert_eq!(post(&s, "/v1/payments", &blank_auth).0, 422);
    let mut unknown = bill(&s, "HIS-H-UNKNOWN", json!([{"code": "X", "name": "药", "amount_fen": 100}]));
    unknown["amount"] = json!(100);
    assert_eq!(
        post(&s, "/v1/payments", &unknown).1["code"],
        "INVALID_BODY",
        "a misspelt field is refused, not dropped"
    );
    let mut unknown_line = bill(&s, "HIS-H-UNKNOWN", json!([{"code": "X", "name": "药", "amount_fen": 100, "qty": 2}]));
    unknown_line["lines"][0]["qty"] = json!(2);
    assert_eq!(post(&s, "/v1/payments", &unknown_line).1["code"], "INVALID_BODY");
    assert_eq!(post(&s, &format!("{paid}/confirm"), &json!({"confirm": true, "by": "x"})).1["code"], "INVALID_BODY");
    // The 6201 details: refused here with the field named,
    // before the patient is asked for anything.
    type Spoil = fn(&mut serde_json::Value);
    let details: [(&str, Spoil); 5] = [
        ("lines[0].amount_fen", |b| b["lines"][0]["unit_price_fen"] = json!(99)),
        ("lines[0].catalogue_code", |b| b["lines"][0]["catalogue_code"] = json!("")),
        ("lines[0].quantity", |b| b["lines"][0]["quantity"] = json!("1.5.1")),
        ("visit.diagnoses", |b| b["visit"]["diagnoses"] = json!([])),
        ("visit", |b| {
            b.as_object_mut().unwrap().remove("visit");
        }),
    ];
    for (field, spoil) in details {
        let mut b = bill(&s, "HIS-H-BIG", json!([{"code": "X", "name": "药", "amount_fen": 100}]));
        spoil(&mut b);
        let (status, e) = post(&s, "/v1/payments", &b);
        assert_eq!((status, e["code"].as_str()), (422, Some("INVALID_BILL")), "{field}: {e}");
        assert!(e["message"].as_str().unwrap().starts_with(field), "{field}: {e}");
    }
    assert_eq!(
        http("GET", &s.api, "/v1/payments/H51010500001/HIS-H-BIG", None).unwrap().0,
        404,
        "nothing refused was created"
    );

    // Failures carry a stable code, the party and its code, and what to do next; no SDK text.
    s.faults(json!({"global": {"pay_auth_no_expired": true}}));
    let expired = s.create("mixed", "HIS-H-EXPIRED", "outpatient", &[1_000]);
    let failed = poll(&s.api, &expired, "the refusal", 60, |v| v["state"] == "Failed");
    let f = &failed["failure"];
    assert_eq!(
        (f["code"].as_str(), f["party"].as_str(), f["next_action"].as_str()),
        (Some("AUTHORISATION_REFUSED"), Some("core"), Some("retry_with_new_auth_code")),
        "{failed}"
    );
    assert!(f["party_code"].is_string(), "{failed}");
    let reason = failed["failure_reason"].as_str().unwrap();
    assert!(
        !reason.contains("Activity failed") && !reason.contains("Failure("),
        "the SDK's wrapping is not the HIS's business: {reason}"
    );
    assert_eq!(reason, f["message"].as_str().unwrap());
    s.faults(json!({}));
    let (declined, _) = s.order("mixed", "HIS-H-DECLINED", "outpatient", &[1_000], false);
    let cancelled = poll(&s.api, &declined, "the cancellation", 60, |v| v["state"] == "Cancelled");
    assert_eq!(
        (cancelled["failure"]["code"].as_str(), cancelled["failure"]["next_action"].as_str()),
        (Some("DECLINED"), Some("none")),
        "{cancelled}"
    );
    assert_eq!(
        post(&s, &format!("{declined}/cancel"), &Value::Null).0,
        409,
        "a cancelled payment cannot be cancelled again"
    );

    // A correctly signed notice that names another HIS order than the one its bank order no.
    // belongs to is an integrity alarm: refused (409), counted, and the payment untouched.
    let alarms = metric(&s, "medpay_duplicate_bank_orders_total");
    let (_, signed) = sandbox_call(
        &s,
        "POST",
        "/sandbox/control/callbacks",
        &json!({"mix_trade_no": &first_mix, "serial_no": "HIS-H-OTHER"}),
    );
    let form = form_encode(&json(&signed)["callbacks"][0]);
    let (status, body) = http_with(
        "POST",
        &s.api,
        "/v1/bank/callback",
        Some(&form),
        &["Content-Type: application/x-www-form-urlencoded"],
    )
    .unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(metric(&s, "medpay_duplicate_bank_orders_total"), alarms + 1.0);
    // The same notice for its own order is acknowledged as before.
    let (_, signed) = sandbox_call(&s, "POST", "/sandbox/control/callbacks", &json!({"mix_trade_no": &first_mix}));
    let form = form_encode(&json(&signed)["callbacks"][0]);
    assert_eq!(
        http_with(
            "POST",
            &s.api,
            "/v1/bank/callback",
            Some(&form),
            &["Content-Type: application/x-www-form-urlencoded"]
        )
        .unwrap()
        .0,
        200
    );

    // A per-order endpoint fault used to be stored and silently ignored: now refused.
    let (status, body) = sandbox_call(
        &s,
        "PUT",
        "/sandbox/control/faults",
        &json!({"orders": {"HIS-X": {"endpoints": {"mid.6201": {"error_permille": 1000}}}}}),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("global.endpoints"), "{body}");

    // The sandbox crashes (SIGKILL) and comes back: it still knows its orders, and a new order
    // gets a number never issued before (a reissued number once settled the wrong payment).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mixed_before: Vec<Value> =
        s.books()["mixed_orders"].as_array().unwrap().iter().map(|o| o["mix_trade_no"].clone()).collect();
    s.restart_sandbox(true);
    let books = s.books();
    assert_eq!(
        books["mid_orders"].as_array().unwrap().len(),
        books_before + 1,
        "the declined bill's order and all before it are remembered (the expired authorisation never reached the mid-platform)"
    );
    assert!(
        books["mixed_orders"].as_array().unwrap().iter().any(|o| o["mix_trade_no"] == first_mix.as_str()),
        "the paid order survived the crash"
    );
    let after = s.paid("mixed", "HIS-H-AFTER", &[1_500]);
    let new_mix = json(&http("GET", &s.api, &after, None).unwrap().1)["mix_trade_no"].clone();
    assert!(!mixed_before.contains(&new_mix), "{new_mix} was issued before the crash: {mixed_before:?}");
    let done = json(&http("GET", &s.api, &after, None).unwrap().1);
    assert_eq!(done["workflow"]["settled_by"], "callback", "{done}");

    // A payment left PendingReconciliation (no callback, the bank's query failing) whose
    // workflow has stopped listening: the bank's notice that comes later used to be answered
    // 503 for ever (nothing to hand it to). Now the verified notice, with the amounts ordered
    // (REQ SR-7b), settles it in the ledger and is acknowledged.
    s.faults(json!({"global": {"callback": {"lost": true}, "endpoints": {"bank.query": {"error_permille": 1000}}}}));
    let (late, late_mix) = s.order("mixed", "HIS-H-LATE", "outpatient", &[2_000], true);
    let late_mix = late_mix.expect("ordered");
    s.pay(&late_mix);
    poll(&s.api, &late, "pending", 60, |v| v["state"] == "PendingReconciliation");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !s.history("pay-H51010500001-HIS-H-LATE").to_string().contains("WORKFLOW_EXECUTION_COMPLETED") {
        assert!(std::time::Instant::now() < deadline, "the pending payment's workflow did not end");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    s.faults(json!({}));
    let (_, signed) = sandbox_call(&s, "POST", "/sandbox/control/callbacks", &json!({"mix_trade_no": &late_mix}));
    let form = form_encode(&json(&signed)["callbacks"][0]);
    let (status, ack) = http_with(
        "POST",
        &s.api,
        "/v1/bank/callback",
        Some(&form),
        &["Content-Type: application/x-www-form-urlencoded"],
    )
    .unwrap();
    assert_eq!(status, 200, "{ack}");
    let settled = json(&http("GET", &s.api, &late, None).unwrap().1);
    assert_eq!((settled["state"].as_str(), settled["failure"].is_null()), (Some("Paid"), true), "{settled}");
    // The HIS is told, once, though its payment's workflow had ended: the callback repeated changes nothing.
    let (status, _) = http_with(
        "POST",
        &s.api,
        "/v1/bank/callback",
        Some(&form),
        &["Content-Type: application/x-www-form-urlencoded"],
    )
    .unwrap();
    assert_eq!(status, 200);
    let late_notice = |n: &Value| n["med_org_ord"] == "HIS-H-LATE" && n["event"] == "payment.settled_late";
    let told = his.notices_until("the late settlement's notice", |all| all.iter().any(late_notice));
    let told: Vec<&Value> = told.iter().filter(|n| late_notice(n)).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0]["state"].as_str(), told[0]["notice_id"].as_str()),
        (Some("Paid"), Some("his-H51010500001-HIS-H-LATE-payment.settled_late"))
    );

    // Still one run of the first payment: nothing above started it again.
    let runs = Command::new(temporal_bin())
        .args([
            "workflow",
            "list",
            "--address",
            &format!("127.0.0.1:{}", s.temporal.port),
            "--query",
            "WorkflowId = 'pay-H51010500001-HIS-H-PAID'",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&String::from_utf8_lossy(&runs.stdout)).as_array().map_or(0, Vec::len), 1);
    s.stop();
}
