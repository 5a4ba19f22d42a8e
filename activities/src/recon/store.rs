//! Statement lines into the ledger database, in batches inside one transaction (a re-run of the
//! same period replaces its lines), and the run's row.

use super::parse::{DetailLine, Rejected};
use crate::ledger::{Ledger, LedgerError};
use medpay_schemas::recon::StagedFile;
use sea_orm::sea_query::{Alias, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

pub const BATCH: usize = 500;

/// Buffers lines and writes them `BATCH` at a time.
pub struct LineWriter<'a> {
    txn: &'a DatabaseTransaction,
    run_id: String,
    lines: Vec<DetailLine>,
    errors: Vec<Rejected>,
}

impl<'a> LineWriter<'a> {
    pub async fn begin(ledger: &Ledger, run_id: &str) -> Result<DatabaseTransaction, LedgerError> {
        let txn = crate::ledger::begin_write(ledger.connection()).await?;
        for table in ["statement_lines", "statement_errors"] {
            let q = Query::delete().from_table(Alias::new(table)).and_where(sea_orm::sea_query::Expr::col(Alias::new("run_id")).eq(run_id)).to_owned();
            txn.execute(&q).await?;
        }
        Ok(txn)
    }

    pub fn new(txn: &'a DatabaseTransaction, run_id: &str) -> Self {
        Self { txn, run_id: run_id.to_string(), lines: Vec::with_capacity(BATCH), errors: vec![] }
    }

    pub fn push(&mut self, l: DetailLine) -> bool {
        self.lines.push(l);
        self.lines.len() >= BATCH
    }

    pub fn reject(&mut self, r: Rejected) {
        self.errors.push(r);
    }

    pub async fn flush(&mut self) -> Result<(), LedgerError> {
        if !self.lines.is_empty() {
            let mut q = Query::insert();
            q.into_table(Alias::new("statement_lines")).columns(
                ["run_id", "line_no", "entry", "order_key", "ref2", "serial", "amount_fen", "amount2_fen"].map(Alias::new),
            );
            for l in self.lines.drain(..) {
                q.values_panic([
                    self.run_id.clone().into(),
                    i64::try_from(l.line_no).unwrap_or(i64::MAX).into(),
                    l.entry.as_str().into(),
                    l.order_key.into(),
                    l.ref2.into(),
                    l.serial.into(),
                    l.amount_fen.into(),
                    l.amount2_fen.into(),
                ]);
            }
            self.txn.execute(&q).await?;
        }
        if !self.errors.is_empty() {
            let mut q = Query::insert();
            q.into_table(Alias::new("statement_errors")).columns(["run_id", "line_no", "reason"].map(Alias::new));
            for e in self.errors.drain(..) {
                q.values_panic([self.run_id.clone().into(), i64::try_from(e.line_no).unwrap_or(i64::MAX).into(), e.reason.into()]);
            }
            self.txn.execute(&q).await?;
        }
        Ok(())
    }
}

/// Records a requested run (state `Requested`) unless the run exists: an HIS that asks for the
/// run right after starting it finds it, before the workflow has fetched anything.
pub async fn request_run(ledger: &Ledger, run_id: &str, kind: &str, org: &str, period: &str, now: i64) -> Result<(), LedgerError> {
    let q = Query::insert()
        .into_table(Alias::new("recon_runs"))
        .columns(["run_id", "kind", "org_code", "period", "state", "created_at_ms", "updated_at_ms"].map(Alias::new))
        .values_panic([run_id.into(), kind.into(), org.into(), period.into(), "Requested".into(), now.into(), now.into()])
        .on_conflict(sea_orm::sea_query::OnConflict::column(Alias::new("run_id")).do_nothing().to_owned())
        .to_owned();
    ledger.connection().execute(&q).await?;
    Ok(())
}

/// Creates or updates the run's row.
pub async fn upsert_run(ledger: &Ledger, f: &StagedFile, state: &str, summary: Option<&str>, now: i64) -> Result<(), LedgerError> {
    let (run_id, kind, org, period, file) = (f.run_id.as_str(), f.kind.as_str(), f.org_code.as_str(), f.period.as_str(), Some(f.path.as_str()));
    let db = ledger.connection();
    let q = Query::insert()
        .into_table(Alias::new("recon_runs"))
        .columns(["run_id", "kind", "org_code", "period", "state", "file", "summary", "created_at_ms", "updated_at_ms"].map(Alias::new))
        .values_panic([run_id.into(), kind.into(), org.into(), period.into(), state.into(), file.map(String::from).into(), summary.map(String::from).into(), now.into(), now.into()])
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(Alias::new("run_id"))
                .update_columns(["state", "updated_at_ms"].map(Alias::new))
                .to_owned(),
        )
        .to_owned();
    db.execute(&q).await?;
    let mut u = Query::update();
    u.table(Alias::new("recon_runs")).value(Alias::new("state"), state).and_where(sea_orm::sea_query::Expr::col(Alias::new("run_id")).eq(run_id));
    if let Some(f) = file {
        u.value(Alias::new("file"), f);
    }
    if let Some(s) = summary {
        u.value(Alias::new("summary"), s);
    }
    db.execute(&u).await?;
    Ok(())
}
