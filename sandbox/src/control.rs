//! The control API (`/sandbox/control/...`): set faults, write statement files on demand, and
//! inspect what the parties hold (tests assert on it: "no duplicate order exists"), and hand out
//! signed bank callbacks for replay (benchmarks, drills).

use crate::app::App;
use crate::faults::FaultConfig;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

pub async fn get_faults(State(app): State<App>) -> Json<FaultConfig> {
    Json(app.faults())
}

/// Replaces the fault settings. A setting the sandbox would not apply is refused (422), never
/// stored and ignored: see [`FaultConfig::check`].
pub async fn put_faults(State(app): State<App>, Json(f): Json<FaultConfig>) -> Response {
    if let Err(message) = f.check() {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"code": "FAULT_NOT_APPLICABLE", "message": message})))
            .into_response();
    }
    *app.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = f.clone();
    Json(f).into_response()
}

pub async fn state(State(app): State<App>) -> Response {
    let st = app.state();
    Json(json!({
        "mid_orders": st.mid_orders.values().collect::<Vec<_>>(),
        "mid_refunds": st.mid_refunds.values().collect::<Vec<_>>(),
        "self_pay_orders": st.self_pay_orders.values().collect::<Vec<_>>(),
        "mixed_orders": st.mixed_orders.values().collect::<Vec<_>>(),
        "bank_refunds": st.bank_refunds.values().collect::<Vec<_>>(),
        "refund_notices": st.refund_notices,
        "callbacks": st.callbacks,
        "balances": st.balances,
        // The credentials the sandbox issued, so privacy tests can look for them in histories and logs.
        "issued_pay_auth_nos": st.pay_auths.keys().collect::<Vec<_>>(),
        "issued_pay_tokens": st.mid_orders.values().map(|o| o.pay_token.as_str()).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[derive(Deserialize)]
pub struct StatementRequest {
    /// "selfpay" (period yyyy-MM-dd) or "insurance" (period yyyy-MM).
    pub kind: String,
    pub period: String,
}

pub async fn statements(State(app): State<App>, Json(req): Json<StatementRequest>) -> Response {
    let result = match req.kind.as_str() {
        "selfpay" => crate::statements::write_self_pay(&app, &req.period),
        "insurance" => crate::statements::write_insurance(&app, &req.period),
        other => {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"code": "UNKNOWN_KIND", "message": format!("kind {other:?} must be selfpay or insurance")}),
                ),
            )
                .into_response();
        }
    };
    match result {
        Ok(paths) => {
            let root = crate::statements::root(&app);
            let rel: Vec<String> =
                paths.iter().map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string()).collect();
            Json(json!({"files": rel})).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"code": "WRITE_FAILED", "message": e.to_string()})))
            .into_response(),
    }
}

pub async fn personas() -> Json<serde_json::Value> {
    Json(
        json!({"personas": crate::persons::ROSTER, "rule": "fund = total*fund_bp/10000 (down); psn_acct = min(balance, rest) if acctUsedFlag=1; own_pay = rest"}),
    )
}

#[derive(serde::Deserialize)]
pub struct CallbackRequest {
    pub mix_trade_no: String,
    /// How many distinct notices (each with its own msg_id) to sign.
    #[serde(default = "one")]
    pub count: usize,
    #[serde(default)]
    pub bad_signature: bool,
    /// Sign a notice that names this HIS order no. instead of the order's own (a bank that
    /// confuses its orders), to test the hospital's check of the order's identity.
    #[serde(default)]
    pub serial_no: Option<String>,
    /// Sign with this hospital's bank app (app_id and key) instead of the order's own: a notice
    /// one hospital's credentials can make about another hospital's order.
    #[serde(default)]
    pub as_org: Option<String>,
    /// Fields of the notice replaced before signing (a bank whose success carries other figures
    /// than ordered), to test the hospital's SR-7b checks.
    #[serde(default)]
    pub overrides: serde_json::Map<String, serde_json::Value>,
}

fn one() -> usize {
    1
}

/// Signed bank callbacks for an order, handed to the caller instead of sent: for replaying a
/// callback storm at the hospital (benchmarks, the runbook's drill) without the sandbox's own
/// delivery in the measurement. Each is exactly what the bank would POST.
pub async fn sign_callbacks(State(app): State<App>, Json(req): Json<CallbackRequest>) -> Response {
    let org = match app.state().mixed_orders.get(&req.mix_trade_no) {
        Some(m) => m.org_code.clone(),
        None => return (StatusCode::NOT_FOUND, "unknown mix_trade_no").into_response(),
    };
    let signer = req.as_org.clone().unwrap_or(org);
    let Some(keys) = app.hospital_by_org(&signer) else {
        return (StatusCode::NOT_FOUND, "unknown hospital").into_response();
    };
    let forms: Vec<_> = (0..req.count.min(100_000))
        .filter_map(|_| {
            crate::callbacks::signed_callback_naming(
                &app,
                keys,
                &req.mix_trade_no,
                req.bad_signature,
                req.serial_no.as_deref(),
                &req.overrides,
            )
            .map(|(_, p)| p)
        })
        .collect();
    Json(serde_json::json!({ "callbacks": forms })).into_response()
}
