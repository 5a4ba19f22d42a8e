//! What the patient does on the phone, as endpoints, so a test or a demo can drive a whole
//! payment without one: authorise at the channel (get an `authCode` for a persona), pay at the
//! mixed cashier, or abandon it.
//!
//! Paying settles the self-pay part first and the insurance part only after it (REQ SR-7a);
//! with the `insurance_fails_after_self_pay` fault the insurance part then fails and the
//! self-pay money stays with the bank until the hospital refunds it (REQ X-8a).

use crate::app::App;
use crate::persons;
use crate::state::AuthCode;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, SelfPayStatus};
use serde::Deserialize;
use serde_json::json;

fn bad(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"code": code, "message": message.into()}))).into_response()
}

#[derive(Deserialize)]
pub struct Authorize {
    pub persona: String,
    #[serde(default = "wechat")]
    pub channel: String,
    #[serde(default)]
    pub for_relative: bool,
}

fn wechat() -> String {
    "wechat".into()
}

pub async fn authorize(State(app): State<App>, Json(req): Json<Authorize>) -> Response {
    let Some(person) = persons::by_persona(&req.persona) else {
        let known: Vec<_> = persons::ROSTER.iter().map(|p| p.persona).collect();
        return bad(
            StatusCode::BAD_REQUEST,
            "UNKNOWN_PERSONA",
            format!("persona {:?} is not in the roster {known:?}", req.persona),
        );
    };
    let mut st = app.state();
    let code = st.next_id("AC", crate::clock::now_ms());
    st.auth_codes.insert(
        code.clone(),
        AuthCode {
            persona: req.persona.clone(),
            channel: req.channel.clone(),
            for_relative: req.for_relative,
            used: false,
        },
    );
    Json(json!({"authCode": code, "persona": person.persona, "psn_no": person.psn_no})).into_response()
}

#[derive(Deserialize)]
pub struct CashierAction {
    pub mix_trade_no: String,
}

pub async fn pay(State(app): State<App>, Json(req): Json<CashierAction>) -> Response {
    let now = crate::clock::now_ms();
    let response = {
        let mut st = app.state();
        let Some(m) = st.mixed_orders.get(&req.mix_trade_no).cloned() else {
            return bad(StatusCode::NOT_FOUND, "UNKNOWN_ORDER", format!("mix_trade_no {} unknown", req.mix_trade_no));
        };
        if m.mix_status != MixPayStatus::Created {
            return bad(StatusCode::CONFLICT, "NOT_PAYABLE", format!("order is {}", m.mix_status));
        }
        let insurance_fails = app.faults().for_order(&[&m.serial_no, &m.mix_trade_no]).insurance_fails_after_self_pay;
        // Self-pay first (REQ SR-7a).
        let has_cash = !m.cash.is_zero();
        if has_cash {
            let third = st.next_id("4200", now);
            if let Some(sp) = st.self_pay_orders.get_mut(&m.out_trade_no) {
                sp.status = SelfPayStatus::Success;
                sp.paid_ms = Some(now);
                sp.third_trade_no = Some(third);
            }
        }
        let has_insurance = !(m.gov.is_zero() && m.own_acct.is_zero() && m.other.is_zero());
        let insurance_ok = !insurance_fails;
        if has_insurance {
            crate::parties::mid_platform::settle_insurance(&mut st, &m.pay_order_id, insurance_ok, now);
        }
        let Some(order) = st.mixed_orders.get_mut(&req.mix_trade_no) else {
            return bad(StatusCode::NOT_FOUND, "UNKNOWN_ORDER", "order vanished");
        };
        order.paid_ms = Some(now);
        if has_cash {
            order.self_status = SelfPayStatus::Success;
        }
        if has_insurance {
            order.med_status = if insurance_ok { MedInsPayStatus::Success } else { MedInsPayStatus::Fail };
        }
        if insurance_ok {
            order.mix_status = MixPayStatus::Success;
        } else {
            order.mix_status = MixPayStatus::Fail;
            order.med_ins_fail_reason = Some(
                "sandbox: insurance settlement failed after self-pay (fault insurance_fails_after_self_pay)".into(),
            );
        }
        json!({"mix_trade_no": order.mix_trade_no, "mix_pay_status": order.mix_status.code(),
               "self_pay_status": order.self_status.code(), "med_ins_pay_status": order.med_status.code()})
    };
    // The bank notifies on success only (docs/PROTOCOLS.md §4.3).
    if response["mix_pay_status"] == MixPayStatus::Success.code() {
        crate::callbacks::spawn(app.clone(), req.mix_trade_no.clone());
    }
    // Banks that notify self-pay results send the self-pay order's notice too, on its success.
    if app.config.selfpay_notices
        && response["self_pay_status"] == medpay_schemas::status::SelfPayStatus::Success.code()
    {
        crate::callbacks::spawn_self_pay(app.clone(), req.mix_trade_no.clone());
    }
    Json(response).into_response()
}

pub async fn abandon(State(app): State<App>, Json(req): Json<CashierAction>) -> Response {
    let mut st = app.state();
    let Some(order) = st.mixed_orders.get_mut(&req.mix_trade_no) else {
        return bad(StatusCode::NOT_FOUND, "UNKNOWN_ORDER", format!("mix_trade_no {} unknown", req.mix_trade_no));
    };
    if order.mix_status != MixPayStatus::Created {
        return bad(StatusCode::CONFLICT, "NOT_PAYABLE", format!("order is {}", order.mix_status));
    }
    order.mix_status = MixPayStatus::Fail;
    if order.self_status == SelfPayStatus::Created {
        order.self_status = SelfPayStatus::Fail;
    }
    if order.med_status == MedInsPayStatus::Created {
        order.med_status = MedInsPayStatus::Fail;
    }
    order.med_ins_fail_reason = Some("patient left the cashier".into());
    Json(json!({"mix_trade_no": order.mix_trade_no, "mix_pay_status": order.mix_status.code()})).into_response()
}
