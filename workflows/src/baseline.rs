//! The engine baseline (`medpay bench product`): a workflow with the payment's shape and none of
//! its work — five no-op activities, the patient's confirmation signal raced against a deadline
//! timer, the bank's callback signal raced against the callback timer — on the same server,
//! worker and codec. Payments can only approach its throughput; the ratio is our overhead.

use medpay_activities::baseline::BaselineActivities;
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, SyncWorkflowContext, WorkflowContext, WorkflowResult};

#[workflow]
#[derive(Default)]
pub struct BaselineWorkflow {
    confirmed: bool,
    called_back: bool,
}

fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30)).retry_policy(RetryPolicy::builder().initial_interval(Duration::from_secs(1)).build()).build()
}

#[workflow_methods]
impl BaselineWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, _input: u32) -> WorkflowResult<u32> {
        let mut n = 0;
        for _ in 0..3 {
            n = ctx.execute_activity(BaselineActivities::step, n + 1, options()).await?;
        }
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.confirmed) => {},
            _ = ctx.timer(Duration::from_secs(900)) => {},
        };
        n = ctx.execute_activity(BaselineActivities::step, n + 1, options()).await?;
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.called_back) => {},
            _ = ctx.timer(Duration::from_secs(20)) => {},
        };
        ctx.execute_activity(BaselineActivities::step, n + 1, options()).await.map_err(Into::into)
    }

    #[signal]
    pub fn confirm(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _yes: bool) {
        self.confirmed = true;
    }

    #[signal]
    pub fn callback(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _ok: bool) {
        self.called_back = true;
    }
}
