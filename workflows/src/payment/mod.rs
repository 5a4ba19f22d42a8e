//! The payment workflow (REQ 6.1 steps 4-13, Q-9, SR-7a/b, X-8a): identify, upload,
//! pre-settle, wait for the patient's confirmation, order at the bank, then wait for the bank
//! (`bank`), and act on what it says (`decide`). Self-pay collected but insurance failed starts
//! the anomaly refund at once, as a child workflow (X-8a). The quick steps (identify, upload,
//! pre-settle, order, record) run local first (`crate::quick`).
//!
//! One flow: the version branches of the development releases were dropped before any hospital
//! ran the workflow. A change from here on is guarded by a patch marker (ARCHITECTURE.md,
//! "Versioning workflows").

mod bank;
mod decide;

use crate::options;
use crate::refund::RefundWorkflow;
use crate::search;
use bank::{BankVerdict, PendingEnd};
use medpay_activities::payment::{
    BillUploaded, Ordered, Outcome, PaymentActivities, PaymentNotification, PaymentRevocation, PreSettled, Started,
};
use medpay_schemas::failure::{FailedStep, FailureCode, PaymentFailure};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{
    AnomalyRefundView, PaymentInput, PaymentRequest, PaymentTimings, PaymentView, ReconciliationVerdict, SettledBy,
};
use medpay_schemas::refund::{RefundAmounts, RefundInput, RefundKind};
use medpay_schemas::wire::bank::MixedOrderState;
use medpay_schemas::workflow_ids;
use std::time::Duration;
use temporalio_common::ActivityDefinition;
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ChildWorkflowOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

/// How long the anomaly refund may keep failing before it needs an operator.
pub const ANOMALY_REFUND_ATTENTION: Duration = Duration::from_secs(10 * 60);

#[workflow]
#[derive(Default)]
pub struct PaymentWorkflow {
    view: PaymentView,
    confirmed: Option<bool>,
    callback: Option<MixedOrderState>,
    /// Reconciliation's verdict on a pending payment.
    reconciled: Option<ReconciliationVerdict>,
    /// The day's reconciliation asks a pending pure-insurance payment to ask the platform
    /// (6301), naming its run.
    insurance_check: Option<String>,
    /// Why the payment did not end Paid (its message is also the view's `failure`).
    failure: Option<PaymentFailure>,
}

/// A payment stopped before the bank order: why, and the upload to revoke if there was one.
struct Stopped {
    request: PaymentRequest,
    uploaded: Option<BillUploaded>,
    failure: PaymentFailure,
}

#[workflow_methods]
impl PaymentWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: PaymentInput) -> WorkflowResult<PaymentView> {
        let PaymentInput { request, timings, created_at_ms } = input;
        Self::set(ctx, PaymentState::Created);
        // Steps 4-7. A refusal here ends the payment as Failed (nothing was ordered, no money
        // can move); the upload is revoked when there was one.
        let pre_settled = match Self::pre_settle(ctx, Started { request, created_at_ms }).await {
            Ok(p) => p,
            Err(stop) => {
                return Self::close_before_order(ctx, &stop.request, stop.uploaded, PaymentState::Failed, stop.failure)
                    .await;
            }
        };
        if let Err(why) = Self::await_confirmation(ctx, &timings).await {
            let bill = Some(pre_settled.bill());
            return Self::close_before_order(ctx, &pre_settled.request, bill, PaymentState::Cancelled, why).await;
        }
        Self::set(ctx, PaymentState::Confirmed);
        let cashier = match Self::quick(ctx, || PaymentActivities::place_orders, pre_settled.clone()).await {
            Ok(c) => c,
            Err(e) => {
                let why = PaymentFailure::at_step(FailedStep::BankOrder, &crate::why(&e));
                let bill = Some(pre_settled.bill());
                return Self::close_before_order(ctx, &pre_settled.request, bill, PaymentState::Failed, why).await;
            }
        };
        ctx.state_mut(|w| w.view.cashier = Some(cashier.clone()));
        let ordered = pre_settled.ordered(cashier);
        Self::set(ctx, PaymentState::Ordered);

        let (bank, settled_by) = match Self::bank_phase(ctx, &ordered, &timings).await {
            BankVerdict::Final(bank, by) => (bank, by),
            BankVerdict::Pending => {
                Self::mark_pending(ctx, &ordered.request, &timings).await?;
                match Self::pending_phase(ctx, &ordered, &timings).await {
                    PendingEnd::LateCallback(bank) => (bank, SettledBy::LateCallback),
                    PendingEnd::Reconciled(verdict) => {
                        Self::settle_by_reconciliation(ctx, &ordered.request, &verdict).await?;
                        Self::notify_his(ctx, &ordered.request).await;
                        return Ok(ctx.state(|w| w.view.clone()));
                    }
                    PendingEnd::GaveUp => return Ok(ctx.state(|w| w.view.clone())),
                }
            }
        };
        Self::settle(ctx, &ordered, *bank, settled_by).await?;
        Self::notify_his(ctx, &ordered.request).await;
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// Steps 4-7: identify, upload, pre-settle; the first refusal is the payment's failure.
    async fn pre_settle(ctx: &mut WorkflowContext<Self>, started: Started) -> Result<PreSettled, Stopped> {
        let request = started.request.clone();
        let stop = |at: FailedStep, uploaded: Option<BillUploaded>| {
            let request = request.clone();
            move |e: ActivityExecutionError| Stopped {
                request,
                uploaded,
                failure: PaymentFailure::at_step(at, &crate::why(&e)),
            }
        };
        let identity = Self::quick(ctx, || PaymentActivities::identify, started.clone())
            .await
            .map_err(stop(FailedStep::Identification, None))?;
        let identified = started.identified(identity);
        Self::set(ctx, PaymentState::Authorised);
        let uploaded = Self::quick(ctx, || PaymentActivities::upload, identified.clone())
            .await
            .map_err(stop(FailedStep::Upload, None))?;
        let bill = identified.uploaded(uploaded);
        Self::set(ctx, PaymentState::Uploaded);
        let split = Self::quick(ctx, || PaymentActivities::pre_settle, bill.clone())
            .await
            .map_err(stop(FailedStep::PreSettlement, Some(bill.clone())))?;
        ctx.state_mut(|w| w.view.split = Some(split));
        Self::set(ctx, PaymentState::PreSettled);
        Ok(bill.pre_settled(split))
    }

    /// Step 8: the patient confirms the split (through the HIS) within the deadline, or the
    /// payment is cancelled.
    async fn await_confirmation(ctx: &mut WorkflowContext<Self>, t: &PaymentTimings) -> Result<(), PaymentFailure> {
        let deadline = Duration::from_secs(t.confirm_deadline_secs);
        let confirmed = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.confirmed.is_some()) => ctx.state(|w| w.confirmed == Some(true)),
            _ = ctx.timer(deadline) => false,
        };
        match (confirmed, ctx.state(|w| w.confirmed)) {
            (true, _) => Ok(()),
            (false, Some(false)) => Err(PaymentFailure::new(
                FailureCode::Declined,
                "declined by the patient (or cancelled by the HIS); upload revoked (6401)",
            )),
            (false, _) => Err(PaymentFailure::new(
                FailureCode::NotConfirmedInTime,
                format!("not confirmed within {} s; upload revoked (6401)", t.confirm_deadline_secs),
            )),
        }
    }

    /// Records the bank's final result and what it means (`decide::outcome_of`); starts the
    /// X-8a refund when self-pay was collected and insurance failed.
    async fn settle(
        ctx: &mut WorkflowContext<Self>,
        ordered: &Ordered,
        bank: MixedOrderState,
        settled_by: SettledBy,
    ) -> WorkflowResult<()> {
        let decide::BankOutcome { state, failure, refund_self_pay } = decide::outcome_of(&bank, ordered);
        // The view first: once the ledger says Paid, the view already carries the bank's status.
        ctx.state_mut(|w| {
            w.view.bank = Some(bank.clone());
            w.view.settled_by = Some(settled_by);
        });
        match &failure {
            Some(f) => Self::failed(ctx, f),
            // Paid after being pending: the pending reason is no failure any more.
            None => ctx.state_mut(|w| w.failure = None),
        }
        Self::record(ctx, &ordered.request, state, Some(bank), failure.map(|f| f.encode())).await?;
        Self::set(ctx, state);
        if refund_self_pay {
            Self::anomaly_refund(ctx, ordered).await?;
        }
        Ok(())
    }

    /// Tells the HIS the outcome (when the payment ended; not while it is pending), retried
    /// for [`options::HIS_NOTICE_HORIZON`].
    async fn notify_his(ctx: &mut WorkflowContext<Self>, request: &PaymentRequest) {
        let Some(state) = ctx.state(|w| w.view.state).filter(|s| s.is_terminal()) else { return };
        let reason = ctx.state(|w| w.failure.as_ref().map(PaymentFailure::encode));
        let o = Outcome {
            org_code: request.org_code.clone(),
            med_org_ord: request.med_org_ord.clone(),
            state,
            bank: None,
            reason,
        };
        let opts = options::his_notice(options::HIS_NOTICE_HORIZON, options::PARTY_ATTEMPT);
        let _ = ctx.execute_activity(PaymentNotification::notify_his, o, opts).await;
    }

    /// A quick step (`crate::quick`): local first, then a regular activity.
    async fn quick<AD>(
        ctx: &mut WorkflowContext<Self>,
        act: impl Fn() -> AD,
        input: AD::Input,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Input: Clone,
        AD::Output: TemporalDeserializable,
    {
        crate::quick::step(ctx, act, input, options::payment_step()).await
    }

    /// Keeps why the payment did not end Paid: the failure for the ledger and the HIS, its
    /// message for the view.
    fn failed(ctx: &mut WorkflowContext<Self>, f: &PaymentFailure) {
        ctx.state_mut(|w| {
            w.view.failure = Some(f.message.clone());
            w.failure = Some(f.clone());
        });
    }

    fn set(ctx: &mut WorkflowContext<Self>, state: PaymentState) {
        ctx.state_mut(|w| w.view.state = Some(state));
        if decide::searched(state) {
            ctx.upsert_search_attributes([search::PAYMENT_STATE.value_set(state.as_str().to_string())]);
        }
    }

    async fn record(
        ctx: &mut WorkflowContext<Self>,
        request: &PaymentRequest,
        state: PaymentState,
        bank: Option<MixedOrderState>,
        reason: Option<String>,
    ) -> WorkflowResult<()> {
        let o = Outcome {
            org_code: request.org_code.clone(),
            med_org_ord: request.med_org_ord.clone(),
            state,
            bank,
            reason,
        };
        Self::quick(ctx, || PaymentActivities::record_outcome, o).await?;
        Ok(())
    }

    /// Ends a payment that never reached the bank: revoke the upload (6401) if there was one,
    /// record the outcome and its reason.
    async fn close_before_order(
        ctx: &mut WorkflowContext<Self>,
        request: &PaymentRequest,
        uploaded: Option<BillUploaded>,
        state: PaymentState,
        failure: PaymentFailure,
    ) -> WorkflowResult<PaymentView> {
        if let Some(bill) = uploaded {
            ctx.execute_activity(PaymentRevocation::revoke, bill, options::payment_step()).await?;
        }
        Self::record(ctx, request, state, None, Some(failure.encode())).await?;
        Self::failed(ctx, &failure);
        Self::set(ctx, state);
        Self::notify_his(ctx, request).await;
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// REQ X-8a: the self-pay part goes back at once, through the refund workflow (so an
    /// operator handles it like any refund if the bank keeps refusing).
    async fn anomaly_refund(ctx: &mut WorkflowContext<Self>, ordered: &Ordered) -> WorkflowResult<()> {
        let r = &ordered.request;
        let own = ordered.split.own_pay_amt;
        let refund_no = workflow_ids::anomaly_refund_no(&r.med_org_ord);
        let workflow_id = workflow_ids::refund(&r.org_code, &refund_no);
        let input = RefundInput {
            org_code: r.org_code.clone(),
            med_org_ord: r.med_org_ord.clone(),
            refund_no: refund_no.clone(),
            kind: RefundKind::Anomaly,
            amounts: RefundAmounts { cash: own, ..Default::default() },
            auth_code: None,
            openid: None,
            channel: r.channel,
            reason: Some("insurance failed after self-pay (REQ X-8a)".into()),
            attention_after_secs: ANOMALY_REFUND_ATTENTION.as_secs(),
        };
        let mut view = AnomalyRefundView {
            workflow_id: workflow_id.clone(),
            refund_no,
            amount_fen: own.fen(),
            state: None,
            error: None,
        };
        ctx.state_mut(|w| w.view.anomaly_refund = Some(view.clone()));
        let opts = ChildWorkflowOptions::builder()
            .workflow_id(workflow_id)
            .static_summary(format!("X-8a self-pay refund of {} fen", own.fen()))
            .build();
        let child = ctx.start_child_workflow(RefundWorkflow::run, input, opts).await?;
        match child.result().await {
            Ok(v) => view.state = v.state,
            Err(e) => view.error = Some(e.to_string()),
        }
        ctx.state_mut(|w| w.view.anomaly_refund = Some(view));
        Ok(())
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

    /// Reconciliation's verdict for a `PendingReconciliation` payment (run id for the record).
    /// Ignored before the payment is pending or after a callback decided it.
    #[signal]
    pub fn reconciled(&mut self, _ctx: &mut SyncWorkflowContext<Self>, verdict: ReconciliationVerdict) {
        if self.reconciled.is_none() && self.view.state == Some(PaymentState::PendingReconciliation) {
            self.reconciled = Some(verdict);
        }
    }

    /// The day's reconciliation asks a pending pure-insurance payment to close itself by the
    /// platform's order status (run id for the record). Ignored unless pending.
    #[signal]
    pub fn check_insurance(&mut self, _ctx: &mut SyncWorkflowContext<Self>, run: String) {
        if self.insurance_check.is_none()
            && self.reconciled.is_none()
            && self.view.state == Some(PaymentState::PendingReconciliation)
        {
            self.insurance_check = Some(run);
        }
    }

    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> PaymentView {
        self.view.clone()
    }
}
