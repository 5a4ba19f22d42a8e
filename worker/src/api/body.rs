//! The JSON body extractor of every endpoint: axum's `Json`, with its refusals answered in our
//! error format (a stable code and a message naming the field) instead of plain text, so an
//! HIS integrator's malformed request is as easy to diagnose as any other 4xx.

use super::error::{ApiError, ErrorCode};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// Largest request body accepted (a bill of a few thousand lines fits easily).
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub struct Body<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::new(
                ErrorCode::InvalidBody,
                format!("the body does not have the documented shape: {}", e.body_text()),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::new(ErrorCode::MalformedJson, format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::new(ErrorCode::NotJson, "send the body as JSON with `Content-Type: application/json`")
            }
            JsonRejection::BytesRejection(_) => ApiError::new(
                ErrorCode::BodyTooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes or could not be read"),
            ),
            other => ApiError::new(ErrorCode::BadBody, other.body_text()),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Body(v))
    }
}

/// Query-string options, with a malformed one (`?view=maybe`) answered in the error format.
pub struct QueryOptions<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for QueryOptions<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryOptions(v)),
            Err(e) => Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("the query string does not have the documented shape: {}", e.body_text()),
            )),
        }
    }
}
