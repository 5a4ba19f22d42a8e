//! API errors: every failure answers with a machine-readable `code` and a human `message`,
//! 4xx for the caller's mistakes and 5xx/503 for ours or an unreachable dependency.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, body: ErrorBody { code, message: message.into() } }
    }

    pub fn ledger_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "LEDGER_UNAVAILABLE",
            format!("the ledger database is not reachable; retry later ({detail})"),
        )
    }

    /// A signal to a workflow that Temporal refused. "Not found" for a workflow whose ledger row
    /// exists means its run has ended (a paid, failed or cancelled payment; a finished refund):
    /// nothing can change it any more, so the caller gets a 409 naming the current state, never
    /// a 503 it would retry forever. Anything else is the engine being unreachable.
    pub fn signal_refused(
        e: temporalio_client::errors::WorkflowInteractionError,
        code: &'static str,
        what: &str,
        state: &str,
    ) -> Self {
        match e {
            temporalio_client::errors::WorkflowInteractionError::NotFound(_) => Self::new(
                StatusCode::CONFLICT,
                code,
                format!(
                    "{what} is {state} and its workflow has ended: nothing is waiting for this; read its state with GET"
                ),
            ),
            other => Self::temporal_unavailable(other),
        }
    }

    pub fn temporal_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TEMPORAL_UNAVAILABLE",
            format!("the workflow engine is not reachable; retry later ({detail})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = self.body.code, message = %self.body.message, "request failed");
        }
        (self.status, Json(self.body)).into_response()
    }
}
