//! The channel's two pages a patient's browser visits, as plain HTML forms: the medical-insurance
//! authorisation (pick a persona; back to the hospital's page with `authCode`, as the channel's
//! H5 authorisation redirects) and the mixed cashier (pay or leave; back with `cashier=done`).
//! The patient page's browser tests walk through these as a patient walks through the real ones.

use crate::app::App;
use crate::patient::{Authorize, CashierAction, abandon, authorize, pay};
use crate::persons;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Only web addresses go back: the sandbox must not become a redirector to anything else.
fn checked_return(r: &str) -> Option<&str> {
    (r.starts_with("http://") || r.starts_with("https://")).then_some(r)
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let v: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{url}{sep}{key}={v}")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font:18px sans-serif;margin:16px;color:#111}}button{{font:inherit;min-height:48px;width:100%;margin:6px 0;\
         border:0;border-radius:8px;background:#07593b;color:#fff}}.leave{{background:#fff;color:#07593b;border:2px solid #07593b}}</style></head>\
         <body><h1>{t}</h1><p>沙箱渠道页面 (sandbox channel page)</p>{body}</body></html>",
        t = escape(title)
    ))
    .into_response()
}

#[derive(Deserialize)]
pub struct AuthorizePageQuery {
    #[serde(rename = "return")]
    pub return_to: String,
    #[serde(default)]
    pub channel: Option<String>,
}

/// `GET /sandbox/patient/authorize-page?return=...&channel=wechat`
pub async fn authorize_page(Query(q): Query<AuthorizePageQuery>) -> Response {
    let Some(ret) = checked_return(&q.return_to) else {
        return (StatusCode::BAD_REQUEST, "return must be an http(s) address").into_response();
    };
    let channel = q.channel.unwrap_or_else(|| "wechat".into());
    let buttons: String = persons::ROSTER
        .iter()
        .map(|p| {
            format!(
                "<form method=\"post\" action=\"authorize-form\"><input type=\"hidden\" name=\"persona\" value=\"{persona}\">\
                 <input type=\"hidden\" name=\"channel\" value=\"{channel}\"><input type=\"hidden\" name=\"return\" value=\"{ret}\">\
                 <button type=\"submit\" id=\"persona-{persona}\">授权 (authorise) · {persona}</button></form>",
                persona = escape(p.persona),
                channel = escape(&channel),
                ret = escape(ret)
            )
        })
        .collect();
    page("医保电子凭证授权", &buttons)
}

#[derive(Deserialize)]
pub struct AuthorizeForm {
    pub persona: String,
    pub channel: String,
    #[serde(rename = "return")]
    pub return_to: String,
}

pub async fn authorize_form(State(app): State<App>, Form(f): Form<AuthorizeForm>) -> Response {
    let Some(ret) = checked_return(&f.return_to).map(str::to_string) else {
        return (StatusCode::BAD_REQUEST, "return must be an http(s) address").into_response();
    };
    let answer =
        authorize(State(app), Json(Authorize { persona: f.persona, channel: f.channel, for_relative: false })).await;
    if !answer.status().is_success() {
        return answer;
    }
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16).await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["authCode"].as_str().map(str::to_string))
        .unwrap_or_default();
    Redirect::to(&with_param(&ret, "authCode", &code)).into_response()
}

#[derive(Deserialize)]
pub struct CashierPageQuery {
    pub mix_trade_no: String,
    #[serde(rename = "return")]
    pub return_to: String,
}

/// `GET /sandbox/patient/cashier-page?mix_trade_no=...&return=...`
pub async fn cashier_page(State(app): State<App>, Query(q): Query<CashierPageQuery>) -> Response {
    let Some(ret) = checked_return(&q.return_to) else {
        return (StatusCode::BAD_REQUEST, "return must be an http(s) address").into_response();
    };
    let Some(order) = app.state().mixed_orders.get(&q.mix_trade_no).cloned() else {
        return (StatusCode::NOT_FOUND, format!("mix_trade_no {} unknown", q.mix_trade_no)).into_response();
    };
    let form = |action: &str, label: &str, class: &str| {
        format!(
            "<form method=\"post\" action=\"cashier-form\"><input type=\"hidden\" name=\"mix_trade_no\" value=\"{m}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\"><input type=\"hidden\" name=\"return\" value=\"{r}\">\
             <button type=\"submit\" id=\"cashier-{action}\" class=\"{class}\">{label}</button></form>",
            m = escape(&order.mix_trade_no),
            r = escape(ret)
        )
    };
    let body = format!(
        "<p>合计 total {}，医保 insurance {}，自付 self-pay <strong id=\"cash\">{}</strong></p>{}{}",
        order.total.to_yuan_string(),
        medpay_schemas::Money::checked_sum([order.gov, order.own_acct, order.other])
            .unwrap_or(order.total)
            .to_yuan_string(),
        order.cash.to_yuan_string(),
        form("pay", "确认支付 (pay)", ""),
        form("leave", "离开 (leave)", "leave")
    );
    page("医保移动支付收银台", &body)
}

#[derive(Deserialize)]
pub struct CashierForm {
    pub mix_trade_no: String,
    pub action: String,
    #[serde(rename = "return")]
    pub return_to: String,
}

pub async fn cashier_form(State(app): State<App>, Form(f): Form<CashierForm>) -> Response {
    let Some(ret) = checked_return(&f.return_to).map(str::to_string) else {
        return (StatusCode::BAD_REQUEST, "return must be an http(s) address").into_response();
    };
    let action = CashierAction { mix_trade_no: f.mix_trade_no };
    let answer = match f.action.as_str() {
        "pay" => pay(State(app), Json(action)).await,
        "leave" => abandon(State(app), Json(action)).await,
        other => {
            return (StatusCode::BAD_REQUEST, format!("action {other:?} is neither pay nor leave")).into_response();
        }
    };
    // A second tap on "pay" (order no longer payable) still goes back: the hospital's page shows
    // what the bank says.
    if !answer.status().is_success() && answer.status() != StatusCode::CONFLICT {
        return answer;
    }
    Redirect::to(&with_param(&ret, "cashier", "done")).into_response()
}
