//! The acceptance report (REQ O-5 go-live step 1's evidence): JSON for machines, print-ready
//! HTML for the hospital, the bank and the insurance office to sign, and a PDF printed from it
//! by headless Chromium. Test persons appear only by their role; exchanges by their SM3 digests.

use super::cases::CaseResult;
use crate::onboarding::render::{PRINT_CSS, escape};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub org_code: medpay_schemas::OrgCode,
    pub org_name: String,
    pub channels: Vec<String>,
    /// Against the sandbox or against the parties' real test / production environments.
    pub against: String,
    pub config_stage: String,
    pub fingerprint: String,
    /// When the server's configuration differs from this run's: the report proves nothing for
    /// the server's, and says so.
    pub fingerprint_mismatch: Option<String>,
    pub medpay_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub temporal_ui: String,
    pub namespace: String,
    pub passed: bool,
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn passed_on(&self, channel: &str) -> bool {
        self.fingerprint_mismatch.is_none()
            && self.cases.iter().filter(|c| c.channel == channel || c.channel.contains(channel)).all(|c| c.passed)
    }

    fn ui_link(&self, workflow_id: &str) -> String {
        format!("{}/namespaces/{}/workflows/{}", self.temporal_ui.trim_end_matches('/'), self.namespace, workflow_id)
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn verdict(passed: bool) -> &'static str {
    if passed { "<span class=\"pass\">通过 PASS</span>" } else { "<span class=\"fail\">未通过 FAIL</span>" }
}

/// Cases × scenes × channels.
fn summary(r: &Report) -> String {
    let mut kinds: Vec<(String, String)> = Vec::new();
    for c in &r.cases {
        let key = (c.kind.clone(), c.scene.clone());
        if !kinds.contains(&key) {
            kinds.push(key);
        }
    }
    let mut t = String::from(
        "<table class=\"summary\"><thead><tr><th scope=\"col\">用例 case</th><th scope=\"col\">场景 scene</th>",
    );
    for ch in &r.channels {
        t.push_str(&format!("<th scope=\"col\">{}</th>", escape(ch)));
    }
    t.push_str("</tr></thead><tbody>");
    for (kind, scene) in &kinds {
        t.push_str(&format!("<tr><td>{}</td><td>{}</td>", escape(kind), escape(scene)));
        for ch in &r.channels {
            let cell = r.cases.iter().find(|c| {
                &c.kind == kind && &c.scene == scene && (c.channel == *ch || c.channel.contains(ch.as_str()))
            });
            t.push_str(&match cell {
                Some(c) => format!("<td>{}</td>", verdict(c.passed)),
                None => "<td>—</td>".into(),
            });
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

fn case_html(r: &Report, c: &CaseResult) -> String {
    let mut t = format!(
        "<section class=\"case\"><h3>{} · {} {}</h3><table class=\"kv\">",
        escape(&c.id),
        escape(&c.kind),
        verdict(c.passed)
    );
    let row = |k: &str, v: String| format!("<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>");
    t.push_str(&row("结果 outcome", escape(&c.reason)));
    t.push_str(&row("状态 state", escape(&c.state)));
    t.push_str(&row("输入 inputs", format!("<code>{}</code>", escape(&c.inputs.to_string()))));
    if let Some(o) = &c.med_org_ord {
        t.push_str(&row("HIS 订单号 medOrgOrd", escape(o)));
    }
    let links: Vec<String> =
        c.workflow_ids.iter().map(|w| format!("<a href=\"{}\">{}</a>", escape(&r.ui_link(w)), escape(w))).collect();
    t.push_str(&row("工作流 workflows", links.join("<br>")));
    if let Some(a) = &c.amounts {
        t.push_str(&row(
            "金额 amounts (yuan)",
            format!(
                "total {} = fund {} + account {} + self-pay {}; refunded fund {} / account {} / cash {}",
                yuan(a.total_fen),
                yuan(a.fund_fen),
                yuan(a.psn_acct_fen),
                yuan(a.own_pay_fen),
                yuan(a.refunded_fund_fen),
                yuan(a.refunded_psn_acct_fen),
                yuan(a.refunded_cash_fen)
            ),
        ));
    }
    t.push_str(&row("耗时 time", format!("{}.{} s", c.millis / 1000, c.millis % 1000 / 100)));
    t.push_str("</table>");
    if !c.exchanges.is_empty() {
        t.push_str("<table class=\"exchanges\"><thead><tr><th scope=\"col\">party</th><th scope=\"col\">operation</th><th scope=\"col\">outcome</th><th scope=\"col\">signature</th><th scope=\"col\">request SM3</th><th scope=\"col\">response SM3</th></tr></thead><tbody>");
        for e in &c.exchanges {
            let sig = match e.signature_ok {
                Some(true) => "verified",
                Some(false) => "REFUSED",
                None => "—",
            };
            let short = |d: &Option<String>| {
                d.as_deref().map(|d| d.chars().take(16).collect::<String>()).unwrap_or_else(|| "—".into())
            };
            t.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{sig}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                escape(&e.party),
                escape(&e.operation),
                escape(&e.outcome),
                short(&e.request_sm3),
                short(&e.response_sm3)
            ));
        }
        t.push_str("</tbody></table>");
    }
    t.push_str("</section>");
    t
}

const REPORT_CSS: &str = ".pass{color:#0a5a1f;font-weight:bold}.fail{color:#8a1010;font-weight:bold}code{font-size:8pt;word-break:break-all}\
.case{break-inside:avoid;margin-bottom:10px}.kv th{width:22%}.exchanges td,.exchanges th{font-size:8.5pt;padding:3px}\
.sign td{height:48px}.summary td,.summary th{padding:4px}section{break-after:auto;page-break-after:auto}.cases{break-before:page}";

pub fn html(r: &Report) -> String {
    let passed = r.cases.iter().filter(|c| c.passed).count();
    let mut page = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>联调验收报告 Acceptance report {org}</title><style>{PRINT_CSS}{REPORT_CSS}</style></head><body><main>\
         <h1>医保移动支付联调验收报告 · Joint-test acceptance report</h1>\
         <p>{name} ({org}) · {against} · {verdict} · {passed}/{total} cases</p>",
        org = escape(&r.org_code),
        name = escape(&r.org_name),
        against = escape(&r.against),
        verdict = verdict(r.passed),
        total = r.cases.len(),
    );
    let mut meta = vec![
        ("配置阶段 configuration stage", escape(&r.config_stage)),
        ("配置指纹 configuration fingerprint (SM3)", format!("<code>{}</code>", escape(&r.fingerprint))),
        ("版本 medpay version", escape(&r.medpay_version)),
        ("开始 started (Beijing)", escape(&r.started_at)),
        ("结束 finished (Beijing)", escape(&r.finished_at)),
        ("渠道 channels", escape(&r.channels.join(", "))),
    ];
    if let Some(m) = &r.fingerprint_mismatch {
        meta.push(("配置不一致 configuration mismatch", format!("<span class=\"fail\">{}</span>", escape(m))));
    }
    page.push_str("<table class=\"kv\">");
    for (k, v) in meta {
        page.push_str(&format!("<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>"));
    }
    page.push_str("</table><h2>汇总 Summary</h2>");
    page.push_str(&summary(r));
    page.push_str("<h2>签字 Sign-off</h2><table class=\"sign\"><thead><tr><th scope=\"col\">单位 party</th><th scope=\"col\">签字 signature</th><th scope=\"col\">日期 date</th></tr></thead><tbody>");
    for party in ["医疗机构 hospital", "清算银行 clearing bank", "医保经办机构 insurance office"] {
        page.push_str(&format!("<tr><td>{party}</td><td></td><td></td></tr>"));
    }
    page.push_str("</tbody></table><div class=\"cases\"><h2>用例明细 Cases</h2>");
    for c in &r.cases {
        page.push_str(&case_html(r, c));
    }
    page.push_str("</div></main></body></html>");
    page
}

/// Writes report.json and report.html (and report.pdf) into `dir`; returns the paths.
pub fn write(r: &Report, dir: &Path, pdf: bool) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(r)?)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", json.display()))?;
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, html(r)).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", html_path.display()))?;
    let mut out = vec![json, html_path.clone()];
    if pdf {
        let target = dir.join("report.pdf");
        crate::onboarding::print::pdf(&html_path, &target)?;
        out.push(target);
    }
    Ok(out)
}
