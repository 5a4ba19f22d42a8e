//! The engine baseline's activity: does nothing, so a workflow made of it measures what the
//! Temporal server, the SDK and our worker settings cost on their own (`medpay-tools bench product`).
//!
//! Its bank lives here too: after the fourth step (a payment's bank order) the worker signals
//! `callback`, as the bank calls back only once the patient has paid the order the payment
//! placed (through this worker's callback endpoint). The patient's confirmation comes from the
//! benchmark right after the start, as its HIS confirms a payment right after creating it. A
//! baseline whose callback came up front too would find it waiting and finish in fewer workflow
//! tasks than any payment can once its steps run local first.
//!
//! The callback also comes as late as a payment's does: after the workflow task that ordered has
//! completed. A signal that arrives while a workflow task is running is handed to the worker with
//! that task's completion (no trip through the task queue); the server's metrics showed the
//! baseline getting one task per item that way and the payment none, since a payment's callback
//! follows the patient's payment at the cashier.

use temporalio_client::WorkflowSignalOptions;
use temporalio_common::{SignalDefinition, UntypedWorkflow};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct BaselineActivities;

/// The step after which the bank calls back (the order).
const CALLBACK_AFTER: u32 = 4;

/// From the order to the bank's callback: the patient pays at the cashier and the bank calls
/// back. In the bench's payments (the patient paying at once) this is the HIS's long poll
/// answering, the payment at the sandbox and its signed callback: several milliseconds, longer
/// than the worker takes to complete the workflow task that ordered.
const PATIENT_AND_BANK: std::time::Duration = std::time::Duration::from_millis(10);

/// `BaselineWorkflow`'s signals by name (that crate depends on this one).
struct Signal(&'static str);

impl SignalDefinition for Signal {
    type Workflow = UntypedWorkflow;
    type Input = bool;
    fn name(&self) -> &str {
        self.0
    }
}

#[activities]
impl BaselineActivities {
    /// Returns its input: the payload still crosses the codec and the server like a real one.
    #[activity]
    pub async fn step(ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        if let (CALLBACK_AFTER, Some(handle)) = (n, ctx.workflow_handle::<UntypedWorkflow>()) {
            // Not awaited: the step completes while the callback is on its way, as a payment's
            // order step completes while the patient, shown the cashier, pays.
            tokio::spawn(async move {
                tokio::time::sleep(PATIENT_AND_BANK).await;
                if let Err(e) = handle.signal(Signal("callback"), true, WorkflowSignalOptions::default()).await {
                    tracing::warn!("baseline signal failed: {e}");
                }
            });
        }
        Ok(n)
    }
}
