//! The authCode exchanges the instances share until their payment's identification is done
//! (`pay_auth_cache`): sealed with the payload key, keyed by a digest, kept an hour.

use super::{Ledger, LedgerError};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, OnConflict, Query};

/// How long a shared authCode exchange is kept (a payAuthNo lives minutes at the channel).
const EXCHANGE_KEPT_MS: i64 = 3_600_000;

impl Ledger {
    /// A sealed authCode exchange shared by the instances (`pay_auth_cache`); the first one
    /// written for a key stays (the same exchange). Exchanges older than an hour go first.
    pub async fn put_exchange(&self, key: &str, sealed: &[u8], now_ms: i64) -> Result<(), LedgerError> {
        let expired = Query::delete()
            .from_table(Alias::new("auth_exchanges"))
            .and_where(Expr::col(Alias::new("created_at_ms")).lt(now_ms - EXCHANGE_KEPT_MS))
            .to_owned();
        self.db.execute(&expired).await?;
        let q = Query::insert()
            .into_table(Alias::new("auth_exchanges"))
            .columns(["exchange_key", "sealed", "created_at_ms"].map(Alias::new))
            .values_panic([key.into(), hex::encode(sealed).into(), now_ms.into()])
            .on_conflict(OnConflict::column(Alias::new("exchange_key")).do_nothing().to_owned())
            .to_owned();
        self.db.execute(&q).await?;
        Ok(())
    }

    pub async fn get_exchange(&self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let q = Query::select()
            .column(Alias::new("sealed"))
            .from(Alias::new("auth_exchanges"))
            .and_where(Expr::col(Alias::new("exchange_key")).eq(key))
            .to_owned();
        let Some(row) = self.db.query_one(&q).await? else { return Ok(None) };
        let text: String = row.try_get("", "sealed")?;
        Ok(hex::decode(text).ok())
    }

    /// Deletes one exchange, and any left behind by identifications that never completed
    /// (older than an hour: a payAuthNo lives minutes).
    pub async fn delete_exchange(&self, key: &str) -> Result<(), LedgerError> {
        let stale = crate::http::now_ms() - EXCHANGE_KEPT_MS;
        let q = Query::delete()
            .from_table(Alias::new("auth_exchanges"))
            .cond_where(
                Cond::any()
                    .add(Expr::col(Alias::new("exchange_key")).eq(key))
                    .add(Expr::col(Alias::new("created_at_ms")).lt(stale)),
            )
            .to_owned();
        self.db.execute(&q).await?;
        Ok(())
    }
}
