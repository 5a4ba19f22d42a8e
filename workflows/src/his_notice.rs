//! A notice to the HIS about a payment after its workflow ended: a late callback that settled it, a reconciliation's verdict, an under-collection
//! the patient must pay (REQ X-8c). One small workflow per notice, keyed by payment and event,
//! so it is sent once whoever asks and retried for a day until the HIS answers 2xx.

use medpay_activities::his::HisEvent;
use medpay_activities::payment::HisEventNotification;
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

#[workflow]
#[derive(Default)]
pub struct HisNoticeWorkflow;

#[workflow_methods]
impl HisNoticeWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, event: HisEvent) -> WorkflowResult<()> {
        let opts =
            ActivityOptions::with_close_timeouts(temporalio_common::ActivityCloseTimeouts::ScheduleAndStartToClose {
                schedule_to_close: Duration::from_secs(24 * 3600),
                start_to_close: Duration::from_secs(30),
            })
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_secs(1))
                    .backoff_coefficient(2.0)
                    .maximum_interval(Duration::from_secs(300))
                    .build(),
            )
            .build();
        ctx.execute_activity(HisEventNotification::notify_event, event, opts).await?;
        Ok(())
    }
}
