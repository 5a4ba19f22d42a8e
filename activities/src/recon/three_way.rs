//! The three-way view of a day for finance (REQ 6.3):
//! every payment the HIS started that day beside what the bank's self-pay statement (that day)
//! and the platform's insurance statement (that month) say of it, in fen, with a verdict per
//! row, and the statement lines the hospital has no payment for. Read from the loaded
//! statements, so it reflects the reconciliation runs as they stand.

use super::classify::{lit, period_bounds};
use crate::ledger::Ledger;
use medpay_schemas::payment::PaymentState;
use medpay_schemas::recon::ReconKind;
use sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize};

/// One payment (or one statement line without a payment) across the three books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeWayRow {
    /// The HIS order no.; `None` for a statement line the hospital has no payment for (an
    /// empty string in the JSON, as the report has always said it).
    #[serde(with = "empty_is_none")]
    pub med_org_ord: Option<medpay_schemas::MedOrgOrd>,
    pub state: String,
    pub total_fen: i64,
    pub hospital_cash_fen: i64,
    pub hospital_fund_fen: i64,
    pub hospital_acct_fen: i64,
    /// The bank's self-pay line (`None`: not on the statement, or the statement not loaded).
    pub bank_cash_fen: Option<i64>,
    /// The platform's line: fund and personal account.
    pub insurance_fund_fen: Option<i64>,
    pub insurance_acct_fen: Option<i64>,
    /// AGREED, BANK_DIFFERS, INSURANCE_DIFFERS, BOTH_DIFFER, BANK_ONLY, or
    /// PENDING (the payment is not settled yet).
    pub verdict: String,
}

/// The view of a day, and which statements it could use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeWay {
    pub org_code: medpay_schemas::OrgCode,
    pub day: String,
    /// The runs whose statements were read; `None` when that statement is not loaded yet (its
    /// columns then say nothing, and no row is judged on them).
    pub selfpay_run: Option<String>,
    pub insurance_run: Option<String>,
    pub rows: Vec<ThreeWayRow>,
}

async fn loaded_run(ledger: &Ledger, kind: ReconKind, org: &str, period: &str) -> Result<Option<String>, String> {
    let run = super::run_id(kind, org, period);
    Ok(super::run_state(ledger, &run, org).await?.map(|_| run))
}

/// Whether the book says what the hospital says: an absent line agrees with a zero part.
fn agrees(hospital: &[i64], statement: Option<&[i64]>) -> bool {
    match statement {
        Some(s) => s == hospital,
        None => hospital.iter().all(|v| *v == 0),
    }
}

/// `returned_cash`: for a payment that did not end paid, the cash collected and given back
/// (X-8a) — the bank's statement lists the collection and the refund alike.
fn verdict(
    state: PaymentState,
    hospital: (i64, i64, i64),
    returned_cash: i64,
    bank: Option<Option<i64>>,
    insurance: Option<Option<(i64, i64)>>,
) -> String {
    if !state.is_terminal() {
        return "PENDING".into();
    }
    let (cash, fund, acct) = if state == PaymentState::Paid { hospital } else { (returned_cash, 0, 0) };
    let bank_ok = bank.is_none_or(|b| agrees(&[cash], b.as_ref().map(std::slice::from_ref)));
    let ins_ok = insurance.is_none_or(|i| agrees(&[fund, acct], i.map(|(f, a)| [f, a]).as_ref().map(|x| &x[..])));
    match (bank_ok, ins_ok) {
        (true, true) => "AGREED",
        (false, true) => "BANK_DIFFERS",
        (true, false) => "INSURANCE_DIFFERS",
        (false, false) => "BOTH_DIFFER",
    }
    .into()
}

/// The three-way view of `org`'s Beijing day `day` (yyyy-MM-dd).
/// `org` is a checked `OrgCode`: it is quoted into the statements below, and its charset (letters,
/// digits, `-_.`) keeps it a literal.
pub async fn three_way(ledger: &Ledger, org: &medpay_schemas::OrgCode, day: &str) -> Result<ThreeWay, String> {
    let (t0, t1) = period_bounds(ReconKind::Selfpay, day)?;
    let month = day.get(..7).ok_or("day must be yyyy-MM-dd")?;
    let selfpay_run = loaded_run(ledger, ReconKind::Selfpay, org, day).await?;
    let insurance_run = loaded_run(ledger, ReconKind::Insurance, org, month).await?;
    let none = "''".to_string();
    let (sp, ins) = (
        selfpay_run.as_deref().map(lit).transpose().map_err(|e| e.to_string())?.unwrap_or(none.clone()),
        insurance_run.as_deref().map(lit).transpose().map_err(|e| e.to_string())?.unwrap_or(none),
    );
    let org_lit = lit(org).map_err(|e| e.to_string())?;
    let db = ledger.connection();
    let sql = format!(
        "SELECT p.med_org_ord, p.state, p.total_fen, COALESCE(p.own_pay_fen, 0) AS cash, COALESCE(p.fund_fen, 0) AS fund, COALESCE(p.psn_acct_fen, 0) AS acct,
                COALESCE(p.refunded_cash_fen, 0) AS returned_cash, b.amount_fen AS bank_cash, i.amount_fen AS ins_fund, i.amount2_fen AS ins_acct
         FROM payments p
         LEFT JOIN statement_lines b ON b.run_id = {sp} AND b.entry = 'PAYMENT' AND b.order_key = p.out_trade_no
         LEFT JOIN statement_lines i ON i.run_id = {ins} AND i.entry = 'PAYMENT' AND i.order_key = p.pay_ord_id
         WHERE p.org_code = {org_lit} AND p.created_at_ms >= {t0} AND p.created_at_ms < {t1}
         ORDER BY p.created_at_ms, p.med_org_ord"
    );
    let rows =
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let g = |c: &str| r.try_get::<i64>("", c).map_err(|e| e.to_string());
        let o = |c: &str| r.try_get::<Option<i64>>("", c).map_err(|e| e.to_string());
        let state: PaymentState = r.try_get("", "state").map_err(|e| e.to_string())?;
        let (cash, fund, acct) = (g("cash")?, g("fund")?, g("acct")?);
        let (bank, ins_fund, ins_acct) = (o("bank_cash")?, o("ins_fund")?, o("ins_acct")?);
        let v = verdict(
            state,
            (cash, fund, acct),
            g("returned_cash")?,
            selfpay_run.as_ref().map(|_| bank),
            insurance_run.as_ref().map(|_| ins_fund.zip(ins_acct)),
        );
        out.push(ThreeWayRow {
            med_org_ord: Some(r.try_get("", "med_org_ord").map_err(|e| e.to_string())?),
            state: state.as_str().to_string(),
            total_fen: g("total_fen")?,
            hospital_cash_fen: cash,
            hospital_fund_fen: fund,
            hospital_acct_fen: acct,
            bank_cash_fen: bank,
            insurance_fund_fen: ins_fund,
            insurance_acct_fen: ins_acct,
            verdict: v,
        });
    }
    // The bank's lines for orders the hospital has none of (its BANK_ONLY items).
    if let Some(run) = &selfpay_run {
        let sql = format!(
            "SELECT s.order_key, s.amount_fen FROM statement_lines s
             WHERE s.run_id = {} AND s.entry = 'PAYMENT' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.org_code = {org_lit} AND p.out_trade_no = s.order_key)
             ORDER BY s.line_no",
            lit(run).map_err(|e| e.to_string())?
        );
        for r in
            db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.map_err(|e| e.to_string())?
        {
            let key: String = r.try_get("", "order_key").map_err(|e| e.to_string())?;
            out.push(ThreeWayRow {
                med_org_ord: None,
                state: format!("bank order {key}"),
                total_fen: 0,
                hospital_cash_fen: 0,
                hospital_fund_fen: 0,
                hospital_acct_fen: 0,
                bank_cash_fen: Some(r.try_get("", "amount_fen").map_err(|e| e.to_string())?),
                insurance_fund_fen: None,
                insurance_acct_fen: None,
                verdict: "BANK_ONLY".into(),
            });
        }
    }
    Ok(ThreeWay { org_code: org.clone(), day: day.into(), selfpay_run, insurance_run, rows: out })
}

impl ThreeWay {
    /// CSV for finance (UTF-8 with a BOM, so a spreadsheet opens the Chinese headings right):
    /// amounts in yuan; an empty cell is "not on that statement".
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "\u{feff}HIS订单号 his_order,状态 state,总额 total,医院自费 hospital_cash,银行自费 bank_cash,医院统筹 hospital_fund,医保统筹 insurance_fund,医院个账 hospital_account,医保个账 insurance_account,结论 verdict\n",
        );
        let y = |f: i64| medpay_schemas::recon::yuan(f);
        let oy = |f: Option<i64>| f.map(y).unwrap_or_default();
        for r in &self.rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                r.med_org_ord.as_deref().unwrap_or_default(),
                r.state,
                y(r.total_fen),
                y(r.hospital_cash_fen),
                oy(r.bank_cash_fen),
                y(r.hospital_fund_fen),
                oy(r.insurance_fund_fen),
                y(r.hospital_acct_fen),
                oy(r.insurance_acct_fen),
                r.verdict
            ));
        }
        out
    }
}

/// An order no. that may be absent, written as the empty string when it is.
mod empty_is_none {
    use medpay_schemas::MedOrgOrd;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<MedOrgOrd>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_deref().unwrap_or_default())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MedOrgOrd>, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() { Ok(None) } else { MedOrgOrd::parse(text).map(Some).map_err(serde::de::Error::custom) }
    }
}

#[cfg(test)]
mod tests {
    use super::{PaymentState, ThreeWayRow, verdict};

    /// A statement line without a payment keeps the report's empty order no. in the JSON.
    #[test]
    fn a_line_without_a_payment_reads_as_an_empty_order_no() {
        let row = |ord: &str| {
            serde_json::json!({"med_org_ord": ord, "state": "", "total_fen": 0, "hospital_cash_fen": 0,
                "hospital_fund_fen": 0, "hospital_acct_fen": 0, "bank_cash_fen": 1, "insurance_fund_fen": null,
                "insurance_acct_fen": null, "verdict": "BANK_ONLY"})
        };
        let none: ThreeWayRow = serde_json::from_value(row("")).unwrap();
        assert_eq!(none.med_org_ord, None);
        assert_eq!(serde_json::to_value(&none).unwrap()["med_org_ord"], "");
        let some: ThreeWayRow = serde_json::from_value(row("HIS-1")).unwrap();
        assert_eq!(some.med_org_ord.as_deref(), Some("HIS-1"));
        assert!(serde_json::from_value::<ThreeWayRow>(row("HIS 1")).is_err(), "an order no. is checked");
    }

    #[test]
    fn verdicts_judge_only_the_statements_loaded() {
        let paid = (4_000, 21_000, 5_000);
        assert_eq!(verdict(PaymentState::Paid, paid, 0, Some(Some(4_000)), Some(Some((21_000, 5_000)))), "AGREED");
        assert_eq!(
            verdict(PaymentState::Paid, paid, 0, Some(None), Some(Some((21_000, 5_000)))),
            "BANK_DIFFERS",
            "the bank lacks the cash part"
        );
        assert_eq!(
            verdict(PaymentState::Paid, paid, 0, Some(Some(4_000)), Some(Some((21_000, 4_999)))),
            "INSURANCE_DIFFERS"
        );
        assert_eq!(
            verdict(PaymentState::Paid, paid, 0, None, None),
            "AGREED",
            "nothing loaded: nothing to disagree with"
        );
        assert_eq!(
            verdict(PaymentState::Paid, (0, 1_080, 120), 0, Some(None), None),
            "AGREED",
            "no cash part, no bank line"
        );
        assert_eq!(
            verdict(PaymentState::Failed, paid, 0, Some(Some(4_000)), None),
            "BANK_DIFFERS",
            "collected for a failed payment, nothing given back (X-8b)"
        );
        assert_eq!(
            verdict(PaymentState::Failed, paid, 4_000, Some(Some(4_000)), None),
            "AGREED",
            "collected and given back (X-8a)"
        );
        assert_eq!(verdict(PaymentState::PendingReconciliation, paid, 0, Some(None), None), "PENDING");
    }
}
