//! Group commit for the exchange log (`payment_events`). Every party call and every verified
//! callback appends a row, and under load many append at once; with `synchronous=FULL` each
//! append on its own is a commit and an fsync. The ledger hands appends to one writer task,
//! which writes whatever has queued up in one transaction; every caller still waits until its
//! row is committed, so nothing is reported written before it is durable. Alone, an append is
//! one statement as before (on SQLite through the write lane, see `lane`).

use super::entities::payment_event;
use super::lane::Writes;
use super::{NewEvent, event_row, insert_for_payment};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Rows per transaction: 9 columns each stays far below SQLite's bound-parameter limit.
const MAX_BATCH: usize = 256;

/// Which payment an event belongs to.
pub enum Target {
    /// The payment's ledger row id (the callback endpoint has just read the row).
    Row(i64),
    /// The payment's business key (the activities log every call without a lookup).
    Key { org_code: String, med_org_ord: String },
}

type Pending = (Target, NewEvent, oneshot::Sender<Result<bool, String>>);

#[derive(Clone)]
pub struct EventBatcher {
    tx: mpsc::Sender<Pending>,
}

impl EventBatcher {
    /// Starts the writer task on the current runtime; it ends when the last sender is dropped.
    /// A lone append goes to `writes` (on SQLite the write lane), a batch to a transaction on
    /// the pool.
    pub fn start(db: DatabaseConnection, writes: Arc<Writes>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (rows, waiters): (Vec<(Target, NewEvent)>, Vec<_>) =
                    batch.drain(..).map(|(t, e, w)| ((t, e), w)).unzip();
                match write(&db, &writes, rows).await {
                    Ok(found) => waiters.into_iter().zip(found).for_each(|(w, f)| drop(w.send(Ok(f)))),
                    Err(e) => waiters.into_iter().for_each(|w| drop(w.send(Err(e.to_string())))),
                }
            }
        });
        Self { tx }
    }

    /// Appends one event; returns once it is committed: `Ok(false)` when `Target::Key` names no
    /// payment.
    pub async fn record(&self, target: Target, event: NewEvent) -> Result<bool, String> {
        let (done, committed) = oneshot::channel();
        let gone = "the exchange-log writer has stopped (its runtime ended)".to_string();
        self.tx.send((target, event, done)).await.map_err(|_| gone.clone())?;
        committed.await.map_err(|_| gone)?
    }
}

/// One batch in one transaction (a lone event: one statement, no transaction around it); for
/// each event, whether its payment was found.
async fn write(db: &DatabaseConnection, writes: &Writes, rows: Vec<(Target, NewEvent)>) -> Result<Vec<bool>, DbErr> {
    if rows.len() == 1 {
        return append(writes, rows).await;
    }
    let txn = super::begin_write(db).await?;
    let found = append(&txn, rows).await?;
    txn.commit().await?;
    Ok(found)
}

/// The appends on `conn`: those by key one `INSERT ... SELECT` each, those by row id in one
/// multi-row insert.
async fn append(conn: &impl ConnectionTrait, rows: Vec<(Target, NewEvent)>) -> Result<Vec<bool>, DbErr> {
    let mut found = vec![true; rows.len()];
    let mut by_row = vec![];
    for (i, (target, e)) in rows.into_iter().enumerate() {
        match target {
            Target::Row(id) => by_row.push(event_row(id, e)),
            Target::Key { org_code, med_org_ord } => {
                found[i] = conn.execute(&insert_for_payment(&org_code, &med_org_ord, e)?).await?.rows_affected() == 1
            }
        }
    }
    if !by_row.is_empty() {
        payment_event::Entity::insert_many(by_row).exec_without_returning(conn).await?;
    }
    Ok(found)
}
