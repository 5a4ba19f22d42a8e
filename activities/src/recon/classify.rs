//! Matching a loaded statement against the ledger, in SQL so memory stays flat however large
//! the file: every statement line and every ledger record of the period lands in exactly one
//! class (`ReconClass`), keyed by the parties' order and refund ids, in integer fen. Items are
//! inserted with ON CONFLICT DO NOTHING on (run, item): a re-run keeps what the first run found
//! and did, so running a day twice changes nothing.

use crate::ledger::{Ledger, LedgerError};
use medpay_schemas::recon::{ClassTotal, ReconClass, ReconKind};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::BTreeMap;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [start, end) in epoch ms of a Beijing day (`yyyy-MM-dd`) or month (`yyyy-MM`).
pub fn period_bounds(kind: ReconKind, period: &str) -> Result<(i64, i64), String> {
    kind.check_period(period)?;
    let n = |r: std::ops::Range<usize>| period[r].parse::<i64>().map_err(|e| e.to_string());
    let (y, m) = (n(0..4)?, n(5..7)?);
    let offset = 8 * 3_600_000;
    let ms = |days: i64| days * 86_400_000 - offset;
    Ok(match kind {
        ReconKind::Selfpay => {
            let d = days_from_civil(y, m, n(8..10)?);
            (ms(d), ms(d + 1))
        }
        ReconKind::Insurance => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (ms(days_from_civil(y, m, 1)), ms(days_from_civil(ny, nm, 1)))
        }
    })
}

/// Only ids we generated or validated go into the SQL text; still, refuse anything else.
pub(crate) fn lit(s: &str) -> Result<String, LedgerError> {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        Ok(format!("'{s}'"))
    } else {
        Err(LedgerError::BadSplit(format!("{s:?} cannot be used as a reconciliation key")))
    }
}

fn selfpay_sql(run: &str, org: &str, t0: i64, t1: i64) -> Vec<String> {
    let upsert = "ON CONFLICT (run_id, item_key) DO NOTHING";
    let cols =
        "INSERT INTO recon_items (run_id, item_key, class, payment_id, ledger_fen, statement_fen, action, acted)";
    vec![
        // Every payment line: known? in which state? the same amount?
        format!(
            "{cols} SELECT {run}, 'P:' || s.order_key,
                CASE WHEN p.id IS NULL THEN 'BANK_ONLY'
                     WHEN p.state = 'PendingReconciliation' THEN 'PENDING_SETTLED'
                     -- Collected and already given back (X-8a): balanced.
                     WHEN p.state IN ('Failed', 'Cancelled') AND p.refunded_cash_fen = s.amount_fen THEN 'MATCHED'
                     -- Collected for a payment the hospital closed, nothing given back: X-8b.
                     WHEN p.state IN ('Failed', 'Cancelled') AND p.refunded_cash_fen = 0 THEN 'OVER_COLLECTED'
                     WHEN p.state IN ('Failed', 'Cancelled') THEN 'AMOUNT_MISMATCH'
                     WHEN p.state <> 'Paid' THEN 'STATUS_MISMATCH'
                     WHEN COALESCE(p.own_pay_fen, 0) <> s.amount_fen THEN 'AMOUNT_MISMATCH'
                     ELSE 'MATCHED' END,
                p.id, p.own_pay_fen, s.amount_fen,
                CASE WHEN p.state = 'PendingReconciliation' THEN 'settle'
                     WHEN p.state IN ('Failed', 'Cancelled') AND p.refunded_cash_fen = 0 THEN 'refund' END,
                FALSE
             FROM statement_lines s LEFT JOIN payments p ON p.out_trade_no = s.order_key AND p.org_code = {org}
             WHERE s.run_id = {run} AND s.entry = 'PAYMENT' {upsert}"
        ),
        // Paid at the hospital that day with a self-pay part, absent from the statement: short.
        format!(
            "{cols} SELECT {run}, 'H:' || p.out_trade_no, 'HOSPITAL_ONLY', p.id, p.own_pay_fen, 0, 'notify_his', FALSE
             FROM payments p
             WHERE p.org_code = {org} AND p.state = 'Paid' AND COALESCE(p.own_pay_fen, 0) > 0
               AND p.paid_at_ms >= {t0} AND p.paid_at_ms < {t1}
               AND NOT EXISTS (SELECT 1 FROM statement_lines s WHERE s.run_id = {run} AND s.entry = 'PAYMENT' AND s.order_key = p.out_trade_no) {upsert}"
        ),
        // Left pending that day (with a self-pay part the bank would list) and not on the statement.
        format!(
            "{cols} SELECT {run}, 'C:' || p.out_trade_no, 'PENDING_CLOSED', p.id, p.own_pay_fen, 0, 'close', FALSE
             FROM payments p
             WHERE p.org_code = {org} AND p.state = 'PendingReconciliation' AND COALESCE(p.own_pay_fen, 0) > 0
               AND p.created_at_ms >= {t0} AND p.created_at_ms < {t1}
               AND NOT EXISTS (SELECT 1 FROM statement_lines s WHERE s.run_id = {run} AND s.entry = 'PAYMENT' AND s.order_key = p.out_trade_no) {upsert}"
        ),
        // Left pending that day with no self-pay part (never on the bank's statement): the
        // payment's workflow asks the platform for the order's status (6301, item 8).
        format!(
            "{cols} SELECT {run}, 'Q:' || p.pay_ord_id, 'PENDING_INSURANCE', p.id, COALESCE(p.fund_fen, 0) + COALESCE(p.psn_acct_fen, 0), 0, 'query_insurance', FALSE
             FROM payments p
             WHERE p.org_code = {org} AND p.state = 'PendingReconciliation' AND COALESCE(p.own_pay_fen, 0) = 0 AND p.pay_ord_id IS NOT NULL
               AND p.created_at_ms >= {t0} AND p.created_at_ms < {t1} {upsert}"
        ),
        format!(
            "{cols} SELECT {run}, 'R:' || s.serial,
                CASE WHEN r.id IS NULL THEN 'REFUND_BANK_ONLY' WHEN r.cash_fen <> s.amount_fen THEN 'REFUND_AMOUNT_MISMATCH' ELSE 'REFUND_MATCHED' END,
                r.payment_id, r.cash_fen, s.amount_fen, NULL, FALSE
             FROM statement_lines s LEFT JOIN refunds r ON r.bank_intrx_serial = s.serial AND r.org_code = {org}
             WHERE s.run_id = {run} AND s.entry = 'REFUND' {upsert}"
        ),
        format!(
            "{cols} SELECT {run}, 'RH:' || r.bank_intrx_serial, 'REFUND_HOSPITAL_ONLY', r.payment_id, r.cash_fen, 0, NULL, FALSE
             FROM refunds r
             WHERE r.org_code = {org} AND r.bank_intrx_serial IS NOT NULL AND r.updated_at_ms >= {t0} AND r.updated_at_ms < {t1}
               AND NOT EXISTS (SELECT 1 FROM statement_lines s WHERE s.run_id = {run} AND s.entry = 'REFUND' AND s.serial = r.bank_intrx_serial) {upsert}"
        ),
    ]
}

fn insurance_sql(run: &str, org: &str, t0: i64, t1: i64) -> Vec<String> {
    let upsert = "ON CONFLICT (run_id, item_key) DO NOTHING";
    let cols =
        "INSERT INTO recon_items (run_id, item_key, class, payment_id, ledger_fen, statement_fen, action, acted)";
    vec![
        format!(
            "{cols} SELECT {run}, 'P:' || s.order_key,
                CASE WHEN p.id IS NULL THEN 'BANK_ONLY'
                     WHEN p.state = 'PendingReconciliation' THEN 'PENDING_SETTLED'
                     WHEN p.state IN ('Failed', 'Cancelled') THEN 'OVER_COLLECTED'
                     WHEN p.state <> 'Paid' THEN 'STATUS_MISMATCH'
                     WHEN COALESCE(p.fund_fen, 0) <> s.amount_fen OR COALESCE(p.psn_acct_fen, 0) <> s.amount2_fen THEN 'AMOUNT_MISMATCH'
                     ELSE 'MATCHED' END,
                p.id, COALESCE(p.fund_fen, 0) + COALESCE(p.psn_acct_fen, 0), s.amount_fen + s.amount2_fen,
                CASE WHEN p.state = 'PendingReconciliation' THEN 'settle'
                     -- Settled by the platform for a payment the hospital closed: X-8b, given
                     -- back through 6203 under the platform's own refund authorisation.
                     WHEN p.state IN ('Failed', 'Cancelled') AND p.refunded_fund_fen + p.refunded_psn_acct_fen = 0 THEN 'refund' END,
                FALSE
             FROM statement_lines s LEFT JOIN payments p ON p.pay_ord_id = s.order_key AND p.org_code = {org}
             WHERE s.run_id = {run} AND s.entry = 'PAYMENT' {upsert}"
        ),
        format!(
            "{cols} SELECT {run}, 'H:' || p.pay_ord_id, 'HOSPITAL_ONLY', p.id, COALESCE(p.fund_fen, 0) + COALESCE(p.psn_acct_fen, 0), 0, NULL, FALSE
             FROM payments p
             WHERE p.org_code = {org} AND p.state = 'Paid' AND COALESCE(p.fund_fen, 0) + COALESCE(p.psn_acct_fen, 0) > 0
               AND p.paid_at_ms >= {t0} AND p.paid_at_ms < {t1}
               AND NOT EXISTS (SELECT 1 FROM statement_lines s WHERE s.run_id = {run} AND s.entry = 'PAYMENT' AND s.order_key = p.pay_ord_id) {upsert}"
        ),
        format!(
            "{cols} SELECT {run}, 'R:' || s.serial,
                CASE WHEN r.id IS NULL THEN 'REFUND_BANK_ONLY' WHEN r.fund_fen <> s.amount_fen OR r.psn_acct_fen <> s.amount2_fen THEN 'REFUND_AMOUNT_MISMATCH' ELSE 'REFUND_MATCHED' END,
                r.payment_id, r.fund_fen + r.psn_acct_fen, s.amount_fen + s.amount2_fen, NULL, FALSE
             FROM statement_lines s LEFT JOIN refunds r ON r.app_refd_sn = s.serial AND r.org_code = {org}
             WHERE s.run_id = {run} AND s.entry = 'REFUND' {upsert}"
        ),
    ]
}

/// Classifies the run's lines and the period's ledger records; returns the totals per class.
pub async fn classify(
    ledger: &Ledger,
    run_id: &str,
    kind: ReconKind,
    org_code: &str,
    period: &str,
) -> Result<BTreeMap<String, ClassTotal>, LedgerError> {
    let (t0, t1) = period_bounds(kind, period).map_err(LedgerError::BadSplit)?;
    let (run, org) = (lit(run_id)?, lit(org_code)?);
    let db = ledger.connection();
    let sqls = match kind {
        ReconKind::Selfpay => selfpay_sql(&run, &org, t0, t1),
        ReconKind::Insurance => insurance_sql(&run, &org, t0, t1),
    };
    for sql in sqls {
        db.execute_unprepared(&sql).await?;
    }
    totals(ledger, run_id).await
}

/// Count and sum per class (the larger of the two sides' amounts, so a one-sided item counts).
pub async fn totals(ledger: &Ledger, run_id: &str) -> Result<BTreeMap<String, ClassTotal>, LedgerError> {
    let db = ledger.connection();
    let sql = format!(
        "SELECT class, COUNT(*) AS n, COALESCE(SUM(CASE WHEN COALESCE(statement_fen, 0) > COALESCE(ledger_fen, 0) THEN COALESCE(statement_fen, 0) ELSE COALESCE(ledger_fen, 0) END), 0) AS fen
         FROM recon_items WHERE run_id = {} GROUP BY class",
        lit(run_id)?
    );
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    let mut out = BTreeMap::new();
    for c in ReconClass::ALL {
        out.insert(c.as_str().to_string(), ClassTotal::default());
    }
    for r in rows {
        let class: String = r.try_get("", "class")?;
        let n: i64 = r.try_get("", "n")?;
        let fen: i64 = r.try_get("", "fen")?;
        out.insert(class, ClassTotal { count: u64::try_from(n).unwrap_or(0), fen });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_periods() {
        // 2026-11-26 00:00 +08:00 = 2026-11-25T16:00:00Z = 1_795_622_400_000 ms... checked by round trip.
        let (t0, t1) = period_bounds(ReconKind::Selfpay, "2026-11-26").unwrap();
        assert_eq!(t1 - t0, 86_400_000);
        let start = medpay_schemas::time::BeijingTime::of(t0);
        assert_eq!((start.date.to_string(), start.hour), ("2026-11-26".to_string(), 0));
        let (m0, m1) = period_bounds(ReconKind::Insurance, "2026-12").unwrap();
        assert_eq!(medpay_schemas::time::BeijingDate::of(m1).year, 2027);
        assert_eq!((m1 - m0) / 86_400_000, 31);
        assert!(lit("x'; DROP TABLE payments; --").is_err());
    }
}
