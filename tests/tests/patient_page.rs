//! The patient's page (REQ E-4.4) in a real browser: Debian's headless Chromium, phone-sized
//! (360 px), walks the whole flow through the sandbox channel's authorisation and cashier pages,
//! in standard and in care mode, and the ledger must agree with what the page says to the fen.
//! axe-core (npm, tests/browser) audits each screen: WCAG 2.1 AA in standard mode, AAA contrast
//! in care mode; care mode's sizes are also measured directly.
//!
//! `MEDPAY_PATIENT_SCREENSHOTS=docs/patient cargo test -p medpay-tests --test patient_page`
//! refreshes the README's screenshots.

use medpay_harness::stack::Stack;
use medpay_harness::webdriver::Browser;
use medpay_harness::{http, json, workspace_root};
use serde_json::{Value, json};
use std::path::PathBuf;

const ORG: &str = medpay_harness::SANDBOX_ORG;

fn axe_source() -> String {
    let p = workspace_root().join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|_| panic!("{} is missing: run `npm ci` in tests/browser (scripts/test.sh does)", p.display()))
}

struct Page<'a> {
    s: &'a Stack,
    b: Browser,
    axe: String,
    shots: PathBuf,
}

impl Page<'_> {
    /// The HIS asks for a link to a new bill; the patient opens it.
    fn open_bill(&self, ord: &str, lines: &[(&str, i64)], use_personal_account: bool) -> String {
        let lines: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(i, (name, fen))| json!({"code": format!("C{i}"), "name": name, "amount_fen": fen}))
            .collect();
        let mut body = json!({"bill": {"scene": "outpatient", "openid": "o-patient", "lines": lines, "use_personal_account": use_personal_account}});
        medpay_schemas::bill::sample::complete(&mut body["bill"]);
        let (status, text) =
            http("POST", &self.s.api, &format!("/v1/payments/{ORG}/{ord}/patient-link"), Some(&body.to_string()))
                .unwrap();
        assert_eq!(status, 201, "{text}");
        let link = json(&text);
        let url = link["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&format!("http://{}/patient/?t=", self.s.api)), "{url}");
        self.b.goto(&url);
        self.at("bill");
        url
    }

    fn at(&self, step: &str) {
        self.b.wait_for(
            &format!("the {step} screen"),
            60,
            &format!("document.getElementById('screen').dataset.step === '{step}'"),
        );
    }

    fn shot(&self, name: &str) {
        self.b.screenshot(&self.shots.join(format!("{name}.png")));
    }

    /// axe-core's violations on the current screen, for the given rules' tags or rule ids.
    fn audit(&self, run_only: Value) -> Vec<Value> {
        if self.b.run("return typeof window.axe", json!([])) != json!("object") {
            self.b.run(&format!("{}\n;return true;", self.axe), json!([]));
        }
        let v = self.b.run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: arguments[0]}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + (n.failureSummary || ''))}))), e => done([{id: 'axe-error', nodes: [String(e)]}]));",
            json!([run_only]),
        );
        v.as_array().cloned().unwrap_or_default()
    }

    fn audit_aa(&self, screen: &str) {
        let v = self.audit(json!({"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}));
        assert!(v.is_empty(), "WCAG 2.1 AA violations on the {screen} screen (standard mode): {v:#?}");
    }

    fn audit_care(&self, screen: &str) {
        let v =
            self.audit(json!({"type": "rule", "values": ["color-contrast-enhanced", "color-contrast", "target-size"]}));
        assert!(v.is_empty(), "AAA contrast violations on the {screen} screen (care mode): {v:#?}");
        // REQ E-4.4 a-b, measured: text >= 18 px, headings larger, icons and touch targets >= 48 px.
        let sizes = self.b.run(
            "const px = e => parseFloat(getComputedStyle(e).fontSize);
             const visible = e => e.getClientRects().length > 0 && !e.closest('[hidden]');
             const body = px(document.body);
             const h1 = [...document.querySelectorAll('h1')].filter(visible).map(px);
             const small = [...document.querySelectorAll('button, a')].filter(visible).map(e => e.getBoundingClientRect())
                 .filter(r => r.width < 48 || r.height < 48).map(r => r.width + 'x' + r.height);
             const icons = [...document.querySelectorAll('svg.icon')].filter(visible).map(e => e.getBoundingClientRect())
                 .filter(r => r.width < 48 || r.height < 48).map(r => r.width + 'x' + r.height);
             const text = [...document.querySelectorAll('p, li, span, button')].filter(visible).map(px).filter(s => s < 18);
             return {body, h1, small, icons, text};",
            json!([]),
        );
        assert!(sizes["body"].as_f64().unwrap() >= 18.0, "care-mode body text {sizes}");
        // Contrast measured directly too (WCAG's relative luminance): every visible text element
        // against the nearest opaque background behind it, at least 7:1.
        let low = self.b.run(
            "const rgb = c => (c.match(/[0-9.]+/g) || []).map(Number);
             const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                                        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
             const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
             const visible = e => e.getClientRects().length > 0 && !e.closest('[hidden]');
             return [...document.querySelectorAll('h1, p, li span, button span, .brand')].filter(visible).filter(e => e.innerText.trim())
               .map(e => { const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e)); return [e.innerText.slice(0, 20), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; })
               .filter(([, r]) => r < 7);",
            json!([]),
        );
        assert_eq!(low, json!([]), "care-mode text below 7:1 on the {screen} screen");
        assert!(
            sizes["h1"].as_array().unwrap().iter().all(|h| h.as_f64().unwrap() > sizes["body"].as_f64().unwrap()),
            "headings larger than text: {sizes}"
        );
        for k in ["small", "icons", "text"] {
            assert!(
                sizes[k].as_array().unwrap().is_empty(),
                "care mode on the {screen} screen: {k} below the minimum: {sizes}"
            );
        }
    }

    /// The ledger's row for the bill, and the page's paid summary, agree to the fen.
    fn assert_paid_agrees(&self, ord: &str, total_fen: i64) -> Value {
        self.at("paid");
        let (_, text) =
            http("GET", &self.s.api, &format!("/v1/payments/{ORG}/{ord}?view=false&exchanges=false"), None).unwrap();
        let row = json(&text);
        assert_eq!(row["state"], "Paid", "{row}");
        assert_eq!(row["total_fen"], total_fen);
        let (fund, acct, own) = (
            row["fund_fen"].as_i64().unwrap(),
            row["psn_acct_fen"].as_i64().unwrap(),
            row["own_pay_fen"].as_i64().unwrap(),
        );
        assert_eq!(fund + acct + own, total_fen, "the split adds up: {row}");
        let yuan = |f: i64| format!("¥{}.{:02}", f / 100, f % 100);
        let summary = self.b.run("return document.getElementById('paid-summary').innerText", json!([]));
        let summary = summary.as_str().unwrap();
        for amount in [yuan(total_fen), yuan(fund + acct), yuan(own)] {
            assert!(summary.contains(&amount), "the page says {summary:?}, the ledger {amount}");
        }
        row
    }

    /// From the bill screen through the channel's pages to the cashier's return.
    fn walk_to_split(&self, persona: &str) {
        self.b.click("#primary");
        self.b.wait_for("the channel's authorisation page", 30, "location.pathname.endsWith('/authorize-page')");
        self.b.click(&format!("#persona-{persona}"));
        self.b.wait_for("back on the patient page", 30, "location.pathname === '/patient/'");
        assert!(!self.b.url().contains("authCode"), "the authCode is dropped from the address: {}", self.b.url());
        self.at("split");
    }

    fn pay_at_cashier(&self) {
        self.at("cashier");
        self.b.click("#primary");
        self.b.wait_for("the sandbox cashier", 30, "location.pathname.endsWith('/cashier-page')");
        self.b.click("#cashier-pay");
        self.b.wait_for("back from the cashier", 30, "location.pathname === '/patient/'");
    }
}

#[test]
fn the_patient_pays_in_a_real_browser_in_standard_and_care_mode() {
    let s = Stack::start("patient-page", &[]);
    let shots = std::env::var_os("MEDPAY_PATIENT_SCREENSHOTS")
        .map(|d| workspace_root().join(d))
        .unwrap_or_else(|| s.dir.join("screens"));
    let p = Page { s: &s, b: Browser::start(360, 780), axe: axe_source(), shots };

    // 1. Standard mode, a mixed bill: fund, personal account and self-pay.
    // Without the personal account, so the patient pays a self-pay part at the cashier.
    let mixed_link = p.open_bill("PAGE-MIXED-1", &[("挂号费", 1200), ("血常规", 2550), ("阿莫西林胶囊", 3875)], false);
    let lines = p.b.run(
        "return [...document.querySelectorAll('.lines li')].map(li => li.innerText.replace(/\\s+/g, ' '))",
        json!([]),
    );
    assert_eq!(lines, json!(["挂号费 ¥12.00", "血常规 ¥25.50", "阿莫西林胶囊 ¥38.75"]));
    assert!(
        p.b.run("return document.querySelector('.total').innerText", json!([])).as_str().unwrap().contains("¥76.25")
    );
    p.audit_aa("bill");
    p.shot("standard-1-bill");
    p.walk_to_split("mixed");
    p.audit_aa("split");
    p.shot("standard-2-split");
    // No timeout without warning: the deadline is on the screen, and close to it, a notice.
    let deadline = p.b.run(
        "return [document.getElementById('deadline').innerText, document.getElementById('notice').hidden]",
        json!([]),
    );
    assert!(deadline[0].as_str().unwrap().contains("前确认"), "{deadline}");
    assert_eq!(deadline[1], json!(false), "the tests' 2-minute deadline is close: a notice is shown: {deadline}");
    // A double tap confirms once: count the page's POSTs while tapping twice.
    p.b.run(
        "window.__posts = 0; const f = window.fetch; window.fetch = (u, o) => { if (o && o.method === 'POST') window.__posts++; return f(u, o); };
         const b = document.getElementById('primary'); b.click(); b.click(); return true;",
        json!([]),
    );
    p.at("cashier");
    assert_eq!(p.b.run("return window.__posts", json!([])), json!(1), "a double tap sends one confirmation");
    p.audit_aa("cashier");
    p.shot("standard-3-cashier");
    p.pay_at_cashier();
    let row = p.assert_paid_agrees("PAGE-MIXED-1", 7625);
    assert!(
        row["own_pay_fen"].as_i64().unwrap() > 0 && row["fund_fen"].as_i64().unwrap() > 0,
        "a mixed payment: {row}"
    );
    p.audit_aa("paid");
    p.shot("standard-4-paid");
    // The HIS refunds 10.00 yuan of the self-pay part: the page shows it when opened again.
    let refund = json!({"org_code": ORG, "med_org_ord": "PAGE-MIXED-1", "refund_no": "PAGE-R-1", "cash_fen": 1000});
    let (status, body) = http("POST", &s.api, "/v1/refunds", Some(&refund.to_string())).unwrap();
    assert_eq!(status, 201, "{body}");
    medpay_harness::stack::poll(&s.api, &format!("/v1/refunds/{ORG}/PAGE-R-1"), "the refund", 60, |v| {
        v["state"] == "Refunded"
    });
    p.b.goto(&mixed_link);
    p.at("paid");
    p.b.wait_for(
        "the refund on the paid screen",
        10,
        "document.getElementById('refunded').innerText.includes('¥10.00')",
    );
    // English, as the second language file.
    p.b.click("#lang");
    p.b.wait_for(
        "the English page",
        10,
        "document.documentElement.lang === 'en' && document.querySelector('h1').innerText === 'Paid'",
    );
    p.b.wait_for(
        "the refund in English",
        10,
        "document.getElementById('refunded').innerText === '¥10.00 has been refunded.'",
    );
    p.audit_aa("paid (English)");
    p.b.click("#lang");
    p.b.wait_for("back in Chinese", 10, "document.documentElement.lang === 'zh-CN'");
    // The same page on a desktop: no sideways scrolling at either width.
    let desktop = Browser::start(1280, 800);
    desktop.goto(&mixed_link);
    desktop.wait_for("the paid screen on a desktop", 30, "document.getElementById('screen').dataset.step === 'paid'");
    for b in [&p.b, &desktop] {
        assert_eq!(
            b.run("return document.documentElement.scrollWidth <= window.innerWidth", json!([])),
            json!(true),
            "no horizontal overflow"
        );
    }
    drop(desktop);

    // 2. Care mode (REQ E-4.4), switched on the first screen and remembered: a pure-insurance bill.
    p.open_bill("PAGE-CARE-1", &[("门诊诊查费", 1000), ("复方甘草片", 880)], true);
    p.b.click("#care");
    assert_eq!(p.b.run("return [document.documentElement.className, localStorage.getItem('medpay.care'), document.getElementById('care').innerText]", json!([])), json!(["care", "1", "关怀模式：开"]));
    p.b.run("location.reload(); return true;", json!([]));
    p.at("bill");
    assert_eq!(
        p.b.run("return document.documentElement.classList.contains('care')", json!([])),
        json!(true),
        "care mode is remembered on the device"
    );
    let speak =
        "const b = document.getElementById('speak'); return [b.getClientRects().length > 0, typeof speechSynthesis]";
    assert_eq!(p.b.run(speak, json!([])), json!([true, "object"]), "a read-aloud button in care mode");
    p.audit_care("bill");
    p.shot("care-1-bill");
    p.walk_to_split("insurance-only");
    p.audit_care("split");
    p.shot("care-2-split");
    p.b.click("#primary");
    p.at("cashier");
    p.audit_care("cashier");
    p.shot("care-3-cashier");
    p.pay_at_cashier();
    let row = p.assert_paid_agrees("PAGE-CARE-1", 1880);
    assert_eq!(row["own_pay_fen"], 0, "insurance-only: nothing out of pocket: {row}");
    p.audit_care("paid");
    p.shot("care-4-paid");

    // 3. Declined at the split: nothing charged, said so.
    p.b.click("#care"); // back to standard mode
    assert_eq!(p.b.run(speak, json!([])), json!([false, "object"]), "no read-aloud button in standard mode");
    p.open_bill("PAGE-DECLINE-1", &[("CT 检查", 30000)], true);
    p.walk_to_split("mixed");
    p.b.click("#secondary");
    p.at("cancelled");
    p.audit_aa("cancelled");
    p.shot("standard-5-declined");
    let (_, text) =
        http("GET", &s.api, &format!("/v1/payments/{ORG}/PAGE-DECLINE-1?view=false&exchanges=false"), None).unwrap();
    assert_eq!(json(&text)["state"], "Cancelled");

    // 4. The network drops when the patient confirms: a retry, never a blank page.
    p.open_bill("PAGE-OFFLINE-1", &[("彩超", 12000)], true);
    p.walk_to_split("mixed");
    p.b.run("window.__fetch = window.fetch; window.fetch = () => Promise.reject(new TypeError('offline')); document.getElementById('primary').click(); return true;", json!([]));
    p.at("offline");
    p.audit_aa("offline");
    p.shot("standard-6-offline");
    p.b.run("window.fetch = window.__fetch; return true;", json!([]));
    p.b.click("#primary");
    p.at("split");

    // 5. The bank's callback is late and its query is down: "still confirming with the bank"
    //    while the payment is PendingReconciliation (REQ Q-9), then "paid" without a reload.
    s.faults(
        json!({"global": {"callback": {"delay_secs": 10}, "endpoints": {"bank.query": {"error_permille": 1000}}}}),
    );
    p.b.click("#primary");
    p.pay_at_cashier();
    p.at("confirming");
    p.b.run("window.__same_page = true; return true;", json!([]));
    medpay_harness::stack::poll(
        &s.api,
        &format!("/v1/payments/{ORG}/PAGE-OFFLINE-1?view=false&exchanges=false"),
        "PendingReconciliation",
        30,
        |v| v["state"] == "PendingReconciliation",
    );
    let step = p.b.run_async("const done = arguments[arguments.length - 1]; fetch('api/bill' + location.search).then(r => r.json()).then(v => done(v.step));", json!([]));
    assert_eq!(step, "confirming", "PendingReconciliation is shown as confirming");
    p.at("confirming");
    p.shot("standard-7-confirming");
    s.faults(json!({}));
    p.at("paid");
    assert_eq!(
        p.b.run("return window.__same_page === true", json!([])),
        json!(true),
        "the result appeared without a reload"
    );
    p.assert_paid_agrees("PAGE-OFFLINE-1", 12000);

    // 6. The page's API answers only to a known link: nothing without it, nothing of other bills.
    for path in ["/patient/api/bill", "/patient/api/bill?t=", "/patient/api/bill?t=not-a-link"] {
        let (status, body) = http("GET", &s.api, path, None).unwrap();
        assert_eq!((status, json(&body)["code"].clone()), (404, json!("LINK_UNKNOWN")), "{path}");
    }
    p.b.goto(&format!("http://{}/patient/?t=not-a-link", s.api));
    p.at("unknown");
    // The hospital refuses a step (a 4xx, here an unusable authorisation): said so, no retry offered.
    let link = p.open_bill("PAGE-REFUSED-1", &[("药费", 500)], true);
    p.b.goto(&format!("{link}&authCode={}", "x".repeat(200)));
    p.at("refused");
    assert_eq!(
        p.b.run("return document.getElementById('primary')", json!([])),
        json!(null),
        "no retry button for a refusal"
    );
    // A link to a payment the HIS never created is refused; a bill with a bad line is a 422.
    let (status, body) =
        http("POST", &s.api, &format!("/v1/payments/{ORG}/NO-SUCH-ORDER/patient-link"), Some("{}")).unwrap();
    assert_eq!((status, json(&body)["code"].clone()), (404, json!("UNKNOWN_PAYMENT")));
    let bad =
        json!({"bill": {"scene": "outpatient", "openid": "o", "lines": [{"code": "C", "name": "x", "amount_fen": 0}]}});
    let (status, body) =
        http("POST", &s.api, &format!("/v1/payments/{ORG}/PAGE-BAD-1/patient-link"), Some(&bad.to_string())).unwrap();
    assert_eq!((status, json(&body)["code"].clone()), (422, json!("INVALID_PAYMENT")), "{body}");
    let (status, body) = http(
        "POST",
        &s.api,
        &format!("/v1/payments/{ORG}/PAGE-BAD-1/patient-link"),
        Some(&json!({"ttl_secs": 5}).to_string()),
    )
    .unwrap();
    assert_eq!((status, json(&body)["code"].clone()), (422, json!("INVALID_PATIENT_LINK")), "{body}");
    // One HIS order, one bill: the same bill gets a fresh link, another bill a 409.
    let mut same = json!({"bill": {"scene": "outpatient", "openid": "o-patient", "use_personal_account": true, "lines": [{"code": "C0", "name": "CT 检查", "amount_fen": 30000}]}});
    medpay_schemas::bill::sample::complete(&mut same["bill"]);
    let (status, body) =
        http("POST", &s.api, &format!("/v1/payments/{ORG}/PAGE-DECLINE-1/patient-link"), Some(&same.to_string()))
            .unwrap();
    assert_eq!(status, 201, "{body}");
    let mut other = same.clone();
    other["bill"]["lines"][0]["amount_fen"] = json!(30001);
    other["bill"]["lines"][0]["unit_price_fen"] = json!(30001);
    let (status, body) =
        http("POST", &s.api, &format!("/v1/payments/{ORG}/PAGE-DECLINE-1/patient-link"), Some(&other.to_string()))
            .unwrap();
    assert_eq!((status, json(&body)["code"].clone()), (409, json!("PAYMENT_CONFLICT")), "{body}");
    drop(p);
    s.stop();
}
