//! An operator's offline resolution of a reconciliation exception (REQ §8: X-8b "online or offline", X-8c collected at the counter): the
//! reference of what was done (a counter receipt, a bank transfer, a ticket), who and when,
//! recorded once on the run's item — the same resolution again is accepted, another is refused.

use crate::ledger::Ledger;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub reference: String,
    pub by: String,
    pub at_ms: i64,
}

/// Why a resolution was not recorded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("run {run} has no exception {item}")]
    UnknownItem { run: String, item: String },
    #[error("exception {item} of run {run} is matched: there is nothing to resolve")]
    Matched { run: String, item: String },
    #[error("exception {item} of run {run} was already resolved with reference {reference:?} by {by}")]
    AlreadyResolved { run: String, item: String, reference: String, by: String },
    #[error("the ledger: {0}")]
    Ledger(String),
}

/// Records `r` on the item, once. Idempotent for the same reference.
pub async fn resolve(ledger: &Ledger, run: &str, item: &str, r: &Resolution) -> Result<Resolution, ResolveError> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let db = ledger.connection();
    let err = |e: sea_orm::DbErr| ResolveError::Ledger(e.to_string());
    let this = || Expr::col(Alias::new("run_id")).eq(run).and(Expr::col(Alias::new("item_key")).eq(item));
    let select = Query::select()
        .columns(["class", "resolved_ref", "resolved_by", "resolved_at_ms"].map(Alias::new))
        .from(Alias::new("recon_items"))
        .and_where(this())
        .to_owned();
    let read = || async { db.query_one(&select).await.map_err(err) };
    let row = read().await?.ok_or_else(|| ResolveError::UnknownItem { run: run.into(), item: item.into() })?;
    let class: String = row.try_get("", "class").map_err(err)?;
    if class == "MATCHED" || class == "REFUND_MATCHED" {
        return Err(ResolveError::Matched { run: run.into(), item: item.into() });
    }
    // Only an unresolved item takes a resolution: two operators at once, one wins.
    let update = Query::update()
        .table(Alias::new("recon_items"))
        .values([
            (Alias::new("resolved_ref"), r.reference.clone().into()),
            (Alias::new("resolved_by"), r.by.clone().into()),
            (Alias::new("resolved_at_ms"), r.at_ms.into()),
        ])
        .and_where(this())
        .and_where(Expr::col(Alias::new("resolved_ref")).is_null())
        .to_owned();
    db.execute(&update).await.map_err(err)?;
    let row = read().await?.ok_or_else(|| ResolveError::UnknownItem { run: run.into(), item: item.into() })?;
    let got = |c: &str| row.try_get::<Option<String>>("", c).ok().flatten().unwrap_or_default();
    let stored = Resolution {
        reference: got("resolved_ref"),
        by: got("resolved_by"),
        at_ms: row.try_get::<Option<i64>>("", "resolved_at_ms").ok().flatten().unwrap_or(0),
    };
    if stored.reference != r.reference {
        return Err(ResolveError::AlreadyResolved {
            run: run.into(),
            item: item.into(),
            reference: stored.reference,
            by: stored.by,
        });
    }
    Ok(stored)
}
