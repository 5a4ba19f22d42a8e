//! The embedded SQLite ledger's write lane: one connection of its own, outside sqlx's pool,
//! for the single-statement writes every payment makes (create, state changes, lone
//! exchange-log appends).
//!
//! Why: a statement through the pool is three round trips to SQLite's connection thread (a
//! ping on checkout, unless disabled, the statement, and a ping on release that sqlx always
//! makes), each a sleep and a wake-up of two threads. On the lane a statement is one round
//! trip. SQLite lets one writer commit at a time anyway, so a queue in front of one connection
//! (a fair async mutex) loses no parallelism, and waiting writers queue in order instead of
//! sleeping in SQLite's busy handler. Reads and multi-statement transactions stay on the pool
//! (readers run beside the writer in WAL mode). PostgreSQL has no lane: the pool is the path.
//!
//! A caller that goes away midway (an HIS hanging up, a cancelled activity) leaves nothing
//! half-done for the next: each write is one statement in autocommit, done whole or not at all
//! (with `RETURNING`, SQLite makes all the changes on the first step), the connection thread
//! takes one command at a time, and the lane never opens a transaction.

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions as _, Executor as _};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use std::str::FromStr;
use std::sync::Arc;

pub struct SqliteLane {
    conn: tokio::sync::Mutex<sqlx::SqliteConnection>,
}

impl SqliteLane {
    /// Opens the lane's connection with the pool's settings (`super::sqlite_settings`).
    pub async fn open(url: &str) -> Result<Self, DbErr> {
        let options = super::sqlite_settings(SqliteConnectOptions::from_str(url).map_err(conn_err)?);
        let conn = options.connect().await.map_err(conn_err)?;
        Ok(Self { conn: tokio::sync::Mutex::new(conn) })
    }
}

fn conn_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

fn bound(stmt: &Statement) -> sqlx::query::Query<'_, sqlx::Sqlite, SqlxValues> {
    sqlx::query_with(
        sqlx::AssertSqlSafe(stmt.sql.as_str()),
        SqlxValues(stmt.values.clone().unwrap_or(sea_orm::sea_query::Values(Vec::new()))),
    )
}

#[async_trait::async_trait]
impl ConnectionTrait for SqliteLane {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        bound(&stmt).execute(&mut *conn).await.map(Into::into).map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.map(Into::into).map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        bound(&stmt).fetch_optional(&mut *conn).await.map(|row| row.map(Into::into)).map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        bound(&stmt)
            .fetch_all(&mut *conn)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}

/// Where the ledger's single-statement writes go: the lane on an embedded SQLite file, the
/// pool otherwise (PostgreSQL; an in-memory SQLite, which a second connection would not see).
pub enum Writes {
    Lane(SqliteLane),
    Pool(sea_orm::DatabaseConnection),
}

impl Writes {
    pub async fn open(url: &str, pool: &sea_orm::DatabaseConnection) -> Result<Self, DbErr> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if url.starts_with("sqlite:") && !in_memory {
            Ok(Self::Lane(SqliteLane::open(url).await?))
        } else {
            Ok(Self::Pool(pool.clone()))
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Writes {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Lane(l) => l.get_database_backend(),
            Self::Pool(p) => p.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Lane(l) => l.execute_raw(stmt).await,
            Self::Pool(p) => p.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Lane(l) => l.execute_unprepared(sql).await,
            Self::Pool(p) => p.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Lane(l) => l.query_one_raw(stmt).await,
            Self::Pool(p) => p.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Lane(l) => l.query_all_raw(stmt).await,
            Self::Pool(p) => p.query_all_raw(stmt).await,
        }
    }
}
