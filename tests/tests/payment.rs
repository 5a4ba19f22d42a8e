//! A mixed payment end to end: the HIS API of `medpay run` against a real Temporal dev server
//! and the sandbox counterparties (`medpay sandbox`): create (idempotent, 409 on a different
//! body), pre-settlement split, confirmation, the bank's mixed order, the patient paying at the
//! sandbox cashier, the verified callback, and the ledger to the fen.

use medpay_tests::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

fn curl_json(ca: &std::path::Path, url: &str, body: &Value) -> Value {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert", ca.to_str().unwrap(), "-H", "content-type: application/json", "-d", &body.to_string(), url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&String::from_utf8_lossy(&out.stdout))
}

fn poll(api: &str, path: &str, what: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Ok((200, body)) = http("GET", api, path, None) {
            last = json(&body);
            if done(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}; last: {last}");
}

#[test]
fn a_mixed_payment_through_the_his_api() {
    let stack = stack("pay");
    let (api, sandbox_addr, ca) = (stack.api.clone(), stack.sandbox_addr.clone(), stack.ca.clone());
    // The patient authorises at the channel; the HIS creates the payment with the authCode.
    let auth = curl_json(&ca, &format!("https://{sandbox_addr}/sandbox/patient/authorize"), &json!({"persona": "mixed"}));
    let body = json!({
        "org_code": "H51010500001", "med_org_ord": "HIS-E2E-1", "scene": "outpatient",
        "auth_code": auth["authCode"], "openid": "o-e2e",
        "lines": [{"code": "XA01", "name": "药品", "amount_fen": 20000}, {"code": "XA02", "name": "检查", "amount_fen": 10000}]
    });
    let (status, created) = http("POST", &api, "/v1/payments", Some(&body.to_string())).unwrap();
    assert_eq!(status, 201, "{created}");
    assert_eq!(json(&created)["workflow_id"], "pay-H51010500001-HIS-E2E-1");
    assert_eq!(http("POST", &api, "/v1/payments", Some(&body.to_string())).unwrap().0, 200, "same body: same payment");
    let mut other = body.clone();
    other["lines"][0]["amount_fen"] = json!(20001);
    let (status, conflict) = http("POST", &api, "/v1/payments", Some(&other.to_string())).unwrap();
    assert_eq!((status, json(&conflict)["code"].as_str()), (409, Some("PAYMENT_CONFLICT")));

    let path = "/v1/payments/H51010500001/HIS-E2E-1";
    let pre = poll(&api, path, "the pre-settlement", 60, |v| v["state"] == "PreSettled");
    assert_eq!((pre["fund_fen"].as_i64(), pre["psn_acct_fen"].as_i64(), pre["own_pay_fen"].as_i64()), (Some(21_000), Some(5_000), Some(4_000)));

    let (status, _) = http("POST", &api, &format!("{path}/confirm"), Some(r#"{"confirm":true}"#)).unwrap();
    assert_eq!(status, 202);
    let ordered = poll(&api, path, "the bank's mixed order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
    let mix = ordered["workflow"]["cashier"]["mix_trade_no"].as_str().unwrap().to_string();
    assert!(ordered["workflow"]["cashier"]["prepay"]["package"].as_str().unwrap().starts_with("prepay_id="));

    let paid = curl_json(&ca, &format!("https://{sandbox_addr}/sandbox/patient/pay"), &json!({"mix_trade_no": mix}));
    assert_eq!(paid["mix_pay_status"], "MIX_PAY_SUCCESS");
    let done = poll(&api, path, "the payment to be paid", 30, |v| v["state"] == "Paid");
    assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS");

    // The sandbox's books agree, and its callback was acknowledged by medpay.
    let out = Command::new("curl").args(["-sS", "--cacert", ca.to_str().unwrap(), &format!("https://{sandbox_addr}/sandbox/control/state")]).output().unwrap();
    let books = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(books["mixed_orders"].as_array().unwrap().len(), 1, "one mixed order, however many retries");
    assert_eq!(books["mid_orders"][0]["ord_stas"], "6");
    assert_eq!(books["self_pay_orders"][0]["total"], 4_000);
    assert!(books["callbacks"].as_array().unwrap().iter().any(|c| c["acknowledged"] == true), "{}", books["callbacks"]);
    stack.stop();
}

struct Stack {
    _temporal: TemporalDevServer,
    sandbox: Proc,
    medpay: Proc,
    api: String,
    sandbox_addr: String,
    ca: std::path::PathBuf,
}

fn stack(name: &str) -> Stack {
    let temporal = TemporalDevServer::start();
    let dir = std::env::temp_dir().join(format!("medpay-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sandbox_addr = format!("127.0.0.1:{}", free_port());
    let mut sandbox = Proc::spawn(Command::new(medpay_bin()).args(["sandbox", "--listen", &sandbox_addr, "--data-dir", dir.to_str().unwrap()]));
    sandbox.wait_for_line("personas", Duration::from_secs(30));
    let ca = dir.join("tls/ca.pem");
    let api = format!("127.0.0.1:{}", free_port());
    let mut medpay = Proc::spawn(
        Command::new(medpay_bin())
            .arg("run")
            .env("MEDPAY_TEMPORAL_ADDRESS", temporal.address())
            .env("MEDPAY_API_LISTEN", &api)
            .env("MEDPAY_TASK_QUEUE", format!("{name}-{}", std::process::id()))
            .env("MEDPAY_PAYLOAD_KEY_FILE", payload_key_file())
            .env("MEDPAY_LEDGER_URL", format!("sqlite://{}?mode=rwc", dir.join("ledger.db").display()))
            .env("MEDPAY_PARTIES_PARAMS_FILE", dir.join("credentials.json"))
            .env("MEDPAY_PARTIES_BASE_URL", format!("https://{sandbox_addr}"))
            .env("MEDPAY_PARTIES_CA_FILE", &ca)
            .env("MEDPAY_CALLBACK_URL", format!("http://{api}/v1/bank/callback")),
    );
    medpay.wait_for_line("medpay API", Duration::from_secs(60));
    wait_until("/healthz", Duration::from_secs(30), || http("GET", &api, "/healthz", None).map(|r| r.0 == 200).unwrap_or(false));
    Stack { _temporal: temporal, sandbox, medpay, api, sandbox_addr, ca }
}

impl Stack {
    fn sandbox_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.sandbox_addr)
    }

    /// Creates a payment, waits for the pre-settlement, confirms (or declines) it; returns the
    /// status path and the mixed order no. (when ordered).
    fn order(&self, persona: &str, ord: &str, scene: &str, fen: &[i64], confirm: bool) -> (String, Option<String>) {
        let auth = curl_json(&self.ca, &self.sandbox_url("/sandbox/patient/authorize"), &json!({"persona": persona}));
        let lines: Vec<Value> = fen.iter().enumerate().map(|(i, f)| json!({"code": format!("L{i}"), "name": "项目", "amount_fen": f})).collect();
        let body = json!({"org_code": "H51010500001", "med_org_ord": ord, "scene": scene, "auth_code": auth["authCode"], "openid": "o", "lines": lines});
        let (status, created) = http("POST", &self.api, "/v1/payments", Some(&body.to_string())).unwrap();
        assert_eq!(status, 201, "{created}");
        let path = format!("/v1/payments/H51010500001/{ord}");
        poll(&self.api, &path, "the pre-settlement", 60, |v| v["state"] == "PreSettled");
        let c = json!({"confirm": confirm}).to_string();
        assert_eq!(http("POST", &self.api, &format!("{path}/confirm"), Some(&c)).unwrap().0, 202);
        if !confirm {
            return (path, None);
        }
        let ordered = poll(&self.api, &path, "the mixed order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
        (path, ordered["workflow"]["cashier"]["mix_trade_no"].as_str().map(String::from))
    }

    fn pay(&self, mix: &str) -> Value {
        curl_json(&self.ca, &self.sandbox_url("/sandbox/patient/pay"), &json!({"mix_trade_no": mix}))
    }

    fn faults(&self, f: Value) {
        let out = Command::new("curl")
            .args(["-sS", "-X", "PUT", "--cacert", self.ca.to_str().unwrap(), "-H", "content-type: application/json", "-d", &f.to_string(), &self.sandbox_url("/sandbox/control/faults")])
            .output()
            .unwrap();
        assert!(out.status.success());
    }

    fn stop(mut self) {
        let _ = self.medpay.terminate(Duration::from_secs(30));
        let _ = self.sandbox.terminate(Duration::from_secs(10));
    }
}

/// The joint-test matrix of REQ O-5: pure insurance, pure self-pay and mixed, in the scenes
/// registration, outpatient and pharmacy; and a declined pre-settlement revoked with 6401.
#[test]
fn joint_test_matrix_and_a_declined_bill() {
    let s = stack("matrix");
    let cases = [
        ("insurance-only", "HIS-M-INS", "registration", 1_200, (1_080, 120, 0)),
        ("self-pay-only", "HIS-M-CASH", "pharmacy", 3_456, (0, 0, 3_456)),
        ("resident", "HIS-M-MIX", "outpatient", 8_000, (4_000, 0, 4_000)),
    ];
    for (persona, ord, scene, total, (fund, acct, own)) in cases {
        let (path, mix) = s.order(persona, ord, scene, &[total], true);
        assert_eq!(s.pay(&mix.unwrap())["mix_pay_status"], "MIX_PAY_SUCCESS");
        let done = poll(&s.api, &path, "paid", 30, |v| v["state"] == "Paid");
        assert_eq!((done["fund_fen"].as_i64(), done["psn_acct_fen"].as_i64(), done["own_pay_fen"].as_i64()), (Some(fund), Some(acct), Some(own)), "{ord}");
    }
    let (path, _) = s.order("mixed", "HIS-M-NO", "outpatient", &[5_000], false);
    let cancelled = poll(&s.api, &path, "the revoked payment", 30, |v| v["state"] == "Cancelled");
    assert!(cancelled["failure_reason"].as_str().unwrap().contains("6401"));
    s.stop();
}

/// REQ Q-9 and S-4.1d: a lost callback and a forged callback both end paid through the bank
/// query; insurance failing after self-pay ends Failed with the X-8a reason.
#[test]
fn lost_and_forged_callbacks_and_insurance_failure() {
    let s = stack("faults");
    s.faults(json!({"orders": {
        "HIS-F-LOST": {"callback": {"lost": true}},
        "HIS-F-FORGED": {"callback": {"bad_signature": true}},
        "HIS-F-X8A": {"insurance_fails_after_self_pay": true}
    }}));
    let (lost, lost_mix) = s.order("mixed", "HIS-F-LOST", "outpatient", &[10_000], true);
    let (forged, forged_mix) = s.order("resident", "HIS-F-FORGED", "outpatient", &[6_000], true);
    let (x8a, x8a_mix) = s.order("mixed", "HIS-F-X8A", "outpatient", &[30_000], true);
    for m in [lost_mix, forged_mix, x8a_mix] {
        s.pay(&m.unwrap());
    }
    // No callback: the workflow waits 20 s, then finds the result by querying the bank.
    for path in [&lost, &forged] {
        let done = poll(&s.api, path, "paid through the compensating query", 60, |v| v["state"] == "Paid");
        assert_eq!(done["workflow"]["bank"]["mix_pay_status"], "MIX_PAY_SUCCESS");
    }
    let failed = poll(&s.api, &x8a, "the failed payment", 60, |v| v["state"] == "Failed");
    assert!(failed["failure_reason"].as_str().unwrap().contains("X-8a"), "{failed}");
    s.stop();
}
