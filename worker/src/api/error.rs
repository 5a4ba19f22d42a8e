//! API errors: every failure answers with a machine-readable `code` and a human `message`,
//! 4xx for the caller's mistakes and 5xx/503 for ours or an unreachable dependency.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every error the API answers with, by kind: its machine-readable code and HTTP status come
/// from this one table. A code may serve two kinds when the same mistake is made in the path
/// (400) or in the body (422). `docs/openapi.json` lists every code (checked by a test).
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => ($status:ident, $code:literal),)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn status_and_code(self) -> (StatusCode, &'static str) {
                match self {
                    $(ErrorCode::$variant => (StatusCode::$status, $code),)*
                }
            }
        }
    };
}

error_codes! {
    /// the body is not valid JSON.
    MalformedJson => (BAD_REQUEST, "MALFORMED_JSON"),
    /// the body could not be read.
    BadBody => (BAD_REQUEST, "BAD_BODY"),
    /// the query string does not have the documented shape.
    InvalidQuery => (BAD_REQUEST, "INVALID_QUERY"),
    /// a reconciliation's kind, day or org code in the path is malformed.
    InvalidReconPath => (BAD_REQUEST, "INVALID_RECON"),
    /// the codec endpoint's payloads are malformed.
    BadPayload => (BAD_REQUEST, "BAD_PAYLOAD"),
    /// a payload does not decrypt with any key.
    CodecFailed => (BAD_REQUEST, "CODEC_FAILED"),
    /// no or a wrong API key.
    Unauthenticated => (UNAUTHORIZED, "UNAUTHENTICATED"),
    /// the codec endpoint's token is missing or wrong.
    CodecUnauthorized => (UNAUTHORIZED, "CODEC_UNAUTHORIZED"),
    /// the API key is another hospital's.
    ForbiddenOrg => (FORBIDDEN, "FORBIDDEN_ORG"),
    /// the hospital's rollout does not include this patient yet.
    NotOpenForPatient => (FORBIDDEN, "NOT_OPEN_FOR_PATIENT"),
    /// the hospital's rollout is suspended.
    HospitalSuspended => (FORBIDDEN, "HOSPITAL_SUSPENDED"),
    /// no such endpoint.
    NotFound => (NOT_FOUND, "NOT_FOUND"),
    /// the hospital is not configured in this deployment.
    UnknownHospital => (NOT_FOUND, "UNKNOWN_HOSPITAL"),
    /// no payment for this hospital and HIS order no..
    UnknownPayment => (NOT_FOUND, "UNKNOWN_PAYMENT"),
    /// no refund for this hospital and refund no..
    UnknownRefund => (NOT_FOUND, "UNKNOWN_REFUND"),
    /// no such reconciliation run.
    UnknownRecon => (NOT_FOUND, "UNKNOWN_RECON"),
    /// no such exception in the run.
    UnknownException => (NOT_FOUND, "UNKNOWN_EXCEPTION"),
    /// the patient page's link is unknown.
    LinkUnknown => (NOT_FOUND, "LINK_UNKNOWN"),
    /// the HIS order no. was used for a different bill.
    PaymentConflict => (CONFLICT, "PAYMENT_CONFLICT"),
    /// the payment has ended: nothing waits for a confirmation.
    PaymentEnded => (CONFLICT, "PAYMENT_ENDED"),
    /// the payment is past the point where it can be cancelled.
    PaymentNotCancellable => (CONFLICT, "PAYMENT_NOT_CANCELLABLE"),
    /// the payment is not in a state that can be refunded.
    PaymentNotRefundable => (CONFLICT, "PAYMENT_NOT_REFUNDABLE"),
    /// the refund no. was used for a different refund.
    RefundConflict => (CONFLICT, "REFUND_CONFLICT"),
    /// the refund does not wait for an operator.
    RefundNotWaiting => (CONFLICT, "REFUND_NOT_WAITING"),
    /// the payment is older than the refund window.
    RefundWindowClosed => (CONFLICT, "REFUND_WINDOW_CLOSED"),
    /// the refund is more than what is left to refund.
    ExceedsRefundable => (CONFLICT, "EXCEEDS_REFUNDABLE"),
    /// every amount of the refund is zero.
    NothingToRefund => (CONFLICT, "NOTHING_TO_REFUND"),
    /// a partial refund of a mixed payment's insurance part.
    PartialMixedRefund => (CONFLICT, "PARTIAL_MIXED_REFUND"),
    /// the insurance refund needs the patient's fresh authorisation.
    AuthCodeRequired => (CONFLICT, "AUTH_CODE_REQUIRED"),
    /// the exception was already resolved otherwise.
    ResolutionConflict => (CONFLICT, "RESOLUTION_CONFLICT"),
    /// the hospital has no passed acceptance run for this stage.
    AcceptanceRequired => (CONFLICT, "ACCEPTANCE_REQUIRED"),
    /// the hospital's configuration is at another stage.
    ConfigurationStage => (CONFLICT, "CONFIGURATION_STAGE"),
    /// the patient link carries no bill to pay.
    NoBill => (CONFLICT, "NO_BILL"),
    /// the patient page's link has expired.
    LinkExpired => (GONE, "LINK_EXPIRED"),
    /// the body is larger than the API accepts.
    BodyTooLarge => (PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE"),
    /// the body is not declared as JSON.
    NotJson => (UNSUPPORTED_MEDIA_TYPE, "NOT_JSON"),
    /// the body does not have the documented shape.
    InvalidBody => (UNPROCESSABLE_ENTITY, "INVALID_BODY"),
    /// a field of the payment breaks a documented rule.
    InvalidPayment => (UNPROCESSABLE_ENTITY, "INVALID_PAYMENT"),
    /// the bill's lines or visit break a documented rule.
    InvalidBill => (UNPROCESSABLE_ENTITY, "INVALID_BILL"),
    /// a line or the bill is above the deployment's limit.
    AmountTooLarge => (UNPROCESSABLE_ENTITY, "AMOUNT_TOO_LARGE"),
    /// the hospital does not take payments in this channel.
    ChannelNotConfigured => (UNPROCESSABLE_ENTITY, "CHANNEL_NOT_CONFIGURED"),
    /// a field of the refund breaks a documented rule.
    InvalidRefund => (UNPROCESSABLE_ENTITY, "INVALID_REFUND"),
    /// a reconciliation request's kind, period or org code is invalid.
    InvalidRecon => (UNPROCESSABLE_ENTITY, "INVALID_RECON"),
    /// an exception's resolution is incomplete.
    InvalidResolution => (UNPROCESSABLE_ENTITY, "INVALID_RESOLUTION"),
    /// a rollout change is invalid.
    InvalidRollout => (UNPROCESSABLE_ENTITY, "INVALID_ROLLOUT"),
    /// a query parameter's value is not one the endpoint takes.
    InvalidQueryValue => (UNPROCESSABLE_ENTITY, "INVALID_QUERY"),
    /// a patient link request breaks a documented rule.
    InvalidPatientLink => (UNPROCESSABLE_ENTITY, "INVALID_PATIENT_LINK"),
    /// the channel's authorisation code is malformed.
    InvalidAuthCode => (UNPROCESSABLE_ENTITY, "INVALID_AUTH_CODE"),
    /// too many requests: retry after the Retry-After header.
    RateLimited => (TOO_MANY_REQUESTS, "RATE_LIMITED"),
    /// too many failures or new orders from this client: blocked for a while.
    Blocked => (TOO_MANY_REQUESTS, "BLOCKED"),
    /// the system's random source failed.
    RandomFailed => (INTERNAL_SERVER_ERROR, "RANDOM_FAILED"),
    /// the self-check workflow did not complete.
    SelfCheckFailed => (BAD_GATEWAY, "SELF_CHECK_FAILED"),
    /// the ledger database is not reachable; retry later.
    LedgerUnavailable => (SERVICE_UNAVAILABLE, "LEDGER_UNAVAILABLE"),
    /// the workflow engine is not reachable; retry later.
    TemporalUnavailable => (SERVICE_UNAVAILABLE, "TEMPORAL_UNAVAILABLE"),
    /// the codec endpoint is not configured.
    CodecUnavailable => (SERVICE_UNAVAILABLE, "CODEC_UNAVAILABLE"),
    /// this deployment has no parties configured.
    PartiesNotConfigured => (SERVICE_UNAVAILABLE, "PARTIES_NOT_CONFIGURED"),
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        self.status_and_code().0
    }

    pub fn as_str(self) -> &'static str {
        self.status_and_code().1
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorCode, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn ledger_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::LedgerUnavailable, format!("the ledger database is not reachable; retry later ({detail})"))
    }

    /// A signal to a workflow that Temporal refused. "Not found" for a workflow whose ledger row
    /// exists means its run has ended (a paid, failed or cancelled payment; a finished refund):
    /// nothing can change it any more, so the caller gets a 409 naming the current state, never
    /// a 503 it would retry forever. Anything else is the engine being unreachable.
    pub fn signal_refused(
        e: temporalio_client::errors::WorkflowInteractionError,
        code: ErrorCode,
        what: &str,
        state: &str,
    ) -> Self {
        match e {
            temporalio_client::errors::WorkflowInteractionError::NotFound(_) => Self::new(
                code,
                format!(
                    "{what} is {state} and its workflow has ended: nothing is waiting for this; read its state with GET"
                ),
            ),
            other => Self::temporal_unavailable(other),
        }
    }

    pub fn temporal_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::TemporalUnavailable,
            format!("the workflow engine is not reachable; retry later ({detail})"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.kind.status_and_code();
        if status.is_server_error() {
            tracing::warn!(code, message = %self.message, "request failed");
        }
        (status, Json(ErrorBody { code, message: self.message })).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the API can answer is in the Error schema of `docs/openapi.json` (its `enum`),
    /// with the status it comes with; an error answered with a code the document does not list
    /// fails schemathesis' response check too.
    #[test]
    fn every_code_is_documented_with_its_status() {
        let doc: serde_json::Value = serde_json::from_str(crate::api::OPENAPI).unwrap();
        let code = &doc["components"]["schemas"]["Error"]["properties"]["code"];
        let listed: std::collections::BTreeSet<&str> =
            code["enum"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
        let ours: std::collections::BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, ours, "docs/openapi.json's Error.code enum and ErrorCode differ");
        let described = code["description"].as_str().unwrap();
        for c in ErrorCode::ALL {
            let (status, name) = c.status_and_code();
            assert!(described.contains(&format!("`{name}` {}", status.as_u16())), "{name} {status} is not described");
            assert!(status.is_client_error() || status.is_server_error(), "{name}");
        }
    }
}
