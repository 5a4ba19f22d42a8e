//! The codec server for the Temporal Web UI (its `/decode` and `/encode` protocol): an
//! authorised operator's browser sends the encrypted payloads it shows and gets them back
//! decrypted, so history is readable in the UI while the server itself only ever stores
//! ciphertext. Requires `Authorization: Bearer <token>` when a token file is configured, and
//! answers CORS only for the configured UI origin.

use super::AppState;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use temporalio_common::protos::temporal::api::common::v1::Payload;

/// A payload as the UI sends it (proto JSON: bytes as Base64).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonPayload {
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub data: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Payloads {
    pub payloads: Vec<JsonPayload>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn to_proto(p: JsonPayload) -> Result<Payload, ApiError> {
    let bad = |what: &str| ApiError::new(ErrorCode::BadPayload, format!("{what} is not Base64"));
    let mut metadata = HashMap::new();
    for (k, v) in p.metadata {
        metadata.insert(k.clone(), b64().decode(v).map_err(|_| bad(&format!("metadata {k}")))?);
    }
    Ok(Payload { metadata, data: b64().decode(p.data).map_err(|_| bad("data"))?, ..Default::default() })
}

fn to_json(p: Payload) -> JsonPayload {
    JsonPayload {
        metadata: p.metadata.into_iter().map(|(k, v)| (k, b64().encode(v))).collect(),
        data: b64().encode(p.data),
    }
}

fn cors(state: &AppState, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Ok(origin) = HeaderValue::from_str(&state.codec.ui_origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-namespace, authorization"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    resp
}

fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.codec.token else { return Ok(()) };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Constant-time comparison: compare digests, so length and content do not leak by timing.
    let (a, b) = (medpay_crypto::sm3::sm3(given.as_bytes()), medpay_crypto::sm3::sm3(token.expose().as_bytes()));
    if a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::CodecUnauthorized, "a valid bearer token is required to decode payloads"))
    }
}

pub async fn preflight(State(state): State<AppState>) -> Response {
    cors(&state, StatusCode::NO_CONTENT.into_response())
}

async fn transform(state: AppState, headers: HeaderMap, body: Payloads, decode: bool) -> Response {
    let result = (|| {
        authorise(&state, &headers)?;
        let codec = state
            .codec
            .codec
            .as_ref()
            .ok_or_else(|| ApiError::new(ErrorCode::CodecUnavailable, "no payload key file is configured"))?;
        let mut out = vec![];
        for p in body.payloads {
            let proto = to_proto(p)?;
            let done = if decode { codec.open(proto) } else { codec.seal(&proto) };
            out.push(to_json(done.map_err(|e| ApiError::new(ErrorCode::CodecFailed, e.to_string()))?));
        }
        Ok::<_, ApiError>(Json(Payloads { payloads: out }).into_response())
    })();
    cors(&state, result.unwrap_or_else(IntoResponse::into_response))
}

pub async fn decode(
    State(state): State<AppState>,
    headers: HeaderMap,
    super::body::Body(body): super::body::Body<Payloads>,
) -> Response {
    transform(state, headers, body, true).await
}

pub async fn encode(
    State(state): State<AppState>,
    headers: HeaderMap,
    super::body::Body(body): super::body::Body<Payloads>,
) -> Response {
    transform(state, headers, body, false).await
}
