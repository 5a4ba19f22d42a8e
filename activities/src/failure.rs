//! How activity failures reach Temporal: a party's refusal or a broken invariant is
//! non-retryable (retrying the same request cannot help); everything else is retried.

use crate::http::PartyError;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// A party error: refusals stop the activity, unavailable / unknown / integrity are retried
/// (a retry replays the same idempotency key, or queries).
pub fn fail(e: PartyError) -> ActivityError {
    match e {
        PartyError::Rejected { .. } | PartyError::Local { .. } => {
            ActivityError::application(ApplicationFailure::non_retryable(e))
        }
        other => other.into(),
    }
}

/// A non-retryable failure with a message for the operator.
pub fn bad(msg: String) -> ActivityError {
    ActivityError::application(ApplicationFailure::non_retryable(std::io::Error::other(msg)))
}

/// A retryable failure (a database hiccup, a file not there yet).
pub fn retry(msg: String) -> ActivityError {
    std::io::Error::other(msg).into()
}
