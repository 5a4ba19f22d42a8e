//! `POST /v1/diagnostics/self-check`: runs the self-check workflow and returns its report, so an
//! operator can prove server, worker and crypto are wired before opening the service.

use super::AppState;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::State;
use medpay_schemas::diagnostics::SelfCheckReport;
use serde::Serialize;

#[derive(Serialize)]
pub struct SelfCheckResponse {
    /// Look it up in the Temporal Web UI.
    pub workflow_id: String,
    #[serde(flatten)]
    pub report: SelfCheckReport,
}

pub async fn self_check(State(state): State<AppState>) -> Result<Json<SelfCheckResponse>, ApiError> {
    let (workflow_id, report) = crate::selfcheck::run_self_check(&state.client, &state.task_queue, "api")
        .await
        .map_err(|e| ApiError::new(ErrorCode::SelfCheckFailed, format!("{e:#}")))?;
    Ok(Json(SelfCheckResponse { workflow_id, report }))
}
