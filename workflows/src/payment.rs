//! The payment workflow (REQ 6.1 steps 4-13, Q-9, SR-7a/b): identify, upload, pre-settle, wait
//! for the patient's confirmation, order at the bank, then wait for the bank's callback for 20 s,
//! query every 5 s up to 60 s, and with no result mark the payment `PendingReconciliation` and
//! keep listening for a late callback (48 h). The bank's callback or query is the truth (SR-7b);
//! an unknown outcome is never guessed.

use medpay_activities::payment::{Outcome, PaymentActivities, PaymentRevocation, StepInput};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{PaymentRequest, PaymentView};
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, SelfPayStatus};
use medpay_schemas::wire::bank::MixedOrderState;
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// REQ Q-9.
pub const CALLBACK_WAIT: Duration = Duration::from_secs(20);
pub const QUERY_EVERY: Duration = Duration::from_secs(5);
pub const QUERY_FOR: Duration = Duration::from_secs(60);
/// How long a `PendingReconciliation` payment still listens for a late callback.
pub const LATE_CALLBACK: Duration = Duration::from_secs(48 * 3600);
/// How long the patient has to confirm the pre-settlement.
pub const CONFIRM_DEADLINE: Duration = Duration::from_secs(15 * 60);

#[workflow]
#[derive(Default)]
pub struct PaymentWorkflow {
    view: PaymentView,
    confirmed: Option<bool>,
    callback: Option<MixedOrderState>,
}

fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy::builder().initial_interval(Duration::from_secs(1)).backoff_coefficient(2.0).maximum_interval(Duration::from_secs(10)).build())
        .build()
}

/// What the bank's final status means for the payment.
fn outcome_of(st: &MixedOrderState) -> (PaymentState, Option<String>) {
    match (&st.mix_pay_status, &st.self_pay_status, &st.med_ins_pay_status) {
        (MixPayStatus::Success, _, _) => (PaymentState::Paid, None),
        (_, SelfPayStatus::Success, MedInsPayStatus::Fail) => {
            (PaymentState::Failed, Some("insurance failed after self-pay: the self-pay part must be refunded (REQ X-8a)".into()))
        }
        (_, SelfPayStatus::Fail, MedInsPayStatus::Success) => {
            (PaymentState::PendingReconciliation, Some("integrity alarm: self-pay failed but insurance succeeded (REQ SR-7a)".into()))
        }
        (status, _, _) => (PaymentState::Failed, Some(format!("bank status {status}"))),
    }
}

#[workflow_methods]
impl PaymentWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, request: PaymentRequest) -> WorkflowResult<PaymentView> {
        let mut step = StepInput { request: request.clone(), identity: None, uploaded: None, split: None, cashier: None };
        let set = |ctx: &mut WorkflowContext<Self>, s: PaymentState| ctx.state_mut(|w| w.view.state = Some(s));
        set(ctx, PaymentState::Created);
        step.identity = Some(ctx.execute_activity(PaymentActivities::identify, step.clone(), options()).await?);
        set(ctx, PaymentState::Authorised);
        step.uploaded = Some(ctx.execute_activity(PaymentActivities::upload, step.clone(), options()).await?);
        set(ctx, PaymentState::Uploaded);
        let split = ctx.execute_activity(PaymentActivities::pre_settle, step.clone(), options()).await?;
        step.split = Some(split);
        ctx.state_mut(|w| {
            w.view.split = Some(split);
            w.view.state = Some(PaymentState::PreSettled);
        });

        let confirmed = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.confirmed.is_some()) => ctx.state(|w| w.confirmed == Some(true)),
            _ = ctx.timer(CONFIRM_DEADLINE) => false,
        };
        let outcome = |state: PaymentState, bank: Option<MixedOrderState>, reason: Option<String>| Outcome {
            org_code: request.org_code.clone(),
            med_org_ord: request.med_org_ord.clone(),
            state,
            bank,
            reason,
        };
        if !confirmed {
            ctx.execute_activity(PaymentRevocation::revoke, step.clone(), options()).await?;
            let reason = Some("not confirmed by the patient; upload revoked (6401)".to_string());
            ctx.execute_activity(PaymentActivities::record_outcome, outcome(PaymentState::Cancelled, None, reason.clone()), options()).await?;
            ctx.state_mut(|w| {
                w.view.state = Some(PaymentState::Cancelled);
                w.view.failure = reason;
            });
            return Ok(ctx.state(|w| w.view.clone()));
        }
        set(ctx, PaymentState::Confirmed);
        let cashier = ctx.execute_activity(PaymentActivities::place_orders, step.clone(), options()).await?;
        step.cashier = Some(cashier.clone());
        ctx.state_mut(|w| {
            w.view.cashier = Some(cashier);
            w.view.state = Some(PaymentState::Ordered);
        });

        // REQ Q-9: the callback for 20 s, then a query every 5 s for up to 60 s.
        let mut result = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
            _ = ctx.timer(CALLBACK_WAIT) => None,
        };
        let mut waited = Duration::ZERO;
        while result.is_none() && waited < QUERY_FOR {
            result = ctx.execute_activity(PaymentActivities::query_bank, step.clone(), options()).await?;
            if result.is_some() {
                break;
            }
            result = temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
                _ = ctx.timer(QUERY_EVERY) => None,
            };
            waited += QUERY_EVERY;
        }
        if result.is_none() {
            let reason = Some("no bank result within 60 s: settled by reconciliation or a late callback (REQ Q-9)".to_string());
            ctx.execute_activity(PaymentActivities::record_outcome, outcome(PaymentState::PendingReconciliation, None, reason.clone()), options()).await?;
            ctx.state_mut(|w| {
                w.view.state = Some(PaymentState::PendingReconciliation);
                w.view.failure = reason;
            });
            result = temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
                _ = ctx.timer(LATE_CALLBACK) => None,
            };
        }
        let Some(bank) = result else {
            return Ok(ctx.state(|w| w.view.clone()));
        };
        let (state, reason) = outcome_of(&bank);
        ctx.execute_activity(PaymentActivities::record_outcome, outcome(state, Some(bank.clone()), reason.clone()), options()).await?;
        ctx.state_mut(|w| {
            w.view.state = Some(state);
            w.view.bank = Some(bank);
            w.view.failure = reason;
        });
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// The patient confirmed (true) or declined (false) the pre-settled split, via the HIS.
    #[signal]
    pub fn confirm(&mut self, _ctx: &mut SyncWorkflowContext<Self>, yes: bool) {
        if self.confirmed.is_none() {
            self.confirmed = Some(yes);
        }
    }

    /// A verified bank callback. Only a final status counts; the first one wins (duplicates and
    /// late callbacks cannot change a recorded outcome).
    #[signal]
    pub fn bank_callback(&mut self, _ctx: &mut SyncWorkflowContext<Self>, state: MixedOrderState) {
        if self.callback.is_none() && state.mix_pay_status.is_final() {
            self.callback = Some(state);
        }
    }

    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> PaymentView {
        self.view.clone()
    }
}
