//! The reconciliation's reads and writes of the ledger outside the activities' own steps: a
//! statement streamed in (`load`), the actions still to take, the exceptions and the run's state
//! for the API, and the CSV export.

use super::*;

/// Parses on a blocking thread and writes batches as they come: memory holds one batch.
pub async fn load(ledger: &Ledger, layout: &parse::Layout, f: &StagedFile) -> Result<Loaded, String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<Item>, String>>(4);
    let (path, kind, layout) = (f.path.clone(), f.kind, layout.clone());
    let parser = tokio::task::spawn_blocking(move || -> Result<Loaded, String> {
        let file = std::fs::File::open(&path).map_err(|e| format!("cannot open statement {path}: {e}"))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut batch: Vec<Item> = Vec::with_capacity(store::BATCH);
        let send = |b: Vec<Item>| tx.blocking_send(Ok(b)).map_err(|_| "the writer stopped".to_string());
        let mut pending_err: Option<String> = None;
        let loaded = parse::parse(
            &path,
            kind,
            &layout,
            reader,
            |d| {
                batch.push(Item::Line(d));
                if batch.len() >= store::BATCH {
                    send(std::mem::replace(&mut batch, Vec::with_capacity(store::BATCH)))?;
                }
                Ok(())
            },
            |r| {
                // Rejections are rare; they ride with the next line batch.
                if let Err(e) = tx.blocking_send(Ok(vec![Item::Reject(r)])) {
                    pending_err = Some(e.to_string());
                }
            },
        )
        .map_err(|e| e.to_string())?;
        send(batch)?;
        pending_err.map_or(Ok(loaded), Err)
    });
    let txn = store::LineWriter::begin(ledger, &f.run_id).await.map_err(|e| e.to_string())?;
    {
        let mut w = store::LineWriter::new(&txn, &f.run_id);
        while let Some(batch) = rx.recv().await {
            for item in batch? {
                match item {
                    Item::Line(l) => {
                        w.push(l);
                    }
                    Item::Reject(r) => w.reject(r),
                }
            }
            w.flush().await.map_err(|e| e.to_string())?;
        }
    }
    let loaded = parser.await.map_err(|e| e.to_string())??;
    txn.commit().await.map_err(|e| e.to_string())?;
    Ok(loaded)
}

enum Item {
    Line(parse::DetailLine),
    Reject(parse::Rejected),
}

pub async fn pending_actions(ledger: &Ledger, run: &str, limit: u64) -> Result<Vec<ReconAction>, String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ledger.connection();
    let sql = format!(
        "SELECT i.item_key, i.action, COALESCE(i.statement_fen, 0) AS statement_fen, COALESCE(i.ledger_fen, 0) AS ledger_fen, p.org_code, p.med_org_ord, p.workflow_id,
                COALESCE(s.amount_fen, 0) AS s1, COALESCE(s.amount2_fen, 0) AS s2
         FROM recon_items i JOIN payments p ON p.id = i.payment_id
         LEFT JOIN statement_lines s ON s.run_id = i.run_id AND s.entry = 'PAYMENT' AND 'P:' || s.order_key = i.item_key
         WHERE i.run_id = {} AND i.action IS NOT NULL AND i.acted = FALSE ORDER BY i.item_key LIMIT {limit}",
        classify::lit(run).map_err(|e| e.to_string())?
    );
    let rows =
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.map_err(|e| e.to_string())?;
    rows.into_iter()
        .map(|r| {
            Ok(ReconAction {
                item_key: r.try_get("", "item_key").map_err(|e| e.to_string())?,
                action: {
                    let a: String = r.try_get("", "action").map_err(|e| e.to_string())?;
                    ReconActionKind::parse(&a).ok_or_else(|| format!("recon_items.action {a:?} is not an action"))?
                },
                statement_fen: r.try_get("", "statement_fen").map_err(|e| e.to_string())?,
                ledger_fen: r.try_get("", "ledger_fen").map_err(|e| e.to_string())?,
                statement_amounts: (
                    r.try_get("", "s1").map_err(|e| e.to_string())?,
                    r.try_get("", "s2").map_err(|e| e.to_string())?,
                ),
                org_code: r.try_get("", "org_code").map_err(|e| e.to_string())?,
                med_org_ord: r.try_get("", "med_org_ord").map_err(|e| e.to_string())?,
                workflow_id: r.try_get("", "workflow_id").map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// One exception of a run, for the API and the CSV report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub class: String,
    pub item: String,
    pub his_order: Option<String>,
    pub hospital_yuan: String,
    pub statement_yuan: String,
    pub action: Option<String>,
    pub acted: bool,
    /// An operator's offline resolution (reference, who, when), once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<resolution::Resolution>,
}

/// The run's exceptions (every class but the matched ones), money in yuan with two decimals.
pub async fn exceptions(ledger: &Ledger, run: &str, limit: u64) -> Result<Vec<ExceptionRow>, String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ledger.connection();
    let sql = format!(
        "SELECT i.class, i.item_key, i.action, i.acted, COALESCE(i.ledger_fen, 0) AS ledger_fen, COALESCE(i.statement_fen, 0) AS statement_fen, p.med_org_ord,
                i.resolved_ref, i.resolved_by, i.resolved_at_ms
         FROM recon_items i LEFT JOIN payments p ON p.id = i.payment_id
         WHERE i.run_id = {} AND i.class NOT IN ('MATCHED', 'REFUND_MATCHED') ORDER BY i.class, i.item_key LIMIT {limit}",
        classify::lit(run).map_err(|e| e.to_string())?
    );
    let rows =
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let g = |c: &str| r.try_get::<Option<String>>("", c).ok().flatten();
            let n = |c: &str| r.try_get::<i64>("", c).unwrap_or(0);
            ExceptionRow {
                class: g("class").unwrap_or_default(),
                item: g("item_key").unwrap_or_default(),
                his_order: g("med_org_ord"),
                hospital_yuan: yuan(n("ledger_fen")),
                statement_yuan: yuan(n("statement_fen")),
                action: g("action"),
                acted: r.try_get::<bool>("", "acted").unwrap_or(false),
                resolution: g("resolved_ref").map(|reference| resolution::Resolution {
                    reference,
                    by: g("resolved_by").unwrap_or_default(),
                    at_ms: r.try_get::<Option<i64>>("", "resolved_at_ms").ok().flatten().unwrap_or(0),
                }),
            }
        })
        .collect())
}

/// A run's state and stored summary (JSON), if it exists for that hospital.
pub async fn run_state(ledger: &Ledger, run: &str, org: &str) -> Result<Option<(String, Option<String>)>, String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = ledger.connection();
    let lit = |s: &str| classify::lit(s).map_err(|e| e.to_string());
    let sql =
        format!("SELECT state, summary FROM recon_runs WHERE run_id = {} AND org_code = {}", lit(run)?, lit(org)?);
    let Some(row) =
        db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get("", "state").map_err(|e| e.to_string())?,
        row.try_get("", "summary").map_err(|e| e.to_string())?,
    )))
}

/// The exception list as CSV.
pub async fn write_csv(ledger: &Ledger, run: &str, path: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let rows = exceptions(ledger, run, i64::MAX as u64).await?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
    );
    writeln!(out, "class,item,his_order,hospital_yuan,statement_yuan,action,acted,resolved_reference,resolved_by")
        .map_err(|e| e.to_string())?;
    for r in rows {
        let (reference, by) =
            r.resolution.map(|x| (x.reference.replace(',', ";"), x.by.replace(',', ";"))).unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{reference},{by}",
            r.class,
            r.item,
            r.his_order.unwrap_or_default(),
            r.hospital_yuan,
            r.statement_yuan,
            r.action.unwrap_or_default(),
            r.acted
        )
        .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
