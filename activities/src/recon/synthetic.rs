//! A synthetic day for the reconciliation benchmark: a ledger of `n` paid payments and the
//! bank's statement of the same day, with a known set of planted exceptions, so the run can be
//! checked to find exactly those (a benchmark that finds the wrong answer fast is worthless).

use crate::ledger::{Ledger, LedgerError};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Query};
use std::io::Write;

/// How many of each exception are planted.
pub const PLANTED: u64 = 10;

/// The classes the run must find, with their counts.
pub fn expected(n: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("MATCHED", n - 3 * PLANTED),
        ("AMOUNT_MISMATCH", PLANTED),
        ("HOSPITAL_ONLY", PLANTED),
        ("PENDING_SETTLED", PLANTED),
        ("BANK_ONLY", PLANTED),
    ]
}

/// Fills the ledger: `n` payments of `day` (all Paid but the first PLANTED, left pending).
pub async fn seed_ledger(ledger: &Ledger, org: &str, day_start_ms: i64, n: u64) -> Result<(), LedgerError> {
    let txn = crate::ledger::begin_write(ledger.connection()).await?;
    let cols = [
        "org_code",
        "med_org_ord",
        "workflow_id",
        "request_fingerprint",
        "state",
        "total_fen",
        "fund_fen",
        "psn_acct_fen",
        "own_pay_fen",
        "out_trade_no",
        "created_at_ms",
        "updated_at_ms",
        "paid_at_ms",
        "version",
    ];
    let mut i = 0u64;
    while i < n {
        let mut q = Query::insert();
        q.into_table(Alias::new("payments")).columns(cols.map(Alias::new));
        for j in i..(i + 500).min(n) {
            let own = 1_000 + (j % 9_000) as i64;
            let pending = j < PLANTED;
            let at = day_start_ms + (j % 80_000_000) as i64;
            q.values_panic([
                org.into(),
                format!("B{j:09}").into(),
                format!("pay-{org}-B{j:09}").into(),
                "bench".into(),
                if pending { "PendingReconciliation" } else { "Paid" }.into(),
                (own + 2_000).into(),
                2_000i64.into(),
                0i64.into(),
                own.into(),
                format!("SPB{j:09}").into(),
                at.into(),
                at.into(),
                if pending { None::<i64> } else { Some(at) }.into(),
                0i64.into(),
            ]);
        }
        txn.execute(&q).await?;
        i = (i + 500).min(n);
    }
    txn.commit().await?;
    Ok(())
}

fn statement_lines(day: &str, n: u64) -> impl Iterator<Item = (String, i64)> + '_ {
    let paid = (0..n - PLANTED).map(move |j| {
        let mut own = 1_000 + (j % 9_000) as i64;
        if (PLANTED..2 * PLANTED).contains(&j) {
            own += 1;
        }
        (format!("D|{day}|PAYMENT|SPB{j:09}|MIXB{j:09}|T{j}||{own}|0"), own)
    });
    let unknown = (0..PLANTED).map(move |k| (format!("D|{day}|PAYMENT|SPUNKNOWN{k:04}|MIXU{k}|TU{k}||777|0"), 777));
    paid.chain(unknown)
}

/// Writes the statement, streaming (two passes: totals for the header, then the lines): every
/// payment but the last PLANTED (hospital-only), amounts off by a fen for PLANTED of them, plus
/// PLANTED lines the hospital never made (bank-only).
pub fn write_statement(path: &std::path::Path, mer: &str, day: &str, n: u64) -> std::io::Result<()> {
    let (lines, total) = statement_lines(day, n).fold((0u64, 0i64), |(c, t), (_, a)| (c + 1, t + a));
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "H|SELFPAY|{mer}|{day}|{lines}|{total}|0")?;
    let mut digest = medpay_crypto::sm3::Sm3Stream::default();
    for (i, (line, _)) in statement_lines(day, n).enumerate() {
        if i > 0 {
            digest.update(b"\n");
        }
        digest.update(line.as_bytes());
        writeln!(out, "{line}")?;
    }
    writeln!(out, "T|{lines}|{total}|0|{}", hex::encode(digest.finish()))?;
    out.flush()
}
