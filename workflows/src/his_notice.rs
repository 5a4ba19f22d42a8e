//! A notice to the HIS about a payment after its workflow ended: a late callback that settled it, a reconciliation's verdict, an under-collection
//! the patient must pay (REQ X-8c). One small workflow per notice, keyed by payment and event,
//! so it is sent once whoever asks and retried for a day until the HIS answers 2xx.

use medpay_activities::his::HisEvent;
use medpay_activities::payment::HisEventNotification;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

#[workflow]
#[derive(Default)]
pub struct HisNoticeWorkflow;

#[workflow_methods]
impl HisNoticeWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, event: HisEvent) -> WorkflowResult<()> {
        let opts = crate::options::his_notice(crate::options::HIS_NOTICE_HORIZON, crate::options::PARTY_ATTEMPT);
        ctx.execute_activity(HisEventNotification::notify_event, event, opts).await?;
        Ok(())
    }
}
