//! The channel's medical-insurance authorisation (WeChat profile, docs/PROTOCOLS.md §1.1):
//! `POST /wechat/api/mipuserquery/userQuery/{partnerId}` with the `god-portal-*` HMAC headers
//! turns a single-use `authCode` into a short-lived, single-use `payAuthNo`
//! (`family_pay_auth_no` when the patient pays for a relative).
//!
//! Error codes (`code` in the JSON reply): 0 ok; 40001 bad or missing signature headers;
//! 40002 unknown partner; 40003 authCode unknown or already used.
//!
//! Alipay profile: `POST /alipay/gateway.do`, method `alipay.commerce.medical.authinfo.auth.query`,
//! the open platform's signed form (SM2) and signed reply; `code` "10000" ok, "40004" with
//! `sub_code` AUTH_CODE_INVALID / INVALID_PARAMETER, "40002" bad signature or app_id.

use crate::app::App;
use crate::persons;
use crate::state::PayAuth;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::channel::{HEADER_SIGNATURE, HEADER_TIMESTAMP, verify_channel_signature};
use serde_json::json;

/// Issues a payAuthNo for a consumed authCode: (payAuthNo, person, for_relative).
fn issue_pay_auth(app: &App, auth_code: &str, channel: &str) -> Option<(String, &'static persons::Person, bool)> {
    let now = crate::clock::now_ms();
    let ttl_ms = i64::try_from(app.config.pay_auth_ttl.as_millis()).unwrap_or(i64::MAX);
    let expired = app.faults().global.pay_auth_no_expired;
    let mut st = app.state();
    // A code is good only at the channel that issued it, once.
    let code = st.auth_codes.get_mut(auth_code).filter(|c| !c.used && c.channel == channel)?;
    code.used = true;
    let code = code.clone();
    let person = persons::by_persona(&code.persona)?;
    let pay_auth_no = st.next_id("AUTH", now);
    let expires_ms = if expired { now - 1 } else { now.saturating_add(ttl_ms) };
    st.pay_auths.insert(
        pay_auth_no.clone(),
        PayAuth { psn_no: person.psn_no.into(), expires_ms, bound_order: None, for_relative: code.for_relative },
    );
    Some((pay_auth_no, person, code.for_relative))
}

fn refuse(code: i64, message: &str) -> Response {
    Json(json!({"code": code, "message": message})).into_response()
}

pub async fn wechat_user_query(
    State(app): State<App>,
    Path(partner_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = app.inject("channel.wechat").await {
        return r;
    }
    let Some(hospital) = app.credentials.by_partner_id(&partner_id) else {
        return refuse(40002, "unknown partnerId");
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let timestamp = header(HEADER_TIMESTAMP);
    if timestamp.is_empty()
        || !verify_channel_signature(
            &partner_id,
            &hospital.channel.partner_secret,
            &timestamp,
            &header(HEADER_SIGNATURE),
        )
    {
        return refuse(40001, "god-portal-signature does not verify");
    }
    let Ok(req) = serde_json::from_str::<serde_json::Value>(&body) else {
        return refuse(40003, "body is not JSON");
    };
    let auth_code = req["qrcode"].as_str().unwrap_or_default().to_string();
    let Some((pay_auth_no, person, for_relative)) = issue_pay_auth(&app, &auth_code, "wechat") else {
        return refuse(40003, "authCode unknown or already used");
    };
    let mut reply = json!({
        "code": 0, "message": "ok",
        "user_name": person.name, "cert_type": "01", "cert_no": person.id_no,
        "user_longitude_latitude": "104.06,30.67",
    });
    let field = if for_relative { "family_pay_auth_no" } else { "pay_auth_no" };
    reply[field] = json!(pay_auth_no);
    Json(reply).into_response()
}

pub async fn alipay_gateway(State(app): State<App>, body: String) -> Response {
    if let Some(r) = app.inject("channel.alipay").await {
        return r;
    }
    let params: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let app_id = params.get("app_id").cloned().unwrap_or_default();
    let Some(keys) = app.hospital_by_alipay_app_id(&app_id) else {
        return Json(
            json!({"error_response": {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id"}}),
        )
        .into_response();
    };
    let reply = |biz: serde_json::Value| match keys.alipay.seal_response(&biz, &keys.alipay_platform_key) {
        Ok(text) => ([(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], text).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let method = params.get("method").cloned().unwrap_or_default();
    let opened = match keys.alipay.open_request("/gateway.do", params, &keys.hospital_alipay_public) {
        Ok(o) => o,
        Err(e) => {
            return reply(
                json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": e.to_string()}),
            );
        }
    };
    if method != "alipay.commerce.medical.authinfo.auth.query" {
        return reply(
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "INVALID_PARAMETER", "sub_msg": format!("method {method:?} not offered")}),
        );
    }
    let biz = opened.biz_content;
    if biz["ol_biz_type_code"] != "04107" || biz["org_code"] != keys.creds.org_code.as_str() {
        return reply(
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "INVALID_PARAMETER", "sub_msg": "ol_biz_type_code must be 04107 and org_code the hospital's"}),
        );
    }
    let Some((pay_auth_no, _, for_relative)) =
        issue_pay_auth(&app, biz["auth_code"].as_str().unwrap_or_default(), "alipay")
    else {
        return reply(
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "AUTH_CODE_INVALID", "sub_msg": "authCode unknown or already used"}),
        );
    };
    reply(json!({
        "code": "10000", "msg": "Success", "auth_stas": "1", "auth_no": format!("AN{pay_auth_no}"),
        "pay_auth_no": pay_auth_no, "rels_pay_flag": if for_relative { "1" } else { "0" },
        "req_biz_no": biz["req_biz_no"], "insu_org": "510100",
    }))
}
