//! `GET /metrics` in the Prometheus text format: certificate expiry (the figures of
//! `medpay certs check`) and the integrity refusals of REQ S-4.1d (party replies and bank
//! callbacks whose signature failed, never acted on), and the party exchanges by outcome.

use super::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use std::sync::atomic::Ordering;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let now = medpay_activities::http::now_ms() / 1000;
    let findings = crate::commands::certs::check(&crate::commands::certs::sources(&state.config), now, 30);
    let mut out = String::new();
    crate::commands::certs::metrics(&findings, &mut out);
    out.push_str("# HELP medpay_integrity_refusals_total Party replies that failed signature or decryption checks (not acted on; the workflow queries instead).\n# TYPE medpay_integrity_refusals_total counter\n");
    out.push_str(&format!("medpay_integrity_refusals_total {}\n", medpay_activities::exchange_log::INTEGRITY_REFUSALS.load(Ordering::Relaxed)));
    out.push_str("# HELP medpay_forged_callbacks_total Bank callbacks refused because their signature does not verify.\n# TYPE medpay_forged_callbacks_total counter\n");
    out.push_str(&format!("medpay_forged_callbacks_total {}\n", super::bank_callback::FORGED_CALLBACKS.load(Ordering::Relaxed)));
    out.push_str("# HELP medpay_duplicate_bank_orders_total Integrity alarms: a bank order no. issued for a second payment, or a callback naming an order its number does not belong to.\n# TYPE medpay_duplicate_bank_orders_total counter\n");
    out.push_str(&format!("medpay_duplicate_bank_orders_total {}\n", medpay_activities::exchange_log::DUPLICATE_BANK_ORDERS.load(Ordering::Relaxed)));
    out.push_str("# HELP medpay_party_exchanges_total Calls to the parties by outcome: ok, rejected (a refusal), unavailable (retried), unknown (queried, never guessed), integrity (reply refused).\n# TYPE medpay_party_exchanges_total counter\n");
    for (party, outcome, n) in medpay_activities::exchange_log::exchange_counts() {
        out.push_str(&format!("medpay_party_exchanges_total{{party=\"{party}\",outcome=\"{outcome}\"}} {n}\n"));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
