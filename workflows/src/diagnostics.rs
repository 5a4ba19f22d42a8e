//! The self-check workflow: one activity round trip through server and worker, so an operator
//! (or the quick start) can prove the deployment is wired before the first payment.

use medpay_activities::diagnostics::DiagnosticsActivities;
use medpay_schemas::diagnostics::{SelfCheckReport, SelfCheckRequest};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

#[workflow]
#[derive(Default)]
pub struct SelfCheckWorkflow;

#[workflow_methods]
impl SelfCheckWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, request: SelfCheckRequest) -> WorkflowResult<SelfCheckReport> {
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
            .retry_policy(RetryPolicy::builder().maximum_attempts(3).build())
            .build();
        Ok(ctx.execute_activity(DiagnosticsActivities::self_check, request, options).await?)
    }
}
