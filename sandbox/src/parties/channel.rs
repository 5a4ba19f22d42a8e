//! The channel's medical-insurance authorisation (WeChat profile, COUNTERPARTIES.md §1.1):
//! `POST /wechat/api/mipuserquery/userQuery/{partnerId}` with the `god-portal-*` HMAC headers
//! turns a single-use `authCode` into a short-lived, single-use `payAuthNo`
//! (`family_pay_auth_no` when the patient pays for a relative).
//!
//! Error codes (`code` in the JSON reply): 0 ok; 40001 bad or missing signature headers;
//! 40002 unknown partner; 40003 authCode unknown or already used.

use crate::app::App;
use crate::persons;
use crate::state::PayAuth;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::channel::{HEADER_SIGNATURE, HEADER_TIMESTAMP, verify_channel_signature};
use serde_json::json;

fn refuse(code: i64, message: &str) -> Response {
    Json(json!({"code": code, "message": message})).into_response()
}

pub async fn wechat_user_query(State(app): State<App>, Path(partner_id): Path<String>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = app.inject("channel.wechat").await {
        return r;
    }
    let Some(hospital) = app.credentials.by_partner_id(&partner_id) else {
        return refuse(40002, "unknown partnerId");
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let timestamp = header(HEADER_TIMESTAMP);
    if timestamp.is_empty() || !verify_channel_signature(&partner_id, &hospital.channel.partner_secret, &timestamp, &header(HEADER_SIGNATURE)) {
        return refuse(40001, "god-portal-signature does not verify");
    }
    let Ok(req) = serde_json::from_str::<serde_json::Value>(&body) else {
        return refuse(40003, "body is not JSON");
    };
    let auth_code = req["qrcode"].as_str().unwrap_or_default().to_string();
    let now = crate::clock::now_ms();
    let ttl_ms = i64::try_from(app.config.pay_auth_ttl.as_millis()).unwrap_or(i64::MAX);
    let expired = app.faults().global.pay_auth_no_expired;
    let mut st = app.state();
    let Some(code) = st.auth_codes.get_mut(&auth_code).filter(|c| !c.used) else {
        return refuse(40003, "authCode unknown or already used");
    };
    code.used = true;
    let code = code.clone();
    let Some(person) = persons::by_persona(&code.persona) else {
        return refuse(40003, "authCode has no person");
    };
    let pay_auth_no = st.next_id("AUTH", now);
    let expires_ms = if expired { now - 1 } else { now.saturating_add(ttl_ms) };
    st.pay_auths.insert(pay_auth_no.clone(), PayAuth { psn_no: person.psn_no.into(), expires_ms, bound_order: None, for_relative: code.for_relative });
    let mut reply = json!({
        "code": 0, "message": "ok",
        "user_name": person.name, "cert_type": "01", "cert_no": person.id_no,
        "user_longitude_latitude": "104.06,30.67",
    });
    let field = if code.for_relative { "family_pay_auth_no" } else { "pay_auth_no" };
    reply[field] = json!(pay_auth_no);
    Json(reply).into_response()
}
