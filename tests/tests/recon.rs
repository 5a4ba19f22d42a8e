//! Reconciliation end to end (REQ C-6.3.2, X-8b, X-8c, Q-9): the sandbox's bank writes today's
//! self-pay statement and serves it over OpenSSH SFTP; `medpay` fetches it (host key checked),
//! loads it and classifies a day with a normal payment, a refund, two orders left
//! PendingReconciliation, an under-collection (a line the bank dropped), a wrong amount and a
//! line the hospital never made. The pending order the bank shows paid is settled, the one it
//! does not is closed; a second run changes nothing; when the closed order turns out to have
//! been paid after all, the next run refunds the over-collection through the refund workflow.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::{Value, json};

const ORG: &str = SANDBOX_ORG;

fn today_beijing() -> String {
    medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string()
}

fn recon(s: &Stack, day: &str) -> Value {
    recon_kind(s, "selfpay", day)
}

fn recon_kind(s: &Stack, kind: &str, day: &str) -> Value {
    let statement =
        curl_json(&s.ca, &s.sandbox_url("/sandbox/control/statements"), &json!({"kind": kind, "period": day}));
    assert!(statement["files"][0].is_string(), "{statement}");
    let out = std::process::Command::new(medpay_bin())
        .args(["recon", "run", "--kind", kind, "--org", ORG, "--period", day])
        .env("MEDPAY_TEMPORAL_ADDRESS", s.temporal.address())
        .env("MEDPAY_TASK_QUEUE", s.env_value("MEDPAY_TASK_QUEUE"))
        .env("MEDPAY_PAYLOAD_KEY_FILE", s.env_value("MEDPAY_PAYLOAD_KEY_FILE"))
        .env("MEDPAY_MASTER_KEY", s.env_value("MEDPAY_MASTER_KEY"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("exceptions CSV"), "{stdout}");
    poll(&s.api, &format!("/v1/reconciliations/{kind}/{ORG}/{day}"), "the reconciliation report", 30, |v| {
        v["state"] == "Reported"
    })
}

fn count(r: &Value, class: &str) -> u64 {
    r["summary"]["classes"][class]["count"].as_u64().unwrap_or(0)
}

#[test]
fn a_day_reconciled_with_every_exception_and_a_rerun_changes_nothing() {
    // Debug logging everywhere, so the privacy check at the end reads a chatty log; the
    // counterparty credentials and codec keys sealed at rest (REQ S-4.1e), opened with the key.
    let (his, his_env) = medpay_harness::receiver::Receiver::his("recon");
    let mut env = vec![("MEDPAY_LOG", "debug"), ("MEDPAY_MASTER_KEY", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")];
    env.extend(his_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut s = Stack::start_with("recon", &env, true);
    let day = today_beijing();
    // Names sort so the sandbox's dropped line is A's and its wrong amount is Z's.
    let under = s.paid("resident", "HIS-RC-A-UNDER", &[8_000]);
    s.paid("resident", "HIS-RC-B-NORMAL", &[8_000]);
    s.paid("resident", "HIS-RC-C-REFUND", &[8_000]);
    s.paid("resident", "HIS-RC-Z-WRONG", &[8_000]);
    let body = json!({"org_code": ORG, "med_org_ord": "HIS-RC-C-REFUND", "refund_no": "RN-RC-C", "auth_code": s.auth_code("resident"), "openid": "o"});
    assert_eq!(http("POST", &s.api, "/v1/refunds", Some(&body.to_string())).unwrap().0, 201);
    poll(&s.api, &format!("/v1/refunds/{ORG}/RN-RC-C"), "refunded", 60, |v| v["state"] == "Refunded");

    // Two orders left pending: no callback, and the bank's query down.
    s.faults(json!({"global": {"endpoints": {"bank.query": {"error_permille": 1000}}},
                    "orders": {"HIS-RC-P1": {"callback": {"lost": true}}, "HIS-RC-P2": {"callback": {"lost": true}},
                               "HIS-RC-I1": {"callback": {"lost": true}}, "HIS-RC-I2": {"callback": {"lost": true}}}}));
    let (p1, p1_mix) = s.order("resident", "HIS-RC-P1", "outpatient", &[8_000], true);
    let (p2, p2_mix) = s.order("resident", "HIS-RC-P2", "outpatient", &[8_000], true);
    s.pay(&p1_mix.unwrap());
    // And two pure-insurance ones (never on the bank's statement): one the patient paid, one not.
    let (i1, i1_mix) = s.order("insurance-only", "HIS-RC-I1", "outpatient", &[1_200], true);
    let (i2, _) = s.order("insurance-only", "HIS-RC-I2", "outpatient", &[1_200], true);
    s.pay(&i1_mix.unwrap());
    for p in [&p1, &p2, &i1, &i2] {
        poll(&s.api, p, "pending", 30, |v| v["state"] == "PendingReconciliation");
    }
    s.faults(json!({"global": {"statement": {"missing_line": true, "wrong_amount": true, "extra_line": true}}}));

    let first = recon(&s, &day);
    let classes = |r: &Value| {
        [
            "MATCHED",
            "HOSPITAL_ONLY",
            "AMOUNT_MISMATCH",
            "BANK_ONLY",
            "PENDING_SETTLED",
            "PENDING_CLOSED",
            "REFUND_MATCHED",
            "OVER_COLLECTED",
        ]
        .map(|c| count(r, c))
    };
    assert_eq!(classes(&first), [2, 1, 1, 1, 1, 1, 1, 0], "{first}");
    assert!(
        first["summary"]["loaded"]["control_mismatch"].is_string(),
        "the dropped line and the changed amount break the control totals"
    );
    let exceptions = first["exceptions"].as_array().unwrap();
    let under_notice = exceptions.iter().find(|e| e["class"] == "HOSPITAL_ONLY").unwrap();
    assert_eq!(
        (under_notice["his_order"].as_str(), under_notice["hospital_yuan"].as_str(), under_notice["action"].as_str()),
        (Some("HIS-RC-A-UNDER"), Some("40.00"), Some("notify_his"))
    );
    poll(&s.api, &p1, "settled by reconciliation", 30, |v| v["state"] == "Paid");
    let closed = poll(&s.api, &p2, "closed by reconciliation", 30, |v| v["state"] == "Failed");
    assert!(closed["failure_reason"].as_str().unwrap().contains("reconciliation"), "{closed}");
    // The pure-insurance ones are closed by the platform's order status (6301), the same day,
    // not left for the monthly file.
    assert_eq!(count(&first, "PENDING_INSURANCE"), 2, "{first}");
    let settled = poll(&s.api, &i1, "settled by 6301", 30, |v| v["state"] == "Paid");
    assert!(settled["failure_reason"].as_str().unwrap().contains("the platform settled it"), "{settled}");
    let unpaid = poll(&s.api, &i2, "closed by 6301", 30, |v| v["state"] == "Failed");
    assert!(unpaid["failure_reason"].as_str().unwrap().contains("6301"), "{unpaid}");
    assert_eq!(
        poll(&s.api, &under, "still paid", 5, |_| true)["state"],
        "Paid",
        "an under-collection is reported, not reversed"
    );
    // REQ X-8c: the HIS is told what the patient owes.
    let owed = his.notices_until("the under-collection notice", |all| {
        all.iter().any(|n| n["event"] == "payment.under_collected")
    });
    let owed = owed.iter().find(|n| n["event"] == "payment.under_collected").unwrap();
    assert_eq!(
        (owed["med_org_ord"].as_str(), owed["owed_fen"].as_i64()),
        (Some("HIS-RC-A-UNDER"), Some(4_000)),
        "{owed}"
    );

    // An operator records how the under-collection was resolved offline (REQ §8, X-8c): once;
    // the same again is the same, another reference a conflict; a matched item has nothing to
    // resolve.
    let resolve = |item: &str, reference: &str| {
        let path = format!("/v1/reconciliations/selfpay/{ORG}/{day}/exceptions/{item}/resolution");
        let (status, body) =
            http("POST", &s.api, &path, Some(&json!({"reference": reference, "by": "finance-01"}).to_string()))
                .unwrap();
        (status, json(&body))
    };
    let item = under_notice["item"].as_str().unwrap().to_string();
    let (status, r) = resolve(&item, "counter receipt 0001");
    assert_eq!((status, r["resolution"]["by"].as_str()), (200, Some("finance-01")), "{r}");
    assert_eq!(resolve(&item, "counter receipt 0001").0, 200);
    assert_eq!(resolve(&item, "another receipt").1["code"], "RESOLUTION_CONFLICT");
    assert_eq!(resolve("P:SPHIS-RC-B-NORMAL", "x").1["code"], "RESOLUTION_CONFLICT", "a matched item");
    assert_eq!(resolve("P:NO-SUCH", "x").0, 404);
    let listed = json(&http("GET", &s.api, &format!("/v1/reconciliations/selfpay/{ORG}/{day}"), None).unwrap().1);
    let resolved =
        listed["exceptions"].as_array().unwrap().iter().find(|e| e["item"] == item.as_str()).unwrap().clone();
    assert_eq!(resolved["resolution"]["reference"], "counter receipt 0001", "{resolved}");

    // The same day again: the same classes, no action taken twice.
    let again = recon(&s, &day);
    assert_eq!(classes(&again), classes(&first));
    assert_eq!(again["summary"]["actions_taken"], 0, "{again}");

    // The closed order's patient had paid after all: the next run finds the money and gives it back.
    s.pay(&p2_mix.unwrap());
    let third = recon(&s, &day);
    assert_eq!(count(&third, "OVER_COLLECTED"), 1, "{third}");
    let refund =
        poll(&s.api, &format!("/v1/refunds/{ORG}/X8BSPHIS-RC-P2"), "the X-8b refund", 60, |v| v["state"] == "Refunded");
    assert_eq!((refund["kind"].as_str(), refund["cash_fen"].as_i64()), (Some("over_collection"), Some(4_000)));
    let books = s.books();
    assert_eq!(
        books["bank_refunds"].as_array().unwrap().iter().filter(|r| r["out_trade_no"] == "SPHIS-RC-P2").count(),
        1
    );

    // The month's insurance detail (REQ C-6.3.1): every settled insurance part matches, the
    // refund's insurance part too; the order the hospital closed had its insurance part settled
    // by the platform: X-8b gives it back through 6203 under the platform's own refund
    // authorisation, no patient action.
    s.faults(json!({}));
    let insurance = recon_kind(&s, "insurance", &day[..7]);
    let ins = ["MATCHED", "OVER_COLLECTED", "REFUND_MATCHED", "BANK_ONLY", "AMOUNT_MISMATCH", "HOSPITAL_ONLY"]
        .map(|c| count(&insurance, c));
    assert_eq!(ins, [6, 1, 1, 0, 0, 0], "{insurance}");
    assert!(insurance["summary"]["loaded"]["control_mismatch"].is_null(), "{insurance}");
    let closed = poll(&s.api, &p2, "the closed payment", 5, |_| true);
    let refund_no = format!("X8BI{}", closed["pay_ord_id"].as_str().unwrap());
    let back = poll(&s.api, &format!("/v1/refunds/{ORG}/{refund_no}"), "the X-8b insurance refund", 60, |v| {
        v["state"] == "Refunded"
    });
    assert_eq!(
        (back["kind"].as_str(), back["fund_fen"].as_i64(), back["psn_acct_fen"].as_i64(), back["cash_fen"].as_i64()),
        (Some("over_collection"), closed["fund_fen"].as_i64(), closed["psn_acct_fen"].as_i64(), Some(0)),
        "{back}"
    );

    // The day's three-way view for finance: each payment
    // beside both statements, in the API (JSON and CSV) and from `medpay recon show`.
    let (status, text) = http("GET", &s.api, &format!("/v1/reconciliations/days/{ORG}/{day}"), None).unwrap();
    assert_eq!(status, 200, "{text}");
    let view = json(&text);
    assert!(view["selfpay_run"].is_string() && view["insurance_run"].is_string(), "{view}");
    let verdict = |ord: &str| {
        view["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["med_org_ord"] == ord)
            .map(|r| r["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict("HIS-RC-B-NORMAL").as_deref(), Some("AGREED"), "{view}");
    assert_eq!(verdict("HIS-RC-A-UNDER").as_deref(), Some("BANK_DIFFERS"), "the bank dropped its line: {view}");
    assert_eq!(verdict("HIS-RC-Z-WRONG").as_deref(), Some("BANK_DIFFERS"), "the bank's amount differs: {view}");
    assert!(
        view["rows"].as_array().unwrap().iter().any(|r| r["verdict"] == "BANK_ONLY"),
        "the line the hospital never made: {view}"
    );
    let (status, csv) = http("GET", &s.api, &format!("/v1/reconciliations/days/{ORG}/{day}?format=csv"), None).unwrap();
    assert_eq!(status, 200);
    assert!(
        csv.starts_with('\u{feff}')
            && csv.contains("结论 verdict")
            && csv.contains("HIS-RC-B-NORMAL,Paid,80.00,40.00,40.00"),
        "{csv}"
    );
    let csv_file = s.dir.join("three-way.csv");
    let out = std::process::Command::new(medpay_bin())
        .args(["recon", "show", "--org", ORG, "--day", &day, "--csv", csv_file.to_str().unwrap()])
        .envs(s.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains("HIS-RC-A-UNDER") && shown.contains("disagree"),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&csv_file).unwrap(), csv, "the CLI's CSV is the API's");

    s.record(&format!("recon-selfpay-{ORG}-{day}"), "recon-selfpay-day");

    // The product created its schedules on the server.
    let list = std::process::Command::new(temporal_bin())
        .args(["schedule", "list", "--address", &format!("127.0.0.1:{}", s.temporal.port)])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(&format!("recon-selfpay-daily-{ORG}")),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );

    // REQ S-4.1e: after payments, refunds (one of them an X-8b anomaly refund) and both
    // reconciliations, no personal data in any exported history nor in medpay's log.
    let (histories, log_lines, values) = s.assert_no_personal_data();
    eprintln!("privacy: {histories} histories and {log_lines} log lines free of {values} personal values");
    s.stop();
}
