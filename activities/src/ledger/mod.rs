//! The hospital's ledger of payments (sea-orm): SQLite embedded by default, PostgreSQL in
//! production, same code on both. A payment's state only moves forward and never out of a
//! terminal state (`PaymentState::can_move_to`), checked inside the update with optimistic
//! concurrency, so a late or duplicate status source cannot overwrite an outcome. Every external
//! exchange is appended to `payment_events` as digests, never contents.

pub mod entities;
pub mod event_batch;
pub mod exchanges;
pub mod lane;
pub mod live;
pub mod migration;
pub mod moves;
pub mod patient_links;
pub mod refund_moves;
pub mod refunds;
pub mod watch;

pub use live::LiveCount;
pub use moves::{BankOrder, BankStatuses, PaymentMove};
pub use refund_moves::RefundMove;
pub use refunds::{CreateRefundOutcome, Ineligible, NewRefund};

use entities::{payment, payment_event};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::{MedOrgOrd, Money, OrgCode, RefundNo};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database: {0}")]
    Db(#[from] DbErr),
    #[error(
        "payment {org_code}/{med_org_ord} already exists with a different request; use a new HIS order no. or resend the same body"
    )]
    Conflict { org_code: OrgCode, med_org_ord: MedOrgOrd },
    #[error("payment {org_code}/{med_org_ord} not found")]
    NotFound { org_code: OrgCode, med_org_ord: MedOrgOrd },
    #[error("payment {org_code}/{med_org_ord} cannot move from {from} to {to}")]
    IllegalTransition { org_code: OrgCode, med_org_ord: MedOrgOrd, from: PaymentState, to: PaymentState },
    #[error("the split does not add up: {0}")]
    BadSplit(String),
    #[error(
        "refund {org_code}/{refund_no} already exists with a different request; use a new refund no. or resend the same body"
    )]
    RefundConflict { org_code: OrgCode, refund_no: RefundNo },
    #[error("refund {org_code}/{refund_no} not found")]
    RefundNotFound { org_code: OrgCode, refund_no: RefundNo },
    #[error("refund {refund_no} cannot move from {from} to {to}")]
    IllegalRefundTransition {
        refund_no: RefundNo,
        from: medpay_schemas::refund::RefundState,
        to: medpay_schemas::refund::RefundState,
    },
    #[error(transparent)]
    Ineligible(#[from] refunds::Ineligible),
    #[error("payment {0} kept changing under concurrent updates; retry")]
    Contended(String),
    /// The bank gave this payment an order number another payment already holds (a bank that
    /// reissued numbers, e.g. after losing its books). Never settled by guessing: an alarm.
    #[error(
        "integrity alarm: the bank's order {sub_mchid}/{mix_trade_no} for payment {org_code}/{med_org_ord} already belongs to payment {holder}; the payment was not offered to the patient, investigate with the bank"
    )]
    DuplicateBankOrder {
        org_code: OrgCode,
        med_org_ord: MedOrgOrd,
        sub_mchid: medpay_schemas::SubMchId,
        mix_trade_no: medpay_schemas::MixTradeNo,
        holder: String,
    },
}

pub struct NewPayment {
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub workflow_id: String,
    pub request_fingerprint: String,
    pub total: Money,
    pub now_ms: i64,
}

pub struct NewEvent {
    pub at_ms: i64,
    pub party: String,
    pub operation: String,
    pub request: Option<Vec<u8>>,
    pub response: Option<Vec<u8>>,
    pub signature_ok: Option<bool>,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, PartialEq)]
pub enum CreateOutcome {
    New(payment::Model),
    /// The same request was made before: the same payment (idempotent create).
    Existing(payment::Model),
}

#[derive(Clone)]
pub struct Ledger {
    db: DatabaseConnection,
    /// Process-local news of payment state changes, so an API long poll wakes as soon as the
    /// worker in the same process advances its payment (see `watch`).
    changes: watch::RowWatchers,
    /// The exchange log's group commit (see `event_batch`).
    events: event_batch::EventBatcher,
    /// Single-statement writes: on an embedded SQLite, one connection of their own (see `lane`).
    writes: Arc<lane::Writes>,
}

/// Any constant key both instances agree on; "medpay" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x6d65_6470_6179;

/// Applies pending migrations. On PostgreSQL several instances may start at once (compose's
/// `--scale medpay=3`, a rolling deploy): the migrations run in one transaction holding an
/// advisory lock, so the second instance waits for the first and then finds nothing to do
/// (without it both created the tables and one died on a duplicate type). PostgreSQL's DDL is
/// transactional, so a failed migration leaves nothing half-made. An embedded SQLite file
/// belongs to one instance.
async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return migration::Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")).await?;
    migration::Migrator::up(&txn, None).await?;
    txn.commit().await
}

impl Ledger {
    /// Connects and applies pending migrations. `sqlite://path?mode=rwc` creates the file.
    ///
    /// SQLite runs in WAL mode (readers never block the writer; much faster under concurrent
    /// payments) with `synchronous=FULL`, so a committed ledger write survives a power loss too:
    /// the workflow does not redo an activity that completed, so its write must be durable.
    ///
    /// The pool does not ping a connection before handing it out (sqlx's default): each ping
    /// is a round trip to SQLite's connection thread (or to PostgreSQL), one of three per
    /// statement with the release's own. An embedded SQLite connection cannot be dropped by
    /// anyone; a PostgreSQL one idle for 30 s is pinged first (a server, proxy or firewall may
    /// have closed it), a busy one is not. On an embedded SQLite file the single-statement
    /// writes (create, state changes, lone exchange-log appends) skip the pool altogether: they
    /// go through one connection of their own (`lane`), one round trip each.
    pub async fn connect(url: &str) -> Result<Self, LedgerError> {
        let mut opts = sea_orm::ConnectOptions::new(url);
        if url.starts_with("sqlite:") {
            opts.test_before_acquire(false);
        } else {
            opts.test_before_acquire_if_idle_for(std::time::Duration::from_secs(30));
        }
        opts.sqlx_logging(false).map_sqlx_sqlite_opts(sqlite_settings);
        let db = Database::connect(opts).await?;
        migrate(&db).await?;
        let writes = Arc::new(lane::Writes::open(url, &db).await?);
        let events = event_batch::EventBatcher::start(db.clone(), writes.clone());
        Ok(Self { db, changes: watch::RowWatchers::default(), events, writes })
    }

    pub async fn create_payment(&self, p: NewPayment) -> Result<CreateOutcome, LedgerError> {
        let row = payment::ActiveModel {
            org_code: Set(p.org_code.clone()),
            med_org_ord: Set(p.med_org_ord.clone()),
            workflow_id: Set(p.workflow_id),
            request_fingerprint: Set(p.request_fingerprint.clone()),
            state: Set(PaymentState::Created),
            total_fen: Set(p.total.fen()),
            created_at_ms: Set(p.now_ms),
            updated_at_ms: Set(p.now_ms),
            version: Set(0),
            ..Default::default()
        };
        match row.insert(&*self.writes).await {
            Ok(m) => Ok(CreateOutcome::New(m)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let existing = self.get(&p.org_code, &p.med_org_ord).await?.ok_or_else(|| LedgerError::Db(e))?;
                if existing.request_fingerprint == p.request_fingerprint {
                    Ok(CreateOutcome::Existing(existing))
                } else {
                    Err(LedgerError::Conflict { org_code: p.org_code, med_org_ord: p.med_org_ord })
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(
        &self,
        org_code: &OrgCode,
        med_org_ord: &MedOrgOrd,
    ) -> Result<Option<payment::Model>, LedgerError> {
        Ok(payment::Entity::find()
            .filter(payment::Column::OrgCode.eq(org_code.as_str()))
            .filter(payment::Column::MedOrgOrd.eq(med_org_ord.as_str()))
            .one(&self.db)
            .await?)
    }

    /// Records the move, if the state machine allows it. Recording the current state again is
    /// a no-op returning the row (idempotent activity retries).
    ///
    /// One statement: `UPDATE ... WHERE state IN (the states that may move to it) RETURNING`,
    /// so the check and the write are one atomic step on both databases, with no read first;
    /// only a refusal reads the row, to say why.
    pub async fn advance(
        &self,
        org_code: &OrgCode,
        med_org_ord: &MedOrgOrd,
        step: PaymentMove,
        now_ms: i64,
    ) -> Result<payment::Model, LedgerError> {
        if let Some(s) = step.split() {
            s.check().map_err(|e| LedgerError::BadSplit(e.to_string()))?;
        }
        let to = step.state();
        let bank_order = step.bank_order().cloned();
        let allowed_from: Vec<&str> =
            PaymentState::ALL.into_iter().filter(|f| f.can_move_to(to)).map(PaymentState::as_str).collect();
        let mut q = payment::Entity::update_many()
            .col_expr(payment::Column::State, Expr::value(to.as_str()))
            .col_expr(payment::Column::UpdatedAtMs, Expr::value(now_ms))
            .col_expr(payment::Column::Version, Expr::col(payment::Column::Version).add(1));
        for (col, v) in step.columns() {
            q = q.col_expr(col, v);
        }
        let q = q
            .filter(payment::Column::OrgCode.eq(org_code.as_str()))
            .filter(payment::Column::MedOrgOrd.eq(med_org_ord.as_str()))
            .filter(payment::Column::State.is_in(allowed_from));
        // Refused, then the row read: if another writer moved it in between to a state from
        // which `to` is allowed after all, try once more rather than report a refusal whose
        // `from` would contradict it.
        for _ in 0..2 {
            let written = match q.clone().exec_with_returning(&*self.writes).await {
                Ok(rows) => rows,
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    let Some(BankOrder { sub_mchid, mix_trade_no }) = bank_order else { return Err(e.into()) };
                    let holder = self
                        .by_mix_trade_no(&sub_mchid, &mix_trade_no)
                        .await?
                        .map(|p| format!("{}/{}", p.org_code, p.med_org_ord))
                        .unwrap_or_else(|| "another payment".into());
                    return Err(LedgerError::DuplicateBankOrder {
                        org_code: org_code.clone(),
                        med_org_ord: med_org_ord.clone(),
                        sub_mchid,
                        mix_trade_no,
                        holder,
                    });
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(row) = written.into_iter().next() {
                self.changes.changed(&row);
                return Ok(row);
            }
            match self.get(org_code, med_org_ord).await? {
                None => {
                    return Err(LedgerError::NotFound { org_code: org_code.clone(), med_org_ord: med_org_ord.clone() });
                }
                Some(current) if !current.state.can_move_to(to) => {
                    return Err(LedgerError::IllegalTransition {
                        org_code: org_code.clone(),
                        med_org_ord: med_org_ord.clone(),
                        from: current.state,
                        to,
                    });
                }
                Some(_) => {}
            }
        }
        Err(LedgerError::Contended(format!("{org_code}/{med_org_ord}")))
    }

    /// News of the payment's changes from now on, each with the changed row: subscribe, then
    /// read the row, so a change between the read and the wait is not missed.
    pub fn watch_payment(&self, org_code: &str, med_org_ord: &str) -> watch::RowNews {
        self.changes.subscribe(org_code, med_org_ord)
    }

    /// Appends to a payment's exchange log (group-committed with concurrent appends); returns
    /// once the row is durable.
    pub async fn record_event(&self, payment_id: i64, e: NewEvent) -> Result<(), LedgerError> {
        self.events
            .record(event_batch::Target::Row(payment_id), e)
            .await
            .map(drop)
            .map_err(|e| LedgerError::Db(DbErr::Custom(e)))
    }

    /// The same for a payment known by its business key (INSERT ... SELECT, no lookup first):
    /// the activities log every party call. `false` when there is no such payment.
    pub async fn record_event_for(&self, org_code: &str, med_org_ord: &str, e: NewEvent) -> Result<bool, LedgerError> {
        let target = event_batch::Target::Key { org_code: org_code.to_string(), med_org_ord: med_org_ord.to_string() };
        self.events.record(target, e).await.map_err(|e| LedgerError::Db(DbErr::Custom(e)))
    }

    /// The payment of a bank order, found by sub-merchant and mixed order no. together (two
    /// hospitals may share order numbers; callbacks are never routed by the order no. alone).
    pub async fn by_mix_trade_no(
        &self,
        sub_mchid: &str,
        mix_trade_no: &str,
    ) -> Result<Option<payment::Model>, LedgerError> {
        Ok(payment::Entity::find()
            .filter(payment::Column::SubMchid.eq(sub_mchid))
            .filter(payment::Column::MixTradeNo.eq(mix_trade_no))
            .one(&self.db)
            .await?)
    }

    /// The payment of a hospital's institution order no. (a self-pay order's `out_trade_no`).
    pub async fn by_out_trade_no(
        &self,
        org_code: &str,
        out_trade_no: &str,
    ) -> Result<Option<payment::Model>, LedgerError> {
        Ok(payment::Entity::find()
            .filter(payment::Column::OrgCode.eq(org_code))
            .filter(payment::Column::OutTradeNo.eq(out_trade_no))
            .one(&self.db)
            .await?)
    }

    pub async fn events(&self, payment_id: i64) -> Result<Vec<payment_event::Model>, LedgerError> {
        Ok(payment_event::Entity::find()
            .filter(payment_event::Column::PaymentId.eq(payment_id))
            .order_by_asc(payment_event::Column::Id)
            .all(&self.db)
            .await?)
    }

    pub async fn in_state(&self, state: PaymentState) -> Result<Vec<payment::Model>, LedgerError> {
        Ok(payment::Entity::find()
            .filter(payment::Column::State.eq(state.as_str()))
            .order_by_asc(payment::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        Ok(self.db.ping().await?)
    }

    /// For tests and repair tools: the raw connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// The embedded ledger's SQLite settings, for the pool and the write lane alike (see
/// `Ledger::connect` for why WAL and `synchronous=FULL`).
pub(crate) fn sqlite_settings(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(10))
}

/// A transaction that will write. On SQLite it begins `IMMEDIATE`, taking the write lock up front
/// (waiting for it under the busy timeout): a deferred transaction that reads first and writes
/// later fails at once with `SQLITE_BUSY` — no waiting helps — when another connection (the
/// write lane, another pool connection) committed in between, which a refund accepted while a
/// payment's steps are being recorded did (a 503 on a refund in CI). PostgreSQL ignores the
/// mode; its conditional updates re-check the row they change.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// An exchange-log row: digests of what was sent and received, never the contents.
pub(crate) fn event_row(payment_id: i64, e: NewEvent) -> payment_event::ActiveModel {
    let digest = |b: &Option<Vec<u8>>| b.as_ref().map(|b| hex::encode(medpay_crypto::sm3::sm3(b)));
    payment_event::ActiveModel {
        payment_id: Set(payment_id),
        at_ms: Set(e.at_ms),
        party: Set(e.party),
        operation: Set(e.operation),
        request_digest: Set(digest(&e.request)),
        response_digest: Set(digest(&e.response)),
        signature_ok: Set(e.signature_ok),
        outcome: Set(e.outcome),
        detail: Set(e.detail),
        ..Default::default()
    }
}

/// INSERT ... SELECT: an exchange-log row for the payment with this business key (none when
/// there is no such payment), in one statement.
pub(crate) fn insert_for_payment(
    org_code: &str,
    med_org_ord: &str,
    e: NewEvent,
) -> Result<sea_orm::sea_query::InsertStatement, DbErr> {
    use sea_orm::sea_query::Query;
    let digest = |b: &Option<Vec<u8>>| b.as_ref().map(|b| hex::encode(medpay_crypto::sm3::sm3(b)));
    let select = Query::select()
        .column(payment::Column::Id)
        .exprs([
            Expr::value(e.at_ms),
            Expr::value(e.party),
            Expr::value(e.operation),
            Expr::value(digest(&e.request)),
            Expr::value(digest(&e.response)),
            Expr::value(e.signature_ok),
            Expr::value(e.outcome),
            Expr::value(e.detail),
        ])
        .from(payment::Entity)
        .and_where(payment::Column::OrgCode.eq(org_code))
        .and_where(payment::Column::MedOrgOrd.eq(med_org_ord))
        .to_owned();
    let insert = Query::insert()
        .into_table(payment_event::Entity)
        .columns([
            payment_event::Column::PaymentId,
            payment_event::Column::AtMs,
            payment_event::Column::Party,
            payment_event::Column::Operation,
            payment_event::Column::RequestDigest,
            payment_event::Column::ResponseDigest,
            payment_event::Column::SignatureOk,
            payment_event::Column::Outcome,
            payment_event::Column::Detail,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    Ok(insert)
}
