//! Reconciliation through the API: start (or re-run) one period, and read a run's summary and
//! exception list (the under-collections the HIS must collect, REQ X-8c, are among them).

use super::AppState;
use super::body::Body;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medpay_schemas::recon::ReconKind;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    pub kind: String,
    pub org_code: String,
    pub period: String,
}

fn kind(k: &str) -> Result<ReconKind, ApiError> {
    ReconKind::parse(k)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRecon, format!("kind {k:?} must be selfpay or insurance")))
}

pub async fn start(
    State(state): State<AppState>,
    Body(b): Body<StartBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let k = kind(&b.kind)?;
    k.check_period(&b.period).map_err(|m| ApiError::new(ErrorCode::InvalidRecon, m))?;
    let org = medpay_schemas::OrgCode::parse(b.org_code.clone())
        .map_err(|e| ApiError::new(ErrorCode::InvalidRecon, e.to_string()))?;
    let id = crate::recon::start(&state.client, &state.task_queue, k, &org, &b.period)
        .await
        .map_err(ApiError::temporal_unavailable)?;
    let run = medpay_activities::recon::run_id(k, &b.org_code, &b.period);
    medpay_activities::recon::store::request_run(
        &state.ledger,
        &run,
        k.as_str(),
        &b.org_code,
        &b.period,
        medpay_activities::http::now_ms(),
    )
    .await
    .map_err(ApiError::ledger_unavailable)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"workflow_id": id, "status_url": format!("/v1/reconciliations/{}/{}/{}", b.kind, b.org_code, b.period)}),
        ),
    ))
}

/// A period in a path: one of the other kind's form names a reconciliation that cannot exist
/// (404); one of neither form is a malformed path (400).
fn check_path_period(k: ReconKind, period: &str) -> Result<(), ApiError> {
    let Err(m) = k.check_period(period) else { return Ok(()) };
    let other = match k {
        ReconKind::Selfpay => ReconKind::Insurance,
        ReconKind::Insurance => ReconKind::Selfpay,
    };
    Err(match other.check_period(period) {
        Ok(()) => {
            ApiError::new(ErrorCode::UnknownRecon, format!("{m}: there is no such {} reconciliation", k.as_str()))
        }
        Err(_) => ApiError::new(ErrorCode::InvalidReconPath, m),
    })
}

pub async fn get(
    State(state): State<AppState>,
    Path((k, org, period)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // In the path, an unknown kind is a malformed path (400), as a malformed period is.
    let k = kind(&k).map_err(|e| ApiError::new(ErrorCode::InvalidReconPath, e.message))?;
    check_path_period(k, &period)?;
    let run = medpay_activities::recon::run_id(k, &org, &period);
    let (run_state, summary) = medpay_activities::recon::run_state(&state.ledger, &run, &org)
        .await
        .map_err(ApiError::ledger_unavailable)?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownRecon, format!("no reconciliation {run} for {org}")))?;
    let exceptions = medpay_activities::recon::exceptions(&state.ledger, &run, 10_000)
        .await
        .map_err(ApiError::ledger_unavailable)?;
    let summary: serde_json::Value =
        summary.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(serde_json::Value::Null);
    Ok(Json(json!({"run_id": run, "org_code": org, "state": run_state, "summary": summary, "exceptions": exceptions})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayOptions {
    /// `csv` for the spreadsheet, JSON otherwise.
    #[serde(default)]
    pub format: Option<String>,
}

/// The three-way view of a day for finance (HIS order, bank, insurance), as JSON or CSV.
pub async fn day(
    State(state): State<AppState>,
    Path((org, day)): Path<(String, String)>,
    super::body::QueryOptions(o): super::body::QueryOptions<DayOptions>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    ReconKind::Selfpay.check_period(&day).map_err(|m| ApiError::new(ErrorCode::InvalidReconPath, m))?;
    let org =
        medpay_schemas::OrgCode::parse(org).map_err(|e| ApiError::new(ErrorCode::InvalidReconPath, e.to_string()))?;
    let csv = match o.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::new(ErrorCode::InvalidQuery, format!("format {other:?} must be json or csv")));
        }
    };
    let view = medpay_activities::recon::three_way::three_way(&state.ledger, &org, &day)
        .await
        .map_err(ApiError::ledger_unavailable)?;
    Ok(if csv {
        ([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], view.to_csv()).into_response()
    } else {
        Json(view).into_response()
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// What was done offline: a counter receipt, a bank transfer, a ticket.
    pub reference: String,
    /// Who recorded it (an operator's name or id).
    pub by: String,
}

/// An operator records an exception's offline resolution (REQ §8), once.
pub async fn resolve(
    State(state): State<AppState>,
    Path((k, org, period, item)): Path<(String, String, String, String)>,
    Body(b): Body<ResolveBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use medpay_activities::recon::resolution::{Resolution, ResolveError, resolve};
    let k = kind(&k).map_err(|e| ApiError::new(ErrorCode::InvalidReconPath, e.message))?;
    check_path_period(k, &period)?;
    let blank = |v: &str| v.trim().is_empty() || v.len() > 200;
    if blank(&b.reference) || blank(&b.by) {
        return Err(ApiError::new(
            ErrorCode::InvalidResolution,
            "reference and by are required (at most 200 bytes each)",
        ));
    }
    let run = medpay_activities::recon::run_id(k, &org, &period);
    medpay_activities::recon::run_state(&state.ledger, &run, &org)
        .await
        .map_err(ApiError::ledger_unavailable)?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownRecon, format!("no reconciliation {run} for {org}")))?;
    let r = Resolution { reference: b.reference, by: b.by, at_ms: medpay_activities::http::now_ms() };
    match resolve(&state.ledger, &run, &item, &r).await {
        Ok(stored) => Ok(Json(json!({"run_id": run, "item": item, "resolution": stored}))),
        Err(e @ ResolveError::UnknownItem { .. }) => Err(ApiError::new(ErrorCode::UnknownException, e.to_string())),
        Err(e @ (ResolveError::Matched { .. } | ResolveError::AlreadyResolved { .. })) => {
            Err(ApiError::new(ErrorCode::ResolutionConflict, e.to_string()))
        }
        Err(e @ ResolveError::Ledger(_)) => Err(ApiError::ledger_unavailable(e)),
    }
}
