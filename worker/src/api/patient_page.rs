//! The patient page's static files, built into the binary (no CDN, no front-end build): a hand-
//! written page a hospital can serve as it is or restyle (`worker/assets/patient/`). Served with
//! headers that keep the link's token at home: no referrer to the channel's pages, nothing cached,
//! scripts and styles from medpay only.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/patient/index.html");
const APP_JS: &str = include_str!("../../assets/patient/app.js");
const APP_CSS: &str = include_str!("../../assets/patient/app.css");
const ZH: &str = include_str!("../../assets/patient/i18n/zh.json");
const EN: &str = include_str!("../../assets/patient/i18n/en.json");

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    r
}

pub async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => file("text/javascript; charset=utf-8", APP_JS),
        "app.css" => file("text/css; charset=utf-8", APP_CSS),
        _ => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

pub async fn words(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "zh.json" => file("application/json", ZH),
        "en.json" => file("application/json", EN),
        _ => (StatusCode::NOT_FOUND, "no such language").into_response(),
    }
}
