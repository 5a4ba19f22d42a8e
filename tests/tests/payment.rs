//! A mixed payment end to end: the HIS API of `medpay run` against a real Temporal dev server
//! and the sandbox counterparties (`medpay-sandbox`): create (idempotent, 409 on a different
//! body), pre-settlement split, confirmation, the bank's mixed order, the patient paying at the
//! sandbox cashier, the verified callback, and the ledger to the fen.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::json;

#[test]
fn a_mixed_payment_through_the_his_api() {
    // The HIS's notification endpoint: down for the first notice, then up.
    let his = medpay_harness::receiver::Receiver::start(vec![503]);
    let key_file = std::env::temp_dir().join(format!("medpay-his-key-{}", std::process::id()));
    std::fs::write(&key_file, "his-shared-key-0123456789\n").unwrap();
    let notify_url = format!("http://{}/his/notify", his.addr);
    let stack = Stack::start(
        "pay",
        &[("MEDPAY_HIS_NOTIFY_URL", &notify_url), ("MEDPAY_HIS_NOTIFY_KEY_FILE", key_file.to_str().unwrap())],
    );
    let (api, sandbox_addr, ca) = (stack.api.clone(), stack.sandbox_addr.clone(), stack.ca.clone());
    // The patient authorises at the channel; the HIS creates the payment with the authCode.
    let auth =
        curl_json(&ca, &format!("https://{sandbox_addr}/sandbox/patient/authorize"), &json!({"persona": "mixed"}));
    let body = json!({
        "org_code": SANDBOX_ORG, "med_org_ord": "HIS-E2E-1", "scene": "outpatient",
        "auth_code": auth["authCode"], "openid": "o-e2e",
        "lines": [{"code": "XA01", "name": "药品", "amount_fen": 20000}, {"code": "XA02", "name": "检查", "amount_fen": 10000}]
    });
    let mut body = body;
    medpay_schemas::bill::sample::complete(&mut body);
    let (status, created) = http("POST", &api, "/v1/payments", Some(&body.to_string())).unwrap();
    assert_eq!(status, 201, "{created}");
    assert_eq!(json(&created)["workflow_id"], "pay-H51010500001-HIS-E2E-1");
    assert_eq!(http("POST", &api, "/v1/payments", Some(&body.to_string())).unwrap().0, 200, "same body: same payment");
    let mut other = body.clone();
    other["lines"][0]["amount_fen"] = json!(20001);
    other["lines"][0]["unit_price_fen"] = json!(20001);
    let (status, conflict) = http("POST", &api, "/v1/payments", Some(&other.to_string())).unwrap();
    assert_eq!((status, json(&conflict)["code"].as_str()), (409, Some("PAYMENT_CONFLICT")));

    let path = "/v1/payments/H51010500001/HIS-E2E-1";
    // A long poll answers as soon as the state moves past the listed ones (no client polling).
    let started = std::time::Instant::now();
    let (status, pre) =
        http("GET", &api, &format!("{path}?view=false&wait_while=Created,Authorised,Uploaded&wait_secs=25"), None)
            .unwrap();
    let pre = json(&pre);
    assert_eq!((status, pre["state"].as_str()), (200, Some("PreSettled")), "{pre}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the long poll waited {:?} instead of answering on the change",
        started.elapsed()
    );
    assert!(pre["exchanges"].as_array().is_some_and(|e| !e.is_empty()), "the exchange log comes by default: {pre}");
    let (status, held) =
        http("GET", &api, &format!("{path}?view=false&exchanges=false&wait_while=PreSettled&wait_secs=1"), None)
            .unwrap();
    let held = json(&held);
    assert_eq!(
        (status, held["state"].as_str()),
        (200, Some("PreSettled")),
        "after wait_secs the current state is answered"
    );
    assert!(held.get("exchanges").is_none(), "exchanges=false leaves the log out: {held}");
    for (query, code) in [
        ("wait_while=Sleeping", "INVALID_QUERY"),
        ("view=maybe", "INVALID_QUERY"),
        ("exchanges=1x", "INVALID_QUERY"),
        ("wait_while=Created&wait_secs=-1", "INVALID_QUERY"),
    ] {
        let (status, body) = http("GET", &api, &format!("{path}?{query}"), None).unwrap();
        assert!(status == 400 || status == 422, "{query}: {status} {body}");
        assert_eq!(json(&body)["code"], code, "{query}: {body}");
    }
    assert_eq!(
        (pre["fund_fen"].as_i64(), pre["psn_acct_fen"].as_i64(), pre["own_pay_fen"].as_i64()),
        (Some(21_000), Some(5_000), Some(4_000))
    );

    let (status, _) = http("POST", &api, &format!("{path}/confirm"), Some(r#"{"confirm":true}"#)).unwrap();
    assert_eq!(status, 202);
    let ordered =
        poll(&api, path, "the bank's mixed order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
    let mix = ordered["workflow"]["cashier"]["mix_trade_no"].as_str().unwrap().to_string();
    assert!(ordered["workflow"]["cashier"]["prepay"]["package"].as_str().unwrap().starts_with("prepay_id="));

    let paid = curl_json(&ca, &format!("https://{sandbox_addr}/sandbox/patient/pay"), &json!({"mix_trade_no": mix}));
    assert_eq!(paid["mix_pay_status"], "MIX_PAY_SUCCESS");
    let done = poll(&api, path, "the payment to be paid", 30, |v| v["state"] == "Paid");
    assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS");

    // Every exchange is in the payment's log, as digests: no request content, no personal data.
    let ops: Vec<String> = done["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["party"].as_str().unwrap(),
                e["operation"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "channel userQuery ok",
        "core person info ok",
        "mid-platform 6201 ok",
        "mid-platform 6202 ok",
        "bank self-pay order ok",
        "bank mixed order ok",
        "bank callback ok",
    ] {
        assert!(ops.iter().any(|o| o == expected), "{expected} missing from {ops:?}");
    }
    let log = done["exchanges"].to_string();
    assert!(
        done["exchanges"].as_array().unwrap().iter().all(|e| e["request_sm3"].as_str().is_some_and(|d| d.len() == 64)),
        "{log}"
    );
    assert!(!log.contains(auth["authCode"].as_str().unwrap()) && !log.contains("payAuthNo\":"), "{log}");

    // The HIS was told, with a signature it can check, after one refused delivery.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while his.all().iter().filter(|r| r.answered == 200).count() < 1 {
        assert!(std::time::Instant::now() < deadline, "no notice delivered: {:?}", his.all());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let notices = his.all();
    assert_eq!(notices.iter().map(|r| r.answered).collect::<Vec<_>>(), vec![503, 200], "retried once, delivered once");
    let n = &notices[1];
    let signed = medpay_crypto::envelope::his::verify_his_signature(
        b"his-shared-key-0123456789",
        &n.headers["x-medpay-timestamp"],
        &n.body,
        &n.headers["x-medpay-signature"],
    );
    assert!(signed, "the notice's signature must verify");
    let notice = json(&String::from_utf8_lossy(&n.body));
    assert_eq!(
        (notice["state"].as_str(), notice["med_org_ord"].as_str(), notice["own_pay_fen"].as_i64()),
        (Some("Paid"), Some("HIS-E2E-1"), Some(4_000)),
        "{notice}"
    );

    // The sandbox's books agree, and its callback was acknowledged by medpay.
    let books = stack.books();
    assert_eq!(books["mixed_orders"].as_array().unwrap().len(), 1, "one mixed order, however many retries");
    assert_eq!(books["mid_orders"][0]["ord_stas"], "6");
    assert_eq!(books["self_pay_orders"][0]["total"], 4_000);
    assert!(books["callbacks"].as_array().unwrap().iter().any(|c| c["acknowledged"] == true), "{}", books["callbacks"]);
    stack.record("pay-H51010500001-HIS-E2E-1", "payment-mixed-callback");

    // The bank repeats a notice until acknowledged: repeats for the paid payment are verified,
    // logged and acknowledged from the ledger; one with a broken signature is refused (REQ S-4.1d).
    let signed =
        curl_json(&ca, &stack.sandbox_url("/sandbox/control/callbacks"), &json!({"mix_trade_no": mix, "count": 3}));
    for form in signed["callbacks"].as_array().unwrap() {
        let (status, ack) = http("POST", &api, "/v1/bank/callback", Some(&form_encode(form))).unwrap();
        assert_eq!(status, 200, "{ack}");
        assert!(ack.contains(form["msg_id"].as_str().unwrap()), "the acknowledgement names the notice: {ack}");
    }
    let forged = curl_json(
        &ca,
        &stack.sandbox_url("/sandbox/control/callbacks"),
        &json!({"mix_trade_no": mix, "bad_signature": true}),
    );
    let (status, _) = http("POST", &api, "/v1/bank/callback", Some(&form_encode(&forged["callbacks"][0]))).unwrap();
    assert_eq!(status, 401, "a forged notice is refused (its signature is the bank's credential)");
    // ... and counted (REQ S-4.1d); /metrics also carries the sandbox CA's expiry (REQ T-4.3d).
    let (status, metrics) = http("GET", &api, "/metrics", None).unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("medpay_forged_callbacks_total 1\n"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("medpay_certificate_days_left{name=\"parties TLS trust (CA)\"")),
        "{metrics}"
    );
    // Party exchanges by outcome: the HIS's refused delivery (retried) is there beside the calls
    // that went through.
    let exchanges = |party: &str, outcome: &str| {
        let key = format!("medpay_party_exchanges_total{{party=\"{party}\",outcome=\"{outcome}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(key.as_str())).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
    };
    assert!(exchanges("his", "unavailable") >= 1 && exchanges("his", "ok") >= 1, "{metrics}");
    assert!(exchanges("bank", "ok") >= 2 && exchanges("mid-platform", "ok") >= 2, "{metrics}");
    let after = json(&http("GET", &api, path, None).unwrap().1);
    assert_eq!(after["state"], "Paid");
    let callbacks = after["exchanges"].as_array().unwrap().iter().filter(|e| e["operation"] == "callback").count();
    assert!(callbacks >= 4, "the sandbox's callback and the 3 repeats are logged: {}", after["exchanges"]);
    stack.stop();
}

/// The joint-test matrix of REQ O-5: pure insurance, pure self-pay and mixed, in the scenes
/// registration, outpatient and pharmacy; and a declined pre-settlement revoked with 6401.
#[test]
fn joint_test_matrix_and_a_declined_bill() {
    let s = Stack::start("matrix", &[]);
    let cases = [
        ("insurance-only", "HIS-M-INS", "registration", 1_200, (1_080, 120, 0)),
        ("self-pay-only", "HIS-M-CASH", "pharmacy", 3_456, (0, 0, 3_456)),
        ("resident", "HIS-M-MIX", "outpatient", 8_000, (4_000, 0, 4_000)),
    ];
    for (persona, ord, scene, total, (fund, acct, own)) in cases {
        let (path, mix) = s.order(persona, ord, scene, &[total], true);
        assert_eq!(s.pay(&mix.unwrap())["mix_pay_status"], "MIX_PAY_SUCCESS");
        let done = poll(&s.api, &path, "paid", 30, |v| v["state"] == "Paid");
        assert_eq!(
            (done["fund_fen"].as_i64(), done["psn_acct_fen"].as_i64(), done["own_pay_fen"].as_i64()),
            (Some(fund), Some(acct), Some(own)),
            "{ord}"
        );
    }
    let (path, _) = s.order("mixed", "HIS-M-NO", "outpatient", &[5_000], false);
    let cancelled = poll(&s.api, &path, "the revoked payment", 30, |v| v["state"] == "Cancelled");
    assert!(cancelled["failure_reason"].as_str().unwrap().contains("6401"));
    s.record("pay-H51010500001-HIS-M-NO", "payment-declined");
    s.record("pay-H51010500001-HIS-M-INS", "payment-insurance-only");
    s.stop();
}

/// REQ Q-9, S-4.1d, X-8a: a lost and a forged callback both end paid through the bank query; a
/// duplicated callback changes the state once; insurance failing after self-pay ends Failed and
/// the anomaly refund returns exactly the self-pay part at the bank, notified to the channel.
/// Then a step refused and a party down, local first.
#[test]
fn lost_forged_duplicate_callbacks_and_the_anomaly_refund() {
    let s = Stack::start("faults", &[]);
    s.faults(json!({"orders": {
        "HIS-F-LOST": {"callback": {"lost": true}},
        "HIS-F-FORGED": {"callback": {"bad_signature": true}},
        "HIS-F-DUP": {"callback": {"duplicate": true}},
        "HIS-F-X8A": {"insurance_fails_after_self_pay": true}
    }}));
    let (lost, lost_mix) = s.order("mixed", "HIS-F-LOST", "outpatient", &[10_000], true);
    let (forged, forged_mix) = s.order("resident", "HIS-F-FORGED", "outpatient", &[6_000], true);
    let (dup, dup_mix) = s.order("resident", "HIS-F-DUP", "outpatient", &[7_000], true);
    let (x8a, x8a_mix) = s.order("mixed", "HIS-F-X8A", "outpatient", &[30_000], true);
    let x8a_mix = x8a_mix.unwrap();
    for m in [lost_mix.unwrap(), forged_mix.unwrap(), dup_mix.unwrap(), x8a_mix.clone()] {
        s.pay(&m);
    }
    // No verifiable callback: after the callback wait the workflow finds the result by query.
    for path in [&lost, &forged, &dup] {
        let done = poll(&s.api, path, "paid", 60, |v| v["state"] == "Paid");
        assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS");
    }
    // The duplicate was delivered and acknowledged twice, and recorded once.
    let dup_mix = s.books()["mixed_orders"].as_array().unwrap().iter().find(|m| m["serial_no"] == "HIS-F-DUP").unwrap()
        ["mix_trade_no"]
        .clone();
    let acknowledged = || {
        s.books()["callbacks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["mix_trade_no"] == dup_mix && c["acknowledged"] == true)
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while acknowledged() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "two acknowledged callbacks expected: {}",
            s.books()["callbacks"]
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let history = s.history("pay-H51010500001-HIS-F-DUP");
    let outcomes = activities_run(&history).iter().filter(|a| a.ends_with("record_outcome")).count();
    assert_eq!(outcomes, 1, "one recorded outcome for two callbacks: {:?}", activities_run(&history));

    let failed = poll(&s.api, &x8a, "the anomaly refund", 60, |v| {
        v["state"] == "Failed" && v["workflow"]["anomaly_refund"]["state"] == "Refunded"
    });
    assert!(failed["failure_reason"].as_str().unwrap().contains("X-8a"), "{failed}");
    let own = failed["own_pay_fen"].as_i64().unwrap();
    assert_eq!(
        (failed["workflow"]["anomaly_refund"]["amount_fen"].as_i64(), failed["refunded_cash_fen"].as_i64()),
        (Some(own), Some(own))
    );
    let refund =
        poll(&s.api, "/v1/refunds/H51010500001/X8AHIS-F-X8A", "the refund row", 10, |v| v["state"] == "Refunded");
    assert_eq!(
        (refund["kind"].as_str(), refund["cash_fen"].as_i64(), refund["notified"].as_bool()),
        (Some("anomaly"), Some(own), Some(true))
    );
    let books = s.books();
    let sp = books["self_pay_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["out_trade_no"] == "SPHIS-F-X8A")
        .unwrap()
        .clone();
    assert_eq!((sp["refunded"].as_i64(), sp["status"].as_str()), (Some(own), Some("SELF_PAY_REFUND")), "{sp}");
    let refunds: Vec<_> =
        books["bank_refunds"].as_array().unwrap().iter().filter(|r| r["out_trade_no"] == "SPHIS-F-X8A").collect();
    assert_eq!(refunds.len(), 1, "one bank refund: {refunds:?}");
    let notices: Vec<_> =
        books["refund_notices"].as_array().unwrap().iter().filter(|n| n["mix_trade_no"] == json!(x8a_mix)).collect();
    assert_eq!(
        (notices.len(), notices[0]["refund_type"].as_str(), notices[0]["cash_refund_fee"].as_i64()),
        (1, Some("SELF_REFUND"), Some(own))
    );

    // Flow 3's quick steps run local first (workflows/src/quick.rs). A refusal ends the step at
    // once: the expired payAuthNo is refused by a party and never retried as a regular activity.
    s.faults(json!({"global": {"pay_auth_no_expired": true}}));
    let expired = s.create("mixed", "HIS-F-EXPIRED", "outpatient", &[1_000]);
    let refused = poll(&s.api, &expired, "the refusal", 60, |v| v["state"] == "Failed");
    let ran = activities_run(&s.history("pay-H51010500001-HIS-F-EXPIRED"));
    let mut once = ran.clone();
    once.dedup();
    assert_eq!(ran, once, "a refused step is not run again: {ran:?} ({})", refused["failure_reason"]);
    // A party that is down fails the local attempt; the step goes on as a regular activity
    // (what operators see as a pending activity with its attempts) and completes when the
    // party is back.
    s.faults(json!({"global": {"endpoints": {"mid.6201": {"error_permille": 1000}}}}));
    let down = s.create("mixed", "HIS-F-6201", "outpatient", &[2_000]);
    poll(&s.api, &down, "a refused 6201", 30, |v| {
        v["exchanges"].as_array().is_some_and(|x| x.iter().filter(|e| e["operation"] == "6201").count() >= 2)
    });
    s.faults(json!({}));
    let mix = s.confirm(&down, true).unwrap();
    s.pay(&mix);
    poll(&s.api, &down, "paid after the outage", 30, |v| v["state"] == "Paid");
    let uploads =
        activities_run(&s.history("pay-H51010500001-HIS-F-6201")).into_iter().filter(|a| a.ends_with("upload")).count();
    assert_eq!(uploads, 2, "the local attempt, then the regular activity");
    // A party that hangs keeps the step's workflow task open, and the workflow answers no query
    // meanwhile: a status read does not wait for it (5 s), it answers from the ledger.
    s.faults(json!({"global": {"endpoints": {"mid.6201": {"timeout_permille": 1000, "hang_secs": 10}}}}));
    let hung = s.create("mixed", "HIS-F-HANG", "outpatient", &[3_000]);
    poll(&s.api, &format!("{hung}?view=false"), "the identification", 10, |v| v["state"] == "Authorised");
    let asked = std::time::Instant::now();
    let (status, read) = http("GET", &s.api, &hung, None).unwrap();
    let waited = asked.elapsed();
    let read = json(&read);
    assert!(status == 200 && waited < std::time::Duration::from_secs(8), "{status} after {waited:?}: {read}");
    assert!(
        read["workflow"].is_null() && read["state"] == "Authorised",
        "the ledger's state, no view while the step hangs: {read}"
    );
    s.faults(json!({}));
    s.pay(&s.confirm(&hung, true).unwrap());
    poll(&s.api, &hung, "paid after the hang", 30, |v| v["state"] == "Paid");

    s.record("pay-H51010500001-HIS-F-LOST", "payment-lost-callback-query");
    s.record("pay-H51010500001-HIS-F-DUP", "payment-duplicate-callback");
    s.record("pay-H51010500001-HIS-F-X8A", "payment-anomaly-x8a");
    s.record("refund-H51010500001-X8AHIS-F-X8A", "refund-anomaly-x8a");
    s.stop();
}

/// REQ Q-9: no callback and no query answer within the window -> PendingReconciliation; the
/// late callback then settles it Paid. Searchable in the UI by HIS order no. and state.
#[test]
fn a_late_callback_settles_a_pending_payment() {
    let s = Stack::start("late", &[]);
    // The callback comes 10 s after payment; the bank's query is down meanwhile.
    s.faults(
        json!({"global": {"callback": {"delay_secs": 10}, "endpoints": {"bank.query": {"error_permille": 1000}}}}),
    );
    let (path, mix) = s.order("mixed", "HIS-L-1", "outpatient", &[9_000], true);
    s.pay(&mix.unwrap());
    let pending = poll(&s.api, &path, "PendingReconciliation", 30, |v| v["state"] == "PendingReconciliation");
    assert!(pending["failure_reason"].as_str().unwrap().contains("Q-9"), "{pending}");
    let found = std::process::Command::new(temporal_bin())
        .args([
            "workflow",
            "list",
            "--address",
            &format!("127.0.0.1:{}", s.temporal.port),
            "--query",
            "MedpayMedOrgOrd = 'HIS-L-1' AND MedpayPaymentState = 'PendingReconciliation'",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("pay-H51010500001-HIS-L-1"),
        "{}",
        String::from_utf8_lossy(&found.stdout)
    );
    let done = poll(&s.api, &path, "paid by the late callback", 30, |v| v["state"] == "Paid");
    assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS");
    s.record("pay-H51010500001-HIS-L-1", "payment-late-callback");
    s.stop();
}

/// An operator resets a payment waiting for the bank (`temporal workflow reset`, or the Web UI)
/// to its last workflow task: the run the API started ends, and a new run places the same order
/// again (idempotent at the bank and in the ledger) and waits. The bank's callback, which the API
/// sends to the run it started (`worker/src/api/runs.rs`), still reaches the payment: the ended
/// run answers "not found" and the signal goes again by workflow id, to the new run. The callback
/// wait is long here, so only the callback (not the bank query after it) can settle it in time.
#[test]
fn a_reset_payment_takes_the_banks_callback_on_its_new_run() {
    let s = Stack::start("reset", &[("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", "300")]);
    let (path, mix) = s.order("resident", "HIS-R-1", "outpatient", &[6_000], true);
    let wid = "pay-H51010500001-HIS-R-1";
    let address = format!("127.0.0.1:{}", s.temporal.port);
    let temporal = |args: &[&str]| {
        let out = std::process::Command::new(temporal_bin()).args(args).args(["--address", &address]).output().unwrap();
        assert!(out.status.success(), "temporal {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let run_id = || {
        json(&temporal(&["workflow", "describe", "--workflow-id", wid, "--output", "json"]))["workflowExecutionInfo"]["execution"]["runId"].as_str().unwrap_or_default().to_string()
    };
    // Waiting for the bank: the order's workflow task has completed (its callback timer started).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.history(wid).to_string().matches("TIMER_STARTED").count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the payment never waited for the bank: {}", s.history(wid));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let first = run_id();
    temporal(&[
        "workflow",
        "reset",
        "--workflow-id",
        wid,
        "--type",
        "LastWorkflowTask",
        "--reason",
        "operator test",
        "--yes",
    ]);
    let second = run_id();
    assert!(!first.is_empty() && first != second, "the reset made a new run: {first} -> {second}");
    std::thread::sleep(std::time::Duration::from_secs(1));
    s.pay(&mix.unwrap());
    let done = poll(&s.api, &path, "paid on the new run", 20, |v| v["state"] == "Paid");
    assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS", "{done}");
    let signalled = temporal(&["workflow", "show", "--workflow-id", wid, "--run-id", &second, "--output", "json"]);
    assert!(signalled.contains("bank_callback"), "the new run took the callback: {signalled}");
    s.stop();
}

/// The worker is SIGKILLed while 20 payments are in flight and restarted: every payment
/// completes exactly once, and the sandbox holds exactly one order of each kind per payment.
#[test]
fn twenty_payments_survive_a_killed_worker() {
    let mut s = Stack::start("kill", &[]);
    let ords: Vec<String> = (0..20).map(|i| format!("HIS-K-{i:02}")).collect();
    let paths: Vec<String> = std::thread::scope(|sc| {
        let handles: Vec<_> =
            ords.iter().map(|o| sc.spawn(|| s.create("resident", o, "outpatient", &[5_000]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Killed while the bank orders are being placed. (Not during identification: the channel's
    // authCode is single-use, so a crash inside that one call needs a fresh authorisation.)
    for p in &paths {
        poll(&s.api, p, "the pre-settlement", 60, |v| v["state"] == "PreSettled");
        assert_eq!(http("POST", &s.api, &format!("{p}/confirm"), Some(r#"{"confirm":true}"#)).unwrap().0, 202);
    }
    s.kill_medpay();
    s.restart_medpay();
    let mixes: Vec<String> = paths
        .iter()
        .map(|p| {
            poll(&s.api, p, "the mixed order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string())["workflow"]
                ["cashier"]["mix_trade_no"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Killed again while callbacks arrive.
    for m in &mixes[..10] {
        s.pay(m);
    }
    s.kill_medpay();
    for m in &mixes[10..] {
        s.pay(m);
    }
    s.restart_medpay();
    for p in &paths {
        poll(&s.api, p, "paid after the restarts", 90, |v| v["state"] == "Paid");
    }
    let books = s.books();
    for kind in ["mixed_orders", "self_pay_orders", "mid_orders"] {
        assert_eq!(books[kind].as_array().unwrap().len(), 20, "{kind}: one per payment");
    }
    s.stop();
}
