//! The HTTP API for the HIS and operators (axum). Routes are grouped one file per area.

pub mod bank_callback;
pub mod body;
pub mod codec;
pub mod diagnostics;
pub mod error;
use error::{ApiError, ErrorCode};
pub mod guard;
pub mod health;
pub mod metrics;
pub mod patient;
pub mod patient_page;
pub mod payments;
pub mod recon;
pub mod refunds;
pub mod rollout;
pub mod runs;

use axum::Router;
use axum::routing::{get, post};

use std::sync::Arc;
use temporalio_client::Client;

#[derive(Clone)]
pub struct AppState {
    pub client: Client,
    pub task_queue: Arc<str>,
    pub ledger: medpay_activities::ledger::Ledger,
    pub codec: CodecState,
    pub parties: Option<Arc<medpay_activities::parties::Parties>>,
    pub payment: medpay_schemas::payment_flow::PaymentTimings,
    pub refund: crate::config::RefundConfig,
    pub guard: Arc<guard::Guard>,
    /// For `/metrics`: certificates are re-read at every scrape, so a renewal shows at once.
    pub config: Arc<crate::config::Config>,
    pub callbacks: Arc<bank_callback::CallbackDesk>,
    pub runs: Arc<runs::RunIds>,
    pub gates: Arc<rollout::GateCache>,
}

/// What the Web UI's codec endpoint needs.
#[derive(Clone)]
pub struct CodecState {
    pub codec: Option<Arc<crate::codec::Sm4GcmCodec>>,
    pub token: Option<medpay_schemas::Secret<String>>,
    /// The Web UI's origin allowed by CORS, e.g. http://127.0.0.1:8233.
    pub ui_origin: String,
}

/// The API's OpenAPI 3 document, kept in the repo (docs/openapi.json) and served as is.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub fn router(state: AppState) -> Router {
    // The HIS's endpoints: API key, hospital check and rate limits (guard::his).
    let his = Router::new()
        .route("/v1/payments", post(payments::create))
        .route("/v1/payments/{org}/{ord}", get(payments::get))
        .route("/v1/payments/{org}/{ord}/confirm", post(payments::confirm))
        .route("/v1/payments/{org}/{ord}/cancel", post(payments::cancel))
        .route("/v1/payments/{org}/{ord}/patient-link", post(patient::create_link))
        .route("/v1/refunds", post(refunds::create))
        .route("/v1/refunds/{org}/{refund_no}", get(refunds::get))
        .route("/v1/refunds/{org}/{refund_no}/actions", post(refunds::action))
        .route("/v1/reconciliations", post(recon::start))
        .route("/v1/reconciliations/{kind}/{org}/{period}", get(recon::get))
        .route("/v1/reconciliations/days/{org}/{day}", get(recon::day))
        .route("/v1/reconciliations/{kind}/{org}/{period}/exceptions/{item}/resolution", post(recon::resolve))
        .route("/v1/hospitals/{org}/rollout", get(rollout::get).post(rollout::set))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::his));
    // The bank's callback: authenticated by its signature, rate-limited on its own.
    let bank = Router::new()
        .route("/v1/bank/callback", post(bank_callback::bank_callback))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::callback));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/diagnostics/self-check", post(diagnostics::self_check))
        .route("/codec/decode", post(codec::decode).options(codec::preflight))
        .route("/codec/encode", post(codec::encode).options(codec::preflight))
        // The patient's page (REQ E-4.4): static files, and its API that answers to a link's token.
        .route("/patient/", get(patient_page::index))
        .route("/patient/{name}", get(patient_page::asset))
        .route("/patient/i18n/{name}", get(patient_page::words))
        .route("/patient/api/bill", get(patient::bill))
        .route("/patient/api/authorised", post(patient::authorised))
        .route("/patient/api/confirm", post(patient::decide))
        .merge(his)
        .merge(bank)
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint; see /openapi.json") })
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .with_state(state)
}
