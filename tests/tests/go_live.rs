//! Going live (REQ O-5), end to end: Appendix A's forms from a hospital's configuration and
//! onboarding facts (every column the standard heads, missing facts named); the acceptance run
//! against the sandbox on both channels with its report (JSON, HTML, PDF), failing one party's
//! cases with a readable reason when that party's key is wrong; the rollout gate refusing a
//! patient outside it (closed production, pilot), suspending new payments while a refund goes
//! on, and refusing `live` until an acceptance report passed for the configuration in force.
//! Forms and report are rendered in headless Chromium; `MEDPAY_GO_LIVE_SCREENSHOTS=docs/go-live`
//! refreshes the README's screenshots.

use medpay_harness::stack::{Stack, poll};
use medpay_harness::webdriver::Browser;
use medpay_harness::{http, json, medpay_bin, workspace_root};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const ORG: &str = medpay_harness::SANDBOX_ORG;

/// Appendix A's headings as the standard prints them (T/SCPCA 010-2024 p. 8-9).
const A1_LABELS: [&str; 11] = [
    "申请机构名称",
    "定点机构编号",
    "机构服务厂商",
    "机构负责人",
    "机构服务厂商负责人",
    "机构服务厂商负责人身份证号",
    "机构服务厂商联系电话",
    "申请开通接口",
    "用途",
    "县（区）医保局初审意见",
    "市医保复审意见",
];
const A2_COLUMNS: [&str; 13] = [
    "序号",
    "省份",
    "商户号",
    "商户名",
    "商户APPID",
    "商户APPID主体",
    "服务商商户号",
    "服务商户名",
    "服务商APPID",
    "需求环境",
    "接入模式",
    "联系人名字",
    "联系人电话",
];
const A3_COLUMNS: [&str; 5] =
    ["姓名", "证件号码", "证件类型", "参保地代码（多地参保请用-分隔）", "参保地名称（多地参保请用-分隔）"];
const A4_COLUMNS: [&str; 4] = ["姓名", "证件号码", "手机号码", "认证号"];
const A5_COLUMNS: [&str; 3] = ["姓名", "人员信息", "调试医院"];

/// The example facts without the vendor's phone: one fact missing on purpose.
fn facts(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(workspace_root().join("deploy/config/onboarding.example.toml")).unwrap();
    let text: String = text.lines().filter(|l| !l.starts_with("phone = \"0288")).map(|l| format!("{l}\n")).collect();
    let f = dir.join("onboarding.toml");
    std::fs::write(&f, text).unwrap();
    f
}

/// A copy of the sandbox's hospital file in `to`, naming the facts and, when given, another
/// credentials file.
fn hospital_file(dir: &Path, to: &str, credentials: Option<&Path>) -> String {
    let served = dir.join(to);
    std::fs::create_dir_all(&served).unwrap();
    let original = std::fs::read_to_string(dir.join(format!("hospitals/{ORG}.toml"))).unwrap();
    let mut text = format!("onboarding_facts = \"{}\"\n", facts(dir).display());
    for line in original.lines() {
        match (line.starts_with("credentials_file"), credentials) {
            (true, Some(c)) => text.push_str(&format!("credentials_file = \"{}\"\n", c.display())),
            _ => text.push_str(&format!("{line}\n")),
        }
    }
    std::fs::write(served.join(format!("{ORG}.toml")), text).unwrap();
    served.display().to_string()
}

fn medpay(s: &Stack, args: &[&str]) -> (bool, String) {
    let out = Command::new(medpay_bin()).args(args).envs(s.env().iter().map(|(k, v)| (k, v))).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn acceptance(s: &Stack, out: &Path) -> (bool, String, Value) {
    let sandbox = format!("https://{}", s.sandbox_addr);
    let api = format!("http://{}", s.api);
    let (ok, text) = medpay(
        s,
        &[
            "acceptance",
            "run",
            "--org",
            ORG,
            "--api",
            &api,
            "--sandbox",
            &sandbox,
            "--openid",
            "o-tester-1",
            "--out",
            out.to_str().unwrap(),
            "--pdf",
        ],
    );
    let report =
        json(&std::fs::read_to_string(out.join("report.json")).unwrap_or_else(|_| panic!("no report.json: {text}")));
    (ok, text, report)
}

fn rollout(s: &Stack, body: Value) -> (u16, Value) {
    let (status, text) =
        http("POST", &s.api, &format!("/v1/hospitals/{ORG}/rollout"), Some(&body.to_string())).unwrap();
    (status, json(&text))
}

fn bill(s: &Stack, ord: &str, openid: &str) -> Value {
    let code = s.auth_code("mixed");
    let mut body = json!({"org_code": ORG, "med_org_ord": ord, "scene": "outpatient", "auth_code": code, "openid": openid, "lines": [{"code": "C1", "name": "检查", "amount_fen": 2_000}]});
    medpay_schemas::bill::sample::complete(&mut body);
    body
}

fn post(s: &Stack, body: &Value) -> (u16, Value) {
    let (status, text) = http("POST", &s.api, "/v1/payments", Some(&body.to_string())).unwrap();
    (status, json(&text))
}

fn create(s: &Stack, ord: &str, openid: &str) -> (u16, Value) {
    post(s, &bill(s, ord, openid))
}

/// PDF pages as Chromium writes them (one `/Type /Page` object per page).
fn pdf_pages(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

/// Renders a file in headless Chromium; returns the screenshot's path after checking it is not
/// blank (a white page compresses to a few KB) and that the page shows its tables.
fn render(b: &Browser, html: &Path, shot: &Path, tables_at_least: u64) {
    b.goto(&format!("file://{}", html.display()));
    let tables = b.run("return document.querySelectorAll('table').length", json!([]));
    assert!(tables.as_u64().unwrap() >= tables_at_least, "{} shows {tables} tables", html.display());
    b.screenshot(shot);
    let size = std::fs::metadata(shot).unwrap().len();
    assert!(size > 30_000, "{} looks blank: {size} bytes", shot.display());
    if let Ok(dir) = std::env::var("MEDPAY_GO_LIVE_SCREENSHOTS") {
        let dir = workspace_root().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(shot, dir.join(shot.file_name().unwrap())).unwrap();
    }
}

#[test]
fn forms_acceptance_and_the_rollout_gate() {
    let prepare = |dir: &Path| vec![("MEDPAY_PARTIES_HOSPITALS_DIR".to_string(), hospital_file(dir, "served", None))];
    let mut s = Stack::start_hospitals_sftp("go-live", &[], &prepare);
    let browser = Browser::start(1280, 1600);

    // 1. The forms: every column of A.1-A.5, the facts filled in, the missing one named.
    let forms = s.dir.join("forms");
    let (ok, text) = medpay(&s, &["onboarding", "forms", "--org", ORG, "--out", forms.to_str().unwrap(), "--pdf"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("A.1: vendor.phone") && text.contains("missing facts (1)"),
        "the missing fact is named: {text}"
    );
    assert!(!text.contains("510104199001011234"), "the command prints no ID number: {text}");
    let html = std::fs::read_to_string(forms.join("appendix-a.html")).unwrap();
    for heading in A1_LABELS.iter().chain(&A2_COLUMNS).chain(&A3_COLUMNS).chain(&A4_COLUMNS).chain(&A5_COLUMNS) {
        assert!(html.contains(&format!(">{heading}<")), "Appendix A heading {heading} is missing");
    }
    assert!(
        html.contains("queryPsninfobyZFB(人员基本信息获取移动支付)")
            && html.contains("授权后获取参保信息作为 6201 费用明细上传"),
        "A.1's fixed texts"
    );
    assert!(html.contains("缺：vendor.phone"), "marked on the form, not a silent blank");
    for (file, columns) in [
        ("A.2.csv", &A2_COLUMNS[..]),
        ("A.3.csv", &A3_COLUMNS[..]),
        ("A.4.csv", &A4_COLUMNS[..]),
        ("A.5.csv", &A5_COLUMNS[..]),
    ] {
        let csv = std::fs::read_to_string(forms.join(file)).unwrap();
        let header = csv.trim_start_matches('\u{feff}').lines().next().unwrap().to_string();
        assert_eq!(header.split(',').collect::<Vec<_>>(), columns, "{file}");
    }
    let a3 = std::fs::read_to_string(forms.join("A.3.csv")).unwrap();
    assert!(a3.contains("测试丙,510703197003033456,身份证,510700-510100,绵阳市市本级-成都市市本级"), "{a3}");
    let a2 = std::fs::read_to_string(forms.join("A.2.csv")).unwrap();
    assert!(
        a2.lines().nth(1).unwrap().contains(",正式环境,服务商模式,"),
        "the environment from the configuration's stage: {a2}"
    );
    use std::os::unix::fs::PermissionsExt;
    for file in ["appendix-a.html", "A.1.csv", "A.2.csv", "A.3.csv", "A.4.csv", "A.5.csv", "appendix-a.pdf"] {
        let mode = std::fs::metadata(forms.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} holds ID numbers");
    }
    assert_eq!(pdf_pages(&forms.join("appendix-a.pdf")), 5, "one page per form");
    render(&browser, &forms.join("appendix-a.html"), &s.dir.join("shots/appendix-a.png"), 5);

    // 2. The gate: closed production admits the test persons only.
    let (status, body) = rollout(&s, json!({"stage": "live", "actor": "ops-1", "reason": "open"}));
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ACCEPTANCE_REQUIRED")),
        "live needs a passing report: {body}"
    );
    let (status, body) =
        rollout(&s, json!({"stage": "closed-production", "actor": "ops-1", "reason": "production parameters in"}));
    assert_eq!(status, 422, "closed-production is spelt with an underscore in JSON: {body}");
    let (status, body) =
        rollout(&s, json!({"stage": "closed_production", "actor": "ops-1", "reason": "production parameters in"}));
    assert_eq!((status, body["stage"].as_str()), (200, Some("closed_production")), "{body}");
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let (status, body) = create(&s, "GATE-1", "o-stranger");
    assert_eq!((status, body["code"].as_str()), (403, Some("NOT_OPEN_FOR_PATIENT")), "{body}");
    let tester = bill(&s, "GATE-2", "o-tester-2");
    let (status, body) = post(&s, &tester);
    assert_eq!(status, 201, "a test person of the onboarding facts pays: {body}");
    // Pilot at 0 %: still only the allowlist; a device added to it pays.
    let (status, body) = rollout(
        &s,
        json!({"stage": "pilot", "share_percent": 0, "allow_openids": ["o-device-9"], "actor": "ops-1", "reason": "pilot"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(create(&s, "GATE-3", "o-stranger").1["code"], "NOT_OPEN_FOR_PATIENT");
    assert_eq!(create(&s, "GATE-4", "o-device-9").0, 201);

    // 3. A wrong key at one party (Alipay's public key is another key): the acceptance run fails
    //    that party's cases, with the reason, and nothing else.
    let credentials: Value = json(&std::fs::read_to_string(s.dir.join("credentials.json")).unwrap());
    let mut broken = credentials.clone();
    let wrong = broken["hospitals"][0]["mid_platform"]["platform_public_key"].clone();
    broken["hospitals"][0]["channel"]["alipay_platform_public_key"] = wrong;
    let broken_file = s.dir.join("credentials-broken.json");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    let served_broken = hospital_file(&s.dir, "served-broken", Some(&broken_file));
    s.kill_medpay();
    s.set_env("MEDPAY_PARTIES_HOSPITALS_DIR", &served_broken);
    s.restart_medpay();
    let (ok, text, report) = acceptance(&s, &s.dir.join("acceptance-broken"));
    assert!(!ok, "the run fails: {text}");
    let cases = report["cases"].as_array().unwrap();
    let failed: Vec<&Value> = cases.iter().filter(|c| c["passed"] == false).collect();
    assert!(failed.iter().all(|c| c["channel"] == "alipay"), "only Alipay's cases fail: {text}");
    assert!(
        failed.iter().any(|c| c["reason"].as_str().unwrap().to_lowercase().contains("alipay")),
        "the reason names the party: {text}"
    );
    assert!(cases.iter().filter(|c| c["channel"] == "wechat").all(|c| c["passed"] == true), "{text}");

    // 4. The configuration put right: every case passes on both channels.
    s.kill_medpay();
    s.set_env("MEDPAY_PARTIES_HOSPITALS_DIR", &s.dir.join("served").display().to_string());
    s.restart_medpay();
    let out = s.dir.join("acceptance");
    let (ok, text, report) = acceptance(&s, &out);
    assert!(ok, "{text}");
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2 * 13 + 1, "{text}");
    for scene in ["registration", "outpatient", "pharmacy"] {
        for kind in ["纯医保 pure insurance", "纯自费 pure self-pay", "混合 mixed"] {
            for channel in ["wechat", "alipay"] {
                let c = cases
                    .iter()
                    .find(|c| c["scene"] == scene && c["kind"] == kind && c["channel"] == channel)
                    .unwrap_or_else(|| panic!("{channel} {scene} {kind}"));
                let a = &c["amounts"];
                assert_eq!(
                    a["fund_fen"].as_i64().unwrap()
                        + a["psn_acct_fen"].as_i64().unwrap()
                        + a["own_pay_fen"].as_i64().unwrap(),
                    a["total_fen"].as_i64().unwrap(),
                    "{c}"
                );
                assert!(
                    c["exchanges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["signature_ok"] == true && e["request_sm3"].as_str().is_some_and(|d| d.len() == 64)),
                    "{c}"
                );
            }
        }
    }
    let lost = cases.iter().find(|c| c["id"] == "wechat/outpatient/lost-callback").unwrap();
    assert!(lost["reason"].as_str().unwrap().contains("compensating query"), "{lost}");
    let report_html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report_html.contains("医疗机构 hospital")
            && report_html.contains("清算银行 clearing bank")
            && report_html.contains("医保经办机构 insurance office"),
        "sign-off lines"
    );
    assert!(
        report_html.contains(&format!("/namespaces/default/workflows/pay-{ORG}-")),
        "workflows linked to the Temporal UI"
    );
    for personal in ["510104199001011234", "测试甲", "13800000001"] {
        assert!(
            !report_html.contains(personal)
                && !std::fs::read_to_string(out.join("report.json")).unwrap().contains(personal),
            "no personal data: {personal}"
        );
    }
    let pages = pdf_pages(&out.join("report.pdf"));
    assert!(pages >= 3, "summary and sign-off, then the cases: {pages} pages");
    render(&browser, &out.join("report.html"), &s.dir.join("shots/acceptance-report.png"), 3);

    // 5. Live now allowed; every change recorded with who and why.
    let (status, body) = rollout(&s, json!({"stage": "live", "actor": "ops-2", "reason": "acceptance passed"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted_channels"], json!(["alipay", "wechat"]), "{body}");
    let history = body["history"].as_array().unwrap();
    assert_eq!(
        history.iter().map(|c| c["to"].as_str().unwrap()).collect::<Vec<_>>(),
        ["live", "pilot", "closed_production"],
        "{body}"
    );
    assert_eq!((history[0]["actor"].as_str(), history[0]["from"].as_str()), (Some("ops-2"), Some("pilot")));
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    assert_eq!(create(&s, "GATE-5", "o-stranger").0, 201, "live admits everyone");

    // 6. Suspended: no new payment, while a refund of an earlier one completes.
    assert_eq!(rollout(&s, json!({"stage": "suspended", "actor": "ops-2", "reason": "incident 7"})).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let (status, body) = create(&s, "GATE-6", "o-tester-1");
    assert_eq!((status, body["code"].as_str()), (403, Some("HOSPITAL_SUSPENDED")), "{body}");
    let paid = cases.iter().find(|c| c["id"] == "wechat/registration/insurance").unwrap()["med_org_ord"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, text) = http(
        "POST",
        &s.api,
        "/v1/refunds",
        Some(&json!({"org_code": ORG, "med_org_ord": paid, "refund_no": "GATE-R1", "reason": "suspended"}).to_string()),
    )
    .unwrap();
    assert_eq!(status, 201, "{text}");
    poll(&s.api, &format!("/v1/refunds/{ORG}/GATE-R1"), "the refund during suspension", 60, |v| {
        v["state"] == "Refunded"
    });
    let (status, body) = post(&s, &tester);
    assert_eq!(status, 200, "a retried create of an existing payment is answered as before: {body}");
    let (ok, text) = medpay(&s, &["rollout", "status", "--org", ORG]);
    assert!(
        ok && text.contains("suspended") && text.contains("by ops-2: incident 7") && text.contains("PASSED"),
        "{text}"
    );
    s.stop();
}
