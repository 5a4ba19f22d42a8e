//! The engine baseline (`medpay-tools bench product`): a workflow with the payment's shape and none of
//! its work — six no-op activities (identify, upload, pre-settle; order; record, notify the HIS),
//! the patient's confirmation signal raced against a deadline timer, the bank's callback signal
//! raced against the callback timer — on the same server, worker and codec. Payments can only
//! approach its throughput; the ratio is our overhead.
//!
//! With [`LOCAL_FIRST`] it runs the steps the way a payment does (local first).
//! With [`WITH_SEARCH`] in its input it also carries what a payment carries for
//! operators: the state upserted where a payment upserts it, at the end (the bench starts it
//! with the identity attributes too), so the benchmark can tell the cost of searchability apart
//! from the cost of the work.

use crate::baseline_activities::BaselineActivities;
use medpay_workflows::search;
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityExecutionError, ActivityOptions, SyncWorkflowContext, WorkflowContext, WorkflowResult};

/// Input flag: behave like a payment towards visibility (identity at start, the end state).
pub const WITH_SEARCH: u32 = 1;
/// How long the baseline waits for each of its signals: what `medpay-tools bench product` gives its
/// payments for the patient's confirmation (the default deadline) and the bank's callback (set
/// for the bench). The same timers matter beyond the shape: a timer left pending when a workflow
/// ends still fires on the server later, and the baseline's old 20 s one fired in the middle of
/// the rows that followed, charged to them.
pub const SIGNAL_WAIT: Duration = Duration::from_secs(900);

/// Input flag: run the steps a payment runs local first (`medpay_workflows::quick`) the same way:
/// identify, upload, pre-settle, order and record as local activities, the HIS notice regular.
pub const LOCAL_FIRST: u32 = 2;

#[workflow]
#[derive(Default)]
pub struct BaselineWorkflow {
    confirmed: bool,
    called_back: bool,
}

fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy::builder().initial_interval(Duration::from_secs(1)).build())
        .build()
}

impl BaselineWorkflow {
    /// A step as the payment runs it (local first, `medpay_workflows::quick`) or, without
    /// [`LOCAL_FIRST`], as a regular activity only.
    async fn step(ctx: &mut WorkflowContext<Self>, local: bool, n: u32) -> Result<u32, ActivityExecutionError> {
        if local {
            medpay_workflows::quick::step(ctx, || BaselineActivities::step, n, options()).await
        } else {
            ctx.execute_activity(BaselineActivities::step, n, options()).await
        }
    }
}

#[workflow_methods]
impl BaselineWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: u32) -> WorkflowResult<u32> {
        let searched = input & WITH_SEARCH != 0;
        let local = input & LOCAL_FIRST != 0;
        let mut n = 0;
        for _ in 0..3 {
            n = Self::step(ctx, local, n + 1).await?;
        }
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.confirmed) => {},
            _ = ctx.timer(SIGNAL_WAIT) => {},
        };
        n = Self::step(ctx, local, n + 1).await?;
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.called_back) => {},
            _ = ctx.timer(SIGNAL_WAIT) => {},
        };
        n = Self::step(ctx, local, n + 1).await?;
        if searched {
            ctx.upsert_search_attributes([search::PAYMENT_STATE.value_set("Paid".to_string())]);
        }
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
