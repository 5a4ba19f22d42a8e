//! Schema migrations. DDL is written per backend so the money invariants are database CHECKs
//! on both SQLite and PostgreSQL, not only code.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreatePayments),
            Box::new(CreateRefunds),
            Box::new(CreateReconciliation),
            Box::new(UniqueBankOrders),
            Box::new(AuthExchanges),
            Box::new(PatientLinks),
            Box::new(ReconResolutions),
            Box::new(Rollout),
        ]
    }
}

struct CreatePayments;

impl MigrationName for CreatePayments {
    fn name(&self) -> &str {
        "m20261126_000001_create_payments"
    }
}

const MONEY_CHECKS: &str = "
    CHECK (total_fen >= 0),
    CHECK (fund_fen IS NULL OR fund_fen >= 0),
    CHECK (psn_acct_fen IS NULL OR psn_acct_fen >= 0),
    CHECK (own_pay_fen IS NULL OR own_pay_fen >= 0),
    CHECK (fund_fen IS NULL OR fund_fen + psn_acct_fen + own_pay_fen = total_fen),
    UNIQUE (org_code, med_org_ord)";

/// An auto-increment primary key in each backend's dialect.
fn id_column(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    }
}

fn payments_ddl(backend: DbBackend) -> String {
    let id = id_column(backend);
    format!(
        "CREATE TABLE payments (
            {id},
            org_code TEXT NOT NULL,
            med_org_ord TEXT NOT NULL,
            workflow_id TEXT NOT NULL,
            request_fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            total_fen BIGINT NOT NULL,
            fund_fen BIGINT, psn_acct_fen BIGINT, own_pay_fen BIGINT,
            pay_ord_id TEXT, ord_stas TEXT,
            out_trade_no TEXT, bank_order_id TEXT, mix_trade_no TEXT, sub_mchid TEXT,
            mix_pay_status TEXT, self_pay_status TEXT, med_ins_pay_status TEXT,
            failure_reason TEXT,
            created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL, paid_at_ms BIGINT,
            version BIGINT NOT NULL DEFAULT 0,
            {MONEY_CHECKS}
        )"
    )
}

fn events_ddl(backend: DbBackend) -> String {
    let id = id_column(backend);
    format!(
        "CREATE TABLE payment_events (
            {id},
            payment_id BIGINT NOT NULL REFERENCES payments(id),
            at_ms BIGINT NOT NULL,
            party TEXT NOT NULL,
            operation TEXT NOT NULL,
            request_digest TEXT, response_digest TEXT,
            signature_ok BOOLEAN,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL
        )"
    )
}

// async_trait's desugaring needs the elided lifetime the trait itself elides.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CreatePayments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        db.execute_unprepared(&payments_ddl(backend)).await?;
        db.execute_unprepared(&events_ddl(backend)).await?;
        db.execute_unprepared("CREATE INDEX payments_state ON payments(state)").await?;
        db.execute_unprepared("CREATE INDEX payments_mix_trade_no ON payments(mix_trade_no)").await?;
        db.execute_unprepared("CREATE INDEX payment_events_payment ON payment_events(payment_id)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE payment_events").await?;
        db.execute_unprepared("DROP TABLE payments").await?;
        Ok(())
    }
}

struct CreateRefunds;

impl MigrationName for CreateRefunds {
    fn name(&self) -> &str {
        "m20261126_000002_create_refunds"
    }
}

/// The refunded (reserved) total per component, never above what was paid: the last line of
/// defence against refunding a patient twice, whatever the code above it does.
const REFUNDED_COLUMNS: [(&str, &str); 3] = [
    ("refunded_fund_fen", "fund_fen"),
    ("refunded_psn_acct_fen", "psn_acct_fen"),
    ("refunded_cash_fen", "own_pay_fen"),
];

fn refunds_ddl(backend: DbBackend) -> String {
    let id = id_column(backend);
    format!(
        "CREATE TABLE refunds (
            {id},
            org_code TEXT NOT NULL,
            refund_no TEXT NOT NULL,
            payment_id BIGINT NOT NULL REFERENCES payments(id),
            workflow_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            request_fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            fund_fen BIGINT NOT NULL, psn_acct_fen BIGINT NOT NULL, cash_fen BIGINT NOT NULL,
            app_refd_sn TEXT NOT NULL, mid_refd_sn TEXT, mid_status TEXT,
            bank_serial TEXT NOT NULL, bank_intrx_serial TEXT,
            notified BOOLEAN NOT NULL DEFAULT FALSE,
            reason TEXT, attention TEXT,
            created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL,
            version BIGINT NOT NULL DEFAULT 0,
            CHECK (fund_fen >= 0), CHECK (psn_acct_fen >= 0), CHECK (cash_fen >= 0),
            CHECK (fund_fen + psn_acct_fen + cash_fen > 0),
            UNIQUE (org_code, refund_no)
        )"
    )
}

#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CreateRefunds {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        for (col, paid) in REFUNDED_COLUMNS {
            let check = format!("CHECK ({col} >= 0 AND {col} <= COALESCE({paid}, 0))");
            match backend {
                // PostgreSQL wants a cross-column CHECK as a table constraint.
                DbBackend::Postgres => {
                    db.execute_unprepared(&format!("ALTER TABLE payments ADD COLUMN {col} BIGINT NOT NULL DEFAULT 0"))
                        .await?;
                    db.execute_unprepared(&format!(
                        "ALTER TABLE payments ADD CONSTRAINT payments_{col}_within_paid {check}"
                    ))
                    .await?;
                }
                _ => {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE payments ADD COLUMN {col} BIGINT NOT NULL DEFAULT 0 {check}"
                    ))
                    .await?;
                }
            }
        }
        db.execute_unprepared(&refunds_ddl(backend)).await?;
        db.execute_unprepared("CREATE INDEX refunds_payment ON refunds(payment_id)").await?;
        db.execute_unprepared("CREATE INDEX refunds_state ON refunds(state)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE refunds").await?;
        for (col, _) in REFUNDED_COLUMNS {
            db.execute_unprepared(&format!("ALTER TABLE payments DROP COLUMN {col}")).await?;
        }
        Ok(())
    }
}

struct CreateReconciliation;

impl MigrationName for CreateReconciliation {
    fn name(&self) -> &str {
        "m20261126_000003_create_reconciliation"
    }
}

/// Statement lines are loaded per run (a re-run reloads them); `recon_items` keeps one row per
/// (run, item) so an action taken once is never taken again.
const RECON_DDL: [&str; 8] = [
    "CREATE TABLE recon_runs (
        run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, org_code TEXT NOT NULL, period TEXT NOT NULL,
        state TEXT NOT NULL, file TEXT, summary TEXT,
        created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL)",
    "CREATE TABLE statement_lines (
        run_id TEXT NOT NULL, line_no BIGINT NOT NULL, entry TEXT NOT NULL, order_key TEXT NOT NULL,
        ref2 TEXT NOT NULL, serial TEXT NOT NULL, amount_fen BIGINT NOT NULL, amount2_fen BIGINT NOT NULL,
        PRIMARY KEY (run_id, line_no))",
    "CREATE TABLE statement_errors (run_id TEXT NOT NULL, line_no BIGINT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (run_id, line_no))",
    "CREATE TABLE recon_items (
        run_id TEXT NOT NULL, item_key TEXT NOT NULL, class TEXT NOT NULL, payment_id BIGINT,
        ledger_fen BIGINT, statement_fen BIGINT, action TEXT, acted BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (run_id, item_key))",
    "CREATE INDEX statement_lines_key ON statement_lines(run_id, order_key)",
    "CREATE INDEX payments_out_trade_no ON payments(out_trade_no)",
    "CREATE INDEX payments_pay_ord_id ON payments(pay_ord_id)",
    "CREATE INDEX refunds_bank_intrx ON refunds(bank_intrx_serial)",
];

#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CreateReconciliation {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for ddl in RECON_DDL {
            db.execute_unprepared(ddl).await?;
        }
        db.execute_unprepared("CREATE INDEX refunds_app_refd_sn ON refunds(app_refd_sn)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for t in ["recon_items", "statement_errors", "statement_lines", "recon_runs"] {
            db.execute_unprepared(&format!("DROP TABLE {t}")).await?;
        }
        Ok(())
    }
}

struct UniqueBankOrders;

impl MigrationName for UniqueBankOrders {
    fn name(&self) -> &str {
        "m20261204_000004_unique_bank_orders"
    }
}

/// A bank order number belongs to one payment: `(sub_mchid, mix_trade_no)` is unique, so a
/// number the bank issues twice (a bank that lost its books) can never route one payment's
/// callback to another. Rows without a bank order (NULL) are not constrained, on both backends.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for UniqueBankOrders {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE UNIQUE INDEX payments_bank_order ON payments(sub_mchid, mix_trade_no)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX payments_bank_order").await?;
        Ok(())
    }
}

struct AuthExchanges;

impl MigrationName for AuthExchanges {
    fn name(&self) -> &str {
        "m20261204_000005_auth_exchanges"
    }
}

/// authCode exchanges shared by the instances until their identification completes, sealed
/// with the payload key (`pay_auth_cache`): keyed by a digest, never the payAuthNo in clear.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for AuthExchanges {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TABLE auth_exchanges (exchange_key TEXT PRIMARY KEY, sealed TEXT NOT NULL, created_at_ms BIGINT NOT NULL)").await?;
        // Expired rows are deleted at every insert: a range, not a scan of the hour's rows.
        db.execute_unprepared("CREATE INDEX auth_exchanges_created ON auth_exchanges(created_at_ms)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE auth_exchanges").await?;
        Ok(())
    }
}

struct PatientLinks;

impl MigrationName for PatientLinks {
    fn name(&self) -> &str {
        "m20261204_000006_patient_links"
    }
}

/// The patient page's per-bill links (`patient_links`): keyed by the SM3 digest of the link's
/// token, never the token itself, so a copy of the ledger opens no bill.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for PatientLinks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE patient_links (token_sm3 TEXT PRIMARY KEY, org_code TEXT NOT NULL, med_org_ord TEXT NOT NULL, \
             bill TEXT, expires_at_ms BIGINT NOT NULL, created_at_ms BIGINT NOT NULL)",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX patient_links_expires ON patient_links(expires_at_ms)").await?;
        db.execute_unprepared("CREATE INDEX patient_links_bill ON patient_links(org_code, med_org_ord)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE patient_links").await?;
        Ok(())
    }
}

struct ReconResolutions;

impl MigrationName for ReconResolutions {
    fn name(&self) -> &str {
        "m20261204_000007_recon_resolutions"
    }
}

/// An operator's offline resolution of a reconciliation exception (REQ §8: every exception
/// has an offline way out): the reference, who, when.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for ReconResolutions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in ["resolved_ref TEXT", "resolved_by TEXT", "resolved_at_ms BIGINT"] {
            db.execute_unprepared(&format!("ALTER TABLE recon_items ADD COLUMN {column}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in ["resolved_ref", "resolved_by", "resolved_at_ms"] {
            db.execute_unprepared(&format!("ALTER TABLE recon_items DROP COLUMN {column}")).await?;
        }
        Ok(())
    }
}

struct Rollout;

impl MigrationName for Rollout {
    fn name(&self) -> &str {
        "m20261204_000008_rollout"
    }
}

/// The rollout gate (REQ O-5 go-live): each hospital's stage, every change (who, when, from,
/// to, why), and the acceptance reports a move to live needs.
#[allow(elided_lifetimes_in_paths)]
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Rollout {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let id = id_column(manager.get_database_backend());
        db.execute_unprepared(
            "CREATE TABLE rollout (org_code TEXT PRIMARY KEY, stage TEXT NOT NULL, share_percent BIGINT NOT NULL CHECK (share_percent BETWEEN 0 AND 100), \
             scenes TEXT NOT NULL, allow_openids TEXT NOT NULL, changed_at_ms BIGINT NOT NULL)",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE rollout_changes ({id}, org_code TEXT NOT NULL, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, \
             from_stage TEXT NOT NULL, to_stage TEXT NOT NULL, share_percent BIGINT NOT NULL, scenes TEXT NOT NULL, fingerprint TEXT NOT NULL)"
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX rollout_changes_org ON rollout_changes(org_code, at_ms)").await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE acceptance_reports ({id}, org_code TEXT NOT NULL, fingerprint TEXT NOT NULL, channel TEXT NOT NULL, passed BOOLEAN NOT NULL, \
             cases_total BIGINT NOT NULL, cases_passed BIGINT NOT NULL, finished_at_ms BIGINT NOT NULL, report_path TEXT NOT NULL)"
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX acceptance_reports_org ON acceptance_reports(org_code, fingerprint)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["acceptance_reports", "rollout_changes", "rollout"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
