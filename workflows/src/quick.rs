//! Quick steps, local first: a payment step that is one short call to a party plus a
//! ledger write runs first as a *local activity* inside the workflow task the worker already
//! holds, so a payment's identify, upload, pre-settlement, bank order and outcome cost no
//! activity task round trip through the Temporal server each (the server's CPU is what bounds
//! throughput here, and the patient waits for these steps at the HIS screen).
//!
//! One local attempt only. When it fails with a retryable error (a party down, a timeout) the
//! step is scheduled again as a regular activity with the full retry policy, so a step that keeps
//! failing is what operators already know from the Web UI: a pending activity with its attempt
//! count and last failure. A refusal (non-retryable) ends the step at once, as a regular
//! activity's would. Every quick step is idempotent on the payment's keys (6201 on medOrgOrd,
//! the bank on out_trade_no), so the regular attempt after an unknown local outcome replays
//! the same order; it never creates a second one.
//!
//! Deterministic: the local attempt's result or failure is recorded in the history (a marker),
//! so a replay takes the same branch.

use temporalio_common::ActivityDefinition;
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_sdk::{ActivityExecutionError, ActivityOptions, LocalActivityOptions, WorkflowContext};

/// One local attempt, bounded like a regular attempt.
fn local_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(crate::options::PARTY_ATTEMPT)
        .retry_policy(temporalio_common::RetryPolicy::builder().maximum_attempts(1).build())
        .build()
}

/// Runs `act` local first, then as a regular activity if the local attempt failed retryably.
/// `act` makes the activity's marker value, which the SDK's types consume per call.
pub async fn step<W, AD>(
    ctx: &WorkflowContext<W>,
    act: impl Fn() -> AD,
    input: AD::Input,
    regular: ActivityOptions,
) -> Result<AD::Output, ActivityExecutionError>
where
    AD: ActivityDefinition,
    AD::Input: Clone,
    AD::Output: TemporalDeserializable,
{
    match ctx.execute_local_activity(act(), input.clone(), local_options()).await {
        Ok(out) => return Ok(out),
        // Failed retryably (a party error, a timeout): on to the regular activity. A refusal,
        // a cancellation (the workflow is being cancelled) or a payload that does not convert
        // would end a regular activity the same way.
        Err(e @ ActivityExecutionError::Failed(_)) if !refused(&e) => {}
        Err(e) => return Err(e),
    }
    ctx.execute_activity(act(), input, regular).await
}

/// A refusal: an application failure marked non-retryable anywhere in the failure's chain.
fn refused(e: &ActivityExecutionError) -> bool {
    let mut failure = e.failure();
    while let Some(f) = failure {
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &f.failure_info
            && info.non_retryable
        {
            return true;
        }
        failure = f.cause.as_deref();
    }
    false
}
