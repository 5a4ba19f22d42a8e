//! `GET /metrics` in the Prometheus text format: certificate expiry (the figures of
//! `medpay certs check`) and the integrity refusals of REQ S-4.1d (party replies and bank
//! callbacks whose signature failed, never acted on), and the party exchanges by outcome.

use super::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use std::sync::atomic::Ordering;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let now = medpay_activities::http::now_ms() / 1000;
    let findings = crate::certs::check(&crate::certs::sources(&state.config), now, 30);
    let mut out = String::new();
    crate::certs::metrics(&findings, &mut out);
    out.push_str("# HELP medpay_integrity_refusals_total Party replies that failed signature or decryption checks (not acted on; the workflow queries instead).\n# TYPE medpay_integrity_refusals_total counter\n");
    out.push_str(&format!(
        "medpay_integrity_refusals_total {}\n",
        medpay_activities::exchange_log::INTEGRITY_REFUSALS.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP medpay_forged_callbacks_total Bank callbacks refused because their signature does not verify.\n# TYPE medpay_forged_callbacks_total counter\n");
    out.push_str(&format!(
        "medpay_forged_callbacks_total {}\n",
        super::bank_callback::FORGED_CALLBACKS.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP medpay_duplicate_bank_orders_total Integrity alarms: a bank order no. issued for a second payment, or a callback naming an order its number does not belong to.\n# TYPE medpay_duplicate_bank_orders_total counter\n");
    out.push_str(&format!(
        "medpay_duplicate_bank_orders_total {}\n",
        medpay_activities::exchange_log::DUPLICATE_BANK_ORDERS.load(Ordering::Relaxed)
    ));
    medpay_activities::metrics::render(&mut out);
    live_gauges(&state, &mut out).await;
    hospitals(&state, &mut out);
    out.push_str("# HELP medpay_party_exchanges_total Calls to the parties by outcome: ok, rejected (a refusal), unavailable (retried), unknown (queried, never guessed), integrity (reply refused).\n# TYPE medpay_party_exchanges_total counter\n");
    for (party, outcome, n) in medpay_activities::exchange_log::exchange_counts() {
        out.push_str(&format!("medpay_party_exchanges_total{{party=\"{party}\",outcome=\"{outcome}\"}} {n}\n"));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// Payments and refunds by live state per hospital, and how long the longest waiting one has
/// rested there (from the ledger at each scrape). A ledger that does not answer shows as
/// `medpay_ledger_up 0`, never as zero payments.
async fn live_gauges(state: &AppState, out: &mut String) {
    use medpay_activities::metrics::escape;
    let live = state.ledger.live_counts().await;
    out.push_str(
        "# HELP medpay_ledger_up Whether the ledger answered this scrape's reads.\n# TYPE medpay_ledger_up gauge\n",
    );
    out.push_str(&format!("medpay_ledger_up {}\n", u8::from(live.is_ok())));
    let Ok(live) = live else { return };
    let now = medpay_activities::http::now_ms();
    for (kind, what) in [("payment", "payments"), ("refund", "refunds")] {
        out.push_str(&format!(
            "# HELP medpay_{what}_live {what} not yet ended, by hospital and state.\n# TYPE medpay_{what}_live gauge\n"
        ));
        for c in live.iter().filter(|c| c.kind == kind) {
            out.push_str(&format!(
                "medpay_{what}_live{{org=\"{}\",state=\"{}\"}} {}\n",
                escape(&c.org_code),
                escape(&c.state),
                c.count
            ));
        }
        out.push_str(&format!("# HELP medpay_{kind}_oldest_in_state_seconds How long the longest waiting {kind} of a hospital has rested in its live state.\n# TYPE medpay_{kind}_oldest_in_state_seconds gauge\n"));
        for c in live.iter().filter(|c| c.kind == kind) {
            out.push_str(&format!(
                "medpay_{kind}_oldest_in_state_seconds{{org=\"{}\",state=\"{}\"}} {}\n",
                escape(&c.org_code),
                escape(&c.state),
                (now - c.oldest_updated_ms).max(0) / 1000
            ));
        }
    }
}

/// Which hospitals this instance serves, and which hospital files it refused at start (an alert
/// fires on the latter: a hospital whose payments are all answered 404 until it is fixed).
fn hospitals(state: &AppState, out: &mut String) {
    use medpay_activities::metrics::escape;
    let Some(parties) = &state.parties else { return };
    out.push_str("# HELP medpay_hospitals_served Hospitals whose configuration this instance loaded.\n# TYPE medpay_hospitals_served gauge\n");
    out.push_str(&format!("medpay_hospitals_served {}\n", parties.hospitals.len()));
    out.push_str("# HELP medpay_hospital_config_refused Hospital configurations refused at start (file or org code): fix them and restart.\n# TYPE medpay_hospital_config_refused gauge\n");
    for (what, _) in &parties.refused {
        let name = std::path::Path::new(what).file_name().map_or(what.clone(), |n| n.to_string_lossy().into_owned());
        out.push_str(&format!("medpay_hospital_config_refused{{hospital=\"{}\"}} 1\n", escape(&name)));
    }
}
