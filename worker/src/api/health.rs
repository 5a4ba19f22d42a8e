//! Liveness (the process answers) and readiness (the workflow engine is reachable).

use super::AppState;
use super::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use temporalio_client::WorkflowCountOptions;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.client.count_workflows("", WorkflowCountOptions::default()).await.map_err(ApiError::temporal_unavailable)?;
    state.ledger.ping().await.map_err(ApiError::ledger_unavailable)?;
    Ok(Json(json!({"status": "ready", "temporal": "reachable", "ledger": "reachable"})))
}
