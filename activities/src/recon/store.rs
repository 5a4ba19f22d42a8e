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
            let q = Query::delete()
                .from_table(Alias::new(table))
                .and_where(sea_orm::sea_query::Expr::col(Alias::new("run_id")).eq(run_id))
                .to_owned();
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
                ["run_id", "line_no", "entry", "order_key", "ref2", "serial", "amount_fen", "amount2_fen"]
                    .map(Alias::new),
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
                q.values_panic([
                    self.run_id.clone().into(),
                    i64::try_from(e.line_no).unwrap_or(i64::MAX).into(),
                    e.reason.into(),
                ]);
            }
            self.txn.execute(&q).await?;
        }
        Ok(())
    }
}

/// Records a requested run (state `Requested`) unless the run exists: an HIS that asks for the
/// run right after starting it finds it, before the workflow has fetched anything.
pub async fn request_run(
    ledger: &Ledger,
    run_id: &str,
    kind: &str,
    org: &str,
    period: &str,
    now: i64,
) -> Result<(), LedgerError> {
    let q = Query::insert()
        .into_table(Alias::new("recon_runs"))
        .columns(["run_id", "kind", "org_code", "period", "state", "created_at_ms", "updated_at_ms"].map(Alias::new))
        .values_panic([
            run_id.into(),
            kind.into(),
            org.into(),
            period.into(),
            "Requested".into(),
            now.into(),
            now.into(),
        ])
        .on_conflict(sea_orm::sea_query::OnConflict::column(Alias::new("run_id")).do_nothing().to_owned())
        .to_owned();
    ledger.connection().execute(&q).await?;
    Ok(())
}

/// Creates or updates the run's row in one statement: a reader polling the run must never see
/// `Reported` without its summary (two statements once let it, between them).
pub async fn upsert_run(
    ledger: &Ledger,
    f: &StagedFile,
    state: &str,
    summary: Option<&str>,
    now: i64,
) -> Result<(), LedgerError> {
    let (run_id, kind, org, period, file) =
        (f.run_id.as_str(), f.kind.as_str(), f.org_code.as_str(), f.period.as_str(), f.path.as_str());
    let mut updated = vec!["state", "file", "updated_at_ms"];
    if summary.is_some() {
        updated.push("summary");
    }
    let q = Query::insert()
        .into_table(Alias::new("recon_runs"))
        .columns(
            ["run_id", "kind", "org_code", "period", "state", "file", "summary", "created_at_ms", "updated_at_ms"]
                .map(Alias::new),
        )
        .values_panic([
            run_id.into(),
            kind.into(),
            org.into(),
            period.into(),
            state.into(),
            file.into(),
            summary.map(String::from).into(),
            now.into(),
            now.into(),
        ])
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(Alias::new("run_id"))
                .update_columns(updated.into_iter().map(Alias::new))
                .to_owned(),
        )
        .to_owned();
    ledger.connection().execute(&q).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use medpay_schemas::recon::ReconKind;

    /// The class of defect: a run's state written before what the state promises. A reader
    /// polling the run (the API, an operator) once saw `Reported` with no summary.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_never_sees_a_reported_run_without_its_summary() {
        let dir = std::env::temp_dir().join(format!("medpay-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("ledger.db").display());
        let ledger = Ledger::connect(&url).await.unwrap();
        for i in 0..60 {
            let f = StagedFile {
                run_id: format!("run-{i}"),
                kind: ReconKind::Selfpay,
                org_code: "H1".parse().unwrap(),
                period: "2026-12-04".into(),
                path: "/tmp/s".into(),
            };
            upsert_run(&ledger, &f, "Fetched", None, 1).await.unwrap();
            let reader = {
                let (ledger, run) = (ledger.clone(), f.run_id.clone());
                tokio::spawn(async move {
                    loop {
                        let (state, summary) = super::super::run_state(&ledger, &run, "H1").await.unwrap().unwrap();
                        if state == "Reported" {
                            return summary;
                        }
                    }
                })
            };
            upsert_run(&ledger, &f, "Reported", Some("{\"loaded\":1}"), 2).await.unwrap();
            assert_eq!(
                reader.await.unwrap().as_deref(),
                Some("{\"loaded\":1}"),
                "run {i}: Reported was visible before its summary"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
