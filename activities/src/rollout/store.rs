//! The rollout gate's tables (migration 8): each hospital's current gate, its change history,
//! and the acceptance reports.

use super::gate::{Rollout, RolloutStage};
use crate::ledger::Ledger;
use medpay_schemas::payment_flow::Scene;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("the ledger's rollout tables: {0}")]
pub struct StoreError(String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// One recorded change of a hospital's gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at_ms: i64,
    pub actor: String,
    pub reason: String,
    pub from: RolloutStage,
    pub to: RolloutStage,
    pub share_percent: u8,
    pub scenes: Vec<Scene>,
    /// The hospital's configuration fingerprint when the change was made.
    pub fingerprint: String,
}

/// One acceptance run's outcome for one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub org_code: medpay_schemas::OrgCode,
    pub fingerprint: String,
    pub channel: String,
    pub passed: bool,
    pub cases_total: u32,
    pub cases_passed: u32,
    pub finished_at_ms: i64,
    pub report_path: String,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn scenes_text(scenes: &[Scene]) -> String {
    scenes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn scenes_of(text: &str) -> Vec<Scene> {
    text.split(',').filter_map(|s| serde_json::from_value(serde_json::Value::String(s.to_string())).ok()).collect()
}

fn stage_of(text: &str) -> Result<RolloutStage, StoreError> {
    RolloutStage::parse(text).ok_or_else(|| StoreError(format!("unknown stage {text:?} in the ledger")))
}

pub async fn read(ledger: &Ledger, org: &str) -> Result<Option<Rollout>, StoreError> {
    let q = Query::select()
        .columns(["stage", "share_percent", "scenes", "allow_openids"].map(col))
        .from(col("rollout"))
        .and_where(Expr::col(col("org_code")).eq(org))
        .to_owned();
    let Some(row) = ledger.connection().query_one(&q).await.map_err(err)? else { return Ok(None) };
    let stage: String = row.try_get("", "stage").map_err(err)?;
    let share: i64 = row.try_get("", "share_percent").map_err(err)?;
    let scenes: String = row.try_get("", "scenes").map_err(err)?;
    let allow: String = row.try_get("", "allow_openids").map_err(err)?;
    Ok(Some(Rollout {
        stage: stage_of(&stage)?,
        share_percent: u8::try_from(share).map_err(err)?,
        scenes: scenes_of(&scenes),
        allow_openids: allow.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        implicit: false,
    }))
}

/// Writes the new gate and its change record together: no change without its record.
pub async fn write(ledger: &Ledger, org: &str, r: &Rollout, c: &Change) -> Result<(), StoreError> {
    let tx = ledger.connection().begin().await.map_err(err)?;
    let allow = r.allow_openids.iter().cloned().collect::<Vec<_>>().join(",");
    let upsert = Query::insert()
        .into_table(col("rollout"))
        .columns(["org_code", "stage", "share_percent", "scenes", "allow_openids", "changed_at_ms"].map(col))
        .values_panic([
            org.into(),
            r.stage.as_str().into(),
            i64::from(r.share_percent).into(),
            scenes_text(&r.scenes).into(),
            allow.into(),
            c.at_ms.into(),
        ])
        .on_conflict(
            OnConflict::column(col("org_code"))
                .update_columns(["stage", "share_percent", "scenes", "allow_openids", "changed_at_ms"].map(col))
                .to_owned(),
        )
        .to_owned();
    tx.execute(&upsert).await.map_err(err)?;
    let record = Query::insert()
        .into_table(col("rollout_changes"))
        .columns(
            [
                "org_code",
                "at_ms",
                "actor",
                "reason",
                "from_stage",
                "to_stage",
                "share_percent",
                "scenes",
                "fingerprint",
            ]
            .map(col),
        )
        .values_panic([
            org.into(),
            c.at_ms.into(),
            c.actor.clone().into(),
            c.reason.clone().into(),
            c.from.as_str().into(),
            c.to.as_str().into(),
            i64::from(c.share_percent).into(),
            scenes_text(&c.scenes).into(),
            c.fingerprint.clone().into(),
        ])
        .to_owned();
    tx.execute(&record).await.map_err(err)?;
    tx.commit().await.map_err(err)
}

/// A hospital's rows of `table`, newest first.
async fn newest_first(
    ledger: &Ledger,
    table: &str,
    columns: &[&str],
    org: &str,
    limit: u64,
) -> Result<Vec<sea_orm::QueryResult>, StoreError> {
    let q = Query::select()
        .columns(columns.iter().map(|c| col(c)))
        .from(col(table))
        .and_where(Expr::col(col("org_code")).eq(org))
        .order_by(col("id"), Order::Desc)
        .limit(limit)
        .to_owned();
    ledger.connection().query_all(&q).await.map_err(err)
}

/// The hospital's changes, newest first.
pub async fn history(ledger: &Ledger, org: &str, limit: u64) -> Result<Vec<Change>, StoreError> {
    let columns = ["at_ms", "actor", "reason", "from_stage", "to_stage", "share_percent", "scenes", "fingerprint"];
    newest_first(ledger, "rollout_changes", &columns, org, limit)
        .await?
        .iter()
        .map(|row| {
            let s = |c: &str| row.try_get::<String>("", c).map_err(err);
            Ok(Change {
                at_ms: row.try_get("", "at_ms").map_err(err)?,
                actor: s("actor")?,
                reason: s("reason")?,
                from: stage_of(&s("from_stage")?)?,
                to: stage_of(&s("to_stage")?)?,
                share_percent: u8::try_from(row.try_get::<i64>("", "share_percent").map_err(err)?).map_err(err)?,
                scenes: scenes_of(&s("scenes")?),
                fingerprint: s("fingerprint")?,
            })
        })
        .collect()
}

pub async fn record_acceptance(ledger: &Ledger, a: &Acceptance) -> Result<(), StoreError> {
    let q = Query::insert()
        .into_table(col("acceptance_reports"))
        .columns(
            [
                "org_code",
                "fingerprint",
                "channel",
                "passed",
                "cases_total",
                "cases_passed",
                "finished_at_ms",
                "report_path",
            ]
            .map(col),
        )
        .values_panic([
            a.org_code.clone().into(),
            a.fingerprint.clone().into(),
            a.channel.clone().into(),
            a.passed.into(),
            i64::from(a.cases_total).into(),
            i64::from(a.cases_passed).into(),
            a.finished_at_ms.into(),
            a.report_path.clone().into(),
        ])
        .to_owned();
    ledger.connection().execute(&q).await.map(|_| ()).map_err(err)
}

/// The hospital's acceptance runs, newest first.
pub async fn acceptances(ledger: &Ledger, org: &str, limit: u64) -> Result<Vec<Acceptance>, StoreError> {
    let columns = [
        "org_code",
        "fingerprint",
        "channel",
        "passed",
        "cases_total",
        "cases_passed",
        "finished_at_ms",
        "report_path",
    ];
    newest_first(ledger, "acceptance_reports", &columns, org, limit)
        .await?
        .iter()
        .map(|row| {
            let n = |c: &str| row.try_get::<i64>("", c).map_err(err).and_then(|v| u32::try_from(v).map_err(err));
            Ok(Acceptance {
                org_code: row.try_get("", "org_code").map_err(err)?,
                fingerprint: row.try_get("", "fingerprint").map_err(err)?,
                channel: row.try_get("", "channel").map_err(err)?,
                passed: row.try_get("", "passed").map_err(err)?,
                cases_total: n("cases_total")?,
                cases_passed: n("cases_passed")?,
                finished_at_ms: row.try_get("", "finished_at_ms").map_err(err)?,
                report_path: row.try_get("", "report_path").map_err(err)?,
            })
        })
        .collect()
}
