//! Statement files, written into the SFTP-served directory (REQ C-6.3.1, C-6.3.2, T-4.3b).
//!
//! Layout (UTF-8, `|`-separated, one record per line, `\n` line ends):
//! ```text
//! H|<kind>|<merchant or org code>|<period>|<line count>|<payment total fen>|<refund total fen>
//! D|<date>|PAYMENT|<out_trade_no>|<mix_trade_no>|<third_trade_no>||<amount fen>|<fee fen>    (self-pay)
//! D|<date>|REFUND|<out_trade_no>|<mix_trade_no>||<refund serial>|<amount fen>|0
//! D|<date>|PAYMENT|<payOrdId>|<medOrgOrd>||<fund fen>|<personal account fen>               (insurance)
//! D|<date>|REFUND|<payOrdId>|<medOrgOrd>|<appRefdSn>|<fund fen>|<personal account fen>
//! T|<line count>|<payment total fen>|<refund total fen>|<SM3 hex of the D lines joined by \n>
//! ```
//! Self-pay: `<data>/sftp/statements/selfpay/SELFPAY_<mer_id>_<yyyyMMdd>.txt`, the bank's
//! next-day file for one day. Insurance: `<data>/sftp/statements/insurance/INSURANCE_<org>_<yyyyMM>.txt`,
//! the mid-platform's monthly detail. Amounts are integer fen. Faults can make a file late,
//! drop the first line, add a line, or change the last payment's amount (the control totals
//! then disagree).

use crate::app::App;
use crate::faults::StatementFault;
use medpay_schemas::Money;
use medpay_schemas::status::{RefundStatus, SelfPayStatus};
use std::path::PathBuf;

pub fn root(app: &App) -> PathBuf {
    app.config.data_dir.join("sftp").join("statements")
}

struct Body {
    lines: Vec<String>,
    /// The true number of detail lines (faults change `lines` after the totals were taken).
    count: usize,
    payments: i64,
    refunds: i64,
}

fn render(kind: &str, party: &str, period: &str, body: Body) -> String {
    let joined = body.lines.join("\n");
    let digest = hex::encode(medpay_crypto::sm3::sm3(joined.as_bytes()));
    let n = body.count;
    let mut out = format!("H|{kind}|{party}|{period}|{n}|{}|{}\n", body.payments, body.refunds);
    for l in &body.lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!("T|{n}|{}|{}|{digest}\n", body.payments, body.refunds));
    out
}

/// Applies the line faults after the totals were computed from the true lines: the wrong
/// amount goes on the last payment line and the missing line is the first, so both can be set.
fn corrupt(lines: &mut Vec<String>, f: &StatementFault, extra: String) {
    if f.wrong_amount
        && let Some(l) = lines.iter_mut().rev().find(|l| l.contains("|PAYMENT|"))
    {
        let mut cols: Vec<String> = l.split('|').map(String::from).collect();
        if let Some(amount) = cols.get_mut(7).and_then(|a| a.parse::<i64>().ok().map(|v| (a, v))) {
            *amount.0 = (amount.1 + 1).to_string();
        }
        *l = cols.join("|");
    }
    if f.missing_line && !lines.is_empty() {
        lines.remove(0);
    }
    if f.extra_line {
        lines.push(extra);
    }
}

/// The bank's own memo column (`--statements-gbk`: its layout has a tenth column, in Chinese,
/// and the file is GBK), or nothing in the reference layout.
fn memo(app: &App, org_name: &str, what: &str) -> String {
    if app.config.statements_gbk { format!("|{org_name}{what}") } else { String::new() }
}

/// Writes the self-pay statement of `date` (yyyy-MM-dd) for every sandbox hospital; returns the paths.
pub fn write_self_pay(app: &App, date: &str) -> anyhow::Result<Vec<PathBuf>> {
    let fault = app.faults().global.statement;
    let mut paths = vec![];
    for h in &app.hospitals {
        let mer = &h.creds.bank.mer_id;
        let st = app.state();
        let mut lines = vec![];
        let (mut payments, mut refunds) = (Money::ZERO, Money::ZERO);
        for sp in st.self_pay_orders.values().filter(|s| s.org_code == h.creds.org_code) {
            if sp.paid_ms.is_none_or(|ms| crate::clock::dashed_date(ms) != date) {
                continue;
            }
            if !matches!(sp.status, SelfPayStatus::Success | SelfPayStatus::Refund) {
                continue;
            }
            let mix = st.mixed_by_out_trade_no.get(&sp.out_trade_no).cloned().unwrap_or_default();
            let third = sp.third_trade_no.clone().unwrap_or_default();
            lines.push(format!(
                "D|{date}|PAYMENT|{}|{mix}|{third}||{}|0{}",
                sp.out_trade_no,
                sp.total.fen(),
                memo(app, &h.creds.org_name, "门诊缴费")
            ));
            payments = payments.checked_add(sp.total)?;
        }
        for r in st.bank_refunds.values().filter(|r| crate::clock::dashed_date(r.at_ms) == date) {
            let Some(sp) = st.self_pay_orders.get(&r.out_trade_no).filter(|s| s.org_code == h.creds.org_code) else {
                continue;
            };
            let mix = st.mixed_by_out_trade_no.get(&sp.out_trade_no).cloned().unwrap_or_default();
            lines.push(format!(
                "D|{date}|REFUND|{}|{mix}||{}|{}|0{}",
                r.out_trade_no,
                r.intrx_serial_no,
                r.amount.fen(),
                memo(app, &h.creds.org_name, "退费")
            ));
            refunds = refunds.checked_add(r.amount)?;
        }
        drop(st);
        let count = lines.len();
        let extra = format!(
            "D|{date}|PAYMENT|SANDBOX-UNKNOWN-ORDER||4200SANDBOXEXTRA||1000|0{}",
            memo(app, &h.creds.org_name, "未知")
        );
        corrupt(&mut lines, &fault, extra);
        let text =
            render("SELFPAY", mer, date, Body { lines, count, payments: payments.fen(), refunds: refunds.fen() });
        let file = root(app).join("selfpay").join(format!("SELFPAY_{mer}_{}.txt", date.replace('-', "")));
        let bytes = if app.config.statements_gbk {
            let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
            anyhow::ensure!(!unmappable, "the statement has characters GBK cannot write");
            gbk.into_owned()
        } else {
            text.into_bytes()
        };
        paths.push(write(file, bytes, fault.late_secs)?);
    }
    Ok(paths)
}

/// Writes the insurance detail of `month` (yyyy-MM) for every sandbox hospital.
pub fn write_insurance(app: &App, month: &str) -> anyhow::Result<Vec<PathBuf>> {
    let fault = app.faults().global.statement;
    let mut paths = vec![];
    for h in &app.hospitals {
        let org = &h.creds.org_code;
        let st = app.state();
        let mut lines = vec![];
        let (mut payments, mut refunds) = (Money::ZERO, Money::ZERO);
        for o in st.mid_orders.values().filter(|o| &o.org_code == org) {
            let (Some(ms), Some(s)) = (o.settled_ms, o.split) else { continue };
            let date = crate::clock::dashed_date(ms);
            if !date.starts_with(month) {
                continue;
            }
            lines.push(format!(
                "D|{date}|PAYMENT|{}|{}||{}|{}",
                o.pay_ord_id,
                o.med_org_ord,
                s.fund_pay.fen(),
                s.psn_acct_pay.fen()
            ));
            payments = payments.checked_add(s.insurance()?)?;
        }
        for r in st.mid_refunds.values().filter(|r| r.status == RefundStatus::Succeeded) {
            let Some(o) = st.mid_orders.get(&r.pay_ord_id).filter(|o| &o.org_code == org) else { continue };
            let date = crate::clock::dashed_date(r.at_ms);
            if !date.starts_with(month) || (r.fund.is_zero() && r.acct.is_zero()) {
                continue;
            }
            lines.push(format!(
                "D|{date}|REFUND|{}|{}|{}|{}|{}",
                o.pay_ord_id,
                o.med_org_ord,
                r.app_refd_sn,
                r.fund.fen(),
                r.acct.fen()
            ));
            refunds = refunds.checked_add(r.fund.checked_add(r.acct)?)?;
        }
        drop(st);
        let count = lines.len();
        let extra = format!("D|{month}-01|PAYMENT|ORDSANDBOXEXTRA|SANDBOX-UNKNOWN||1000|0");
        corrupt(&mut lines, &fault, extra);
        let text =
            render("INSURANCE", org, month, Body { lines, count, payments: payments.fen(), refunds: refunds.fen() });
        let file = root(app).join("insurance").join(format!("INSURANCE_{org}_{}.txt", month.replace('-', "")));
        paths.push(write(file, text.into_bytes(), fault.late_secs)?);
    }
    Ok(paths)
}

/// Writes atomically (temp file + rename) so a reader never sees half a file; `late_secs`
/// defers the write, as a bank whose file is not ready yet.
fn write(path: PathBuf, text: Vec<u8>, late_secs: u64) -> anyhow::Result<PathBuf> {
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    crate::sftp::make_readable(&dir);
    let target = path.clone();
    let job = move || -> std::io::Result<()> {
        let tmp = target.with_extension("part");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &target)
    };
    if late_secs == 0 {
        job()?;
    } else {
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(late_secs)).await;
            if let Err(e) = job() {
                tracing::error!("late statement write failed: {e}");
            }
        });
    }
    Ok(path)
}
